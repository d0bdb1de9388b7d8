package genealogy

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/taktmes/takt/units"
)

// Index is a compact in-memory genealogy graph: a Reader, a Tracer and an EquipmentLog. It
// numbers nodes densely, keeps every edge in a fixed-size record with its quantity and
// context interned, and chains each node's inputs and outputs through the edge records, so
// appending is O(1) and a trace touches only the part of the graph it returns. A million
// lots with three million edges take a few hundred bytes per lot.
//
// The zero Index is empty and ready. Append must not run at the same time as any other
// method; the other methods only read and may run concurrently with each other (a store
// wraps the Index in a sync.RWMutex).
type Index struct {
	ids    map[Node]int32
	nodes  []indexNode
	edges  []indexEdge
	qtys   []units.Quantity
	qtyIDs map[string]uint32
	ctxs   []edgeContext
	ctxIDs map[edgeContext]uint32
	// byEquipment lists, per equipment context string, the edges recorded there.
	byEquipment map[string][]int32
}

type indexNode struct {
	id      string
	in, out int32 // first edge of the node's input and output chains, -1 when none
	kind    NodeKind
}

type indexEdge struct {
	from, to        int32 // node numbers, -1 for the outside
	nextIn, nextOut int32 // next edge in the To node's input chain and the From node's output chain
	qty, ctx        uint32
	at              int64 // UnixNano, noTime for the zero time
	kind            EdgeKind
}

type edgeContext struct {
	workOrder, step, equipment, operator, reason string
}

const noTime = math.MinInt64

// earliest and latest are the times an Index can hold (UnixNano range).
var (
	earliest = time.Unix(0, math.MinInt64+1)
	latest   = time.Unix(0, math.MaxInt64)
)

// Len returns the number of nodes and edges held.
func (x *Index) Len() (nodes, edges int) { return len(x.nodes), len(x.edges) }

// ValidateEdges checks what Append requires of edges: a known Kind, at least one end, ends
// with a known node kind and an id, a positive quantity and a time in the years 1678–2262.
// Stores call it before they commit edges, so that a commit cannot fail half way.
func ValidateEdges(edges ...Edge) error {
	var ps Problems
	for i, e := range edges {
		checkEdge(&ps, "edges["+itoa(i)+"]", e)
	}
	return ps.err()
}

// Append adds edges, all or none; see ValidateEdges.
func (x *Index) Append(edges ...Edge) error {
	if err := ValidateEdges(edges...); err != nil {
		return err
	}
	if x.ids == nil {
		x.ids, x.qtyIDs, x.ctxIDs, x.byEquipment = map[Node]int32{}, map[string]uint32{}, map[edgeContext]uint32{}, map[string][]int32{}
	}
	for _, e := range edges {
		n := int32(len(x.edges))
		rec := indexEdge{from: x.node(e.From), to: x.node(e.To), nextIn: -1, nextOut: -1, at: noTime, kind: e.Kind,
			qty: x.internQty(e.Qty), ctx: x.internCtx(e)}
		if !e.At.IsZero() {
			rec.at = e.At.UnixNano()
		}
		if rec.to >= 0 {
			rec.nextIn, x.nodes[rec.to].in = x.nodes[rec.to].in, n
		}
		if rec.from >= 0 {
			rec.nextOut, x.nodes[rec.from].out = x.nodes[rec.from].out, n
		}
		x.edges = append(x.edges, rec)
		if e.Equipment != "" {
			x.byEquipment[e.Equipment] = append(x.byEquipment[e.Equipment], n)
		}
	}
	return nil
}

func checkEdge(ps *Problems, field string, e Edge) {
	if e.Kind == 0 || int(e.Kind) >= len(edgeKindNames) {
		ps.add(field+".kind", e.Kind.String(), ErrInvalid, "use one of the Edge* kinds")
	}
	if e.From.IsZero() && e.To.IsZero() {
		ps.add(field, "", ErrInvalid, "an edge needs at least one end inside the plant")
	}
	for _, end := range []struct {
		name string
		n    Node
	}{{"from", e.From}, {"to", e.To}} {
		if !end.n.IsZero() && (end.n.Kind < NodeLot || end.n.Kind > NodeSupplierLot || end.n.ID == "") {
			ps.add(field+"."+end.name, end.n.String(), ErrInvalid, "a node needs a known kind and an id")
		}
	}
	if !e.Qty.IsPositive() {
		ps.add(field+".qty", e.Qty.String(), ErrQuantity, "edges carry a positive quantity")
	}
	if !e.At.IsZero() && (e.At.Before(earliest) || e.At.After(latest)) {
		ps.add(field+".at", e.At.String(), ErrInvalid, "the index holds times between the years 1678 and 2262")
	}
}

// node returns n's number, adding it when new; -1 for the outside.
func (x *Index) node(n Node) int32 {
	if n.IsZero() {
		return -1
	}
	if i, ok := x.ids[n]; ok {
		return i
	}
	i := int32(len(x.nodes))
	x.ids[n] = i
	x.nodes = append(x.nodes, indexNode{id: n.ID, kind: n.Kind, in: -1, out: -1})
	return i
}

func (x *Index) internQty(q units.Quantity) uint32 {
	key := q.String()
	if i, ok := x.qtyIDs[key]; ok {
		return i
	}
	i := uint32(len(x.qtys))
	x.qtyIDs[key] = i
	x.qtys = append(x.qtys, q)
	return i
}

func (x *Index) internCtx(e Edge) uint32 {
	c := edgeContext{e.WorkOrder, e.Step, e.Equipment, e.Operator, e.Reason}
	if i, ok := x.ctxIDs[c]; ok {
		return i
	}
	i := uint32(len(x.ctxs))
	x.ctxIDs[c] = i
	x.ctxs = append(x.ctxs, c)
	return i
}

// edge rebuilds the Edge of record i.
func (x *Index) edge(i int32) Edge {
	r := &x.edges[i]
	c := &x.ctxs[r.ctx]
	e := Edge{Kind: r.kind, From: x.nodeAt(r.from), To: x.nodeAt(r.to), Qty: x.qtys[r.qty],
		WorkOrder: c.workOrder, Step: c.step, Equipment: c.equipment, Operator: c.operator, Reason: c.reason}
	if r.at != noTime {
		e.At = time.Unix(0, r.at).UTC()
	}
	return e
}

func (x *Index) nodeAt(i int32) Node {
	if i < 0 {
		return Node{}
	}
	n := &x.nodes[i]
	return Node{Kind: n.kind, ID: n.id}
}

// Inputs returns the edges into n.
func (x *Index) Inputs(ctx context.Context, n Node) ([]Edge, error) {
	return x.chain(n, Backward), ctx.Err()
}

// Outputs returns the edges out of n.
func (x *Index) Outputs(ctx context.Context, n Node) ([]Edge, error) {
	return x.chain(n, Forward), ctx.Err()
}

func (x *Index) chain(n Node, dir Direction) []Edge {
	i, ok := x.ids[n]
	if !ok {
		return nil
	}
	var out []Edge
	for e := x.head(i, dir); e >= 0; e = x.next(e, dir) {
		out = append(out, x.edge(e))
	}
	return out
}

func (x *Index) head(i int32, dir Direction) int32 {
	if dir == Backward {
		return x.nodes[i].in
	}
	return x.nodes[i].out
}

func (x *Index) next(e int32, dir Direction) int32 {
	if dir == Backward {
		return x.edges[e].nextIn
	}
	return x.edges[e].nextOut
}

func (x *Index) far(e int32, dir Direction) int32 {
	if dir == Backward {
		return x.edges[e].from
	}
	return x.edges[e].to
}

// TraceBackward returns everything that went into from, as Walk would.
func (x *Index) TraceBackward(ctx context.Context, from Node, opts TraceOptions) (Trace, error) {
	return x.trace(ctx, from, Backward, opts)
}

// TraceForward returns everything from went into, as Walk would.
func (x *Index) TraceForward(ctx context.Context, from Node, opts TraceOptions) (Trace, error) {
	return x.trace(ctx, from, Forward, opts)
}

// trace is Walk over the index's own numbers. A first pass walks int32 node and edge
// numbers only (pointer-free, no strings); a second pass fills the answer, allocated at its
// exact size.
func (x *Index) trace(ctx context.Context, root Node, dir Direction, opts TraceOptions) (Trace, error) {
	if err := checkTraceArgs(root, dir, opts); err != nil {
		return Trace{}, err
	}
	t := Trace{Root: root, Direction: dir}
	r, ok := x.ids[root]
	if !ok {
		t.Nodes = []TraceNode{{Node: root}}
		return t, ctx.Err()
	}
	order, depth := []int32{r}, []int32{0}
	var edges []int32
	var steps []step
	pos := newPositions()
	pos.add(r, 0)
	for i := 0; i < len(order); i++ {
		if i&1023 == 1023 {
			if err := ctx.Err(); err != nil {
				return Trace{}, err
			}
		}
		atLimit := opts.MaxDepth > 0 && int(depth[i]) >= opts.MaxDepth
		for e := x.head(order[i], dir); e >= 0; e = x.next(e, dir) {
			f := x.far(e, dir)
			if atLimit {
				if f >= 0 {
					t.Truncated = true
					break
				}
				continue
			}
			p := int32(-1)
			if f >= 0 {
				var added bool
				if p, added = pos.add(f, int32(len(order))); added {
					order = append(order, f)
					depth = append(depth, depth[i]+1)
				}
			}
			edges = append(edges, e)
			steps = append(steps, step{near: int32(i), far: p})
		}
	}
	t.Nodes = make([]TraceNode, len(order))
	for i, n := range order {
		t.Nodes[i] = TraceNode{Node: x.nodeAt(n), Depth: int(depth[i])}
	}
	if topoOrder(len(order), steps) == nil {
		return Trace{}, cycleError(t)
	}
	if len(edges) > 0 {
		t.Edges = make([]Edge, len(edges))
		for i, e := range edges {
			t.Edges[i] = x.edge(e)
		}
	}
	return t, ctx.Err()
}

// positions maps node numbers to their position in a trace: an open-addressing hash table,
// several times faster than a Go map for int32 keys.
type positions struct {
	keys []int32 // node number + 1; 0 marks a free slot
	vals []int32
	n    int
}

func newPositions() *positions {
	return &positions{keys: make([]int32, 64), vals: make([]int32, 64)}
}

// add stores p for node k unless k is present; it returns k's position and whether it was
// added.
func (m *positions) add(k, p int32) (int32, bool) {
	mask := uint32(len(m.keys) - 1)
	for h := hash32(k) & mask; ; h = (h + 1) & mask {
		switch m.keys[h] {
		case k + 1:
			return m.vals[h], false
		case 0:
			m.keys[h], m.vals[h] = k+1, p
			if m.n++; 2*m.n > len(m.keys) {
				m.grow()
			}
			return p, true
		}
	}
}

func (m *positions) grow() {
	old, oldVals := m.keys, m.vals
	m.keys, m.vals, m.n = make([]int32, 2*len(old)), make([]int32, 2*len(old)), 0
	for i, k := range old {
		if k != 0 {
			m.add(k-1, oldVals[i])
		}
	}
}

func hash32(k int32) uint32 {
	h := uint32(k) * 0x9e3779b1
	return h ^ h>>15
}

// EdgesAt returns the edges recorded at equipment with At in [from, to).
func (x *Index) EdgesAt(ctx context.Context, equipment string, from, to time.Time) ([]Edge, error) {
	if err := checkWindow(equipment, from, to); err != nil {
		return nil, err
	}
	var out []Edge
	lo, hi := clampNano(from), clampNano(to)
	for _, e := range x.byEquipment[equipment] {
		if at := x.edges[e].at; at != noTime && at >= lo && at < hi {
			out = append(out, x.edge(e))
		}
	}
	return out, ctx.Err()
}

func clampNano(t time.Time) int64 {
	switch {
	case t.Before(earliest):
		return math.MinInt64 + 1
	case t.After(latest):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func checkWindow(equipment string, from, to time.Time) error {
	var ps Problems
	if equipment == "" {
		ps.add("equipment", "", ErrInvalid, "name the equipment")
	}
	if !from.Before(to) {
		ps.add("window", fmt.Sprintf("%s..%s", from.Format(time.RFC3339), to.Format(time.RFC3339)), ErrInvalid, "the window's start must be before its end")
	}
	return ps.err()
}
