package mes

import (
	"errors"
	"fmt"
	"strings"

	"github.com/taktmes/takt/store"
)

// Sentinel errors. Every error a command returns wraps one of them, except two that come
// from outside the engine and are returned as they are: the context's error when ctx ends
// (errors.Is(err, context.Canceled)), and a failure of the store itself, such as a lost
// database connection (the driver's error). Not-found, duplicate-key and conflict errors
// of the store are mapped to ErrNotFound, ErrDuplicate and ErrConflict.
var (
	// ErrInvalid: the input is malformed or incomplete; the error lists every problem.
	ErrInvalid = errors.New("mes: invalid input")
	// ErrNotFound: the referenced object does not exist (in that site).
	ErrNotFound = errors.New("mes: not found")
	// ErrDuplicate: an object with the same number or external id already exists.
	ErrDuplicate = errors.New("mes: duplicate")
	// ErrWrongState: the command is not allowed from the object's current state.
	ErrWrongState = errors.New("mes: not allowed in this state")
	// ErrOnHold: the object is held; release the hold first.
	ErrOnHold = errors.New("mes: on hold")
	// ErrMissingActor: the command carries no actor; pass mes.By(actor).
	ErrMissingActor = errors.New("mes: missing actor")
	// ErrUnauthorized: the actor may not perform the command.
	ErrUnauthorized = errors.New("mes: not authorized")
	// ErrSignatureRequired: the command needs an electronic signature; pass mes.SignedBy.
	ErrSignatureRequired = errors.New("mes: electronic signature required")
	// ErrSignatureInvalid: the signer could not be authenticated.
	ErrSignatureInvalid = errors.New("mes: electronic signature rejected")
	// ErrIdempotencyKeyReused: the idempotency key was already used by a different command.
	ErrIdempotencyKeyReused = errors.New("mes: idempotency key reused")
	// ErrConflict: the object was changed concurrently and retries were exhausted; retry.
	ErrConflict = errors.New("mes: concurrent update")
	// ErrNotQualified: the person lacks a qualification the step requires (or it expired);
	// the error names the qualification and its expiry and also wraps labor's error.
	ErrNotQualified = errors.New("mes: not qualified")
	// ErrInternal: a bug in Takt or in a store driver; the command changed nothing.
	ErrInternal = errors.New("mes: internal error")
	// ErrInspectionMissing: a step's required inspection results are not all recorded; the
	// error also wraps a *quality.MissingError naming each characteristic.
	ErrInspectionMissing = errors.New("mes: required inspection missing")
	// ErrLotRejected: acceptance sampling rejected the lot at a step; disposition a
	// non-conformance of the lot at the step before tracking it out.
	ErrLotRejected = errors.New("mes: lot rejected by inspection")
)

// Problem is one thing wrong with an input.
type Problem struct {
	Field  string // e.g. "qty"
	Value  string // the value given
	Reason string // what is wrong and what is expected
}

// String returns "field \"value\": reason" (or "field: reason" without a value).
func (p Problem) String() string {
	if p.Value == "" {
		return fmt.Sprintf("%s: %s", p.Field, p.Reason)
	}
	return fmt.Sprintf("%s %q: %s", p.Field, p.Value, p.Reason)
}

// ValidationError lists every problem found in an input. It wraps ErrInvalid.
type ValidationError struct {
	What     string // what was being validated, e.g. "work order"
	Problems []Problem
}

// Error lists every problem: "mes: invalid work order: qty \"0 ea\": ...; due: ...".
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return fmt.Sprintf("mes: invalid %s: %s", e.What, strings.Join(parts, "; "))
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// problems collects validation problems.
type problems struct {
	what string
	list []Problem
}

func (p *problems) add(field, value, reason string) {
	p.list = append(p.list, Problem{Field: field, Value: value, Reason: reason})
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{What: p.what, Problems: p.list}
}

// TransitionError says that a command is not allowed from an object's current state. It
// wraps ErrWrongState.
type TransitionError struct {
	Object  string // e.g. "work order 4711"
	State   string // the current state
	Command string // e.g. "complete"
	Allowed string // the states the command is allowed from
}

// Error says the command, the object, its state and the states the command is allowed from.
func (e *TransitionError) Error() string {
	return fmt.Sprintf("mes: cannot %s %s: it is %s (allowed from %s)", e.Command, e.Object, e.State, e.Allowed)
}

// Unwrap makes errors.Is(err, ErrWrongState) true.
func (e *TransitionError) Unwrap() error { return ErrWrongState }

// storeErr maps store errors to mes sentinels, keeping the driver's message.
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return &storeError{ErrNotFound, err}
	case errors.Is(err, store.ErrDuplicateKey):
		return &storeError{ErrDuplicate, err}
	}
	return err
}

// storeError is a store error under a mes sentinel. Its message is written only when asked
// for: many lookups expect to find nothing.
type storeError struct{ sentinel, err error }

func (e *storeError) Error() string { return e.sentinel.Error() + ": " + e.err.Error() }

// Unwrap makes errors.Is(err, sentinel) true.
func (e *storeError) Unwrap() error { return e.sentinel }
