package mes

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/taktmes/takt/store"
)

// Clock tells the time. Inject one with WithClock to control time in tests and
// simulations; the default is the system clock. Takt stores every time in UTC.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Plant is the engine over one Store. It is safe for concurrent use; open one per process
// and share it.
type Plant struct {
	store      store.Store
	clock      Clock
	auth       Authorizer
	verifier   SignatureVerifier
	signatures map[string]signatureRule
	log        *slog.Logger
	newID      func() string
	retries    int
	routings   routingCache
	// yieldSignature: a yield beyond tolerance needs a signature, not just a reason.
	yieldSignature bool
	labor          laborConfig  // see labor.go
	devices        deviceConfig // see device.go
	plans          planCache    // compiled inspection plans, see quality.go
	boards         boards
	execution      executionState // see execution.go
	runIndex       runIndex       // see labor.go
}

// Option configures a Plant in Open.
type Option func(*Plant) error

// WithClock sets the clock the engine reads the time from. A nil clock is refused
// (ErrInvalid).
func WithClock(c Clock) Option {
	return func(p *Plant) error {
		if c == nil {
			return fmt.Errorf("%w: WithClock(nil); pass a Clock, or leave the option out for the system clock", ErrInvalid)
		}
		p.clock = c
		return nil
	}
}

// WithAuthorizer sets who may do what. Without it every authenticated actor may do
// everything, which suits a single-user embedding but not a plant. A nil Authorizer is
// refused (ErrInvalid), so a missing one never turns into "allow everything" unnoticed.
func WithAuthorizer(a Authorizer) Option {
	return func(p *Plant) error {
		if a == nil {
			return fmt.Errorf("%w: WithAuthorizer(nil); pass an Authorizer such as mes.Roles", ErrInvalid)
		}
		p.auth = a
		return nil
	}
}

// WithLogger sets the logger for diagnostics (retries, slow waits). The default, and a nil
// logger, discards.
func WithLogger(l *slog.Logger) Option {
	return func(p *Plant) error {
		if l == nil {
			l = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
		p.log = l
		return nil
	}
}

// WithIDs sets the generator of new object ids. The default is UUID version 7 (time
// ordered). A deterministic generator makes simulations and differential tests repeatable.
// A nil generator is refused (ErrInvalid).
func WithIDs(next func() string) Option {
	return func(p *Plant) error {
		if next == nil {
			return fmt.Errorf("%w: WithIDs(nil); pass an id generator, or leave the option out for UUID v7", ErrInvalid)
		}
		p.newID = next
		return nil
	}
}

// Open returns a Plant on s.
func Open(ctx context.Context, s store.Store, opts ...Option) (*Plant, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: Open needs a store, for example memstore.New()", ErrInvalid)
	}
	p := &Plant{
		store:      s,
		clock:      systemClock{},
		auth:       allowAll{},
		signatures: map[string]signatureRule{},
		log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		newID:      func() string { return uuid.Must(uuid.NewV7()).String() },
		retries:    8,
	}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
		}
	}
	if len(p.signatures) > 0 && p.verifier == nil {
		return nil, fmt.Errorf("%w: signatures are required for some actions but no SignatureVerifier is set; add mes.WithSignatureVerifier", ErrInvalid)
	}
	return p, nil
}

// Store returns the store the plant runs on.
func (p *Plant) Store() store.Store { return p.store }

func (p *Plant) now() time.Time { return p.clock.Now().UTC() }
