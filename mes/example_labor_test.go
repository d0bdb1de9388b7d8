package mes_test

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

// stepClock is a clock an example moves by hand.
type stepClock struct{ t time.Time }

func (c *stepClock) Now() time.Time { return c.t }

// A work order's labor efficiency and cost, through the engine: Anna clocks in, sets up
// step 10, tracks the lot in (which starts her run labor and the machine's run time) and
// out (which stops both), takes a break and clocks out. The report compares her time with
// the routing's standard (30 min setup + 90 s per piece) and prices it.
func Example_workOrderLaborEfficiencyAndCost() {
	ctx := context.Background()
	clock := &stepClock{t: time.Date(2026, 5, 4, 6, 0, 0, 0, time.UTC)}
	plant, _ := mes.Open(ctx, memstore.New(), mes.WithClock(clock))
	admin := mes.By(mes.Actor{ID: "admin", Kind: mes.Person})
	anna := mes.By(mes.Actor{ID: "anna", Name: "Anna", Kind: mes.Person})

	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(plant.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "PLANT-1", Level: equipment.Site},
		{ID: "CNC", Level: equipment.WorkCenter, Parent: "PLANT-1"},
		{ID: "CNC-1", Level: equipment.WorkUnit, Parent: "CNC"},
	}, admin))
	must(plant.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	rt, err := routing.New("PUMP-100", "A").
		Step("10", "Machine housing", routing.At("CNC"), routing.Setup(30*time.Minute), routing.Run(90*time.Second)).
		Build()
	must(err)
	_, err = plant.PublishRouting(ctx, "PLANT-1", rt, admin)
	must(err)
	_, err = plant.DefinePerson(ctx, "PLANT-1", labor.Person{ID: "anna", Name: "Anna", Rate: decimal.RequireFromString("42.00")}, admin)
	must(err)

	wo, err := plant.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "PLANT-1", Number: "4711", Product: "PUMP-100", Qty: units.MustParse("50 ea")}, admin)
	must(err)
	_, err = plant.ReleaseWorkOrder(ctx, wo.ID, admin)
	must(err)
	lot, err := plant.StartLot(ctx, wo.ID, units.MustParse("50 ea"), admin)
	must(err)

	at := func(h, m int) { clock.t = time.Date(2026, 5, 4, h, m, 0, 0, time.UTC) }
	_, err = plant.ClockIn(ctx, "", anna)
	must(err)
	_, err = plant.StartLabor(ctx, "", mes.Work{Lot: lot.ID, Step: "10", Activity: labor.Setup}, anna)
	must(err)
	at(6, 40)
	_, err = plant.StopLabor(ctx, "", mes.Work{Lot: lot.ID, Step: "10"}, anna)
	must(err)
	_, err = plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, anna, mes.On("CNC-1"))
	must(err)
	at(8, 0)
	_, err = plant.StartBreak(ctx, "", anna)
	must(err)
	at(8, 15)
	_, err = plant.EndBreak(ctx, "", anna)
	must(err)
	at(9, 0)
	_, err = plant.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("48 ea"),
		Scrap: []routing.ScrapLine{{Qty: units.MustParse("2 ea"), Reason: "CHATTER"}}}, anna, mes.On("CNC-1"))
	must(err)
	at(9, 30)
	_, err = plant.ClockOut(ctx, "", anna)
	must(err)

	rep, err := plant.WorkOrderLabor(ctx, wo.ID, labor.Costing{
		OverheadRate: decimal.RequireFromString("12.00"),
		MachineRate:  map[string]decimal.Decimal{"CNC-1": decimal.RequireFromString("80.00")},
	})
	must(err)
	eff, _ := rep.Total.Efficiency()
	fmt.Printf("standard %v, actual labor %v, machine %v, efficiency %s%%\n",
		rep.Total.Standard, rep.Total.Actual, rep.Total.Machine, eff.Shift(2).StringFixed(1))
	for _, s := range rep.Labor {
		fmt.Printf("%s %s %v\n", s.Person, s.Activity, s.Time)
	}
	fmt.Printf("cost: labor %s + overhead %s + machine %s = %s\n",
		rep.Cost.Labor.StringFixed(2), rep.Cost.Overhead.StringFixed(2), rep.Cost.Machine.StringFixed(2), rep.Cost.Total().StringFixed(2))
	// Output:
	// standard 1h45m0s, actual labor 2h45m0s, machine 2h20m0s, efficiency 63.6%
	// anna setup 40m0s
	// anna run 1h20m0s
	// anna run 45m0s
	// cost: labor 115.50 + overhead 33.00 + machine 186.67 = 335.17
}
