package mes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

const serialKind = "serial"

// Serial events.
type (
	// UnitsSerialized: units of a lot got serial numbers and left its on-hand quantity.
	UnitsSerialized struct {
		Lot      string   `json:"lot"`
		Material string   `json:"material"`
		Serials  []string `json:"serials"`
	}
	// ComponentAssembled: a component went into a serialised unit (a lot's quantity, or a
	// serialised component).
	ComponentAssembled struct {
		Into      string         `json:"into"`
		Component string         `json:"component"`
		WorkOrder string         `json:"work_order"`
		Step      string         `json:"step"`
		Qty       units.Quantity `json:"qty"`
	}
	// SerialShipped: a serialised unit left for a customer.
	SerialShipped struct {
		Serial   string `json:"serial"`
		Shipment string `json:"shipment"`
		Customer string `json:"customer"`
		Order    string `json:"order"`
	}
)

// EventType implements EventPayload.
func (UnitsSerialized) EventType() string { return "serial.created" }

// EventType implements EventPayload.
func (ComponentAssembled) EventType() string { return "serial.component_assembled" }

// EventType implements EventPayload.
func (SerialShipped) EventType() string { return "serial.shipped" }

func init() { registerEvent(&UnitsSerialized{}, &ComponentAssembled{}, &SerialShipped{}) }

// storedSerial is a serialised unit with the site it belongs to.
type storedSerial struct {
	genealogy.Serial
	Site string `json:"site"`
}

// checkSerialUsable refuses to use a serialised unit that is held through its lot, the
// lot's work order, its material or the lot's supplier lot, or whose lot has expired (as
// the lot's own quantity is refused).
func (c *command) checkSerialUsable(s storedSerial) error {
	if s.Lot == "" {
		return checkHolds(c.ctx, c.tx, s.Site, quality.Subject{Material: s.Material})
	}
	lot, err := c.loadLot(s.Lot)
	if err != nil {
		return err
	}
	if err := c.checkLotHolds(lot); err != nil {
		return err
	}
	if !lot.Expiry.IsZero() && !c.now.Before(lot.Expiry) {
		return fmt.Errorf("%w: %w: serial %s comes from %s, which expired at %s; use another unit", ErrInvalid, genealogy.ErrExpired, s.ID, lot.ref(), lot.Expiry.Format(time.RFC3339))
	}
	return nil
}

func (c *command) loadSerial(id string) (storedSerial, uint64, error) {
	var s storedSerial
	v, err := load(c.ctx, c.tx, serialKind, id, &s)
	if errors.Is(err, ErrNotFound) {
		return s, 0, fmt.Errorf("%w: serial %q does not exist; create it with SerializeUnits", ErrNotFound, id)
	}
	return s, v, err
}

func (c *command) saveSerial(s storedSerial, version uint64) error {
	_, err := save(c, serialKind, s.ID, s.Site, version, &s, nil, map[string]string{"lot": s.Lot, "status": string(s.Status)})
	if errors.Is(err, store.ErrConflict) && version == 0 {
		return fmt.Errorf("%w: serial %s already exists", ErrDuplicate, s.ID)
	}
	return err
}

// SerializeUnits gives units of a finished or received lot of a serial-tracked material
// their serial numbers. Each unit leaves the lot's on-hand quantity (the lot keeps only its
// unnumbered units, so lot moves cannot use a numbered unit again) and inherits the lot's
// genealogy; the lot's holds, work order, supplier lot and expiry still apply to it (a unit
// of an expired lot is neither assembled nor shipped). A held or
// expired lot is refused, as by other lot moves. A lot whose last unit is numbered becomes
// consumed. A serial number is unique in the store.
func (p *Plant) SerializeUnits(ctx context.Context, lotID string, serials []string, opts ...CommandOption) ([]genealogy.Serial, error) {
	return execute(ctx, p, "serial.create", []string{lotID}, opts, func(c *command) ([]genealogy.Serial, error) {
		lot, err := c.loadLot(lotID)
		if err != nil {
			return nil, err
		}
		if err := c.authorize(lot.Site); err != nil {
			return nil, err
		}
		if lot.unfinished() {
			return nil, fmt.Errorf("%w: %s has not finished its routing (it runs, or was aborted and needs a disposition); serialise finished or received lots", ErrWrongState, lot.ref())
		}
		if err := c.checkLotHolds(lot); err != nil {
			return nil, fmt.Errorf("cannot serialise %s: %w", lot.ref(), err)
		}
		m, err := c.loadMaterial(lot.Material)
		if err != nil {
			return nil, err
		}
		numbered := make([]genealogy.Serial, len(serials))
		for i, id := range serials {
			numbered[i] = genealogy.Serial{ID: id}
		}
		ch, err := genealogy.Serialize(m, lot.Lot, numbered, c.op(lot.WorkOrder, ""))
		if err != nil {
			return nil, genealogyErr(err)
		}
		for _, s := range ch.Serials {
			if err := c.saveSerial(storedSerial{Serial: s, Site: lot.Site}, 0); err != nil {
				return nil, err
			}
			c.record(objectRef(serialKind, s.ID), change("status", "", s.Status), change("lot", "", lot.ID))
		}
		if _, err := c.applyChange(genealogy.Change{Lots: ch.Lots, Edges: ch.Edges}, map[string]*Lot{lot.ID: lot}); err != nil {
			return nil, err
		}
		return ch.Serials, c.emit(lot.ID, UnitsSerialized{Lot: lot.ID, Material: m.ID, Serials: serials})
	})
}

// AssembleComponent records a component going into a serialised unit at a step: a
// serialised component (component names a serial; qty is ignored) or qty of a lot
// (component names a lot). The unit's as-built record (AsBuilt) lists it.
func (p *Plant) AssembleComponent(ctx context.Context, into, component, step string, qty units.Quantity, opts ...CommandOption) (genealogy.Serial, error) {
	return execute(ctx, p, "serial.assemble", []string{into, component, step}, opts, func(c *command) (genealogy.Serial, error) {
		unit, uv, err := c.loadSerial(into)
		if err != nil {
			return genealogy.Serial{}, err
		}
		if err := c.authorize(unit.Site); err != nil {
			return genealogy.Serial{}, err
		}
		if err := c.checkSerialUsable(unit); err != nil {
			return genealogy.Serial{}, fmt.Errorf("cannot assemble into serial %s: %w", unit.ID, err)
		}
		workOrder := ""
		var ch genealogy.Change
		if comp, cv, err := c.loadSerial(component); err == nil {
			if comp.Site != unit.Site {
				return genealogy.Serial{}, fmt.Errorf("%w: serial %s is in site %s, serial %s in %s; move material between sites first", ErrInvalid, comp.ID, comp.Site, unit.ID, unit.Site)
			}
			if err := c.checkSerialUsable(comp); err != nil {
				return genealogy.Serial{}, fmt.Errorf("cannot assemble serial %s: %w", comp.ID, err)
			}
			if ch, err = genealogy.Assemble(comp.Serial, unit.Serial, c.op(workOrder, step)); err != nil {
				return genealogy.Serial{}, genealogyErr(err)
			}
			if err := c.saveSerial(storedSerial{Serial: ch.Serials[0], Site: comp.Site}, cv); err != nil {
				return genealogy.Serial{}, err
			}
			c.record(objectRef(serialKind, comp.ID), change("status", comp.Status, ch.Serials[0].Status), change("into", "", into))
			qty = units.MustParse("1 ea")
		} else {
			lot, lerr := c.loadLot(component)
			if lerr != nil {
				return genealogy.Serial{}, fmt.Errorf("%w: component %q is neither a serial nor a lot", ErrNotFound, component)
			}
			switch {
			case lot.unfinished():
				return genealogy.Serial{}, fmt.Errorf("%w: %s has not finished its routing; assemble finished or received lots", ErrWrongState, lot.ref())
			case lot.Site != unit.Site:
				return genealogy.Serial{}, fmt.Errorf("%w: %s is in site %s, serial %s in %s; move material between sites first", ErrInvalid, lot.ref(), lot.Site, unit.ID, unit.Site)
			}
			if err := c.checkLotHolds(lot); err != nil {
				return genealogy.Serial{}, fmt.Errorf("cannot assemble %s: %w", lot.ref(), err)
			}
			workOrder = lot.WorkOrder
			if ch, err = genealogy.ConsumeIntoSerial(lot.Lot, unit.Serial, qty, c.op(workOrder, step)); err != nil {
				return genealogy.Serial{}, genealogyErr(err)
			}
			before := lot.OnHand
			lot.Lot = ch.Lots[0]
			if err := c.saveLot(lot); err != nil {
				return genealogy.Serial{}, err
			}
			c.record(objectRef(lotKind, lot.ID), change("on_hand", before, lot.OnHand))
		}
		if err := c.tx.AddEdges(c.ctx, ch.Edges...); err != nil {
			return genealogy.Serial{}, err
		}
		c.record(objectRef(serialKind, into), change("component", "", component))
		if err := c.emit(into, ComponentAssembled{Into: into, Component: component, WorkOrder: workOrder, Step: step, Qty: qty}); err != nil {
			return genealogy.Serial{}, err
		}
		return unit.Serial, c.saveSerial(unit, uv)
	})
}

// ShipSerial sends a serialised unit to a customer shipment.
func (p *Plant) ShipSerial(ctx context.Context, serial string, shipment genealogy.Shipment, opts ...CommandOption) (genealogy.Serial, error) {
	return execute(ctx, p, "serial.ship", []string{serial, shipment.ID}, opts, func(c *command) (genealogy.Serial, error) {
		s, v, err := c.loadSerial(serial)
		if err != nil {
			return genealogy.Serial{}, err
		}
		if err := c.authorize(s.Site); err != nil {
			return genealogy.Serial{}, err
		}
		if err := c.checkSerialUsable(s); err != nil {
			return genealogy.Serial{}, fmt.Errorf("cannot ship serial %s: %w", s.ID, err)
		}
		ch, err := genealogy.ShipSerial(s.Serial, shipment, c.op("", ""))
		if err != nil {
			return genealogy.Serial{}, genealogyErr(err)
		}
		shipped := storedSerial{Serial: ch.Serials[0], Site: s.Site}
		if err := c.saveSerial(shipped, v); err != nil {
			return genealogy.Serial{}, err
		}
		if err := c.tx.AddEdges(c.ctx, ch.Edges...); err != nil {
			return genealogy.Serial{}, err
		}
		c.record(objectRef(serialKind, s.ID), change("status", s.Status, shipped.Status), change("shipment", "", shipment.ID))
		return shipped.Serial, c.emit(s.ID, SerialShipped{Serial: s.ID, Shipment: shipment.ID, Customer: shipment.Customer, Order: shipment.Order})
	})
}

// Serial returns a serialised unit.
func (p *Plant) Serial(ctx context.Context, id string) (genealogy.Serial, error) {
	var s storedSerial
	err := p.view(ctx, func(tx store.ReadTx) error {
		_, err := load(ctx, tx, serialKind, id, &s)
		return err
	})
	return s.Serial, err
}
