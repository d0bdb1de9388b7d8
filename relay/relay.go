package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/taktmes/takt/mes"
)

// ErrNotAcknowledged is what a Publisher wraps when the destination answered but did not
// take the batch (an HTTP 5xx, a negative acknowledgement). Run retries the batch.
var ErrNotAcknowledged = errors.New("relay: batch not acknowledged")

// Publisher delivers batches of events to one destination.
type Publisher interface {
	// Publish delivers batch, in order, and returns nil only when the destination has
	// acknowledged every event of it. On error Run publishes the same batch again later,
	// so the destination may see some of its events twice: it should drop an event whose
	// (source, id) it has seen (see ID). Publish must return when ctx is done. An error
	// that wraps ErrInvalid (a misconfigured publisher, one that can never work again such
	// as one on a closed connection, an event it cannot encode) is permanent: Run stops and
	// returns it instead of retrying.
	Publish(ctx context.Context, batch []mes.Event) error
}

// Option tunes Run.
type Option func(*config)

type config struct {
	batchSize  int
	minBackoff time.Duration
	maxBackoff time.Duration
	log        *slog.Logger
}

// WithBatchSize sets the most events Run hands to the publisher at once (default 512).
func WithBatchSize(n int) Option { return func(c *config) { c.batchSize = n } }

// WithBackoff sets how long Run waits after a failure (of the publisher or the store)
// before it tries again: first min, doubling up to max (default 100ms up to 30s). The
// wait returns to min after a success.
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) { c.minBackoff, c.maxBackoff = min, max }
}

// WithLogger sets where Run reports failures it retries. The default discards them.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Run relays plant's event log to pub until ctx is done, then returns ctx.Err(). It resumes
// after the checkpoint saved for consumer, publishes the events after it in batches, and
// saves the checkpoint after every batch pub acknowledged. Failures of the publisher or of
// the store are logged and retried with backoff, never skipped; Run returns early only on
// ErrInvalid: invalid arguments, or a publisher that reports itself misconfigured or
// unusable. Run one relay per consumer name: a second one would publish the same events
// again (harmless downstream with de-duplication, but wasted).
func Run(ctx context.Context, plant *mes.Plant, consumer string, pub Publisher, opts ...Option) error {
	c := config{batchSize: 512, minBackoff: 100 * time.Millisecond, maxBackoff: 30 * time.Second}
	for _, o := range opts {
		o(&c)
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := c.validate(plant, consumer, pub); err != nil {
		return err
	}
	r := runner{config: c, consumer: consumer}
	var after uint64
	if err := r.retry(ctx, "reading the checkpoint", func() (err error) {
		after, err = plant.Checkpoint(ctx, consumer)
		return err
	}); err != nil {
		return err
	}
	for {
		var batch []mes.Event
		if err := r.retry(ctx, "reading events", func() (err error) {
			batch, err = plant.ReadEvents(ctx, after, c.batchSize)
			return err
		}); err != nil {
			return err
		}
		if len(batch) == 0 {
			if err := r.retry(ctx, "waiting for events", func() error {
				return plant.Store().WaitEvents(ctx, after)
			}); err != nil {
				return err
			}
			continue
		}
		last := batch[len(batch)-1].Position
		if err := r.retry(ctx, fmt.Sprintf("publishing events %d to %d", batch[0].Position, last), func() error {
			return pub.Publish(ctx, batch)
		}); err != nil {
			return err
		}
		if err := r.retry(ctx, fmt.Sprintf("saving checkpoint %d", last), func() error {
			return plant.SaveCheckpoint(ctx, consumer, last)
		}); err != nil {
			return err
		}
		after = last
	}
}

func (c config) validate(plant *mes.Plant, consumer string, pub Publisher) error {
	var problems []string
	if plant == nil {
		problems = append(problems, "plant is nil; pass the *mes.Plant whose events to relay")
	}
	if consumer == "" {
		problems = append(problems, `consumer is empty; name the relay, for example "nats-feed", so its checkpoint can be saved`)
	}
	if pub == nil {
		problems = append(problems, "publisher is nil")
	}
	if c.batchSize < 1 {
		problems = append(problems, fmt.Sprintf("batch size %d must be at least 1", c.batchSize))
	}
	if c.minBackoff <= 0 || c.maxBackoff < c.minBackoff {
		problems = append(problems, fmt.Sprintf("backoff %v up to %v must be positive and max >= min", c.minBackoff, c.maxBackoff))
	}
	if len(problems) > 0 {
		return invalid(problems)
	}
	return nil
}

type runner struct {
	config
	consumer string
}

// retry calls fn until it succeeds, waiting with exponential backoff between failures,
// or returns ctx.Err() once ctx is done.
func (r *runner) retry(ctx context.Context, what string, fn func() error) error {
	wait := r.minBackoff
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrInvalid) {
			return fmt.Errorf("relay %s: %s: %w", r.consumer, what, err)
		}
		r.log.Warn("relay: "+what+" failed; retrying", "consumer", r.consumer, "error", err, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, r.maxBackoff)
	}
}
