package genealogy_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/taktmes/takt/genealogy"
)

// growingEdges returns n edges of a random acyclic history in append order: lots L0, L1, ...
// each produced or received, consuming earlier lots, a few hubs (L0–L2 and the supplier
// lots) feeding many lots so that their blocks move through several sizes, shipments,
// scraps, zero times and equipment contexts.
func growingEdges(rng *rand.Rand, n int) []genealogy.Edge {
	var edges []genealogy.Edge
	for i := 0; len(edges) < n; i++ {
		lot := genealogy.LotNode(fmt.Sprint("L", i))
		at := t0.Add(time.Duration(i) * time.Minute)
		if rng.IntN(10) == 0 {
			at = time.Time{}
		}
		eq := fmt.Sprint("EQ", rng.IntN(3))
		if i < 3 || rng.IntN(6) == 0 {
			edges = append(edges, genealogy.Edge{Kind: genealogy.EdgeReceive, From: genealogy.SupplierLotNode("M", "S", fmt.Sprint(rng.IntN(2))), To: lot, Qty: q("10 kg"), Operator: "ann", At: at})
			continue
		}
		edges = append(edges, genealogy.Edge{Kind: genealogy.EdgeProduce, To: lot, Qty: q("5 kg"), WorkOrder: fmt.Sprint("WO", i), Equipment: eq, At: at})
		edges = append(edges, genealogy.Edge{Kind: genealogy.EdgeConsume, From: genealogy.LotNode(fmt.Sprint("L", rng.IntN(3))), To: lot, Qty: q("1 kg"), WorkOrder: fmt.Sprint("WO", i), Equipment: eq, At: at})
		for k := rng.IntN(3); k > 0; k-- {
			edges = append(edges, genealogy.Edge{Kind: genealogy.EdgeConsume, From: genealogy.LotNode(fmt.Sprint("L", rng.IntN(i))), To: lot, Qty: q(fmt.Sprint(rng.IntN(9)+1, " kg")), WorkOrder: fmt.Sprint("WO", i), Equipment: eq, At: at})
		}
		switch rng.IntN(4) {
		case 0:
			edges = append(edges, genealogy.Edge{Kind: genealogy.EdgeShip, From: lot, To: genealogy.ShipmentNode(fmt.Sprint("SH", rng.IntN(i/4+1))), Qty: q("1 kg"), At: at})
		case 1:
			edges = append(edges, genealogy.Edge{Kind: genealogy.EdgeScrap, From: lot, Qty: q("1 kg"), Reason: "X", Equipment: eq, At: at})
		}
	}
	return edges[:n]
}

// TestIndexInterleavedAppendsAndReads appends a history in small batches and checks after
// each one that the Index answers exactly what a store that scans every edge does: Inputs
// and Outputs newest first, traces as Walk gives them, EdgesAt in append order.
func TestIndexInterleavedAppendsAndReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	edges := growingEdges(rng, 3000)
	w := newWorld(t)
	idx := &genealogy.Index{}
	batches := 0
	for len(w.edges) < len(edges) {
		batch := edges[len(w.edges):min(len(w.edges)+1+rng.IntN(8), len(edges))]
		require.NoError(t, idx.Append(batch...))
		w.edges = append(w.edges, batch...)
		_, n := idx.Len()
		require.Equal(t, len(w.edges), n)

		for k := 0; k < 3; k++ {
			e := w.edges[rng.IntN(len(w.edges))]
			for _, node := range []genealogy.Node{e.From, e.To} {
				if node.IsZero() {
					continue
				}
				want, _ := w.Inputs(ctx, node)
				slices.Reverse(want)
				got, err := idx.Inputs(ctx, node)
				require.NoError(t, err)
				require.Equal(t, want, got, "inputs of %s", node)
				want, _ = w.Outputs(ctx, node)
				slices.Reverse(want)
				got, err = idx.Outputs(ctx, node)
				require.NoError(t, err)
				require.Equal(t, want, got, "outputs of %s", node)
			}
		}

		if batches++; batches%8 == 0 {
			root := w.edges[rng.IntN(len(w.edges))].To
			if root.IsZero() {
				root = genealogy.LotNode("L0")
			}
			opts := genealogy.TraceOptions{MaxDepth: rng.IntN(4)}
			requireIndexTracesAsWalk(t, w, idx, root, opts)

			eq := fmt.Sprint("EQ", rng.IntN(3))
			from, to := t0.Add(time.Duration(rng.IntN(200))*time.Minute), t0.Add(time.Duration(200+rng.IntN(400))*time.Minute)
			var want []genealogy.Edge
			for _, e := range w.edges {
				if e.Equipment == eq && !e.At.IsZero() && !e.At.Before(from) && e.At.Before(to) {
					want = append(want, e)
				}
			}
			got, err := idx.EdgesAt(ctx, eq, from, to)
			require.NoError(t, err)
			require.Equal(t, want, got, "edges at %s", eq)
		}
	}
}

// TestIndexConcurrentReadsDuringAppends runs traces and reads while another goroutine
// appends, all under a sync.RWMutex as a store holds the Index; run with -race, it shows the
// reads share no state with each other or with Append.
func TestIndexConcurrentReadsDuringAppends(t *testing.T) {
	edges := growingEdges(rand.New(rand.NewPCG(5, 1)), 4000)
	idx := &genealogy.Index{}
	require.NoError(t, idx.Append(edges[:500]...))
	var mu sync.RWMutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 500; i < len(edges); i += 10 {
			mu.Lock()
			err := idx.Append(edges[i:min(i+10, len(edges))]...)
			mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 9))
			for i := 0; i < 300; i++ {
				root := genealogy.LotNode(fmt.Sprint("L", rng.IntN(20)))
				mu.RLock()
				fwd, err := idx.TraceForward(ctx, root, genealogy.TraceOptions{})
				if err == nil {
					_, err = idx.TraceBackward(ctx, root, genealogy.TraceOptions{MaxDepth: 2})
				}
				if err == nil {
					_, err = idx.EdgesAt(ctx, "EQ1", t0, t0.Add(time.Hour))
				}
				mu.RUnlock()
				if err != nil {
					t.Error(err)
					return
				}
				if err := genealogy.CheckAcyclic(fwd); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
