// Command quickstart runs a small plant on the in-memory store: it defines a site, a
// material, a routing with an inspection branch, releases a work order from the "ERP",
// runs a lot through every step with scrap and rework, and prints what an MES knows at
// the end: quantities, the event feed for the ERP, a backward trace and the audit chain.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	plant, err := mes.Open(ctx, memstore.New())
	if err != nil {
		return err
	}
	admin := mes.By(mes.Actor{ID: "admin", Kind: mes.Person})
	erp := mes.By(mes.Actor{ID: "sap", Kind: mes.System})
	op := mes.By(mes.Actor{ID: "olga", Name: "Olga", Kind: mes.Person})

	// The plant: a site with three work centers, the product and a component with a lot.
	must(plant.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "PLANT-1", Level: equipment.Site},
		{ID: "CNC", Level: equipment.WorkCenter, Parent: "PLANT-1"},
		{ID: "QC", Level: equipment.WorkCenter, Parent: "PLANT-1"},
		{ID: "ASSY", Level: equipment.WorkCenter, Parent: "PLANT-1"},
	}, admin))
	must(plant.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	must(plant.DefineMaterial(ctx, genealogy.Material{ID: "SEAL-KIT", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindComponent}, admin))
	_, err = plant.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "SK-1", Material: "SEAL-KIT", Qty: units.MustParse("100 ea"), Supplier: "ACME", SupplierLot: "A-77"}, admin)
	must(err)

	// How the pump is made: out-of-spec bores go to rework and come back to inspection.
	rt, err := routing.New("PUMP-100", "C").
		Step("10", "Machine housing", routing.At("CNC"), routing.Run(90*time.Second)).
		Step("20", "Inspect bore", routing.At("QC"), routing.Next(`result.bore > 10.02 ? "R10" : "30"`)).
		Step("30", "Assemble", routing.At("ASSY"), routing.Consume("SEAL-KIT", "1 ea", routing.Backflushed), routing.Then(routing.End)).
		Step("R10", "Re-machine bore", routing.At("CNC"), routing.ReworkEntry(), routing.Then("20")).
		Build()
	must(err)
	_, err = plant.PublishRouting(ctx, "PLANT-1", rt, admin)
	must(err)

	// The ERP sends an order; a retry with the same key changes nothing.
	order := mes.NewWorkOrder{Site: "PLANT-1", Number: "4711", Product: "PUMP-100", Qty: units.MustParse("50 ea"), Due: time.Now().Add(72 * time.Hour)}
	wo, err := plant.CreateWorkOrder(ctx, order, erp, mes.IdempotencyKey("erp-4711"))
	must(err)
	_, err = plant.CreateWorkOrder(ctx, order, erp, mes.IdempotencyKey("erp-4711"))
	must(err)
	_, err = plant.ReleaseWorkOrder(ctx, wo.ID, admin)
	must(err)
	lot, err := plant.StartLot(ctx, wo.ID, units.MustParse("50 ea"), admin)
	must(err)

	// The floor: machine (2 scrapped), inspect (3 to rework), assemble.
	all := units.Quantity{}
	_, err = plant.TrackIn(ctx, lot.ID, "10", all, op, mes.On("CNC"))
	must(err)
	_, err = plant.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("48 ea"),
		Scrap: []routing.ScrapLine{{Qty: units.MustParse("2 ea"), Reason: "CHATTER"}}}, op)
	must(err)
	_, err = plant.TrackIn(ctx, lot.ID, "20", all, op)
	must(err)
	_, err = plant.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("45 ea"), Results: map[string]float64{"bore": 10.01},
		Rework: routing.ReworkLine{Qty: units.MustParse("3 ea"), To: "R10", Reason: "BORE-OVERSIZE"}}, op)
	must(err)
	_, err = plant.TrackIn(ctx, lot.ID, "30", all, op)
	must(err)
	_, err = plant.TrackOut(ctx, lot.ID, "30", routing.Outcome{Good: units.MustParse("45 ea")}, op)
	must(err)

	wo, err = plant.WorkOrder(ctx, wo.ID)
	must(err)
	fmt.Printf("work order %s: %s, produced %s, scrapped %s of %s\n", wo.Number, wo.Status, wo.Produced, wo.Scrapped, wo.Qty)
	rework, err := plant.Lot(ctx, lot.ID+"-R1")
	must(err)
	fmt.Printf("rework lot %s: %s waiting at step R10\n", rework.ID, rework.OnHand)

	fmt.Println("\nevents for the ERP:")
	evs, err := plant.ReadEvents(ctx, 0, 0)
	must(err)
	for _, e := range evs {
		switch e.Type {
		case "lot.finished", "lot.scrapped", "operation.completed", "lot.split":
			fmt.Printf("  #%d %s %s\n", e.Position, e.Type, e.Data)
		}
	}

	trace, err := plant.TraceBackward(ctx, genealogy.LotNode(lot.ID), genealogy.TraceOptions{})
	must(err)
	fmt.Println("\nwhat went into", lot.ID+":")
	for _, e := range trace.Edges {
		fmt.Printf("  %s %s -> %s (%s, step %s)\n", e.Kind, e.From, e.To, e.Qty, e.Step)
	}

	n, err := plant.VerifyAudit(ctx)
	must(err)
	fmt.Printf("\naudit trail: %d records, hash chain verified\n", n)
	return nil
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
