package natsrelay_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/natsrelay"
)

// connect returns JetStream on the server named by TAKT_NATS_URL, or skips the test.
func connect(t testing.TB) jetstream.JetStream {
	t.Helper()
	url := os.Getenv("TAKT_NATS_URL")
	if url == "" {
		t.Skip("set TAKT_NATS_URL (for example nats://127.0.0.1:4222) to a NATS server with JetStream to run this test")
	}
	nc, err := nats.Connect(url, nats.ReconnectBufSize(-1))
	require.NoError(t, err, "connecting to TAKT_NATS_URL=%s", url)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

// uniqueName returns a stream name and subject prefix no other test run uses, and deletes
// the stream when the test ends.
func uniqueName(t testing.TB, js jetstream.JetStream) (stream, prefix string) {
	t.Helper()
	id := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano())
	stream, prefix = "TAKT_TEST_"+id, "takttest."+id
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), stream) })
	return stream, prefix
}

// newStream connects and creates a stream of its own for the test with EnsureStream.
func newStream(t testing.TB) (js jetstream.JetStream, stream, prefix string) {
	t.Helper()
	js = connect(t)
	stream, prefix = uniqueName(t, js)
	_, err := natsrelay.EnsureStream(context.Background(), js, stream, prefix)
	require.NoError(t, err)
	return js, stream, prefix
}

// streamMessages returns every message of stream in order.
func streamMessages(t testing.TB, js jetstream.JetStream, stream string) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	total := int(info.State.Msgs)
	if total == 0 {
		return nil
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	var out []jetstream.Msg
	for len(out) < total {
		batch, err := c.Fetch(min(total-len(out), 1000), jetstream.FetchMaxWait(5*time.Second))
		require.NoError(t, err)
		for m := range batch.Messages() {
			out = append(out, m)
		}
		require.NoError(t, batch.Error())
	}
	return out
}
