package genealogy_test

import (
	"context"
	"fmt"
	"time"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/units"
)

// plant records a small history into an Index the way the engine does: run an operation,
// persist its Change, append its edges.
func examplePlant() *genealogy.Index {
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	resin := genealogy.Material{ID: "RESIN", Unit: "kg", Tracking: genealogy.TrackLot, Kind: genealogy.KindRaw}
	housing := genealogy.Material{ID: "HOUSING", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}
	idx := &genealogy.Index{}
	lots := map[string]genealogy.Lot{}
	record := func(ch genealogy.Change, err error) {
		if err != nil {
			panic(err) // examples only: the engine returns the error
		}
		for _, l := range ch.Lots {
			lots[l.ID] = l
		}
		if err := idx.Append(ch.Edges...); err != nil {
			panic(err)
		}
	}
	op := genealogy.Op{WorkOrder: "WO-4711", Step: "10", Equipment: "MOLD-2", Operator: "ann", At: at}
	record(genealogy.Receive(resin, genealogy.Lot{ID: "R-1", Supplier: "ACME", SupplierLot: "A-77"}, units.MustParse("100 kg"), op))
	record(genealogy.Produce(housing, genealogy.Lot{ID: "H-1"}, units.MustParse("40 ea"), op))
	record(genealogy.Produce(housing, genealogy.Lot{ID: "H-2"}, units.MustParse("60 ea"), op))
	record(genealogy.Consume(lots["R-1"], lots["H-1"], units.MustParse("20 kg"), op))
	record(genealogy.Consume(lots["R-1"], lots["H-2"], units.MustParse("30 kg"), op))
	record(genealogy.Ship(lots["H-1"], genealogy.Shipment{ID: "SH-9", Customer: "Pumpworks"}, units.MustParse("40 ea"), op))
	return idx
}

func ExampleTraceBackward() {
	idx := examplePlant()
	t, err := genealogy.TraceBackward(context.Background(), idx, genealogy.LotNode("H-1"), genealogy.TraceOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range t.Nodes {
		fmt.Println(n.Depth, n.Node)
	}
	for _, e := range t.Edges {
		fmt.Println(e.Kind, e.From, "→", e.To, e.Qty, e.WorkOrder, e.Step, e.Equipment, e.Operator)
	}
	// Output:
	// 0 lot:H-1
	// 1 lot:R-1
	// 2 supplier-lot:RESIN|ACME|A-77
	// consume lot:R-1 → lot:H-1 20 kg WO-4711 10 MOLD-2 ann
	// produce outside → lot:H-1 40 ea WO-4711 10 MOLD-2 ann
	// receive supplier-lot:RESIN|ACME|A-77 → lot:R-1 100 kg WO-4711 10 MOLD-2 ann
}

func ExampleRecall() {
	idx := examplePlant()
	rep, err := genealogy.Recall(context.Background(), idx, genealogy.SupplierLotNode("RESIN", "ACME", "A-77"), genealogy.TraceOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("source", rep.Source)
	for _, it := range rep.Items {
		fmt.Println(it.Node, "contains", it.Contained, "end item:", it.End)
		for _, s := range it.Shipped {
			fmt.Println("  shipped", s.Qty, "in", s.Shipment, "carrying", s.Contained)
		}
	}
	// Output:
	// source 100 kg
	// lot:R-1 contains 100 kg end item: false
	// lot:H-2 contains 30 kg end item: true
	// lot:H-1 contains 20 kg end item: true
	//   shipped 40 ea in SH-9 carrying 20 kg
}
