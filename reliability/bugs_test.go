package reliability

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store/memstore"
)

// startedLot creates and releases a work order of qty ea and starts one lot of all of it.
func startedLot(t *testing.T, p *mes.Plant, number string, qty int64) mes.Lot {
	t.Helper()
	ctx, by := context.Background(), mes.By(admin)
	wo, err := p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: site, Number: number, Product: product, Qty: ea(qty)}, by)
	require.NoError(t, err)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, by)
	require.NoError(t, err)
	lot, err := p.StartLot(ctx, wo.ID, ea(qty), by)
	require.NoError(t, err)
	return lot
}

// lotAtInspection starts a lot of 10 ea, machines it and tracks it in at step 20.
func lotAtInspection(t *testing.T, p *mes.Plant, number string) mes.Lot {
	t.Helper()
	ctx, by := context.Background(), mes.By(admin)
	lot := startedLot(t, p, number, 10)
	_, err := p.TrackIn(ctx, lot.ID, "10", ea(0), by)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: ea(10)}, by)
	require.NoError(t, err)
	lot, err = p.TrackIn(ctx, lot.ID, "20", ea(0), by)
	require.NoError(t, err)
	return lot
}

// Fixed bug 1 (found by TestModel): RecordInspection ran a plan's rework reaction on a
// lot that an active hold covers. The reaction tracks quantity out of the held lot
// (mes/quality.go, RecordInspection -> react -> rework -> bookAtStep or MoveBack) and
// splits it into a rework lot that no hold covers, so held material moves and escapes its
// hold. Input: lot held (PlaceHold on the lot), then RecordInspection at step 20 with
// bore 10.300 (plan BORE: above 10.2 -> ReworkTo R10).
func TestBugReworkReactionMovesHeldLot(t *testing.T) {
	ctx, by := context.Background(), mes.By(admin)
	p := openPlant(t, memstore.New(), newClock(), "id-")
	require.NoError(t, setupPlant(ctx, p))
	lot := lotAtInspection(t, p, "BUG-1")
	_, err := p.PlaceHold(ctx, site, quality.Target{Kind: quality.OnLot, ID: lot.ID}, "contamination suspected", by)
	require.NoError(t, err)
	res, err := p.RecordInspection(ctx, lot.ID, "20", []quality.Result{{Characteristic: "bore", Value: decimal.NewNullDecimal(decimal.RequireFromString("10.300")), Serial: "S1"}}, by)
	require.NoError(t, err, "recording results on held material is allowed")
	after, err := p.Lot(ctx, lot.ID)
	require.NoError(t, err)
	assert.Equal(t, stepQty(lot, "20").InProcess.String(), stepQty(after, "20").InProcess.String(), "a held lot's quantity must not move")
	assert.Empty(t, res.ReworkLot, "no rework lot may be split off a held lot (it would not be held)")
}

// Fixed bug 2 (found by TestModel; fix in mes/lot.go loadStep): a hold on the work center
// of a step did not stop a track-in or track-out that named no equipment (no mes.On),
// although the engine then recorded the move on that work center. loadStep checked holds
// with the command's equipment before checkEquipment defaulted it to the step's work
// center.
func TestHoldOnWorkCenterStopsMovesWithoutEquipment(t *testing.T) {
	ctx, by := context.Background(), mes.By(admin)
	p := openPlant(t, memstore.New(), newClock(), "id-")
	require.NoError(t, setupPlant(ctx, p))
	lot := startedLot(t, p, "BUG-2", 10)
	_, err := p.TrackIn(ctx, lot.ID, "10", ea(4), by)
	require.NoError(t, err)
	hold, err := p.PlaceHold(ctx, site, quality.Target{Kind: quality.OnEquipment, ID: "CNC"}, "spindle vibration", by)
	require.NoError(t, err)

	_, err = p.TrackIn(ctx, lot.ID, "10", ea(0), by)
	require.ErrorIs(t, err, mes.ErrOnHold, "the step runs on CNC, which is held")
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: ea(4)}, by)
	require.ErrorIs(t, err, mes.ErrOnHold)
	_, err = p.TrackIn(ctx, lot.ID, "10", ea(0), by, mes.On("LATHE"))
	require.NoError(t, err, "the alternate work center is not held")

	_, err = p.ReleaseHold(ctx, hold.ID, by, mes.Reason("spindle replaced"))
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: ea(4)}, by)
	require.NoError(t, err)
}

// Fixed bug 3 (found by TestModel): SplitWorkOrder and MergeWorkOrders moved the lots' own
// Execution.Started, Finished and scrap between the orders (mes/workordersplit.go,
// moveLots). A rework sublot's Started is already counted in its parent's (the parent
// books it as Rework), and a lot merged into another keeps its books although the target
// added them; so moving such lots counts their quantity twice. Input: a lot of 10 ea
// tracked out with 8 good and 2 rework (sublot -R1), then MergeWorkOrders(other, order):
// the merged-away order is left with started -2 ea and the receiving one with 12 ea.
func TestBugMergeWorkOrdersCountsReworkLotsTwice(t *testing.T) {
	ctx, by := context.Background(), mes.By(admin)
	p := openPlant(t, memstore.New(), newClock(), "id-")
	require.NoError(t, setupPlant(ctx, p))
	lot := startedLot(t, p, "BUG-3", 10)
	_, err := p.TrackIn(ctx, lot.ID, "10", ea(0), by)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: ea(8), Rework: routing.ReworkLine{Qty: ea(2), To: "R10", Reason: "BORE"}}, by)
	require.NoError(t, err)
	other := startedLot(t, p, "BUG-3B", 5)
	into, err := p.MergeWorkOrders(ctx, other.WorkOrder, lot.WorkOrder, by)
	require.NoError(t, err)
	from, err := p.WorkOrder(ctx, lot.WorkOrder)
	require.NoError(t, err)
	assert.Equal(t, "0 ea", from.Started.String(), "everything the merged order started moved")
	assert.Equal(t, "15 ea", into.Started.String(), "5 ea of its own + 10 ea of the merged order")
}
