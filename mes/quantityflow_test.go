package mes_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

// yieldPlant publishes CAST: step 10 expects 98 % ± 1 % yield and consumes 2 kg of ALU per
// casting by actual quantity.
func yieldPlant(t *testing.T, opts ...mes.Option) (fixture, mes.Lot) {
	t.Helper()
	f := newPlant(t, append([]mes.Option{mes.WithSignatureVerifier(verifier{"sue": {ID: "sue", Name: "Sue Supervisor"}})}, opts...)...)
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "CAST", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "ALU", Unit: "kg", Tracking: genealogy.TrackLot, Kind: genealogy.KindRaw}, admin))
	_, err := p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "ALU-1", Material: "ALU", Qty: qty("500 kg"), Supplier: "Metals", SupplierLot: "M-1"}, admin)
	require.NoError(t, err)
	rt, err := routing.New("CAST", "A").
		Step("10", "Cast", routing.At("CNC"), routing.Yield(0.98, 0.01), routing.Consume("ALU", "2 kg", routing.LotTracked)).
		Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", rt, admin)
	require.NoError(t, err)
	in := newOrder("C-1")
	in.Product, in.Qty = "CAST", qty("100 ea")
	wo, err := p.CreateWorkOrder(ctx, in, erp)
	require.NoError(t, err)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	lot, err := p.StartLot(ctx, wo.ID, qty("100 ea"), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	return f, lot
}

func TestYieldVarianceNeedsAReasonOrASignature(t *testing.T) {
	f, lot := yieldPlant(t)
	p := f.plant
	out := routing.Outcome{Good: qty("90 ea"), Scrap: []routing.ScrapLine{{Qty: qty("10 ea"), Reason: "POROSITY"}}}
	before := takeSnapshot(t, f.store)
	_, err := p.TrackOut(ctx, lot.ID, "10", out, operator)
	require.ErrorIs(t, err, mes.ErrInvalid)
	require.ErrorIs(t, err, routing.ErrYieldReasonRequired)
	assert.Contains(t, err.Error(), "0.9000")
	assert.Equal(t, before, takeSnapshot(t, f.store), "a refused track-out changes nothing")

	_, err = p.TrackOut(ctx, lot.ID, "10", out, operator, mes.SignedBy(mes.Credentials{SignerID: "sue", Secret: "secret-sue", Meaning: mes.Approval}))
	require.NoError(t, err, "a signature justifies the variance")
	evs, err := p.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	var yv *mes.YieldVarianceRecorded
	for _, e := range evs {
		if v, ok := e.Payload.(*mes.YieldVarianceRecorded); ok {
			yv = v
		}
	}
	require.NotNil(t, yv, "the variance is an event")
	assert.Equal(t, "signed by Sue Supervisor", yv.Variance.Reason)
	assert.Equal(t, "-0.08", yv.Variance.Variance.String())
}

func TestYieldSignaturePolicyRefusesAReasonCodeAlone(t *testing.T) {
	f, lot := yieldPlant(t, mes.WithYieldSignature())
	out := routing.Outcome{Good: qty("90 ea"), Scrap: []routing.ScrapLine{{Qty: qty("10 ea"), Reason: "POROSITY"}}, Reason: "BAD-MOLD"}
	_, err := f.plant.TrackOut(ctx, lot.ID, "10", out, operator)
	require.ErrorIs(t, err, routing.ErrYieldReasonRequired)
	assert.Contains(t, err.Error(), "must sign")
	_, err = f.plant.TrackOut(ctx, lot.ID, "10", out, operator, mes.SignedBy(mes.Credentials{SignerID: "sue", Secret: "secret-sue", Meaning: mes.Approval}))
	require.NoError(t, err)
}

func TestOverProductionWithinToleranceFlowsOnAndConsumptionVarianceIsRecorded(t *testing.T) {
	f, lot := yieldPlant(t)
	p := f.plant
	_, err := p.ConsumeMaterial(ctx, "ALU-1", lot.ID, "10", qty("205 kg"), operator)
	require.NoError(t, err)
	lot, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("98 ea"), Scrap: []routing.ScrapLine{{Qty: qty("2 ea"), Reason: "POROSITY"}}}, operator)
	require.NoError(t, err, "98 % is within tolerance: no reason needed")
	assert.Equal(t, "98 ea", lot.Execution.Finished.String())
	evs, err := p.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	var cv *mes.ConsumptionVariance
	for _, e := range evs {
		if v, ok := e.Payload.(*mes.ConsumptionVariance); ok {
			cv = v
		}
	}
	require.NotNil(t, cv)
	assert.Equal(t, "196 kg", cv.Standard.String(), "2 kg × 98 good")
	assert.Equal(t, "205 kg", cv.Actual.String())
	assert.Equal(t, "9 kg", cv.Variance.String())
}

func TestSplitWorkOrderMovesQuantityAndLotsAndMergesBack(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	_, err := p.StartLot(ctx, wo.ID, qty("20 ea"), planner)
	require.NoError(t, err)
	b, err := p.StartLot(ctx, wo.ID, qty("10 ea"), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, b.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, b.ID, "10", routing.Outcome{Good: qty("9 ea"), Scrap: []routing.ScrapLine{{Qty: qty("1 ea"), Reason: "CHATTER"}}}, operator)
	require.NoError(t, err)

	before := takeSnapshot(t, f.store)
	_, err = p.SplitWorkOrder(ctx, wo.ID, "4711-B", qty("25 ea"), nil, planner)
	require.ErrorIs(t, err, mes.ErrInvalid, "the original would keep 25 ea but started 30")
	_, err = p.SplitWorkOrder(ctx, wo.ID, "4711", qty("5 ea"), nil, planner)
	require.ErrorIs(t, err, mes.ErrDuplicate)
	_, err = p.SplitWorkOrder(ctx, wo.ID, "4711-B", qty("50 ea"), nil, planner)
	require.ErrorIs(t, err, mes.ErrInvalid)
	assert.Equal(t, before, takeSnapshot(t, f.store))

	nw, err := p.SplitWorkOrder(ctx, wo.ID, "4711-B", qty("25 ea"), []string{b.ID}, planner, mes.Reason("customer wants 25 early"))
	require.NoError(t, err)
	old, err := p.WorkOrder(ctx, wo.ID)
	require.NoError(t, err)
	assert.Equal(t, "25 ea", old.Qty.String())
	assert.Equal(t, "20 ea", old.Started.String())
	assert.Equal(t, "0 ea", old.Scrapped.String())
	assert.Equal(t, "25 ea", nw.Qty.String())
	assert.Equal(t, "10 ea", nw.Started.String())
	assert.Equal(t, "1 ea", nw.Scrapped.String(), "scrap follows the lot")
	assert.Equal(t, mes.StatusRunning, nw.Status)
	assert.Equal(t, "A", nw.RoutingRevision)
	moved, err := p.Lot(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, nw.ID, moved.WorkOrder)
	lots, err := p.LotsOfWorkOrder(ctx, "PLANT-1", nw.ID)
	require.NoError(t, err)
	assert.Len(t, lots, 1)
	_, err = p.TrackIn(ctx, b.ID, "20", units.Quantity{}, operator)
	require.NoError(t, err, "the moved lot keeps its place on the routing")

	merged, err := p.MergeWorkOrders(ctx, wo.ID, nw.ID, planner, mes.Reason("split by mistake"))
	require.NoError(t, err)
	assert.Equal(t, "50 ea", merged.Qty.String())
	assert.Equal(t, "30 ea", merged.Started.String())
	assert.Equal(t, "1 ea", merged.Scrapped.String())
	cancelled, err := p.WorkOrder(ctx, nw.ID)
	require.NoError(t, err)
	assert.Equal(t, mes.StatusCancelled, cancelled.Status)
	back, err := p.Lot(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, wo.ID, back.WorkOrder)
	_, err = p.VerifyAudit(ctx)
	require.NoError(t, err)
}

func TestRescheduleWorkOrder(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	_, err := p.StartLot(ctx, wo.ID, qty("30 ea"), planner)
	require.NoError(t, err)
	before := takeSnapshot(t, f.store)
	_, err = p.RescheduleWorkOrder(ctx, wo.ID, time.Time{}, qty("20 ea"), planner)
	assert.ErrorIs(t, err, mes.ErrInvalid, "below the 30 ea already started")
	_, err = p.RescheduleWorkOrder(ctx, wo.ID, time.Time{}, qty("60 kg"), planner)
	assert.ErrorIs(t, err, mes.ErrInvalid)
	_, err = p.RescheduleWorkOrder(ctx, wo.ID, time.Time{}, units.Quantity{}, planner)
	assert.ErrorIs(t, err, mes.ErrInvalid)
	assert.Equal(t, before, takeSnapshot(t, f.store))

	due := f.clock.Now().Add(240 * time.Hour)
	got, err := p.RescheduleWorkOrder(ctx, wo.ID, due, qty("60 ea"), planner, mes.Reason("customer added 10"))
	require.NoError(t, err)
	assert.Equal(t, "60 ea", got.Qty.String())
	assert.Equal(t, due, got.Due)
	trail, err := p.AuditTrail(ctx, 0, 0)
	require.NoError(t, err)
	last := trail[len(trail)-1]
	assert.Equal(t, "workorder.reschedule", last.Action)
	assert.Equal(t, "customer added 10", last.Reason)
	assert.Len(t, last.Changes, 2)
}

// A sublot split off a rework lot carries quantity its order started once: moving the
// family to another order, or merging the orders, moves it once.
func TestSublotsOfReworkLotsMoveWithTheirOrderOnce(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, qty("10 ea"), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("8 ea"), Rework: routing.ReworkLine{Qty: qty("2 ea"), To: "R10", Reason: "BORE"}}, operator)
	require.NoError(t, err)
	sub, err := p.SplitLot(ctx, lot.ID+"-R1", "R10", qty("1 ea"), planner)
	require.NoError(t, err)
	assert.Equal(t, lot.ID, sub.ReworkOf)

	nw, err := p.SplitWorkOrder(ctx, wo.ID, "4711-B", qty("20 ea"), []string{lot.ID, lot.ID + "-R1", sub.ID}, planner)
	require.NoError(t, err)
	assert.Equal(t, "10 ea", nw.Started.String(), "the family started 10 ea once")
	old, err := p.WorkOrder(ctx, wo.ID)
	require.NoError(t, err)
	assert.Equal(t, "0 ea", old.Started.String())

	merged, err := p.MergeWorkOrders(ctx, wo.ID, nw.ID, planner)
	require.NoError(t, err)
	assert.Equal(t, "10 ea", merged.Started.String())
}

// A lot's started quantity counts for its order unless it is a rework lot (its parent
// counted it): merging a rework lot with a lot that is not would count the rework twice or
// the other lot's quantity not at all, so it is refused and changes nothing.
func TestReworkLotsMergeOnlyWithReworkLots(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, qty("10 ea"), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("8 ea"), Rework: routing.ReworkLine{Qty: qty("2 ea"), To: "R10", Reason: "BORE"}}, operator)
	require.NoError(t, err)
	rw := lot.ID + "-R1"
	_, err = p.TrackIn(ctx, rw, "R10", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, rw, "R10", routing.Outcome{Good: qty("2 ea")}, operator)
	require.NoError(t, err)
	for id, want := range map[string]string{lot.ID: "8 ea", rw: "2 ea"} {
		l, err := p.Lot(ctx, id)
		require.NoError(t, err)
		require.Equal(t, want, books(t, l, "20").Waiting.String(), "both lots wait at step 20")
	}

	before := takeSnapshot(t, f.store)
	_, err = p.MergeLots(ctx, rw, lot.ID, planner)
	assert.ErrorIs(t, err, mes.ErrInvalid)
	assert.ErrorContains(t, err, "rework")
	assert.Equal(t, before, takeSnapshot(t, f.store))

	nw, err := p.SplitWorkOrder(ctx, wo.ID, "4711-B", qty("20 ea"), []string{lot.ID, rw}, planner)
	require.NoError(t, err)
	assert.Equal(t, "10 ea", nw.Started.String(), "the lot and its rework lot started 10 ea once")
}
