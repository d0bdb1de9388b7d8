package mes_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

func qty(s string) units.Quantity { return units.MustParse(s) }

// overlapPlant publishes GEAR: 10 (CNC) passes good parts on in batches of 10, 20 (QC), 30
// (ASSY).
func overlapPlant(t *testing.T) (fixture, mes.Lot) {
	t.Helper()
	f := plantWithPump(t)
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "GEAR", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	rt, err := routing.New("GEAR", "A").
		Step("10", "Hob", routing.At("CNC"), routing.Transfer("10 ea"), routing.Run(30*time.Second)).
		Step("20", "Check", routing.At("QC"), routing.Transfer("10 ea")).
		Step("30", "Pack", routing.At("ASSY")).
		Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", rt, admin)
	require.NoError(t, err)
	in := newOrder("G-1")
	in.Product, in.Qty = "GEAR", qty("100 ea")
	wo, err := p.CreateWorkOrder(ctx, in, erp)
	require.NoError(t, err)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	lot, err := p.StartLot(ctx, wo.ID, qty("100 ea"), planner)
	require.NoError(t, err)
	return f, lot
}

func TestOverlapTransferBatches(t *testing.T) {
	f, lot := overlapPlant(t)
	p := f.plant
	_, err := p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	lot, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("25 ea")}, operator)
	require.NoError(t, err)
	assert.Equal(t, "20 ea", books(t, lot, "20").Waiting.String(), "two full batches of 10 passed; 5 wait for the third")
	_, err = p.TrackIn(ctx, lot.ID, "20", units.Quantity{}, operator)
	require.NoError(t, err, "step 20 starts while step 10 still runs")
	lot, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: qty("19 ea"), Scrap: []routing.ScrapLine{{Qty: qty("1 ea"), Reason: "DENT"}}}, operator)
	require.NoError(t, err)
	assert.Equal(t, "10 ea", books(t, lot, "30").Waiting.String())

	wip, err := p.WorkInProcess(ctx, "PLANT-1")
	require.NoError(t, err)
	byStep := map[string]mes.StepWIP{}
	for _, w := range wip {
		if w.Routing == "GEAR" {
			byStep[w.Step] = w
		}
	}
	assert.Equal(t, "75 ea", byStep["10"].InProcess.String())
	assert.Equal(t, "25 ea", byStep["10"].Good.String(), "good so far, 20 of it passed on")
	assert.Equal(t, "0 ea", byStep["20"].InProcess.String())
	assert.Equal(t, "10 ea", byStep["30"].Waiting.String())
	require.NoError(t, lot.Execution.CheckBooks())
}

func TestPauseResumeAndPartialTrackOutsAddUp(t *testing.T) {
	f, lot := overlapPlant(t)
	p := f.plant
	_, err := p.TrackIn(ctx, lot.ID, "10", qty("60 ea"), operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("20 ea")}, operator)
	require.NoError(t, err)
	_, err = p.PauseLot(ctx, lot.ID, "10", operator)
	assert.ErrorIs(t, err, mes.ErrInvalid, "a pause needs a reason")
	lot, err = p.PauseLot(ctx, lot.ID, "10", operator, mes.Reason("shift end"))
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("5 ea")}, operator)
	assert.ErrorIs(t, err, mes.ErrWrongState, "paused work cannot be tracked out")
	f.clock.Advance(8 * time.Hour)
	_, err = p.ResumeLot(ctx, lot.ID, "10", operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("38 ea"), Scrap: []routing.ScrapLine{{Qty: qty("2 ea"), Reason: "BURR"}}}, operator)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	lot, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("40 ea")}, operator)
	require.NoError(t, err)
	b := books(t, lot, "10")
	assert.Equal(t, "98 ea", b.Good.String(), "20 + 38 + 40, nothing counted twice across the pause")
	assert.Equal(t, "2 ea", b.Scrap.String())
	assert.True(t, b.InProcess.IsZero())
	assert.True(t, b.Waiting.IsZero())
	require.NoError(t, lot.Execution.CheckBooks())
}

func TestSplitAndMergeLotMidRoute(t *testing.T) {
	f, lot := overlapPlant(t)
	p := f.plant
	_, err := p.TrackIn(ctx, lot.ID, "10", qty("40 ea"), operator)
	require.NoError(t, err)
	child, err := p.SplitLot(ctx, lot.ID, "10", qty("30 ea"), planner, mes.Reason("urgent partial"))
	require.NoError(t, err)
	parent, err := p.Lot(ctx, lot.ID)
	require.NoError(t, err)
	assert.Equal(t, "30 ea", child.OnHand.String())
	assert.Equal(t, "70 ea", parent.OnHand.String())
	assert.Equal(t, "30 ea", books(t, child, "10").Waiting.String(), "the split takes waiting quantity first")
	assert.Equal(t, "30 ea", books(t, parent, "10").Waiting.String())
	assert.Equal(t, "40 ea", books(t, parent, "10").InProcess.String())
	require.NoError(t, child.Execution.CheckBooks())
	require.NoError(t, parent.Execution.CheckBooks())

	// A mistaken split is reversed by merging the parent into the sublot: a new, audited act.
	merged, err := p.MergeLots(ctx, child.ID, parent.ID, planner, mes.Reason("split by mistake"))
	require.NoError(t, err)
	assert.Equal(t, "100 ea", merged.OnHand.String())
	assert.Equal(t, "60 ea", books(t, merged, "10").Waiting.String())
	assert.Equal(t, "40 ea", books(t, merged, "10").InProcess.String())
	require.NoError(t, merged.Execution.CheckBooks())
	old, err := p.Lot(ctx, parent.ID)
	require.NoError(t, err)
	assert.Equal(t, genealogy.Consumed, old.Status)
	_, err = p.TrackIn(ctx, old.ID, "10", units.Quantity{}, operator)
	assert.ErrorIs(t, err, mes.ErrWrongState, "the merged-away lot cannot move")
	_, err = p.MergeLots(ctx, old.ID, merged.ID, planner)
	assert.Error(t, err)
}

func TestSkipOptionalAndRequiredSteps(t *testing.T) {
	roles := mes.Roles{"admin": {"*"}, "planner": {"workorder.*", "lot.start"}, "erp": {"workorder.create"}, "operator": {"lot.track_in", "lot.track_out", "lot.skip"}}
	f := newPlant(t, mes.WithAuthorizer(roles))
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	rt, err := routing.New("PUMP-100", "A").
		Step("10", "Deburr", routing.At("CNC"), routing.Optional()).
		Step("20", "Machine", routing.At("CNC")).
		Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", rt, admin)
	require.NoError(t, err)
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, qty("5 ea"), planner)
	require.NoError(t, err)
	lot, err = p.SkipStep(ctx, lot.ID, "10", operator, mes.Reason("no burrs"))
	require.NoError(t, err)
	assert.Equal(t, "5 ea", books(t, lot, "20").Waiting.String())
	before := takeSnapshot(t, f.store)
	_, err = p.SkipStep(ctx, lot.ID, "20", operator, mes.Reason("in a hurry"))
	assert.ErrorIs(t, err, mes.ErrUnauthorized, "a required step needs lot.skip_required")
	assert.Equal(t, before, takeSnapshot(t, f.store))
	lot, err = p.SkipStep(ctx, lot.ID, "20", admin, mes.Reason("engineering deviation 12"))
	require.NoError(t, err)
	assert.False(t, lot.Execution.Running())
}

func TestQueueTimesFollowSkipsAndMovesBack(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, qty("10 ea"), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("10 ea")}, operator)
	require.NoError(t, err)
	queued := f.clock.Now()
	f.clock.Advance(time.Hour)
	lot, err = p.MoveBack(ctx, lot.ID, "20", "10", units.Quantity{}, operator, mes.Reason("burr found"))
	require.NoError(t, err)
	_, waits := lot.QueuedSince.At("20")
	assert.False(t, waits, "nothing waits at 20 after all of it went back")
	at, _ := lot.QueuedSince.At("10")
	assert.Equal(t, f.clock.Now(), at)

	f.clock.Advance(time.Hour)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	lot, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("10 ea")}, operator)
	require.NoError(t, err)
	at, _ = lot.QueuedSince.At("20")
	assert.Equal(t, f.clock.Now(), at, "queued again now, not since %s", queued)

	lot, err = p.SkipStep(ctx, lot.ID, "20", admin, mes.Reason("inspection waived"))
	require.NoError(t, err)
	_, waits = lot.QueuedSince.At("20")
	assert.False(t, waits, "a skipped step has nothing waiting")
}

func TestTraceAndRecallThroughTheEngine(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, qty("20 ea"), planner)
	require.NoError(t, err)
	for _, step := range []string{"10", "20", "30"} {
		_, err = p.TrackIn(ctx, lot.ID, step, units.Quantity{}, operator, mes.On(map[string]string{"10": "CNC-1", "20": "QC", "30": "ASSY"}[step]))
		require.NoError(t, err)
		_, err = p.TrackOut(ctx, lot.ID, step, routing.Outcome{Good: qty("20 ea"), Results: map[string]float64{"bore": 10}}, operator)
		require.NoError(t, err)
	}
	_, err = p.ShipLot(ctx, lot.ID, genealogy.Shipment{ID: "SH-1", Customer: "Globex", Order: "PO-9"}, qty("15 ea"), planner)
	require.NoError(t, err)

	back, err := p.TraceBackward(ctx, genealogy.LotNode(lot.ID), genealogy.TraceOptions{})
	require.NoError(t, err)
	var nodes []string
	for _, n := range back.Nodes {
		nodes = append(nodes, n.Node.String())
	}
	assert.Contains(t, nodes, genealogy.LotNode("SK-1").String())
	assert.Contains(t, nodes, genealogy.SupplierLotNode("SEAL-KIT", "ACME", "A-77").String())
	for _, e := range back.Edges {
		if e.Kind == genealogy.EdgeConsume {
			assert.Equal(t, "30", e.Step)
			assert.Equal(t, wo.ID, e.WorkOrder)
			assert.Equal(t, "olga", e.Operator)
		}
	}

	rep, err := p.Recall(ctx, genealogy.SupplierLotNode("SEAL-KIT", "ACME", "A-77"))
	require.NoError(t, err)
	shipped := false
	for _, it := range rep.Items {
		for _, s := range it.Shipped {
			if s.Shipment == "SH-1" {
				shipped = true
				assert.Equal(t, "15 ea", s.Qty.String())
			}
		}
	}
	assert.True(t, shipped, "the recall reaches the customer shipment: %+v", rep)

	use, err := p.AtEquipment(ctx, "ASSY", f.clock.Now().Add(-time.Hour), f.clock.Now().Add(time.Hour))
	require.NoError(t, err)
	assert.NotEmpty(t, use.Consumed)

	held, err := p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnLot, ID: lot.ID}, "complaint", planner)
	require.NoError(t, err)
	_, err = p.ShipLot(ctx, lot.ID, genealogy.Shipment{ID: "SH-2", Customer: "Globex"}, qty("1 ea"), planner)
	assert.ErrorIs(t, err, mes.ErrOnHold, "held material is not shipped")
	_, err = p.ReleaseHold(ctx, held.ID, planner, mes.Reason("ok"))
	require.NoError(t, err)
}

func TestReadinessShowsWhyWorkIsNotMoving(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, qty("50 ea"), planner)
	require.NoError(t, err)
	for _, step := range []string{"10", "20"} {
		_, err = p.TrackIn(ctx, lot.ID, step, units.Quantity{}, operator)
		require.NoError(t, err)
		_, err = p.TrackOut(ctx, lot.ID, step, routing.Outcome{Good: qty("50 ea"), Results: map[string]float64{"bore": 10}}, operator)
		require.NoError(t, err)
	}
	_, err = p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnMaterial, ID: "SEAL-KIT", SupplierLot: "A-78"}, "supplier notice", planner)
	require.NoError(t, err)
	ready, err := p.LotReadiness(ctx, lot.ID)
	require.NoError(t, err)
	states := map[string]mes.StepReadiness{}
	for _, r := range ready {
		states[r.Step] = r
	}
	assert.Equal(t, routing.Done, states["10"].State)
	assert.Equal(t, routing.WaitingForMaterial, states["30"].State, "30 seal kits of lot A-77 do not cover 50")
	assert.Contains(t, states["30"].Why, "SEAL-KIT")

	_, err = p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnEquipment, ID: "ASSY"}, "calibration due", planner)
	require.NoError(t, err)
	_, err = p.AdjustLot(ctx, "SK-1", qty("20 ea"), planner, mes.Reason("found in cycle count"))
	require.NoError(t, err)
	ready, err = p.LotReadiness(ctx, lot.ID)
	require.NoError(t, err)
	for _, r := range ready {
		if r.Step == "30" {
			assert.Equal(t, routing.WaitingForEquipment, r.State)
		}
	}
}

func TestTraceOfUnknownLotIsNotFound(t *testing.T) {
	f := newPlant(t)
	_, err := f.plant.TraceBackward(ctx, genealogy.LotNode("ghost"), genealogy.TraceOptions{})
	assert.ErrorIs(t, err, mes.ErrNotFound)
}

func TestSerialAsBuiltRecord(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "MOTOR", Unit: "ea", Tracking: genealogy.TrackSerial, Kind: genealogy.KindComponent}, admin))
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "UNIT", Unit: "ea", Tracking: genealogy.TrackSerial, Kind: genealogy.KindProduct}, admin))
	_, err := p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "MOT-L1", Material: "MOTOR", Qty: qty("2 ea"), Supplier: "Volt", SupplierLot: "V-9"}, admin)
	require.NoError(t, err)
	// two frames: after U-100 one is left, so numbering U-100 again fails on the duplicate
	_, err = p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "UNIT-L1", Material: "UNIT", Qty: qty("2 ea"), Supplier: "self", SupplierLot: "frame"}, admin)
	require.NoError(t, err)
	_, err = p.SerializeUnits(ctx, "MOT-L1", []string{"M-001", "M-002"}, admin)
	require.NoError(t, err)
	_, err = p.SerializeUnits(ctx, "UNIT-L1", []string{"U-100"}, admin)
	require.NoError(t, err)
	_, err = p.SerializeUnits(ctx, "UNIT-L1", []string{"U-100"}, admin)
	assert.ErrorIs(t, err, mes.ErrDuplicate)
	_, err = p.SerializeUnits(ctx, "SK-1", []string{"X-1"}, admin)
	assert.ErrorIs(t, err, mes.ErrInvalid, "seal kits are lot-tracked, not serial-tracked")

	_, err = p.AssembleComponent(ctx, "U-100", "M-001", "30", units.Quantity{}, operator, mes.On("ASSY"))
	require.NoError(t, err)
	_, err = p.AssembleComponent(ctx, "U-100", "SK-1", "30", qty("2 ea"), operator, mes.On("ASSY"))
	require.NoError(t, err)
	_, err = p.AssembleComponent(ctx, "U-100", "M-001", "30", units.Quantity{}, operator)
	assert.ErrorIs(t, err, mes.ErrWrongState, "a motor goes into one unit only")

	ab, err := p.AsBuilt(ctx, "U-100")
	require.NoError(t, err)
	var components []string
	for _, l := range ab.Lines {
		if l.Depth == 1 {
			components = append(components, l.Component.String()+" "+l.Operator+" "+l.Equipment)
		}
	}
	assert.ElementsMatch(t, []string{
		genealogy.SerialNode("M-001").String() + " olga ASSY",
		genealogy.LotNode("SK-1").String() + " olga ASSY",
		genealogy.LotNode("UNIT-L1").String() + " admin ",
	}, components)

	_, err = p.ShipSerial(ctx, "U-100", genealogy.Shipment{ID: "SH-9", Customer: "Initech"}, planner)
	require.NoError(t, err)
	rep, err := p.Recall(ctx, genealogy.SupplierLotNode("MOTOR", "Volt", "V-9"))
	require.NoError(t, err)
	found := false
	for _, it := range rep.Items {
		for _, s := range it.Shipped {
			found = found || s.Shipment == "SH-9"
		}
	}
	assert.True(t, found, "a recall of the motor supplier lot reaches the shipped unit")
}

func TestUnfinishedLotsAreNeitherShippedNorUsed(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "UNIT", Unit: "ea", Tracking: genealogy.TrackSerial, Kind: genealogy.KindProduct}, admin))
	_, err := p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "U-L", Material: "UNIT", Qty: qty("1 ea"), Supplier: "self", SupplierLot: "frame"}, admin)
	require.NoError(t, err)
	_, err = p.SerializeUnits(ctx, "U-L", []string{"U1"}, admin)
	require.NoError(t, err)
	running, err := p.StartLot(ctx, releasedOrder(t, f, "1").ID, qty("10 ea"), planner)
	require.NoError(t, err)
	aborted, err := p.StartLot(ctx, releasedOrder(t, f, "2").ID, qty("10 ea"), planner)
	require.NoError(t, err)
	_, err = p.AbortLot(ctx, aborted.ID, planner, mes.Reason("stop"))
	require.NoError(t, err)

	before := takeSnapshot(t, f.store)
	_, err = p.AssembleComponent(ctx, "U1", running.ID, "30", qty("4 ea"), operator)
	require.ErrorIs(t, err, mes.ErrWrongState, "its books still hold the 10 ea waiting at step 10")
	for _, id := range []string{running.ID, aborted.ID} {
		_, err = p.ShipLot(ctx, id, genealogy.Shipment{ID: "SH1", Customer: "G"}, qty("10 ea"), planner)
		require.ErrorIs(t, err, mes.ErrWrongState, "a lot never machined nor inspected does not ship")
		_, err = p.ConsumeMaterial(ctx, id, "U-L", "", qty("1 ea"), operator)
		require.ErrorIs(t, err, mes.ErrWrongState)
	}
	assert.Equal(t, before, takeSnapshot(t, f.store))
}

func TestSplitsSkipSublotIDsThatAreTaken(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	_, err := p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "SK-1-S1", Material: "SEAL-KIT", Qty: qty("1 ea"), Supplier: "ACME", SupplierLot: "A-80"}, admin)
	require.NoError(t, err)
	part, err := p.SplitLot(ctx, "SK-1", "", qty("5 ea"), planner)
	require.NoError(t, err, "the next free id, not a duplicate every time")
	assert.Equal(t, "SK-1-S2", part.ID)
}

func TestSerialNumbersOnlyForUnitsALotHas(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "MOTOR", Unit: "ea", Tracking: genealogy.TrackSerial, Kind: genealogy.KindComponent}, admin))
	for _, lot := range []string{"M-1", "M-2"} {
		_, err := p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: lot, Material: "MOTOR", Qty: qty("2 ea"), Supplier: "Volt", SupplierLot: lot}, admin)
		require.NoError(t, err)
	}
	before := takeSnapshot(t, f.store)
	_, err := p.SerializeUnits(ctx, "M-1", []string{"A", "B", "C"}, admin)
	require.ErrorIs(t, err, mes.ErrInvalid, "three serials for two motors")
	_, err = p.SerializeUnits(ctx, "M-1", []string{"A"}, admin)
	require.NoError(t, err)
	_, err = p.SerializeUnits(ctx, "M-1", []string{"B", "C"}, admin)
	require.ErrorIs(t, err, mes.ErrInvalid, "one is numbered already")
	_, err = p.ShipLot(ctx, "M-2", genealogy.Shipment{ID: "SH1", Customer: "G"}, qty("2 ea"), planner)
	require.NoError(t, err)
	before = takeSnapshot(t, f.store)
	_, err = p.SerializeUnits(ctx, "M-2", []string{"D"}, admin)
	require.ErrorIs(t, err, mes.ErrWrongState, "a shipped lot's units are gone")
	assert.Equal(t, before, takeSnapshot(t, f.store))
}

// A misspelt serial number is not found, as a misspelt lot is, rather than a unit made of
// nothing.
func TestAsBuiltOfUnknownSerialIsNotFound(t *testing.T) {
	f := newPlant(t)
	_, err := f.plant.AsBuilt(ctx, "ghost")
	assert.ErrorIs(t, err, mes.ErrNotFound)
	_, err = f.plant.TraceForward(ctx, genealogy.SerialNode("ghost"), genealogy.TraceOptions{})
	assert.ErrorIs(t, err, mes.ErrNotFound)
}

// A recall of a misspelt supplier lot is not found rather than a report that nothing was
// affected.
func TestRecallOfUnknownSupplierLotIsNotFound(t *testing.T) {
	f := plantWithPump(t)
	_, err := f.plant.Recall(ctx, genealogy.SupplierLotNode("SEAL-KIT", "ACME", "A-7"))
	assert.ErrorIs(t, err, mes.ErrNotFound)
	_, err = f.plant.TraceBackward(ctx, genealogy.ShipmentNode("SH-404"), genealogy.TraceOptions{})
	assert.ErrorIs(t, err, mes.ErrNotFound)
}

// QueuedSince names only steps where quantity waits: a split that takes all the waiting
// quantity of a step, or quantity passing a skipped step, leaves no entry behind (a stale
// one would date a later arrival at that step back to the first).
func TestQueuedSinceOnlyWhereQuantityWaits(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, qty("10 ea"), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", qty("4 ea"), operator)
	require.NoError(t, err)
	_, err = p.SplitLot(ctx, lot.ID, "10", qty("6 ea"), planner)
	require.NoError(t, err)
	_, err = p.SkipStep(ctx, lot.ID, "20", admin, mes.Reason("bore checked in line"))
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("4 ea")}, operator)
	require.NoError(t, err)
	got, err := p.Lot(ctx, lot.ID)
	require.NoError(t, err)
	var queued []string
	for _, st := range got.QueuedSince {
		queued = append(queued, st.Step)
		assert.True(t, books(t, got, st.Step).Waiting.IsPositive(), "queued at %s with nothing waiting", st.Step)
	}
	assert.Equal(t, []string{"30"}, queued)
}

// TestAtEquipmentListsTheLotsThatRanThere: a lot machined on CNC-1 (no material consumed,
// nothing scrapped: no genealogy edge there) is among the lots to look at when CNC-1 is
// found faulty, and only within the window of its run.
func TestAtEquipmentListsTheLotsThatRanThere(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	lot, err := p.StartLot(ctx, releasedOrder(t, f, "4711").ID, qty("10 ea"), planner)
	require.NoError(t, err)
	start := f.clock.Now()
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator, mes.On("CNC-1"))
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("10 ea")}, operator, mes.On("CNC-1"))
	require.NoError(t, err)

	use, err := p.AtEquipment(ctx, "CNC-1", start.Add(-time.Minute), start.Add(time.Minute))
	require.NoError(t, err)
	assert.Empty(t, use.Edges, "machining moved no material")
	assert.Equal(t, []genealogy.Node{genealogy.LotNode(lot.ID)}, use.Processed)
	use, err = p.AtEquipment(ctx, "CNC-1", start.Add(2*time.Hour), start.Add(3*time.Hour))
	require.NoError(t, err)
	assert.Empty(t, use.Processed, "after the run")
}
