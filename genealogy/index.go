package genealogy

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/taktmes/takt/units"
)

// Index is a compact in-memory genealogy graph: a Reader, a Tracer and an EquipmentLog.
//
// It numbers nodes densely and keeps, per node, its inputs and its outputs each in one
// contiguous block of an adjacency arena. An entry of a block is a whole edge as seen from
// that node: the node at the far end, the kind, the time, and the quantity and context
// interned in small tables. An edge between two nodes is stored twice, once in each node's
// block, so a trace in either direction reads each node's block as one run of memory and
// never follows a pointer per edge. Blocks hold a power of two of entries; a full block
// moves to one twice its size and the old one is kept on a free list for the next block of
// that size, so Append stays O(1) amortized and blocks are at least half full. A million
// lots with three million edges take about 600 bytes per lot.
//
// The zero Index is empty and ready. Append must not run at the same time as any other
// method; the other methods only read and may run concurrently with each other (a store
// wraps the Index in a sync.RWMutex).
type Index struct {
	ids map[Node]int32
	// nodes[i] is node number i and lists[i] its inputs and outputs, kept apart: a trace
	// reads the lists of a whole depth's nodes first and the nodes themselves at the end.
	nodes []Node
	lists []nodeLists
	// adj is the arena of adjacency blocks. free[k] heads the list of free blocks of 1<<k
	// entries: the offset of the first plus one, 0 when there is none; a free block keeps
	// the next one's offset plus one in its first entry's far.
	adj    []adjEntry
	free   [32]int32
	nEdges int
	qtys   []units.Quantity
	qtyIDs map[string]uint32
	ctxs   []edgeContext
	ctxIDs map[edgeContext]uint32
	// byEquipment lists, per equipment context string, the edges recorded there in the
	// order they were appended.
	byEquipment map[string][]edgeRef
}

// nodeLists are a node's inputs (edges whose To it is) and outputs.
type nodeLists struct{ in, out adjList }

// adjList is a node's block of edges in one direction: n entries at adj[off:], oldest
// first, in a block of capacity blockCap(n).
type adjList struct{ off, n int32 }

// adjEntry is an edge in the block of one of its ends.
type adjEntry struct {
	far      int32 // the node at the other end, -1 for the outside
	qty, ctx uint32
	kind     EdgeKind
	at       int64 // UnixNano, noTime for the zero time
}

// edgeRef locates an edge: entry slot of node's inputs when in is set, else of its outputs.
// An entry keeps its slot when its block moves.
type edgeRef struct {
	node, slot int32
	in         bool
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
func (x *Index) Len() (nodes, edges int) { return len(x.nodes), x.nEdges }

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

// maxSlots bounds the index: nodes and arena slots are numbered with int32, and a block
// may double when it fills, so half the range is kept free.
const maxSlots = math.MaxInt32 / 2

// Append adds edges, all or none; see ValidateEdges. An Index holds up to about a billion
// nodes and edge entries; beyond that Append refuses edges (ErrInvalid).
func (x *Index) Append(edges ...Edge) error {
	if err := ValidateEdges(edges...); err != nil {
		return err
	}
	if len(x.nodes)+2*len(edges) > maxSlots || len(x.adj)+2*len(edges) > maxSlots {
		return fmt.Errorf("%w: the in-memory genealogy index is full (%d nodes, %d edge entries); keep a graph this large in a database store", ErrInvalid, len(x.nodes), len(x.adj))
	}
	if x.ids == nil {
		x.ids, x.qtyIDs, x.ctxIDs, x.byEquipment = map[Node]int32{}, map[string]uint32{}, map[edgeContext]uint32{}, map[string][]edgeRef{}
	}
	for _, e := range edges {
		from, to := x.node(e.From), x.node(e.To)
		a := adjEntry{qty: x.internQty(e.Qty), ctx: x.internCtx(e), kind: e.Kind, at: noTime}
		if !e.At.IsZero() {
			a.at = e.At.UnixNano()
		}
		var ref edgeRef
		if to >= 0 {
			a.far = from
			ref = edgeRef{node: to, slot: x.push(&x.lists[to].in, a), in: true}
		}
		if from >= 0 {
			a.far = to
			ref = edgeRef{node: from, slot: x.push(&x.lists[from].out, a)}
		}
		x.nEdges++
		if e.Equipment != "" {
			x.byEquipment[e.Equipment] = append(x.byEquipment[e.Equipment], ref)
		}
	}
	return nil
}

// push appends a to l and returns its slot, moving l to a block twice the size when full.
func (x *Index) push(l *adjList, a adjEntry) int32 {
	if l.n == blockCap(l.n) {
		off := x.allocBlock(blockCap(l.n + 1))
		copy(x.adj[off:], x.adj[l.off:l.off+l.n])
		if l.n > 0 {
			x.freeBlock(l.off, l.n)
		}
		l.off = off
	}
	x.adj[l.off+l.n] = a
	l.n++
	return l.n - 1
}

// blockCap is the capacity of the block of a list of n entries: n rounded up to a power of
// two.
func blockCap(n int32) int32 {
	if n == 0 {
		return 0
	}
	return 1 << bits.Len32(uint32(n-1))
}

// allocBlock returns the offset of a block of c entries, c a power of two.
func (x *Index) allocBlock(c int32) int32 {
	k := bits.TrailingZeros32(uint32(c))
	if h := x.free[k]; h != 0 {
		x.free[k] = x.adj[h-1].far
		return h - 1
	}
	off := int32(len(x.adj))
	x.adj = append(x.adj, make([]adjEntry, c)...)
	return off
}

// freeBlock puts the block at off, of c entries, on its free list.
func (x *Index) freeBlock(off, c int32) {
	k := bits.TrailingZeros32(uint32(c))
	x.adj[off].far, x.free[k] = x.free[k], off+1
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
	x.nodes = append(x.nodes, n)
	x.lists = append(x.lists, nodeLists{})
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

// edge rebuilds the Edge of entry a, seen from node near in direction dir (a is one of
// near's outputs going Forward, one of its inputs going Backward).
func (x *Index) edge(a *adjEntry, near, far Node, dir Direction) Edge {
	var e Edge
	x.setEdge(&e, a, &x.ctxs[a.ctx], near, far, dir)
	return e
}

// setEdge sets *e to what edge returns, with a's context c already read.
func (x *Index) setEdge(e *Edge, a *adjEntry, c *edgeContext, near, far Node, dir Direction) {
	*e = Edge{Kind: a.kind, From: near, To: far, Qty: x.qtys[a.qty],
		WorkOrder: c.workOrder, Step: c.step, Equipment: c.equipment, Operator: c.operator, Reason: c.reason}
	if dir == Backward {
		e.From, e.To = far, near
	}
	if a.at != noTime {
		e.At = time.Unix(0, a.at).UTC()
	}
}

func (x *Index) nodeAt(i int32) Node {
	if i < 0 {
		return Node{}
	}
	return x.nodes[i]
}

// list returns the inputs (Backward) or outputs (Forward).
func (n *nodeLists) list(dir Direction) adjList {
	if dir == Backward {
		return n.in
	}
	return n.out
}

// entries returns the entries of l, oldest first.
func (x *Index) entries(l adjList) []adjEntry { return x.adj[l.off : l.off+l.n] }

// Inputs returns the edges into n, newest first.
func (x *Index) Inputs(ctx context.Context, n Node) ([]Edge, error) {
	return x.edgesOf(n, Backward), ctx.Err()
}

// Outputs returns the edges out of n, newest first.
func (x *Index) Outputs(ctx context.Context, n Node) ([]Edge, error) {
	return x.edgesOf(n, Forward), ctx.Err()
}

func (x *Index) edgesOf(n Node, dir Direction) []Edge {
	i, ok := x.ids[n]
	if !ok {
		return nil
	}
	l := x.entries(x.lists[i].list(dir))
	if len(l) == 0 {
		return nil
	}
	out := make([]Edge, len(l))
	for k := range out {
		a := &l[len(l)-1-k]
		x.setEdge(&out[k], a, &x.ctxs[a.ctx], n, x.nodeAt(a.far), dir)
	}
	return out
}

// TraceBackward returns everything that went into from, as Walk would.
func (x *Index) TraceBackward(ctx context.Context, from Node, opts TraceOptions) (Trace, error) {
	return x.trace(ctx, from, Backward, opts)
}

// TraceForward returns everything from went into, as Walk would.
func (x *Index) TraceForward(ctx context.Context, from Node, opts TraceOptions) (Trace, error) {
	return x.trace(ctx, from, Forward, opts)
}

// trace is Walk over the index's own numbers, visiting each node's block newest first as
// Inputs and Outputs list it. Most of its time goes to reading scattered memory (node
// records, blocks, contexts), so it reads in short, tight loops that let the processor
// keep many of those reads in flight at once, and does the rest of the work on what they
// gathered:
//
//   - the walk goes one depth at a time: it reads the list heads of all the nodes of the
//     depth, then collects their blocks' entries (arena slot, near position, far node),
//     then numbers the far nodes it has not seen;
//   - the answer is filled afterwards, allocated at its exact size, in chunks whose edge
//     contexts are copied out before the chunk's edges are built.
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
	order := []int32{r}   // node numbers by position in the trace
	var levels []int      // levels[d] is the position after the last node at depth d
	var heads []adjList   // the lists of the nodes of the current depth
	var slots []int32     // arena slot of each edge of the answer
	var steps []step      // and the positions it joins
	pos := newPositions() // node number → position
	pos.add(r, 0)
	for lo, d := 0, 0; lo < len(order); d++ {
		hi := len(order)
		levels = append(levels, hi)
		heads = heads[:0]
		for _, n := range order[lo:hi] {
			heads = append(heads, x.lists[n].list(dir))
		}
		if opts.MaxDepth > 0 && d >= opts.MaxDepth {
			t.Truncated = x.leadsFurther(heads)
			break
		}
		first := len(steps)
		for j, l := range heads {
			for s := l.off + l.n - 1; s >= l.off; s-- {
				slots = append(slots, s)
				steps = append(steps, step{near: int32(lo + j), far: x.adj[s].far}) // far: a node number until numbered below
			}
		}
		pos.reserve(len(order) + len(steps) - first)
		for k := first; k < len(steps); k++ {
			if k&1023 == 1023 {
				if err := ctx.Err(); err != nil {
					return Trace{}, err
				}
			}
			if f := steps[k].far; f >= 0 {
				p, added := pos.add(f, int32(len(order)))
				if added {
					order = append(order, f)
				}
				steps[k].far = p
			}
		}
		lo = hi
	}
	t.Nodes = make([]TraceNode, len(order))
	d := 0
	for i, n := range order {
		for i >= levels[d] {
			d++
		}
		t.Nodes[i] = TraceNode{Node: x.nodeAt(n), Depth: d}
	}
	if topoOrder(len(order), steps) == nil {
		return Trace{}, cycleError(t)
	}
	if len(slots) > 0 {
		t.Edges = make([]Edge, len(slots))
		x.fillEdges(t.Edges, t.Nodes, slots, steps, dir)
	}
	return t, ctx.Err()
}

// fillEdges builds out[i], the edge in arena slot slots[i] between the trace positions of
// steps[i], in chunks: it first copies a chunk's contexts, scattered over x.ctxs, into a
// small buffer in one short loop, which overlaps their reads, then builds the chunk's
// edges from it.
func (x *Index) fillEdges(out []Edge, nodes []TraceNode, slots []int32, steps []step, dir Direction) {
	var ctxs [64]edgeContext
	for lo := 0; lo < len(out); lo += len(ctxs) {
		chunk := slots[lo:min(lo+len(ctxs), len(slots))]
		for k, s := range chunk {
			ctxs[k] = x.ctxs[x.adj[s].ctx]
		}
		for k, s := range chunk {
			i := lo + k
			far := Node{}
			if p := steps[i].far; p >= 0 {
				far = nodes[p].Node
			}
			x.setEdge(&out[i], &x.adj[s], &ctxs[k], nodes[steps[i].near].Node, far, dir)
		}
	}
}

// leadsFurther reports whether any of lists has an edge to a node (not the outside).
func (x *Index) leadsFurther(lists []adjList) bool {
	for _, l := range lists {
		for _, a := range x.entries(l) {
			if a.far >= 0 {
				return true
			}
		}
	}
	return false
}

// positions maps node numbers to their position in a trace: an open-addressing hash table,
// several times faster than a Go map for int32 keys.
type positions struct {
	slots []posSlot
	n     int
}

type posSlot struct {
	key, pos int32 // key is the node number + 1; 0 marks a free slot
}

func newPositions() *positions {
	return &positions{slots: make([]posSlot, 64)}
}

// add stores p for node k unless k is present; it returns k's position and whether it was
// added.
func (m *positions) add(k, p int32) (int32, bool) {
	mask := uint32(len(m.slots) - 1)
	for h := hash32(k) & mask; ; h = (h + 1) & mask {
		switch s := &m.slots[h]; s.key {
		case k + 1:
			return s.pos, false
		case 0:
			*s = posSlot{key: k + 1, pos: p}
			if m.n++; 2*m.n > len(m.slots) {
				m.grow()
			}
			return p, true
		}
	}
}

func (m *positions) grow() { m.resize(2 * len(m.slots)) }

// reserve makes room for n entries in all.
func (m *positions) reserve(n int) {
	if 2*n > len(m.slots) {
		m.resize(1 << bits.Len(uint(2*n-1)))
	}
}

func (m *positions) resize(size int) {
	old := m.slots
	m.slots, m.n = make([]posSlot, size), 0
	for _, s := range old {
		if s.key != 0 {
			m.add(s.key-1, s.pos)
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
	for _, ref := range x.byEquipment[equipment] {
		dir := Forward
		if ref.in {
			dir = Backward
		}
		a := &x.entries(x.lists[ref.node].list(dir))[ref.slot]
		if a.at != noTime && a.at >= lo && a.at < hi {
			out = append(out, x.edge(a, x.nodeAt(ref.node), x.nodeAt(a.far), dir))
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
