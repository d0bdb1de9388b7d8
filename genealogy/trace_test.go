package genealogy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/taktmes/takt/genealogy"
)

var ctx = context.Background()

// diamond: R feeds A and B, both feed F.
func diamond(t *testing.T) *world {
	w := newWorld(t)
	w.receive(t, resin, "R", "100 kg")
	w.produce(t, housing, "A", "10 ea")
	w.produce(t, housing, "B", "10 ea")
	w.produce(t, pump, "F", "5 ea")
	w.consume(t, "R", "A", "20 kg")
	w.consume(t, "R", "B", "30 kg")
	w.consume(t, "A", "F", "5 ea")
	w.consume(t, "B", "F", "5 ea")
	return w
}

func TestDiamondCountedOnce(t *testing.T) {
	w := diamond(t)
	for name, r := range map[string]genealogy.Reader{"walk": w, "index": w.index(t)} {
		t.Run(name, func(t *testing.T) {
			back, err := genealogy.TraceBackward(ctx, r, genealogy.LotNode("F"), genealogy.TraceOptions{})
			require.NoError(t, err)
			depths := map[string]int{}
			for _, n := range back.Nodes {
				_, dup := depths[n.Node.String()]
				require.False(t, dup, "%s listed twice", n.Node)
				depths[n.Node.String()] = n.Depth
			}
			assert.Equal(t, map[string]int{"lot:F": 0, "lot:A": 1, "lot:B": 1, "lot:R": 2, "supplier-lot:RESIN|ACME|B-R": 3}, depths)
			consumes := 0
			for _, e := range back.Edges {
				if e.Kind == genealogy.EdgeConsume {
					consumes++
					assert.Equal(t, "CNC-1", e.Equipment)
					assert.Equal(t, "ann", e.Operator)
				}
			}
			assert.Equal(t, 4, consumes, "both edges of the diamond are kept")
			assert.False(t, back.Truncated)

			fwd, err := genealogy.TraceForward(ctx, r, genealogy.LotNode("R"), genealogy.TraceOptions{})
			require.NoError(t, err)
			assert.Len(t, fwd.Nodes, 4, "R, A, B and F once")
		})
	}
}

func TestDepthLimit(t *testing.T) {
	w := newWorld(t)
	w.receive(t, resin, "L0", "100 kg")
	prev := "L0"
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("L%d", i)
		w.must(genealogy.Split(w.lots[prev], []genealogy.Part{{ID: id, Qty: q("10 kg")}}, opAt(i)))
		prev = id
	}
	idx := w.index(t)
	for _, c := range []struct {
		depth, nodes int
		truncated    bool
	}{{1, 2, true}, {2, 3, true}, {5, 6, true}, {6, 7, false}, {0, 7, false}} {
		for name, r := range map[string]genealogy.Reader{"walk": w, "index": idx} {
			tr, err := genealogy.TraceBackward(ctx, r, genealogy.LotNode("L5"), genealogy.TraceOptions{MaxDepth: c.depth})
			require.NoError(t, err)
			assert.Len(t, tr.Nodes, c.nodes, "%s depth %d", name, c.depth)
			assert.Equal(t, c.truncated, tr.Truncated, "%s depth %d", name, c.depth)
			for _, n := range tr.Nodes {
				assert.LessOrEqual(t, n.Depth, c.depth+boolInt(c.depth == 0)*10)
			}
		}
	}
	_, err := genealogy.TraceBackward(ctx, idx, genealogy.LotNode("L5"), genealogy.TraceOptions{MaxDepth: -1})
	assert.ErrorIs(t, err, genealogy.ErrInvalid)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestCycleFromStoreRejected(t *testing.T) {
	a, b := genealogy.LotNode("A"), genealogy.LotNode("B")
	w := newWorld(t)
	w.edges = []genealogy.Edge{
		{Kind: genealogy.EdgeConsume, From: a, To: b, Qty: q("1 kg"), At: t0},
		{Kind: genealogy.EdgeConsume, From: b, To: a, Qty: q("1 kg"), At: t0},
	}
	_, err := genealogy.Walk(ctx, w, a, genealogy.Backward, genealogy.TraceOptions{})
	assert.ErrorIs(t, err, genealogy.ErrCycle)
	_, err = genealogy.TraceForward(ctx, w.index(t), a, genealogy.TraceOptions{})
	assert.ErrorIs(t, err, genealogy.ErrCycle)
	_, err = genealogy.Recall(ctx, w, a, genealogy.TraceOptions{})
	assert.ErrorIs(t, err, genealogy.ErrCycle)
}

// liar returns an edge that does not touch the node asked about.
type liar struct{ *world }

func (l liar) Inputs(context.Context, genealogy.Node) ([]genealogy.Edge, error) {
	return []genealogy.Edge{{Kind: genealogy.EdgeConsume, From: genealogy.LotNode("X"), To: genealogy.LotNode("Y"), Qty: q("1 kg")}}, nil
}

func TestWalkRejectsEdgesOfOtherNodes(t *testing.T) {
	_, err := genealogy.TraceBackward(ctx, liar{newWorld(t)}, genealogy.LotNode("A"), genealogy.TraceOptions{})
	assert.ErrorIs(t, err, genealogy.ErrInvalid)
}

// cannedTracer shows TraceBackward asks a store's Tracer.
type cannedTracer struct {
	*world
	calls int
}

func (c *cannedTracer) TraceBackward(_ context.Context, from genealogy.Node, _ genealogy.TraceOptions) (genealogy.Trace, error) {
	c.calls++
	return genealogy.Trace{Root: from, Direction: genealogy.Backward, Nodes: []genealogy.TraceNode{{Node: from}}}, nil
}

func (c *cannedTracer) TraceForward(context.Context, genealogy.Node, genealogy.TraceOptions) (genealogy.Trace, error) {
	return genealogy.Trace{}, nil
}

func TestTracerIsUsedWhenPresent(t *testing.T) {
	c := &cannedTracer{world: newWorld(t)}
	_, err := genealogy.TraceBackward(ctx, c, genealogy.LotNode("A"), genealogy.TraceOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, c.calls)
}

func TestCheckAcyclic(t *testing.T) {
	a, b := genealogy.LotNode("A"), genealogy.LotNode("B")
	tr := genealogy.Trace{Root: a, Direction: genealogy.Forward, Nodes: []genealogy.TraceNode{{Node: a}, {Node: b, Depth: 1}},
		Edges: []genealogy.Edge{{Kind: genealogy.EdgeConsume, From: a, To: b}}}
	require.NoError(t, genealogy.CheckAcyclic(tr))
	tr.Edges = append(tr.Edges, genealogy.Edge{Kind: genealogy.EdgeConsume, From: b, To: a})
	assert.ErrorIs(t, genealogy.CheckAcyclic(tr), genealogy.ErrCycle)
	tr.Edges = []genealogy.Edge{{Kind: genealogy.EdgeConsume, From: a, To: genealogy.LotNode("Z")}}
	assert.ErrorIs(t, genealogy.CheckAcyclic(tr), genealogy.ErrInvalid)
}

// randomWorld builds a random acyclic genealogy of n lots: edges only go from older to newer
// lots, with shipments, serials and edges to the outside.
func randomWorld(t *testing.T, rng *rand.Rand, n int) *world {
	w := newWorld(t)
	kinds := []genealogy.EdgeKind{genealogy.EdgeConsume, genealogy.EdgeSplit, genealogy.EdgeMerge}
	for i := 0; i < n; i++ {
		to := genealogy.LotNode(fmt.Sprint("L", i))
		at := t0.Add(time.Duration(i) * time.Minute)
		if i < 3 || rng.IntN(5) == 0 {
			w.edges = append(w.edges, genealogy.Edge{Kind: genealogy.EdgeReceive, From: genealogy.SupplierLotNode("M", "S", fmt.Sprint(rng.IntN(3))), To: to, Qty: q("10 kg"), At: at})
			continue
		}
		w.edges = append(w.edges, genealogy.Edge{Kind: genealogy.EdgeProduce, To: to, Qty: q("5 kg"), WorkOrder: fmt.Sprint("WO", i), At: at})
		for k := rng.IntN(4); k >= 0; k-- {
			from := genealogy.LotNode(fmt.Sprint("L", rng.IntN(i)))
			w.edges = append(w.edges, genealogy.Edge{Kind: kinds[rng.IntN(len(kinds))], From: from, To: to, Qty: q(fmt.Sprint(rng.IntN(9)+1, " kg")), Step: "10", At: at})
		}
		switch rng.IntN(4) {
		case 0:
			w.edges = append(w.edges, genealogy.Edge{Kind: genealogy.EdgeShip, From: to, To: genealogy.ShipmentNode(fmt.Sprint("SH", rng.IntN(n/4+1))), Qty: q("1 kg"), At: at})
		case 1:
			w.edges = append(w.edges, genealogy.Edge{Kind: genealogy.EdgeSerialize, From: to, To: genealogy.SerialNode(fmt.Sprint("SN", i)), Qty: q("1 ea"), At: at})
		case 2:
			w.edges = append(w.edges, genealogy.Edge{Kind: genealogy.EdgeScrap, From: to, Qty: q("1 kg"), Reason: "X", At: at})
		}
	}
	return w
}

func canonical(tr genealogy.Trace) (nodes, edges []string) {
	for _, n := range tr.Nodes {
		nodes = append(nodes, fmt.Sprintf("%s@%d", n.Node, n.Depth))
	}
	for _, e := range tr.Edges {
		edges = append(edges, fmt.Sprintf("%v", e))
	}
	sort.Strings(nodes)
	sort.Strings(edges)
	return nodes, edges
}

func TestReaderWalkEqualsIndexOnRandomGraphs(t *testing.T) {
	graphs, size := 20, 300
	if testing.Short() {
		graphs, size = 5, 100
	}
	for g := 0; g < graphs; g++ {
		rng := rand.New(rand.NewPCG(uint64(g), 7))
		w := randomWorld(t, rng, size)
		idx := w.index(t)
		for k := 0; k < 20; k++ {
			root := genealogy.LotNode(fmt.Sprint("L", rng.IntN(size)))
			opts := genealogy.TraceOptions{MaxDepth: rng.IntN(5)}
			requireIndexTracesAsWalk(t, w, idx, root, opts)
		}
	}
}

// readerOnly hides the Index's Tracer.
type readerOnly struct{ genealogy.Reader }

func TestIndexAppendIsAllOrNothing(t *testing.T) {
	idx := &genealogy.Index{}
	err := idx.Append(
		genealogy.Edge{Kind: genealogy.EdgeConsume, From: genealogy.LotNode("A"), To: genealogy.LotNode("B"), Qty: q("1 kg")},
		genealogy.Edge{Kind: 0, From: genealogy.LotNode("A"), Qty: q("0 kg")},
		genealogy.Edge{Kind: genealogy.EdgeScrap, Qty: q("1 kg")},
		genealogy.Edge{Kind: genealogy.EdgeScrap, From: genealogy.LotNode("A"), Qty: q("1 kg"), At: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
	)
	var ps genealogy.Problems
	require.ErrorAs(t, err, &ps)
	assert.Len(t, ps, 4)
	nodes, edges := idx.Len()
	assert.Zero(t, nodes+edges)
	in, err := idx.Inputs(ctx, genealogy.LotNode("B"))
	require.NoError(t, err)
	assert.Empty(t, in)
	tr, err := idx.TraceBackward(ctx, genealogy.LotNode("unknown"), genealogy.TraceOptions{})
	require.NoError(t, err)
	assert.Len(t, tr.Nodes, 1, "an unknown node traces to itself")
}

// requireIndexTracesAsWalk checks the Index's traces from root, both ways, against Walk over
// the reader r (the same as canonical answers) and against Walk over the Index as a plain
// Reader (exactly the same).
func requireIndexTracesAsWalk(t *testing.T, r genealogy.Reader, idx *genealogy.Index, root genealogy.Node, opts genealogy.TraceOptions) {
	t.Helper()
	for _, dir := range []genealogy.Direction{genealogy.Backward, genealogy.Forward} {
		want, err := genealogy.Walk(ctx, r, root, dir, opts)
		require.NoError(t, err)
		var got genealogy.Trace
		if dir == genealogy.Backward {
			got, err = idx.TraceBackward(ctx, root, opts)
		} else {
			got, err = idx.TraceForward(ctx, root, opts)
		}
		require.NoError(t, err)
		wn, we := canonical(want)
		gn, ge := canonical(got)
		require.Equal(t, wn, gn, "%s trace of %s, depth %d: nodes", dir, root, opts.MaxDepth)
		require.Equal(t, we, ge, "%s trace of %s, depth %d: edges", dir, root, opts.MaxDepth)
		require.Equal(t, want.Truncated, got.Truncated)
		viaReader, err := genealogy.Walk(ctx, readerOnly{idx}, root, dir, opts)
		require.NoError(t, err)
		require.Equal(t, got, viaReader, "%s trace of %s: the Index's own against Walk over it", dir, root)
	}
}

func TestTraceRefusesAnUnknownNodeKind(t *testing.T) {
	w := newWorld(t)
	for name, r := range map[string]genealogy.Reader{"walk": w, "index": w.index(t)} {
		_, err := genealogy.TraceForward(ctx, r, genealogy.Node{ID: "L1"}, genealogy.TraceOptions{})
		assert.ErrorIs(t, err, genealogy.ErrInvalid, name)
		_, err = genealogy.Recall(ctx, r, genealogy.Node{Kind: 9, ID: "L1"}, genealogy.TraceOptions{})
		assert.ErrorIs(t, err, genealogy.ErrInvalid, name)
	}
}

// TestIndexTracesAsWalkFromEveryNode covers what TestReaderWalkEqualsIndexOnRandomGraphs
// does not: roots of every kind (supplier lots, shipments, serials), Assemble edges between
// serials, and recalls, in both directions at several depth limits.
func TestIndexTracesAsWalkFromEveryNode(t *testing.T) {
	for g := 0; g < 5; g++ {
		rng := rand.New(rand.NewPCG(uint64(g), 11))
		w := randomWorld(t, rng, 100)
		var serials []genealogy.Node
		for _, e := range w.edges {
			if e.To.Kind == genealogy.NodeSerial {
				serials = append(serials, e.To)
			}
		}
		for i := 1; i < len(serials); i++ {
			if rng.IntN(2) == 0 {
				w.edges = append(w.edges, genealogy.Edge{Kind: genealogy.EdgeAssemble, From: serials[i-1], To: serials[i], Qty: q("1 ea"), At: t0})
			}
		}
		idx := w.index(t)
		nodes := map[genealogy.Node]bool{}
		for _, e := range w.edges {
			nodes[e.From], nodes[e.To] = true, true
		}
		delete(nodes, genealogy.Node{})
		for n := range nodes {
			for d := 0; d < 4; d++ {
				opts := genealogy.TraceOptions{MaxDepth: d}
				requireIndexTracesAsWalk(t, w, idx, n, opts)
				want, err := genealogy.Recall(ctx, w, n, opts)
				require.NoError(t, err)
				got, err := genealogy.Recall(ctx, idx, n, opts)
				require.NoError(t, err)
				require.Equal(t, recallSummary(want), recallSummary(got), "recall of %s, depth %d", n, d)
			}
		}
	}
}

// recallSummary is a recall report's items and shipments, in a fixed order.
func recallSummary(rep genealogy.RecallReport) []string {
	out := []string{fmt.Sprint(rep.Source, rep.Truncated)}
	for _, it := range rep.Items {
		var shipped []string
		for _, sh := range it.Shipped {
			shipped = append(shipped, fmt.Sprint(sh.Shipment, sh.Qty, sh.Contained))
		}
		sort.Strings(shipped)
		out = append(out, fmt.Sprint(it.Node, it.Depth, it.End, it.Contained, shipped))
	}
	sort.Strings(out)
	return out
}
