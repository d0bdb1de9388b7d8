package genealogy

import (
	"context"
	"fmt"
	"time"

	"github.com/taktmes/takt/units"
)

// RecallReport says where the material of one lot or supplier lot went.
type RecallReport struct {
	Root Node
	// Source is how much of the root the report follows: what a supplier lot delivered, or
	// everything that ever entered a lot.
	Source units.Quantity
	// Items lists every lot and serial the root's material reached, nearest first.
	Items []RecallItem
	// Truncated is set when the depth limit cut the trace short.
	Truncated bool
}

// RecallItem is a lot or serial that contains some of the recalled material.
type RecallItem struct {
	Node  Node
	Depth int
	// End is set when the item passed none of it on to another lot or serial: it is still
	// in stock, was shipped or scrapped. Finished lots and serials are end items.
	End bool
	// Contained is how much of the root's material is in the item, in the root's unit.
	Contained units.Quantity
	// Shipped lists the item's shipments.
	Shipped []ShippedLine
}

// ShippedLine is one shipment of a recalled item.
type ShippedLine struct {
	Shipment string
	Qty      units.Quantity // of the item
	// Contained is how much of the root's material went out in this shipment.
	Contained units.Quantity
	At        time.Time
}

// Recall follows root (a lot, or a supplier lot from SupplierLotNode) forward to every lot,
// serial and shipment that contains its material, and says how much of it each holds.
//
// Quantities propagate through consumption ratios: a lot holding c of the root passes
// c × q / total along an edge of quantity q, where total is everything that ever entered the
// lot (received, produced, split or merged into it, adjusted up). What a lot scrapped, lost
// or still holds keeps its share. A serial is one unit and passes all it holds to the serial
// it is built into; a lot's Serialize edge passes one unit's share. Ratios are computed to
// 16 decimal places and Contained rounded to 6; a ratio whose units do not convert counts as
// 1, overstating rather than losing material. Recall reads each reached lot's inputs to find
// its total. Under a depth limit, the items at the limit list their own shipments, and are
// not End when they passed material on beyond it.
func Recall(ctx context.Context, r Reader, root Node, opts TraceOptions) (RecallReport, error) {
	t, err := TraceForward(ctx, r, root, opts)
	if err != nil {
		return RecallReport{}, err
	}
	pos := make(map[Node]int, len(t.Nodes))
	for i, n := range t.Nodes {
		pos[n.Node] = i
	}
	// totals: what each node's outgoing quantities are a share of.
	totals := make([]units.Quantity, len(t.Nodes))
	for i, n := range t.Nodes {
		if n.Node.Kind == NodeLot {
			if totals[i], err = lotTotal(ctx, r, n.Node); err != nil {
				return RecallReport{}, err
			}
		}
	}
	steps := make([]step, len(t.Edges))
	for k, e := range t.Edges {
		steps[k] = step{near: int32(pos[e.From]), far: -1}
		if p, ok := pos[e.To]; ok && !e.To.IsZero() {
			steps[k].far = int32(p)
		}
		if root.Kind == NodeSupplierLot && e.From == root {
			totals[0], _ = totals[0].Add(e.Qty)
		}
	}
	order := topoOrder(len(t.Nodes), steps)
	if order == nil {
		return RecallReport{}, cycleError(t)
	}
	byNear := make([][]int, len(t.Nodes))
	for k, s := range steps {
		byNear[s.near] = append(byNear[s.near], k)
	}
	contained := make([]units.Quantity, len(t.Nodes))
	contained[0] = totals[0]
	if root.Kind == NodeSerial {
		contained[0] = one()
	}
	rep := RecallReport{Root: root, Source: contained[0], Truncated: t.Truncated}
	items := make([]RecallItem, len(t.Nodes))
	for _, p := range order {
		n := t.Nodes[p]
		items[p] = RecallItem{Node: n.Node, Depth: n.Depth, End: true, Contained: roundQty(contained[p])}
		for _, k := range byNear[p] {
			e, s := t.Edges[k], steps[k]
			share := passOn(contained[p], e, n.Node.Kind, totals[p])
			switch {
			case s.far < 0:
			case e.To.Kind == NodeShipment:
				items[p].Shipped = append(items[p].Shipped, ShippedLine{Shipment: e.To.ID, Qty: e.Qty, Contained: roundQty(share), At: e.At})
			default:
				items[p].End = false
				contained[s.far], _ = contained[s.far].Add(share)
			}
		}
	}
	for i, n := range t.Nodes {
		if n.Node.Kind != NodeLot && n.Node.Kind != NodeSerial {
			continue
		}
		if t.Truncated && n.Depth == opts.MaxDepth {
			if err := atLimit(ctx, r, &items[i], contained[i], totals[i]); err != nil {
				return RecallReport{}, err
			}
		}
		rep.Items = append(rep.Items, items[i])
	}
	return rep, nil
}

// atLimit completes item, a lot or serial at the depth limit holding held of its total,
// whose outputs the trace did not read: it lists the item's shipments and clears End when
// the item passed material on to a lot or serial.
func atLimit(ctx context.Context, r Reader, item *RecallItem, held, total units.Quantity) error {
	out, err := r.Outputs(ctx, item.Node)
	if err != nil {
		return fmt.Errorf("genealogy: reading the outputs of %s: %w", item.Node, err)
	}
	for _, e := range out {
		switch e.To.Kind {
		case NodeShipment:
			share := passOn(held, e, item.Node.Kind, total)
			item.Shipped = append(item.Shipped, ShippedLine{Shipment: e.To.ID, Qty: e.Qty, Contained: roundQty(share), At: e.At})
		case NodeLot, NodeSerial:
			item.End = false
		}
	}
	return nil
}

// passOn returns the part of held that edge e carries out of a node of kind k whose
// outgoing quantities are shares of total.
func passOn(held units.Quantity, e Edge, k NodeKind, total units.Quantity) units.Quantity {
	if k == NodeSerial {
		return held
	}
	if !total.IsPositive() {
		return units.Quantity{}
	}
	q, err := e.Qty.In(total.Unit())
	if err != nil {
		return held
	}
	return held.Mul(q.Value().DivRound(total.Value(), 16))
}

func roundQty(q units.Quantity) units.Quantity {
	r, err := units.New(q.Value().Round(6), q.Unit())
	if err != nil {
		return units.Quantity{}
	}
	return r
}

// lotTotal is everything that ever entered lot n.
func lotTotal(ctx context.Context, r Reader, n Node) (units.Quantity, error) {
	in, err := r.Inputs(ctx, n)
	if err != nil {
		return units.Quantity{}, fmt.Errorf("genealogy: reading the inputs of %s: %w", n, err)
	}
	var total units.Quantity
	for _, e := range in {
		if movesQuantityIn(e.Kind) {
			if total, err = total.Add(e.Qty); err != nil {
				return units.Quantity{}, fmt.Errorf("%w: inputs of %s: %w", ErrUnit, n, err)
			}
		}
	}
	return total, nil
}

// AsBuilt is the record of what one serialised unit is made of.
type AsBuilt struct {
	Serial string
	// Lines has one line per edge behind the unit: its components, their components, down
	// to supplier lots, nearest first.
	Lines     []AsBuiltLine
	Truncated bool
}

// AsBuiltLine is one component of an as-built record. WorkOrder and Step are the key on
// which the quality package's inspection records of the unit join.
type AsBuiltLine struct {
	Component Node // a lot, serial or supplier lot
	Into      Node
	Depth     int // of the component: 1 for direct components
	Kind      EdgeKind
	Qty       units.Quantity
	WorkOrder string
	Step      string
	Equipment string
	Operator  string
	At        time.Time
}

// AsBuiltRecord traces serial backward and lists every component lot and serial with the
// step, work order, equipment, operator and time it went in.
func AsBuiltRecord(ctx context.Context, r Reader, serial string, opts TraceOptions) (AsBuilt, error) {
	t, err := TraceBackward(ctx, r, SerialNode(serial), opts)
	if err != nil {
		return AsBuilt{}, err
	}
	depth := make(map[Node]int, len(t.Nodes))
	for _, n := range t.Nodes {
		depth[n.Node] = n.Depth
	}
	ab := AsBuilt{Serial: serial, Truncated: t.Truncated}
	for _, e := range t.Edges {
		if e.From.IsZero() {
			continue
		}
		ab.Lines = append(ab.Lines, AsBuiltLine{Component: e.From, Into: e.To, Depth: depth[e.From], Kind: e.Kind, Qty: e.Qty,
			WorkOrder: e.WorkOrder, Step: e.Step, Equipment: e.Equipment, Operator: e.Operator, At: e.At})
	}
	return ab, nil
}

// EquipmentLog is implemented by a store that can list the edges recorded at a piece of
// equipment in a time window. Index implements it.
type EquipmentLog interface {
	// EdgesAt returns the edges with Equipment equipment and At in [from, to).
	EdgesAt(ctx context.Context, equipment string, from, to time.Time) ([]Edge, error)
}

// EquipmentUse is what happened at a piece of equipment in a time window.
type EquipmentUse struct {
	Edges []Edge
	// Consumed and Produced are the lots and serials consumed and produced there, once
	// each, in order of first appearance. Recall each produced lot to find where it went.
	Consumed []Node
	Produced []Node
	// Processed are the lots that ran on the equipment in the window, once each, in order of
	// their first run there. The genealogy keeps no record of them (a step that consumes and
	// scraps nothing leaves no edge); the engine fills it from its machine runs
	// (mes.Plant.AtEquipment).
	Processed []Node
}

// AtEquipment lists the lots and serials consumed and produced at equipment with At in
// [from, to): the ends of its Consume and Assemble edges and the lots it produced.
func AtEquipment(ctx context.Context, log EquipmentLog, equipment string, from, to time.Time) (EquipmentUse, error) {
	if err := checkWindow(equipment, from, to); err != nil {
		return EquipmentUse{}, err
	}
	edges, err := log.EdgesAt(ctx, equipment, from, to)
	if err != nil {
		return EquipmentUse{}, fmt.Errorf("genealogy: reading the edges at %s: %w", equipment, err)
	}
	use := EquipmentUse{Edges: edges}
	consumed, produced := map[Node]bool{}, map[Node]bool{}
	add := func(list *[]Node, seen map[Node]bool, n Node) {
		if !seen[n] {
			seen[n] = true
			*list = append(*list, n)
		}
	}
	for _, e := range edges {
		switch e.Kind {
		case EdgeConsume, EdgeAssemble:
			add(&use.Consumed, consumed, e.From)
			add(&use.Produced, produced, e.To)
		case EdgeProduce:
			add(&use.Produced, produced, e.To)
		}
	}
	return use, nil
}
