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
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// serialPlant is plantWithPump with serial-tracked motors and units: lot MOT-L1 of 3 ea
// numbered M-001 and M-002 (one unnumbered motor is left), lot UNIT-L1 of 1 ea numbered
// U-100.
func serialPlant(t *testing.T) fixture {
	t.Helper()
	f := plantWithPump(t)
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "MOTOR", Unit: "ea", Tracking: genealogy.TrackSerial, Kind: genealogy.KindComponent}, admin))
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "UNIT", Unit: "ea", Tracking: genealogy.TrackSerial, Kind: genealogy.KindProduct}, admin))
	_, err := p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "MOT-L1", Material: "MOTOR", Qty: qty("3 ea"), Supplier: "Volt", SupplierLot: "V-9"}, admin)
	require.NoError(t, err)
	_, err = p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "UNIT-L1", Material: "UNIT", Qty: qty("1 ea"), Supplier: "self", SupplierLot: "frame"}, admin)
	require.NoError(t, err)
	_, err = p.SerializeUnits(ctx, "MOT-L1", []string{"M-001", "M-002"}, admin)
	require.NoError(t, err)
	_, err = p.SerializeUnits(ctx, "UNIT-L1", []string{"U-100"}, admin)
	require.NoError(t, err)
	return f
}

// requireBalanced checks that a lot's on hand equals what its genealogy edges account for.
func requireBalanced(t *testing.T, f fixture, id string) {
	t.Helper()
	lot, err := f.plant.Lot(ctx, id)
	require.NoError(t, err)
	var edges []genealogy.Edge
	require.NoError(t, f.store.View(ctx, func(tx store.ReadTx) error {
		in, err := tx.Inputs(ctx, genealogy.LotNode(id))
		if err != nil {
			return err
		}
		out, err := tx.Outputs(ctx, genealogy.LotNode(id))
		edges = append(in, out...)
		return err
	}))
	bal, err := genealogy.Balance(id, lot.OnHand.Unit(), edges)
	require.NoError(t, err)
	assert.True(t, bal.Equal(lot.OnHand), "lot %s: on hand %s, edges say %s", id, lot.OnHand, bal)
}

func TestSerialisingTakesUnitsOutOfTheLot(t *testing.T) {
	f := serialPlant(t)
	p := f.plant
	motors, err := p.Lot(ctx, "MOT-L1")
	require.NoError(t, err)
	assert.Equal(t, "1 ea", motors.OnHand.String(), "two of three motors carry serial numbers now")
	assert.Equal(t, genealogy.Available, motors.Status)
	units, err := p.Lot(ctx, "UNIT-L1")
	require.NoError(t, err)
	assert.True(t, units.OnHand.IsZero())
	assert.Equal(t, genealogy.Consumed, units.Status, "its only unit became a serial")
	for _, id := range []string{"MOT-L1", "UNIT-L1"} {
		requireBalanced(t, f, id)
	}
	m1, err := p.Serial(ctx, "M-001")
	require.NoError(t, err)
	assert.Equal(t, "MOT-L1", m1.Lot, "the serial names the lot it came from")

	rep, err := p.Recall(ctx, genealogy.SupplierLotNode("MOTOR", "Volt", "V-9"))
	require.NoError(t, err)
	contained := map[string]string{}
	for _, it := range rep.Items {
		contained[it.Node.String()] = it.Contained.String()
	}
	assert.Equal(t, map[string]string{"lot:MOT-L1": "3 ea", "serial:M-001": "1 ea", "serial:M-002": "1 ea"}, contained,
		"each serial holds one of the three motors; the lot keeps the third")

	audit, err := f.store.ReadAudit(ctx, 0, 0)
	require.NoError(t, err)
	var onHand []store.Change
	for _, r := range audit {
		if r.Action == "serial.create" && r.Object == "lot/MOT-L1" {
			for _, c := range r.Changes {
				if c.Field == "on_hand" {
					onHand = append(onHand, c)
				}
			}
		}
	}
	assert.Equal(t, []store.Change{{Field: "on_hand", Before: "3 ea", After: "1 ea"}}, onHand, "the audit trail shows the units leaving the lot")
}

// A numbered unit is no longer lot quantity: no lot move can use it a second time.
func TestSerialisedUnitsAreNotUsedAgainThroughTheirLot(t *testing.T) {
	f := serialPlant(t)
	p := f.plant
	_, err := p.AssembleComponent(ctx, "U-100", "M-001", "30", units.Quantity{}, operator, mes.On("ASSY"))
	require.NoError(t, err)
	_, err = p.ShipSerial(ctx, "M-002", genealogy.Shipment{ID: "SH-1", Customer: "Initech"}, planner)
	require.NoError(t, err)
	running, err := p.StartLot(ctx, releasedOrder(t, f, "1").ID, qty("10 ea"), planner)
	require.NoError(t, err)
	_, err = p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "UNIT-L2", Material: "UNIT", Qty: qty("1 ea"), Supplier: "self", SupplierLot: "frame"}, admin)
	require.NoError(t, err)
	_, err = p.SerializeUnits(ctx, "UNIT-L2", []string{"U-200"}, admin)
	require.NoError(t, err)

	before := takeSnapshot(t, f.store)
	for name, use := range map[string]func() error{
		"ship the lot's 2 ea, one assembled, one shipped as a serial": func() error {
			_, err := p.ShipLot(ctx, "MOT-L1", genealogy.Shipment{ID: "SH-2", Customer: "Initech"}, qty("2 ea"), planner)
			return err
		},
		"consume them": func() error {
			_, err := p.ConsumeMaterial(ctx, "MOT-L1", running.ID, "10", qty("2 ea"), operator)
			return err
		},
		"assemble them as lot quantity": func() error {
			_, err := p.AssembleComponent(ctx, "U-200", "MOT-L1", "30", qty("2 ea"), operator)
			return err
		},
		"split them off": func() error {
			_, err := p.SplitLot(ctx, "MOT-L1", "", qty("2 ea"), planner)
			return err
		},
	} {
		require.ErrorIs(t, use(), mes.ErrInvalid, name)
		assert.Contains(t, use().Error(), "has only 1 ea on hand", name)
	}
	assert.Equal(t, before, takeSnapshot(t, f.store), "refused moves change nothing")

	_, err = p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "MOT-L2", Material: "MOTOR", Qty: qty("1 ea"), Supplier: "Volt", SupplierLot: "V-9"}, admin)
	require.NoError(t, err)
	merged, err := p.MergeLots(ctx, "MOT-L2", "MOT-L1", planner)
	require.NoError(t, err)
	assert.Equal(t, "2 ea", merged.OnHand.String(), "a merge moves the unnumbered motor only")
	_, err = p.ShipLot(ctx, "MOT-L2", genealogy.Shipment{ID: "SH-2", Customer: "Initech"}, qty("2 ea"), planner)
	require.NoError(t, err, "the two unnumbered motors ship")
	for _, id := range []string{"MOT-L1", "MOT-L2"} {
		requireBalanced(t, f, id)
	}
}

// Back-flush takes from the unnumbered quantity only.
func TestBackflushSkipsSerialisedUnits(t *testing.T) {
	f := serialPlant(t)
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "GEARBOX", Unit: "ea", Tracking: genealogy.TrackSerial, Kind: genealogy.KindProduct}, admin))
	rt, err := routing.New("GEARBOX", "A").
		Step("10", "Fit motor", routing.At("ASSY"), routing.Consume("MOTOR", "1 ea", routing.Backflushed, routing.LotTracked)).
		Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", rt, admin)
	require.NoError(t, err)
	in := newOrder("GB-1")
	in.Product, in.Qty = "GEARBOX", qty("2 ea")
	wo, err := p.CreateWorkOrder(ctx, in, erp)
	require.NoError(t, err)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	lot, err := p.StartLot(ctx, wo.ID, qty("2 ea"), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)

	_, err = p.SerializeUnits(ctx, lot.ID, []string{"GB-001"}, admin)
	require.ErrorIs(t, err, mes.ErrWrongState, "a running lot's units are still on its routing")
	assert.Contains(t, err.Error(), "serialise finished or received lots")

	before := takeSnapshot(t, f.store)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("2 ea")}, operator)
	require.ErrorIs(t, err, mes.ErrInvalid, "two motors needed, one unnumbered motor in stock")
	assert.Contains(t, err.Error(), "is short")
	assert.Equal(t, before, takeSnapshot(t, f.store))

	_, err = p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "MOT-L2", Material: "MOTOR", Qty: qty("1 ea"), Supplier: "Volt", SupplierLot: "V-10"}, admin)
	require.NoError(t, err)
	done, err := p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("2 ea")}, operator)
	require.NoError(t, err)
	require.False(t, done.Execution.Running())
	for _, id := range []string{"MOT-L1", "MOT-L2"} {
		l, err := p.Lot(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, genealogy.Consumed, l.Status, id)
		requireBalanced(t, f, id)
	}
	_, err = p.SerializeUnits(ctx, lot.ID, []string{"GB-001", "GB-002"}, admin)
	require.NoError(t, err, "a finished lot's units get serial numbers")
	requireBalanced(t, f, lot.ID)
}

// Serialising moves units out of their lot, so a held lot is refused as by every other
// lot move: its on-hand quantity stays as it was until the hold is released.
func TestSerialisingAHeldLotIsRefused(t *testing.T) {
	f := serialPlant(t)
	p := f.plant
	for _, target := range []quality.Target{
		{Kind: quality.OnLot, ID: "MOT-L1"},
		{Kind: quality.OnMaterial, ID: "MOTOR", SupplierLot: "V-9"},
	} {
		hold, err := p.PlaceHold(ctx, "PLANT-1", target, "suspect motors", planner)
		require.NoError(t, err)
		before := takeSnapshot(t, f.store)
		_, err = p.SerializeUnits(ctx, "MOT-L1", []string{"M-003"}, admin)
		require.ErrorIs(t, err, mes.ErrOnHold, "%v", target)
		assert.Contains(t, err.Error(), "cannot serialise lot MOT-L1")
		assert.Equal(t, before, takeSnapshot(t, f.store), "a refused serialisation changes nothing")
		_, err = p.ReleaseHold(ctx, hold.ID, planner, mes.Reason("motors tested"))
		require.NoError(t, err)
	}
	_, err := p.SerializeUnits(ctx, "MOT-L1", []string{"M-003"}, admin)
	require.NoError(t, err, "released, the last motor gets its number")
}

// TestSerialOfAnotherSiteIsNotAssembled: a serialised component goes into a unit of its own
// site only, as a lot component does.
func TestSerialOfAnotherSiteIsNotAssembled(t *testing.T) {
	f := serialPlant(t)
	p := f.plant
	_, err := p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-2", Lot: "MOT-L2", Material: "MOTOR", Qty: qty("1 ea"), Supplier: "Volt", SupplierLot: "V-10"}, admin)
	require.NoError(t, err)
	_, err = p.SerializeUnits(ctx, "MOT-L2", []string{"M-201"}, admin)
	require.NoError(t, err)

	before := takeSnapshot(t, f.store)
	_, err = p.AssembleComponent(ctx, "U-100", "M-201", "30", units.Quantity{}, operator)
	require.ErrorIs(t, err, mes.ErrInvalid)
	assert.Contains(t, err.Error(), "serial M-201 is in site PLANT-2, serial U-100 in PLANT-1")
	assert.Equal(t, before, takeSnapshot(t, f.store))
}

// TestSerialOfAnExpiredLotIsNotUsed: a unit numbered out of a lot before the lot expired
// is neither assembled nor shipped after it, as the lot's own quantity is not.
func TestSerialOfAnExpiredLotIsNotUsed(t *testing.T) {
	f := serialPlant(t)
	p := f.plant
	_, err := p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "MOT-L3", Material: "MOTOR", Qty: qty("2 ea"), Supplier: "Volt", SupplierLot: "V-11", Expiry: f.clock.Now().Add(time.Hour)}, admin)
	require.NoError(t, err)
	_, err = p.SerializeUnits(ctx, "MOT-L3", []string{"M-301"}, admin)
	require.NoError(t, err)
	f.clock.Advance(2 * time.Hour)

	before := takeSnapshot(t, f.store)
	_, err = p.AssembleComponent(ctx, "U-100", "M-301", "30", units.Quantity{}, operator)
	require.ErrorIs(t, err, genealogy.ErrExpired)
	assert.Contains(t, err.Error(), "serial M-301 comes from lot MOT-L3, which expired at")
	_, err = p.ShipSerial(ctx, "M-301", genealogy.Shipment{ID: "SH-1", Customer: "C"}, planner)
	require.ErrorIs(t, err, genealogy.ErrExpired)
	_, err = p.ShipLot(ctx, "MOT-L3", genealogy.Shipment{ID: "SH-1", Customer: "C"}, qty("1 ea"), planner)
	require.ErrorIs(t, err, genealogy.ErrExpired, "as the lot's unnumbered unit")
	assert.Equal(t, before, takeSnapshot(t, f.store))
}
