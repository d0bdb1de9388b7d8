package pgstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/store"
)

func TestALongSchemaNameStillNotifies(t *testing.T) {
	schema := "takt_test_long_" + strings.Repeat("x", 40) // legal, but "takt_events/<schema>" is over 63 bytes
	dsn := testDSN(t)
	t.Cleanup(func() { dropSchema(t, dsn, schema) })
	s := openSchema(t, schema)
	ctx := context.Background()
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		return tx.AppendEvents(ctx, store.Event{Type: "e", Site: "S1", Subject: "x", Time: time.Now()})
	}), "pg_notify refused the channel name")
	require.NoError(t, s.WaitEvents(ctx, 0))
}

func TestAuditTextThatIsNotUTF8IsRefused(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	rec := store.AuditRecord{Time: time.Now(), Actor: "a", Action: "x", Site: "S1", Object: "wo/1",
		Changes: []store.Change{{Field: "note", After: "bad\xffbyte"}}}
	err := s.Update(ctx, func(tx store.Tx) error { return tx.AppendAudit(ctx, rec) })
	require.ErrorContains(t, err, "not valid UTF-8", "JSON would store U+FFFD, and the record would fail its hash")
	got, err := s.ReadAudit(ctx, 0, 0)
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestTraceDepthBeyondTheColumnRange(t *testing.T) {
	s := openTestStore(t)
	_, err := s.TraceBackward(context.Background(), genealogy.LotNode("L1"), genealogy.TraceOptions{MaxDepth: 1 << 31})
	require.NoError(t, err)
}

func TestReadingTextWithNULFindsNothing(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.Get(ctx, "wo", "a\x00b")
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = tx.Lookup(ctx, "wo", "k\x00")
		require.ErrorIs(t, err, store.ErrNotFound)
		recs, err := tx.List(ctx, store.Query{Kind: "wo", Site: "S\x001"})
		require.NoError(t, err)
		require.Empty(t, recs)
		_, err = tx.Put(ctx, store.Record{Kind: "wo", ID: "1", Site: "S1"})
		return err // the transaction goes on
	}))
}

func TestAnIndexEntryTooLongForTheBtreeIsRefused(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	long := strings.Repeat("x", store.MaxText)
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.Put(ctx, store.Record{Kind: "wo", ID: long, Site: long, Index: map[string]string{"note": long}})
		require.ErrorIs(t, err, store.ErrTooLong, "each part is allowed, together they pass the btree's limit")
		_, err = tx.Put(ctx, store.Record{Kind: "wo", ID: "1", Site: "S1", Index: map[string]string{"note": long}})
		return err // and the transaction goes on
	}))
}

// TestASchemaNameLongerThanPostgreSQLKeepsIsRefused: PostgreSQL cuts names to 63 bytes, so
// stores whose schema names differ only after that would share one schema (each seeing the
// other's records, migrating it under different locks and notifying different channels).
func TestASchemaNameLongerThanPostgreSQLKeepsIsRefused(t *testing.T) {
	dsn := testDSN(t)
	long := "takt_test_" + strings.Repeat("y", 53) // 63 bytes, the longest name PostgreSQL keeps
	t.Cleanup(func() { dropSchema(t, dsn, long) })
	for _, name := range []string{long + "a", long + "b"} {
		s, err := Open(context.Background(), dsn, WithSchema(name))
		if err == nil {
			_ = s.Close()
		}
		require.ErrorContains(t, err, "at most 63 bytes")
	}
}
