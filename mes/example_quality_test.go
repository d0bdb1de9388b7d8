package mes_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

// An inspection that fails holds the lot: step 20 inspects the bore of the first piece
// with plan BORE, whose reaction holds the lot on any out-of-spec result. The hold blocks
// the track-out until someone with the authority releases it.
func ExamplePlant_RecordInspection() {
	ctx := context.Background()
	clock := &stepClock{t: time.Date(2026, 5, 4, 6, 0, 0, 0, time.UTC)}
	plant, _ := mes.Open(ctx, memstore.New(), mes.WithClock(clock))
	admin := mes.By(mes.Actor{ID: "admin", Kind: mes.Person})
	olga := mes.By(mes.Actor{ID: "olga", Name: "Olga", Kind: mes.Person})
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(plant.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "PLANT-1", Level: equipment.Site},
		{ID: "CNC", Level: equipment.WorkCenter, Parent: "PLANT-1"},
		{ID: "QC", Level: equipment.WorkCenter, Parent: "PLANT-1"},
	}, admin))
	must(plant.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	rt, err := routing.New("PUMP-100", "A").
		Step("10", "Machine housing", routing.At("CNC")).
		Step("20", "Inspect bore", routing.At("QC"), routing.Inspect("BORE")).
		Build()
	must(err)
	_, err = plant.PublishRouting(ctx, "PLANT-1", rt, admin)
	must(err)
	limit := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }
	_, err = plant.DefineInspectionPlan(ctx, "PLANT-1", quality.Plan{
		ID: "BORE",
		Characteristics: []quality.Characteristic{{Name: "bore", Kind: quality.Variable, Nominal: limit("10.000"),
			Spec: quality.Spec{LSL: limit("9.950"), USL: limit("10.050")}, Unit: "mm", Decimals: 3}},
		Sampling:  quality.SamplingPlan{Method: quality.FirstPiece},
		Reactions: []quality.Reaction{{Actions: []quality.Action{{Kind: quality.HoldLot}}}},
	}, admin)
	must(err)

	wo, err := plant.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "PLANT-1", Number: "4711", Product: "PUMP-100", Qty: units.MustParse("10 ea")}, admin)
	must(err)
	_, err = plant.ReleaseWorkOrder(ctx, wo.ID, admin)
	must(err)
	lot, err := plant.StartLot(ctx, wo.ID, units.MustParse("10 ea"), admin)
	must(err)
	_, err = plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, olga)
	must(err)
	_, err = plant.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("10 ea")}, olga)
	must(err)
	_, err = plant.TrackIn(ctx, lot.ID, "20", units.Quantity{}, olga)
	must(err)

	_, err = plant.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("10 ea")}, olga)
	fmt.Println("before inspecting:", errors.Is(err, mes.ErrInspectionMissing))

	insp, err := plant.RecordInspection(ctx, lot.ID, "20", []quality.Result{
		{Characteristic: "bore", Value: limit("10.081"), Serial: "S1"},
	}, olga)
	must(err)
	f := insp.Evaluation.OutOfSpec[0]
	fmt.Println("finding:", f.Characteristic, f.Value.Decimal, f.Bound, f.Limit.Decimal)
	fmt.Println("hold:", insp.Holds[0].Target, "-", insp.Holds[0].Reason)

	_, err = plant.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("10 ea")}, olga)
	fmt.Println("after inspecting, on hold:", errors.Is(err, mes.ErrOnHold))
	// Output:
	// before inspecting: true
	// finding: bore 10.081 above-usl 10.05
	// hold: lot PLANT-1-4711-1 - inspection plan BORE: bore 10.081 above USL 10.05 (S1)
	// after inspecting, on hold: true
}
