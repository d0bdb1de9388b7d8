package routing

import (
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr/vm"
	"github.com/shopspring/decimal"
)

// Problem is one thing wrong with a routing definition.
type Problem struct {
	Path   string // e.g. "steps[20].successors[0]"
	Value  string // the offending value, as written
	Reason string // what is wrong and how to fix it
}

// String formats the problem as "path = \"value\": reason".
func (p Problem) String() string {
	return fmt.Sprintf("%s = %q: %s", p.Path, p.Value, p.Reason)
}

// Problems is the error Build, Parse and Validate return: every problem found, not only the
// first. errors.Is(err, ErrInvalid) holds for it.
type Problems []Problem

// Error lists every problem on one line.
func (ps Problems) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d problem(s)", ErrInvalid, len(ps))
	for _, p := range ps {
		b.WriteString("; ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (ps Problems) Unwrap() error { return ErrInvalid }

// compiled is the checked, indexed form of a routing used by the execution moves.
type compiled struct {
	index  map[string]int
	next   [][]int       // successors by index (for a condition: every step it can choose); end is len(steps)
	conds  []*vm.Program // branch condition per step, nil when none
	preds  [][]int       // flow predecessors (for joins)
	reach  [][]bool      // reach[a][b]: b can be reached from a over one or more edges
	nsteps int
}

// Validate checks the routing and, when it is valid, compiles its conditions and flow for
// execution. It returns Problems listing everything wrong.
func (r *Routing) Validate() error {
	r.c = nil
	var ps Problems
	add := func(path, value, reason string) { ps = append(ps, Problem{path, value, reason}) }
	for _, f := range []struct{ name, v string }{{"id", r.ID}, {"product", r.Product}, {"revision", r.Revision}} {
		if f.v == "" {
			add(f.name, "", "must not be empty")
		}
	}
	switch r.Status {
	case Draft, Released, Obsolete:
	default:
		add("status", string(r.Status), `must be "draft", "released" or "obsolete"`)
	}
	if r.Status != Draft && r.Digest != r.digest() {
		add("digest", r.Digest, "a released routing must not change; make a new draft with NewRevision")
	}
	if len(r.Steps) == 0 {
		add("steps", "", "a routing needs at least one step")
		return ps
	}

	n := len(r.Steps)
	c := &compiled{index: make(map[string]int, n), next: make([][]int, n), conds: make([]*vm.Program, n), preds: make([][]int, n), nsteps: n}
	for i, s := range r.Steps {
		p := stepPath(i, s.ID)
		switch _, dup := c.index[s.ID]; {
		case s.ID == "":
			add(p+".id", "", "must not be empty")
		case s.ID == End:
			add(p+".id", s.ID, fmt.Sprintf("%q is reserved for the end of the routing", End))
		case dup:
			add(p+".id", s.ID, "duplicate step id; every step needs its own id")
		default:
			c.index[s.ID] = i
		}
	}
	for i, s := range r.Steps {
		validateStep(add, stepPath(i, s.ID), s)
	}
	for i, s := range r.Steps {
		p := stepPath(i, s.ID)
		var targets []string
		switch {
		case s.Condition != "" && len(s.Successors) > 0:
			add(p+".condition", s.Condition, "a step has either successors or a condition, not both")
		case s.Condition != "":
			prog, ts, err := compileCondition(s.Condition)
			if err != nil {
				add(p+".condition", s.Condition, "does not compile: "+err.Error())
				continue
			}
			c.conds[i], targets = prog, ts
		case len(s.Successors) > 0:
			targets = s.Successors
			seen := map[string]bool{}
			for j, t := range targets {
				if seen[t] {
					add(fmt.Sprintf("%s.successors[%d]", p, j), t, "listed twice")
				}
				seen[t] = true
			}
		case i+1 < n && r.Steps[i+1].ReworkEntry && !s.ReworkEntry:
			add(p+".next", r.Steps[i+1].ID, fmt.Sprintf("the main line would fall through into rework entry %s; end it with Then(%q) or name its successor", r.Steps[i+1].ID, End))
			continue
		case i+1 < n:
			targets = []string{r.Steps[i+1].ID}
		default:
			targets = []string{End}
		}
		for j, t := range targets {
			k, ok := c.index[t]
			switch {
			case t == End:
				k = n
			case !ok:
				add(fmt.Sprintf("%s.next[%d]", p, j), t, "no step has this id; use a step id of this routing or "+End)
				continue
			case k == i:
				add(fmt.Sprintf("%s.next[%d]", p, j), t, "a step cannot follow itself; track out partial quantities instead")
				continue
			}
			if !slices.Contains(c.next[i], k) {
				c.next[i] = append(c.next[i], k)
			}
		}
	}
	if len(ps) > 0 {
		return ps
	}
	for i := range c.next {
		for _, k := range c.next[i] {
			if k < n {
				c.preds[k] = append(c.preds[k], i)
			}
		}
	}
	c.reach = reachability(c.next, n)
	ps = append(ps, r.checkFlow(c)...)
	if len(ps) > 0 {
		return ps
	}
	r.c = c
	return nil
}

func validateStep(add func(path, value, reason string), p string, s Step) {
	if s.Setup < 0 {
		add(p+".setup", s.Setup.String(), "must not be negative")
	}
	if s.RunPerUnit < 0 {
		add(p+".run_per_unit", s.RunPerUnit.String(), "must not be negative")
	}
	if len(s.Alternates) > 0 && s.WorkCenter == "" {
		add(p+".alternates", strings.Join(s.Alternates, ","), "alternate work centers need a primary work center")
	}
	for j, a := range s.Alternates {
		if a == "" || a == s.WorkCenter || slices.Contains(s.Alternates[:j], a) {
			add(fmt.Sprintf("%s.alternates[%d]", p, j), a, "must be a non-empty work center different from the primary and the other alternates")
		}
	}
	for j, m := range s.Materials {
		mp := fmt.Sprintf("%s.materials[%d]", p, j)
		if m.Component == "" {
			add(mp+".component", "", "must not be empty")
		}
		if !m.PerUnit.IsPositive() {
			add(mp+".per_unit", m.PerUnit.String(), `must be a positive quantity such as "1 ea"`)
		}
	}
	if s.TransferQty.IsNegative() {
		add(p+".transfer_qty", s.TransferQty.String(), "must be zero (transfer when complete) or positive (batch size)")
	}
	one5 := decimal.RequireFromString("1.5")
	if !s.ExpectedYield.IsZero() && (!s.ExpectedYield.IsPositive() || s.ExpectedYield.GreaterThan(one5)) {
		add(p+".expected_yield", s.ExpectedYield.String(), "must be in (0, 1.5], e.g. 0.98; zero means no yield check")
	}
	if s.YieldTolerance.IsNegative() || (s.ExpectedYield.IsZero() && !s.YieldTolerance.IsZero()) {
		add(p+".yield_tolerance", s.YieldTolerance.String(), "must be zero or positive, and needs an expected yield")
	}
}

// checkFlow finds joins without several inputs, unreachable steps, dead ends and loops with
// no exit.
func (r *Routing) checkFlow(c *compiled) Problems {
	var ps Problems
	n := c.nsteps
	for i, s := range r.Steps {
		if s.Join && len(c.preds[i]) < 2 {
			ps = append(ps, Problem{stepPath(i, s.ID) + ".join", "true", "a join needs at least two incoming steps"})
		}
	}
	reachable := make([]bool, n+1)
	for i, s := range r.Steps {
		if i == 0 || s.ReworkEntry {
			reachable[i] = true
			for k, ok := range c.reach[i] {
				reachable[k] = reachable[k] || ok
			}
		}
	}
	for i, s := range r.Steps {
		p := stepPath(i, s.ID)
		switch {
		case !reachable[i]:
			ps = append(ps, Problem{p, s.ID, "unreachable: no flow leads here from the first step or a rework entry; add it as a successor or mark it as a rework entry"})
		case !c.reach[i][n] && c.reach[i][i]:
			ps = append(ps, Problem{p, s.ID, "loop with no exit: every path from this step comes back to it and none reaches the end"})
		case !c.reach[i][n]:
			ps = append(ps, Problem{p, s.ID, "dead end: no path from this step reaches the end"})
		}
	}
	return ps
}

// reachability returns the transitive closure of next over n steps plus the end (index n).
func reachability(next [][]int, n int) [][]bool {
	reach := make([][]bool, n)
	for i := range n {
		reach[i] = make([]bool, n+1)
		stack := append([]int(nil), next[i]...)
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if reach[i][k] {
				continue
			}
			reach[i][k] = true
			if k < n {
				stack = append(stack, next[k]...)
			}
		}
	}
	return reach
}

// stepPath names a step in a Problem path: by id, or by position when the id is empty.
func stepPath(i int, id string) string {
	if id == "" {
		return fmt.Sprintf("steps[#%d]", i+1)
	}
	return fmt.Sprintf("steps[%s]", id)
}
