package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/taktmes/takt/dispatch"
	"github.com/taktmes/takt/units"
)

// dispatch.rank_ms.10k: milliseconds to build the dispatch list of 10,000 queued candidates
// (validation and eligibility included, about 10% ineligible) ranked by the critical-ratio rule
// written in expr; baseline: the same list (same checks, same sort, same tie-break) with the
// critical ratio computed by hand-written Go. Median of 15 alternating repetitions each.
func init() {
	register([]string{"dispatch.rank_ms.10k"}, func(report func(result)) {
		cands := dispatchCandidates(10_000)
		req := dispatch.Request{WorkCenter: "CNC", Now: dispatchT0}
		rule, err := dispatch.Builtin("CR")
		if err != nil {
			panic(err)
		}
		got := dispatch.Rank(rule, cands, req)
		want := rankCRByHand(cands, req)
		if len(got.Ranked) != len(want) {
			panic(fmt.Sprintf("bench: expr ranked %d, Go ranked %d", len(got.Ranked), len(want)))
		}
		for i, e := range got.Ranked {
			if e.Candidate != want[i].c {
				panic(fmt.Sprintf("bench: expr and Go rankings differ at %d", i+1))
			}
		}
		exprMS, goMS := medianPairMS(15,
			func() { dispatch.Rank(rule, cands, req) },
			func() { rankCRByHand(cands, req) })
		report(result{Name: "dispatch.rank_ms.10k", Value: exprMS, Unit: "ms"}.WithBaseline(goMS))
	})
}

var dispatchT0 = time.Date(2025, 3, 3, 6, 0, 0, 0, time.UTC)

type handScored struct {
	score float64
	c     *dispatch.Candidate
}

// rankCRByHand is the baseline: Rank with the critical ratio written in Go.
func rankCRByHand(cands []dispatch.Candidate, req dispatch.Request) []handScored {
	var blocked []dispatch.Blocked
	var failed []dispatch.Failure
	ok := make([]handScored, 0, len(cands))
	for i := range cands {
		c := &cands[i]
		if err := c.Validate(); err != nil {
			failed = append(failed, dispatch.Failure{Candidate: c, Err: err})
			continue
		}
		if rs := dispatch.Eligible(c, &req); rs != nil {
			blocked = append(blocked, dispatch.Blocked{Candidate: c, Reasons: rs})
			continue
		}
		ok = append(ok, handScored{score: c.Due.Sub(req.Now).Hours() / c.RemainingTime.Hours(), c: c})
	}
	slices.SortFunc(ok, func(a, b handScored) int {
		if r := cmp.Compare(a.score, b.score); r != 0 {
			return r
		}
		if r := a.c.QueuedSince.Compare(b.c.QueuedSince); r != 0 {
			return r
		}
		if r := strings.Compare(a.c.Lot, b.c.Lot); r != 0 {
			return r
		}
		return strings.Compare(a.c.Step, b.c.Step)
	})
	byKey := func(a, b *dispatch.Candidate) int {
		return cmp.Or(strings.Compare(a.Lot, b.Lot), strings.Compare(a.Step, b.Step))
	}
	slices.SortFunc(blocked, func(a, b dispatch.Blocked) int { return byKey(a.Candidate, b.Candidate) })
	slices.SortFunc(failed, func(a, b dispatch.Failure) int { return byKey(a.Candidate, b.Candidate) })
	return ok
}

// medianPairMS runs f and baseline alternately reps times (after one warm-up each), so that
// both see the same load on a shared machine, and returns their medians in milliseconds.
func medianPairMS(reps int, f, baseline func()) (float64, float64) {
	f()
	baseline()
	fs, bs := make([]float64, reps), make([]float64, reps)
	timeMS := func(g func()) float64 {
		start := time.Now()
		g()
		return float64(time.Since(start).Nanoseconds()) / 1e6
	}
	for i := range reps {
		fs[i], bs[i] = timeMS(f), timeMS(baseline)
	}
	slices.Sort(fs)
	slices.Sort(bs)
	return fs[reps/2], bs[reps/2]
}

// dispatchCandidates returns n varied candidates at work center CNC, every tenth on hold.
func dispatchCandidates(n int) []dispatch.Candidate {
	cs := make([]dispatch.Candidate, n)
	qty := units.MustParse("25 ea")
	for i := range cs {
		op := time.Duration(1+i%13) * time.Hour / 2
		cs[i] = dispatch.Candidate{
			Lot: fmt.Sprintf("L-%06d", i), WorkOrder: fmt.Sprintf("WO-%05d", i/3), Step: "10",
			WorkCenters: []string{"CNC", "LATHE"}, Priority: 1 + i%5, Released: true,
			Due:         dispatchT0.Add(time.Duration(i*7919%500-100) * time.Hour),
			QueuedSince: dispatchT0.Add(-time.Duration(i%97) * time.Minute),
			Quantity:    qty, OpTime: op, RemainingTime: op + time.Duration(i%31)*time.Hour,
			RemainingSteps: 1 + i%6, SetupFamily: fmt.Sprintf("F%d", i%4),
		}
		if i%10 == 0 {
			cs[i].Holds = []dispatch.Hold{{Kind: dispatch.HoldLot, ID: cs[i].Lot, Reason: "MRB"}}
		}
	}
	return cs
}
