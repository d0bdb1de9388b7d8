package genealogy

import (
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/units"
)

// Receive creates lot from qty of material m delivered by a supplier. lot is the new lot:
// ID, Supplier and SupplierLot set, optionally Site and Expiry, Status empty. The edge comes
// from the supplier lot's node (SupplierLotNode), where a recall starts.
func Receive(m Material, lot Lot, qty units.Quantity, op Op) (Change, error) {
	var ps Problems
	checkOp(&ps, op)
	m.check(&ps, "material")
	checkNew(&ps, "lot", lot, m)
	for _, f := range []struct{ field, value string }{{"lot.supplier", lot.Supplier}, {"lot.supplier_lot", lot.SupplierLot}} {
		switch {
		case f.value == "":
			ps.add(f.field, f.value, ErrInvalid, "a received lot needs its supplier and the supplier's lot number (use the delivery note number when the supplier has none)")
		case strings.Contains(f.value, "|"):
			ps.add(f.field, f.value, ErrInvalid, "remove the '|' character, which separates the parts of a supplier lot node")
		}
	}
	q, _ := positiveIn(&ps, "qty", qty, m.Unit)
	if err := ps.err(); err != nil {
		return Change{}, err
	}
	lot = created(lot, m.ID, q, op.At)
	e := op.edge(EdgeReceive, SupplierLotNode(m.ID, lot.Supplier, lot.SupplierLot), LotNode(lot.ID), q)
	return Change{Lots: []Lot{lot}, Edges: []Edge{e}}, nil
}

// Produce reports qty of material m made into lot by a work order step (op.WorkOrder is
// required). lot is either new (Status empty: it is created) or an available lot of m that
// grows. Link the components with Consume.
func Produce(m Material, lot Lot, qty units.Quantity, op Op) (Change, error) {
	var ps Problems
	checkOp(&ps, op)
	m.check(&ps, "material")
	if op.WorkOrder == "" {
		ps.add("op.work_order", "", ErrInvalid, "production is reported by a work order; set Op.WorkOrder")
	}
	unit := m.Unit
	if lot.Status == "" {
		checkNew(&ps, "lot", lot, m)
	} else {
		requireID(&ps, "lot.id", lot.ID)
		requireStatus(&ps, "lot.status", lot.ID, lot.Status, Available)
		if lot.Material != m.ID {
			ps.add("lot.material", lot.Material, ErrMaterialMismatch, "lot %s holds %s, not %s; produce into a lot of %s", lot.ID, lot.Material, m.ID, m.ID)
		}
		unit = lot.OnHand.Unit()
	}
	q, _ := positiveIn(&ps, "qty", qty, unit)
	if err := ps.err(); err != nil {
		return Change{}, err
	}
	if lot.Status == "" {
		lot = created(lot, m.ID, q, op.At)
	} else {
		lot.OnHand, _ = lot.OnHand.Add(q)
	}
	return Change{Lots: []Lot{lot}, Edges: []Edge{op.edge(EdgeProduce, Node{}, LotNode(lot.ID), q)}}, nil
}

// Consume records qty of lot from going into the produced lot into (at op's step, work
// order, equipment, operator and time). from must be available, not expired (per
// op.Expiry) and hold at least qty.
func Consume(from, into Lot, qty units.Quantity, op Op) (Change, error) {
	var ps Problems
	var warnings []error
	checkOp(&ps, op)
	q := checkTake(&ps, "from", from, qty, op, &warnings)
	requireID(&ps, "into.id", into.ID)
	requireStatus(&ps, "into.status", into.ID, into.Status, Available)
	if from.ID == into.ID && from.ID != "" {
		ps.add("into.id", into.ID, ErrCycle, "a lot cannot consume itself; consume into the lot being produced")
	} else {
		into.Level = checkFeed(&ps, "into", from, into)
	}
	if err := ps.err(); err != nil {
		return Change{}, err
	}
	from = debit(from, q, Consumed, true)
	e := op.edge(EdgeConsume, LotNode(from.ID), LotNode(into.ID), q)
	return Change{Lots: []Lot{from, into}, Edges: []Edge{e}, Warnings: warnings}, nil
}

// ConsumeIntoSerial records qty of lot from going into the serialised unit into, for the
// serial's as-built record. from is checked as by Consume; into must be available.
func ConsumeIntoSerial(from Lot, into Serial, qty units.Quantity, op Op) (Change, error) {
	var ps Problems
	var warnings []error
	checkOp(&ps, op)
	q := checkTake(&ps, "from", from, qty, op, &warnings)
	requireID(&ps, "into.id", into.ID)
	requireStatus(&ps, "into.status", into.ID, into.Status, Available)
	if err := ps.err(); err != nil {
		return Change{}, err
	}
	from = debit(from, q, Consumed, false)
	e := op.edge(EdgeConsume, LotNode(from.ID), SerialNode(into.ID), q)
	return Change{Lots: []Lot{from}, Serials: []Serial{into}, Edges: []Edge{e}, Warnings: warnings}, nil
}

// Serialize creates serials, units of material m (which must be serial-tracked), one unit
// each. When lot is not the zero Lot, the units come out of it: each serial takes one unit
// out of the lot's on-hand quantity by a Serialize edge (checked as Consume checks a take:
// the lot available, not expired per op.Expiry, holding enough units, and counted in a unit
// in which one piece is exact, such as ea), and inherits the lot's genealogy. A lot whose
// last unit is numbered becomes Consumed. The serials are returned in the order given.
func Serialize(m Material, lot Lot, serials []Serial, op Op) (Change, error) {
	var ps Problems
	var warnings []error
	checkOp(&ps, op)
	m.check(&ps, "material")
	if m.Tracking != TrackSerial {
		ps.add("material.tracking", string(m.Tracking), ErrInvalid, "material %s is not serial-tracked; set Tracking to %q to give units serial numbers", m.ID, TrackSerial)
	}
	if len(serials) == 0 {
		ps.add("serials", "", ErrInvalid, "give at least one serial to create")
	}
	seen := map[string]bool{}
	for i, s := range serials {
		field := "serials[" + itoa(i) + "]"
		requireID(&ps, field+".id", s.ID)
		if seen[s.ID] && s.ID != "" {
			ps.add(field+".id", s.ID, ErrInvalid, "serial %s is listed twice; give each unit its own serial number", s.ID)
		}
		seen[s.ID] = true
		if s.Status != "" {
			ps.add(field+".status", string(s.Status), ErrInvalid, "serial %s already exists; pass a new serial with an empty status", s.ID)
		}
		if s.Material != "" && s.Material != m.ID {
			ps.add(field+".material", s.Material, ErrMaterialMismatch, "serial %s names material %s, not %s", s.ID, s.Material, m.ID)
		}
	}
	var each units.Quantity // one unit, in the lot's unit
	if lot.ID != "" {
		if lot.Material != m.ID {
			ps.add("lot.material", lot.Material, ErrMaterialMismatch, "lot %s holds %s; a unit of %s cannot come from it", lot.ID, lot.Material, m.ID)
		}
		checkUsable(&ps, "lot", lot, op, &warnings)
		var err error
		if each, err = one().InExactly(lot.OnHand.Unit()); err != nil {
			ps.add("lot.on_hand", lot.OnHand.String(), ErrUnit,
				"lot %s is counted in %s, which cannot express exactly one piece (%v); serial numbers go to units of lots counted in ea or another unit of one piece", lot.ID, lot.OnHand.Unit(), err)
		} else if len(serials) > 0 {
			checkEnough(&ps, "serials", lot, each.Mul(decimal.NewFromInt(int64(len(serials)))),
				"number at most that many units (units numbered before left the lot with their serials)")
		}
	}
	if err := ps.err(); err != nil {
		return Change{}, err
	}
	ch := Change{Serials: make([]Serial, len(serials)), Warnings: warnings}
	for i, s := range serials {
		s.Material, s.Lot, s.Status = m.ID, lot.ID, Available
		ch.Serials[i] = s
		if lot.ID != "" {
			lot = debit(lot, each, Consumed, false)
			ch.Edges = append(ch.Edges, op.edge(EdgeSerialize, LotNode(lot.ID), SerialNode(s.ID), each))
		}
	}
	if lot.ID != "" {
		ch.Lots = []Lot{lot}
	}
	return ch, nil
}

// Assemble records serial component built into serial into: the serial-to-component map.
// Both must be available; the component becomes Consumed.
func Assemble(component, into Serial, op Op) (Change, error) {
	var ps Problems
	checkOp(&ps, op)
	requireID(&ps, "component.id", component.ID)
	requireID(&ps, "into.id", into.ID)
	requireStatus(&ps, "component.status", component.ID, component.Status, Available)
	requireStatus(&ps, "into.status", into.ID, into.Status, Available)
	if component.ID == into.ID && into.ID != "" {
		ps.add("into.id", into.ID, ErrCycle, "a serial cannot be built into itself")
	}
	if err := ps.err(); err != nil {
		return Change{}, err
	}
	component.Status = Consumed
	e := op.edge(EdgeAssemble, SerialNode(component.ID), SerialNode(into.ID), one())
	return Change{Serials: []Serial{component, into}, Edges: []Edge{e}}, nil
}

// Part is one sublot of a Split.
type Part struct {
	ID  string         `json:"id"`
	Qty units.Quantity `json:"qty"`
}

// Split moves the parts' quantities out of parent into new sublots (Parent set, material,
// supplier, site and expiry inherited). The parts may not add up to more than parent has;
// what they leave stays in parent.
func Split(parent Lot, parts []Part, op Op) (Change, error) {
	var ps Problems
	checkOp(&ps, op)
	requireID(&ps, "parent.id", parent.ID)
	requireStatus(&ps, "parent.status", parent.ID, parent.Status, Available)
	if len(parts) == 0 {
		ps.add("parts", "", ErrInvalid, "give at least one part to split off")
	}
	unit := parent.OnHand.Unit()
	total := units.Quantity{}
	seen := map[string]bool{parent.ID: true}
	qs := make([]units.Quantity, len(parts))
	for i, p := range parts {
		field := "parts[" + itoa(i) + "]"
		switch {
		case p.ID == "":
			ps.add(field+".id", "", ErrInvalid, "each sublot needs an id")
		case seen[p.ID]:
			ps.add(field+".id", p.ID, ErrInvalid, "id %s is the parent's or another part's; give each sublot a new id", p.ID)
		}
		seen[p.ID] = true
		var ok bool
		if qs[i], ok = positiveIn(&ps, field+".qty", p.Qty, unit); ok {
			total, _ = total.Add(qs[i])
		}
	}
	if total.IsPositive() {
		checkEnough(&ps, "parts", parent, total, takeHint)
	}
	if err := ps.err(); err != nil {
		return Change{}, err
	}
	ch := Change{Lots: []Lot{debit(parent, total, Consumed, true)}}
	for i, p := range parts {
		child := Lot{ID: p.ID, Material: parent.Material, Site: parent.Site, Status: Available, OnHand: qs[i],
			SupplierLot: parent.SupplierLot, Supplier: parent.Supplier, Expiry: parent.Expiry, Parent: parent.ID,
			CreatedAt: op.At.UTC(), Level: parent.Level + 1}
		ch.Lots = append(ch.Lots, child)
		ch.Edges = append(ch.Edges, op.edge(EdgeSplit, LotNode(parent.ID), LotNode(child.ID), qs[i]))
	}
	return ch, nil
}

// Merge moves everything the sources have on hand into target. target is an available lot
// of the same material and unit, or a new lot (Status empty) that takes the material, site
// and unit of the first source. The target's expiry becomes the earliest of all.
func Merge(target Lot, sources []Lot, op Op) (Change, error) {
	var ps Problems
	checkOp(&ps, op)
	requireID(&ps, "target.id", target.ID)
	if len(sources) == 0 {
		ps.add("sources", "", ErrInvalid, "give at least one lot to merge")
		return Change{}, ps
	}
	if target.Status == "" {
		first := sources[0]
		supplier, supplierLot := first.Supplier, first.SupplierLot
		for _, s := range sources {
			if s.Supplier != supplier || s.SupplierLot != supplierLot {
				supplier, supplierLot = "", ""
			}
		}
		target = Lot{ID: target.ID, Material: first.Material, Site: first.Site, Status: Available,
			OnHand: zeroIn(first.OnHand.Unit()), Supplier: supplier, SupplierLot: supplierLot, CreatedAt: op.At.UTC()}
	} else {
		requireStatus(&ps, "target.status", target.ID, target.Status, Available)
	}
	seen := map[string]bool{}
	for i, s := range sources {
		field := "sources[" + itoa(i) + "]"
		requireID(&ps, field+".id", s.ID)
		requireStatus(&ps, field+".status", s.ID, s.Status, Available)
		switch {
		case s.ID == target.ID:
			ps.add(field+".id", s.ID, ErrCycle, "the target cannot be merged into itself; list only the other lots")
			continue
		case seen[s.ID]:
			ps.add(field+".id", s.ID, ErrInvalid, "lot %s is listed twice", s.ID)
		}
		seen[s.ID] = true
		if s.Material != target.Material || s.OnHand.Unit() != target.OnHand.Unit() {
			ps.add(field+".material", s.Material+" in "+string(s.OnHand.Unit()), ErrMaterialMismatch,
				"lot %s holds %s in %s but the target holds %s in %s; merge only lots of one material and unit", s.ID, s.Material, s.OnHand.Unit(), target.Material, target.OnHand.Unit())
			continue
		}
		if !s.OnHand.IsPositive() {
			ps.add(field+".on_hand", s.OnHand.String(), ErrQuantity, "lot %s has nothing on hand to merge", s.ID)
		}
		target.Level = checkFeed(&ps, "target", s, target)
	}
	if err := ps.err(); err != nil {
		return Change{}, err
	}
	var ch Change
	for _, s := range sources {
		ch.Edges = append(ch.Edges, op.edge(EdgeMerge, LotNode(s.ID), LotNode(target.ID), s.OnHand))
		target.OnHand, _ = target.OnHand.Add(s.OnHand)
		if !s.Expiry.IsZero() && (target.Expiry.IsZero() || s.Expiry.Before(target.Expiry)) {
			target.Expiry = s.Expiry
		}
		ch.Lots = append(ch.Lots, debit(s, s.OnHand, Consumed, true))
	}
	ch.Lots = append(ch.Lots, target)
	return ch, nil
}

// Ship sends qty of lot to shipment sh (ID and Customer required). The lot must be
// available and not expired (per op.Expiry); when nothing is left it becomes Shipped.
func Ship(lot Lot, sh Shipment, qty units.Quantity, op Op) (Change, error) {
	var ps Problems
	var warnings []error
	checkOp(&ps, op)
	checkShipment(&ps, sh)
	q := checkTake(&ps, "lot", lot, qty, op, &warnings)
	if err := ps.err(); err != nil {
		return Change{}, err
	}
	e := op.edge(EdgeShip, LotNode(lot.ID), ShipmentNode(sh.ID), q)
	return Change{Lots: []Lot{debit(lot, q, Shipped, false)}, Shipments: []Shipment{sh}, Edges: []Edge{e}, Warnings: warnings}, nil
}

// ShipSerial sends the available serial s to shipment sh.
func ShipSerial(s Serial, sh Shipment, op Op) (Change, error) {
	var ps Problems
	checkOp(&ps, op)
	checkShipment(&ps, sh)
	requireID(&ps, "serial.id", s.ID)
	requireStatus(&ps, "serial.status", s.ID, s.Status, Available)
	if err := ps.err(); err != nil {
		return Change{}, err
	}
	s.Status = Shipped
	e := op.edge(EdgeShip, SerialNode(s.ID), ShipmentNode(sh.ID), one())
	return Change{Serials: []Serial{s}, Shipments: []Shipment{sh}, Edges: []Edge{e}}, nil
}

// Scrap removes qty from lot for op.Reason (required). Held and quarantined lots may be
// scrapped (that is a disposition); when nothing is left the lot becomes Scrapped.
func Scrap(lot Lot, qty units.Quantity, op Op) (Change, error) {
	var ps Problems
	checkOp(&ps, op)
	requireReason(&ps, op, "scrap")
	requireID(&ps, "lot.id", lot.ID)
	requireStatus(&ps, "lot.status", lot.ID, lot.Status, Available, OnHold, Quarantined)
	q, ok := positiveIn(&ps, "qty", qty, lot.OnHand.Unit())
	if ok {
		checkEnough(&ps, "qty", lot, q, takeHint)
	}
	if err := ps.err(); err != nil {
		return Change{}, err
	}
	return Change{Lots: []Lot{debit(lot, q, Scrapped, false)}, Edges: []Edge{op.edge(EdgeScrap, LotNode(lot.ID), Node{}, q)}}, nil
}

// Adjust corrects lot's on-hand quantity by delta (positive: found, negative: lost) for
// op.Reason (required), whatever the lot's status. The result may not go below zero.
func Adjust(lot Lot, delta units.Quantity, op Op) (Change, error) {
	var ps Problems
	checkOp(&ps, op)
	requireReason(&ps, op, "adjustment")
	requireID(&ps, "lot.id", lot.ID)
	if lot.Status == "" {
		ps.add("lot.status", "", ErrInvalid, "lot %s does not exist yet; create it with Receive or Produce", lot.ID)
	}
	q, ok := positiveIn(&ps, "delta", absQty(delta), lot.OnHand.Unit())
	if ok && delta.IsNegative() {
		checkEnough(&ps, "delta", lot, q, takeHint)
	}
	if err := ps.err(); err != nil {
		return Change{}, err
	}
	e := op.edge(EdgeAdjust, Node{}, LotNode(lot.ID), q)
	if delta.IsNegative() {
		lot.OnHand, _ = lot.OnHand.Sub(q)
		e.From, e.To = e.To, Node{}
	} else {
		lot.OnHand, _ = lot.OnHand.Add(q)
	}
	return Change{Lots: []Lot{lot}, Edges: []Edge{e}}, nil
}

// checkTake checks that qty can be taken from lot for use (consume or ship) and returns it
// in the lot's unit.
func checkTake(ps *Problems, field string, lot Lot, qty units.Quantity, op Op, warnings *[]error) units.Quantity {
	checkUsable(ps, field, lot, op, warnings)
	q, ok := positiveIn(ps, "qty", qty, lot.OnHand.Unit())
	if ok {
		checkEnough(ps, "qty", lot, q, takeHint)
	}
	return q
}

// checkUsable checks that lot may give material for use: it exists, is available and, per
// op.Expiry, has not expired (under ExpiryWarn the expiry goes to warnings).
func checkUsable(ps *Problems, field string, lot Lot, op Op, warnings *[]error) {
	requireID(ps, field+".id", lot.ID)
	requireStatus(ps, field+".status", lot.ID, lot.Status, Available)
	if !lot.Expiry.IsZero() && !op.At.Before(lot.Expiry) && op.Expiry != ExpiryAllow {
		var expired Problems
		expired.add(field+".expiry", lot.Expiry.UTC().Format(time.RFC3339), ErrExpired,
			"lot %s expired; use another lot, extend its expiry after review, or run with a warn/allow expiry policy", lot.ID)
		if op.Expiry == ExpiryWarn {
			*warnings = append(*warnings, expired[0])
		} else {
			*ps = append(*ps, expired[0])
		}
	}
}

// checkFeed applies the level rule (feedLevel) to an edge from lot from into lot to and
// returns to's level afterwards.
func checkFeed(ps *Problems, field string, from, to Lot) int {
	level, ok := feedLevel(from, to)
	if !ok {
		ps.add(field+".level", itoa(to.Level), ErrCycle,
			"lot %s already gave material to other lots and sits at level %d, not above lot %s (level %d), so its level cannot show that this edge closes no cycle; decide it with Lift against the genealogy graph, which raises lot %s unless lot %s descends from it, and pass the raised lot",
			to.ID, to.Level, from.ID, from.Level, to.ID, from.ID)
	}
	return level
}

func checkOp(ps *Problems, op Op) {
	if op.At.IsZero() {
		ps.add("op.at", "", ErrInvalid, "set Op.At to when it happened (UTC)")
	}
	if op.Expiry > ExpiryAllow {
		ps.add("op.expiry", itoa(int(op.Expiry)), ErrInvalid, "use ExpiryBlock, ExpiryWarn or ExpiryAllow")
	}
}

func checkNew(ps *Problems, field string, lot Lot, m Material) {
	requireID(ps, field+".id", lot.ID)
	if lot.Status != "" {
		ps.add(field+".status", string(lot.Status), ErrInvalid, "lot %s already exists; pass a new lot with an empty status", lot.ID)
	}
	if lot.Material != "" && lot.Material != m.ID {
		ps.add(field+".material", lot.Material, ErrMaterialMismatch, "lot %s names material %s, not %s", lot.ID, lot.Material, m.ID)
	}
}

func checkShipment(ps *Problems, sh Shipment) {
	requireID(ps, "shipment.id", sh.ID)
	if sh.Customer == "" {
		ps.add("shipment.customer", "", ErrInvalid, "a shipment goes to a customer; set Shipment.Customer")
	}
}

// checkEnough checks that lot holds at least q; hint says what to do when it does not.
func checkEnough(ps *Problems, field string, lot Lot, q units.Quantity, hint string) {
	if c, err := q.Cmp(lot.OnHand); err == nil && c > 0 {
		ps.add(field, q.String(), ErrInsufficient, "lot %s has only %s on hand; %s", lot.ID, lot.OnHand, hint)
	}
}

// takeHint is checkEnough's hint for takes of a quantity.
const takeHint = "take at most that or adjust the lot first"

func requireID(ps *Problems, field, id string) {
	if id == "" {
		ps.add(field, "", ErrInvalid, "an id is required")
	}
}

func requireReason(ps *Problems, op Op, what string) {
	if op.Reason == "" {
		ps.add("op.reason", "", ErrInvalid, "a %s needs a reason code; set Op.Reason", what)
	}
}

func requireStatus(ps *Problems, field, id string, s Status, allowed ...Status) {
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	if s == "" {
		ps.add(field, "", ErrInvalid, "%s does not exist yet (empty status); create it first", id)
		return
	}
	ps.add(field, string(s), ErrNotAvailable, "%s is %s; it must be %s (release or pick another)", id, s, statusList(allowed))
}

func statusList(ss []Status) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, " or ")
}

// positiveIn checks q is above zero and converts it to unit.
func positiveIn(ps *Problems, field string, q units.Quantity, unit units.Unit) (units.Quantity, bool) {
	if !q.IsPositive() {
		ps.add(field, q.String(), ErrQuantity, "give a quantity above zero")
		return q, false
	}
	c, err := q.InExactly(unit)
	if err != nil {
		ps.add(field, q.String(), ErrUnit, "give it in %q or a unit of the same dimension that converts exactly (%v)", unit, err)
		return q, false
	}
	return c, true
}

// created fills in a new lot.
func created(lot Lot, material string, q units.Quantity, at time.Time) Lot {
	lot.Material, lot.Status, lot.OnHand, lot.CreatedAt = material, Available, q, at.UTC()
	lot.Level, lot.HasOutputs, lot.Parent = 0, false, ""
	return lot
}

// debit takes q out of lot; when nothing is left the lot takes status empty. toLot says
// the quantity went into another lot, which fixes this lot's level.
func debit(lot Lot, q units.Quantity, empty Status, toLot bool) Lot {
	lot.OnHand, _ = lot.OnHand.Sub(q)
	if lot.OnHand.IsZero() {
		lot.Status = empty
	}
	lot.HasOutputs = lot.HasOutputs || toLot
	return lot
}

func zeroIn(u units.Unit) units.Quantity {
	q, _ := units.FromInt(0, u)
	return q
}

func one() units.Quantity {
	q, _ := units.FromInt(1, "ea")
	return q
}

func absQty(q units.Quantity) units.Quantity {
	if q.IsNegative() {
		return q.Neg()
	}
	return q
}

func itoa(i int) string { return strconv.Itoa(i) }
