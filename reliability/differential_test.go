package reliability

import (
	"context"
	"encoding/json"
	"flag"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/store/memstore"
)

var flagDiff = flag.Int("diffcommands", 400, "commands TestDifferential runs on both stores")

// TestDifferential runs one seeded command sequence on the memory store and on PostgreSQL
// in lockstep, with one fake clock and deterministic ids: every command must give the
// same result or the same error on both, both must keep every invariant, and they must end
// with identical event logs, audit chains (hashes included) and lots and work orders.
func TestDifferential(t *testing.T) {
	pgDSN(t)
	ctx := context.Background()
	s := seed(t)
	clock := newClock()
	mem := openPlant(t, memstore.New(), clock, "id-")
	pg := openPlant(t, openPG(t, newSchema(t)), clock, "id-")
	require.NoError(t, setupPlant(ctx, mem))
	require.NoError(t, setupPlant(ctx, pg))
	r := newRunner(ctx, s, clock, mem, pg)
	if err := r.run(*flagDiff, *flagDiff); err != nil {
		t.Fatalf("seed %d: %v\nreplay: go test ./reliability -run 'TestDifferential$' -seed %d -diffcommands %d", s, err, s, *flagDiff)
	}
	st := r.checkers[0].stats
	t.Logf("seed %d: %d commands (%d succeeded, %d refused), %d events, %d audit records identical on both stores", s, st.Commands, st.Succeeded, st.Failed, st.Events, st.Audit)

	evMem, err := mem.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	evPG, err := pg.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	require.Equal(t, len(evMem), len(evPG), "seed %d: event logs differ in length", s)
	for i := range evMem {
		a, b := evMem[i], evPG[i]
		a.Payload, b.Payload = nil, nil
		require.Equal(t, a, b, "seed %d: event %d differs", s, a.Position)
	}
	auMem, err := mem.AuditTrail(ctx, 0, 0)
	require.NoError(t, err)
	auPG, err := pg.AuditTrail(ctx, 0, 0)
	require.NoError(t, err)
	require.Equal(t, len(auMem), len(auPG), "seed %d: audit trails differ in length", s)
	for i := range auMem {
		require.Equal(t, auMem[i].Hash, auPG[i].Hash, "seed %d: audit record %d differs:\n%+v\n%+v", s, auMem[i].Seq, auMem[i], auPG[i])
	}
	state := func(p *mes.Plant) string {
		var out []any
		for _, id := range sortedKeys(keys(r.checkers[0].lots)) {
			l, err := p.Lot(ctx, id)
			require.NoError(t, err)
			out = append(out, l)
		}
		for _, id := range sortedKeys(keys(r.checkers[0].wos)) {
			wo, err := p.WorkOrder(ctx, id)
			require.NoError(t, err)
			out = append(out, wo)
		}
		for _, id := range r.checkers[0].serialOrder {
			s, err := p.Serial(ctx, id)
			require.NoError(t, err)
			out = append(out, s)
		}
		b, err := json.Marshal(out)
		require.NoError(t, err)
		return string(b)
	}
	require.JSONEq(t, state(mem), state(pg), "seed %d: final lots, work orders and serials differ", s)
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}
