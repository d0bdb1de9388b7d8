package genealogy_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/genealogy/genealogytest"
)

var benchGraph struct {
	once sync.Once
	idx  *genealogy.Index
	h    genealogytest.History
}

// benchIndex is a 200,000-lot generated history, built once for all benchmarks.
func benchIndex(b *testing.B) (*genealogy.Index, genealogytest.History) {
	benchGraph.once.Do(func() {
		idx := &genealogy.Index{}
		benchGraph.h = genealogytest.Generate(1, 200_000, func(e genealogy.Edge) {
			if err := idx.Append(e); err != nil {
				b.Fatal(err)
			}
		})
		benchGraph.idx = idx
	})
	return benchGraph.idx, benchGraph.h
}

func BenchmarkIndexTraceBackwardFinished(b *testing.B) {
	idx, h := benchIndex(b)
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	nodes := 0
	b.ResetTimer()
	for b.Loop() {
		t, err := genealogy.TraceBackward(ctx, idx, h.Finished[rng.IntN(len(h.Finished))], genealogy.TraceOptions{})
		if err != nil {
			b.Fatal(err)
		}
		nodes += len(t.Nodes)
	}
	b.ReportMetric(float64(nodes)/float64(b.N), "nodes/op")
}

func BenchmarkIndexTraceForwardBulk(b *testing.B) {
	idx, h := benchIndex(b)
	ctx := context.Background()
	nodes, i := 0, 0
	b.ResetTimer()
	for b.Loop() {
		t, err := genealogy.TraceForward(ctx, idx, h.Bulk[i%len(h.Bulk)], genealogy.TraceOptions{})
		if err != nil {
			b.Fatal(err)
		}
		nodes += len(t.Nodes)
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(nodes), "ns/lot")
}
