package mes_test

import (
	"context"
	"fmt"
	"time"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

// The main flow of an embedding: define the plant, publish a routing, take an order from
// the ERP, run a lot, and read the dispatch list and the event feed.
func Example() {
	ctx := context.Background()
	plant, _ := mes.Open(ctx, memstore.New(), mes.WithAuthorizer(mes.Roles{"planner": {"*"}}))
	by := mes.By(mes.Actor{ID: "pat", Kind: mes.Person, Roles: []string{"planner"}})
	_ = plant.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "PLANT-1", Level: equipment.Site}, {ID: "CNC", Level: equipment.WorkCenter, Parent: "PLANT-1"}}, by)
	_ = plant.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, by)
	rt, err := routing.New("PUMP-100", "C").
		Step("10", "Machine housing", routing.At("CNC"), routing.Run(90*time.Second)).
		Step("20", "Inspect bore", routing.At("CNC"), routing.Next(`result.bore > 10.02 ? "10" : "END"`)).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = plant.PublishRouting(ctx, "PLANT-1", rt, by)
	wo, _ := plant.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "PLANT-1", Number: "4711",
		Product: "PUMP-100", Qty: units.MustParse("50 ea")}, by, mes.IdempotencyKey("erp-4711"))
	wo, _ = plant.ReleaseWorkOrder(ctx, wo.ID, by)
	lot, _ := plant.StartLot(ctx, wo.ID, units.MustParse("50 ea"), by)
	list, _ := plant.DispatchList(ctx, "PLANT-1", "CNC")
	fmt.Println("next at CNC:", list.Ranked[0].Candidate.Lot, "step", list.Ranked[0].Candidate.Step)

	_, _ = plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, by, mes.On("CNC"))
	lot, err = plant.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("48 ea"),
		Scrap: []routing.ScrapLine{{Qty: units.MustParse("2 ea"), Reason: "CHATTER"}}}, by)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := lot.Execution.Progress("20")
	fmt.Println("routing revision:", wo.RoutingRevision, "| lot on hand:", lot.OnHand, "| waiting at 20:", p.Waiting)

	evs, _ := plant.ReadEvents(ctx, 0, 0)
	for _, e := range evs {
		if c, ok := e.Payload.(*mes.LotTrackedOut); ok {
			fmt.Println("confirmation for the ERP: step", c.Step, "good", c.Good, "scrap", c.Scrap[0].Qty, c.Scrap[0].Reason)
		}
	}
	// Output:
	// next at CNC: PLANT-1-4711-1 step 10
	// routing revision: C | lot on hand: 48 ea | waiting at 20: 48 ea
	// confirmation for the ERP: step 10 good 48 ea scrap 2 ea CHATTER
}

// A hold on a lot blocks track-in; the error names the hold and its reason.
func ExamplePlant_PlaceHold() {
	ctx := context.Background()
	plant, _ := mes.Open(ctx, memstore.New())
	by := mes.By(mes.Actor{ID: "quinn", Kind: mes.Person})
	_ = plant.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "PLANT-1", Level: equipment.Site}, {ID: "CNC", Level: equipment.WorkCenter, Parent: "PLANT-1"}}, by)
	_ = plant.DefineMaterial(ctx, genealogy.Material{ID: "P", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, by)
	rt, _ := routing.New("P", "A").Step("10", "Machine", routing.At("CNC")).Build()
	_, _ = plant.PublishRouting(ctx, "PLANT-1", rt, by)
	wo, _ := plant.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "PLANT-1", Number: "1", Product: "P", Qty: units.MustParse("5 ea")}, by)
	_, _ = plant.ReleaseWorkOrder(ctx, wo.ID, by)
	lot, _ := plant.StartLot(ctx, wo.ID, units.MustParse("5 ea"), by)

	hold, _ := plant.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnLot, ID: lot.ID}, "suspect coolant", by)
	_, err := plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, by)
	fmt.Println(err != nil, errorsIs(err, mes.ErrOnHold))
	_, _ = plant.ReleaseHold(ctx, hold.ID, by, mes.Reason("coolant tested OK"))
	_, err = plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, by)
	fmt.Println(err)
	// Output:
	// true true
	// <nil>
}
