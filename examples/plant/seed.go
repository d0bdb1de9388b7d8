package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

// site is the demo plant's site.
const site = "PLANT-1"

// people is the demo roster: who may do what is shown by their certifications.
var people = []labor.Person{
	{ID: "olga", Name: "Olga Berg", Rate: decimal.RequireFromString("41.50")},
	{ID: "ben", Name: "Ben Okafor", Rate: decimal.RequireFromString("38.00")},
	{ID: "carla", Name: "Carla Ruiz", Rate: decimal.RequireFromString("39.00")},
	{ID: "sam", Name: "Sam Lee", Roles: []string{"supervisor"}, Rate: decimal.RequireFromString("52.00")},
}

// actor returns the actor of a person of the roster (the host would authenticate them).
func actor(id string) mes.Actor {
	for _, p := range people {
		if p.ID == id {
			return mes.Actor{ID: p.ID, Name: p.Name, Kind: mes.Person}
		}
	}
	return mes.Actor{ID: id, Kind: mes.Person}
}

// receipts are the supplier lots the plant received: where recalls start.
var receipts = []mes.Receipt{
	{Site: site, Lot: "CAST-0421", Material: "CASTING-H", Qty: units.MustParse("60 ea"), Supplier: "Foundry Nord", SupplierLot: "FN-2291"},
	{Site: site, Lot: "CAST-0502", Material: "CASTING-H", Qty: units.MustParse("100 ea"), Supplier: "Foundry Nord", SupplierLot: "FN-2305"},
	{Site: site, Lot: "SEAL-0388", Material: "SEAL-KIT", Qty: units.MustParse("150 ea"), Supplier: "ACME Seals", SupplierLot: "A-77"},
	{Site: site, Lot: "SEAL-0410", Material: "SEAL-KIT", Qty: units.MustParse("200 ea"), Supplier: "ACME Seals", SupplierLot: "A-81"},
	{Site: site, Lot: "BRASS-0117", Material: "BRASS-BAR", Qty: units.MustParse("80 kg"), Supplier: "Kupfer AG", SupplierLot: "KB-5510"},
}

// serials are the serial numbers of the first pumps.
var serials = []string{"PMP-100-00001", "PMP-100-00002", "PMP-100-00003", "PMP-100-00004", "PMP-100-00005"}

// machines returns the simulated work units with their process values.
func machines() []*machine {
	return []*machine{
		{id: "CNC-1", cycle: 75 * time.Second, tag: "spindle.load", unit: "%", nominal: 62, spread: 6},
		{id: "CNC-2", cycle: 75 * time.Second, tag: "spindle.load", unit: "%", nominal: 58, spread: 7},
		{id: "CMM-1", cycle: 40 * time.Second, tag: "probe.temp", unit: "°C", nominal: 20.1, spread: 0.2},
		{id: "ASSY-1", cycle: 50 * time.Second, tag: "torque", unit: "N·m", nominal: 12.5, spread: 0.4},
		{id: "PRESS-1", cycle: 18 * time.Second, tag: "force", unit: "kN", nominal: 84, spread: 2.5},
	}
}

// seeder builds the demo plant: it runs the engine's commands as the people of the plant
// would have, at instants of the last four hours, with the machines running alongside.
type seeder struct {
	ctx   context.Context
	plant *mes.Plant
	clock *simClock
	sim   *simulator
	now   time.Time // the instant the plant goes live
	err   error
}

// ok records the first error of the seed's commands; a seed that failed once reports it.
func (s *seeder) ok(_ any, err error) {
	if err != nil && s.err == nil {
		s.err = err
	}
}

// check is ok for commands that return only an error.
func (s *seeder) check(err error) { s.ok(nil, err) }

// at moves the plant to instant now+d (d is negative: the past), running the machines up to
// it, so their counts land on the operations tracked in at the time.
func (s *seeder) at(d time.Duration) {
	t := s.now.Add(d)
	s.clock.Set(t)
	s.check(s.sim.runTo(s.ctx, t))
}

// seed builds the demo plant and leaves the clock at now.
func seed(ctx context.Context, plant *mes.Plant, clock *simClock, sim *simulator, now time.Time) error {
	s := &seeder{ctx: ctx, plant: plant, clock: clock, sim: sim, now: now}
	admin := mes.By(mes.Actor{ID: "admin", Name: "Plant admin", Kind: mes.Person})
	erp := mes.By(mes.Actor{ID: "erp", Name: "ERP", Kind: mes.System})
	by := func(id, where string) []mes.CommandOption {
		return []mes.CommandOption{mes.By(actor(id)), mes.On(where)}
	}
	qty := units.MustParse
	clock.Set(now.Add(-4 * time.Hour))

	// The plant: four work centers with their machines.
	s.check(plant.DefineEquipment(ctx, []equipment.Equipment{
		{ID: site, Name: "Riverside plant", Level: equipment.Site},
		{ID: "CNC", Name: "CNC machining", Level: equipment.WorkCenter, Parent: site},
		{ID: "CNC-1", Name: "DMG Mori NLX 2500", Level: equipment.WorkUnit, Parent: "CNC", IdealCycleTime: 75 * time.Second},
		{ID: "CNC-2", Name: "Haas ST-20", Level: equipment.WorkUnit, Parent: "CNC", IdealCycleTime: 75 * time.Second},
		{ID: "QC", Name: "Quality lab", Level: equipment.WorkCenter, Parent: site},
		{ID: "CMM-1", Name: "Zeiss Contura CMM", Level: equipment.WorkUnit, Parent: "QC", IdealCycleTime: 40 * time.Second},
		{ID: "ASSY", Name: "Assembly", Level: equipment.WorkCenter, Parent: site},
		{ID: "ASSY-1", Name: "Assembly cell 1", Level: equipment.WorkUnit, Parent: "ASSY", IdealCycleTime: 50 * time.Second},
		{ID: "PRESS", Name: "Forming", Level: equipment.WorkCenter, Parent: site},
		{ID: "PRESS-1", Name: "Schuler 250 t press", Level: equipment.WorkUnit, Parent: "PRESS", IdealCycleTime: 18 * time.Second},
	}, admin))
	s.at(-4 * time.Hour) // the machines power on

	// Materials and supplier lots (the roots of every recall).
	for _, m := range []genealogy.Material{
		{ID: "PUMP-100", Name: "Centrifugal pump", Unit: "ea", Tracking: genealogy.TrackSerial, Kind: genealogy.KindProduct},
		{ID: "VALVE-200", Name: "Brass ball valve", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct},
		{ID: "CASTING-H", Name: "Pump housing casting", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindComponent},
		{ID: "SEAL-KIT", Name: "Seal kit", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindComponent},
		{ID: "BRASS-BAR", Name: "Brass bar CW617N", Unit: "kg", Tracking: genealogy.TrackLot, Kind: genealogy.KindRaw},
	} {
		s.check(plant.DefineMaterial(ctx, m, admin))
	}
	for _, r := range receipts {
		s.ok(plant.ReceiveLot(ctx, r, admin))
	}
	s.ok(plant.PlaceHold(ctx, site, quality.Target{Kind: quality.OnMaterial, ID: "SEAL-KIT", SupplierLot: "A-81"},
		"incoming inspection pending: hardness certificate missing", by("sam", "QC")...))

	// People, qualifications and certifications: Carla's CNC certification expired yesterday.
	for _, p := range people {
		s.ok(plant.DefinePerson(ctx, site, p, admin))
	}
	s.check(plant.DefineQualification(ctx, site, labor.Qualification{ID: "CNC-OP", Name: "CNC operation"}, 1, admin))
	s.check(plant.DefineQualification(ctx, site, labor.Qualification{ID: "QC-INSP", Name: "Bore gauge inspection"}, 1, admin))
	year := 365 * 24 * time.Hour
	for _, c := range []labor.Certification{
		{Person: "olga", Qualification: "CNC-OP", Level: 2, Issued: now.Add(-2 * year), Expires: now.Add(year)},
		{Person: "olga", Qualification: "QC-INSP", Level: 1, Issued: now.Add(-year)},
		{Person: "carla", Qualification: "QC-INSP", Level: 2, Issued: now.Add(-year)},
		{Person: "carla", Qualification: "CNC-OP", Level: 1, Issued: now.Add(-2 * year), Expires: now.Add(-24 * time.Hour)},
		{Person: "sam", Qualification: "CNC-OP", Level: 2, Issued: now.Add(-3 * year)},
		{Person: "sam", Qualification: "QC-INSP", Level: 2, Issued: now.Add(-3 * year)},
	} {
		s.ok(plant.Certify(ctx, c, admin))
	}
	for _, p := range people {
		s.ok(plant.ClockIn(ctx, p.ID, admin))
	}

	// How the products are made. The pump's bore is inspected; out-of-spec bores hold the lot
	// and open a non-conformance, and rework goes back to the CNC and to inspection again.
	pump, err := routing.New("PUMP-100", "A").
		Step("10", "Machine housing", routing.At("CNC"), routing.Qualified("CNC-OP"), routing.Setup(20*time.Minute), routing.Run(90*time.Second),
			routing.Consume("CASTING-H", "1 ea", routing.Backflushed), routing.Param("program", "O4711"), routing.SetupFamily("HOUSING"),
			routing.Instructions("Clamp the casting in fixture F-12 (datum A towards the chuck). Load program O4711, "+
				"check tool T7 wear before the first piece, deburr the bore edge by hand.", "https://example.com/wi/PUMP-100-10")).
		Step("20", "Inspect bore", routing.At("QC"), routing.Qualified("QC-INSP"), routing.Inspect("BORE"), routing.Run(30*time.Second),
			routing.Instructions("Measure bore diameter and depth of the first piece on the CMM (program BORE-3). "+
				"Bore 10.000 ±0.020 mm, depth 42.00 ±0.10 mm. Send oversize bores to rework (step R10).", "")).
		Step("30", "Assemble pump", routing.At("ASSY"), routing.Run(60*time.Second), routing.Consume("SEAL-KIT", "1 ea", routing.Backflushed),
			routing.Instructions("Press the seal kit in with tool P-3, torque the cover screws to 12.5 N·m crosswise.", ""), routing.Then(routing.End)).
		Step("R10", "Re-machine bore", routing.At("CNC"), routing.Qualified("CNC-OP"), routing.ReworkEntry(), routing.Run(60*time.Second),
			routing.Instructions("Finish-bore with tool T9 to 10.000 mm; then back to inspection.", ""), routing.Then("20")).
		Build()
	if err != nil {
		return err
	}
	valve, err := routing.New("VALVE-200", "A").
		Step("10", "Press body", routing.At("PRESS"), routing.Run(20*time.Second), routing.Consume("BRASS-BAR", "0.25 kg", routing.Backflushed),
			routing.Instructions("Hot-press the body in die D-200; parts must be free of flash.", "")).
		Step("20", "Assemble valve", routing.At("ASSY"), routing.Run(45*time.Second), routing.Consume("SEAL-KIT", "2 ea", routing.Backflushed),
			routing.Instructions("Insert ball and two seals, fit the stem, leak-test at 6 bar.", "")).
		Build()
	if err != nil {
		return err
	}
	s.ok(plant.PublishRouting(ctx, site, pump, admin))
	s.ok(plant.PublishRouting(ctx, site, valve, admin))
	nominal := func(v string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(v)) }
	s.ok(plant.DefineInspectionPlan(ctx, site, quality.Plan{
		ID: "BORE",
		Characteristics: []quality.Characteristic{
			{Name: "bore", Kind: quality.Variable, Nominal: nominal("10.000"), Spec: quality.Spec{LSL: nominal("9.980"), USL: nominal("10.020")}, Unit: "mm", Decimals: 3},
			{Name: "depth", Kind: quality.Variable, Nominal: nominal("42.00"), Spec: quality.Spec{LSL: nominal("41.90"), USL: nominal("42.10")}, Unit: "mm", Decimals: 2},
		},
		Sampling:  quality.SamplingPlan{Method: quality.FirstPiece},
		Reactions: []quality.Reaction{{Actions: []quality.Action{{Kind: quality.HoldLot}, {Kind: quality.OpenNonConformance}}}},
	}, admin))
	s.check(plant.SetDispatchRule(ctx, "CNC", "LATE_FIRST", "priority + (dueInHours < 0 ? -10 : dueInHours / 24)", admin))

	// Orders from the ERP, with a history on the floor.
	order := func(number, product, q string, due time.Duration, prio int, customer string) mes.WorkOrder {
		wo, err := plant.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: site, Number: number, Product: product, Qty: qty(q),
			Due: now.Add(due), Priority: prio, Customer: customer}, erp, mes.IdempotencyKey("erp-"+number))
		s.check(err)
		s.ok(plant.ReleaseWorkOrder(ctx, wo.ID, by("sam", "office")...))
		return wo
	}
	start := func(wo mes.WorkOrder, q string) string {
		lot, err := plant.StartLot(ctx, wo.ID, qty(q), by("sam", "office")...)
		s.check(err)
		return lot.ID
	}
	in := func(lot, step, who, where string) {
		s.ok(plant.TrackIn(ctx, lot, step, units.Quantity{}, by(who, where)...))
	}
	out := func(lot, step, who, where string, o routing.Outcome) {
		s.ok(plant.TrackOut(ctx, lot, step, o, by(who, where)...))
	}
	inspect := func(lot, who string, bore, depth string) {
		s.ok(plant.RecordInspection(ctx, lot, "20", []quality.Result{
			{Characteristic: "bore", Value: nominal(bore), Serial: "S1"},
			{Characteristic: "depth", Value: nominal(depth), Serial: "S1"},
		}, by(who, "CMM-1")...))
	}
	good := func(q string) routing.Outcome { return routing.Outcome{Good: qty(q)} }

	// 4701: made this morning; 5 pumps got serial numbers, 2 of them and 10 more shipped.
	wo4701 := order("4701", "PUMP-100", "20 ea", -time.Hour, 3, "Hydro GmbH")
	l4701 := start(wo4701, "20 ea")
	in(l4701, "10", "olga", "CNC-1")
	s.at(-3*time.Hour - 25*time.Minute)
	out(l4701, "10", "olga", "CNC-1", good("20 ea"))
	in(l4701, "20", "carla", "CMM-1")
	inspect(l4701, "carla", "10.004", "42.02")
	s.at(-3*time.Hour - 10*time.Minute)
	out(l4701, "20", "carla", "CMM-1", good("20 ea"))
	in(l4701, "30", "ben", "ASSY-1")
	s.at(-2*time.Hour - 40*time.Minute)
	out(l4701, "30", "ben", "ASSY-1", good("20 ea"))
	shipment := genealogy.Shipment{ID: "SHP-9001", Customer: "Hydro GmbH", Order: "PO-55120"}
	s.ok(plant.SerializeUnits(ctx, l4701, serials, by("ben", "ASSY-1")...))
	for _, sn := range serials[:2] {
		s.ok(plant.ShipSerial(ctx, sn, shipment, by("sam", "dock")...))
	}
	s.ok(plant.ShipLot(ctx, l4701, shipment, qty("10 ea"), by("sam", "dock")...))
	s.ok(plant.CompleteWorkOrder(ctx, wo4701.ID, by("sam", "office")...))

	// 4711: the first lot is machined and waits for inspection; the second runs on CNC-1.
	s.at(-2*time.Hour - 30*time.Minute)
	wo4711 := order("4711", "PUMP-100", "40 ea", 3*time.Hour, 2, "Hydro GmbH")
	l4711a, l4711b := start(wo4711, "24 ea"), start(wo4711, "16 ea")
	in(l4711a, "10", "olga", "CNC-2")
	s.at(-2 * time.Hour)
	wo5120 := order("5120", "VALVE-200", "100 ea", 6*time.Hour, 3, "Aqua Systems")
	l5120a, _ := start(wo5120, "60 ea"), start(wo5120, "40 ea")
	s.at(-90 * time.Minute)
	out(l4711a, "10", "olga", "CNC-2", routing.Outcome{Good: qty("23 ea"), Scrap: []routing.ScrapLine{{Qty: qty("1 ea"), Reason: "CHATTER"}}})
	s.at(-70 * time.Minute)
	in(l5120a, "10", "ben", "PRESS-1")
	s.at(-time.Hour)
	wo4712 := order("4712", "PUMP-100", "30 ea", -30*time.Minute, 1, "FlowTech")
	start(wo4712, "30 ea")
	s.at(-40 * time.Minute)
	in(l4711b, "10", "olga", "CNC-1")
	s.at(-20 * time.Minute)
	s.ok(plant.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: site, Number: "4713", Product: "PUMP-100", Qty: qty("25 ea"),
		Due: now.Add(24 * time.Hour), Priority: 4, Customer: "FlowTech"}, erp, mes.IdempotencyKey("erp-4713")))
	s.at(0)
	if s.err != nil {
		return fmt.Errorf("seeding the demo plant: %w", s.err)
	}
	return nil
}

// seeded reports whether the store already holds the demo plant (a PostgreSQL database that
// ran the demo before).
func seeded(ctx context.Context, plant *mes.Plant) (bool, error) {
	_, err := plant.Equipment(ctx, site)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, mes.ErrNotFound):
		return false, nil
	default:
		return false, err
	}
}
