package pgstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/genealogy/genealogytest"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// memGraph is a reference genealogy.Reader over edges in the order they were added. It
// hides nothing and implements no Tracer, so genealogy.Walk reads it node by node.
type memGraph struct {
	in, out map[genealogy.Node][]genealogy.Edge
}

func newMemGraph() *memGraph {
	return &memGraph{in: map[genealogy.Node][]genealogy.Edge{}, out: map[genealogy.Node][]genealogy.Edge{}}
}

func (g *memGraph) add(e genealogy.Edge) {
	if !e.To.IsZero() {
		g.in[e.To] = append(g.in[e.To], e)
	}
	if !e.From.IsZero() {
		g.out[e.From] = append(g.out[e.From], e)
	}
}

func (g *memGraph) Inputs(_ context.Context, n genealogy.Node) ([]genealogy.Edge, error) {
	return g.in[n], nil
}

func (g *memGraph) Outputs(_ context.Context, n genealogy.Node) ([]genealogy.Edge, error) {
	return g.out[n], nil
}

// nodewise hides a reader's Tracer, so genealogy.Walk reads it node by node.
type nodewise struct{ genealogy.Reader }

// TestTraceMatchesWalk loads a generated plant history, half with ImportEdges (COPY) and
// half with AddEdges in transactions, and checks that every trace the store answers in
// one query equals genealogy.Walk over the same edges, from the store node by node and
// from memory, in both directions and at several depth limits.
func TestTraceMatchesWalk(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	var all []genealogy.Edge
	ref := newMemGraph()
	h := genealogytest.Generate(42, 3000, func(e genealogy.Edge) {
		all = append(all, e)
		ref.add(e)
	})
	half := len(all) / 2
	n, err := s.ImportEdges(ctx, slices.Values(all[:half]))
	require.NoError(t, err)
	require.Equal(t, int64(half), n)
	for batch := range slices.Chunk(all[half:], 500) {
		require.NoError(t, s.Update(ctx, func(tx store.Tx) error { return tx.AddEdges(ctx, batch...) }))
	}

	roots := append(append(append([]genealogy.Node{}, h.Finished[:15]...), h.Raw[:10]...), h.Bulk...)
	roots = append(roots, h.Finished[len(h.Finished)-5:]...)
	require.NoError(t, s.View(ctx, func(tx store.ReadTx) error {
		for _, root := range roots {
			for _, depth := range []int{0, 1, 2, 4} {
				opts := genealogy.TraceOptions{MaxDepth: depth}
				for _, dir := range []genealogy.Direction{genealogy.Backward, genealogy.Forward} {
					want, err := genealogy.Walk(ctx, ref, root, dir, opts)
					require.NoError(t, err)
					fromTx, err := genealogy.Walk(ctx, nodewise{tx}, root, dir, opts)
					require.NoError(t, err)
					var got, inTx genealogy.Trace
					if dir == genealogy.Backward {
						got, err = s.TraceBackward(ctx, root, opts)
						require.NoError(t, err)
						inTx, err = genealogy.TraceBackward(ctx, tx, root, opts)
					} else {
						got, err = s.TraceForward(ctx, root, opts)
						require.NoError(t, err)
						inTx, err = genealogy.TraceForward(ctx, tx, root, opts)
					}
					require.NoError(t, err)
					require.Equal(t, want, got, "%s trace of %s, depth %d", dir, root, depth)
					require.Equal(t, want, fromTx, "node-by-node %s trace of %s, depth %d", dir, root, depth)
					require.Equal(t, want, inTx, "in-transaction %s trace of %s, depth %d", dir, root, depth)
				}
			}
		}
		return nil
	}))
}

func TestTraceEdgeCases(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	a, b, c := genealogy.LotNode("A"), genealogy.LotNode("B"), genealogy.LotNode("C")
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	edge := func(from, to genealogy.Node) genealogy.Edge {
		return genealogy.Edge{Kind: genealogy.EdgeConsume, From: from, To: to, Qty: units.MustParse("1.250 kg"), At: at}
	}
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		return tx.AddEdges(ctx, edge(a, b), edge(b, c), edge(c, a), // a cycle: corrupt data
			genealogy.Edge{Kind: genealogy.EdgeProduce, To: b, Qty: units.MustParse("3 kg"), At: at})
	}))

	t.Run("cycle", func(t *testing.T) {
		_, err := s.TraceBackward(ctx, a, genealogy.TraceOptions{})
		assert.ErrorIs(t, err, genealogy.ErrCycle)
		_, err = s.TraceForward(ctx, b, genealogy.TraceOptions{})
		assert.ErrorIs(t, err, genealogy.ErrCycle)
	})
	t.Run("depth-limit-stops-before-the-cycle", func(t *testing.T) {
		tr, err := s.TraceBackward(ctx, c, genealogy.TraceOptions{MaxDepth: 1})
		require.NoError(t, err)
		assert.True(t, tr.Truncated)
		assert.Equal(t, []genealogy.TraceNode{{Node: c}, {Node: b, Depth: 1}}, tr.Nodes)
	})
	t.Run("exact-quantity-and-time", func(t *testing.T) {
		tr, err := s.TraceBackward(ctx, b, genealogy.TraceOptions{MaxDepth: 1})
		require.NoError(t, err)
		require.Len(t, tr.Edges, 2)
		assert.Equal(t, "1.25 kg", tr.Edges[0].Qty.String())
		assert.Equal(t, at, tr.Edges[0].At)
		assert.True(t, tr.Edges[1].From.IsZero(), "the produce edge comes from outside")
	})
	t.Run("unknown-node", func(t *testing.T) {
		tr, err := s.TraceForward(ctx, genealogy.LotNode("nobody"), genealogy.TraceOptions{})
		require.NoError(t, err)
		assert.Equal(t, []genealogy.TraceNode{{Node: genealogy.LotNode("nobody")}}, tr.Nodes)
		assert.Empty(t, tr.Edges)
	})
	t.Run("invalid-arguments", func(t *testing.T) {
		_, err := s.TraceBackward(ctx, genealogy.Node{}, genealogy.TraceOptions{})
		assert.ErrorIs(t, err, genealogy.ErrInvalid)
		_, err = s.TraceForward(ctx, a, genealogy.TraceOptions{MaxDepth: -1})
		assert.ErrorIs(t, err, genealogy.ErrInvalid)
	})
}

// The arguments are checked as Walk checks them, before any query: a root of no known node
// kind is ErrInvalid, not a trace of that node alone.
func TestTraceRefusesAnUnknownNodeKind(t *testing.T) {
	for _, root := range []genealogy.Node{{ID: "A"}, {Kind: 9, ID: "A"}} {
		_, err := trace(context.Background(), nil, root, genealogy.Forward, genealogy.TraceOptions{})
		assert.ErrorIs(t, err, genealogy.ErrInvalid, "%s", root)
	}
}
