package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/genealogy/genealogytest"
)

// Genealogy figures: a seeded plant history (genealogytest.Generate) of 1,000,000 lots and
// about 3,000,000 edges in a genealogy.Index, traced backward from random finished lots and
// forward from random bulk raw lots (the large answers the per-lot target is about); the
// same generator at 100,000 lots shows that a trace costs what its answer holds, not what
// the graph holds.
//
// The forward figure's baseline is the time per lot of copying each answer (its Nodes and
// Edges, into new slices of the same length) right after the trace: what returning answers
// of that size costs with no graph to read, so the ratio is how many times that the trace
// takes.
func init() {
	register([]string{
		"genealogy.trace_back_p50_us.mem.1m",
		"genealogy.trace_back_p99_us.mem.1m",
		"genealogy.trace_fwd_ns_per_lot.mem.1m",
		"genealogy.trace_back_p50_us.mem.100k",
		"genealogy.bytes_per_lot.mem.1m",
	}, func(report func(result)) {
		ctx := context.Background()

		idx, lots, finished, raw := buildGenealogy(1_000_000)
		back := traceBackward(ctx, idx, finished)
		report(result{Name: "genealogy.trace_back_p50_us.mem.1m", Value: back.p50, Unit: "µs"})
		report(result{Name: "genealogy.trace_back_p99_us.mem.1m", Value: back.p99, Unit: "µs"})
		fwd, copyAnswer := traceForward(ctx, idx, raw)
		report(result{Name: "genealogy.trace_fwd_ns_per_lot.mem.1m", Value: fwd, Unit: "ns/lot"}.WithBaseline(copyAnswer))
		report(result{Name: "genealogy.bytes_per_lot.mem.1m", Value: lots, Unit: "B/lot"})
		fmt.Fprintf(os.Stderr, "genealogy 1m: mean backward answer %.1f nodes\n", back.meanNodes)
		runtime.KeepAlive(idx)
		idx = nil
		runtime.GC()

		small, _, finishedSmall, _ := buildGenealogy(100_000)
		backSmall := traceBackward(ctx, small, finishedSmall)
		report(result{Name: "genealogy.trace_back_p50_us.mem.100k", Value: backSmall.p50, Unit: "µs"})
		fmt.Fprintf(os.Stderr, "genealogy 100k: mean backward answer %.1f nodes; p50 1m/100k = %.2f\n", backSmall.meanNodes, back.p50/backSmall.p50)
	})
}

// buildGenealogy generates a history of n lots into a fresh Index and returns it with the
// heap it holds per lot and samples of finished and raw lots to trace.
func buildGenealogy(n int) (idx *genealogy.Index, bytesPerLot float64, finished, raw []genealogy.Node) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	idx = &genealogy.Index{}
	var appendErr error
	h := genealogytest.Generate(1, n, func(e genealogy.Edge) {
		if err := idx.Append(e); err != nil && appendErr == nil {
			appendErr = err
		}
	})
	if appendErr != nil {
		fmt.Fprintln(os.Stderr, "bench: genealogy:", appendErr)
		os.Exit(1)
	}
	rng := rand.New(rand.NewPCG(2, 3))
	finished = sample(rng, h.Finished, 20_000)
	raw = sample(rng, h.Bulk, 30)
	nodes, edges := idx.Len()
	h = genealogytest.History{}
	runtime.GC()
	runtime.ReadMemStats(&after)
	fmt.Fprintf(os.Stderr, "genealogy: %d lots, %d nodes, %d edges\n", n, nodes, edges)
	return idx, float64(after.HeapAlloc-before.HeapAlloc) / float64(n), finished, raw
}

func sample(rng *rand.Rand, nodes []genealogy.Node, k int) []genealogy.Node {
	out := make([]genealogy.Node, k)
	for i := range out {
		out[i] = nodes[rng.IntN(len(nodes))]
	}
	return out
}

type backStats struct{ p50, p99, meanNodes float64 }

// traceBackward traces each lot backward through the engine's entry point and returns the
// latency percentiles in microseconds.
func traceBackward(ctx context.Context, idx *genealogy.Index, lots []genealogy.Node) backStats {
	d := make([]time.Duration, len(lots))
	total := 0
	for i, n := range lots {
		start := time.Now()
		t, err := genealogy.TraceBackward(ctx, idx, n, genealogy.TraceOptions{})
		d[i] = time.Since(start)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: genealogy:", err)
			os.Exit(1)
		}
		total += len(t.Nodes)
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	us := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Nanoseconds()) / 1000 }
	return backStats{p50: us(0.50), p99: us(0.99), meanNodes: float64(total) / float64(len(lots))}
}

// traceForward traces each lot forward and returns the time per node in the answers, and
// the time per node of copying the answers (the baseline).
func traceForward(ctx context.Context, idx *genealogy.Index, lots []genealogy.Node) (nsPerLot, copyNsPerLot float64) {
	var total, copying time.Duration
	nodes := 0
	for _, n := range lots {
		start := time.Now()
		t, err := genealogy.TraceForward(ctx, idx, n, genealogy.TraceOptions{})
		total += time.Since(start)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: genealogy:", err)
			os.Exit(1)
		}
		nodes += len(t.Nodes)
		start = time.Now()
		c := genealogy.Trace{Nodes: append([]genealogy.TraceNode(nil), t.Nodes...), Edges: append([]genealogy.Edge(nil), t.Edges...)}
		copying += time.Since(start)
		runtime.KeepAlive(c)
	}
	fmt.Fprintf(os.Stderr, "genealogy: forward traces of %d raw lots reached %d nodes\n", len(lots), nodes)
	return float64(total.Nanoseconds()) / float64(nodes), float64(copying.Nanoseconds()) / float64(nodes)
}
