package reliability

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
)

// The plant every test builds: one site, machining, inspection and assembly work centers, a
// product with a four-step routing (machine, inspect, optional deburr, assemble with a
// back-flushed seal kit, and a rework step), two component materials, two people and a
// machine that sends signals.
const (
	site    = "PLANT-1"
	product = "PUMP-100"
	sealKit = "SEAL-KIT" // counted in ea, back-flushed at step 30
	steel   = "STEEL"    // counted in kg: consuming it with an ea quantity is a wrong unit
	motor   = "MOTOR"    // serial-tracked: received in lots, its units get serial numbers
	machine = "CNC-1"    // the work unit that sends signals
	plcID   = "cnc-plc"  // the device actor and signal source
)

// steps are the routing's steps; R10 is reached only by rework.
var steps = []string{"10", "20", "25", "30", "R10"}

var (
	admin  = mes.Actor{ID: "admin", Name: "Ada Admin", Kind: mes.Person, Roles: []string{"admin"}}
	anna   = mes.Actor{ID: "anna", Name: "Anna", Kind: mes.Person, Roles: []string{"admin"}}
	ben    = mes.Actor{ID: "ben", Name: "Ben", Kind: mes.Person, Roles: []string{"admin"}}
	eve    = mes.Actor{ID: "eve", Name: "Eve Visitor", Kind: mes.Person, Roles: []string{"visitor"}} // may do nothing
	plc    = mes.Actor{ID: plcID, Kind: mes.Device, Roles: []string{"device"}}
	people = []mes.Actor{anna, ben}
	roles  = mes.Roles{"admin": {"*"}, "device": {"equipment.ingest"}}
)

// fakeClock moves only when told: both stores of a differential run see the same times.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)} }

// Now implements mes.Clock.
func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// sequentialIDs returns deterministic ids with a prefix: "id-1", "id-2", ...
func sequentialIDs(prefix string) func() string {
	var mu sync.Mutex
	n := 0
	return func() string { mu.Lock(); defer mu.Unlock(); n++; return fmt.Sprintf("%s%06d", prefix, n) }
}

// openPlant opens the engine on s with a fake clock and deterministic ids.
func openPlant(t testing.TB, s store.Store, clock *fakeClock, idPrefix string) *mes.Plant {
	t.Helper()
	p, err := mes.Open(context.Background(), s, mes.WithClock(clock), mes.WithIDs(sequentialIDs(idPrefix)), mes.WithAuthorizer(roles))
	require.NoError(t, err)
	return p
}

// bore: 10.000 ± 0.050 mm on the first piece. Out of spec holds the lot; far out of spec
// (above 10.2) also sends the measured quantity to rework.
func borePlan() quality.Plan {
	d := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }
	return quality.Plan{
		ID: "BORE",
		Characteristics: []quality.Characteristic{{Name: "bore", Kind: quality.Variable, Nominal: d("10.000"),
			Spec: quality.Spec{LSL: d("9.950"), USL: d("10.050")}, Unit: "mm", Decimals: 3}},
		Sampling: quality.SamplingPlan{Method: quality.FirstPiece},
		Reactions: []quality.Reaction{
			{Actions: []quality.Action{{Kind: quality.HoldLot}}},
			{When: "char.bore.max > 10.2", Actions: []quality.Action{{Kind: quality.ReworkTo, ToStep: "R10"}}},
		},
	}
}

func pumpRouting() (*routing.Routing, error) {
	return routing.New(product, "A").
		Step("10", "Machine housing", routing.At("CNC", "LATHE"), routing.Run(90*time.Second)).
		Step("20", "Inspect bore", routing.At("QC"), routing.Inspect("BORE")).
		Step("25", "Deburr", routing.At("ASSY"), routing.Optional()).
		Step("30", "Assemble", routing.At("ASSY"), routing.Consume(sealKit, "1 ea", routing.Backflushed, routing.LotTracked), routing.Then(routing.End)).
		Step("R10", "Re-machine bore", routing.At("CNC"), routing.ReworkEntry(), routing.Then("20")).
		Build()
}

// setupPlant defines the plant's master data. Every command is keyed, so a setup
// interrupted by a crash can be run again.
func setupPlant(ctx context.Context, p *mes.Plant) error {
	by, key := mes.By(admin), func(k string) mes.CommandOption { return mes.IdempotencyKey("setup-" + k) }
	if err := p.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "ACME", Level: equipment.Enterprise},
		{ID: site, Level: equipment.Site, Parent: "ACME"},
		{ID: "MACHINING", Level: equipment.Area, Parent: site},
		{ID: "CNC", Level: equipment.WorkCenter, Parent: "MACHINING"},
		{ID: machine, Level: equipment.WorkUnit, Parent: "CNC", IdealCycleTime: 90 * time.Second},
		{ID: "LATHE", Level: equipment.WorkCenter, Parent: site},
		{ID: "QC", Level: equipment.WorkCenter, Parent: site},
		{ID: "ASSY", Level: equipment.WorkCenter, Parent: site},
	}, by, key("equipment")); err != nil {
		return err
	}
	for _, m := range []genealogy.Material{
		{ID: product, Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct},
		{ID: sealKit, Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindComponent},
		{ID: steel, Unit: "kg", Tracking: genealogy.TrackLot, Kind: genealogy.KindRaw},
		{ID: motor, Unit: "ea", Tracking: genealogy.TrackSerial, Kind: genealogy.KindComponent},
	} {
		if err := p.DefineMaterial(ctx, m, by, key("material-"+m.ID)); err != nil {
			return err
		}
	}
	if _, err := p.DefineInspectionPlan(ctx, site, borePlan(), by, key("plan")); err != nil {
		return err
	}
	rt, err := pumpRouting()
	if err != nil {
		return err
	}
	if _, err := p.PublishRouting(ctx, site, rt, by, key("routing")); err != nil {
		return err
	}
	for _, a := range people {
		if _, err := p.DefinePerson(ctx, site, labor.Person{ID: a.ID, Name: a.Name, Rate: decimal.RequireFromString("40")}, by, key("person-"+a.ID)); err != nil {
			return err
		}
	}
	return nil
}
