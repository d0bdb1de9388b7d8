package natsrelay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/natsrelay"
	"github.com/taktmes/takt/relay"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

var erp = mes.By(mes.Actor{ID: "erp", Kind: mes.System})

// openPlant opens a plant on s and defines sites PLANT-1 and "PLANT 2" under enterprise
// ACME (the enterprise's event has no site).
func openPlant(t testing.TB, s store.Store) *mes.Plant {
	t.Helper()
	p, err := mes.Open(context.Background(), s)
	require.NoError(t, err)
	require.NoError(t, p.DefineEquipment(context.Background(), []equipment.Equipment{{ID: "ACME", Level: equipment.Enterprise}}, erp))
	require.NoError(t, p.DefineEquipment(context.Background(), []equipment.Equipment{
		{ID: "PLANT-1", Level: equipment.Site, Parent: "ACME"}, {ID: "PLANT 2", Level: equipment.Site, Parent: "ACME"},
	}, erp))
	return p
}

// addOrders creates and re-prioritises n work orders alternately in both sites: 2n events.
func addOrders(t testing.TB, p *mes.Plant, from, n int) {
	t.Helper()
	require.NoError(t, createOrders(p, from, n))
}

func createOrders(p *mes.Plant, from, n int) error {
	ctx := context.Background()
	for i := from; i < from+n; i++ {
		site := []string{"PLANT-1", "PLANT 2"}[i%2]
		wo, err := p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: site, Number: strconv.Itoa(i), Product: "PUMP-100", Qty: units.MustParse("5 ea")}, erp)
		if err != nil {
			return err
		}
		if _, err = p.SetWorkOrderPriority(ctx, wo.ID, i%7, erp); err != nil {
			return err
		}
	}
	return nil
}

// allEvents returns the plant's whole event log.
func allEvents(t testing.TB, p *mes.Plant) []mes.Event {
	t.Helper()
	var out []mes.Event
	for {
		evs, err := p.ReadEvents(context.Background(), uint64(len(out)), 1000)
		require.NoError(t, err)
		if len(evs) == 0 {
			return out
		}
		out = append(out, evs...)
	}
}

// requireExactlyOnceInOrder asserts that the stream holds the event log exactly: one
// message per event, in position order, with its subject, message id and CloudEvent.
func requireExactlyOnceInOrder(t testing.TB, js jetstream.JetStream, stream, prefix, source string, log []mes.Event) {
	t.Helper()
	msgs := streamMessages(t, js, stream)
	require.Len(t, msgs, len(log), "the stream should hold every event exactly once")
	for i, m := range msgs {
		e := log[i]
		var ce struct{ ID, Source, Type, Subject, Taktsite string }
		require.NoError(t, json.Unmarshal(m.Data(), &ce))
		require.Equal(t, strconv.FormatUint(e.Position, 10), ce.ID, "message %d is out of order", i+1)
		assert.Equal(t, source, ce.Source)
		assert.Equal(t, relay.TypePrefix+e.Type, ce.Type)
		assert.Equal(t, e.Subject, ce.Subject)
		assert.Equal(t, e.Site, ce.Taktsite)
		assert.Equal(t, natsrelay.Subject(prefix, e), m.Subject())
		assert.Equal(t, natsrelay.MsgID(source, e), m.Headers().Get(jetstream.MsgIDHeader))
	}
}

func TestRelayToJetStreamIsExactlyOnceAcrossRepublishing(t *testing.T) {
	js, stream, prefix := newStream(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := openPlant(t, memstore.New())
	addOrders(t, p, 0, 100)
	source := "urn:takt:test-" + stream
	pub, err := natsrelay.New(js, natsrelay.Config{Prefix: prefix, Source: source, Stream: stream})
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx, p, "nats", pub, relay.WithBatchSize(50)) }()
	addOrders(t, p, 100, 50)
	log := allEvents(t, p)
	require.Eventually(t, func() bool {
		cp, err := p.Checkpoint(ctx, "nats")
		return err == nil && cp == uint64(len(log))
	}, time.Minute, 5*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	// A relay that lost its checkpoint publishes everything again: the stream drops it all.
	require.NoError(t, pub.Publish(context.Background(), log))
	requireExactlyOnceInOrder(t, js, stream, prefix, source, log)

	// Subscribers filter by site and event type.
	s, err := js.Stream(context.Background(), stream)
	require.NoError(t, err)
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(prefix+".PLANT%202.workorder.>"))
	require.NoError(t, err)
	assert.Len(t, info.State.Subjects, 2, "created and priority_changed of PLANT 2: %v", info.State.Subjects)
	assert.Equal(t, uint64(75), info.State.Subjects[prefix+".PLANT%202.workorder.created"])
}

func TestPublishFailsWhenTheStreamDoesNotTakeTheMessages(t *testing.T) {
	js, stream, prefix := newStream(t)
	ctx := context.Background()
	p := openPlant(t, memstore.New())
	log := allEvents(t, p)

	wrong, err := natsrelay.New(js, natsrelay.Config{Prefix: prefix, Source: "s", Stream: "NOT_" + stream})
	require.NoError(t, err)
	err = wrong.Publish(ctx, log)
	require.ErrorIs(t, err, relay.ErrNotAcknowledged)
	assert.Contains(t, err.Error(), "event 1")
	assert.Empty(t, streamMessages(t, js, stream))
}

func TestEnsureStream(t *testing.T) {
	js := connect(t)
	stream, prefix := uniqueName(t, js)
	ctx := context.Background()
	s, err := natsrelay.EnsureStream(ctx, js, stream, prefix)
	require.NoError(t, err)
	cfg := s.CachedInfo().Config
	assert.Equal(t, []string{prefix + ".>"}, cfg.Subjects)
	assert.Equal(t, natsrelay.DuplicateWindow, cfg.Duplicates)
	assert.Equal(t, jetstream.FileStorage, cfg.Storage)

	again, err := natsrelay.EnsureStream(ctx, js, stream, prefix)
	require.NoError(t, err, "ensuring an existing stream succeeds")
	assert.Equal(t, stream, again.CachedInfo().Config.Name)

	_, err = natsrelay.EnsureStream(ctx, js, stream, "bad.>")
	require.ErrorIs(t, err, relay.ErrInvalid)
}

func TestNewListsEveryProblem(t *testing.T) {
	_, err := natsrelay.New(nil, natsrelay.Config{Prefix: "a..b"})
	require.ErrorIs(t, err, relay.ErrInvalid)
	for _, want := range []string{"JetStream is nil", `prefix "a..b"`, "source is empty"} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = natsrelay.New(nil, natsrelay.Config{})
	assert.ErrorContains(t, err, "prefix is empty")
}

func ExampleSubject() {
	e := mes.Event{Position: 7, Type: "workorder.released", Site: "PLANT-1"}
	fmt.Println(natsrelay.Subject("takt", e))
	fmt.Println(natsrelay.MsgID("urn:takt:plant-a", e))
	// Output:
	// takt.PLANT-1.workorder.released
	// urn:takt:plant-a/7
}

// BenchmarkPublish measures publishing batches of 512 events to JetStream, acknowledged.
func BenchmarkPublish(b *testing.B) {
	js, stream, prefix := newStream(b)
	ctx := context.Background()
	p := openPlant(b, memstore.New())
	addOrders(b, p, 0, 256)
	batch := allEvents(b, p)[:512]
	for i := 0; b.Loop(); i++ {
		// A new source per round keeps the stream from dropping the messages as duplicates.
		pub, err := natsrelay.New(js, natsrelay.Config{Prefix: prefix, Source: fmt.Sprint("bench-", i), Stream: stream})
		require.NoError(b, err)
		require.NoError(b, pub.Publish(ctx, batch))
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRelay measures relay.Run over a backlog of 10,000 events, from start to the
// acknowledgement of the last one.
func BenchmarkRelay(b *testing.B) {
	js, stream, prefix := newStream(b)
	ctx := context.Background()
	p := openPlant(b, memstore.New())
	addOrders(b, p, 0, 5000)
	last := uint64(len(allEvents(b, p)))
	for i := 0; b.Loop(); i++ {
		// A new source and consumer per round: the stream takes every message again.
		pub, err := natsrelay.New(js, natsrelay.Config{Prefix: prefix, Source: fmt.Sprint("bench-", i), Stream: stream})
		require.NoError(b, err)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		consumer := fmt.Sprint("bench-", i)
		go func() { done <- relay.Run(runCtx, p, consumer, pub) }()
		for {
			cp, err := p.Checkpoint(ctx, consumer)
			require.NoError(b, err)
			if cp == last {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		cancel()
		<-done
	}
	b.ReportMetric(float64(uint64(b.N)*last)/b.Elapsed().Seconds(), "events/s")
}
