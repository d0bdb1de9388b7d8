package routing

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/units"
)

// lot drives one execution in tests and checks the books after every move.
type lot struct {
	t  *testing.T
	r  *Routing
	e  Execution
	fx []Effect
}

func start(t *testing.T, r *Routing, qty string) *lot {
	t.Helper()
	e, fx, err := r.Start(q(qty), t0)
	require.NoError(t, err)
	l := &lot{t: t, r: r, e: e, fx: fx}
	l.check()
	return l
}

func (l *lot) check() {
	l.t.Helper()
	require.NoError(l.t, l.e.CheckBooks())
}

func (l *lot) apply(e Execution, fx []Effect, err error) *lot {
	l.t.Helper()
	require.NoError(l.t, err)
	l.e, l.fx = e, fx
	l.check()
	return l
}

func (l *lot) in(step, qty string) *lot {
	l.t.Helper()
	var n units.Quantity
	if qty != "" {
		n = q(qty)
	}
	return l.apply(l.r.TrackIn(l.e, step, n, t0))
}

func (l *lot) out(step string, o Outcome) *lot {
	l.t.Helper()
	return l.apply(l.r.TrackOut(l.e, step, o, t0))
}

func (l *lot) good(step, qty string) *lot { l.t.Helper(); return l.out(step, Outcome{Good: q(qty)}) }

func (l *lot) books(step string) Books {
	l.t.Helper()
	p, err := l.e.Progress(step)
	require.NoError(l.t, err)
	return p.Books
}

func (l *lot) state(step string) StepState {
	l.t.Helper()
	p, err := l.e.Progress(step)
	require.NoError(l.t, err)
	return p.State()
}

// qtyIs asserts a quantity by value and unit.
func qtyIs(t *testing.T, want string, got units.Quantity, msg ...any) {
	t.Helper()
	w := q(want)
	assert.True(t, w.Equal(got) && w.Unit() == got.Unit(), "want %s, got %s %v", want, got, msg)
}

func effectsOf[T Effect](fx []Effect) []T {
	var out []T
	for _, f := range fx {
		if x, ok := f.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

func build(t *testing.T, b *Builder) *Routing {
	t.Helper()
	r, err := b.Build()
	require.NoError(t, err)
	return r
}

func TestSequenceDownstreamGetsWhatUpstreamProduced(t *testing.T) {
	r := build(t, New("P", "A").Step("10", "a").Step("20", "b").Step("30", "c"))
	l := start(t, r, "10 ea")
	assert.Equal(t, StateQueued, l.state("10"))
	assert.Equal(t, StateWaitingForPrevious, l.state("20"))
	l.in("10", "").good("10", "4 ea")
	qtyIs(t, "0 ea", l.books("20").Received, "without a transfer batch the next step waits for completion")
	l.out("10", Outcome{Good: q("5 ea"), Scrap: []ScrapLine{{q("1 ea"), "CHATTER"}}})
	assert.Equal(t, StateCompleted, l.state("10"))
	qtyIs(t, "9 ea", l.books("20").Received, "not the order quantity")
	qtyIs(t, "9 ea", l.books("10").Good)
	qtyIs(t, "1 ea", l.books("10").ScrapByReason["CHATTER"])
	require.Len(t, effectsOf[StepCompleted](l.fx), 1)
	qtyIs(t, "9 ea", effectsOf[StepCompleted](l.fx)[0].Books.Good)
	l.in("20", "").good("20", "9 ea").in("30", "").good("30", "9 ea")
	require.Len(t, effectsOf[Finished](l.fx), 1)
	qtyIs(t, "9 ea", effectsOf[Finished](l.fx)[0].Qty)
	require.Len(t, effectsOf[RouteCompleted](l.fx), 1)
	assert.False(t, l.e.Running())
	assert.Equal(t, t0, l.e.Completed)
	_, _, err := r.TrackIn(l.e, "30", units.Quantity{}, t0)
	require.ErrorIs(t, err, ErrWrongState)
}

func TestParallelSplitAndJoin(t *testing.T) {
	r := build(t, New("P", "A").
		Step("10", "cut", Then("20A", "20B")).
		Step("20A", "drill", Transfer("1 ea"), Then("30")).
		Step("20B", "paint", Transfer("1 ea"), Then("30")).
		Step("30", "assemble", Join()))
	l := start(t, r, "10 ea").in("10", "").good("10", "10 ea")
	qtyIs(t, "10 ea", l.books("20A").Received, "each branch receives all the quantity")
	qtyIs(t, "10 ea", l.books("20B").Received)
	l.in("20A", "").good("20A", "6 ea")
	qtyIs(t, "0 ea", l.books("30").Received, "nothing has passed branch B yet")
	l.in("20B", "").good("20B", "4 ea")
	qtyIs(t, "4 ea", l.books("30").Received, "the join receives what passed all branches")
	l.good("20A", "4 ea")
	qtyIs(t, "4 ea", l.books("30").Received)
	l.out("20B", Outcome{Good: q("5 ea"), Scrap: []ScrapLine{{q("1 ea"), "RUN"}}})
	qtyIs(t, "9 ea", l.books("30").Received)
	l.in("30", "").good("30", "9 ea")
	qtyIs(t, "9 ea", l.e.Finished)
	assert.False(t, l.e.Running())
}

// parallel is 10, then 20A and 20B in parallel, joined at 30, then 40 (test) that sends
// failed units back to the join.
func parallel(t *testing.T) *Routing {
	return build(t, New("P", "A").Step("10", "cut", Then("20A", "20B")).
		Step("20A", "drill", Then("30")).Step("20B", "paint", Then("30")).
		Step("30", "assemble", Join()).Step("40", "test", Next(`inSpec.leak ? "END" : "30"`)))
}

func TestReworkLoopBackIntoAJoinDoesNotWaitForTheBranches(t *testing.T) {
	r := parallel(t)
	l := start(t, r, "10 ea").in("10", "").good("10", "10 ea").
		in("20A", "").good("20A", "10 ea").in("20B", "").good("20B", "10 ea")
	qtyIs(t, "10 ea", l.books("30").Received, "the loop back from 40 is not a branch to wait for")
	l.in("30", "").good("30", "10 ea").in("40", "")
	l.out("40", Outcome{Good: q("2 ea"), InSpec: map[string]bool{"leak": false}})
	l.out("40", Outcome{Good: q("8 ea"), InSpec: map[string]bool{"leak": true}})
	qtyIs(t, "12 ea", l.books("30").Received, "failed units come straight back to assembly")
	qtyIs(t, "8 ea", l.e.Finished)
	l.in("30", "").good("30", "2 ea").in("40", "").out("40", Outcome{Good: q("2 ea"), InSpec: map[string]bool{"leak": true}})
	qtyIs(t, "10 ea", l.e.Finished)
	assert.False(t, l.e.Running())
}

func TestQuantityEnteringOneBranchDoesNotWaitForTheOthers(t *testing.T) {
	r := parallel(t)
	done := func(t *testing.T) *lot {
		return start(t, r, "10 ea").in("10", "").good("10", "10 ea").
			in("20A", "").good("20A", "10 ea").in("20B", "").good("20B", "10 ea")
	}
	t.Run("moved back into a branch", func(t *testing.T) {
		l := done(t)
		l.apply(r.MoveBack(l.e, "30", "20A", q("2 ea"), t0))
		l.in("30", "").good("30", "8 ea").in("20A", "").good("20A", "2 ea")
		qtyIs(t, "2 ea", l.books("30").Waiting, "the re-drilled units return to the join")
		l.in("30", "").good("30", "2 ea").in("40", "").out("40", Outcome{Good: q("10 ea"), InSpec: map[string]bool{"leak": true}})
		qtyIs(t, "10 ea", l.e.Finished)
	})
	t.Run("rework lot started in a branch", func(t *testing.T) {
		e, _, err := r.StartAt("20A", q("2 ea"), t0)
		require.NoError(t, err)
		l := (&lot{t: t, r: r, e: e}).in("20A", "").good("20A", "2 ea")
		qtyIs(t, "2 ea", l.books("30").Received)
		assert.True(t, l.e.Running())
	})
	t.Run("split off in a branch", func(t *testing.T) {
		l := start(t, r, "10 ea").in("10", "").good("10", "10 ea")
		rest, part, _, err := r.Split(l.e, "20A", q("3 ea"), t0)
		require.NoError(t, err)
		pl := (&lot{t: t, r: r, e: part}).in("20A", "").good("20A", "3 ea")
		rl := (&lot{t: t, r: r, e: rest}).in("20A", "").good("20A", "7 ea").in("20B", "").good("20B", "10 ea")
		qtyIs(t, "3 ea", pl.books("30").Received)
		qtyIs(t, "7 ea", rl.books("30").Received)
	})
}

func TestJoinOfAlternativesIsRefused(t *testing.T) {
	_, err := New("P", "A").Step("10", "a", Next(`inSpec.x ? "20A" : "20B"`)).
		Step("20A", "b", Then("30")).Step("20B", "c", Then("30")).Step("30", "d", Join()).Build()
	paths := problemPaths(t, err)
	require.Len(t, paths, 1)
	assert.Contains(t, paths["steps[30].join"], "alternatives chosen by the condition of step 10")

	_, err = New("P", "A").Step("10", "a", Then("20A", "20B")).
		Step("20A", "b", Next(`inSpec.x ? "21" : "22"`)).Step("21", "b1", Then("30")).Step("22", "b2", Then("30")).
		Step("20B", "c", Then("30")).Step("30", "d", Join()).Build()
	paths = problemPaths(t, err)
	assert.Contains(t, paths["steps[30].join"], "through 21 and 22 are alternatives chosen by the condition of step 20A", "alternatives inside one branch")

	_, err = New("P", "A").Step("10", "a", Then("20", "30")).Step("20", "b", Then("30")).Step("30", "c", Join()).
		Step("40", "d", Next(`inSpec.x ? "END" : "30"`)).Build()
	require.NoError(t, err, "a branch may pass through another (10 feeds 30 directly and through 20), and a loop back is no branch")

	_, err = New("P", "A").Step("10", "a").Step("20", "b", Join()).Step("30", "c", Next(`inSpec.x ? "END" : "20"`)).Build()
	assert.Contains(t, problemPaths(t, err)["steps[20].join"], "a loop back into it is not one")
}

func TestAlternateWorkCentersInReadiness(t *testing.T) {
	r := pump(t)
	l := start(t, r, "5 ea")
	up := map[string]bool{}
	facts := Facts{EquipmentAvailable: func(wc string) bool { return up[wc] }}
	rd, err := r.Readiness(l.e, "10", facts)
	require.NoError(t, err)
	assert.Equal(t, WaitingForEquipment, rd.State)
	assert.Contains(t, rd.Why, "CNC-OLD")
	up["CNC-OLD"] = true
	rd, err = r.Readiness(l.e, "10", facts)
	require.NoError(t, err)
	assert.Equal(t, Ready, rd.State, "the alternate work center can run the step")
}

func TestReadiness(t *testing.T) {
	r := pump(t)
	l := start(t, r, "5 ea")
	stock := q("3 ea")
	facts := Facts{MaterialAvailable: func(c string, need units.Quantity) bool {
		ok, _ := stock.Cmp(need)
		return c == "SEAL-KIT" && ok >= 0
	}}
	for step, want := range map[string]ReadyState{"10": Ready, "20": WaitingForPrevious, "30": WaitingForPrevious} {
		rd, err := r.Readiness(l.e, step, facts)
		require.NoError(t, err)
		assert.Equal(t, want, rd.State, step)
	}
	l.in("10", "").good("10", "5 ea").in("20", "").out("20", Outcome{Good: q("5 ea"), InSpec: map[string]bool{"bore": true}})
	rd, err := r.Readiness(l.e, "30", facts)
	require.NoError(t, err)
	assert.Equal(t, WaitingForMaterial, rd.State)
	assert.Contains(t, rd.Why, "SEAL-KIT: 5 ea")
	stock = q("5 ea")
	rd, _ = r.Readiness(l.e, "30", facts)
	assert.Equal(t, Ready, rd.State)
	rd, _ = r.Readiness(l.e, "10", facts)
	assert.Equal(t, Done, rd.State)
	l.in("30", "2 ea")
	rd, _ = r.Readiness(l.e, "30", facts)
	assert.Equal(t, Ready, rd.State, "3 still waiting")
	l.in("30", "")
	rd, _ = r.Readiness(l.e, "30", facts)
	assert.Equal(t, Running, rd.State)
	l.apply(r.Pause(l.e, "30", "break", t0))
	rd, _ = r.Readiness(l.e, "30", facts)
	assert.Equal(t, Paused, rd.State)
	_, err = r.Readiness(l.e, "99", facts)
	require.ErrorIs(t, err, ErrUnknownStep)
}

func TestOptionalStepSkipped(t *testing.T) {
	r := pump(t)
	l := start(t, r, "4 ea")
	_, _, err := r.Skip(l.e, "40", "", t0)
	require.ErrorIs(t, err, ErrWrongState, "a skip needs a reason")
	l.apply(r.Skip(l.e, "40", "customer packs", t0))
	_, _, err = r.Skip(l.e, "40", "again", t0)
	require.ErrorIs(t, err, ErrWrongState)
	l.in("10", "").good("10", "4 ea").in("20", "").out("20", Outcome{Good: q("4 ea"), InSpec: map[string]bool{"bore": true}})
	l.in("30", "").good("30", "4 ea")
	assert.Equal(t, StateSkipped, l.state("40"))
	qtyIs(t, "4 ea", l.books("40").Skipped)
	qtyIs(t, "4 ea", l.e.Finished)
	assert.False(t, l.e.Running())
	require.Len(t, effectsOf[Backflush](l.fx), 1)
	qtyIs(t, "4 ea", effectsOf[Backflush](l.fx)[0].Qty)
}

func TestSkipNeedsNothingInProcess(t *testing.T) {
	r := pump(t)
	l := start(t, r, "4 ea").in("10", "1 ea")
	_, _, err := r.Skip(l.e, "10", "no machine", t0)
	require.ErrorIs(t, err, ErrWrongState)
	l.good("10", "1 ea")
	l.apply(r.Skip(l.e, "10", "no machine", t0))
	qtyIs(t, "3 ea", l.books("10").Skipped)
	qtyIs(t, "4 ea", l.books("20").Received, "the tracked-out 1 and the skipped 3")
}

func TestConditionalReworkLoop(t *testing.T) {
	r := pump(t)
	l := start(t, r, "10 ea").in("10", "").good("10", "10 ea").in("20", "")
	l.out("20", Outcome{Good: q("3 ea"), InSpec: map[string]bool{"bore": false}})
	l.out("20", Outcome{Good: q("7 ea"), InSpec: map[string]bool{"bore": true}})
	qtyIs(t, "3 ea", l.books("RW").Received)
	qtyIs(t, "7 ea", l.books("30").Received)
	l.in("RW", "").good("RW", "3 ea")
	qtyIs(t, "13 ea", l.books("20").Received, "the reworked 3 come back to inspection")
	assert.Equal(t, StateQueued, l.state("20"))
	l.in("20", "").out("20", Outcome{Good: q("3 ea"), InSpec: map[string]bool{"bore": true}})
	qtyIs(t, "10 ea", l.books("30").Received)
	l.in("30", "").good("30", "10 ea").in("40", "").good("40", "10 ea")
	qtyIs(t, "10 ea", l.e.Finished)
	assert.False(t, l.e.Running())
}

func TestConditionalBranchUsesMeasuredResults(t *testing.T) {
	r := build(t, New("P", "A").
		Step("10", "bore", Next(`result.bore > 10.02 ? "RW" : good > 5 ? "30" : "20"`)).
		Step("20", "small lot").
		Step("30", "main", Then(End)).
		Step("RW", "rework", Then("10")))
	for _, tc := range []struct {
		bore float64
		good string
		to   string
	}{{10.05, "6 ea", "RW"}, {10.0, "6 ea", "30"}, {10.0, "2 ea", "20"}} {
		l := start(t, r, tc.good).in("10", "").out("10", Outcome{Good: q(tc.good), Results: map[string]float64{"bore": tc.bore}})
		qtyIs(t, tc.good, l.books(tc.to).Received, tc)
	}
	l := start(t, r, "6 ea").in("10", "").out("10", Outcome{Good: q("6 ea")})
	qtyIs(t, "6 ea", l.books("30").Received, "an unmeasured result reads as 0")
}

func TestReworkSplitStartsNewLot(t *testing.T) {
	r := pump(t)
	l := start(t, r, "100 ea").in("10", "")
	l.out("10", Outcome{Good: q("95 ea"), Scrap: []ScrapLine{{q("3 ea"), "CHATTER"}}, Rework: ReworkLine{Qty: q("2 ea"), To: "RW", Reason: "burr"}})
	splits := effectsOf[ReworkSplit](l.fx)
	require.Len(t, splits, 1)
	assert.Equal(t, ReworkSplit{From: "10", To: "RW", Qty: splits[0].Qty, Reason: "burr"}, splits[0])
	qtyIs(t, "2 ea", splits[0].Qty)
	qtyIs(t, "2 ea", l.books("10").Rework)
	qtyIs(t, "95 ea", l.books("20").Received)

	rw, fx, err := r.StartAt(splits[0].To, splits[0].Qty, t0)
	require.NoError(t, err)
	require.Equal(t, []Effect{Arrived{Step: "RW", Qty: splits[0].Qty}}, fx)
	rl := &lot{t: t, r: r, e: rw}
	rl.in("RW", "").good("RW", "2 ea")
	qtyIs(t, "2 ea", rl.books("20").Received, "the rework lot follows the rework path")
	_, _, err = r.TrackOut(l.e, "10", Outcome{Rework: ReworkLine{Qty: q("1 ea"), To: "NOPE"}}, t0)
	require.ErrorIs(t, err, ErrWrongState, "nothing in process")
}

func TestOverlapTransferBatches(t *testing.T) {
	r := build(t, New("P", "A").Step("10", "a", Transfer("10 ea")).Step("20", "b", Transfer("10 ea")).Step("30", "c"))
	l := start(t, r, "25 ea").in("10", "")
	l.good("10", "9 ea")
	qtyIs(t, "0 ea", l.books("20").Received, "less than a batch has passed")
	l.good("10", "3 ea")
	qtyIs(t, "10 ea", l.books("20").Received, "one batch of 10")
	l.in("20", "").good("20", "10 ea")
	qtyIs(t, "10 ea", l.books("30").Received, "three steps run at once")
	assert.Equal(t, StateInProcess, l.state("10"))
	l.good("10", "13 ea")
	qtyIs(t, "25 ea", l.books("20").Received, "the rest goes when the step completes")
	assert.Equal(t, StateCompleted, l.state("10"))
	l.in("20", "").good("20", "15 ea").in("30", "").good("30", "25 ea")
	qtyIs(t, "25 ea", l.e.Finished)
}

func TestTransferBatchesNeverRoundUp(t *testing.T) {
	r := build(t, New("P", "A").Step("10", "a", Transfer("10 ea")).Step("20", "b"))
	l := start(t, r, "30 ea").in("10", "").good("10", "29.99999999999999999 ea")
	qtyIs(t, "20 ea", l.books("20").Received, "two whole batches; the third is not quite there")
	require.NoError(t, l.e.CheckBooks())
}

func TestQuantitiesMustConvertExactlyToTheLotUnit(t *testing.T) {
	r := build(t, New("P", "A").Step("10", "a"))
	l := start(t, r, "1 dozen").in("10", "")
	l.good("10", "3 ea")
	qtyIs(t, "0.25 dozen", l.books("10").Good, "3 ea are exactly a quarter dozen")
	_, _, err := r.TrackOut(l.e, "10", Outcome{Good: q("1 ea")}, t0)
	require.ErrorIs(t, err, ErrQuantity, "1 ea is 0.0833… dozen: a rest would stay in process for ever")
	assert.Contains(t, err.Error(), "only approximately")
	_, _, err = r.TrackOut(l.e, "10", Outcome{Good: q("3 ea"), Scrap: []ScrapLine{{q("5 ea"), "A"}}}, t0)
	require.ErrorIs(t, err, ErrQuantity)
	l.good("10", "0.75 dozen")
	assert.Equal(t, StateCompleted, l.state("10"))
}

func TestPauseResumeAndPartialTrackOutsAddUp(t *testing.T) {
	r := pump(t)
	l := start(t, r, "100 ea").in("10", "60 ea")
	l.apply(r.Pause(l.e, "10", "break", t0))
	assert.Equal(t, StatePaused, l.state("10"))
	for _, err := range []error{
		func() error { _, _, err := r.TrackOut(l.e, "10", Outcome{Good: q("1 ea")}, t0); return err }(),
		func() error { _, _, err := r.TrackIn(l.e, "10", units.Quantity{}, t0); return err }(),
		func() error { _, _, err := r.Pause(l.e, "10", "again", t0); return err }(),
	} {
		require.ErrorIs(t, err, ErrWrongState)
	}
	l.apply(r.Resume(l.e, "10", t0))
	_, _, err := r.Resume(l.e, "10", t0)
	require.ErrorIs(t, err, ErrWrongState)
	l.good("10", "30 ea").in("10", "40 ea").good("10", "30 ea")
	l.apply(r.Pause(l.e, "10", "shift end", t0))
	l.apply(r.Resume(l.e, "10", t0))
	l.out("10", Outcome{Good: q("38 ea"), Scrap: []ScrapLine{{q("1 ea"), "A"}, {q("1 ea"), "B"}}})
	b := l.books("10")
	qtyIs(t, "98 ea", b.Good, "partial track-outs add up, nothing counted twice")
	qtyIs(t, "2 ea", b.Scrap)
	qtyIs(t, "0 ea", b.InProcess)
	qtyIs(t, "98 ea", l.books("20").Received)
}

func TestYieldVariance(t *testing.T) {
	r := build(t, New("P", "A").Step("10", "a", Yield(0.98, 0.01)).Step("20", "b"))
	l := start(t, r, "100 ea").in("10", "")
	o := Outcome{Good: q("96 ea"), Scrap: []ScrapLine{{q("4 ea"), "X"}}}
	before := l.e
	_, _, err := r.TrackOut(l.e, "10", o, t0)
	require.ErrorIs(t, err, ErrYieldReasonRequired)
	var ye *YieldError
	require.ErrorAs(t, err, &ye)
	assert.Equal(t, "0.96", ye.Variance.Actual.String())
	assert.Equal(t, "-0.02", ye.Variance.Variance.String())
	assert.Equal(t, before, l.e)
	o.Reason = "TOOL-WEAR"
	l.out("10", o)
	v := effectsOf[YieldVariance](l.fx)
	require.Len(t, v, 1)
	assert.Equal(t, "TOOL-WEAR", v[0].Reason)

	// exactly on the tolerance edge: no variance
	l = start(t, r, "100 ea").in("10", "").out("10", Outcome{Good: q("97 ea"), Scrap: []ScrapLine{{q("3 ea"), "X"}}})
	assert.Empty(t, effectsOf[YieldVariance](l.fx))
	// a partial track-out that does not close the step is not checked
	l = start(t, r, "100 ea").in("10", "").good("10", "50 ea")
	assert.Empty(t, effectsOf[YieldVariance](l.fx))
}

func TestFinalTrackOutBooksLossAndGain(t *testing.T) {
	r := build(t, New("P", "A").Step("10", "mix", Yield(1, 0.05)).Step("20", "fill"))
	l := start(t, r, "100 kg").in("10", "").out("10", Outcome{Good: q("103 kg"), Final: true})
	qtyIs(t, "-3 kg", l.books("10").Loss, "over-production within tolerance is a gain")
	qtyIs(t, "103 kg", l.books("20").Received, "and flows on")
	assert.Empty(t, effectsOf[YieldVariance](l.fx))
	l = start(t, r, "100 kg").in("10", "").out("10", Outcome{Good: q("96000 g"), Final: true})
	qtyIs(t, "4 kg", l.books("10").Loss, "process loss, converted into the lot unit")
	_, _, err := r.TrackOut(start(t, r, "100 kg").in("10", "").e, "10", Outcome{Good: q("101 kg")}, t0)
	require.ErrorIs(t, err, ErrQuantity, "more than in process needs a final track-out")
}

func TestMoveBack(t *testing.T) {
	r := pump(t)
	l := start(t, r, "10 ea").in("10", "").good("10", "10 ea")
	_, _, err := r.MoveBack(l.e, "10", "20", units.Quantity{}, t0)
	require.ErrorIs(t, err, ErrWrongState, "20 is not earlier than 10")
	l.apply(r.MoveBack(l.e, "20", "10", q("4 ea"), t0))
	qtyIs(t, "4 ea", l.books("20").MovedBack)
	qtyIs(t, "14 ea", l.books("10").Received)
	assert.Equal(t, StateQueued, l.state("10"))
	_, _, err = r.MoveBack(l.e, "20", "10", q("7 ea"), t0)
	require.ErrorIs(t, err, ErrQuantity)
}

func TestAbort(t *testing.T) {
	r := pump(t)
	l := start(t, r, "10 ea").in("10", "")
	_, _, err := r.Abort(l.e, "", t0)
	require.ErrorIs(t, err, ErrWrongState)
	l.apply(r.Abort(l.e, "order cancelled", t0))
	assert.False(t, l.e.Running())
	qtyIs(t, "10 ea", l.books("10").InProcess, "the books stay as they were")
	_, _, err = r.TrackOut(l.e, "10", Outcome{Good: q("1 ea")}, t0)
	require.ErrorIs(t, err, ErrWrongState)
	rd, err := r.Readiness(l.e, "10", Facts{})
	require.NoError(t, err)
	assert.Equal(t, Done, rd.State)
}

func TestIllegalMovesLeaveTheExecutionUnchanged(t *testing.T) {
	r := pump(t)
	l := start(t, r, "10 ea").in("10", "6 ea").good("10", "2 ea")
	snapshot, err := json.Marshal(l.e)
	require.NoError(t, err)
	other := pump(t)
	other.Revision = "Z"
	moves := []struct {
		name string
		err  error
		move func() error
	}{
		{"track-in more than waiting", ErrQuantity, func() error { _, _, err := r.TrackIn(l.e, "10", q("5 ea"), t0); return err }},
		{"track-in nothing waiting", ErrWrongState, func() error { _, _, err := r.TrackIn(l.e, "30", units.Quantity{}, t0); return err }},
		{"track-in negative", ErrQuantity, func() error { _, _, err := r.TrackIn(l.e, "10", q("-1 ea"), t0); return err }},
		{"track-in wrong unit", ErrQuantity, func() error { _, _, err := r.TrackIn(l.e, "10", q("1 kg"), t0); return err }},
		{"track-in unknown step", ErrUnknownStep, func() error { _, _, err := r.TrackIn(l.e, "99", units.Quantity{}, t0); return err }},
		{"track-out more than in process", ErrQuantity, func() error { _, _, err := r.TrackOut(l.e, "10", Outcome{Good: q("5 ea")}, t0); return err }},
		{"track-out nothing", ErrQuantity, func() error { _, _, err := r.TrackOut(l.e, "10", Outcome{}, t0); return err }},
		{"track-out negative good", ErrQuantity, func() error { _, _, err := r.TrackOut(l.e, "10", Outcome{Good: q("-1 ea")}, t0); return err }},
		{"scrap without reason", ErrQuantity, func() error {
			_, _, err := r.TrackOut(l.e, "10", Outcome{Scrap: []ScrapLine{{Qty: q("1 ea")}}}, t0)
			return err
		}},
		{"rework to unknown step", ErrUnknownStep, func() error {
			_, _, err := r.TrackOut(l.e, "10", Outcome{Rework: ReworkLine{Qty: q("1 ea"), To: "X"}}, t0)
			return err
		}},
		{"track-out where nothing runs", ErrWrongState, func() error { _, _, err := r.TrackOut(l.e, "20", Outcome{Good: q("1 ea")}, t0); return err }},
		{"resume running", ErrWrongState, func() error { _, _, err := r.Resume(l.e, "10", t0); return err }},
		{"pause idle step", ErrWrongState, func() error { _, _, err := r.Pause(l.e, "20", "x", t0); return err }},
		{"skip in process", ErrWrongState, func() error { _, _, err := r.Skip(l.e, "10", "x", t0); return err }},
		{"move back forward", ErrWrongState, func() error { _, _, err := r.MoveBack(l.e, "10", "30", units.Quantity{}, t0); return err }},
		{"split too much", ErrQuantity, func() error { _, _, _, err := r.Split(l.e, "10", q("9 ea"), t0); return err }},
		{"other revision", ErrMismatch, func() error { _, _, err := other.TrackIn(l.e, "10", units.Quantity{}, t0); return err }},
	}
	for _, m := range moves {
		t.Run(m.name, func(t *testing.T) {
			require.ErrorIs(t, m.move(), m.err)
			after, err := json.Marshal(l.e)
			require.NoError(t, err)
			assert.JSONEq(t, string(snapshot), string(after))
		})
	}
}

func TestSplitAndMerge(t *testing.T) {
	r := pump(t)
	l := start(t, r, "100 ea").in("10", "60 ea")
	l.apply(r.Pause(l.e, "10", "break", t0))
	rest, part, _, err := r.Split(l.e, "10", q("50 ea"), t0)
	require.NoError(t, err)
	require.NoError(t, rest.CheckBooks())
	require.NoError(t, part.CheckBooks())
	pb, _ := part.Progress("10")
	qtyIs(t, "40 ea", pb.Waiting, "waiting first")
	qtyIs(t, "10 ea", pb.InProcess, "then in process")
	assert.Equal(t, StatePaused, pb.State(), "same step, same state")
	qtyIs(t, "50 ea", rest.Started)
	for i := range l.e.steps {
		a, b, o := rest.steps[i].Books, part.steps[i].Books, l.e.steps[i].Books
		assert.True(t, add(a.Received, b.Received).Equal(o.Received), "books add up at %s", o)
		assert.True(t, add(a.Waiting, b.Waiting).Equal(o.Waiting))
		assert.True(t, add(a.InProcess, b.InProcess).Equal(o.InProcess))
	}
	merged, _, err := r.Merge(rest, part, t0)
	require.NoError(t, err)
	require.NoError(t, merged.CheckBooks())
	for i, o := range l.e.steps {
		assert.True(t, merged.steps[i].Received.Equal(o.Received))
		assert.True(t, merged.steps[i].Waiting.Equal(o.Waiting))
		assert.True(t, merged.steps[i].InProcess.Equal(o.InProcess))
	}
	assert.True(t, merged.Started.Equal(l.e.Started))

	// a lot that moved on cannot be merged back at a step it left
	l2 := &lot{t: t, r: r, e: part}
	l2.apply(r.Resume(l2.e, "10", t0)).in("10", "").good("10", "50 ea")
	_, _, err = r.Merge(rest, l2.e, t0)
	require.ErrorIs(t, err, ErrWrongState)
}

func TestExecutionJSONRoundTrip(t *testing.T) {
	r := pump(t)
	l := start(t, r, "100 ea").in("10", "").out("10", Outcome{Good: q("97 ea"), Scrap: []ScrapLine{{q("3 ea"), "X"}}})
	l.in("20", "50 ea").out("20", Outcome{Good: q("10 ea"), InSpec: map[string]bool{"bore": false}})
	l.apply(r.Skip(l.e, "40", "no packing", t0))
	b, err := json.Marshal(l.e)
	require.NoError(t, err)
	var back Execution
	require.NoError(t, json.Unmarshal(b, &back))
	require.NoError(t, back.CheckBooks())
	assert.True(t, back.Equal(l.e), "the books read back are the books written")
	moved, _, err := r.TrackIn(back, "20", q("1 ea"), t0)
	require.NoError(t, err)
	assert.False(t, moved.Equal(back))
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	assert.JSONEq(t, string(b), string(b2))
	// both continue identically
	a, _, err1 := r.TrackOut(l.e, "20", Outcome{Good: q("40 ea"), InSpec: map[string]bool{"bore": true}}, t0)
	c, _, err2 := r.TrackOut(back, "20", Outcome{Good: q("40 ea"), InSpec: map[string]bool{"bore": true}}, t0)
	require.NoError(t, err1)
	require.NoError(t, err2)
	ja, _ := json.Marshal(a)
	jc, _ := json.Marshal(c)
	assert.JSONEq(t, string(ja), string(jc))
}

func TestReadersGetCopies(t *testing.T) {
	r := pump(t)
	l := start(t, r, "10 ea").in("10", "").out("10", Outcome{Good: q("8 ea"), Scrap: []ScrapLine{{q("2 ea"), "X"}}})
	snapshot, err := json.Marshal(l.e)
	require.NoError(t, err)
	p, err := l.e.Progress("10")
	require.NoError(t, err)
	p.Good, p.ScrapByReason["X"] = q("1 ea"), q("9 ea")
	for _, p := range l.e.Steps() {
		p.Received, p.ScrapByReason = q("99 ea"), nil
	}
	after, err := json.Marshal(l.e)
	require.NoError(t, err)
	assert.JSONEq(t, string(snapshot), string(after), "changing what a reader got changes nothing")
	// a move shares the steps it does not change with the execution it started from
	next, _, err := r.TrackIn(l.e, "20", q("1 ea"), t0)
	require.NoError(t, err)
	assert.Same(t, l.e.steps[0], next.steps[0], "step 10 is shared")
	assert.NotSame(t, l.e.steps[1], next.steps[1], "step 20 is a copy")
}

func TestWaitingListsTheQueue(t *testing.T) {
	r := pump(t)
	l := start(t, r, "10 ea").in("10", "4 ea")
	queue := map[string]string{}
	for step, q := range l.e.Waiting() {
		queue[step] = q.String()
	}
	assert.Equal(t, map[string]string{"10": "6 ea"}, queue, "6 of 10 still wait at step 10")
	l.in("10", "")
	for step := range l.e.Waiting() {
		t.Errorf("nothing waits, yet step %s is listed", step)
	}
}

func TestExecutionJSONRefusesNullSteps(t *testing.T) {
	var e Execution
	require.ErrorIs(t, json.Unmarshal([]byte(`{"routing":"P","revision":"A","unit":"ea","steps":[null]}`), &e), ErrMismatch)
}

func TestCheckBooksFindsImbalance(t *testing.T) {
	r := pump(t)
	l := start(t, r, "10 ea")
	bad := l.e
	bad.steps = slices.Clone(l.e.steps)
	s0, s1 := l.e.steps[0].clone(), l.e.steps[1].clone()
	s0.Waiting, s1.Good = q("9 ea"), q("-1 ea")
	bad.steps[0], bad.steps[1] = &s0, &s1
	err := bad.CheckBooks()
	require.ErrorIs(t, err, ErrBooks)
	assert.Contains(t, err.Error(), "step 10")
	assert.Contains(t, err.Error(), "step 20")
}

func TestSkippedStepsThatCircleAreRefused(t *testing.T) {
	r := build(t, New("P", "A").
		Step("10", "a").
		Step("20", "b", Next(`skipped ? "RW" : "30"`)).
		Step("30", "c", Then(End)).
		Step("RW", "rw", Then("20")))
	l := start(t, r, "5 ea")
	l.apply(r.Skip(l.e, "20", "x", t0))
	l.apply(r.Skip(l.e, "RW", "x", t0))
	l.in("10", "")
	_, _, err := r.TrackOut(l.e, "10", Outcome{Good: q("5 ea")}, t0)
	require.ErrorIs(t, err, ErrWrongState)
	assert.Contains(t, err.Error(), "circling")
}

// Skip decisions belong to a lot (a step that is not optional needs authority to skip):
// merging two lots that decided differently about a step still ahead would pass one lot's
// quantity over a step it was never allowed to skip, or work on one it skipped, so the
// merge is refused until both decide alike.
func TestMergeRefusesLotsThatSkipDifferently(t *testing.T) {
	r := pump(t)
	l := start(t, r, "100 ea")
	rest, part, _, err := r.Split(l.e, "10", q("40 ea"), t0)
	require.NoError(t, err)
	skipped, _, err := r.Skip(rest, "30", "customer assembles", t0)
	require.NoError(t, err)
	for _, c := range []struct{ into, other Execution }{{skipped, part}, {part, skipped}} {
		before, err := json.Marshal(c.into)
		require.NoError(t, err)
		_, _, err = r.Merge(c.into, c.other, t0)
		require.ErrorIs(t, err, ErrWrongState)
		assert.ErrorContains(t, err, "step 30")
		after, err := json.Marshal(c.into)
		require.NoError(t, err)
		assert.JSONEq(t, string(before), string(after))
	}
	both, _, err := r.Skip(part, "30", "customer assembles", t0)
	require.NoError(t, err)
	merged, _, err := r.Merge(skipped, both, t0)
	require.NoError(t, err)
	require.NoError(t, merged.CheckBooks())
}

// A step skipped after it processed part of the lot still confirms what it processed
// (StepCompleted, the operation confirmation for the ERP) when it completes; a step that
// only passed quantity on confirms nothing.
func TestSkippedStepConfirmsWhatItProcessed(t *testing.T) {
	r := pump(t)
	l := start(t, r, "100 ea").in("10", "50 ea").good("10", "50 ea")
	l.apply(r.Skip(l.e, "10", "rest machined elsewhere", t0))
	done := effectsOf[StepCompleted](l.fx)
	require.Len(t, done, 1)
	assert.Equal(t, "10", done[0].Step)
	qtyIs(t, "50 ea", done[0].Books.Good)
	qtyIs(t, "50 ea", done[0].Books.Skipped)

	l.apply(r.Skip(l.e, "20", "checked in line", t0))
	assert.Empty(t, effectsOf[StepCompleted](l.fx), "step 20 processed nothing")
}
