package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/store"
)

// tamperPlant runs a seeded command sequence on a fresh PostgreSQL schema and returns the
// plant, a SQL connection to its schema (as an attacker with database access has) and the
// number of audit records. The audit and events tables are backed up so each case can
// restore them.
func tamperPlant(t *testing.T) (*mes.Plant, *pgx.Conn, uint64, uint64) {
	t.Helper()
	ctx := context.Background()
	schema := newSchema(t)
	clock := newClock()
	p := openPlant(t, openPG(t, schema), clock, "id-")
	require.NoError(t, setupPlant(ctx, p))
	s := seed(t)
	require.NoError(t, newRunner(ctx, s, clock, p).run(200, 200), "seed %d", s)
	n, err := p.VerifyAudit(ctx)
	require.NoError(t, err)
	head, err := p.Store().Head(ctx)
	require.NoError(t, err)
	conn := sqlConn(t, schema)
	for _, q := range []string{"CREATE TABLE audit_backup AS SELECT * FROM audit", "CREATE TABLE events_backup AS SELECT * FROM events"} {
		_, err := conn.Exec(ctx, q)
		require.NoError(t, err)
	}
	return p, conn, n, head
}

func execAll(t *testing.T, conn *pgx.Conn, queries ...string) {
	t.Helper()
	for _, q := range queries {
		_, err := conn.Exec(context.Background(), q)
		require.NoError(t, err, q)
	}
}

func restore(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	execAll(t, conn, "DELETE FROM audit", "INSERT INTO audit SELECT * FROM audit_backup",
		"DELETE FROM events", "INSERT INTO events SELECT * FROM events_backup")
}

// TestTamperAuditNamed changes, deletes and reorders audit rows directly in the database,
// at random records: VerifyAudit fails with store.ErrTampered and names the record.
func TestTamperAuditNamed(t *testing.T) {
	p, conn, n, _ := tamperPlant(t)
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(seed(t), 2))
	cases := 0
	for range 10 {
		k := 1 + rnd.Uint64N(n-2) // a record with one after it
		for _, c := range []struct {
			name    string
			queries []string
			names   uint64 // the record the error must name
		}{
			{"reason changed", []string{fmt.Sprintf("UPDATE audit SET reason = reason || ' (edited)' WHERE seq = %d", k)}, k},
			{"actor changed", []string{fmt.Sprintf("UPDATE audit SET actor = 'mallory' WHERE seq = %d", k)}, k},
			{"change values edited", []string{fmt.Sprintf(`UPDATE audit SET changes = '[{"field":"qty","before":"","after":"1 ea"}]' WHERE seq = %d`, k)}, k},
			{"time moved", []string{fmt.Sprintf("UPDATE audit SET time = time - interval '1 hour' WHERE seq = %d", k)}, k},
			{"deleted", []string{fmt.Sprintf("DELETE FROM audit WHERE seq = %d", k)}, k + 1},
			{"reordered", []string{
				fmt.Sprintf("UPDATE audit SET seq = -1 WHERE seq = %d", k),
				fmt.Sprintf("UPDATE audit SET seq = %d WHERE seq = %d", k, k+1),
				fmt.Sprintf("UPDATE audit SET seq = %d WHERE seq = -1", k+1)}, k},
			{"hash recomputed for the edit", nil, k + 1},
		} {
			if c.queries == nil { // the attacker re-seals the edited record: the next one no longer follows it
				recs, err := p.AuditTrail(ctx, k-1, 1)
				require.NoError(t, err)
				r := recs[0]
				r.Reason += " (edited)"
				store.Seal(&r, r.Seq, r.PrevHash)
				_, err = conn.Exec(ctx, "UPDATE audit SET reason = $1, hash = $2 WHERE seq = $3", r.Reason, r.Hash, k)
				require.NoError(t, err)
			}
			execAll(t, conn, c.queries...)
			_, err := p.VerifyAudit(ctx)
			require.ErrorIs(t, err, store.ErrTampered, "%s at record %d", c.name, k)
			assert.Contains(t, err.Error(), fmt.Sprintf("record %d:", c.names), "%s at record %d", c.name, k)
			restore(t, conn)
			_, err = p.VerifyAudit(ctx)
			require.NoError(t, err)
			cases++
		}
	}
	t.Logf("%d tamperings of %d audit records named", cases, n)
}

// TestTamperLimits documents what the audit chain cannot show on its own, and what an
// anchor kept outside the database adds: removing the newest records, or rewriting the
// chain after the last anchor, passes VerifyAudit; an anchor taken before catches both.
func TestTamperLimits(t *testing.T) {
	p, conn, n, _ := tamperPlant(t)
	ctx := context.Background()
	anchor, err := p.AuditAnchor(ctx)
	require.NoError(t, err)

	execAll(t, conn, fmt.Sprintf("DELETE FROM audit WHERE seq > %d", n-3))
	got, err := p.VerifyAudit(ctx)
	require.NoError(t, err, "the chain alone does not show that its newest records were removed")
	assert.Equal(t, n-3, got)
	_, err = p.VerifyAuditAnchor(ctx, anchor)
	require.ErrorIs(t, err, store.ErrTampered, "an anchor shows the removal")
	restore(t, conn)

	// Rewrite record k and re-seal every record after it, as an attacker who knows the
	// (public) hashing can: the chain verifies; only an anchor taken before catches it.
	k := n / 2
	recs, err := p.AuditTrail(ctx, k-1, 0)
	require.NoError(t, err)
	prev := recs[0].PrevHash
	for i := range recs {
		if i == 0 {
			recs[i].Reason = "nothing to see"
		}
		store.Seal(&recs[i], recs[i].Seq, prev)
		prev = recs[i].Hash
		_, err := conn.Exec(ctx, "UPDATE audit SET reason = $1, prev_hash = $2, hash = $3 WHERE seq = $4", recs[i].Reason, recs[i].PrevHash, recs[i].Hash, recs[i].Seq)
		require.NoError(t, err)
	}
	_, err = p.VerifyAudit(ctx)
	require.NoError(t, err, "a chain re-sealed from record %d verifies", k)
	_, err = p.VerifyAuditAnchor(ctx, anchor)
	require.ErrorIs(t, err, store.ErrTampered)
	assert.Contains(t, err.Error(), fmt.Sprintf("record %d:", anchor.Records))
	restore(t, conn)
}

// TestTamperEvents: an event row changed, deleted or moved in the database is named by
// VerifyEvents (the event log is hash-chained like the audit trail).
func TestTamperEvents(t *testing.T) {
	p, conn, _, head := tamperPlant(t)
	ctx := context.Background()
	n, err := p.VerifyEvents(ctx)
	require.NoError(t, err)
	require.Equal(t, head, n)
	k := head / 2
	forged, err := json.Marshal(map[string]any{"lot": "FORGED", "qty": "999 ea"})
	require.NoError(t, err)
	for name, c := range map[string]struct{ sql, want string }{
		"modified": {fmt.Sprintf("UPDATE events SET data = '%s', actor = 'mallory' WHERE position = %d", forged, k), fmt.Sprintf("event %d:", k)},
		"deleted":  {fmt.Sprintf("DELETE FROM events WHERE position = %d", k), fmt.Sprintf("event %d:", k+1)},
		"reordered": {fmt.Sprintf("UPDATE events SET position = -1 WHERE position = %d; UPDATE events SET position = %d WHERE position = %d; UPDATE events SET position = %d WHERE position = -1",
			k, k, k+1, k+1), fmt.Sprintf("event %d:", k)},
	} {
		t.Run(name, func(t *testing.T) {
			execAll(t, conn, c.sql)
			_, err := p.VerifyEvents(ctx)
			require.ErrorIs(t, err, store.ErrTampered)
			assert.Contains(t, err.Error(), c.want)
			restore(t, conn)
			_, err = p.VerifyEvents(ctx)
			require.NoError(t, err, "restored")
		})
	}
}
