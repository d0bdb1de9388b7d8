package routing

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/units"
)

var t0 = time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)

func q(s string) units.Quantity { return units.MustParse(s) }

// pump is a 5-step routing with a conditional rework loop.
func pump(t testing.TB) *Routing {
	t.Helper()
	r, err := New("PUMP-100", "C").
		Step("10", "Machine housing", At("CNC", "CNC-OLD"), Run(90*time.Second), Setup(20*time.Minute)).
		Step("20", "Inspect bore", Inspect("BORE-PLAN"), Next(`inSpec.bore ? "30" : "RW"`)).
		Step("30", "Assemble", Consume("SEAL-KIT", "1 ea", Backflushed), Qualified("ASSY-1")).
		Step("40", "Pack", Optional(), Then(End)).
		Step("RW", "Re-bore", At("CNC"), Then("20")).
		Build()
	require.NoError(t, err)
	return r
}

func problemPaths(t *testing.T, err error) map[string]string {
	t.Helper()
	require.ErrorIs(t, err, ErrInvalid)
	var ps Problems
	require.ErrorAs(t, err, &ps)
	out := map[string]string{}
	for _, p := range ps {
		out[p.Path] = p.Reason
	}
	return out
}

func TestBuildValid(t *testing.T) {
	r := pump(t)
	assert.Equal(t, "PUMP-100", r.ID)
	assert.Equal(t, Draft, r.Status)
	s, ok := r.Step("30")
	require.True(t, ok)
	assert.Equal(t, []Material{{Component: "SEAL-KIT", PerUnit: q("1 ea"), Backflush: true}}, s.Materials)
	assert.Equal(t, "ASSY-1", s.Qualification)
	s, _ = r.Step("10")
	assert.Equal(t, []string{"CNC-OLD"}, s.Alternates)

	// a rework path reached only by rework is not unreachable
	_, err := New("P", "A").Step("10", "a", Then(End)).Step("RW", "rework", ReworkEntry(), Then("10")).Build()
	require.NoError(t, err)
}

func TestValidationListsEveryProblem(t *testing.T) {
	tests := []struct {
		name  string
		b     *Builder
		paths []string // every path expected among the problems
		words string   // a word in the first expected path's reason
	}{
		{"duplicate ids", New("P", "A").Step("10", "a").Step("10", "b"), []string{"steps[10].id"}, "duplicate"},
		{"empty id", New("P", "A").Step("", "a"), []string{"steps[#1].id"}, "empty"},
		{"reserved id", New("P", "A").Step(End, "a"), []string{"steps[END].id"}, "reserved"},
		{"no steps", New("P", "A"), []string{"steps"}, "at least one"},
		{"no revision", New("P", "").Step("10", "a"), []string{"revision"}, "empty"},
		{"unknown successor", New("P", "A").Step("10", "a", Then("99")), []string{"steps[10].next[0]"}, "no step"},
		{"self loop", New("P", "A").Step("10", "a", Then("10")), []string{"steps[10].next[0]"}, "itself"},
		{"unknown condition target", New("P", "A").Step("10", "a", Next(`good > 1 ? "20" : "77"`)).Step("20", "b"), []string{"steps[10].next[1]"}, "no step"},
		{"condition does not compile", New("P", "A").Step("10", "a", Next(`reslt.bore > 1 ? "20" : END`)).Step("20", "b"), []string{"steps[10].condition"}, "compile"},
		{"condition not a string literal", New("P", "A").Step("10", "a", Next(`good > 1 ? 20 : "20"`)).Step("20", "b"), []string{"steps[10].condition"}, "literal"},
		{"condition returns computed id", New("P", "A").Step("10", "a", Next(`param.next`)).Step("20", "b"), []string{"steps[10].condition"}, "literal"},
		{"condition too long", New("P", "A").Step("10", "a", Next(`"20"`+string(make([]byte, MaxConditionLen)))).Step("20", "b"), []string{"steps[10].condition"}, "limit"},
		{"condition and successors", New("P", "A").Step("10", "a", Then("20"), Next(`"20"`)).Step("20", "b"), []string{"steps[10].condition"}, "either"},
		{"duplicate successor", New("P", "A").Step("10", "a", Then("20", "20")).Step("20", "b"), []string{"steps[10].successors[1]"}, "twice"},
		{"negative durations", New("P", "A").Step("10", "a", Setup(-time.Second), Run(-time.Second)), []string{"steps[10].setup", "steps[10].run_per_unit"}, "negative"},
		{"bad material", New("P", "A").Step("10", "a", Consume("", "0 ea")), []string{"steps[10].materials[0].component", "steps[10].materials[0].per_unit"}, "empty"},
		{"material quantity malformed", New("P", "A").Step("10", "a", Consume("X", "one ea")), []string{"steps[10]"}, "malformed"},
		{"negative transfer", New("P", "A").Step("10", "a", Transfer("-1 ea")), []string{"steps[10].transfer_qty"}, "zero"},
		{"yield too high", New("P", "A").Step("10", "a", Yield(1.6, 0.1)), []string{"steps[10].expected_yield"}, "(0, 1.5]"},
		{"yield negative", New("P", "A").Step("10", "a", Yield(-0.5, 0)), []string{"steps[10].expected_yield"}, "(0, 1.5]"},
		{"tolerance without yield", New("P", "A").Step("10", "a", Yield(0, 0.1)), []string{"steps[10].yield_tolerance"}, "expected yield"},
		{"alternates without primary", New("P", "A").Step("10", "a", At("", "B")), []string{"steps[10].alternates"}, "primary"},
		{"alternate repeats primary", New("P", "A").Step("10", "a", At("A", "A")), []string{"steps[10].alternates[0]"}, "different"},
		{"unreachable", New("P", "A").Step("10", "a", Then(End)).Step("20", "b"), []string{"steps[20]"}, "unreachable"},
		{"loop with no exit", New("P", "A").Step("10", "a").Step("20", "b").Step("30", "c", Then("20")), []string{"steps[20]", "steps[30]"}, "no exit"},
		{"dead end into loop", New("P", "A").Step("10", "a").Step("20", "b").Step("30", "c", Then("20")), []string{"steps[10]"}, "dead end"},
		{"join with one input", New("P", "A").Step("10", "a").Step("20", "b", Join()), []string{"steps[20].join"}, "two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.b.Build()
			require.Nil(t, r)
			got := problemPaths(t, err)
			for _, p := range tt.paths {
				assert.Contains(t, got, p, "problems: %v", err)
			}
			assert.Contains(t, got[tt.paths[0]], tt.words)
		})
	}
}

func TestValidationReportsAllProblemsAtOnce(t *testing.T) {
	_, err := New("P", "").
		Step("10", "a", Setup(-1), Then("99")).
		Step("10", "b", Yield(2, 0)).
		Step("30", "c", Next(`nope`)).
		Build()
	var ps Problems
	require.ErrorAs(t, err, &ps)
	assert.GreaterOrEqual(t, len(ps), 5, "%v", err)
	assert.Contains(t, err.Error(), "revision")
	assert.Contains(t, err.Error(), "steps[10].setup")
}

func TestRoutingJSONRoundTrip(t *testing.T) {
	r := pump(t)
	r.Steps[0].Parameters = map[string]string{"speed": "1200"}
	r.Steps[0].TransferQty = q("10 ea")
	r.Steps[0].ExpectedYield = decimal.RequireFromString("0.98")
	r.Steps[0].YieldTolerance = decimal.RequireFromString("0.01")
	require.NoError(t, r.Validate())
	require.NoError(t, r.Release())
	b, err := json.Marshal(r)
	require.NoError(t, err)
	back, err := Parse(b)
	require.NoError(t, err)
	assert.Equal(t, r.Steps, back.Steps)
	assert.Equal(t, r.Digest, back.Digest)
	assert.Equal(t, Released, back.Status)
	// the decoded routing executes: its conditions were compiled by Parse
	_, _, err = back.Start(q("5 ea"), t0)
	require.NoError(t, err)
}

func TestParseRejectsBadJSON(t *testing.T) {
	_, err := Parse([]byte(`{"id":`))
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Parse([]byte(`{"id":"P","product":"P","revision":"A","status":"draft","steps":[{"id":"10","transfer_qty":"ten ea"}]}`))
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Parse([]byte(`{"id":"P","product":"P","revision":"A","status":"draft","steps":[{"id":"10","sucessors":["END"]},{"id":"20"}]}`))
	require.ErrorIs(t, err, ErrInvalid, "a misspelt field would silently change the flow")
	assert.Contains(t, err.Error(), "sucessors")

	_, err = Parse([]byte(`{"id":"P","product":"P","revision":"A","status":"draft","steps":[{"id":"10","setup":"1m","run_per_unit":"2s"},{"id":20}]}`))
	paths := problemPaths(t, err)
	assert.Len(t, paths, 3, "every field that does not read, not only the first: %v", paths)
	for _, p := range []string{"steps[#1].setup", "steps[#1].run_per_unit", "steps[#2].id"} {
		assert.Contains(t, paths, p)
	}
}

func TestUnvalidatedRoutingIsRefused(t *testing.T) {
	var r Routing
	require.NoError(t, json.Unmarshal([]byte(`{"id":"P","product":"P","revision":"A","status":"draft","steps":[{"id":"10"}]}`), &r))
	_, _, err := r.Start(q("1 ea"), t0)
	require.ErrorIs(t, err, ErrNotValidated)
	require.NoError(t, r.Validate())
	_, _, err = r.Start(q("1 ea"), t0)
	require.NoError(t, err)
	r.Steps = append(r.Steps, Step{ID: "20"}) // edited after validation
	_, _, err = r.Start(q("1 ea"), t0)
	require.ErrorIs(t, err, ErrNotValidated)
	require.NoError(t, r.Validate())
	r.Steps[1].Successors = []string{"nope"}
	require.Error(t, r.Validate())
	_, _, err = r.Start(q("1 ea"), t0)
	require.ErrorIs(t, err, ErrNotValidated, "a failed Validate drops the old compiled form")
}

func TestLifecycle(t *testing.T) {
	r := pump(t)
	require.ErrorIs(t, r.Obsolete(), ErrStatus)
	require.NoError(t, r.Release())
	assert.Equal(t, Released, r.Status)
	assert.NotEmpty(t, r.Digest)
	require.ErrorIs(t, r.Release(), ErrStatus)

	// a released routing must not change
	r.Steps[0].RunPerUnit = time.Minute
	assert.Contains(t, problemPaths(t, r.Validate()), "digest")
	r.Steps[0].RunPerUnit = 90 * time.Second
	require.NoError(t, r.Validate())

	n, err := r.NewRevision("D")
	require.NoError(t, err)
	assert.Equal(t, Draft, n.Status)
	assert.Empty(t, n.Digest)
	n.Steps[0].Alternates[0] = "OTHER"
	assert.Equal(t, "CNC-OLD", r.Steps[0].Alternates[0], "the copy shares nothing with the released revision")
	_, err = r.NewRevision("C")
	require.ErrorIs(t, err, ErrStatus)

	require.NoError(t, r.Obsolete())
	_, _, err = r.Start(q("1 ea"), t0)
	require.ErrorIs(t, err, ErrStatus, "no new work on an obsolete revision")
	_, _, err = r.StartAt("RW", q("1 ea"), t0)
	require.NoError(t, err, "rework of work already released on it continues")
}

func TestConditionTargets(t *testing.T) {
	_, ts, err := compileCondition(`result.bore > 10.02 ? "RW" : inSpec.face ? "30" : "END"`)
	require.NoError(t, err)
	assert.Equal(t, []string{"RW", "30", "END"}, ts)
	_, ts, err = compileCondition(`if skipped { "40" } else { "30" }`)
	require.NoError(t, err)
	assert.Equal(t, []string{"40", "30"}, ts)
	_, _, err = compileCondition(`result.bore > 1`)
	require.Error(t, err)
	_, _, err = compileCondition(`len(map(1..1000, #)) > 0 ? "A" : "B"`)
	require.NoError(t, err)
}

func TestConditionMemoryBudget(t *testing.T) {
	prog, _, err := compileCondition(`len(map(1..1000000, #)) > 0 ? "A" : "B"`)
	require.NoError(t, err)
	_, err = runCondition(prog, Env{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "memory budget")
}

func TestMainLineMustNotFallIntoRework(t *testing.T) {
	_, err := New("P", "A").
		Step("10", "Machine", At("CNC")).
		Step("20", "Assemble", At("ASSY")).
		Step("R10", "Re-machine", At("CNC"), ReworkEntry(), Then("20")).
		Build()
	var ps Problems
	require.ErrorAs(t, err, &ps)
	require.Len(t, ps, 1)
	assert.Equal(t, "R10", ps[0].Value)
	assert.Contains(t, ps[0].Reason, "fall through")
}

func TestBuilderRoutingsShareNothing(t *testing.T) {
	alternates := []string{"CNC-2"}
	b := New("P", "A").Step("10", "a", At("CNC", alternates...), Param("speed", "100"), Then("20")).Step("20", "b")
	alternates[0] = "CHANGED"
	released, err := b.Build()
	require.NoError(t, err)
	require.NoError(t, released.Release())
	draft, err := b.Build()
	require.NoError(t, err)
	draft.Steps[0].Parameters["speed"] = "999"
	draft.Steps[0].Alternates[0] = "OTHER"
	draft.Steps[0].Successors[0] = "10"
	assert.Equal(t, "100", released.Steps[0].Parameters["speed"])
	assert.Equal(t, []string{"CNC-2"}, released.Steps[0].Alternates, "the option keeps its own copy of the caller's slice")
	assert.Equal(t, []string{"20"}, released.Steps[0].Successors)
	require.NoError(t, released.Validate(), "the released routing is unchanged")
}

func TestAChangedCloneRunsOnlyOnceValidated(t *testing.T) {
	r := build(t, New("P", "A").Step("10", "a").Step("20", "b").Step("30", "c"))
	c := r.Clone()
	c.Steps[0].Successors = []string{"30"} // 20 becomes a rework path into 30
	c.Steps[1].ReworkEntry, c.Steps[1].Successors = true, []string{"30"}
	_, _, err := c.Start(q("5 ea"), t0)
	require.ErrorIs(t, err, ErrNotValidated, "it ran the original's flow")
	require.NoError(t, c.Validate())
	l := start(t, c, "5 ea").in("10", "").good("10", "5 ea")
	qtyIs(t, "5 ea", l.books("30").Received, "10 now leads to 30")
	qtyIs(t, "5 ea", start(t, r, "5 ea").in("10", "").good("10", "5 ea").books("20").Received, "the original keeps its flow")
}

func TestParallelBranchesMustJoinBeforeTheEnd(t *testing.T) {
	_, err := New("P", "A").Step("10", "a", Then("20", End)).Step("20", "b").Build()
	paths := problemPaths(t, err)
	require.Len(t, paths, 2)
	assert.Contains(t, paths["steps[10].successors[0]"], "reaches the end without a join")
	assert.Contains(t, paths["steps[10].successors[1]"], "reaches the end without a join")

	_, err = New("P", "A").Step("10", "a", Then("A", "B", "C")).Step("A", "a", Then("J")).Step("B", "b", Then("J")).
		Step("J", "j", Join(), Then(End)).Step("C", "c").Build()
	paths = problemPaths(t, err)
	require.Len(t, paths, 1, "two branches joined and one that ends alone would still finish twice")
	assert.Contains(t, paths["steps[10].successors[2]"], "would finish more than once")

	_, err = New("P", "A").Step("10", "a", Then("A", "B")).
		Step("A", "a", Then("A1", "A2")).Step("A1", "a1", Then("AJ")).Step("A2", "a2", Then("AJ")).Step("AJ", "aj", Join(), Then("J")).
		Step("B", "b", Then("J")).Step("J", "j", Join()).Build()
	require.NoError(t, err, "nested splits joined before the end")
}
