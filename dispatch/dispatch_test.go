package dispatch

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/units"
)

var t0 = time.Date(2025, 3, 3, 6, 0, 0, 0, time.UTC)

func hours(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }

// job is a textbook single-machine job: processing time and due date in hours from t0.
func job(lot string, proc, due float64) Candidate {
	return Candidate{
		Lot: lot, WorkOrder: "WO-" + lot, Step: "10", WorkCenters: []string{"CNC"},
		Priority: 5, Due: t0.Add(hours(due)), QueuedSince: t0.Add(-time.Hour),
		Quantity: units.MustParse("10 ea"), OpTime: hours(proc), RemainingTime: hours(proc),
		RemainingSteps: 1, Released: true,
	}
}

func lots(l List) []string {
	out := make([]string, len(l.Ranked))
	for i, e := range l.Ranked {
		out[i] = e.Candidate.Lot
	}
	return out
}

func builtin(t testing.TB, name string) *Rule {
	t.Helper()
	r, err := Builtin(name)
	require.NoError(t, err)
	return r
}

// The classic five-job example (Heizer & Render): jobs A-E arrive in alphabetical order;
// processing times 6, 2, 8, 3, 9 h; due in 8, 6, 18, 15, 23 h.
func fiveJobs() []Candidate {
	cs := []Candidate{job("A", 6, 8), job("B", 2, 6), job("C", 8, 18), job("D", 3, 15), job("E", 9, 23)}
	for i := range cs {
		cs[i].QueuedSince = t0.Add(time.Duration(i-10) * time.Minute) // A arrived first
	}
	return cs
}

func TestBuiltinRulesTextbookOrders(t *testing.T) {
	// Slack per remaining operation, (due - remaining) / steps:
	// S1 (20-10)/2 = 5, S2 (12-9)/1 = 3, S3 (30-12)/9 = 2, S4 (8-10)/2 = -1 → S4 S3 S2 S1.
	slack := []Candidate{job("S1", 2, 20), job("S2", 2, 12), job("S3", 2, 30), job("S4", 2, 8)}
	for i, rs := range []struct {
		rem   float64
		steps int
	}{{10, 2}, {9, 1}, {12, 9}, {10, 2}} {
		slack[i].RemainingTime, slack[i].RemainingSteps = hours(rs.rem), rs.steps
	}
	// Priority then due: P1 (prio 2, due 5), P2 (1, 30), P3 (1, 10), P4 (3, 1) → P3 P2 P1 P4.
	prio := []Candidate{job("P1", 1, 5), job("P2", 1, 30), job("P3", 1, 10), job("P4", 1, 1)}
	for i, p := range []int{2, 1, 1, 3} {
		prio[i].Priority = p
	}
	// Least setup change with family "A" running: A-family jobs first (by due), then others
	// by due: F1 (B, due 2), F2 (A, due 9), F3 (A, due 4), F4 (C, due 3) → F3 F2 F1 F4.
	setup := []Candidate{job("F1", 1, 2), job("F2", 1, 9), job("F3", 1, 4), job("F4", 1, 3)}
	for i, f := range []string{"B", "A", "A", "C"} {
		setup[i].SetupFamily = f
	}
	tests := []struct {
		rule    string
		cands   []Candidate
		running string
		want    []string
	}{
		// FIFO: arrival order A B C D E.
		{"FIFO", fiveJobs(), "", []string{"A", "B", "C", "D", "E"}},
		// SPT: B(2) D(3) A(6) C(8) E(9).
		{"SPT", fiveJobs(), "", []string{"B", "D", "A", "C", "E"}},
		// EDD: B(6) A(8) D(15) C(18) E(23).
		{"EDD", fiveJobs(), "", []string{"B", "A", "D", "C", "E"}},
		// Critical ratio at t0, due/remaining: A 8/6=1.33, B 6/2=3, C 18/8=2.25, D 15/3=5,
		// E 23/9=2.56 → A C E B D.
		{"CR", fiveJobs(), "", []string{"A", "C", "E", "B", "D"}},
		{"SLACK", slack, "", []string{"S4", "S3", "S2", "S1"}},
		{"PRIORITY_EDD", prio, "", []string{"P3", "P2", "P1", "P4"}},
		{"SETUP", setup, "A", []string{"F3", "F2", "F1", "F4"}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			l := Rank(builtin(t, tt.rule), tt.cands, Request{WorkCenter: "CNC", Now: t0, RunningFamily: tt.running})
			assert.Equal(t, tt.want, lots(l))
			assert.Empty(t, l.Ineligible)
			assert.Empty(t, l.Failed)
			assert.Equal(t, tt.rule, l.Rule)
		})
	}
}

func TestCriticalRatioScoresAndExplain(t *testing.T) {
	l := Rank(builtin(t, "CR"), fiveJobs(), Request{Now: t0})
	require.Len(t, l.Ranked, 5)
	first := l.Ranked[0]
	assert.Equal(t, 1, first.Position)
	assert.InDelta(t, 8.0/6.0, first.Score, 1e-12)
	assert.Equal(t, []Input{{"dueInHours", 8.0}, {"remainingHours", 6.0}}, first.Explain())
	assert.Equal(t, "1. A@10 score 1.3333333333333333 (dueInHours=8, remainingHours=6)", first.String())
	assert.InDelta(t, 5.0, l.Ranked[4].Score, 1e-12)
}

func TestExplainInputsInOrderOfUse(t *testing.T) {
	r, err := Compile("mine", "let d = (due - now).Hours(); d / opHours + priority * 0 + (customer == 'ACME' ? 0 : 1)")
	require.NoError(t, err)
	assert.Equal(t, []string{"due", "now", "opHours", "priority", "customer"}, r.Inputs())
	c := job("A", 2, 8)
	c.Customer = "ACME"
	l := Rank(r, []Candidate{c}, Request{Now: t0})
	require.Len(t, l.Ranked, 1)
	assert.InDelta(t, 4.0, l.Ranked[0].Score, 1e-12)
	assert.Equal(t, []Input{
		{"due", t0.Add(8 * time.Hour)}, {"now", t0}, {"opHours", 2.0}, {"priority", 5}, {"customer", "ACME"},
	}, l.Ranked[0].Explain())
}

func TestTiesAreDeterministic(t *testing.T) {
	r, err := Compile("flat", "0")
	require.NoError(t, err)
	mk := func(lot, step string, queuedMin int) Candidate {
		c := job(lot, 1, 10)
		c.Step, c.QueuedSince = step, t0.Add(time.Duration(queuedMin)*time.Minute)
		return c
	}
	cs := []Candidate{mk("L-3", "10", -5), mk("L-2", "20", -9), mk("L-2", "10", -9), mk("L-1", "10", -5), mk("L-9", "10", -30)}
	want := []string{"L-9@10", "L-2@10", "L-2@20", "L-1@10", "L-3@10"} // earliest queued, then lot, then step
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		rng.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
		l := Rank(r, cs, Request{Now: t0})
		var got []string
		for _, e := range l.Ranked {
			got = append(got, e.Candidate.Key().String())
		}
		require.Equal(t, want, got)
	}
}

func TestEligibilityReasons(t *testing.T) {
	base := func() Candidate {
		c := job("L-7", 1, 10)
		c.WorkOrder, c.Step = "4711", "20"
		c.WorkCenters = []string{"CNC", "LATHE"}
		return c
	}
	req := Request{WorkCenter: "CNC", Equipment: "CNC-2", Person: "P-9", Qualifications: []string{"CNC-1"}, Now: t0}
	tests := []struct {
		name   string
		change func(*Candidate, *Request)
		want   []Reason
	}{
		{"eligible", func(*Candidate, *Request) {}, nil},
		{"work center", func(_ *Candidate, r *Request) { r.WorkCenter = "MILL" },
			[]Reason{{ReasonWorkCenter, "step 20 runs at CNC or LATHE, not MILL"}}},
		{"any work center", func(_ *Candidate, r *Request) { r.WorkCenter = "" }, nil},
		{"equipment", func(c *Candidate, _ *Request) { c.Equipment = []string{"CNC-1", "CNC-3", "CNC-4"} },
			[]Reason{{ReasonEquipment, "step 20 runs on equipment CNC-1, CNC-3 or CNC-4, not CNC-2"}}},
		{"not released", func(c *Candidate, _ *Request) { c.Released = false },
			[]Reason{{ReasonNotReleased, "work order 4711 not released"}}},
		{"previous step", func(c *Candidate, _ *Request) { c.OpenPredecessors = []string{"10"} },
			[]Reason{{ReasonPredecessor, "previous step 10 not complete"}}},
		{"lot hold", func(c *Candidate, _ *Request) { c.Holds = []Hold{{HoldLot, "L-7", "CONTAMINATION"}} },
			[]Reason{{ReasonHold, "lot L-7 is on hold: CONTAMINATION"}}},
		{"work order and material holds", func(c *Candidate, _ *Request) {
			c.Holds = []Hold{{HoldWorkOrder, "4711", "CREDIT"}, {HoldMaterial, "ML-3", "QUARANTINE"}}
		}, []Reason{{ReasonHold, "work order 4711 is on hold: CREDIT"}, {ReasonHold, "material ML-3 is on hold: QUARANTINE"}}},
		{"equipment hold", func(_ *Candidate, r *Request) { r.Holds = []Hold{{HoldEquipment, "CNC-2", "CALIBRATION DUE"}} },
			[]Reason{{ReasonHold, "equipment CNC-2 is on hold: CALIBRATION DUE"}}},
		{"component short", func(c *Candidate, _ *Request) {
			c.Shortages = []Shortage{{"SEAL-KIT", units.MustParse("2 ea")}}
		}, []Reason{{ReasonShortage, "component SEAL-KIT short by 2 ea"}}},
		{"qualification", func(c *Candidate, _ *Request) { c.Qualifications = []string{"CNC-1", "WELD-2"} },
			[]Reason{{ReasonQualification, "operator P-9 lacks qualification WELD-2"}}},
		{"no person, no qualification check", func(c *Candidate, r *Request) {
			c.Qualifications, r.Person = []string{"WELD-2"}, ""
		}, nil},
		{"all at once, in fixed order", func(c *Candidate, r *Request) {
			r.WorkCenter, c.Released, c.OpenPredecessors = "MILL", false, []string{"10"}
			c.Holds = []Hold{{HoldLot, "L-7", "CONTAMINATION"}}
			c.Shortages = []Shortage{{"SEAL-KIT", units.MustParse("2 ea")}}
			c.Qualifications = []string{"WELD-2"}
		}, []Reason{
			{ReasonWorkCenter, "step 20 runs at CNC or LATHE, not MILL"},
			{ReasonNotReleased, "work order 4711 not released"},
			{ReasonPredecessor, "previous step 10 not complete"},
			{ReasonHold, "lot L-7 is on hold: CONTAMINATION"},
			{ReasonShortage, "component SEAL-KIT short by 2 ea"},
			{ReasonQualification, "operator P-9 lacks qualification WELD-2"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r := base(), req
			tt.change(&c, &r)
			assert.Equal(t, tt.want, Eligible(&c, &r))
			l := Rank(builtin(t, "EDD"), []Candidate{c}, r)
			if tt.want == nil {
				assert.Len(t, l.Ranked, 1)
				return
			}
			require.Len(t, l.Ineligible, 1)
			assert.Equal(t, tt.want, l.Ineligible[0].Reasons)
			assert.Empty(t, l.Ranked)
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	c := Candidate{
		WorkCenters: []string{""}, OpTime: time.Hour, RemainingTime: time.Minute,
		Quantity: units.MustParse("-1 ea"), Holds: []Hold{{Kind: "pallet"}},
		Shortages: []Shortage{{Material: "X"}},
	}
	err := c.Validate()
	require.ErrorIs(t, err, ErrInvalidCandidate)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	var fields []string
	for _, p := range ve.Problems {
		fields = append(fields, p.Field)
	}
	assert.Equal(t, []string{
		"Lot", "WorkOrder", "Step", "WorkCenters[0]", "Due", "QueuedSince", "Quantity",
		"RemainingTime", "RemainingSteps", "Holds[0].Kind", "Holds[0].ID", "Shortages[0].Short",
	}, fields)
	assert.Contains(t, err.Error(), "RemainingTime (1m0s): must include this operation's 1h0m0s")

	good := job("A", 1, 2)
	require.NoError(t, good.Validate())
	l := Rank(builtin(t, "EDD"), []Candidate{good, c}, Request{Now: t0})
	assert.Equal(t, []string{"A"}, lots(l))
	require.Len(t, l.Failed, 1)
	assert.ErrorIs(t, l.Failed[0].Err, ErrInvalidCandidate)
}

func TestCompileRejectsBadRules(t *testing.T) {
	tests := []struct {
		name     string
		source   string
		sentinel error
		line     int
		column   int
		contains string
	}{
		{"empty", "  ", ErrInvalidRule, 1, 1, "the rule is empty"},
		{"syntax", "dueInHours +", ErrInvalidRule, 1, 12, "unexpected token EOF"},
		{"unknown name on line 2", "let x = 1;\n  x + dueInHour", ErrInvalidRule, 2, 7, "unknown name dueInHour; the names a rule can use are"},
		{"string result", "customer", ErrInvalidRule, 1, 1, "expected float64, but got string; a ranking rule returns a number"},
		{"bool result", "priority > 2", ErrInvalidRule, 1, 1, "a ranking rule returns a number"},
		{"time result", "due", ErrInvalidRule, 1, 1, "got time.Time"},
		{"constant division by zero", "priority + 1 % 0", ErrInvalidRule, 1, 14, "integer divide by zero"},
		{"now builtin disabled", "now().Unix()", ErrInvalidRule, 1, 1, "not callable"},
		{"repeat disabled", "len(repeat(lot, 1000000))", ErrInvalidRule, 1, 5, "unknown name repeat"},
		{"too long", strings.Repeat(" ", MaxRuleLength) + "1", ErrRuleBudget, 1, 1, "shorten it to at most 4096"},
		{"too many nodes", "1" + strings.Repeat("+1", MaxRuleNodes), ErrRuleBudget, 1, 0, "at most 500 nodes"},
		{"memory budget", "len(1..(priority * 100000))", ErrRuleBudget, 1, 6, "memory budget exceeded"},
		{"loop", "any([1, 2], # > priority) ? 1 : 0", ErrInvalidRule, 1, 13, "loops (all, any"},
		{"reduce", "reduce(1..9, #acc + #, 0)", ErrInvalidRule, 1, 0, "loops (all, any"},
		{"string building", "let a = lot + lot;\nlen(a)", ErrInvalidRule, 1, 13, "ranking rules cannot build strings"},
		{"nested list", "len([[1], [2]])", ErrInvalidRule, 1, 6, "list elements must be"},
		{"nested map", "len({a: [1]})", ErrInvalidRule, 1, 9, "map values must be"},
		{"collection builtin", "len(join(['a'], lot))", ErrInvalidRule, 1, 5, "unknown name join"},
		{"facts through $env", "$env.dueInHours", ErrInvalidRule, 1, 0, "name the facts directly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compile("R", tt.source)
			require.Error(t, err)
			assert.Nil(t, r)
			assert.ErrorIs(t, err, tt.sentinel)
			var re *RuleError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tt.line, re.Line)
			if tt.column > 0 {
				assert.Equal(t, tt.column, re.Column)
			}
			assert.Positive(t, re.Column)
			assert.Contains(t, err.Error(), tt.contains)
			assert.Contains(t, err.Error(), fmt.Sprintf(`"R" at %d:%d`, re.Line, re.Column))
		})
	}
}

func TestCompileAcceptsFormulas(t *testing.T) {
	for _, src := range []string{
		"(due + duration('1h') - now).Hours()",
		"customer in ['ACME', 'BOLT'] ? 0 : dueInHours",
		"{a: 1, b: priority}.b + max(opHours, 0.5) + abs(min(dueInHours, 0))",
		"hasPrefix(lower(lot), 'l') && len(trim(step)) > 1 ? 1 : 2",
		"let late = dueInHours < 0; late ? -1e9 + dueInHours : waitingHours * -1",
		"int(quantity) % 7 + round(remainingHours / remainingSteps)",
	} {
		r, err := Compile("ok", src)
		require.NoError(t, err, src)
		l := Rank(r, fiveJobs(), Request{Now: t0})
		assert.Len(t, l.Ranked, 5, src)
	}
}

func TestPlusOnUnknownTypesRefusesStrings(t *testing.T) {
	// The operand types are unknown at compile time, so + is checked when it runs.
	r, err := Compile("R", "let a = [lot, 1][0] + [lot, 1][0]; len(a)")
	require.NoError(t, err)
	l := Rank(r, fiveJobs(), Request{Now: t0})
	assert.Empty(t, l.Ranked)
	require.Len(t, l.Failed, 5)
	assert.ErrorIs(t, l.Failed[0].Err, ErrRuleFailed)
	assert.Contains(t, l.Failed[0].Err.Error(), "+ got string; ranking rules add numbers")
}

func TestNoRuleFailsEveryCandidate(t *testing.T) {
	l := Rank(nil, fiveJobs(), Request{Now: t0})
	assert.Empty(t, l.Ranked)
	require.Len(t, l.Failed, 5)
	assert.ErrorIs(t, l.Failed[0].Err, ErrInvalidRule)
	b := NewBoard(nil)
	require.NoError(t, b.Upsert(job("A", 1, 2)))
	assert.Len(t, b.List(Request{Now: t0}).Failed, 1)
}

func TestBuiltinUnknown(t *testing.T) {
	_, err := Builtin("LIFO")
	assert.ErrorIs(t, err, ErrUnknownRule)
	assert.Len(t, Builtins(), 7)
	for name := range Builtins() {
		builtin(t, name)
	}
}

func TestRuntimeFailureReportsOnlyThatCandidate(t *testing.T) {
	tests := []struct {
		name     string
		source   string
		breakJob func(*Candidate)
		sentinel error
		contains string
	}{
		{"integer division by zero", "priority % (remainingSteps - 1) + dueInHours",
			func(c *Candidate) { c.RemainingSteps = 1 }, ErrRuleFailed, "at 1:10: runtime error: integer divide by zero"},
		{"NaN score", "dueInHours / opHours",
			func(c *Candidate) { c.Due, c.OpTime = t0, 0 }, ErrRuleFailed, "the score is NaN"},
		{"memory budget on one candidate", "len(1..(priority * 1000)) + dueInHours",
			func(c *Candidate) { c.Priority = 50 }, ErrRuleBudget, "memory budget exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compile("R", tt.source)
			require.NoError(t, err)
			cs := fiveJobs()
			for i := range cs {
				cs[i].RemainingSteps = 3
			}
			tt.breakJob(&cs[2])
			l := Rank(r, cs, Request{Now: t0})
			assert.Len(t, l.Ranked, 4)
			require.Len(t, l.Failed, 1)
			assert.Equal(t, "C", l.Failed[0].Candidate.Lot)
			assert.ErrorIs(t, l.Failed[0].Err, tt.sentinel)
			assert.Contains(t, l.Failed[0].Err.Error(), tt.contains)
		})
	}
}

func TestInfiniteScoresSort(t *testing.T) {
	// A job with no remaining work has critical ratio ±Inf: late ones first, early ones last.
	cs := fiveJobs()
	cs[1].OpTime, cs[1].RemainingTime = 0, 0                                // B: 6/0 = +Inf
	cs[3].OpTime, cs[3].RemainingTime, cs[3].Due = 0, 0, t0.Add(-time.Hour) // D: -1/0 = -Inf
	l := Rank(builtin(t, "CR"), cs, Request{Now: t0})
	assert.Equal(t, []string{"D", "A", "C", "E", "B"}, lots(l))
}

// randomCandidate draws a candidate over a small key space so upserts replace each other.
func randomCandidate(rng *rand.Rand) Candidate {
	c := job(fmt.Sprintf("L-%02d", rng.IntN(40)), float64(rng.IntN(8)), float64(rng.IntN(96)-24))
	c.Step = []string{"10", "20"}[rng.IntN(2)]
	c.RemainingTime = c.OpTime + hours(float64(rng.IntN(20)))
	c.RemainingSteps = 1 + rng.IntN(4)
	c.Priority = 1 + rng.IntN(4)
	c.QueuedSince = t0.Add(-time.Duration(rng.IntN(6)) * time.Hour)
	c.SetupFamily = []string{"A", "B", "C"}[rng.IntN(3)]
	c.WorkCenters = [][]string{{"CNC"}, {"CNC", "LATHE"}, {"MILL"}}[rng.IntN(3)]
	if rng.IntN(5) == 0 {
		c.Holds = []Hold{{HoldLot, c.Lot, "MRB"}}
	}
	if rng.IntN(6) == 0 {
		c.Released = false
	}
	return c
}

type listSummary struct {
	Ranked     []string
	Scores     []float64
	Ineligible []string
	Failed     []string
}

func summarize(l List) listSummary {
	var s listSummary
	for _, e := range l.Ranked {
		s.Ranked = append(s.Ranked, e.Candidate.Key().String())
		s.Scores = append(s.Scores, e.Score)
	}
	for _, b := range l.Ineligible {
		s.Ineligible = append(s.Ineligible, fmt.Sprint(b.Candidate.Key(), b.Reasons))
	}
	for _, f := range l.Failed {
		s.Failed = append(s.Failed, fmt.Sprint(f.Candidate.Key(), f.Err))
	}
	return s
}

func TestBoardEqualsFullRerank(t *testing.T) {
	sources := map[string]string{
		"CR": builtinSource("CR"), "SETUP": builtinSource("SETUP"), "SPT": builtinSource("SPT"),
		"FIFO": builtinSource("FIFO"), "FAILS": "priority % (remainingSteps - 1) + opHours",
	}
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			r, err := Compile(name, src)
			require.NoError(t, err)
			rng := rand.New(rand.NewPCG(7, uint64(len(name))))
			b := NewBoard(r)
			model := map[Key]Candidate{}
			req := Request{WorkCenter: "CNC", Now: t0, RunningFamily: "A"}
			for step := range 600 {
				switch op := rng.IntN(10); {
				case op < 6:
					c := randomCandidate(rng)
					require.NoError(t, b.Upsert(c))
					model[c.Key()] = c
				case op < 8:
					k := Key{Lot: fmt.Sprintf("L-%02d", rng.IntN(40)), Step: "10"}
					_, had := model[k]
					assert.Equal(t, had, b.Remove(k))
					delete(model, k)
				case op < 9:
					req.Now = req.Now.Add(time.Duration(rng.IntN(3)) * time.Minute)
				default:
					req.RunningFamily = []string{"A", "B", ""}[rng.IntN(3)]
				}
				if rng.IntN(3) > 0 {
					continue // let changes pile up between lists
				}
				all := make([]Candidate, 0, len(model))
				for _, c := range model {
					all = append(all, c)
				}
				require.Equal(t, summarize(Rank(r, all, req)), summarize(b.List(req)), "step %d", step)
				require.Equal(t, len(model), b.Len())
			}
		})
	}
}

func builtinSource(name string) string {
	for _, b := range builtinSources {
		if b.name == name {
			return b.source
		}
	}
	return ""
}

func TestBoardReactsToEvents(t *testing.T) {
	b := NewBoard(builtin(t, "EDD"))
	for _, c := range fiveJobs() {
		require.NoError(t, b.Upsert(c))
	}
	req := Request{WorkCenter: "CNC", Now: t0}
	assert.Equal(t, []string{"B", "A", "D", "C", "E"}, lots(b.List(req)))

	// A hold on B: B drops out with the reason; the caller's slices are not kept.
	hold := []Hold{{HoldLot, "B", "CONTAMINATION"}}
	bj := fiveJobs()[1]
	bj.Holds = hold
	require.NoError(t, b.Upsert(bj))
	hold[0].Reason = "changed by caller"
	l := b.List(req)
	assert.Equal(t, []string{"A", "D", "C", "E"}, lots(l))
	require.Len(t, l.Ineligible, 1)
	assert.Equal(t, "lot B is on hold: CONTAMINATION", l.Ineligible[0].Reasons[0].Text)
	why, err := b.WhyNot(Key{"B", "10"}, req)
	require.NoError(t, err)
	assert.Equal(t, l.Ineligible[0].Reasons, why)

	// E is pulled in (due earlier) and A completes here.
	ej := fiveJobs()[4]
	ej.Due = t0.Add(time.Hour)
	require.NoError(t, b.Upsert(ej))
	assert.True(t, b.Remove(Key{"A", "10"}))
	assert.False(t, b.Remove(Key{"A", "10"}))
	assert.Equal(t, []string{"E", "D", "C"}, lots(b.List(req)))

	_, err = b.WhyNot(Key{"A", "10"}, req)
	assert.ErrorIs(t, err, ErrUnknownCandidate)
	err = b.Upsert(Candidate{Lot: "X"})
	assert.ErrorIs(t, err, ErrInvalidCandidate)
	assert.Equal(t, 4, b.Len())
}

func TestEnvFieldIndexes(t *testing.T) {
	want := map[string]int{
		"now": fieldNow, "lot": fieldLot, "workOrder": fieldWorkOrder, "step": fieldStep,
		"customer": fieldCustomer, "priority": fieldPriority, "due": fieldDue,
		"dueInHours": fieldDueInHours, "releasedAt": fieldReleasedAt, "queuedSince": fieldQueuedSince,
		"waitingHours": fieldWaitingHours, "opHours": fieldOpHours, "remainingHours": fieldRemainingHours,
		"remainingSteps": fieldRemainingSteps, "quantity": fieldQuantity, "unit": fieldUnit,
		"setupFamily": fieldSetupFamily, "runningFamily": fieldRunningFamily,
	}
	assert.Equal(t, want, envFields)
}

func TestSetupWithNothingRunningRanksByDueDate(t *testing.T) {
	x, y := job("X", 1, 10), job("Y", 1, 1)
	y.SetupFamily = "A" // X has no setup family, nor does anything running: no changeover to save
	l := Rank(builtin(t, "SETUP"), []Candidate{x, y}, Request{WorkCenter: "CNC", Now: t0})
	require.Equal(t, []string{"Y", "X"}, lots(l))
}
