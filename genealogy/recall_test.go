package genealogy_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/taktmes/takt/genealogy"
)

var compound = genealogy.Material{ID: "COMPOUND", Unit: "kg", Tracking: genealogy.TrackLot, Kind: genealogy.KindIntermediate}

// recallWorld: supplier lot → R (100 kg) → 20 kg into I (50 kg made) → 10 kg into F1,
// 15 kg into F2; F1 shipped.
func recallWorld(t *testing.T) *world {
	w := newWorld(t)
	w.receive(t, resin, "R", "100 kg")
	w.produce(t, compound, "I", "50 kg")
	w.produce(t, housing, "F1", "10 ea")
	w.produce(t, housing, "F2", "10 ea")
	w.consume(t, "R", "I", "20 kg")
	w.consume(t, "I", "F1", "10 kg")
	w.consume(t, "I", "F2", "15 kg")
	w.must(genealogy.Ship(w.lots["F1"], genealogy.Shipment{ID: "SH1", Customer: "Pumpworks"}, q("10 ea"), opAt(9)))
	return w
}

func TestRecallPropagatesQuantities(t *testing.T) {
	w := recallWorld(t)
	for _, root := range []genealogy.Node{genealogy.SupplierLotNode("RESIN", "ACME", "B-R"), genealogy.LotNode("R")} {
		for name, r := range map[string]genealogy.Reader{"walk": w, "index": w.index(t)} {
			rep, err := genealogy.Recall(ctx, r, root, genealogy.TraceOptions{})
			require.NoError(t, err, name)
			assert.Equal(t, "100 kg", rep.Source.String())
			got := map[string]genealogy.RecallItem{}
			for _, it := range rep.Items {
				got[it.Node.ID] = it
			}
			require.Len(t, got, 4, name)
			assert.Equal(t, "20 kg", got["I"].Contained.String())
			assert.False(t, got["I"].End, "I passed material on")
			assert.Equal(t, "4 kg", got["F1"].Contained.String(), "20 kg × 10/50")
			assert.Equal(t, "6 kg", got["F2"].Contained.String(), "20 kg × 15/50")
			assert.True(t, got["F1"].End)
			require.Len(t, got["F1"].Shipped, 1)
			sh := got["F1"].Shipped[0]
			assert.Equal(t, []string{"SH1", "10 ea", "4 kg"}, []string{sh.Shipment, sh.Qty.String(), sh.Contained.String()})
			assert.Equal(t, t0.Add(9*time.Minute), sh.At)
			assert.Empty(t, got["F2"].Shipped, "F2 is still in stock")
		}
	}
}

// A lot of 10 that numbered 2 units and shipped the other 8: the recall finds both serials
// and the shipment, and their shares add up to the 10 the lot held.
func TestRecallThroughSerials(t *testing.T) {
	w := newWorld(t)
	w.receive(t, pump, "L", "10 ea")
	w.must(genealogy.Serialize(pump, w.lots["L"], []genealogy.Serial{{ID: "SN-1"}, {ID: "SN-2"}}, opAt(3)))
	w.must(genealogy.Ship(w.lots["L"], genealogy.Shipment{ID: "SH1", Customer: "C"}, q("8 ea"), opAt(4)))
	w.must(genealogy.Serialize(pump, genealogy.Lot{}, []genealogy.Serial{{ID: "UNIT-1"}}, opAt(5)))
	w.must(genealogy.Assemble(w.serials["SN-1"], w.serials["UNIT-1"], opAt(6)))
	w.must(genealogy.ShipSerial(w.serials["UNIT-1"], genealogy.Shipment{ID: "SH2", Customer: "C"}, opAt(7)))
	w.checkBalances(t)
	assert.Equal(t, genealogy.Shipped, w.lots["L"].Status, "the lot holds nothing after its serials and its shipment")
	for _, root := range []genealogy.Node{genealogy.SupplierLotNode("PUMP", "ACME", "B-L"), genealogy.LotNode("L")} {
		for name, r := range map[string]genealogy.Reader{"walk": w, "index": w.index(t)} {
			rep, err := genealogy.Recall(ctx, r, root, genealogy.TraceOptions{})
			require.NoError(t, err, name)
			assert.Equal(t, "10 ea", rep.Source.String(), name)
			got := map[genealogy.Node]genealogy.RecallItem{}
			for _, it := range rep.Items {
				got[it.Node] = it
			}
			lot := got[genealogy.LotNode("L")]
			assert.Equal(t, "10 ea", lot.Contained.String(), name)
			assert.False(t, lot.End, "%s: the lot passed units on to its serials", name)
			require.Len(t, lot.Shipped, 1, name)
			assert.Equal(t, "8 ea", lot.Shipped[0].Contained.String(), name)
			sum := lot.Shipped[0].Contained
			for _, sn := range []string{"SN-1", "SN-2"} {
				it, ok := got[genealogy.SerialNode(sn)]
				require.True(t, ok, "%s: %s", name, sn)
				assert.Equal(t, "1 ea", it.Contained.String(), "%s: %s", name, sn)
				sum, err = sum.Add(it.Contained)
				require.NoError(t, err)
			}
			assert.Equal(t, "10 ea", sum.String(), "%s: shipment and serials add up to the lot", name)
			unit := got[genealogy.SerialNode("UNIT-1")]
			assert.Equal(t, "1 ea", unit.Contained.String(), "%s: the unit holds the motor it was built from", name)
			require.Len(t, unit.Shipped, 1, name)
			assert.Equal(t, []string{"SH2", "1 ea"}, []string{unit.Shipped[0].Shipment, unit.Shipped[0].Contained.String()}, name)
			assert.True(t, got[genealogy.SerialNode("SN-2")].End, "%s: SN-2 is still in stock", name)
		}
	}
}

func TestAsBuiltRecord(t *testing.T) {
	w := newWorld(t)
	w.receive(t, resin, "R", "10 kg")
	w.produce(t, pump, "P", "1 ea")
	w.consume(t, "R", "P", "2 kg")
	w.must(genealogy.Serialize(pump, w.lots["P"], []genealogy.Serial{{ID: "SN-1"}}, opAt(3)))
	w.must(genealogy.Serialize(pump, genealogy.Lot{}, []genealogy.Serial{{ID: "MOTOR-1"}}, opAt(3)))
	w.must(genealogy.Assemble(w.serials["MOTOR-1"], w.serials["SN-1"], genealogy.Op{Step: "30", Operator: "bob", Equipment: "ASSY-1", At: t0.Add(time.Hour)}))
	ab, err := genealogy.AsBuiltRecord(ctx, w.index(t), "SN-1", genealogy.TraceOptions{})
	require.NoError(t, err)
	byComponent := map[string]genealogy.AsBuiltLine{}
	for _, l := range ab.Lines {
		byComponent[l.Component.String()] = l
	}
	assert.Equal(t, genealogy.AsBuiltLine{Component: genealogy.SerialNode("MOTOR-1"), Into: genealogy.SerialNode("SN-1"), Depth: 1,
		Kind: genealogy.EdgeAssemble, Qty: q("1 ea"), Step: "30", Equipment: "ASSY-1", Operator: "bob", At: t0.Add(time.Hour)}, byComponent["serial:MOTOR-1"])
	assert.Equal(t, 1, byComponent["lot:P"].Depth)
	assert.Equal(t, 2, byComponent["lot:R"].Depth)
	assert.Equal(t, "2 kg", byComponent["lot:R"].Qty.String())
	assert.Equal(t, 3, byComponent["supplier-lot:RESIN|ACME|B-R"].Depth)
}

func TestAtEquipment(t *testing.T) {
	w := recallWorld(t)
	use, err := genealogy.AtEquipment(ctx, w.index(t), "CNC-1", t0.Add(2*time.Minute), t0.Add(3*time.Minute))
	require.NoError(t, err)
	assert.Len(t, use.Edges, 3)
	assert.ElementsMatch(t, []genealogy.Node{genealogy.LotNode("R"), genealogy.LotNode("I")}, use.Consumed)
	assert.ElementsMatch(t, []genealogy.Node{genealogy.LotNode("I"), genealogy.LotNode("F1"), genealogy.LotNode("F2")}, use.Produced)

	_, err = genealogy.AtEquipment(ctx, w.index(t), "", t0, t0)
	var ps genealogy.Problems
	require.ErrorAs(t, err, &ps)
	assert.Len(t, ps, 2)
}

// A faulty assembly station: the serials built there and the serials built into them are
// what it produced and consumed, as lots are for a lot process.
func TestAtEquipmentListsAssembledSerials(t *testing.T) {
	w := newWorld(t)
	w.must(genealogy.Serialize(pump, genealogy.Lot{}, []genealogy.Serial{{ID: "UNIT-1"}, {ID: "MOTOR-1"}}, opAt(1)))
	w.must(genealogy.Assemble(w.serials["MOTOR-1"], w.serials["UNIT-1"], genealogy.Op{Equipment: "ASSY-1", At: t0.Add(time.Hour)}))
	use, err := genealogy.AtEquipment(ctx, w.index(t), "ASSY-1", t0, t0.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Len(t, use.Edges, 1)
	assert.Equal(t, []genealogy.Node{genealogy.SerialNode("MOTOR-1")}, use.Consumed)
	assert.Equal(t, []genealogy.Node{genealogy.SerialNode("UNIT-1")}, use.Produced)
}

// An item at the depth limit of a truncated recall: what it passed on was not read, so it
// must not read as an end item still in stock, and its own shipments are listed.
func TestRecallItemAtDepthLimit(t *testing.T) {
	w := recallWorld(t)
	for name, r := range map[string]genealogy.Reader{"walk": w, "index": w.index(t)} {
		rep, err := genealogy.Recall(ctx, r, genealogy.LotNode("R"), genealogy.TraceOptions{MaxDepth: 1})
		require.NoError(t, err, name)
		require.True(t, rep.Truncated, name)
		require.Len(t, rep.Items, 2, name)
		assert.False(t, rep.Items[1].End, "%s: I passed material on to F1 and F2", name)

		rep, err = genealogy.Recall(ctx, r, genealogy.LotNode("I"), genealogy.TraceOptions{MaxDepth: 1})
		require.NoError(t, err, name)
		got := map[string]genealogy.RecallItem{}
		for _, it := range rep.Items {
			got[it.Node.ID] = it
		}
		assert.True(t, got["F1"].End, name)
		require.Len(t, got["F1"].Shipped, 1, "%s: F1 was shipped", name)
		assert.Equal(t, "10 kg", got["F1"].Shipped[0].Contained.String(), name)
	}
}
