package pgstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

var planner = mes.By(mes.Actor{ID: "planner", Kind: mes.Person})

// openPlant runs the engine on a fresh store with site S1, work center WC and a routing
// for product P.
func openPlant(t *testing.T) (*mes.Plant, *Store) {
	t.Helper()
	s := openTestStore(t)
	ctx := context.Background()
	p, err := mes.Open(ctx, s)
	require.NoError(t, err)
	require.NoError(t, p.DefineEquipment(ctx, []equipment.Equipment{{ID: "S1", Level: equipment.Site}, {ID: "WC", Level: equipment.WorkCenter, Parent: "S1"}}, planner))
	rt, err := routing.New("P", "A").Step("10", "Make", routing.At("WC")).Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "S1", rt, planner)
	require.NoError(t, err)
	return p, s
}

// TestEngineOnPostgres runs work orders through their life on PostgreSQL and checks what
// the engine committed: the order, its events and a verifiable audit trail.
func TestEngineOnPostgres(t *testing.T) {
	testDSN(t)
	ctx := context.Background()
	p, s := openPlant(t)
	wo, err := p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "S1", Number: "4711", Product: "P", Qty: units.MustParse("50 ea")}, planner, mes.IdempotencyKey("erp-4711"))
	require.NoError(t, err)
	again, err := p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "S1", Number: "4711", Product: "P", Qty: units.MustParse("50 ea")}, planner, mes.IdempotencyKey("erp-4711"))
	require.NoError(t, err)
	assert.Equal(t, wo.ID, again.ID, "a replayed command returns the first result")
	_, err = p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "S1", Number: "4711", Product: "P", Qty: units.MustParse("5 ea")}, planner)
	assert.Error(t, err, "the number is unique per site")
	for _, step := range []func(context.Context, string, ...mes.CommandOption) (mes.WorkOrder, error){p.ReleaseWorkOrder, p.StartWorkOrder, p.CompleteWorkOrder, p.CloseWorkOrder} {
		_, err := step(ctx, wo.ID, planner)
		require.NoError(t, err)
	}
	got, err := p.WorkOrder(ctx, wo.ID)
	require.NoError(t, err)
	assert.Equal(t, mes.StatusClosed, got.Status)
	evs, err := s.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(evs), 5)
	n, err := p.VerifyAudit(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, uint64(6))
}

// TestAuditTamperDetected changes, deletes and reorders audit rows directly in SQL, as
// someone with database access could; verification names the record where the chain
// breaks.
func TestAuditTamperDetected(t *testing.T) {
	testDSN(t)
	tests := []struct {
		name   string
		sql    []string
		record string
	}{
		{"changed", []string{`UPDATE audit SET reason = 'nothing to see' WHERE seq = 3`}, "record 3: its content does not match its hash"},
		{"changed-actor", []string{`UPDATE audit SET actor = 'someone else' WHERE seq = 4`}, "record 4: its content does not match its hash"},
		{"deleted", []string{`DELETE FROM audit WHERE seq = 3`}, "record 4: expected sequence 3"},
		{"deleted-last", []string{`DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)`}, ""},
		{"reordered", []string{`UPDATE audit SET seq = -seq WHERE seq IN (2, 3)`, `UPDATE audit SET seq = 5 + seq WHERE seq < 0`}, "record 2: it does not follow record 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			p, s := openPlant(t)
			for i := 0; i < 3; i++ {
				wo, err := p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "S1", Number: fmt.Sprint(i), Product: "P", Qty: units.MustParse("1 ea")}, planner)
				require.NoError(t, err)
				_, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
				require.NoError(t, err)
			}
			before, err := p.VerifyAudit(ctx)
			require.NoError(t, err)
			for _, q := range tc.sql {
				execSQL(t, s, q)
			}
			n, err := p.VerifyAudit(ctx)
			if tc.record == "" {
				// Removing the newest record leaves a valid, shorter chain: what catches it is
				// the count a verifier keeps (or the log_head row, which still names it).
				require.NoError(t, err)
				assert.Equal(t, before-1, n)
				return
			}
			require.ErrorIs(t, err, store.ErrTampered)
			assert.Contains(t, err.Error(), tc.record)
		})
	}
}
