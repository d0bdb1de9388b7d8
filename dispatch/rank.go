package dispatch

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"
)

// List is a dispatch list: the eligible candidates ranked best first, the others with the
// reasons they cannot run, and the ones the rule failed to score.
type List struct {
	Rule       string    // name of the rule that ranked the list
	Now        time.Time // time the list is for
	Ranked     []Entry   // eligible candidates, best first
	Ineligible []Blocked // candidates that cannot run for the request, ordered by key
	Failed     []Failure // eligible candidates the rule or validation failed on, ordered by key
}

// Entry is one ranked candidate. Candidate is shared with its source (the slice given to Rank
// or the Board); do not modify it.
type Entry struct {
	Position  int     // 1-based rank
	Score     float64 // the rule's score; lower runs first
	Candidate *Candidate
	ctx       *rankContext
}

// rankContext is what an Entry needs to explain itself.
type rankContext struct {
	rule    *Rule
	now     time.Time
	running string
}

// Input is one value a rule read, named as in the rule.
type Input struct {
	Name  string
	Value any
}

// String returns "name=value".
func (in Input) String() string { return fmt.Sprintf("%s=%v", in.Name, in.Value) }

// Explain returns the values of the inputs the entry's rule used, in order of first use in
// the rule, so a planner can see why the entry scored as it did.
func (e Entry) Explain() []Input {
	if e.ctx == nil {
		return nil
	}
	var env Env
	e.ctx.rule.fill(&env, e.Candidate, e.ctx.now, e.ctx.running)
	v := reflect.ValueOf(env)
	ins := make([]Input, len(e.ctx.rule.inputs))
	for i, name := range e.ctx.rule.inputs {
		ins[i] = Input{Name: name, Value: v.Field(envFields[name]).Interface()}
	}
	return ins
}

// String returns "1. L-7@10 score 0.5 (dueInHours=4, remainingHours=8)".
func (e Entry) String() string {
	ins := e.Explain()
	parts := make([]string, len(ins))
	for i, in := range ins {
		parts[i] = in.String()
	}
	return fmt.Sprintf("%d. %s score %g (%s)", e.Position, e.Candidate.Key(), e.Score, strings.Join(parts, ", "))
}

// Blocked is a candidate that cannot run for the request and every reason why not.
type Blocked struct {
	Candidate *Candidate
	Reasons   []Reason
}

// Failure is an eligible candidate that could not be ranked: the rule failed on it (a
// *RuleError wrapping ErrRuleFailed or ErrRuleBudget, or ErrInvalidRule when no rule was
// given) or, in Rank, it is invalid (a *ValidationError).
type Failure struct {
	Candidate *Candidate
	Err       error
}

// scored is a candidate with its score, the unit that is sorted.
type scored struct {
	score float64
	c     *Candidate
}

// compareScored orders by score, then earlier queued, then lot id, then step id.
func compareScored(a, b scored) int {
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
}

func compareKeys(a, b *Candidate) int {
	if r := strings.Compare(a.Lot, b.Lot); r != 0 {
		return r
	}
	return strings.Compare(a.Step, b.Step)
}

// Rank builds the dispatch list for req from cands in one pass: it validates each candidate,
// checks eligibility, scores the eligible ones with rule and sorts them. A candidate that is
// invalid or on which the rule fails is reported in Failed; the rest are still ranked. The
// list's entries point into cands; keys (lot, step) should be unique. Use a Board to keep a
// list up to date from events instead of ranking everything again.
func Rank(rule *Rule, cands []Candidate, req Request) List {
	if rule == nil {
		rule = &Rule{} // every candidate fails with ErrInvalidRule
	}
	l := List{Rule: rule.name, Now: req.Now}
	ctx := &rankContext{rule: rule, now: req.Now, running: req.RunningFamily}
	var (
		m   vm.VM
		env Env
	)
	ok := make([]scored, 0, len(cands))
	for i := range cands {
		c := &cands[i]
		if err := c.Validate(); err != nil {
			l.Failed = append(l.Failed, Failure{Candidate: c, Err: err})
			continue
		}
		if rs := Eligible(c, &req); rs != nil {
			l.Ineligible = append(l.Ineligible, Blocked{Candidate: c, Reasons: rs})
			continue
		}
		rule.fill(&env, c, req.Now, req.RunningFamily)
		s, err := rule.score(&m, &env)
		if err != nil {
			l.Failed = append(l.Failed, Failure{Candidate: c, Err: err})
			continue
		}
		ok = append(ok, scored{score: s, c: c})
	}
	slices.SortFunc(ok, compareScored)
	l.Ranked = make([]Entry, len(ok))
	for i, s := range ok {
		l.Ranked[i] = Entry{Position: i + 1, Score: s.score, Candidate: s.c, ctx: ctx}
	}
	l.sortUnranked()
	return l
}

// sortUnranked orders Ineligible and Failed by key so that lists compare equal however they
// were built.
func (l *List) sortUnranked() {
	slices.SortFunc(l.Ineligible, func(a, b Blocked) int { return compareKeys(a.Candidate, b.Candidate) })
	slices.SortFunc(l.Failed, func(a, b Failure) int { return compareKeys(a.Candidate, b.Candidate) })
}
