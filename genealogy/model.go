package genealogy

import (
	"fmt"
	"time"

	"github.com/taktmes/takt/units"
)

// Tracking says how units of a material are identified.
type Tracking string

// Tracking modes.
const (
	TrackNone   Tracking = "none"   // bulk material, no lot identity
	TrackLot    Tracking = "lot"    // identified by lot
	TrackSerial Tracking = "serial" // every unit has a serial number (and may sit in a lot)
)

// MaterialKind is the role of a material in the plant.
type MaterialKind string

// Material kinds.
const (
	KindRaw          MaterialKind = "raw"          // bought, not made here
	KindComponent    MaterialKind = "component"    // bought or made part that goes into others
	KindIntermediate MaterialKind = "intermediate" // made here, consumed here
	KindProduct      MaterialKind = "product"      // finished good, shipped
)

// Material is a material definition (ISA-95 MaterialDefinition).
type Material struct {
	ID       string       `json:"id"`
	Name     string       `json:"name,omitempty"`
	Unit     units.Unit   `json:"unit"` // unit lots of this material are counted in
	Tracking Tracking     `json:"tracking"`
	Kind     MaterialKind `json:"kind"`
}

// Validate returns every problem with the definition as a Problems error, or nil.
func (m Material) Validate() error {
	var ps Problems
	m.check(&ps, "material")
	return ps.err()
}

func (m Material) check(ps *Problems, field string) {
	if m.ID == "" {
		ps.add(field+".id", "", ErrInvalid, "a material needs an id")
	}
	if !units.Known(m.Unit) {
		ps.add(field+".unit", string(m.Unit), ErrUnit, "use a unit from the units table or define it with units.Define")
	}
	switch m.Tracking {
	case TrackNone, TrackLot, TrackSerial:
	default:
		ps.add(field+".tracking", string(m.Tracking), ErrInvalid, "use %q, %q or %q", TrackNone, TrackLot, TrackSerial)
	}
	switch m.Kind {
	case KindRaw, KindComponent, KindIntermediate, KindProduct:
	default:
		ps.add(field+".kind", string(m.Kind), ErrInvalid, "use %q, %q, %q or %q", KindRaw, KindComponent, KindIntermediate, KindProduct)
	}
}

// Status is the state of a lot or serial. The zero Status marks a value that does not exist
// yet: the operations that create lots (Receive, Produce, Merge into a new lot) expect it.
type Status string

// Statuses of lots and serials.
const (
	Available   Status = "available"
	OnHold      Status = "on_hold"
	Quarantined Status = "quarantined"
	Consumed    Status = "consumed" // all of it went into other lots or serials (or, for a serial, into an assembly)
	Scrapped    Status = "scrapped"
	Shipped     Status = "shipped"
)

// Lot is a material lot or sublot (ISA-95 MaterialLot / MaterialSubLot).
type Lot struct {
	ID          string         `json:"id"`
	Material    string         `json:"material"`
	Site        string         `json:"site,omitempty"` // optional
	Status      Status         `json:"status"`
	OnHand      units.Quantity `json:"on_hand"`                // in the material's unit
	SupplierLot string         `json:"supplier_lot,omitempty"` // the supplier's lot number, for received lots
	Supplier    string         `json:"supplier,omitempty"`
	Expiry      time.Time      `json:"expiry,omitzero"`  // zero: does not expire
	Parent      string         `json:"parent,omitempty"` // the lot this sublot was split from
	CreatedAt   time.Time      `json:"created_at"`
	// Level orders lots so the graph stays acyclic: levels never decrease along edges
	// between lots. The operations and Lift maintain it; stores persist it.
	Level int `json:"level"`
	// HasOutputs is set once the lot gave quantity to another lot; from then on its Level
	// rises only with the lots below it (Lift), or to 1 for an input from a level-0 lot (see
	// the package doc). Quantity given to serials does not set it: serials feed only serials,
	// so they cannot close a cycle.
	HasOutputs bool `json:"has_outputs,omitempty"`
}

// Serial is one unit with its own identity. A unit numbered out of a lot has left the lot's
// on-hand quantity (see Serialize); Lot names the lot it came from, whose holds, work order,
// supplier lot and expiry still apply to it.
type Serial struct {
	ID       string `json:"id"`
	Material string `json:"material"`
	Lot      string `json:"lot,omitempty"` // optional: the lot the unit came from
	Status   Status `json:"status"`
}

// Shipment is a delivery to a customer; lots and serials are shipped into it.
type Shipment struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
	Order    string // the customer's order, optional
}

// NodeKind says what a genealogy node is. The values are stable; stores may persist them.
type NodeKind uint8

// Node kinds.
const (
	NodeLot         NodeKind = 1
	NodeSerial      NodeKind = 2
	NodeShipment    NodeKind = 3
	NodeSupplierLot NodeKind = 4 // a supplier's lot, the root of received material
)

// String returns "lot", "serial", "shipment" or "supplier-lot".
func (k NodeKind) String() string {
	switch k {
	case NodeLot:
		return "lot"
	case NodeSerial:
		return "serial"
	case NodeShipment:
		return "shipment"
	case NodeSupplierLot:
		return "supplier-lot"
	}
	return fmt.Sprintf("NodeKind(%d)", uint8(k))
}

// MarshalText writes the kind's name ("lot", "serial", "shipment", "supplier-lot").
func (k NodeKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a name MarshalText writes.
func (k *NodeKind) UnmarshalText(b []byte) error {
	for c := NodeLot; c <= NodeSupplierLot; c++ {
		if c.String() == string(b) {
			*k = c
			return nil
		}
	}
	return fmt.Errorf("%w: node kind %q; use lot, serial, shipment or supplier-lot", ErrInvalid, b)
}

// Node is a vertex of the genealogy graph. The zero Node stands for "outside the plant": the
// source of produced quantity and the sink of scrap and adjustments.
type Node struct {
	Kind NodeKind `json:"kind"`
	ID   string   `json:"id"`
}

// LotNode returns the node of lot id.
func LotNode(id string) Node { return Node{Kind: NodeLot, ID: id} }

// SerialNode returns the node of serial id.
func SerialNode(id string) Node { return Node{Kind: NodeSerial, ID: id} }

// ShipmentNode returns the node of shipment id.
func ShipmentNode(id string) Node { return Node{Kind: NodeShipment, ID: id} }

// SupplierLotNode returns the node of a supplier's lot of a material: every lot received
// from it hangs below it, so a recall starts here.
func SupplierLotNode(material, supplier, supplierLot string) Node {
	return Node{Kind: NodeSupplierLot, ID: material + "|" + supplier + "|" + supplierLot}
}

// IsZero reports whether n is the outside-the-plant node.
func (n Node) IsZero() bool { return n == Node{} }

// String returns "kind:id", or "outside" for the zero Node.
func (n Node) String() string {
	if n.IsZero() {
		return "outside"
	}
	return n.Kind.String() + ":" + n.ID
}

// EdgeKind says what an edge records. The values are stable; stores may persist them.
type EdgeKind uint8

// Edge kinds.
const (
	EdgeReceive   EdgeKind = 1  // supplier lot → lot
	EdgeProduce   EdgeKind = 2  // outside → produced lot (a work order step reported good quantity)
	EdgeConsume   EdgeKind = 3  // component lot → produced lot or serial
	EdgeSplit     EdgeKind = 4  // lot → sublot
	EdgeMerge     EdgeKind = 5  // lot → lot it was merged into
	EdgeShip      EdgeKind = 6  // lot or serial → shipment
	EdgeScrap     EdgeKind = 7  // lot → outside
	EdgeAdjust    EdgeKind = 8  // outside → lot (found) or lot → outside (lost), with a reason
	EdgeSerialize EdgeKind = 9  // lot → serial: a unit of the lot was given a serial number and left the lot
	EdgeAssemble  EdgeKind = 10 // component serial → serial it was built into
)

var edgeKindNames = [...]string{"", "receive", "produce", "consume", "split", "merge", "ship", "scrap", "adjust", "serialize", "assemble"}

// String returns the lower-case name of the kind.
func (k EdgeKind) String() string {
	if int(k) < len(edgeKindNames) && k != 0 {
		return edgeKindNames[k]
	}
	return fmt.Sprintf("EdgeKind(%d)", uint8(k))
}

// MarshalText writes the kind's name ("consume", "split", ...).
func (k EdgeKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a name MarshalText writes.
func (k *EdgeKind) UnmarshalText(b []byte) error {
	for i, name := range edgeKindNames {
		if i > 0 && name == string(b) {
			*k = EdgeKind(i)
			return nil
		}
	}
	return fmt.Errorf("%w: edge kind %q; use one of %v", ErrInvalid, b, edgeKindNames[1:])
}

// Edge is one record of the genealogy: quantity moving from one node to another, with the
// context it happened in.
type Edge struct {
	Kind EdgeKind `json:"kind"`
	From Node     `json:"from,omitzero"` // zero Node for Produce and positive Adjust
	To   Node     `json:"to,omitzero"`   // zero Node for Scrap and negative Adjust
	// Qty is in the unit of the lot it leaves (or, when From is not a lot, that it enters);
	// edges out of a serial carry "1 ea", a Serialize edge one unit in the lot's unit.
	Qty       units.Quantity `json:"qty"`
	WorkOrder string         `json:"work_order,omitempty"`
	Step      string         `json:"step,omitempty"`
	Equipment string         `json:"equipment,omitempty"`
	Operator  string         `json:"operator,omitempty"`
	Reason    string         `json:"reason,omitempty"` // why: scrap and adjustment reason codes
	At        time.Time      `json:"at"`
}

// ExpiryPolicy says what using an expired lot does.
type ExpiryPolicy uint8

// Expiry policies. The zero value blocks.
const (
	ExpiryBlock ExpiryPolicy = iota // refuse with ErrExpired
	ExpiryWarn                      // proceed, with an ErrExpired warning in Change.Warnings
	ExpiryAllow                     // proceed silently
)

// Op is the context of an operation, copied onto every edge it makes.
type Op struct {
	WorkOrder string
	Step      string
	Equipment string
	Operator  string
	Reason    string       // required by Scrap and Adjust
	At        time.Time    // required: when it happened (UTC)
	Expiry    ExpiryPolicy // what to do with expired lots; the zero value blocks
}

func (op Op) edge(kind EdgeKind, from, to Node, qty units.Quantity) Edge {
	return Edge{Kind: kind, From: from, To: to, Qty: qty, WorkOrder: op.WorkOrder, Step: op.Step,
		Equipment: op.Equipment, Operator: op.Operator, Reason: op.Reason, At: op.At.UTC()}
}

// Change is what an operation produced: the new values of the lots and serials it touched
// or created, the shipments it opened, and the edges to append. The engine persists all of
// it in one transaction.
type Change struct {
	Lots      []Lot
	Serials   []Serial
	Shipments []Shipment
	Edges     []Edge
	// Warnings are problems the policy let through (an expired lot under ExpiryWarn).
	Warnings []error
}

// Balance returns the on-hand quantity of lot id that its edges account for, in unit: the
// sum of what entered it minus what left it (see the package documentation). A lot's OnHand
// always equals it; the engine can use it to audit stored lots.
func Balance(id string, unit units.Unit, edges []Edge) (units.Quantity, error) {
	total, err := units.FromInt(0, unit)
	if err != nil {
		return units.Quantity{}, fmt.Errorf("%w: %w", ErrUnit, err)
	}
	node := LotNode(id)
	for _, e := range edges {
		switch {
		case e.From == node:
			total, err = total.Sub(e.Qty)
		case e.To == node && movesQuantityIn(e.Kind):
			total, err = total.Add(e.Qty)
		}
		if err != nil {
			return units.Quantity{}, fmt.Errorf("%w: edge %s %s→%s: %w", ErrUnit, e.Kind, e.From, e.To, err)
		}
	}
	return total, nil
}

func movesQuantityIn(k EdgeKind) bool {
	switch k {
	case EdgeReceive, EdgeProduce, EdgeSplit, EdgeMerge, EdgeAdjust:
		return true
	}
	return false
}
