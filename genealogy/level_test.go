package genealogy_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/units"
)

// TestSplitLotStillConsumesReceivedMaterial: a work-in-process lot that split off a rework
// lot may still consume a received component (a level-0 lot cannot descend from it), but
// not a lot that descends from it.
func TestSplitLotStillConsumesReceivedMaterial(t *testing.T) {
	op := genealogy.Op{WorkOrder: "WO-1", Step: "10", At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	pump := genealogy.Material{ID: "PUMP", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}
	seal := genealogy.Material{ID: "SEAL", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindComponent}
	ch, err := genealogy.Produce(pump, genealogy.Lot{ID: "WIP"}, units.MustParse("10 ea"), op)
	require.NoError(t, err)
	wip := ch.Lots[0]
	ch, err = genealogy.Split(wip, []genealogy.Part{{ID: "WIP-R1", Qty: units.MustParse("2 ea")}}, op)
	require.NoError(t, err)
	wip, rework := ch.Lots[0], ch.Lots[1]
	ch, err = genealogy.Receive(seal, genealogy.Lot{ID: "SK-1", Supplier: "ACME", SupplierLot: "A-1"}, units.MustParse("5 ea"), op)
	require.NoError(t, err)
	sk := ch.Lots[0]

	ch, err = genealogy.Consume(sk, wip, units.MustParse("1 ea"), op)
	require.NoError(t, err)
	wip = ch.Lots[1]
	require.Equal(t, 1, wip.Level)
	require.LessOrEqual(t, wip.Level, rework.Level, "levels never decrease along WIP → WIP-R1")

	_, err = genealogy.Consume(rework, wip, units.MustParse("1 ea"), op)
	require.ErrorIs(t, err, genealogy.ErrCycle, "WIP-R1 descends from WIP")
}
