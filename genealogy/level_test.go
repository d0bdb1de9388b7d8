package genealogy_test

import (
	"encoding/json"
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

func TestEdgeJSONRoundTrip(t *testing.T) {
	e := genealogy.Edge{Kind: genealogy.EdgeConsume, From: genealogy.LotNode("SK-1"), To: genealogy.SerialNode("U-1"), Qty: units.MustParse("2 ea"),
		WorkOrder: "WO-1", Step: "30", At: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	b, err := json.Marshal(e)
	require.NoError(t, err)
	require.JSONEq(t, `{"kind":"consume","from":{"kind":"lot","id":"SK-1"},"to":{"kind":"serial","id":"U-1"},"qty":"2 ea","work_order":"WO-1","step":"30","at":"2026-01-02T03:04:05.000000006Z"}`, string(b))
	var back genealogy.Edge
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, e.From, back.From)
	require.Equal(t, e.Kind, back.Kind)
	require.True(t, e.Qty.Equal(back.Qty))
	require.Error(t, json.Unmarshal([]byte(`{"kind":"teleport"}`), &back))
}
