package reliability

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/pgstore"
)

var flagCrashes = flag.Int("crashes", 20, "times TestCrash kills its child process with SIGKILL")

// Environment of a crash child: the schema it works in, its seed, the file it appends the
// idempotency key of every acknowledged command to, and the start of its clock.
const (
	childSchemaVar = "RELIABILITY_CRASH_SCHEMA"
	childSeedVar   = "RELIABILITY_CRASH_SEED"
	childAcksVar   = "RELIABILITY_CRASH_ACKS"
)

// TestCrashChild is the child process of TestCrash; it does nothing unless TestCrash
// started it. It issues generated commands on PostgreSQL, every one keyed, and after
// each success appends its key to the acknowledgement file, until it is killed.
func TestCrashChild(t *testing.T) {
	schema := os.Getenv(childSchemaVar)
	if schema == "" {
		t.Skip("the child process of TestCrash")
	}
	ctx := context.Background()
	n, err := strconv.ParseUint(os.Getenv(childSeedVar), 10, 64)
	require.NoError(t, err)
	acks, err := os.OpenFile(os.Getenv(childAcksVar), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	require.NoError(t, err)
	s, err := pgstore.Open(ctx, pgDSN(t), pgstore.WithSchema(schema))
	require.NoError(t, err)
	clock := newClock()
	clock.advance(time.Duration(n) * 24 * time.Hour) // each child works on a later day
	prefix := fmt.Sprintf("c%d-", n)
	p := openPlant(t, s, clock, prefix)
	ck := newChecker(ctx, p)
	_, _, err = ck.catchUp()
	require.NoError(t, err)
	g := newGenerator(ctx, n, p, ck, clock, prefix)
	for {
		c := g.next()
		if c.key == "" {
			c.key = fmt.Sprintf("%sk%d", prefix, c.n)
		}
		if _, err := c.run(ctx, p, c.opts()); err == nil {
			_, err := acks.WriteString(c.key + "\n") // write(2): survives SIGKILL of this process
			require.NoError(t, err)
		}
		_, _, err := ck.catchUp()
		require.NoError(t, err)
	}
}

// TestCrash kills a child process issuing commands on PostgreSQL with SIGKILL at random
// points, -crashes times. After each kill it reopens the store and checks: the event log
// is gap-free and the audit chain verifies; every lot and work order keeps its invariants
// (no command half-applied); every command the child acknowledged is in the log, with
// both its events and its audit records.
func TestCrash(t *testing.T) {
	dsn := pgDSN(t)
	if os.Getenv(childSchemaVar) != "" {
		t.Skip("in a crash child")
	}
	ctx := context.Background()
	schema := newSchema(t)
	s := openPG(t, schema)
	require.NoError(t, setupPlant(ctx, openPlant(t, s, newClock(), "setup-")))
	acksPath := filepath.Join(t.TempDir(), "acks")
	rnd := rand.New(rand.NewPCG(seed(t), 1))
	acked, commands := 0, 0
	for i := 1; i <= *flagCrashes; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		child := fmt.Sprintf("%s-child-%d", schema, i)
		cmd.Env = append(os.Environ(), dsnVar+"="+withApplicationName(dsn, child), childSchemaVar+"="+schema, childSeedVar+"="+strconv.Itoa(i), childAcksVar+"="+acksPath)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		before := countLines(t, acksPath)
		// Let it get going (its first acknowledgement), then kill it at a random point.
		var err error
		ended := false
		for deadline := time.Now().Add(60 * time.Second); countLines(t, acksPath) == before && time.Now().Before(deadline) && !ended; {
			select {
			case err = <-done:
				ended = true
			case <-time.After(5 * time.Millisecond):
			}
		}
		if !ended {
			select {
			case err = <-done:
				ended = true
			case <-time.After(time.Duration(rnd.IntN(400)) * time.Millisecond):
				_ = cmd.Process.Kill() // SIGKILL
				err = <-done
			}
		}
		var exit *exec.ExitError
		if ended || !errors.As(err, &exit) || exit.ExitCode() != -1 {
			t.Fatalf("restart %d: the child ended by itself (%v) instead of being killed:\n%s", i, err, out.String())
		}
		waitForSessionsToEnd(t, ctx, dsn, child)
		c, n := checkAfterCrash(t, ctx, dsn, schema, acksPath)
		acked, commands = n, c
	}
	t.Logf("%d SIGKILL restarts survived; %d acknowledged commands all present; %d commands in the log", *flagCrashes, acked, commands)
}

// withApplicationName returns dsn (a URL or key=value pairs) with the application name
// name, by which the server lists its sessions.
func withApplicationName(dsn, name string) string {
	if !strings.Contains(dsn, "://") {
		return dsn + " application_name=" + name
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "application_name=" + url.QueryEscape(name)
}

// waitForSessionsToEnd waits until the server has no session named name left. A killed
// child's session can still be finishing a commit; the check must not read the log while
// that commit lands, or it sees it in one read and not in the next.
func waitForSessionsToEnd(t *testing.T, ctx context.Context, dsn, name string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for deadline := time.Now().Add(60 * time.Second); ; {
		var n int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name).Scan(&n))
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed child's %d session(s) %q still run after 60 s", n, name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	return len(readLines(t, path))
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// checkAfterCrash opens the store as a restarted process would and checks everything. It
// returns how many commands the log holds (by key) and how many keys were acknowledged.
func checkAfterCrash(t *testing.T, ctx context.Context, dsn, schema, acksPath string) (int, int) {
	t.Helper()
	s, err := pgstore.Open(ctx, dsn, pgstore.WithSchema(schema))
	require.NoError(t, err)
	defer s.Close()
	p := openPlant(t, s, newClock(), "check-")
	ck := newChecker(ctx, p)
	evs, recs, err := ck.catchUp()
	require.NoError(t, err, "after restart: event log or audit chain")
	require.NoError(t, ck.sweep(), "after restart: a command was half-applied")
	withEvents, withAudit := map[string]bool{}, map[string]bool{}
	for _, e := range evs {
		withEvents[e.Command] = true
	}
	for _, r := range recs {
		withAudit[r.Command] = true
	}
	for key := range withAudit {
		require.True(t, withEvents[key], "command %s has audit records but no events: half-applied", key)
	}
	for key := range withEvents {
		require.True(t, withAudit[key], "command %s has events but no audit record: half-applied", key)
	}
	acks := map[string]bool{}
	for _, key := range readLines(t, acksPath) {
		require.True(t, withAudit[key], "acknowledged command %s is not in the log", key)
		acks[key] = true
	}
	return len(withAudit), len(acks)
}
