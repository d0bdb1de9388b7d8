package execution

import (
	"errors"
	"fmt"
	"reflect"
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

func TestACauseOfAnotherTypeIsAnErrorNotAPanic(t *testing.T) {
	r, err := Compile(RuleSpec{Name: "mixed", Owner: "x", When: "true", Cause: `lot.queued ? lot.id : 1`})
	require.NoError(t, err, "the number branch passes the save-time check")
	ds, errs := NewRuleSet(r).Evaluate(&Env{Event: EventFacts{Type: TickEvent, Subject: "L1"}}, nil)
	assert.Empty(t, ds)
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], ErrRuleFailed)
	assert.Contains(t, errs[0].Error(), "not text")
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

func TestGoForms(t *testing.T) {
	for src, want := range map[string]struct {
		guards int
		native bool
	}{
		`event.type == "tick" && lot.queued && lot.waitingMinutes > 30`: {3, true},
		`order.open && order.lateHours > 0`:                             {2, true},
		`2 >= order.priority && !hold.active`:                           {2, true},
		`not material.short and spc.value != 1.5`:                       {2, true},
		`lot.waitingMinutes > -1`:                                       {1, true},
		`order.lateHours > 0 && order.customer == "ACME"`:               {1, false},
		`order.customer == "ACME" && order.open`:                        {0, false},
		`lot.queued || order.open`:                                      {0, false},
		`lot.waitingMinutes > lot.quantity`:                             {0, false},
		`order.priority == 9007199254740993`:                            {0, false},
	} {
		r, err := Compile(RuleSpec{Name: "g", Owner: "x", When: src, Clear: src})
		require.NoError(t, err, src)
		assert.Len(t, r.guards, want.guards, src)
		assert.Equal(t, want.native, r.native, src)
		assert.Equal(t, want.native, r.clearTest != nil, src)
	}
	for src, native := range map[string]bool{
		`lot.id + "@" + lot.step`: true, `hold.id`: true, `equipment + "/" + spc.characteristic`: true, `"x"`: true,
		`lower(order.id)`: false, `order.id + string(order.priority)`: false, `event.fields.Lot`: false,
	} {
		r, err := Compile(RuleSpec{Name: "g", Owner: "x", When: "true", Cause: src})
		require.NoError(t, err, src)
		assert.Equal(t, native, r.causeText != nil, src)
	}
	// Every fact has its Go reader, reading the field the rule names.
	var e Env
	env := reflect.ValueOf(&e).Elem()
	for i := range env.NumField() {
		group := env.Type().Field(i)
		fields := []reflect.Value{env.Field(i)}
		names := []string{group.Tag.Get("expr")}
		if group.Type.Kind() == reflect.Struct && group.Type != reflect.TypeFor[time.Time]() {
			fields, names = nil, nil
			for j := range group.Type.NumField() {
				fields = append(fields, env.Field(i).Field(j))
				names = append(names, group.Tag.Get("expr")+"."+group.Type.Field(j).Tag.Get("expr"))
			}
		}
		for k, field := range fields {
			name := names[k]
			switch field.Kind() {
			case reflect.Bool:
				require.Contains(t, boolFacts, name)
				field.SetBool(true)
				assert.True(t, boolFacts[name](&e), name)
			case reflect.Float64, reflect.Int:
				require.Contains(t, numberFacts, name)
				if field.Kind() == reflect.Int {
					field.SetInt(7)
				} else {
					field.SetFloat(7)
				}
				assert.Equal(t, 7.0, numberFacts[name](&e), name)
			case reflect.String:
				require.Contains(t, stringFacts, name)
				field.SetString(name)
				assert.Equal(t, name, stringFacts[name](&e), name)
			}
		}
	}
}

// TestGoFormsDecideAsExpr: rules decide with the Go forms of their expressions (guards,
// native conditions, causes and clears) as with expr alone, firing and clearing alike.
func TestGoFormsDecideAsExpr(t *testing.T) {
	specs := []RuleSpec{
		{When: `event.type == "tick" && lot.queued && lot.waitingMinutes > 30`, Cause: `lot.id + "@" + lot.step`, Clear: `!lot.queued`},
		{When: `order.open && order.lateHours > 0`, Cause: `order.id`, Clear: `!order.open || order.lateHours <= 0`},
		{When: `order.open && order.lateHours >= 2.5`, Cause: `order.id + "/" + order.product`, Clear: `order.lateHours < 1`},
		{When: `order.priority < 3 && !hold.active`, Cause: `"p" + order.id`},
		{When: `3 > order.priority`, Clear: `order.priority >= 3`},
		{When: `order.priority == 2`, Cause: `lower(order.id)`, Clear: `order.priority != 2.0`},
		{When: `lot.queued && material.short && material.shortQty > 1`, Cause: `lot.id + "@" + lot.step`, Clear: `!material.short`},
		{When: `hold.active && hold.ageHours > 24 && hold.kind == "lot"`, Cause: `hold.id`, Clear: `!hold.active`},
		{When: `scrap.lastHour > 5`, Cause: `scrap.product + "/" + scrap.step`, Clear: `5 >= scrap.lastHour`},
		{When: `spc.violation and spc.value > 10`, Cause: `equipment + "/" + spc.characteristic`},
		{When: `not spc.violation && event.type == "tick"`, Cause: `event.subject`, Clear: `spc.violation`},
	}
	var native, plain []*Rule
	for i, s := range specs {
		s.Name, s.Owner = fmt.Sprintf("r%d", i), "x"
		r, err := Compile(s)
		require.NoError(t, err, s.When)
		p := *r
		p.guards, p.native, p.causeText, p.clearTest = nil, false, nil, nil
		native, plain = append(native, r), append(plain, &p)
	}
	require.True(t, native[0].native && native[0].causeText != nil && native[0].clearTest != nil)
	withGo, withExpr := NewRuleSet(native...), NewRuleSet(plain...)
	var goOpen, exprOpen OpenCauses
	types := []string{"tick", "lot.tracked_in", "hold.placed"}
	fired, cleared := 0, 0
	for i := range 3000 {
		env := Env{Now: t0, Event: EventFacts{Type: types[i%3], Subject: fmt.Sprint("S-", i%7)}, Equipment: []string{"CNC", ""}[i%2],
			Lot:      LotFacts{ID: fmt.Sprint("L-", i%5), Step: fmt.Sprint(i % 3 * 10), Queued: i%2 == 0, WaitingMinutes: float64(i % 60), Quantity: float64(i % 7)},
			Order:    OrderFacts{ID: fmt.Sprint("WO-", i%4), Product: "P", Open: i%3 != 0, LateHours: float64(i%11)/2 - 2, Priority: i % 5},
			Material: MaterialFacts{Short: i%4 == 0, ShortQty: float64(i % 3)},
			Hold:     HoldFacts{ID: fmt.Sprint("H-", i%3), Active: i%5 == 0, AgeHours: float64(i % 50), Kind: []string{"lot", "equipment"}[i%2]},
			Scrap:    ScrapFacts{Product: "P", Step: "10", LastHour: float64(i % 9)},
			SPC:      SPCFacts{Violation: i%6 == 0, Value: float64(i % 13), Characteristic: "bore"}}
		want, errs := withExpr.Evaluate(&env, &exprOpen)
		require.Empty(t, errs)
		got, errs := withGo.Evaluate(&env, &goOpen)
		require.Empty(t, errs)
		require.Len(t, got, len(want), "situation %d", i)
		for k := range want {
			require.Equal(t, want[k].Rule.Name(), got[k].Rule.Name(), "situation %d", i)
			require.Equal(t, want[k].Action, got[k].Action, "situation %d", i)
			require.Equal(t, want[k].Cause, got[k].Cause, "situation %d", i)
			fired += boolInt(got[k].Action == Fire)
			cleared += boolInt(got[k].Action == Clear)
		}
	}
	assert.Greater(t, fired, 3000, "the rules fire often enough to compare")
	assert.Greater(t, cleared, 300, "and clear")
}

func TestReadsEventFields(t *testing.T) {
	for src, want := range map[string]bool{
		`event.type == "a" && lot.queued`:           false,
		`event.subject startsWith "L-"`:             false,
		`event.fields.Reason == "CHATTER"`:          true,
		`event.fields["Hold.Reason"] == "MRB"`:      true,
		`event["fields"]["Reason"] == "x"`:          true,
		`len(event.fields) > 2`:                     true,
		`string(event) contains "x"`:                true,
		`$env.event.fields.Reason == "x"`:           true,
		`event.type == "a" && event.fields.x == ""`: true,
	} {
		r, err := Compile(RuleSpec{Name: "f", Owner: "x", When: src})
		require.NoError(t, err, src)
		assert.Equal(t, want, NewRuleSet(r).ReadsEventFields(), src)
	}
	r, err := Compile(RuleSpec{Name: "f", Owner: "x", When: "true", Cause: `event.fields.Lot`})
	require.NoError(t, err)
	assert.True(t, NewRuleSet(r).ReadsEventFields(), "in the cause")
	assert.False(t, compileAll(t, exampleRules...).ReadsEventFields())
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

	// Rules sharing an expression run it once per situation, yet each reports its failure.
	var rules []*Rule
	for _, name := range []string{"a", "b", "c"} {
		r, err := Compile(RuleSpec{Name: name, Owner: "x", When: `lot.quantity > 1`, Cause: `lot.id + event.fields["n"]`, Clear: `int(event.fields["n"]) > 3`})
		require.NoError(t, err)
		rules = append(rules, r)
	}
	set := NewRuleSet(rules...)
	open := &OpenCauses{}
	ds, errs = set.Evaluate(&Env{Lot: LotFacts{ID: "L", Quantity: 2}, Event: EventFacts{Fields: map[string]string{"n": "1"}}}, open)
	require.Empty(t, errs)
	require.Len(t, ds, 3)
	ds, errs = set.Evaluate(&Env{Lot: LotFacts{ID: "L"}, Event: EventFacts{Fields: map[string]string{"n": "x"}}}, open)
	require.Empty(t, ds)
	require.Empty(t, errs, "no task is open for cause Lx: no clear runs")
	open.Add("a", "Lx")
	open.Add("b", "Lx")
	_, errs = set.Evaluate(&Env{Lot: LotFacts{ID: "L"}, Event: EventFacts{Fields: map[string]string{"n": "x"}}}, open)
	require.Len(t, errs, 2)
	for i, e := range errs {
		require.True(t, errors.As(e, &ee))
		assert.Equal(t, []string{"a", "b"}[i], ee.Rule)
		assert.Equal(t, "clear", ee.Field)
	}
}

func TestCauseLengthIsBounded(t *testing.T) {
	r, err := Compile(RuleSpec{Name: "c", Owner: "x", When: "true", Cause: `event.subject + event.subject + event.subject`})
	require.NoError(t, err)
	_, errs := NewRuleSet(r).Evaluate(&Env{Event: EventFacts{Subject: strings.Repeat("x", 200)}}, nil)
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], ErrRuleFailed)
}
