package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/store/storetest"
)

const dsnVar = "TAKT_POSTGRES_DSN"

// testDSN returns the database the tests use, or skips the test.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		t.Skip("set TAKT_POSTGRES_DSN=postgres://... to run the PostgreSQL tests")
	}
	return dsn
}

// newSchema returns a fresh schema name that is dropped when the test ends.
func newSchema(t testing.TB) string {
	t.Helper()
	dsn := testDSN(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "takt_test_" + hex.EncodeToString(b)
	t.Cleanup(func() { dropSchema(t, dsn, schema) })
	return schema
}

func dropSchema(t testing.TB, dsn, schema string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Errorf("dropping schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("dropping schema %s: %v", schema, err)
	}
}

// openTestStore opens a store in a fresh schema; the store is closed and the schema
// dropped when the test ends.
func openTestStore(t testing.TB, opts ...Option) *Store {
	t.Helper()
	return openSchema(t, newSchema(t), opts...)
}

// openSchema opens a store in schema; it is closed when the test ends.
func openSchema(t testing.TB, schema string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), testDSN(t), append([]Option{WithSchema(schema)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// execSQL runs sql on the store's schema, as a person with database access (or an attacker)
// would, outside the store.
func execSQL(t testing.TB, s *Store, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testDSN(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SET search_path TO "+pgx.Identifier{s.Schema()}.Sanitize())
	require.NoError(t, err)
	_, err = conn.Exec(ctx, sql, args...)
	require.NoError(t, err)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTestStore(t) })
}

// put commits one new record.
func put(t testing.TB, s *Store, kind, id, data string) {
	t.Helper()
	require.NoError(t, s.Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.Put(context.Background(), store.Record{Kind: kind, ID: id, Site: "S1", Data: []byte(data)})
		return err
	}))
}

// get reads one record.
func get(t testing.TB, s *Store, kind, id string) store.Record {
	t.Helper()
	var r store.Record
	require.NoError(t, s.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		r, err = tx.Get(context.Background(), kind, id)
		return err
	}))
	return r
}

func appendEvent(t testing.TB, s *Store) {
	t.Helper()
	require.NoError(t, s.Update(context.Background(), func(tx store.Tx) error {
		return tx.AppendEvents(context.Background(), store.Event{Type: "e", Site: "S1", Subject: "x", Time: time.Now()})
	}))
}

// TestWaitWakesAcrossStores: a commit through one Store wakes a waiter on another (as in
// another process) by notification; the waiter's periodic re-check is off.
func TestWaitWakesAcrossStores(t *testing.T) {
	schema := newSchema(t)
	waiter, writer := openSchema(t, schema), openSchema(t, schema)
	waiter.recheck = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	woke := make(chan error, 1)
	go func() { woke <- waiter.WaitEvents(ctx, 0) }()
	time.Sleep(50 * time.Millisecond)
	appendEvent(t, writer)
	require.NoError(t, <-woke)
	// And again, with the listener surely running.
	go func() { woke <- waiter.WaitEvents(ctx, 1) }()
	time.Sleep(50 * time.Millisecond)
	appendEvent(t, writer)
	require.NoError(t, <-woke)
}

// TestWaitSurvivesLostNotification: an event committed without a notification (as if it
// were lost) still wakes the waiter, at its next re-check.
func TestWaitSurvivesLostNotification(t *testing.T) {
	s := openTestStore(t)
	s.recheck = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	woke := make(chan error, 1)
	go func() { woke <- s.WaitEvents(ctx, 0) }()
	time.Sleep(100 * time.Millisecond)
	execSQL(t, s, `WITH h AS (UPDATE log_head SET event_pos = event_pos + 1 RETURNING event_pos)
INSERT INTO events (position, type, site, subject, time, time_ns, actor, command) SELECT event_pos, 'e', 'S1', 'x', now(), 0, 'a', '' FROM h`)
	require.NoError(t, <-woke)
}

func TestWaitEndsOnClose(t *testing.T) {
	s := openTestStore(t)
	woke := make(chan error, 1)
	go func() { woke <- s.WaitEvents(context.Background(), 0) }()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, s.Close())
	assert.ErrorIs(t, <-woke, ErrClosed)
	assert.ErrorIs(t, s.WaitEvents(context.Background(), 0), ErrClosed)
	assert.ErrorIs(t, s.Update(context.Background(), func(store.Tx) error { return nil }), ErrClosed)
}

// TestFailedStatementAbortsTransaction: after a statement fails, PostgreSQL refuses the
// rest of the transaction; the store returns that first error from every later call and
// from Update, and commits nothing.
func TestFailedStatementAbortsTransaction(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	err := s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.Put(ctx, store.Record{Kind: "wo", ID: "1", Site: "S1"})
		require.NoError(t, err)
		_, err = tx.Put(ctx, store.Record{Kind: "wo", ID: "bad\x00id", Site: "S1"}) // text cannot hold NUL
		require.Error(t, err)
		_, again := tx.Get(ctx, "wo", "1")
		assert.Equal(t, err, again)
		return nil // the caller ignores the error: Update must not pretend to commit
	})
	require.Error(t, err)
	var n int
	require.NoError(t, s.pool.QueryRow(ctx, "SELECT count(*) FROM records").Scan(&n))
	assert.Zero(t, n)
}

// TestKeysAndIndexFollowTheRecord: the derived key and index rows match the record after
// conflicting and duplicate puts in a transaction that goes on and commits.
func TestKeysAndIndexFollowTheRecord(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.Put(ctx, store.Record{Kind: "wo", ID: "a", Site: "S1", Keys: []string{"ka"}, Index: map[string]string{"status": "x"}})
		return err
	}))
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.Put(ctx, store.Record{Kind: "wo", ID: "b", Site: "S1", Keys: []string{"kb", "ka"}, Index: map[string]string{"status": "y"}})
		assert.ErrorIs(t, err, store.ErrDuplicateKey)
		_, err = tx.Put(ctx, store.Record{Kind: "wo", ID: "a", Site: "S1", Keys: []string{"kc"}, Index: map[string]string{"status": "z"}})
		assert.ErrorIs(t, err, store.ErrConflict, "stale version")
		_, err = tx.Put(ctx, store.Record{Kind: "wo", ID: "a", Site: "S2", Version: 1, Keys: []string{"ka", "kd", "kd"}, Index: map[string]string{"status": "w", "p": "q"}})
		return err // the transaction goes on after the failed puts and commits
	}))
	var keys, index []string
	require.NoError(t, s.pool.QueryRow(ctx, "SELECT array_agg(kind || '/' || key || '=' || id ORDER BY key) FROM record_keys").Scan(&keys))
	require.NoError(t, s.pool.QueryRow(ctx, "SELECT array_agg(concat_ws('/', kind, site, name, value, id) ORDER BY name) FROM record_index").Scan(&index))
	assert.Equal(t, []string{"wo/ka=a", "wo/kd=a"}, keys)
	assert.Equal(t, []string{"wo/S2/p/q/a", "wo/S2/status/w/a"}, index)
	_, err := s.pool.Exec(ctx, "SELECT 1")
	require.NoError(t, err)
}

func FuzzSplitTime(f *testing.F) {
	f.Add(int64(0), int64(0))
	f.Add(int64(1767225600), int64(123456789))
	f.Add(int64(-62135596800), int64(999)) // year 1
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		in := time.Unix(sec%(1<<40), nsec%1e9)
		us, ns := splitTime(in)
		assert.Zero(t, us.Nanosecond()%1000, "the first part fits timestamptz")
		assert.True(t, ns >= 0 && ns < 1000)
		assert.True(t, joinTime(us, ns).Equal(in))
	})
}
