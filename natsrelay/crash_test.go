package natsrelay_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/natsrelay"
	"github.com/taktmes/takt/pgstore"
	"github.com/taktmes/takt/relay"
)

// The crash test's child process reads its settings from these variables.
const (
	childEnv   = "TAKT_NATSRELAY_CHILD" // "1" in the child
	schemaEnv  = "TAKT_NATSRELAY_SCHEMA"
	streamEnv  = "TAKT_NATSRELAY_STREAM"
	prefixEnv  = "TAKT_NATSRELAY_PREFIX"
	sourceEnv  = "TAKT_NATSRELAY_SOURCE"
	crashBatch = 25
)

// TestRelayChildProcess is the relay the crash test runs, and kills, in a child process.
// It does nothing in a normal test run.
func TestRelayChildProcess(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("runs only as the child of TestRelaySurvivesSIGKILL")
	}
	ctx := context.Background()
	s, err := pgstore.Open(ctx, os.Getenv("TAKT_POSTGRES_DSN"), pgstore.WithSchema(os.Getenv(schemaEnv)))
	require.NoError(t, err)
	plant, err := mes.Open(ctx, s)
	require.NoError(t, err)
	nc, err := nats.Connect(os.Getenv("TAKT_NATS_URL"), nats.ReconnectBufSize(-1))
	require.NoError(t, err)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	pub, err := natsrelay.New(js, natsrelay.Config{Prefix: os.Getenv(prefixEnv), Source: os.Getenv(sourceEnv), Stream: os.Getenv(streamEnv)})
	require.NoError(t, err)
	fmt.Fprintln(os.Stderr, "child relay running")
	err = relay.Run(ctx, plant, "nats", pub, relay.WithBatchSize(crashBatch), relay.WithBackoff(10*time.Millisecond, time.Second))
	t.Fatalf("the relay stopped: %v", err) // it runs until killed
}

// TestRelaySurvivesSIGKILL runs the relay in a child process over a PostgreSQL store it
// shares with this process, kills it with SIGKILL at random moments while this process
// keeps committing events, restarts it, and checks that the stream finally holds every
// event exactly once, in order.
func TestRelaySurvivesSIGKILL(t *testing.T) {
	js, stream, prefix := newStream(t)
	dsn := os.Getenv("TAKT_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set TAKT_POSTGRES_DSN (for example postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the crash test: the relay's child process and the test share a PostgreSQL store")
	}
	ctx := context.Background()
	schema := "natsrelay_crash_" + fmt.Sprint(time.Now().UnixNano())
	t.Cleanup(func() { dropSchema(t, dsn, schema) })
	s, err := pgstore.Open(ctx, dsn, pgstore.WithSchema(schema))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	plant := openPlant(t, s)
	addOrders(t, plant, 0, 300)
	source := "urn:takt:crash-" + schema

	// Keep committing events while the relay is killed and restarted.
	var writing sync.WaitGroup
	var stop atomic.Bool
	var writeErr error
	writing.Add(1)
	go func() {
		defer writing.Done()
		for i := 300; writeErr == nil && !stop.Load() && i < 2300; i += 10 {
			writeErr = createOrders(plant, i, 10)
		}
	}()

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRelayChildProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"=1", schemaEnv+"="+schema, streamEnv+"="+stream, prefixEnv+"="+prefix, sourceEnv+"="+source)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		return cmd
	}
	kill := func(cmd *exec.Cmd) {
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
	}
	checkpoint := func() uint64 {
		cp, err := plant.Checkpoint(ctx, "nats")
		require.NoError(t, err)
		return cp
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	kills, aheadOfCheckpoint := 0, 0
	for round := 0; round < 30 && (kills < 6 || aheadOfCheckpoint == 0); round++ {
		before := checkpoint()
		cmd := start()
		require.Eventually(t, func() bool { return checkpoint() > before }, 2*time.Minute, time.Millisecond, "the relay made no progress")
		time.Sleep(time.Duration(rng.IntN(20_000)) * time.Microsecond)
		kill(cmd)
		kills++
		// Published but not checkpointed: the restart publishes these again.
		if n := streamLen(t, js, stream); n > checkpoint() {
			aheadOfCheckpoint++
		}
	}
	stop.Store(true)
	writing.Wait()
	require.NoError(t, writeErr)
	log := allEvents(t, plant)

	cmd := start()
	require.Eventually(t, func() bool { return checkpoint() == uint64(len(log)) }, 3*time.Minute, 5*time.Millisecond, "the relay did not catch up")
	kill(cmd)
	t.Logf("%d events, %d kills, %d of them left published events past the checkpoint", len(log), kills, aheadOfCheckpoint)
	require.Positive(t, aheadOfCheckpoint, "no kill fell between publishing and checkpointing; the de-duplication was not exercised")
	requireExactlyOnceInOrder(t, js, stream, prefix, source, log)
}

func streamLen(t testing.TB, js jetstream.JetStream, stream string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), stream)
	require.NoError(t, err)
	info, err := s.Info(context.Background())
	require.NoError(t, err)
	return info.State.Msgs
}

func dropSchema(t testing.TB, dsn, schema string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Logf("dropping schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Logf("dropping schema %s: %v", schema, err)
	}
}
