package mes_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

var admin = mes.By(mes.Actor{ID: "admin", Kind: mes.Person, Roles: []string{"admin"}})

// pumpRouting: machine, inspect (bore out of spec goes to rework), assemble with a
// back-flushed seal kit. The rework path re-machines and returns to inspection.
func pumpRouting(t *testing.T) *routing.Routing {
	t.Helper()
	rt, err := routing.New("PUMP-100", "A").
		Step("10", "Machine housing", routing.At("CNC"), routing.Run(90*time.Second)).
		Step("20", "Inspect bore", routing.At("QC"), routing.Next(`result.bore > 10.02 ? "R10" : "30"`)).
		Step("30", "Assemble", routing.At("ASSY"), routing.Consume("SEAL-KIT", "1 ea", routing.Backflushed, routing.LotTracked), routing.Then(routing.End)).
		Step("R10", "Re-machine bore", routing.At("CNC"), routing.ReworkEntry(), routing.Then("20")).
		Build()
	require.NoError(t, err)
	return rt
}

// plantWithPump sets up work centers, materials, a seal-kit receipt and the pump routing.
func plantWithPump(t *testing.T) fixture {
	t.Helper()
	f := newPlant(t)
	p := f.plant
	require.NoError(t, p.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "QC", Level: equipment.WorkCenter, Parent: "PLANT-1"},
		{ID: "ASSY", Level: equipment.WorkCenter, Parent: "PLANT-1"},
		{ID: "CNC-1", Level: equipment.WorkUnit, Parent: "CNC"},
		{ID: "LATHE", Level: equipment.WorkCenter, Parent: "PLANT-1"},
	}, admin))
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "SEAL-KIT", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindComponent}, admin))
	_, err := p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "SK-1", Material: "SEAL-KIT", Qty: units.MustParse("30 ea"), Supplier: "ACME", SupplierLot: "A-77"}, admin)
	require.NoError(t, err)
	_, err = p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "SK-2", Material: "SEAL-KIT", Qty: units.MustParse("40 ea"), Supplier: "ACME", SupplierLot: "A-78"}, admin)
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", pumpRouting(t), admin)
	require.NoError(t, err)
	return f
}

func releasedOrder(t *testing.T, f fixture, number string) mes.WorkOrder {
	t.Helper()
	wo, err := f.plant.CreateWorkOrder(ctx, newOrder(number), erp)
	require.NoError(t, err)
	wo, err = f.plant.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	return wo
}

func books(t *testing.T, l mes.Lot, step string) routing.Books {
	t.Helper()
	p, err := l.Execution.Progress(step)
	require.NoError(t, err)
	return p.Books
}

func TestLotThroughRoutingWithScrapReworkAndBackflush(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	assert.Equal(t, "PUMP-100", wo.Routing)
	assert.Equal(t, "A", wo.RoutingRevision)

	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("50 ea"), planner)
	require.NoError(t, err)
	assert.Equal(t, "PLANT-1-4711-1", lot.ID)
	assert.Equal(t, "50 ea", books(t, lot, "10").Waiting.String())

	lot, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator, mes.On("CNC-1"))
	require.NoError(t, err)
	wo, _ = p.WorkOrder(ctx, wo.ID)
	assert.Equal(t, mes.StatusRunning, wo.Status, "the first track-in starts the order")

	lot, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("48 ea"),
		Scrap: []routing.ScrapLine{{Qty: units.MustParse("2 ea"), Reason: "CHATTER"}}}, operator, mes.On("CNC-1"))
	require.NoError(t, err)
	assert.Equal(t, "48 ea", lot.OnHand.String(), "scrap leaves the lot")
	assert.Equal(t, "48 ea", books(t, lot, "20").Waiting.String(), "the next step receives what step 10 produced, not the order quantity")

	_, err = p.TrackIn(ctx, lot.ID, "20", units.Quantity{}, operator)
	require.NoError(t, err)
	lot, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("45 ea"), Results: map[string]float64{"bore": 10.01},
		Rework: routing.ReworkLine{Qty: units.MustParse("3 ea"), To: "R10", Reason: "BORE-OVERSIZE"}}, operator)
	require.NoError(t, err)
	assert.Equal(t, "45 ea", lot.OnHand.String())
	rework, err := p.Lot(ctx, lot.ID+"-R1")
	require.NoError(t, err)
	assert.Equal(t, "3 ea", rework.OnHand.String())
	assert.Equal(t, "3 ea", books(t, rework, "R10").Waiting.String())
	assert.Equal(t, lot.ID, rework.Parent)

	f.clock.Advance(time.Hour) // SK-0 is the newest seal-kit lot, though its id sorts first
	_, err = p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "SK-0", Material: "SEAL-KIT", Qty: units.MustParse("30 ea"), Supplier: "ACME", SupplierLot: "A-79"}, admin)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "30", units.Quantity{}, operator)
	require.NoError(t, err)
	lot, err = p.TrackOut(ctx, lot.ID, "30", routing.Outcome{Good: units.MustParse("45 ea")}, operator)
	require.NoError(t, err)
	assert.False(t, lot.Execution.Running())
	sk1, _ := p.Lot(ctx, "SK-1")
	sk2, _ := p.Lot(ctx, "SK-2")
	assert.Equal(t, "0 ea", sk1.OnHand.String(), "back-flush takes the oldest lot first")
	assert.Equal(t, genealogy.Consumed, sk1.Status)
	assert.Equal(t, "25 ea", sk2.OnHand.String())
	sk0, _ := p.Lot(ctx, "SK-0")
	assert.Equal(t, "30 ea", sk0.OnHand.String(), "the newest lot is taken last")

	// The rework lot re-machines, passes inspection and assembles.
	for _, s := range []struct {
		step string
		out  routing.Outcome
	}{
		{"R10", routing.Outcome{Good: units.MustParse("3 ea")}},
		{"20", routing.Outcome{Good: units.MustParse("3 ea"), Results: map[string]float64{"bore": 10.0}}},
		{"30", routing.Outcome{Good: units.MustParse("3 ea")}},
	} {
		_, err := p.TrackIn(ctx, rework.ID, s.step, units.Quantity{}, operator)
		require.NoError(t, err, s.step)
		rework, err = p.TrackOut(ctx, rework.ID, s.step, s.out, operator)
		require.NoError(t, err, s.step)
	}
	wo, err = p.WorkOrder(ctx, wo.ID)
	require.NoError(t, err)
	assert.Equal(t, "48 ea", wo.Produced.String())
	assert.Equal(t, "2 ea", wo.Scrapped.String())

	lots, err := p.LotsOfWorkOrder(ctx, "PLANT-1", wo.ID)
	require.NoError(t, err)
	assert.Len(t, lots, 2)
	for _, l := range lots {
		require.NoError(t, l.Execution.CheckBooks())
	}
	evs, err := p.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	counts := map[string]int{}
	for _, e := range evs {
		counts[e.Type]++
	}
	assert.Equal(t, 2, counts["lot.finished"])
	assert.Equal(t, 1, counts["lot.scrapped"])
	assert.Equal(t, 1, counts["lot.split"])
	assert.Positive(t, counts["operation.completed"])
	assert.Equal(t, 3, counts["material.consumed"], "45 seal kits from SK-1 and SK-2, then 3 from SK-2")
	_, err = p.VerifyAudit(ctx)
	require.NoError(t, err)
}

func TestConditionalBranchSendsOutOfSpecToRework(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("10 ea"), planner)
	require.NoError(t, err)
	for _, step := range []string{"10", "20"} {
		_, err = p.TrackIn(ctx, lot.ID, step, units.Quantity{}, operator)
		require.NoError(t, err)
		lot, err = p.TrackOut(ctx, lot.ID, step, routing.Outcome{Good: units.MustParse("10 ea"), Results: map[string]float64{"bore": 10.05}}, operator)
		require.NoError(t, err)
	}
	assert.Equal(t, "10 ea", books(t, lot, "R10").Waiting.String(), "the condition routed the good quantity to rework")
	assert.True(t, books(t, lot, "30").Received.IsZero())
}

func TestTrackInRefusals(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("50 ea"), planner)
	require.NoError(t, err)
	hold, err := p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnMaterial, ID: "PUMP-100"}, "customer complaint", planner)
	require.NoError(t, err)

	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"held material", func() error { _, err := p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator); return err }, mes.ErrOnHold},
		{"unknown step", func() error { _, err := p.TrackIn(ctx, lot.ID, "99", units.Quantity{}, operator); return err }, mes.ErrNotFound},
		{"unknown lot", func() error { _, err := p.TrackIn(ctx, "nope", "10", units.Quantity{}, operator); return err }, mes.ErrNotFound},
		{"nothing waiting", func() error { _, err := p.TrackIn(ctx, lot.ID, "20", units.Quantity{}, operator); return err }, mes.ErrOnHold},
		{"track-out before track-in", func() error {
			_, err := p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("1 ea")}, operator)
			return err
		}, mes.ErrOnHold},
		{"a lot of the held product", func() error { _, err := p.StartLot(ctx, wo.ID, units.MustParse("1 ea"), planner); return err }, mes.ErrOnHold},
		{"material lot on a routing", func() error { _, err := p.TrackIn(ctx, "SK-1", "10", units.Quantity{}, operator); return err }, mes.ErrWrongState},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := takeSnapshot(t, f.store)
			err := c.run()
			assert.ErrorIs(t, err, c.want)
			assert.Equal(t, before, takeSnapshot(t, f.store))
		})
	}
	_, err = p.ReleaseHold(ctx, hold.ID, planner, mes.Reason("complaint closed"))
	require.NoError(t, err)

	more := []struct {
		name string
		run  func() error
		want error
	}{
		{"nothing waiting", func() error { _, err := p.TrackIn(ctx, lot.ID, "20", units.Quantity{}, operator); return err }, mes.ErrWrongState},
		{"more than waiting", func() error { _, err := p.TrackIn(ctx, lot.ID, "10", units.MustParse("51 ea"), operator); return err }, mes.ErrInvalid},
		{"too much for the order", func() error { _, err := p.StartLot(ctx, wo.ID, units.MustParse("1 ea"), planner); return err }, mes.ErrInvalid},
		{"wrong unit", func() error { _, err := p.TrackIn(ctx, lot.ID, "10", units.MustParse("5 kg"), operator); return err }, mes.ErrInvalid},
		{"wrong work center", func() error {
			_, err := p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator, mes.On("LATHE"))
			return err
		}, mes.ErrInvalid},
		{"track-out before track-in", func() error {
			_, err := p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("1 ea")}, operator)
			return err
		}, mes.ErrWrongState},
	}
	for _, c := range more {
		t.Run(c.name, func(t *testing.T) {
			before := takeSnapshot(t, f.store)
			err := c.run()
			assert.ErrorIs(t, err, c.want)
			assert.Equal(t, before, takeSnapshot(t, f.store))
		})
	}
}

func TestPublishRoutingValidation(t *testing.T) {
	f := newPlant(t)
	rt, err := routing.New("PUMP-100", "A").Step("10", "Machine", routing.At("MILL"), routing.At("CNC", "DRILL")).Build()
	require.NoError(t, err)
	before := takeSnapshot(t, f.store)
	_, err = f.plant.PublishRouting(ctx, "PLANT-1", rt, admin)
	var verr *mes.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Len(t, verr.Problems, 1, "DRILL is unknown: %v", err)
	assert.Equal(t, before, takeSnapshot(t, f.store))

	valve := newOrder("4711")
	valve.Product = "VALVE-7"
	wo, err := f.plant.CreateWorkOrder(ctx, valve, erp)
	require.NoError(t, err)
	_, err = f.plant.ReleaseWorkOrder(ctx, wo.ID, planner)
	assert.ErrorIs(t, err, mes.ErrNotFound, "no routing published for the product")
}

func TestNewRoutingRevisionDoesNotChangeReleasedOrders(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	old := releasedOrder(t, f, "OLD")
	revB, err := pumpRouting(t).NewRevision("B")
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", revB, admin)
	require.NoError(t, err)
	newer := releasedOrder(t, f, "NEW")
	assert.Equal(t, "A", old.RoutingRevision)
	assert.Equal(t, "B", newer.RoutingRevision)
	lot, err := p.StartLot(ctx, old.ID, units.MustParse("5 ea"), planner)
	require.NoError(t, err, "work released on revision A continues on A")
	assert.Equal(t, "A", lot.Execution.Revision)
	a, err := p.Routing(ctx, "PLANT-1", "PUMP-100", "A")
	require.NoError(t, err)
	assert.Equal(t, routing.Obsolete, a.Status)
}

func TestHoldOnTheEquipmentALotRunsOnBlocksItsTrackOut(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, qty("10 ea"), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator, mes.On("CNC-1"))
	require.NoError(t, err)
	h, err := p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnEquipment, ID: "CNC-1"}, "spindle crash", planner)
	require.NoError(t, err)

	before := takeSnapshot(t, f.store)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("10 ea")}, operator)
	require.ErrorIs(t, err, mes.ErrOnHold, "without mes.On the track-out still moves what runs on the held unit")
	assert.Contains(t, err.Error(), "spindle crash")
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("10 ea")}, operator, mes.On("CNC"))
	require.ErrorIs(t, err, mes.ErrOnHold, "naming other equipment does not either")
	assert.Equal(t, before, takeSnapshot(t, f.store))
	_, err = p.PauseLot(ctx, lot.ID, "10", operator, mes.Reason("wait for maintenance"))
	require.NoError(t, err, "pausing moves nothing")
	_, err = p.ResumeLot(ctx, lot.ID, "10", operator)
	require.ErrorIs(t, err, mes.ErrOnHold, "resuming would run the held unit")

	_, err = p.ReleaseHold(ctx, h.ID, planner, mes.Reason("spindle replaced"))
	require.NoError(t, err)
	_, err = p.ResumeLot(ctx, lot.ID, "10", operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("10 ea")}, operator)
	require.NoError(t, err)
}

func TestNoMovesOnCancelledOrdersAndWorkCenterHoldsCoverTheirUnits(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, qty("10 ea"), planner)
	require.NoError(t, err)

	h, err := p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnEquipment, ID: "CNC"}, "spindle vibration", planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator, mes.On("CNC-1"))
	require.ErrorIs(t, err, mes.ErrOnHold, "a hold on the work center holds its units")
	assert.Contains(t, err.Error(), "spindle vibration")
	_, err = p.ReleaseHold(ctx, h.ID, planner, mes.Reason("bearing replaced"))
	require.NoError(t, err)

	_, err = p.CancelWorkOrder(ctx, wo.ID, planner, mes.Reason("customer cancelled"))
	require.NoError(t, err)
	before := takeSnapshot(t, f.store)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator, mes.On("CNC-1"))
	require.ErrorIs(t, err, mes.ErrWrongState)
	assert.Contains(t, err.Error(), "cancelled")
	assert.Equal(t, before, takeSnapshot(t, f.store))
	_, err = p.AbortLot(ctx, lot.ID, planner, mes.Reason("order cancelled"))
	require.NoError(t, err, "the lots of a cancelled order can still be aborted")
}

func TestRepublishingARevisionIsADuplicate(t *testing.T) {
	f := plantWithPump(t)
	_, err := f.plant.PublishRouting(ctx, "PLANT-1", pumpRouting(t), admin)
	require.ErrorIs(t, err, mes.ErrDuplicate)
	assert.Contains(t, err.Error(), "NewRevision")
}

func TestTextThatCannotBeKeptExactlyIsRefused(t *testing.T) {
	f := plantWithPump(t)
	wo, err := f.plant.CreateWorkOrder(ctx, newOrder("4711"), erp)
	require.NoError(t, err)
	before := takeSnapshot(t, f.store)
	_, err = f.plant.CancelWorkOrder(ctx, wo.ID, planner, mes.Reason("bad \xff byte"))
	require.ErrorIs(t, err, mes.ErrInvalid)
	_, err = f.plant.CancelWorkOrder(ctx, wo.ID, planner, mes.Reason("nul \x00 char"))
	require.ErrorIs(t, err, mes.ErrInvalid)
	assert.Equal(t, before, takeSnapshot(t, f.store))
}

func TestWorkInProcessIsNotMaterial(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	a := releasedOrder(t, f, "A")
	wip, err := p.StartLot(ctx, a.ID, qty("10 ea"), planner)
	require.NoError(t, err)
	b := releasedOrder(t, f, "B")
	other, err := p.StartLot(ctx, b.ID, qty("10 ea"), planner)
	require.NoError(t, err)
	_, err = p.ConsumeMaterial(ctx, wip.ID, other.ID, "10", qty("1 ea"), operator)
	assert.ErrorIs(t, err, mes.ErrWrongState, "a lot still on its routing is not material to consume")
}

func TestDispatchForgetsLotsMergedAway(t *testing.T) {
	f, lot := overlapPlant(t)
	p := f.plant
	child, err := p.SplitLot(ctx, lot.ID, "10", qty("40 ea"), planner)
	require.NoError(t, err)
	list, err := p.DispatchList(ctx, "PLANT-1", "CNC")
	require.NoError(t, err)
	assert.Len(t, list.Ranked, 2)
	_, err = p.MergeLots(ctx, child.ID, lot.ID, planner)
	require.NoError(t, err)
	list, err = p.DispatchList(ctx, "PLANT-1", "CNC")
	require.NoError(t, err)
	require.Len(t, list.Ranked, 1)
	assert.Equal(t, child.ID, list.Ranked[0].Candidate.Lot)
	assert.Equal(t, "100 ea", list.Ranked[0].Candidate.Quantity.String())
}

func TestTrackOutAuditRecordsWhatChanged(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, qty("10 ea"), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	changes := func() []string {
		trail, err := p.AuditTrail(ctx, 0, 0)
		require.NoError(t, err)
		last := trail[len(trail)-1]
		require.Equal(t, "lot.track_out", last.Action)
		require.Equal(t, "lot/"+lot.ID, last.Object)
		var out []string
		for _, c := range last.Changes {
			out = append(out, c.Field+": "+c.Before+" -> "+c.After)
		}
		return out
	}
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("3 ea")}, operator)
	require.NoError(t, err)
	assert.Equal(t, []string{"step 10 good: 0 ea -> 3 ea"}, changes(), "scrap and rework did not change")
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("2 ea"), Scrap: []routing.ScrapLine{{Qty: qty("1 ea"), Reason: "CHATTER"}}}, operator)
	require.NoError(t, err)
	assert.Equal(t, []string{"step 10 good: 3 ea -> 5 ea", "step 10 scrap: 0 ea -> 1 ea"}, changes())
}

func TestLotsHandedOutDoNotShareTheStoredExecution(t *testing.T) {
	f := plantWithPump(t)
	wo := releasedOrder(t, f, "4711")
	lot, err := f.plant.StartLot(ctx, wo.ID, qty("10 ea"), planner)
	require.NoError(t, err)
	lot.Execution.Started, lot.Execution.AbortReason = qty("999 ea"), "careless" // a careless caller
	read, err := f.plant.Lot(ctx, lot.ID)
	require.NoError(t, err)
	assert.Equal(t, "10 ea", read.Execution.Started.String())
	assert.True(t, read.Execution.Running())
	read.Execution.Finished = qty("777 ea")
	again, err := f.plant.Lot(ctx, lot.ID)
	require.NoError(t, err)
	assert.Equal(t, "0 ea", again.Execution.Finished.String())
	assert.Equal(t, "10 ea", books(t, again, "10").Waiting.String())
}

func TestHoldChecksWithManyActiveHolds(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	var lots []mes.Lot
	for i := 0; i < 40; i++ {
		l, err := p.StartLot(ctx, wo.ID, qty("1 ea"), planner)
		require.NoError(t, err)
		lots = append(lots, l)
	}
	for _, l := range lots[1:] { // more active holds than one index read takes
		_, err := p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnLot, ID: l.ID}, "sorting", planner)
		require.NoError(t, err)
	}
	_, err := p.TrackIn(ctx, lots[5].ID, "10", units.Quantity{}, operator)
	assert.ErrorIs(t, err, mes.ErrOnHold)
	_, err = p.TrackIn(ctx, lots[0].ID, "10", units.Quantity{}, operator)
	require.NoError(t, err, "the one lot without a hold moves")
	_, err = p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnEquipment, ID: "CNC"}, "coolant leak", planner)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lots[0].ID, "10", routing.Outcome{Good: qty("1 ea")}, operator, mes.On("CNC-1"))
	assert.ErrorIs(t, err, mes.ErrOnHold, "the equipment chain is checked target by target too")
}

func TestLotNumbersSkipIdsTakenByOtherLots(t *testing.T) {
	f := plantWithPump(t)
	// A lot the host received under the id the order's first lot would get (ids of
	// different sites and orders can meet: site "A" order "7-1" and site "A-7" order "1").
	_, err := f.plant.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "PLANT-1-4711-1", Material: "SEAL-KIT", Qty: qty("1 ea"), Supplier: "ACME", SupplierLot: "X"}, admin)
	require.NoError(t, err)
	wo := releasedOrder(t, f, "4711")
	lot, err := f.plant.StartLot(ctx, wo.ID, qty("1 ea"), planner)
	require.NoError(t, err)
	assert.Equal(t, "PLANT-1-4711-2", lot.ID)
}

// TestStepTimesJSON: a lot's queue times keep the JSON of a map keyed by step (what
// records stored before StepTimes hold), in step order, and read back the same.
func TestStepTimesJSON(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	st := mes.StepTimes{{Step: "10", Time: t0}, {Step: "20", Time: t0.Add(time.Minute)}}
	data, err := json.Marshal(st)
	require.NoError(t, err)
	want, err := json.Marshal(map[string]time.Time{"20": t0.Add(time.Minute), "10": t0})
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(data))
	var back mes.StepTimes
	require.NoError(t, json.Unmarshal([]byte(`{"20":"2026-12-03T08:01:00Z","10":"2026-12-03T08:00:00Z"}`), &back))
	require.Equal(t, st, back)
	at, ok := back.At("20")
	require.True(t, ok)
	require.Equal(t, t0.Add(time.Minute), at)
	_, ok = back.At("30")
	require.False(t, ok)
	require.Error(t, json.Unmarshal([]byte(`["10"]`), &back))
}

// FuzzStepTimesJSON: any input decodes or fails without panicking, and what decodes
// encodes to JSON that decodes to the same times, ordered by step.
func FuzzStepTimesJSON(f *testing.F) {
	f.Add([]byte(`{"20":"2026-12-03T08:01:00Z","10":"2026-12-03T08:00:00Z"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st mes.StepTimes
		if json.Unmarshal(data, &st) != nil {
			return
		}
		require.True(t, slices.IsSortedFunc(st, func(a, b mes.StepTime) int { return strings.Compare(a.Step, b.Step) }))
		out, err := json.Marshal(st)
		require.NoError(t, err)
		var back mes.StepTimes
		require.NoError(t, json.Unmarshal(out, &back))
		require.Equal(t, len(st), len(back))
		for i := range st {
			require.Equal(t, st[i].Step, back[i].Step)
			require.True(t, st[i].Time.Equal(back[i].Time))
		}
	})
}

// TestNotFoundSaysWhat: a missing object is ErrNotFound, and the message names it.
func TestNotFoundSaysWhat(t *testing.T) {
	f := newPlant(t)
	_, err := f.plant.Lot(ctx, "NO-SUCH-LOT")
	require.ErrorIs(t, err, mes.ErrNotFound)
	assert.Contains(t, err.Error(), "mes: not found: ")
	assert.Contains(t, err.Error(), `"NO-SUCH-LOT"`)
}

func TestOneReleasedRoutingPerProductAndIDsThatCannotMeet(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	next := routing.Routing{ID: "PUMP-100X", Product: "PUMP-100", Revision: "A", Status: routing.Draft,
		Steps: []routing.Step{{ID: "10", Name: "New", WorkCenter: "CNC"}}}
	require.NoError(t, next.Validate())
	_, err := p.PublishRouting(ctx, "PLANT-1", &next, admin)
	require.NoError(t, err)
	cur, err := p.ReleasedRouting(ctx, "PLANT-1", "PUMP-100")
	require.NoError(t, err)
	assert.Equal(t, "PUMP-100X", cur.ID, "the routing published last is the one new orders run on")
	wo := releasedOrder(t, f, "4711")
	assert.Equal(t, "PUMP-100X", wo.Routing)

	a, err := routing.New("X@1", "2").Step("10", "a", routing.At("CNC")).Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", a, admin)
	require.NoError(t, err)
	b, err := routing.New("X", "1@2").Step("10", "b", routing.At("CNC")).Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", b, admin)
	require.NoError(t, err, "X@1 rev 2 and X rev 1@2 are two routings")
	got, err := p.Routing(ctx, "PLANT-1", "X", "1@2")
	require.NoError(t, err)
	assert.Equal(t, "X", got.ID)
}
