// Command bench measures the NATS relay's figures and prints them like the core module's
// bench program: one line per figure with a stable dotted name, the value and its unit,
// and where a baseline is measured in the same run, the baseline and the ratio
// value/baseline.
//
//	go run ./bench                       # every figure; NATS from TAKT_NATS_URL
//	go run ./bench -only relay.          # figures whose name starts with "relay."
//	go run ./bench -json                 # a JSON array of {name, value, unit, baseline, ratio}
//	go run ./bench -nats nats://host:4222 -events 100000 -batch 512
//
// relay.events_per_s.nats: events relayed per second from a memory-store plant to a
// JetStream file stream, acknowledged by the stream (timed from the relay's start to the
// acknowledgement of the last event). Its baseline is a raw JetStream async publish of the
// same messages (same subjects, payloads and message ids) to another stream of the same
// configuration, without the relay.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/internal/benchfmt"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/natsrelay"
	"github.com/taktmes/takt/relay"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

// result is one measured figure.
type result = benchfmt.Result

const figure = "relay.events_per_s.nats"

func main() {
	p := benchfmt.NewPrinter(flag.CommandLine, os.Stdout)
	url := flag.String("nats", envOr("TAKT_NATS_URL", "nats://127.0.0.1:4222"), "NATS server with JetStream")
	events := flag.Int("events", 100_000, "events to relay")
	batch := flag.Int("batch", 512, "the relay's batch size (relay.WithBatchSize; 512 is its default)")
	flag.Parse()
	if p.Wanted(figure) {
		r, err := measure(*url, *events, *batch)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		p.Report(r)
	}
	if err := p.Done(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func measure(url string, n, batch int) (result, error) {
	ctx := context.Background()
	plant, err := generate(ctx, n)
	if err != nil {
		return result{}, fmt.Errorf("generating events: %w", err)
	}
	nc, err := nats.Connect(url, nats.ReconnectBufSize(-1))
	if err != nil {
		return result{}, fmt.Errorf("connecting to %s: %w", url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return result{}, err
	}
	id := fmt.Sprint(time.Now().UnixNano())
	relayed, err := timeRelay(ctx, js, plant, batch, "TAKT_BENCH_RELAY_"+id, "taktbench.relay"+id)
	if err != nil {
		return result{}, fmt.Errorf("relay: %w", err)
	}
	raw, err := timeRawPublish(ctx, js, plant, "TAKT_BENCH_RAW_"+id, "taktbench.raw"+id)
	if err != nil {
		return result{}, fmt.Errorf("baseline: %w", err)
	}
	return result{Name: figure, Value: float64(n) / relayed.Seconds(), Unit: "events/s"}.WithBaseline(float64(n) / raw.Seconds()), nil
}

// generate returns a memory-store plant whose event log holds exactly n events: work
// orders created and re-prioritised.
func generate(ctx context.Context, n int) (*mes.Plant, error) {
	p, err := mes.Open(ctx, memstore.New())
	if err != nil {
		return nil, err
	}
	by := mes.By(mes.Actor{ID: "bench", Kind: mes.System})
	if err := p.DefineEquipment(ctx, []equipment.Equipment{{ID: "PLANT-1", Level: equipment.Site}}, by); err != nil {
		return nil, err
	}
	var wo mes.WorkOrder
	for i := 1; i < n; i++ {
		if i%5 == 1 {
			wo, err = p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "PLANT-1", Number: fmt.Sprint(i), Product: "PUMP-100", Qty: units.MustParse("10 ea")}, by)
		} else {
			_, err = p.SetWorkOrderPriority(ctx, wo.ID, i%100, by)
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// lastAck wraps a publisher and closes done when the batch holding position last is
// acknowledged.
type lastAck struct {
	relay.Publisher
	last uint64
	done chan struct{}
}

func (l *lastAck) Publish(ctx context.Context, batch []mes.Event) error {
	if err := l.Publisher.Publish(ctx, batch); err != nil {
		return err
	}
	if batch[len(batch)-1].Position == l.last {
		close(l.done)
	}
	return nil
}

func timeRelay(ctx context.Context, js jetstream.JetStream, plant *mes.Plant, batch int, stream, prefix string) (time.Duration, error) {
	if _, err := natsrelay.EnsureStream(ctx, js, stream, prefix); err != nil {
		return 0, err
	}
	defer js.DeleteStream(ctx, stream)
	pub, err := natsrelay.New(js, natsrelay.Config{Prefix: prefix, Source: "urn:takt:bench", Stream: stream})
	if err != nil {
		return 0, err
	}
	evs, err := plant.ReadEvents(ctx, 0, 0)
	if err != nil {
		return 0, err
	}
	acked := &lastAck{Publisher: pub, last: evs[len(evs)-1].Position, done: make(chan struct{})}
	runCtx, cancel := context.WithCancel(ctx)
	failed := make(chan error, 1)
	start := time.Now()
	go func() { failed <- relay.Run(runCtx, plant, "bench", acked, relay.WithBatchSize(batch)) }()
	select {
	case <-acked.done:
	case err := <-failed:
		cancel()
		return 0, err
	}
	elapsed := time.Since(start)
	cancel()
	<-failed
	return elapsed, nil
}

// timeRawPublish publishes the plant's events, encoded beforehand exactly as the relay
// encodes them, with one async publish each and a wait for every acknowledgement.
func timeRawPublish(ctx context.Context, js jetstream.JetStream, plant *mes.Plant, stream, prefix string) (time.Duration, error) {
	if _, err := natsrelay.EnsureStream(ctx, js, stream, prefix); err != nil {
		return 0, err
	}
	defer js.DeleteStream(ctx, stream)
	evs, err := plant.ReadEvents(ctx, 0, 0)
	if err != nil {
		return 0, err
	}
	msgs := make([]*nats.Msg, len(evs))
	for i, e := range evs {
		data, err := relay.CloudEvent(e, "urn:takt:bench")
		if err != nil {
			return 0, err
		}
		msgs[i] = &nats.Msg{Subject: natsrelay.Subject(prefix, e), Data: data, Header: nats.Header{
			"Content-Type": []string{"application/cloudevents+json"}, jetstream.MsgIDHeader: []string{natsrelay.MsgID("urn:takt:bench", e)}}}
	}
	start := time.Now()
	acks := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		if acks[i], err = js.PublishMsgAsync(m, jetstream.WithStallWait(time.Minute)); err != nil {
			return 0, err
		}
	}
	for _, a := range acks {
		select {
		case <-a.Ok():
		case err := <-a.Err():
			return 0, err
		}
	}
	return time.Since(start), nil
}
