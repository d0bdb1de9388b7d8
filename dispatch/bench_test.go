package dispatch

import (
	"fmt"
	"testing"
	"time"

	"github.com/taktmes/takt/units"
)

// benchCandidates returns n varied candidates at work center CNC, about 10% ineligible.
func benchCandidates(n int) []Candidate {
	cs := make([]Candidate, n)
	for i := range cs {
		cs[i] = Candidate{
			Lot: fmt.Sprintf("L-%06d", i), WorkOrder: fmt.Sprintf("WO-%05d", i/3), Step: "10",
			WorkCenters: []string{"CNC", "LATHE"}, Priority: 1 + i%5, Released: true,
			Due: t0.Add(time.Duration(i*7919%500-100) * time.Hour), QueuedSince: t0.Add(-time.Duration(i%97) * time.Minute),
			Quantity: units.MustParse("25 ea"), OpTime: time.Duration(1+i%13) * time.Hour / 2,
			RemainingTime: time.Duration(1+i%13)*time.Hour/2 + time.Duration(i%31)*time.Hour, RemainingSteps: 1 + i%6, SetupFamily: "F" + string(rune('A'+i%4)),
		}
		if i%10 == 0 {
			cs[i].Holds = []Hold{{HoldLot, cs[i].Lot, "MRB"}}
		}
	}
	return cs
}

func BenchmarkRankCR10k(b *testing.B) {
	cs := benchCandidates(10_000)
	r := builtin(b, "CR")
	req := Request{WorkCenter: "CNC", Now: t0}
	b.ReportAllocs()
	for b.Loop() {
		Rank(r, cs, req)
	}
}

func BenchmarkBoardListAfterOneUpsert10k(b *testing.B) {
	cs := benchCandidates(10_000)
	board := NewBoard(builtin(b, "SPT"))
	for _, c := range cs {
		if err := board.Upsert(c); err != nil {
			b.Fatal(err)
		}
	}
	req := Request{WorkCenter: "CNC", Now: t0}
	board.List(req)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := cs[i%len(cs)]
		c.Priority++
		if err := board.Upsert(c); err != nil {
			b.Fatal(err)
		}
		board.List(req)
		i++
	}
}
