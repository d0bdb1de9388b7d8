package genealogy

import (
	"context"
	"fmt"
)

// Reader is what a trace needs from storage: the edges touching a node. Edges with an
// outside end (Produce, Scrap, Adjust) are included; a node the store does not know has no
// edges. Order does not matter.
type Reader interface {
	// Inputs returns the edges whose To is n.
	Inputs(ctx context.Context, n Node) ([]Edge, error)
	// Outputs returns the edges whose From is n.
	Outputs(ctx context.Context, n Node) ([]Edge, error)
}

// Tracer is implemented by a store that answers a whole trace at once (one recursive query,
// say) instead of node by node. Its traces must be what Walk returns for the same graph, and
// a graph with a cycle must give an error wrapping ErrCycle (CheckAcyclic checks a finished
// Trace).
type Tracer interface {
	TraceBackward(ctx context.Context, from Node, opts TraceOptions) (Trace, error)
	TraceForward(ctx context.Context, from Node, opts TraceOptions) (Trace, error)
}

// TraceOptions bound a trace.
type TraceOptions struct {
	// MaxDepth is how many edges away from the start a trace goes; 0 means no limit.
	MaxDepth int
}

// Direction is the way a trace walks the edges.
type Direction uint8

// Directions.
const (
	Backward Direction = 1 // from a lot to what went into it, up to supplier lots
	Forward  Direction = 2 // from a lot to what it went into, down to shipments
)

// String returns "backward" or "forward".
func (d Direction) String() string {
	switch d {
	case Backward:
		return "backward"
	case Forward:
		return "forward"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Trace is the part of the genealogy reachable from Root in one direction.
type Trace struct {
	Root      Node
	Direction Direction
	// Nodes holds the root first, then every node reached, once each, at its shortest
	// distance from the root (breadth-first). A lot reached by two paths appears once.
	Nodes []TraceNode
	// Edges holds, once each, every edge of every node within the depth limit in the
	// direction of the trace (Inputs going backward, Outputs going forward), with its
	// quantity and context: both edges of a diamond, and edges to the outside (Produce,
	// Scrap, Adjust).
	Edges []Edge
	// Truncated is set when MaxDepth stopped the trace before nodes that lead further.
	Truncated bool
}

// TraceNode is a node of a trace and its distance from the root in edges.
type TraceNode struct {
	Node  Node
	Depth int
}

// TraceBackward returns everything that went into from, to the supplier lots. It asks r's
// Tracer when r has one, and otherwise walks r node by node (Walk).
func TraceBackward(ctx context.Context, r Reader, from Node, opts TraceOptions) (Trace, error) {
	if t, ok := r.(Tracer); ok {
		return t.TraceBackward(ctx, from, opts)
	}
	return Walk(ctx, r, from, Backward, opts)
}

// TraceForward returns everything from went into, to the shipments. It asks r's Tracer when
// r has one, and otherwise walks r node by node (Walk).
func TraceForward(ctx context.Context, r Reader, from Node, opts TraceOptions) (Trace, error) {
	if t, ok := r.(Tracer); ok {
		return t.TraceForward(ctx, from, opts)
	}
	return Walk(ctx, r, from, Forward, opts)
}

// Walk traces from root through r node by node, breadth-first; it is the reference every
// Tracer must agree with. It rejects edges that do not touch the node they were read for
// (ErrInvalid) and a cycle in what it read (ErrCycle).
func Walk(ctx context.Context, r Reader, root Node, dir Direction, opts TraceOptions) (Trace, error) {
	if err := checkTraceArgs(root, dir, opts); err != nil {
		return Trace{}, err
	}
	t := Trace{Root: root, Direction: dir, Nodes: []TraceNode{{Node: root}}}
	seen := map[Node]bool{root: true}
	for i := 0; i < len(t.Nodes); i++ {
		if err := ctx.Err(); err != nil {
			return Trace{}, err
		}
		n := t.Nodes[i]
		var edges []Edge
		var err error
		if dir == Backward {
			edges, err = r.Inputs(ctx, n.Node)
		} else {
			edges, err = r.Outputs(ctx, n.Node)
		}
		if err != nil {
			return Trace{}, fmt.Errorf("genealogy: reading the edges of %s: %w", n.Node, err)
		}
		atLimit := opts.MaxDepth > 0 && n.Depth >= opts.MaxDepth
		for _, e := range edges {
			near, far := ends(e, dir)
			if near != n.Node {
				return Trace{}, fmt.Errorf("%w: the store returned edge %s %s→%s when asked for the %s edges of %s", ErrInvalid, e.Kind, e.From, e.To, dir, n.Node)
			}
			if atLimit {
				t.Truncated = t.Truncated || !far.IsZero()
				continue
			}
			t.Edges = append(t.Edges, e)
			if !far.IsZero() && !seen[far] {
				seen[far] = true
				t.Nodes = append(t.Nodes, TraceNode{Node: far, Depth: n.Depth + 1})
			}
		}
	}
	if err := CheckAcyclic(t); err != nil {
		return Trace{}, err
	}
	return t, nil
}

// CheckAcyclic returns an error wrapping ErrCycle when the edges of t close a cycle, or
// ErrInvalid when an edge does not join two nodes of t. Tracer implementations use it.
func CheckAcyclic(t Trace) error {
	pos := make(map[Node]int32, len(t.Nodes))
	for i, n := range t.Nodes {
		pos[n.Node] = int32(i)
	}
	steps := make([]step, 0, len(t.Edges))
	for _, e := range t.Edges {
		near, far := ends(e, t.Direction)
		p, ok := pos[near]
		q, okFar := pos[far]
		if !ok || (!okFar && !far.IsZero()) {
			return fmt.Errorf("%w: trace edge %s %s→%s joins a node that is not in the trace", ErrInvalid, e.Kind, e.From, e.To)
		}
		if far.IsZero() {
			q = -1
		}
		steps = append(steps, step{near: p, far: q})
	}
	if order := topoOrder(len(t.Nodes), steps); order == nil {
		return cycleError(t)
	}
	return nil
}

func cycleError(t Trace) error {
	return fmt.Errorf("%w: the %s trace of %s returned by the store contains a cycle; the stored genealogy is corrupt, find and remove the edge that closes it", ErrCycle, t.Direction, t.Root)
}

func checkTraceArgs(root Node, dir Direction, opts TraceOptions) error {
	var ps Problems
	if root.IsZero() || root.ID == "" || root.Kind < NodeLot || root.Kind > NodeSupplierLot {
		ps.add("from", root.String(), ErrInvalid, "give the node to trace from, for example LotNode(id)")
	}
	if dir != Backward && dir != Forward {
		ps.add("direction", dir.String(), ErrInvalid, "use Backward or Forward")
	}
	if opts.MaxDepth < 0 {
		ps.add("opts.max_depth", itoa(opts.MaxDepth), ErrInvalid, "use 0 for no limit or a positive depth")
	}
	return ps.err()
}

// ends returns the end of e a walk in direction dir arrives from (near) and goes to (far).
func ends(e Edge, dir Direction) (near, far Node) {
	if dir == Backward {
		return e.To, e.From
	}
	return e.From, e.To
}

// step is an edge of a trace between node positions; far is -1 for the outside.
type step struct{ near, far int32 }

// topoOrder returns the positions 0..n-1 in an order where every step goes from an earlier
// to a later position, or nil when the steps close a cycle.
func topoOrder(n int, steps []step) []int32 {
	indeg := make([]int32, n)
	start := make([]int32, n+1)
	for _, s := range steps {
		start[s.near+1]++
		if s.far >= 0 {
			indeg[s.far]++
		}
	}
	for i := 0; i < n; i++ {
		start[i+1] += start[i]
	}
	next := make([]int32, len(steps))
	fill := append([]int32(nil), start[:n]...)
	for _, s := range steps {
		next[fill[s.near]] = s.far
		fill[s.near]++
	}
	order := make([]int32, 0, n)
	for i := 0; i < n; i++ {
		if indeg[i] == 0 {
			order = append(order, int32(i))
		}
	}
	for k := 0; k < len(order); k++ {
		p := order[k]
		for _, f := range next[start[p]:start[p+1]] {
			if f < 0 {
				continue
			}
			if indeg[f]--; indeg[f] == 0 {
				order = append(order, f)
			}
		}
	}
	if len(order) != n {
		return nil
	}
	return order
}
