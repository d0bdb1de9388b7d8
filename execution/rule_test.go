package execution

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

// exampleRules are the exception rules of issue 11, as a plant engineer writes them.
var exampleRules = []RuleSpec{
	{Name: "waiting", Title: "lot waiting too long", Owner: "supervisor", When: `event.type == "tick" && lot.queued && lot.waitingMinutes > 30`,
		Cause: `lot.id + "@" + lot.step`, Clear: `!lot.queued`},
	{Name: "late", Title: "order will be late", Owner: "planner", Severity: High, When: `order.open && order.lateHours > 0`,
		Cause: `order.id`, Clear: `!order.open || order.lateHours <= 0`, Inputs: []string{"promise"}},
	{Name: "short", Title: "component short", Owner: "materials", When: `lot.queued && material.short`,
		Cause: `lot.id + "@" + lot.step`, Clear: `!material.short || !lot.queued`},
	{Name: "spc", Title: "SPC violation", Owner: "quality", Severity: Critical, When: `event.type == "spc.violation"`,
		Cause: `spc.equipment + "/" + spc.characteristic`, Inputs: []string{"disposition"}},
	{Name: "old-hold", Title: "hold older than a day", Owner: "quality", When: `hold.active && hold.ageHours > 24`,
		Cause: `hold.id`, Clear: `!hold.active`},
	{Name: "scrap", Title: "scrap spike", Owner: "engineer", When: `scrap.lastHour > 5`,
		Cause: `scrap.product + "/" + scrap.step`, Clear: `scrap.lastHour <= 5`, Inputs: []string{"reason"}},
}

func compileAll(t *testing.T, specs ...RuleSpec) *RuleSet {
	t.Helper()
	var rules []*Rule
	for _, s := range specs {
		r, err := Compile(s)
		require.NoError(t, err, s.Name)
		rules = append(rules, r)
	}
	return NewRuleSet(rules...)
}

func TestExampleRulesFireAndClear(t *testing.T) {
	set := compileAll(t, exampleRules...)
	cases := []struct {
		name        string
		fire, clear Env
		rule, cause string
	}{
		{"waited longer than 30 minutes at a step",
			Env{Event: EventFacts{Type: TickEvent}, Lot: LotFacts{ID: "L1", Step: "10", Queued: true, WaitingMinutes: 31}},
			Env{Event: EventFacts{Type: "lot.tracked_in"}, Lot: LotFacts{ID: "L1", Step: "10"}},
			"waiting", "L1@10"},
		{"projected completion later than due",
			Env{Event: EventFacts{Type: TickEvent}, Order: OrderFacts{ID: "WO1", Open: true, LateHours: 2.5}},
			Env{Event: EventFacts{Type: "workorder.priority_changed"}, Order: OrderFacts{ID: "WO1", Open: true, LateHours: -1}},
			"late", "WO1"},
		{"component short for a queued operation",
			Env{Event: EventFacts{Type: TickEvent}, Lot: LotFacts{ID: "L2", Step: "30", Queued: true}, Material: MaterialFacts{Short: true, Component: "SEAL"}},
			Env{Event: EventFacts{Type: TickEvent}, Lot: LotFacts{ID: "L2", Step: "30", Queued: true}},
			"short", "L2@30"},
		{"hold older than a day",
			Env{Event: EventFacts{Type: TickEvent}, Hold: HoldFacts{ID: "H1", Active: true, AgeHours: 25}},
			Env{Event: EventFacts{Type: "hold.released"}, Hold: HoldFacts{ID: "H1", AgeHours: 26}},
			"old-hold", "H1"},
		{"scrap at a step above a threshold in the last hour",
			Env{Event: EventFacts{Type: "lot.scrapped"}, Scrap: ScrapFacts{Product: "P", Step: "10", Qty: 2, LastHour: 6}},
			Env{Event: EventFacts{Type: TickEvent}, Scrap: ScrapFacts{Product: "P", Step: "10", LastHour: 4}},
			"scrap", "P/10"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var open OpenCauses
			ds, errs := set.Evaluate(&c.fire, &open)
			require.Empty(t, errs)
			require.Len(t, ds, 1)
			assert.Equal(t, Fire, ds[0].Action)
			assert.Equal(t, c.rule, ds[0].Rule.Name())
			assert.Equal(t, c.cause, ds[0].Cause)
			assert.True(t, open.Has(c.rule, c.cause))

			// Without an open task the clearing situation decides nothing.
			ds, errs = set.Evaluate(&c.clear, nil)
			require.Empty(t, errs)
			assert.Empty(t, ds)

			ds, errs = set.Evaluate(&c.clear, &open)
			require.Empty(t, errs)
			require.Len(t, ds, 1)
			assert.Equal(t, Clear, ds[0].Action)
			assert.Equal(t, c.cause, ds[0].Cause)
			assert.False(t, open.Has(c.rule, c.cause))
		})
	}
}

func TestSPCRuleFiresOnlyOnViolationsAndNeverClearsByItself(t *testing.T) {
	set := compileAll(t, exampleRules[3])
	var open OpenCauses
	ds, _ := set.Evaluate(&Env{Event: EventFacts{Type: "spc.violation"}, Equipment: "CNC", SPC: SPCFacts{Violation: true, Equipment: "CNC", Characteristic: "bore"}}, &open)
	require.Len(t, ds, 1)
	assert.Equal(t, "CNC/bore", ds[0].Cause)
	assert.Equal(t, []string{"CNC"}, ds[0].Links.Equipment)
	ds, _ = set.Evaluate(&Env{Event: EventFacts{Type: "hold.released"}, SPC: SPCFacts{Equipment: "CNC", Characteristic: "bore"}}, &open)
	assert.Empty(t, ds)
	assert.Equal(t, []string{"spc.violation"}, set.rules[0].types)
}

func TestEmptyCauseDefaultsToSubjectAndEmptyCauseNeverFires(t *testing.T) {
	r, err := Compile(RuleSpec{Name: "any", Owner: "x", When: "true"})
	require.NoError(t, err)
	ds, _ := NewRuleSet(r).Evaluate(&Env{Event: EventFacts{Type: "a", Subject: "S-1"}}, nil)
	require.Len(t, ds, 1)
	assert.Equal(t, "S-1", ds[0].Cause)
	ds, _ = NewRuleSet(r).Evaluate(&Env{Event: EventFacts{Type: "a"}}, nil)
	assert.Empty(t, ds)
}

func TestEventTypeFilter(t *testing.T) {
	for src, want := range map[string][]string{
		`event.type == "a"`:                                      {"a"},
		`"a" == event.type && lot.queued`:                        {"a"},
		`lot.queued && (event.type == "a" || event.type == "b")`: {"a", "b"},
		`event.type == "a" || lot.queued`:                        nil,
		`lot.queued`:                                             nil,
	} {
		r, err := Compile(RuleSpec{Name: "f", Owner: "x", When: src})
		require.NoError(t, err, src)
		assert.Equal(t, want, r.types, src)
	}
}

func TestCompileRefusesWithEveryProblemAndPosition(t *testing.T) {
	_, err := Compile(RuleSpec{Name: "bad name!", When: "lot.waitingMinute > 3", Cause: "lot.queued", Clear: "1 + 1",
		Severity: "urgent", Inputs: []string{"a", "a"}, Escalation: []EscalationStep{{Role: "", After: 0}}, ResolveWithin: -time.Second})
	var re *RuleError
	require.ErrorAs(t, err, &re)
	require.ErrorIs(t, err, ErrInvalidRule)
	fields := map[string]Problem{}
	for _, p := range re.Problems {
		fields[p.Field] = p
	}
	for _, f := range []string{"name", "severity", "owner", "inputs[1]", "resolve_within", "escalation[0].role", "escalation[0].after", "when", "cause", "clear"} {
		assert.Contains(t, fields, f, err.Error())
	}
	assert.Equal(t, 1, fields["when"].Line)
	assert.Equal(t, 5, fields["when"].Column)
	assert.Contains(t, fields["when"].Reason, "waitingMinutes")
	assert.Contains(t, fields["cause"].Reason, "expected string")
}

func TestCompileBounds(t *testing.T) {
	cases := map[string]struct {
		when     string
		sentinel error
		msg      string
	}{
		"loop":       {`any([1,2], # > lot.quantity)`, ErrInvalidRule, "loops"},
		"let":        {`let x = 1; x > 0`, ErrInvalidRule, "let"},
		"range":      {`len(1..1000000) > 0`, ErrInvalidRule, "ranges"},
		"builtin":    {`len(toJSON(lot)) > 0`, ErrInvalidRule, "toJSON"},
		"too long":   {strings.Repeat("true && ", 600) + "true", ErrRuleBudget, "bytes long"},
		"many nodes": {strings.Repeat("1 + ", 300) + "1 > 0", ErrRuleBudget, "nodes"},
		"empty":      {" ", ErrInvalidRule, "required"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := Compile(RuleSpec{Name: "b", Owner: "x", When: c.when})
			require.ErrorIs(t, err, c.sentinel)
			assert.Contains(t, err.Error(), c.msg)
			assert.Nil(t, r)
		})
	}
}

func TestEvaluateReportsRuntimeFailuresAndRunsTheOthers(t *testing.T) {
	bad, err := Compile(RuleSpec{Name: "bad", Owner: "x", When: `int(event.fields["n"]) > 3`})
	require.NoError(t, err)
	good, err := Compile(RuleSpec{Name: "good", Owner: "x", When: "true"})
	require.NoError(t, err)
	ds, errs := NewRuleSet(bad, good).Evaluate(&Env{Event: EventFacts{Subject: "s", Fields: map[string]string{"n": "x"}}}, nil)
	require.Len(t, errs, 1)
	require.ErrorIs(t, errs[0], ErrRuleFailed)
	var ee *EvalError
	require.True(t, errors.As(errs[0], &ee))
	assert.Equal(t, "when", ee.Field)
	require.Len(t, ds, 1)
	assert.Equal(t, "good", ds[0].Rule.Name())
}

func TestCauseLengthIsBounded(t *testing.T) {
	r, err := Compile(RuleSpec{Name: "c", Owner: "x", When: "true", Cause: `event.subject + event.subject + event.subject`})
	require.NoError(t, err)
	_, errs := NewRuleSet(r).Evaluate(&Env{Event: EventFacts{Subject: strings.Repeat("x", 200)}}, nil)
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], ErrRuleFailed)
}
