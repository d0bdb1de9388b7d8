package pgstore

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/units"
)

// TestLiftOnPostgres: on PostgreSQL too, a lot that split something off can take material
// from a lot that does not descend from it (the engine reads the graph in the command's
// transaction and raises the levels below), and a lot that does descend from it cannot.
func TestLiftOnPostgres(t *testing.T) {
	testDSN(t)
	ctx := context.Background()
	p, s := openPlant(t)
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "KIT", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindComponent}, planner))
	for _, id := range []string{"K-1", "K-2"} {
		_, err := p.ReceiveLot(ctx, mes.Receipt{Site: "S1", Lot: id, Material: "KIT", Qty: units.MustParse("10 ea"), Supplier: "ACME", SupplierLot: id}, planner)
		require.NoError(t, err)
	}
	sub, err := p.SplitLot(ctx, "K-2", "", units.MustParse("4 ea"), planner)
	require.NoError(t, err)
	kit, err := p.SplitLot(ctx, "K-1", "", units.MustParse("4 ea"), planner)
	require.NoError(t, err)

	into, err := p.ConsumeMaterial(ctx, kit.ID, "K-2", "", units.MustParse("1 ea"), planner)
	require.NoError(t, err)
	assert.Equal(t, 2, into.Level)
	raised, err := p.Lot(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, 3, raised.Level, "the sublot rose above its lot, in the same transaction")

	events, err := s.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	_, err = p.ConsumeMaterial(ctx, sub.ID, "K-2", "", units.MustParse("1 ea"), planner)
	require.ErrorIs(t, err, genealogy.ErrCycle)
	after, err := s.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	assert.Len(t, after, len(events), "the refused consumption wrote nothing")
}
