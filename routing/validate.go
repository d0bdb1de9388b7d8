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
	index map[string]int
	next  [][]int       // successors by index (for a condition: every step it can choose); end is len(steps)
	conds []*vm.Program // branch condition per step, nil when none
	// branches are the incoming parallel branches of each join: its predecessors that the
	// first step reaches without passing the join. Quantity arriving from other
	// predecessors (a rework loop back into the join) does not wait for the branches.
	branches [][]int
	// credits lists, by step, the branches of joins further on that quantity entering the
	// step from outside the flow (started, moved back or split off there) will not pass:
	// they are credited with it, so the join does not wait for them.
	credits [][]credit
	reach   [][]bool // reach[a][b]: b can be reached from a over one or more edges
	nsteps  int
}

// credit is a join and the branches of it to credit.
type credit struct {
	join     int
	branches []int
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
	c := &compiled{index: make(map[string]int, n), next: make([][]int, n), conds: make([]*vm.Program, n), nsteps: n}
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
	c.reach = reachability(c.next)
	r.joinBranches(c)
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

// joinBranches finds the incoming branches of every join and the credits of the steps that
// lie on them.
func (r *Routing) joinBranches(c *compiled) {
	n := c.nsteps
	c.branches, c.credits = make([][]int, n), make([][]credit, n)
	for k, s := range r.Steps {
		if !s.Join {
			continue
		}
		fromFirst := reachableFrom(c.next, []int{0}, isStep(k))
		for i := range n {
			if slices.Contains(c.next[i], k) && fromFirst[i] {
				c.branches[k] = append(c.branches[k], i)
			}
		}
		for i := range n {
			if i == k || !c.reach[i][k] {
				continue
			}
			passes := reachableFrom(c.next, []int{i}, isStep(k))
			var missed []int
			for _, b := range c.branches[k] {
				if !passes[b] {
					missed = append(missed, b)
				}
			}
			if len(missed) > 0 {
				c.credits[i] = append(c.credits[i], credit{join: k, branches: missed})
			}
		}
	}
}

// checkJoinsAreParallel refuses a join two of whose branches part at a branch condition:
// quantity takes one of them, and the join would wait for the other for ever. Where two
// branches part is their nearest common dominator: the last step every path from the first
// step to either of them passes.
func (r *Routing) checkJoinsAreParallel(c *compiled) Problems {
	var ps Problems
	var dom [][]bool
	for k, branches := range c.branches {
		for x, a := range branches {
			for _, b := range branches[x+1:] {
				if dom == nil {
					dom = dominators(c.next, c.nsteps)
				}
				d := nearestCommonDominator(dom, a, b)
				if d >= 0 && r.Steps[d].Condition != "" {
					ps = append(ps, Problem{stepPath(k, r.Steps[k].ID) + ".join", "true", fmt.Sprintf(
						"its branches through %s and %s are alternatives chosen by the condition of step %s, so quantity takes one of them and the join would wait for the other for ever; join parallel branches (Then with several steps) only",
						r.Steps[a].ID, r.Steps[b].ID, r.Steps[d].ID)})
				}
			}
		}
	}
	return ps
}

// dominators returns dom[v][d]: every path from the first step to step v passes step d
// (v itself included); all false for a step the first step does not reach.
func dominators(next [][]int, n int) [][]bool {
	preds := make([][]int, n)
	for i := range n {
		for _, k := range next[i] {
			if k < n {
				preds[k] = append(preds[k], i)
			}
		}
	}
	reached := reachableFrom(next, []int{0}, nil)
	dom := make([][]bool, n)
	for v := range n {
		dom[v] = make([]bool, n)
		for d := range n {
			dom[v][d] = reached[v] && (v != 0 || d == 0)
		}
	}
	for changed := true; changed; {
		changed = false
		for v := 1; v < n; v++ {
			if !reached[v] {
				continue
			}
			for d := range n {
				if d == v || !dom[v][d] {
					continue
				}
				for _, p := range preds[v] {
					if reached[p] && !dom[p][d] {
						dom[v][d], changed = false, true
						break
					}
				}
			}
		}
	}
	return dom
}

// nearestCommonDominator returns the step nearest to a and b that dominates both, or -1.
func nearestCommonDominator(dom [][]bool, a, b int) int {
	best, depth := -1, -1
	for d := range dom {
		if !dom[a][d] || !dom[b][d] {
			continue
		}
		if n := countTrue(dom[d]); n > depth {
			best, depth = d, n
		}
	}
	return best
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// reachableFrom marks the steps (and End, index len(next)) reachable from the steps starts,
// those included, without passing a step that avoid (if not nil) reports.
func reachableFrom(next [][]int, starts []int, avoid func(step int) bool) []bool {
	seen := make([]bool, len(next)+1)
	stack := slices.Clone(starts)
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[i] || (i < len(next) && avoid != nil && avoid(i)) {
			continue
		}
		seen[i] = true
		if i < len(next) {
			stack = append(stack, next[i]...)
		}
	}
	return seen
}

// isStep returns a test for step k.
func isStep(k int) func(int) bool { return func(i int) bool { return i == k } }

// checkFlow finds joins without several incoming branches or fed by alternatives,
// unreachable steps, dead ends and loops with no exit.
func (r *Routing) checkFlow(c *compiled) Problems {
	var ps Problems
	n := c.nsteps
	for i, s := range r.Steps {
		if s.Join && len(c.branches[i]) < 2 {
			ps = append(ps, Problem{stepPath(i, s.ID) + ".join", "true", "a join needs at least two incoming branches from the first step (a loop back into it is not one)"})
		}
	}
	ps = append(ps, r.checkJoinsAreParallel(c)...)
	for i, s := range r.Steps {
		if len(s.Successors) < 2 {
			continue
		}
		for j, k := range c.next[i] {
			unjoined := reachableFrom(c.next, []int{k}, func(x int) bool { return x == i || r.Steps[x].Join })
			if unjoined[n] {
				ps = append(ps, Problem{fmt.Sprintf("%s.successors[%d]", stepPath(i, s.ID), j), s.Successors[j],
					"this branch reaches the end without a join, and a parallel split sends all of its quantity down every branch, so it would finish more than once; join the branches before the end"})
			}
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

// reachability returns the transitive closure of next: reach[i][k] when a path of one or more
// steps leads from step i to step k (or End, index len(next)).
func reachability(next [][]int) [][]bool {
	reach := make([][]bool, len(next))
	for i := range next {
		reach[i] = reachableFrom(next, next[i], nil)
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
