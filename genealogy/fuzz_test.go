package genealogy_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/units"
)

// bytesIn hands out fuzz bytes; past the end it gives zeros.
type bytesIn struct {
	b []byte
	i int
}

func (in *bytesIn) next() int {
	if in.i >= len(in.b) {
		return 0
	}
	in.i++
	return int(in.b[in.i-1])
}

// FuzzGraphOps decodes the input into a sequence of operations on a small plant and checks
// after each one: no panic, a failed operation returns a Problems error and no change, every
// lot's on hand equals its edges' balance and is never negative, total quantity changes only
// by receive/produce/scrap/ship/consume/serialize/adjust edges, every lot-to-lot edge climbs
// in level, and the Index traces every lot without finding a cycle.
func FuzzGraphOps(f *testing.F) {
	f.Add([]byte{0, 0, 10, 1, 1, 5, 2, 0, 1, 3})
	f.Add([]byte{0, 0, 40, 0, 1, 20, 3, 0, 2, 4, 4, 1, 0, 1, 2, 1, 2, 5, 1, 2, 6, 0, 9})
	f.Add([]byte{0, 1, 7, 1, 0, 3, 10, 1, 0, 10, 1, 1, 11, 0, 1, 12, 0, 0, 2, 8, 0, 1, 2, 0, 1, 2, 7, 2, 5, 9, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &bytesIn{b: data}
		w := newWorld(t)
		idx := &genealogy.Index{}
		mats := []genealogy.Material{resin, pump}
		qtyUnits := [][]units.Unit{{"kg", "g"}, {"ea", "dozen"}}
		var lotIDs, serialIDs []string
		pickLot := func() genealogy.Lot {
			if len(lotIDs) == 0 {
				return genealogy.Lot{ID: "none", Status: genealogy.Available}
			}
			return w.lots[lotIDs[in.next()%len(lotIDs)]]
		}
		pickSerial := func() genealogy.Serial {
			if len(serialIDs) == 0 {
				return genealogy.Serial{ID: "none"}
			}
			return w.serials[serialIDs[in.next()%len(serialIDs)]]
		}
		qty := func(m int) units.Quantity {
			v := in.next()%40 - 3 // some zero and negative quantities
			u := qtyUnits[m][in.next()%2]
			if u == "g" {
				v *= 250
			}
			if in.next()%16 == 0 {
				u = qtyUnits[1-m][0] // wrong dimension
			}
			q, _ := units.FromInt(int64(v), u)
			return q
		}
		newID := func(prefix string) string { return fmt.Sprintf("%s%d", prefix, len(lotIDs)+len(serialIDs)) }
		for step := 0; step < 64 && in.i < len(in.b); step++ {
			op := genealogy.Op{WorkOrder: "WO", Step: "10", Equipment: "EQ", Operator: "op", Reason: "R",
				At: t0.Add(time.Duration(step) * time.Hour), Expiry: genealogy.ExpiryPolicy(in.next() % 3)}
			m := in.next() % 2
			var ch genealogy.Change
			var err error
			switch in.next() % 13 {
			case 0:
				ch, err = genealogy.Receive(mats[m], genealogy.Lot{ID: newID("L"), Supplier: "S", SupplierLot: fmt.Sprint(in.next() % 3)}, qty(m), op)
			case 1:
				target := genealogy.Lot{ID: newID("L")}
				if in.next()%2 == 0 {
					target = pickLot()
				}
				ch, err = genealogy.Produce(mats[m], target, qty(m), op)
			case 2:
				from, into := pickLot(), pickLot()
				ch, err = genealogy.Consume(from, into, qty(m), op)
			case 3:
				parts := make([]genealogy.Part, in.next()%3)
				for i := range parts {
					parts[i] = genealogy.Part{ID: newID("L") + fmt.Sprint("-", i), Qty: qty(m)}
				}
				ch, err = genealogy.Split(pickLot(), parts, op)
			case 4:
				target := genealogy.Lot{ID: newID("L")}
				if in.next()%2 == 0 {
					target = pickLot()
				}
				ch, err = genealogy.Merge(target, []genealogy.Lot{pickLot(), pickLot()}[:1+in.next()%2], op)
			case 5:
				ch, err = genealogy.Ship(pickLot(), genealogy.Shipment{ID: fmt.Sprint("SH", in.next()%3), Customer: "C"}, qty(m), op)
			case 6:
				ch, err = genealogy.Scrap(pickLot(), qty(m), op)
			case 7:
				d := qty(m)
				if in.next()%2 == 0 {
					d = d.Neg()
				}
				ch, err = genealogy.Adjust(pickLot(), d, op)
			case 8: // a hold, quarantine or release from the quality side
				if l := pickLot(); l.ID != "none" {
					l.Status = []genealogy.Status{genealogy.OnHold, genealogy.Quarantined, genealogy.Available}[in.next()%3]
					w.lots[l.ID] = l
				}
				continue
			case 9:
				if l := pickLot(); l.ID != "none" {
					l.Expiry = t0.Add(time.Duration(in.next()) * time.Hour)
					w.lots[l.ID] = l
				}
				continue
			case 10:
				ch, err = genealogy.Serialize(pump, pickLot(), []genealogy.Serial{{ID: newID("SN")}, {ID: newID("SN") + "b"}}[:1+in.next()%2], op)
			case 11:
				ch, err = genealogy.Assemble(pickSerial(), pickSerial(), op)
			case 12:
				ch, err = genealogy.ConsumeIntoSerial(pickLot(), pickSerial(), qty(m), op)
			}
			if err != nil {
				var ps genealogy.Problems
				require.True(t, errors.As(err, &ps), "%v", err)
				require.Zero(t, ch)
				continue
			}
			for _, l := range ch.Lots {
				if _, ok := w.lots[l.ID]; !ok {
					lotIDs = append(lotIDs, l.ID)
				}
			}
			for _, s := range ch.Serials {
				if _, ok := w.serials[s.ID]; !ok {
					serialIDs = append(serialIDs, s.ID)
				}
			}
			before := totals(t, w)
			w.apply(ch)
			require.NoError(t, idx.Append(ch.Edges...))
			after := totals(t, w)
			for dim, b := range before {
				moved := b
				for _, e := range ch.Edges {
					moved = mustAdd(t, moved, flow(t, e, dim))
				}
				require.True(t, moved.Equal(after[dim]), "%s: %s + edges != %s", dim, b, after[dim])
			}
			w.checkBalances(t)
			for _, e := range w.edges {
				if e.From.Kind == genealogy.NodeLot && e.To.Kind == genealogy.NodeLot {
					require.LessOrEqual(t, w.lots[e.From.ID].Level, w.lots[e.To.ID].Level, "%s→%s", e.From, e.To)
				}
			}
		}
		for _, id := range lotIDs {
			_, err := idx.TraceBackward(ctx, genealogy.LotNode(id), genealogy.TraceOptions{})
			require.NoError(t, err)
			_, err = genealogy.Recall(ctx, idx, genealogy.LotNode(id), genealogy.TraceOptions{})
			require.NoError(t, err)
		}
	})
}

// totals sums the on hand of all lots per dimension, in the dimension's base unit.
func totals(t *testing.T, w *world) map[units.Dimension]units.Quantity {
	out := map[units.Dimension]units.Quantity{units.Mass: q("0 g"), units.Count: q("0 ea")}
	for _, l := range w.lots {
		d, err := units.DimensionOf(l.OnHand.Unit())
		require.NoError(t, err)
		out[d] = mustAdd(t, out[d], l.OnHand)
	}
	return out
}

// flow is what edge e adds to the plant's total of dimension dim: receive, produce and
// found stock add; consume, serialize, ship, scrap and lost stock remove (a numbered unit
// leaves the lots); split and merge only move.
func flow(t *testing.T, e genealogy.Edge, dim units.Dimension) units.Quantity {
	d, err := units.DimensionOf(e.Qty.Unit())
	require.NoError(t, err)
	if d != dim || e.Kind == genealogy.EdgeAssemble {
		return units.Quantity{}
	}
	switch {
	case e.From.Kind == genealogy.NodeLot && e.To.Kind == genealogy.NodeLot && e.Kind != genealogy.EdgeConsume:
		return units.Quantity{} // split, merge
	case e.To.Kind == genealogy.NodeLot && e.Kind != genealogy.EdgeConsume:
		return e.Qty // receive, produce, adjust up
	case e.From.Kind == genealogy.NodeLot:
		return e.Qty.Neg() // consume, ship, scrap, adjust down
	}
	return units.Quantity{}
}

func mustAdd(t *testing.T, a, b units.Quantity) units.Quantity {
	r, err := a.Add(b)
	require.NoError(t, err)
	return r
}
