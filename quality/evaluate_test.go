package quality

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/taktmes/takt/units"
)

var t0 = time.Date(2025, 3, 4, 8, 0, 0, 0, time.UTC)

func dec(s string) decimal.NullDecimal {
	return decimal.NewNullDecimal(decimal.RequireFromString(s))
}

func borePlan(sampling SamplingPlan, reactions ...Reaction) Plan {
	return Plan{
		ID: "BORE-PLAN",
		Characteristics: []Characteristic{
			{Name: "bore", Kind: Variable, Nominal: dec("10.000"), Spec: spec("9.950", "10.050"), Unit: "mm", Decimals: 3},
			{Name: "visual", Kind: Attribute, DefectCodes: []string{"SCRATCH", "BURR"}},
		},
		Sampling:  sampling,
		Reactions: reactions,
	}
}

func measure(serial, v string, at time.Duration) Result {
	return Result{Characteristic: "bore", Value: dec(v), Serial: serial, By: "op1", At: t0.Add(at)}
}

func judge(serial string, rejected int, codes ...string) Result {
	r := Result{Characteristic: "visual", Inspected: 1, Rejected: rejected, Serial: serial, By: "op1", At: t0}
	for _, c := range codes {
		r.Defects = append(r.Defects, DefectCount{Code: c, Count: 1})
	}
	return r
}

func mustCompile(t *testing.T, p Plan) *CompiledPlan {
	t.Helper()
	cp, err := Compile(p)
	require.NoError(t, err)
	return cp
}

var ea = units.MustParse

func TestEvaluateMissingNamesEveryCharacteristic(t *testing.T) {
	cp := mustCompile(t, borePlan(SamplingPlan{Method: EveryNthUnit, N: 2}))
	// 5 units, every 2nd: units 0, 2, 4 -> 3 per characteristic.
	ev, err := cp.Evaluate(0, ea("5 ea"), []Result{measure("S1", "10.001", 0)})
	var me *MissingError
	require.ErrorAs(t, err, &me)
	assert.ErrorIs(t, err, ErrInspectionMissing)
	assert.Equal(t, []Missing{{"bore", 3, 1}, {"visual", 3, 0}}, me.Missing)
	assert.Contains(t, err.Error(), "bore (1 of 3 recorded)")
	assert.Contains(t, err.Error(), "visual (0 of 3 recorded)")
	assert.Equal(t, 3, ev.SampleSize)
	assert.Empty(t, ev.Actions)
}

func TestEvaluateOutOfSpecReactsEvenWhileIncomplete(t *testing.T) {
	cp := mustCompile(t, borePlan(SamplingPlan{Method: FirstPiece},
		Reaction{Actions: []Action{{Kind: HoldLot}, {Kind: OpenNonConformance}}}))
	ev, err := cp.Evaluate(0, ea("10 ea"), []Result{measure("S1", "10.051", 0)})
	assert.ErrorIs(t, err, ErrInspectionMissing, "visual is still missing")
	require.Len(t, ev.OutOfSpec, 1)
	f := ev.OutOfSpec[0]
	assert.Equal(t, AboveUSL, f.Bound)
	assert.Equal(t, "10.05", f.Limit.Decimal.String())
	assert.Equal(t, []Action{{Kind: HoldLot}, {Kind: OpenNonConformance}}, ev.Actions)
}

func TestEvaluateSpecLimitsAreInclusiveAndExact(t *testing.T) {
	cp := mustCompile(t, borePlan(SamplingPlan{Method: EveryUnit}))
	results := []Result{
		measure("S1", "9.950", 0), measure("S2", "10.050", 0), measure("S3", "9.949", 0),
		judge("S1", 0), judge("S2", 0), judge("S3", 0),
	}
	ev, err := cp.Evaluate(0, ea("3 ea"), results)
	require.NoError(t, err)
	require.Len(t, ev.OutOfSpec, 1)
	assert.Equal(t, "S3", ev.OutOfSpec[0].Serial)
	assert.Equal(t, BelowLSL, ev.OutOfSpec[0].Bound)
	assert.Equal(t, "2 ea", ev.Accepted.String())
	assert.Equal(t, "1 ea", ev.Rejected.String())
	assert.True(t, ev.LotAccepted)
}

func TestEvaluateUnitFailingTwiceCountsOnceAndRemeasureReplaces(t *testing.T) {
	cp := mustCompile(t, borePlan(SamplingPlan{Method: EveryUnit}))
	results := []Result{
		measure("S1", "10.060", 0), judge("S1", 1, "BURR"), // S1 fails both: one unit
		measure("S2", "10.070", 0), measure("S2", "10.010", time.Minute), // re-measured: in spec
		judge("S2", 0),
	}
	ev, err := cp.Evaluate(0, ea("2 ea"), results)
	require.NoError(t, err)
	assert.Len(t, ev.OutOfSpec, 2)
	assert.Equal(t, 1, ev.Nonconforming)
	assert.Equal(t, "1 ea", ev.Accepted.String())
	assert.Equal(t, "1 ea", ev.Rejected.String())
}

func TestEvaluateAcceptanceSamplingSplit(t *testing.T) {
	plan := Plan{ID: "AQL", Characteristics: []Characteristic{{Name: "visual", Kind: Attribute}},
		Sampling: SamplingPlan{Method: Acceptance, N: 50, C: 1}}
	cp := mustCompile(t, plan)
	batch := func(rejected int) Result {
		return Result{Characteristic: "visual", Inspected: 50, Rejected: rejected, By: "qc", At: t0,
			Defects: []DefectCount{{Code: "SCRATCH", Count: rejected + 1}}}
	}
	tests := []struct {
		rejected           int
		accepted, rejectQt string
		lotAccepted        bool
	}{
		{0, "500 ea", "0 ea", true},
		{1, "499 ea", "1 ea", true},  // c = 1: lot accepted, the bad unit rejected
		{2, "0 ea", "500 ea", false}, // more than c: the whole lot is rejected
	}
	for _, tt := range tests {
		ev, err := cp.Evaluate(0, ea("500 ea"), []Result{batch(tt.rejected)})
		require.NoError(t, err)
		assert.Equal(t, 50, ev.SampleSize)
		assert.Equal(t, tt.lotAccepted, ev.LotAccepted, "rejected=%d", tt.rejected)
		assert.Equal(t, tt.accepted, ev.Accepted.String(), "rejected=%d", tt.rejected)
		assert.Equal(t, tt.rejectQt, ev.Rejected.String(), "rejected=%d", tt.rejected)
	}
	// A lot counted in dozens is split in ea.
	ev, err := cp.Evaluate(0, ea("5 dozen"), []Result{batch(1)})
	require.NoError(t, err)
	assert.Equal(t, "59 ea", ev.Accepted.String())

	_, err = cp.Evaluate(0, ea("2.5 kg"), []Result{batch(0)})
	assert.ErrorIs(t, err, ErrInvalidResult)
	_, err = cp.Evaluate(0, ea("1 ea"), []Result{batch(3)})
	assert.ErrorIs(t, err, ErrInvalidResult, "more nonconforming units than the lot holds")
}

func TestEvaluateRejectsInvalidResultsListingAll(t *testing.T) {
	cp := mustCompile(t, borePlan(SamplingPlan{Method: EveryUnit}))
	_, err := cp.Evaluate(-1, ea("3 ea"), []Result{
		{Characteristic: "bore", Value: dec("10.0001"), By: "op", At: t0},                     // too many decimals
		{Characteristic: "bore", By: "op", At: t0},                                            // no value
		{Characteristic: "visual", Inspected: 1, Rejected: 2, By: "op", At: t0},               // rejected > inspected
		{Characteristic: "visual", Inspected: 1, Defects: []DefectCount{{"DENT", 1}}, At: t0}, // unknown code, no by
		{Characteristic: "length", Value: dec("1"), By: "op", At: t0},                         // unknown characteristic
		{Characteristic: "visual", Inspected: 2, Serial: "S1", By: "op"},                      // serial judges 1 unit, no at
	})
	assert.ErrorIs(t, err, ErrInvalidResult)
	paths := problemPaths(t, err)
	for _, want := range []string{"lotIndex", "results[0].value", "results[1].value", "results[2].rejected",
		"results[3].defects[0].code", "results[3].by", "results[4].characteristic", "results[5].inspected", "results[5].at"} {
		assert.Contains(t, paths, want)
	}
	assert.NoError(t, cp.CheckResult(measure("S1", "10.002", 0)))
	assert.ErrorIs(t, cp.CheckResult(measure("S1", "10.0021", 0)), ErrInvalidResult)
	assert.ErrorIs(t, cp.CheckResult(measure("S1", "-1e400", 0)), ErrInvalidResult, "no float64 holds it, for charts and statistics")
}

func TestReactionRules(t *testing.T) {
	cp := mustCompile(t, borePlan(SamplingPlan{Method: EveryUnit},
		// Far out of spec: send back to machining.
		Reaction{When: `char.bore.max > 10.1 || char.bore.min < 9.9`, Actions: []Action{{Kind: ReworkTo, ToStep: "10"}, {Kind: HoldLot}}},
		// Two or more burrs: open a non-conformance.
		Reaction{When: `(char.visual.defects["BURR"] ?? 0) >= 2`, Actions: []Action{{Kind: OpenNonConformance}, {Kind: HoldLot}}},
	))
	tests := []struct {
		name    string
		results []Result
		want    []Action
	}{
		{"in spec", []Result{measure("S1", "10.000", 0), judge("S1", 0)}, nil},
		{"slightly out: no rule fires", []Result{measure("S1", "10.060", 0), judge("S1", 0)}, nil},
		{"far out: rework", []Result{measure("S1", "10.200", 0), judge("S1", 0)}, []Action{{Kind: ReworkTo, ToStep: "10"}, {Kind: HoldLot}}},
		{"burrs and far out: both, hold once", []Result{measure("S1", "9.800", 0), judge("S1", 1, "BURR", "BURR")},
			[]Action{{Kind: ReworkTo, ToStep: "10"}, {Kind: HoldLot}, {Kind: OpenNonConformance}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := cp.Evaluate(0, ea("1 ea"), tt.results)
			require.NoError(t, err)
			assert.Equal(t, tt.want, ev.Actions)
		})
	}
}

func TestCompileListsEveryProblem(t *testing.T) {
	p := Plan{
		Characteristics: []Characteristic{
			{Name: "bore", Kind: Variable, Spec: spec("10.05", "9.95"), Unit: "furlong"},
			{Name: "bore", Kind: Attribute, Unit: "mm"},
			{Name: " x", Kind: "colour"},
		},
		Sampling: SamplingPlan{Method: Acceptance, N: 5, C: 7},
		Reactions: []Reaction{
			{When: `char.bore.inSpek`, Actions: []Action{{Kind: ReworkTo}}},
			{When: `char.bor.inSpec`},
			{When: strings.Repeat("1 + ", 600) + "1 > 0", Actions: []Action{{Kind: "email"}}},
		},
	}
	_, err := Compile(p)
	assert.ErrorIs(t, err, ErrInvalidPlan)
	assert.ErrorIs(t, err, ErrInvalidRule)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	paths := map[string]string{}
	for _, pr := range ve.Problems {
		paths[pr.Path] += pr.Reason
	}
	for _, want := range []string{"id", "characteristics[0].lsl", "characteristics[0].unit", "characteristics[1].name",
		"characteristics[1]", "characteristics[2].name", "characteristics[2].kind", "sampling.c",
		"reactions[0].when", "reactions[0].actions[0].toStep", "reactions[1].actions", "reactions[1].when",
		"reactions[2].when", "reactions[2].actions[0].kind"} {
		assert.Contains(t, paths, want, "problems: %v", ve.Problems)
	}
	assert.Contains(t, paths["reactions[1].when"], `unknown characteristic "bor"`)
	assert.Contains(t, paths["reactions[2].when"], "limit is 2000")
}

func TestRuleBounds(t *testing.T) {
	names := map[string]int{"bore": 0}
	_, err := compileRule(strings.Repeat("1+", 400)+"1 > 0", names)
	assert.ErrorIs(t, err, ErrInvalidRule, "too many nodes")
	_, err = compileRule(`char.bore.count`, names)
	assert.ErrorIs(t, err, ErrInvalidRule, "not a bool")

	// Loops, ranges, variables and unbounded builtins are refused at definition time, so a
	// rule's run time and memory are bounded by its size.
	for _, rule := range []string{
		`len(map(1..1000000, # * 2)) > 0`,
		`all(1..1000, all(1..1000, true))`,
		`let a = "xx"; let b = a + a; len(b) > 0`,
		`len(repeat("x", 1000000000)) > 0`,
		`now().Year() > 2000`,
	} {
		_, err = compileRule(rule, names)
		assert.ErrorIs(t, err, ErrInvalidRule, rule)
		assert.Contains(t, err.Error(), "not available in rules", rule)
	}
	_, err = compileRule(`round(abs(char.bore.mean - 10) * 1000) > 30 && len(char.bore.defects) == 0`, names)
	assert.NoError(t, err)
}

// FuzzReactionRule compiles arbitrary rule text; it must never panic, and either fail with
// ErrInvalidPlan/ErrInvalidRule or evaluate to a list of the plan's actions.
func FuzzReactionRule(f *testing.F) {
	for _, s := range []string{
		`char.bore.max > 10.05`, `outOfSpec > 0 && !lotAccepted`, `char.visual.defects["BURR"] >= 2`,
		`rejected / sampled > 0.1`, `char.bore.inSpec ? false : true`, `len(map(1..100000, #)) > 1`,
		`char.nope.inSpec`, `1 +`, `"a" + 1`, ``, `let x = 1; x > 0`, `sum(1..1000000) > 0`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rule string) {
		cp, err := Compile(borePlan(SamplingPlan{Method: EveryUnit}, Reaction{When: rule, Actions: []Action{{Kind: HoldLot}}}))
		if err != nil {
			if !errors.Is(err, ErrInvalidPlan) {
				t.Fatalf("compile error %v is not ErrInvalidPlan", err)
			}
			return
		}
		ev, err := cp.Evaluate(0, ea("2 ea"), []Result{
			measure("S1", "10.2", 0), judge("S1", 1, "BURR"), measure("S2", "9.999", 0), judge("S2", 0)})
		if err != nil {
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("evaluate error %v is not ErrInvalidRule", err)
			}
			return
		}
		if len(ev.Actions) > 1 || len(ev.Actions) == 1 && ev.Actions[0] != (Action{Kind: HoldLot}) {
			t.Fatalf("actions %v are not the plan's", ev.Actions)
		}
	})
}

func TestCompiledPlanSharesNothingWithItsCaller(t *testing.T) {
	p := borePlan(SamplingPlan{Method: FirstPiece}, Reaction{Actions: []Action{{Kind: HoldLot}}})
	cp := mustCompile(t, p)
	p.Characteristics[1].DefectCodes[0] = "DENT"
	p.Reactions[0].Actions[0] = Action{Kind: ReworkTo, ToStep: "99"}
	got := cp.Plan()
	got.Characteristics[0].Name = "changed"
	assert.Equal(t, borePlan(SamplingPlan{Method: FirstPiece}, Reaction{Actions: []Action{{Kind: HoldLot}}}), cp.Plan())
	assert.NoError(t, cp.CheckResult(judge("S1", 1, "SCRATCH")))
}
