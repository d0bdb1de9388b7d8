package relay_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/relay"
)

var errFlaky = errors.New("flaky destination")

// flakyPublisher fails some batches, sometimes after delivering part of them, and records
// every delivery. On every call it checks that the relay's checkpoint is not ahead of what
// it has acknowledged.
type flakyPublisher struct {
	t        *testing.T
	plant    *mes.Plant
	consumer string
	failRate float64

	mu        sync.Mutex
	rng       *rand.Rand
	delivered []uint64 // every position delivered, in delivery order, duplicates included
	acked     uint64   // the highest position of an acknowledged batch
	calls     int
	failures  int
	// pauseAfter, when set, makes Publish wait for cancellation once this position was
	// acknowledged, so a test can stop the relay mid-stream however fast it runs.
	pauseAfter uint64
}

func (f *flakyPublisher) Publish(ctx context.Context, batch []mes.Event) error {
	f.mu.Lock()
	paused := f.pauseAfter > 0 && f.acked >= f.pauseAfter
	f.mu.Unlock()
	if paused {
		<-ctx.Done()
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	cp, err := f.plant.Checkpoint(ctx, f.consumer)
	if err == nil {
		assert.LessOrEqual(f.t, cp, f.acked, "checkpoint is ahead of the acknowledged events")
		assert.Equal(f.t, cp+1, batch[0].Position, "batch does not start right after the checkpoint")
	}
	for i := 1; i < len(batch); i++ {
		require.Equal(f.t, batch[i-1].Position+1, batch[i].Position, "batch has a gap or is out of order")
	}
	fail := f.rng.Float64() < f.failRate
	n := len(batch)
	if fail {
		n = f.rng.IntN(len(batch) + 1) // part of the batch reaches the destination
	}
	for _, e := range batch[:n] {
		f.delivered = append(f.delivered, e.Position)
	}
	if fail {
		f.failures++
		return errFlaky
	}
	f.acked = batch[len(batch)-1].Position
	return nil
}

func (f *flakyPublisher) deliveries() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint64(nil), f.delivered...)
}

// checkAtLeastOnceInOrder asserts that deliveries reach every position from first to last,
// each first delivered after all earlier ones, and never skip ahead.
func checkAtLeastOnceInOrder(t *testing.T, delivered []uint64, first, last uint64) {
	t.Helper()
	next := first // the lowest position not yet delivered
	for i, p := range delivered {
		require.GreaterOrEqual(t, p, first, "delivery %d: position %d before the resume point", i, p)
		require.LessOrEqual(t, p, next, "delivery %d: position %d skips ahead of %d", i, p, next)
		if p == next {
			next++
		}
	}
	require.Equal(t, last+1, next, "not every event was delivered")
}

func TestRunDeliversEveryEventInOrderDespiteFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		batchSize int
		failRate  float64
	}{
		{"reliable, batches of 1", 1, 0},
		{"a third fail, batches of 7", 7, 0.33},
		{"most fail, batches of 64", 64, 0.7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlant(t)
			addEvents(t, p, 40) // a backlog before the relay starts
			pub := &flakyPublisher{t: t, plant: p, consumer: "feed", failRate: tc.failRate, rng: rand.New(rand.NewPCG(1, uint64(tc.batchSize)))}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- relay.Run(ctx, p, "feed", pub, relay.WithBatchSize(tc.batchSize), relay.WithBackoff(time.Microsecond, 50*time.Microsecond))
			}()
			last := addEvents(t, p, 60) // and events committed while it runs
			waitCheckpoint(t, p, "feed", last)
			cancel()
			require.ErrorIs(t, <-done, context.Canceled)
			checkAtLeastOnceInOrder(t, pub.deliveries(), 1, last)
			if tc.failRate > 0 {
				assert.Positive(t, pub.failures, "the test should exercise failures")
			}
		})
	}
}

func TestRunResumesAfterCancelFromTheCheckpoint(t *testing.T) {
	p := newPlant(t)
	last := addEvents(t, p, 100)
	opts := []relay.Option{relay.WithBatchSize(10), relay.WithBackoff(time.Microsecond, time.Microsecond)}

	first := &flakyPublisher{t: t, plant: p, consumer: "feed", failRate: 0.2, rng: rand.New(rand.NewPCG(7, 7)), pauseAfter: 30}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx, p, "feed", first, opts...) }()
	waitCheckpoint(t, p, "feed", 30)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	cp, err := p.Checkpoint(context.Background(), "feed")
	require.NoError(t, err)
	require.Less(t, cp, last, "the first run should stop mid-stream")
	require.LessOrEqual(t, cp, first.acked)

	second := &flakyPublisher{t: t, plant: p, consumer: "feed", acked: cp, rng: rand.New(rand.NewPCG(8, 8))}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go func() { done <- relay.Run(ctx, p, "feed", second, opts...) }()
	waitCheckpoint(t, p, "feed", last)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	checkAtLeastOnceInOrder(t, second.deliveries(), cp+1, last)
	checkAtLeastOnceInOrder(t, append(first.deliveries(), second.deliveries()...), 1, last)
}

func TestRunKeepsConsumersApart(t *testing.T) {
	p := newPlant(t)
	last := addEvents(t, p, 5)
	require.NoError(t, p.SaveCheckpoint(context.Background(), "dashboard", last))
	pub := &flakyPublisher{t: t, plant: p, consumer: "erp", rng: rand.New(rand.NewPCG(1, 1))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx, p, "erp", pub) }()
	waitCheckpoint(t, p, "erp", last)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	checkAtLeastOnceInOrder(t, pub.deliveries(), 1, last)
}

// invalidPublisher reports a permanent problem.
type invalidPublisher struct{ calls int }

func (p *invalidPublisher) Publish(context.Context, []mes.Event) error {
	p.calls++
	return relay.ErrInvalid
}

func TestRunStopsOnAPermanentPublisherError(t *testing.T) {
	p := newPlant(t)
	pub := &invalidPublisher{}
	err := relay.Run(context.Background(), p, "feed", pub)
	require.ErrorIs(t, err, relay.ErrInvalid)
	assert.Equal(t, 1, pub.calls)
	cp, err := p.Checkpoint(context.Background(), "feed")
	require.NoError(t, err)
	assert.Zero(t, cp, "nothing was acknowledged")
}

func TestRunRejectsInvalidArgumentsListingEveryProblem(t *testing.T) {
	err := relay.Run(context.Background(), nil, "", nil, relay.WithBatchSize(0), relay.WithBackoff(time.Second, time.Millisecond))
	require.ErrorIs(t, err, relay.ErrInvalid)
	for _, want := range []string{"plant is nil", "consumer is empty", "publisher is nil", "batch size 0", "backoff 1s up to 1ms"} {
		assert.Contains(t, err.Error(), want)
	}
}
