package routing

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/units"
)

// TestModelBooksAlwaysBalance drives random lots through random moves (overlap, partial
// track-outs, pauses, skips, move-backs, rework splits, lot splits and merges) and checks after
// every move that the books of every step balance, that each lot's quantity is conserved,
// that a move the model says is illegal fails and leaves the value unchanged, and that a legal
// one succeeds. Set ROUTING_SEED to replay one seed.
func TestModelBooksAlwaysBalance(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	if s := os.Getenv("ROUTING_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		seeds = []uint64{n}
	}
	sequential := build(t, New("SEQ", "A").
		Step("10", "a", Transfer("3 ea")).
		Step("20", "b", Next(`result.x > 0.7 ? "RW" : "30"`)).
		Step("30", "c", Transfer("5 ea"), Optional()).
		Step("40", "d", Then(End)).
		Step("RW", "rework", Then("20")))
	parallel := build(t, New("PAR", "A").
		Step("10", "a", Transfer("2 ea"), Then("A", "B")).
		Step("A", "a", Transfer("4 ea"), Then("30")).
		Step("B", "b", Then("30")).
		Step("30", "join", Join()))
	for _, seed := range seeds {
		for _, r := range []*Routing{sequential, parallel} {
			t.Run(fmt.Sprintf("%s/seed=%d", r.ID, seed), func(t *testing.T) {
				t.Logf("seed %d (replay with ROUTING_SEED=%d)", seed, seed)
				runModel(t, r, rand.New(rand.NewPCG(seed, seed)), r.ID == "SEQ")
			})
		}
	}
}

func runModel(t *testing.T, r *Routing, rng *rand.Rand, conserves bool) {
	lots := []Execution{}
	for range 3 {
		e, _, err := r.Start(q(fmt.Sprintf("%d ea", 5+rng.IntN(40))), t0)
		require.NoError(t, err)
		lots = append(lots, e)
	}
	ea := func(n int) units.Quantity { v, _ := units.FromInt(int64(n), "ea"); return v }
	num := func(x units.Quantity) int { return int(x.Value().IntPart()) }
	steps := r.Steps
	for move := 0; move < 3000 && len(lots) > 0; move++ {
		li := rng.IntN(len(lots))
		e := lots[li]
		if !e.Running() {
			lots = append(lots[:li], lots[li+1:]...)
			continue
		}
		si := rng.IntN(len(steps))
		step := steps[si].ID
		p := e.steps[si]
		before, err := json.Marshal(e)
		require.NoError(t, err)

		var (
			next  Execution
			fx    []Effect
			legal bool
			what  string
			extra *Execution // a new lot from a split
		)
		waiting, inProcess := num(p.Waiting), num(p.InProcess)
		switch op := rng.IntN(10); op {
		case 0, 1, 2:
			n := rng.IntN(waiting + 3)
			what = fmt.Sprintf("track-in %d at %s", n, step)
			legal = !p.Paused && waiting > 0 && n <= waiting
			qty := ea(n)
			if n == 0 {
				qty = units.Quantity{}
			}
			next, fx, err = r.TrackIn(e, step, qty, t0)
			if err == nil {
				got, _ := next.Progress(step)
				if n == 0 {
					n = waiting
				}
				require.Equal(t, inProcess+n, num(got.InProcess), what)
			}
		case 3, 4, 5:
			good, scrap, rework := rng.IntN(inProcess+2), rng.IntN(2), rng.IntN(2)
			final := rng.IntN(6) == 0
			o := Outcome{Good: ea(good), Results: map[string]float64{"x": rng.Float64()}, Final: final}
			if scrap > 0 {
				o.Scrap = []ScrapLine{{ea(scrap), "S" + strconv.Itoa(rng.IntN(2))}}
			}
			if rework > 0 {
				o.Rework = ReworkLine{Qty: ea(rework), To: steps[rng.IntN(len(steps))].ID}
			}
			total := good + scrap + rework
			what = fmt.Sprintf("track-out %d/%d/%d final=%v at %s", good, scrap, rework, final, step)
			legal = !p.Paused && inProcess > 0 && (final || (total > 0 && total <= inProcess))
			next, fx, err = r.TrackOut(e, step, o, t0)
			if err == nil {
				got, _ := next.Progress(step)
				require.Equal(t, num(p.Good)+good, num(got.Good), what)
				require.Equal(t, num(p.Scrap)+scrap, num(got.Scrap), what)
			}
		case 6:
			if p.Paused {
				what, legal = "resume at "+step, true
				next, fx, err = r.Resume(e, step, t0)
			} else {
				what, legal = "pause at "+step, inProcess > 0
				next, fx, err = r.Pause(e, step, "break", t0)
			}
		case 7:
			n := rng.IntN(waiting + inProcess + 2)
			what = fmt.Sprintf("split %d at %s", n, step)
			legal = n > 0 && n <= waiting+inProcess
			var part Execution
			next, part, fx, err = r.Split(e, step, ea(n), t0)
			if err == nil {
				extra = &part
				// The split may complete a step for the rest, whose held good then moves on
				// (reported as Arrived); apart from that the two lots' books add up.
				arrived := map[string]units.Quantity{}
				for _, f := range fx {
					if a, ok := f.(Arrived); ok {
						arrived[a.Step] = add(arrived[a.Step], a.Qty)
					}
				}
				for i, o := range e.steps {
					a, b := next.steps[i], part.steps[i]
					for _, col := range [][3]units.Quantity{
						{sub(a.Received, arrived[o.Step]), b.Received, o.Received},
						{a.Good, b.Good, o.Good}, {a.Scrap, b.Scrap, o.Scrap}, {a.InProcess, b.InProcess, o.InProcess},
						{a.Rework, b.Rework, o.Rework}, {a.Loss, b.Loss, o.Loss},
					} {
						require.True(t, add(col[0], col[1]).Equal(col[2]), "%s: books of the two lots add up at %s", what, o.Step)
					}
				}
				want := p.State() // waiting is split off first
				if n <= waiting {
					want = StateQueued
				}
				require.Equal(t, want, part.steps[si].State(), "%s: the new lot is in the same state", what)
			}
		case 8:
			oi := rng.IntN(len(lots))
			what, legal = fmt.Sprintf("merge lot %d into %d", oi, li), true
			if oi == li || !lots[oi].Running() {
				continue
			}
			other := lots[oi]
			next, fx, err = r.Merge(e, other, t0)
			if err == nil {
				require.True(t, next.Started.Equal(add(e.Started, other.Started)), what)
				lots[oi] = Execution{AbortReason: "merged"}
			} else {
				legal = false
			}
		case 9:
			switch rng.IntN(3) {
			case 0:
				what = "skip " + step
				legal = p.SkipReason == "" && inProcess == 0 && !p.Done
				next, fx, err = r.Skip(e, step, "model", t0)
			default:
				to := steps[rng.IntN(len(steps))].ID
				what = fmt.Sprintf("move back from %s to %s", step, to)
				legal = waiting > 0 && to != step && r.c.reach[r.c.index[to]][si]
				next, fx, err = r.MoveBack(e, step, to, units.Quantity{}, t0)
			}
		}
		after, jerr := json.Marshal(e)
		require.NoError(t, jerr)
		require.JSONEq(t, string(before), string(after), "%s changed the execution it was given", what)
		if err != nil {
			require.False(t, legal && op(what) != "merge", "%s is legal but failed: %v", what, err)
			continue
		}
		require.True(t, legal || op(what) == "merge", "%s is illegal but succeeded", what)
		require.NoError(t, next.CheckBooks(), what)
		if conserves {
			requireConserved(t, next, what)
		}
		lots[li] = next
		if extra != nil {
			require.NoError(t, extra.CheckBooks(), what)
			lots = append(lots, *extra)
		}
		for _, f := range fx {
			if s, ok := f.(ReworkSplit); ok {
				rw, _, err := r.StartAt(s.To, s.Qty, t0)
				require.NoError(t, err)
				lots = append(lots, rw)
			}
		}
	}
}

func op(what string) string {
	for i, c := range what {
		if c == ' ' {
			return what[:i]
		}
	}
	return what
}

// requireConserved checks that a lot on a routing without parallel branches keeps its
// quantity: started = finished + scrap + rework + loss + waiting + in process + held.
func requireConserved(t *testing.T, e Execution, what string) {
	t.Helper()
	sum := e.Finished
	for _, p := range e.steps {
		for _, x := range []units.Quantity{p.Scrap, p.Rework, p.Loss, p.Waiting, p.InProcess} {
			sum = add(sum, x)
		}
		for _, h := range p.Held {
			sum = add(sum, h.Qty)
		}
	}
	require.True(t, sum.Value().Equal(e.Started.Value()) || sum.Value().Sub(e.Started.Value()).Equal(decimal.Zero), "%s: started %s but accounted %s", what, e.Started, sum)
}
