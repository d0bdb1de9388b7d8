package natsrelay_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/natsrelay"
	"github.com/taktmes/takt/relay"
	"github.com/taktmes/takt/store/memstore"
)

// TestPublishGivesUpOnAcknowledgementsThatNeverCome publishes where no stream captures the
// subject but a plain subscriber listens (the stream was never created, or was deleted): no
// stream answers, and nobody reports "no responders" either.
func TestPublishGivesUpOnAcknowledgementsThatNeverCome(t *testing.T) {
	js := connect(t)
	_, prefix := uniqueName(t, js)
	sub, err := js.Conn().SubscribeSync(prefix + ".>")
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	p := openPlant(t, memstore.New())
	log := allEvents(t, p)
	pub, err := natsrelay.New(js, natsrelay.Config{Prefix: prefix, Source: "s", AckTimeout: 50 * time.Millisecond})
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() { done <- pub.Publish(context.Background(), log) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, relay.ErrNotAcknowledged)
		assert.Contains(t, err.Error(), "no acknowledgement of event 1 on")
		assert.Contains(t, err.Error(), "within 50ms")
	case <-time.After(time.Minute):
		t.Fatal("Publish still waits for acknowledgements that never come")
	}
}

// TestRunStopsOnAClosedConnection closes the connection as nats.go does once it gives up
// reconnecting: it never works again, so retrying would stall the relay for good.
func TestRunStopsOnAClosedConnection(t *testing.T) {
	js := connect(t)
	stream, prefix := uniqueName(t, js)
	nc, err := nats.Connect(os.Getenv("TAKT_NATS_URL"))
	require.NoError(t, err)
	closed, err := jetstream.New(nc)
	require.NoError(t, err)
	nc.Close()
	p := openPlant(t, memstore.New())
	pub, err := natsrelay.New(closed, natsrelay.Config{Prefix: prefix, Source: "s", Stream: stream})
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		done <- relay.Run(context.Background(), p, "nats", pub, relay.WithBackoff(time.Millisecond, time.Millisecond))
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, relay.ErrInvalid)
		require.ErrorIs(t, err, nats.ErrConnectionClosed)
		assert.Contains(t, err.Error(), "connection is closed")
	case <-time.After(time.Minute):
		t.Fatal("Run keeps retrying on a connection that is closed for good")
	}
}
