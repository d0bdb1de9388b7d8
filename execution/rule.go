package execution

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Bounds on exception rules. Exception rules are short conditions; these leave ample room
// for them while keeping an untrusted rule from exhausting memory or time.
const (
	// MaxRuleLength is the longest expression accepted (when, cause or clear), in bytes.
	MaxRuleLength = 4096
	// MaxRuleNodes is the largest expression accepted, in expr syntax-tree nodes.
	MaxRuleNodes = 500
	// RuleMemoryBudget bounds what one evaluation may build, in expr's memory units.
	RuleMemoryBudget = 10_000
	// MaxCauseLength is the longest cause key a rule may produce, in bytes.
	MaxCauseLength = 512
)

// TickEvent is the Event.Type of a situation the engine evaluates because time passed (a
// lot still waiting, a hold getting older, a work order's projection), not because an event
// arrived.
const TickEvent = "tick"

// Env is what an exception rule sees: the event that arrived and the current-state facts the
// engine looked up for it. Names in rules are the expr tags (event.type, lot.waitingMinutes,
// order.lateHours, ...). Facts that do not apply to a situation are zero values: "" , false,
// 0 and the zero time. Durations are in minutes or hours as float64 so that conditions stay
// readable; quantities are numbers in their Unit, for conditions only.
type Env struct {
	Now   time.Time  `expr:"now"`   // when the engine evaluates (facts are as of now)
	Event EventFacts `expr:"event"` // the event that arrived, or a TickEvent
	// Equipment is the equipment the situation involves: the lot's work center, the
	// equipment of an SPC chart or of a hold. Tasks link to it.
	Equipment string        `expr:"equipment"`
	Lot       LotFacts      `expr:"lot"`
	Order     OrderFacts    `expr:"order"`
	Material  MaterialFacts `expr:"material"`
	SPC       SPCFacts      `expr:"spc"`
	Hold      HoldFacts     `expr:"hold"`
	Scrap     ScrapFacts    `expr:"scrap"`
}

// EventFacts describe the event that arrived.
type EventFacts struct {
	Type    string    `expr:"type"`    // e.g. "lot.tracked_in", or TickEvent
	Subject string    `expr:"subject"` // id of the object the event is about
	Site    string    `expr:"site"`
	Time    time.Time `expr:"time"`
	// Fields is the event's data flattened to strings: nested names are joined with dots
	// ("Hold.Reason"), quantities are written as "2 ea", lists by index ("Scrap.0.Reason").
	// The engine fills it only for rules that read it (see RuleSet.ReadsEventFields).
	Fields map[string]string `expr:"fields"`
}

// LotFacts describe the lot the situation is about, at one step of its routing.
type LotFacts struct {
	ID         string `expr:"id"`
	Step       string `expr:"step"`
	WorkCenter string `expr:"workCenter"` // the step's work center
	Material   string `expr:"material"`
	// Queued is true while quantity of the lot waits at Step (arrived, not tracked in).
	Queued bool `expr:"queued"`
	// WaitingMinutes is how long the lot has been waiting at Step (0 when not queued).
	WaitingMinutes float64 `expr:"waitingMinutes"`
	Quantity       float64 `expr:"quantity"` // quantity waiting at Step, in Unit
	Unit           string  `expr:"unit"`
}

// OrderFacts describe the work order the situation is about.
type OrderFacts struct {
	ID       string    `expr:"id"`
	Number   string    `expr:"number"`
	Product  string    `expr:"product"`
	Customer string    `expr:"customer"`
	Status   string    `expr:"status"`
	Priority int       `expr:"priority"` // 1 is the most urgent
	Due      time.Time `expr:"due"`
	// Open is true while the order is released or running.
	Open bool `expr:"open"`
	// Projected is the projected completion (see Project); zero when not projected.
	Projected time.Time `expr:"projected"`
	// LateHours is Projected minus Due in hours: positive when the order will be late,
	// negative when early, 0 without a due date or a projection.
	LateHours float64 `expr:"lateHours"`
}

// MaterialFacts describe the components of the lot's queued operation.
type MaterialFacts struct {
	// Short is true when a component the operation consumes is not available in the
	// quantity it needs (available, unheld lots of the site).
	Short     bool    `expr:"short"`
	Component string  `expr:"component"` // the first short component
	ShortQty  float64 `expr:"shortQty"`  // how much of it is missing, in Unit
	Unit      string  `expr:"unit"`
}

// SPCFacts describe an SPC violation event (a point breaking a control chart's run rules).
type SPCFacts struct {
	Violation      bool    `expr:"violation"`
	Characteristic string  `expr:"characteristic"`
	Rule           string  `expr:"rule"` // the first run rule broken
	Equipment      string  `expr:"equipment"`
	Value          float64 `expr:"value"`
}

// HoldFacts describe a hold the situation is about.
type HoldFacts struct {
	ID       string  `expr:"id"`
	Active   bool    `expr:"active"`
	Kind     string  `expr:"kind"`   // lot, workorder, equipment or material
	Target   string  `expr:"target"` // the held object's id
	Reason   string  `expr:"reason"`
	AgeHours float64 `expr:"ageHours"` // hours since the hold was placed
}

// ScrapFacts describe scrap at a routing step of a product.
type ScrapFacts struct {
	Product string  `expr:"product"`
	Step    string  `expr:"step"`
	Reason  string  `expr:"reason"` // reason of the scrap that arrived ("" on a tick)
	Qty     float64 `expr:"qty"`    // quantity of the scrap that arrived
	// LastHour is the quantity scrapped at Step of Product in the hour up to now.
	LastHour float64 `expr:"lastHour"`
	Unit     string  `expr:"unit"`
}

// Severity is how serious an exception is.
type Severity string

// Severities, from the least to the most serious.
const (
	Low      Severity = "low"
	Medium   Severity = "medium"
	High     Severity = "high"
	Critical Severity = "critical"
)

// EscalationStep is one step of an escalation path: a task that its current owner has not
// acknowledged within After moves to Role.
type EscalationStep struct {
	Role  string        `json:"role"`
	After time.Duration `json:"after"`
}

// RuleSpec is an exception rule as a plant engineer writes it.
type RuleSpec struct {
	// Name identifies the rule in its site (letters, digits, '-', '_', '.'; at most 64).
	Name string `json:"name"`
	// Title is the text a task opened by the rule shows.
	Title string `json:"title"`
	// When is a boolean expr condition over Env: true fires the rule.
	When string `json:"when"`
	// Cause is a string expr over Env naming what makes two firings "the same cause", for
	// example lot.id + "@" + lot.step. A firing whose cause matches an open task of the rule
	// updates it instead of opening another. Empty means event.subject. A situation whose
	// cause is "" neither fires nor clears. Build the cause from identifiers that are also
	// present in the situations that clear it.
	Cause string `json:"cause,omitempty"`
	// Clear is a boolean expr over Env saying that the cause of an open task has cleared
	// (the hold released, the material arrived); it is evaluated for situations with the
	// same cause and the task then resolves itself. Empty: the task never resolves itself.
	Clear string `json:"clear,omitempty"`
	// Severity of the exception; empty means Medium.
	Severity Severity `json:"severity,omitempty"`
	// Owner is the role a new task is assigned to.
	Owner string `json:"owner"`
	// Inputs are the inputs a person must give to resolve the task, e.g. "reason",
	// "disposition".
	Inputs []string `json:"inputs,omitempty"`
	// ResolveWithin sets a new task's due time (0: no due time). An acknowledged task not
	// resolved by its due time escalates.
	ResolveWithin time.Duration `json:"resolve_within,omitempty"`
	// Escalation is the path of an unattended task, in order.
	Escalation []EscalationStep `json:"escalation,omitempty"`
}

// Rule is a compiled exception rule. It is immutable and safe to share between goroutines.
type Rule struct {
	spec               RuleSpec
	when, cause, clear *vm.Program
	// types restricts the event types When can be true for (nil: any), found at compile
	// time from a condition of the form event.type == "..." && ...
	types []string
	// Go forms of the expressions, for those simple enough (see guard and concatenation).
	// guards are the leading terms of When (a && b && ...) that are simple: When is false
	// without running it when one is false, as its && would short-circuit there; when every
	// term is simple (native), When is true when they all are, without running it either.
	guards    []func(*Env) bool
	native    bool
	causeText func(*Env) string // Cause, or nil
	clearTest func(*Env) bool   // Clear, or nil
	// fields is true when an expression may read event.fields.
	fields bool
}

// Spec returns the rule as written.
func (r *Rule) Spec() RuleSpec {
	s := r.spec
	s.Inputs, s.Escalation = slices.Clone(s.Inputs), slices.Clone(s.Escalation)
	return s
}

// Name returns the rule's name.
func (r *Rule) Name() string { return r.spec.Name }

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Compile checks and compiles an exception rule: its expressions against Env (When and
// Clear return booleans, Cause a string), bounded by MaxRuleLength, MaxRuleNodes and
// RuleMemoryBudget, and its other fields. Every problem is reported in one *RuleError,
// with the line and column of each expression problem.
//
// Rules are conditions over the facts of Env: arithmetic, comparisons, &&, ||, !, the
// operators in, contains, startsWith, endsWith and matches, conditionals (?: and ??),
// indexing, + on strings (to build a cause), the methods of time.Time and time.Duration and
// the built-ins abs, ceil, floor, round, int, float, max, min, len, lower, upper, trim,
// hasPrefix, hasSuffix, string and duration. Loops (all, any, filter, map, ...), ranges
// (..) and variables (let) are rejected, so that every rule runs in time and memory bounded
// by its size.
func Compile(spec RuleSpec) (*Rule, error) {
	re := &RuleError{Rule: spec.Name}
	if !namePattern.MatchString(spec.Name) {
		re.add(Problem{Field: "name", Value: spec.Name, Reason: "use 1 to 64 letters, digits, '-', '_' or '.'"}, ErrInvalidRule)
	}
	if spec.Severity == "" {
		spec.Severity = Medium
	}
	if !slices.Contains([]Severity{Low, Medium, High, Critical}, spec.Severity) {
		re.add(Problem{Field: "severity", Value: string(spec.Severity), Reason: "use low, medium, high or critical"}, ErrInvalidRule)
	}
	if strings.TrimSpace(spec.Owner) == "" {
		re.add(Problem{Field: "owner", Reason: "is required: the role a new task goes to"}, ErrInvalidRule)
	}
	for i, in := range spec.Inputs {
		if !namePattern.MatchString(in) || slices.Index(spec.Inputs, in) != i {
			re.add(Problem{Field: fmt.Sprintf("inputs[%d]", i), Value: in, Reason: "input names are unique and use 1 to 64 letters, digits, '-', '_' or '.'"}, ErrInvalidRule)
		}
	}
	if spec.ResolveWithin < 0 {
		re.add(Problem{Field: "resolve_within", Value: spec.ResolveWithin.String(), Reason: "must not be negative (0: no due time)"}, ErrInvalidRule)
	}
	for i, s := range spec.Escalation {
		if strings.TrimSpace(s.Role) == "" {
			re.add(Problem{Field: fmt.Sprintf("escalation[%d].role", i), Reason: "is required"}, ErrInvalidRule)
		}
		if s.After <= 0 {
			re.add(Problem{Field: fmt.Sprintf("escalation[%d].after", i), Value: s.After.String(), Reason: "must be positive"}, ErrInvalidRule)
		}
	}
	r := &Rule{spec: spec}
	r.when = compileExpr(re, "when", spec.When, true, expr.AsBool())
	if spec.Cause != "" {
		r.cause = compileExpr(re, "cause", spec.Cause, true, expr.AsKind(reflect.String))
	}
	if spec.Clear != "" {
		r.clear = compileExpr(re, "clear", spec.Clear, true, expr.AsBool())
	}
	if len(re.Problems) > 0 {
		return nil, re
	}
	if types, ok := eventTypes(r.when.Node()); ok {
		r.types = types
	}
	r.guards, r.native = guards(r.when.Node())
	if r.cause != nil {
		r.causeText = concatenation(r.cause.Node())
	}
	if r.clear != nil {
		if gs, all := guards(r.clear.Node()); all {
			r.clearTest = func(e *Env) bool { return holds(gs, e) }
		}
	}
	for _, p := range []*vm.Program{r.when, r.cause, r.clear} {
		if p != nil {
			r.fields = r.fields || readsFields(p.Node())
		}
	}
	// An expression that blows the memory budget on an ordinary situation would fail every
	// time: reject it now. Other run-time errors depend on the facts and are reported when
	// evaluating.
	var m vm.VM
	env := sampleEnv()
	for _, c := range []struct {
		field string
		p     *vm.Program
	}{{"when", r.when}, {"cause", r.cause}, {"clear", r.clear}} {
		if c.p == nil {
			continue
		}
		if _, err := run(&m, r.spec.Name, c.field, c.p, env); errors.Is(err, ErrRuleBudget) {
			var ee *EvalError
			errors.As(err, &ee)
			re.add(Problem{Field: c.field, Line: ee.Line, Column: ee.Column, Reason: ee.Message}, ErrRuleBudget)
		}
	}
	if len(re.Problems) > 0 {
		return nil, re
	}
	return r, nil
}

// ruleBuiltins are the expr built-ins a rule may call: scalar functions whose cost and
// result size are bounded by their arguments.
var ruleBuiltins = []string{"abs", "ceil", "floor", "round", "int", "float", "max", "min", "len",
	"lower", "upper", "trim", "hasPrefix", "hasSuffix", "string", "duration"}

func compileExpr(re *RuleError, field, source string, required bool, as expr.Option) *vm.Program {
	if strings.TrimSpace(source) == "" {
		if required {
			re.add(Problem{Field: field, Line: 1, Column: 1, Reason: "is required: a boolean condition over the event and facts, e.g. lot.waitingMinutes > 30"}, ErrInvalidRule)
		}
		return nil
	}
	if len(source) > MaxRuleLength {
		re.add(Problem{Field: field, Line: 1, Column: 1, Reason: fmt.Sprintf("is %d bytes long; shorten it to at most %d", len(source), MaxRuleLength)}, ErrRuleBudget)
		return nil
	}
	opts := []expr.Option{expr.Env(Env{}), as, expr.MaxNodes(MaxRuleNodes), expr.DisableAllBuiltins()}
	for _, b := range ruleBuiltins {
		opts = append(opts, expr.EnableBuiltin(b))
	}
	program, err := expr.Compile(source, opts...)
	if err != nil {
		p, sentinel := exprProblem(field, err)
		re.add(p, sentinel)
		return nil
	}
	node := program.Node()
	v := &boundsChecker{}
	ast.Walk(&node, v)
	if v.bad != nil {
		p, _ := exprProblem(field, v.bad.Bind(program.Source()))
		re.add(p, ErrInvalidRule)
		return nil
	}
	return program
}

// exprProblem turns an expr error into a positioned Problem and its sentinel.
func exprProblem(field string, err error) (Problem, error) {
	p := Problem{Field: field, Line: 1, Column: 1, Reason: err.Error()}
	var fe *file.Error
	if errors.As(err, &fe) {
		p.Reason = fe.Message
		if fe.Line > 0 {
			p.Line, p.Column = fe.Line, fe.Column+1 // expr columns are 0-based
		}
	}
	sentinel := ErrInvalidRule
	switch msg := p.Reason; {
	case strings.Contains(msg, "exceeds maximum allowed nodes"):
		sentinel = ErrRuleBudget
		p.Reason += fmt.Sprintf("; simplify it to at most %d nodes", MaxRuleNodes)
	case strings.Contains(msg, "unknown name"):
		p.Reason += "; the names are now, event, equipment, lot, order, material, spc, hold and scrap (see execution.Env)"
	case strings.Contains(msg, "has no field"):
		for _, t := range factTypes {
			if strings.Contains(msg, "type "+t.String()+" ") {
				p.Reason += "; its names are " + strings.Join(exprNames(t), ", ")
			}
		}
	case strings.Contains(msg, "expected bool"):
		p.Reason += "; a condition returns true or false"
	case strings.Contains(msg, "expected string"):
		p.Reason += "; a cause is a string, e.g. lot.id + \"@\" + lot.step"
	}
	return p, sentinel
}

var factTypes = []reflect.Type{reflect.TypeFor[EventFacts](), reflect.TypeFor[LotFacts](), reflect.TypeFor[OrderFacts](),
	reflect.TypeFor[MaterialFacts](), reflect.TypeFor[SPCFacts](), reflect.TypeFor[HoldFacts](), reflect.TypeFor[ScrapFacts]()}

// exprNames returns the names a rule uses for the fields of t.
func exprNames(t reflect.Type) []string {
	names := make([]string, t.NumField())
	for i := range t.NumField() {
		names[i] = t.Field(i).Tag.Get("expr")
	}
	return names
}

// boundsChecker finds the first construct that could make a rule's cost unbounded.
type boundsChecker struct{ bad *file.Error }

// Visit implements ast.Visitor.
func (v *boundsChecker) Visit(node *ast.Node) {
	reject := func(n ast.Node, msg string) {
		if v.bad == nil {
			v.bad = &file.Error{Location: n.Location(), Message: msg}
		}
	}
	switch n := (*node).(type) {
	case *ast.PredicateNode:
		reject(n, "loops (all, any, none, one, filter, map, count, sum, find, reduce, ...) are not available in exception rules; write the condition over the facts")
	case *ast.VariableDeclaratorNode:
		reject(n, "variables (let) are not available in exception rules")
	case *ast.BinaryNode:
		if n.Operator == ".." {
			reject(n, "ranges (..) are not available in exception rules")
		}
	}
}

// eventTypes returns the event types a condition can be true for, when it says so at its
// top level: event.type == "a", or conjunctions and disjunctions of such tests.
func eventTypes(n ast.Node) ([]string, bool) {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return nil, false
	}
	switch b.Operator {
	case "&&", "and":
		l, lok := eventTypes(b.Left)
		r, rok := eventTypes(b.Right)
		switch {
		case lok && rok:
			var both []string
			for _, t := range l {
				if slices.Contains(r, t) {
					both = append(both, t)
				}
			}
			return both, true
		case lok:
			return l, true
		case rok:
			return r, true
		}
	case "||", "or":
		l, lok := eventTypes(b.Left)
		r, rok := eventTypes(b.Right)
		if lok && rok {
			return append(slices.Clone(l), r...), true
		}
	case "==":
		if s, ok := eventTypeTest(b.Left, b.Right); ok {
			return []string{s}, true
		}
		if s, ok := eventTypeTest(b.Right, b.Left); ok {
			return []string{s}, true
		}
	}
	return nil, false
}

// guards returns the leading simple terms of a condition a && b && ... as Go tests (see
// guard), and whether every term is simple.
func guards(n ast.Node) ([]func(*Env) bool, bool) {
	terms := conjuncts(n)
	var gs []func(*Env) bool
	for _, term := range terms {
		g := guard(term)
		if g == nil {
			break
		}
		gs = append(gs, g)
	}
	return gs, len(gs) == len(terms)
}

// holds reports whether every test holds for env.
func holds(tests []func(*Env) bool, env *Env) bool {
	for _, t := range tests {
		if !t(env) {
			return false
		}
	}
	return true
}

// conjuncts returns the terms of a condition a && b && ..., in the order they run.
func conjuncts(n ast.Node) []ast.Node {
	if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and") {
		return append(conjuncts(b.Left), conjuncts(b.Right)...)
	}
	return []ast.Node{n}
}

// boolFacts read the boolean facts of Env, by their names in rules.
var boolFacts = map[string]func(*Env) bool{
	"lot.queued":     func(e *Env) bool { return e.Lot.Queued },
	"order.open":     func(e *Env) bool { return e.Order.Open },
	"material.short": func(e *Env) bool { return e.Material.Short },
	"spc.violation":  func(e *Env) bool { return e.SPC.Violation },
	"hold.active":    func(e *Env) bool { return e.Hold.Active },
}

// numberFacts read the numeric facts of Env as float64, as expr compares numbers of mixed
// kinds, by their names in rules.
var numberFacts = map[string]func(*Env) float64{
	"lot.waitingMinutes": func(e *Env) float64 { return e.Lot.WaitingMinutes },
	"lot.quantity":       func(e *Env) float64 { return e.Lot.Quantity },
	"order.priority":     func(e *Env) float64 { return float64(e.Order.Priority) },
	"order.lateHours":    func(e *Env) float64 { return e.Order.LateHours },
	"material.shortQty":  func(e *Env) float64 { return e.Material.ShortQty },
	"spc.value":          func(e *Env) float64 { return e.SPC.Value },
	"hold.ageHours":      func(e *Env) float64 { return e.Hold.AgeHours },
	"scrap.qty":          func(e *Env) float64 { return e.Scrap.Qty },
	"scrap.lastHour":     func(e *Env) float64 { return e.Scrap.LastHour },
}

// stringFacts read the string facts of Env (other than event.fields), by their names in
// rules.
var stringFacts = map[string]func(*Env) string{
	"equipment":          func(e *Env) string { return e.Equipment },
	"event.type":         func(e *Env) string { return e.Event.Type },
	"event.subject":      func(e *Env) string { return e.Event.Subject },
	"event.site":         func(e *Env) string { return e.Event.Site },
	"lot.id":             func(e *Env) string { return e.Lot.ID },
	"lot.step":           func(e *Env) string { return e.Lot.Step },
	"lot.workCenter":     func(e *Env) string { return e.Lot.WorkCenter },
	"lot.material":       func(e *Env) string { return e.Lot.Material },
	"lot.unit":           func(e *Env) string { return e.Lot.Unit },
	"order.id":           func(e *Env) string { return e.Order.ID },
	"order.number":       func(e *Env) string { return e.Order.Number },
	"order.product":      func(e *Env) string { return e.Order.Product },
	"order.customer":     func(e *Env) string { return e.Order.Customer },
	"order.status":       func(e *Env) string { return e.Order.Status },
	"material.component": func(e *Env) string { return e.Material.Component },
	"material.unit":      func(e *Env) string { return e.Material.Unit },
	"spc.characteristic": func(e *Env) string { return e.SPC.Characteristic },
	"spc.rule":           func(e *Env) string { return e.SPC.Rule },
	"spc.equipment":      func(e *Env) string { return e.SPC.Equipment },
	"hold.id":            func(e *Env) string { return e.Hold.ID },
	"hold.kind":          func(e *Env) string { return e.Hold.Kind },
	"hold.target":        func(e *Env) string { return e.Hold.Target },
	"hold.reason":        func(e *Env) string { return e.Hold.Reason },
	"scrap.product":      func(e *Env) string { return e.Scrap.Product },
	"scrap.step":         func(e *Env) string { return e.Scrap.Step },
	"scrap.reason":       func(e *Env) string { return e.Scrap.Reason },
	"scrap.unit":         func(e *Env) string { return e.Scrap.Unit },
}

// concatenation returns a string expression as Go when it joins string facts and string
// literals with +, as causes usually do (lot.id + "@" + lot.step); nil otherwise.
func concatenation(n ast.Node) func(*Env) string {
	var parts []func(*Env) string
	var add func(n ast.Node) bool
	add = func(n ast.Node) bool {
		switch t := n.(type) {
		case *ast.StringNode:
			parts = append(parts, func(*Env) string { return t.Value })
			return true
		case *ast.MemberNode, *ast.IdentifierNode:
			name, _ := factName(t)
			f := stringFacts[name]
			parts = append(parts, f)
			return f != nil
		case *ast.BinaryNode:
			return t.Operator == "+" && add(t.Left) && add(t.Right)
		}
		return false
	}
	if !add(n) {
		return nil
	}
	return func(e *Env) string {
		var buf [8]string
		vals := buf[:0]
		for _, p := range parts {
			vals = append(vals, p(e))
		}
		return strings.Join(vals, "")
	}
}

// factName returns "x.y" for a member node x.y of the environment, and "x" for a name.
func factName(n ast.Node) (string, bool) {
	if id, ok := n.(*ast.IdentifierNode); ok {
		return id.Value, true
	}
	m, ok := n.(*ast.MemberNode)
	if !ok {
		return "", false
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	prop, pok := m.Property.(*ast.StringNode)
	if !ok || !pok {
		return "", false
	}
	return id.Value + "." + prop.Value, true
}

// number returns the value of a number literal; integers only strictly within ±2^53, so that
// comparing an integer fact with it as float64 decides as expr's exact comparison does
// (a fact beyond 2^53 rounds, but never onto or across such a literal).
func number(n ast.Node) (float64, bool) {
	switch l := n.(type) {
	case *ast.IntegerNode:
		return float64(l.Value), l.Value > -1<<53 && l.Value < 1<<53
	case *ast.FloatNode:
		return l.Value, true
	}
	return 0, false
}

// guard returns a term of a condition as a Go test when it is simple: a boolean fact, its
// negation, event.type == "...", or a numeric fact compared with a number literal. It
// returns nil for any other term.
func guard(n ast.Node) func(*Env) bool {
	switch t := n.(type) {
	case *ast.MemberNode:
		name, _ := factName(t)
		if g := boolFacts[name]; g != nil {
			return g
		}
	case *ast.UnaryNode:
		if t.Operator == "!" || t.Operator == "not" {
			if g := guard(t.Node); g != nil {
				return func(e *Env) bool { return !g(e) }
			}
		}
	case *ast.BinaryNode:
		if types, ok := eventTypes(t); ok && t.Operator == "==" {
			return func(e *Env) bool { return e.Event.Type == types[0] }
		}
		op := t.Operator
		name, ok := factName(t.Left)
		lit, lok := number(t.Right)
		if !ok || !lok { // literal first: swap the operands
			name, ok = factName(t.Right)
			lit, lok = number(t.Left)
			op = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}[op]
		}
		fact := numberFacts[name]
		if !ok || !lok || fact == nil {
			return nil
		}
		switch op {
		case "<":
			return func(e *Env) bool { return fact(e) < lit }
		case "<=":
			return func(e *Env) bool { return fact(e) <= lit }
		case ">":
			return func(e *Env) bool { return fact(e) > lit }
		case ">=":
			return func(e *Env) bool { return fact(e) >= lit }
		case "==":
			return func(e *Env) bool { return fact(e) == lit }
		case "!=":
			return func(e *Env) bool { return fact(e) != lit }
		}
	}
	return nil
}

// readsFields reports whether an expression may read event.fields: it names event.fields,
// or uses event (or the whole environment) other than through a constant member.
func readsFields(n ast.Node) bool {
	v := &fieldsReader{}
	ast.Walk(&n, v)
	return v.events > v.members || v.env
}

// fieldsReader counts the uses of event, and those that read a constant member other than
// fields.
type fieldsReader struct {
	events, members int
	env             bool
}

// Visit implements ast.Visitor.
func (v *fieldsReader) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		v.events += boolInt(n.Value == "event")
		v.env = v.env || n.Value == "$env"
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		prop, pok := n.Property.(*ast.StringNode)
		v.members += boolInt(ok && pok && id.Value == "event" && prop.Value != "fields")
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func eventTypeTest(member, literal ast.Node) (string, bool) {
	m, ok := member.(*ast.MemberNode)
	if !ok {
		return "", false
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	prop, pok := m.Property.(*ast.StringNode)
	s, sok := literal.(*ast.StringNode)
	if !ok || !pok || !sok || id.Value != "event" || prop.Value != "type" {
		return "", false
	}
	return s.Value, true
}

// run evaluates one expression of a rule on a reused VM within RuleMemoryBudget.
func run(m *vm.VM, rule, field string, p *vm.Program, env *Env) (any, error) {
	m.MemoryBudget = RuleMemoryBudget
	out, err := m.Run(p, env)
	if err != nil {
		prob, _ := exprProblem(field, err)
		sentinel := ErrRuleFailed
		if strings.Contains(err.Error(), "memory budget exceeded") {
			sentinel = ErrRuleBudget
		}
		return nil, &EvalError{Rule: rule, Field: field, Line: prob.Line, Column: prob.Column, Message: prob.Reason, Err: sentinel}
	}
	return out, nil
}

// sampleEnv is an ordinary situation for the save-time budget check.
func sampleEnv() *Env {
	now := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	return &Env{
		Now:       now,
		Event:     EventFacts{Type: "lot.tracked_in", Subject: "L-1", Site: "S", Time: now, Fields: map[string]string{"Lot": "L-1", "Step": "10"}},
		Equipment: "CNC",
		Lot:       LotFacts{ID: "L-1", Step: "10", WorkCenter: "CNC", Material: "P", Queued: true, WaitingMinutes: 45, Quantity: 10, Unit: "ea"},
		Order:     OrderFacts{ID: "WO-1", Number: "4711", Product: "P", Status: "running", Priority: 5, Due: now.Add(48 * time.Hour), Open: true, Projected: now.Add(50 * time.Hour), LateHours: 2},
		Material:  MaterialFacts{Short: true, Component: "C", ShortQty: 2, Unit: "ea"},
		SPC:       SPCFacts{Violation: true, Characteristic: "bore", Rule: "beyond limits", Equipment: "CNC", Value: 10.1},
		Hold:      HoldFacts{ID: "H-1", Active: true, Kind: "lot", Target: "L-1", Reason: "MRB", AgeHours: 30},
		Scrap:     ScrapFacts{Product: "P", Step: "10", Reason: "CHATTER", Qty: 2, LastHour: 7, Unit: "ea"},
	}
}

// Action is what a Decision asks the engine to do.
type Action string

// Decision actions.
const (
	// Fire: open a task for the cause, or update the open one.
	Fire Action = "fire"
	// Clear: the cause of the open task cleared; resolve it.
	Clear Action = "clear"
)

// Decision is the outcome of one rule for one situation.
type Decision struct {
	Action Action
	Rule   *Rule
	Cause  string    // the rule's cause key for the situation
	Links  Links     // the lots, work orders and equipment the situation involves
	At     time.Time // Env.Now
	Event  string    // Env.Event.Type: what triggered the decision
}

// OpenCauses is the set of causes that have an open task, by rule. The zero value is empty
// and ready to use.
type OpenCauses struct {
	m map[string]map[string]bool
	// rules counts the rules in m, for a RuleSet to know when to look them up again.
	rules int
}

// Add records that rule has an open task for cause.
func (o *OpenCauses) Add(rule, cause string) {
	if o.m == nil {
		o.m = map[string]map[string]bool{}
	}
	if o.m[rule] == nil {
		o.m[rule] = map[string]bool{}
		o.rules++
	}
	o.m[rule][cause] = true
}

// Remove records that rule's task for cause closed.
func (o *OpenCauses) Remove(rule, cause string) { delete(o.m[rule], cause) }

// Has reports whether rule has an open task for cause.
func (o *OpenCauses) Has(rule, cause string) bool { return o.m[rule][cause] }

// RuleSet evaluates a set of rules. It keeps one expr VM, so it is not safe for concurrent
// use; the Rules in it are, so make one RuleSet per goroutine.
type RuleSet struct {
	rules []*Rule
	// slots numbers the distinct expressions of the rules (by field and source) as
	// [when, cause, clear] per rule, -1 for none: rules often share a cause or a clear
	// condition, and one situation evaluates each distinct expression at most once.
	slots  [][3]int
	memo   []memoResult // by slot, for the situation being evaluated
	gen    uint64       // the situation being evaluated, for memo
	fields bool         // a rule may read event.fields
	vm     vm.VM
	// causes are the open causes of each rule in open, as of open.rules = openRules.
	open      *OpenCauses
	openRules int
	causes    []map[string]bool
}

type memoResult struct {
	gen  uint64
	out  any
	text string // a cause written in Go (Rule.causeText), which out would box
}

// NewRuleSet returns a set evaluating rules in order.
func NewRuleSet(rules ...*Rule) *RuleSet {
	s := &RuleSet{rules: slices.Clone(rules), slots: make([][3]int, len(rules)), causes: make([]map[string]bool, len(rules))}
	ids := map[[2]string]int{}
	for i, r := range s.rules {
		s.fields = s.fields || r.fields
		for j, p := range []*vm.Program{r.when, r.cause, r.clear} {
			s.slots[i][j] = -1
			if p == nil {
				continue
			}
			k := [2]string{fieldNames[j], p.Source().String()}
			id, ok := ids[k]
			if !ok {
				id = len(ids)
				ids[k] = id
			}
			s.slots[i][j] = id
		}
	}
	s.memo = make([]memoResult, len(ids))
	return s
}

// fieldNames are the expression fields of a rule, in slot order.
var fieldNames = [3]string{"when", "cause", "clear"}

// Len returns the number of rules in the set.
func (s *RuleSet) Len() int { return len(s.rules) }

// ReadsEventFields reports whether a rule of the set may read event.fields. When none
// does, a caller may leave Env.Event.Fields nil and save flattening the event's data.
func (s *RuleSet) ReadsEventFields() bool { return s.fields }

// Evaluate runs every rule for one situation. For each rule: When true and a non-empty
// cause gives a Fire decision (and open records the cause as open); otherwise, when the
// rule has an open task for the situation's cause and Clear is true, a Clear decision (and
// open forgets the cause). open may be nil when no task is open. A rule that fails on this
// situation is skipped and its *EvalError returned; the others still run.
func (s *RuleSet) Evaluate(env *Env, open *OpenCauses) ([]Decision, []error) {
	if open == nil {
		open = &OpenCauses{}
	}
	s.gen++
	var out []Decision
	var errs []error
	for i := range s.rules {
		if err := s.evaluate(i, env, open, &out); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errs
}

// run evaluates expression field (0 when, 1 cause, 2 clear) of rule i, or returns its
// result for the situation from an earlier rule with the same expression. Failures are
// not remembered: each rule reports its own.
func (s *RuleSet) run(i, field int, env *Env) (any, error) {
	r, slot := s.rules[i], s.slots[i][field]
	if m := &s.memo[slot]; m.gen == s.gen {
		return m.out, nil
	}
	p := [3]*vm.Program{r.when, r.cause, r.clear}[field]
	out, err := run(&s.vm, r.spec.Name, fieldNames[field], p, env)
	if err == nil {
		s.memo[slot] = memoResult{gen: s.gen, out: out}
	}
	return out, err
}

// causeText returns the cause of rule i, written in Go, or the one an earlier rule with
// the same cause expression built for the situation.
func (s *RuleSet) causeText(i int, env *Env) string {
	m := &s.memo[s.slots[i][1]]
	if m.gen != s.gen {
		*m = memoResult{gen: s.gen, text: s.rules[i].causeText(env)}
	}
	return m.text
}

// openCauses returns the open causes of rule i in open.
func (s *RuleSet) openCauses(i int, open *OpenCauses) map[string]bool {
	if open != s.open || open.rules != s.openRules {
		s.open, s.openRules = open, open.rules
		for k, r := range s.rules {
			s.causes[k] = open.m[r.spec.Name]
		}
	}
	return s.causes[i]
}

// evaluate runs rule i for a situation and adds its decision, if any, to out.
func (s *RuleSet) evaluate(i int, env *Env, open *OpenCauses, out *[]Decision) error {
	r := s.rules[i]
	fires := false
	if (r.types == nil || slices.Contains(r.types, env.Event.Type)) && holds(r.guards, env) {
		fires = r.native
		if !fires {
			res, err := s.run(i, 0, env)
			if err != nil {
				return err
			}
			fires = res.(bool)
		}
	}
	if !fires && (r.clear == nil || len(s.openCauses(i, open)) == 0) {
		return nil
	}
	cause := env.Event.Subject
	switch {
	case r.causeText != nil:
		cause = s.causeText(i, env)
	case r.cause != nil:
		res, err := s.run(i, 1, env)
		if err != nil {
			return err
		}
		text, ok := res.(string)
		if !ok { // a branch of another type passes the save-time check
			return &EvalError{Rule: r.spec.Name, Field: "cause", Line: 1, Column: 1,
				Message: fmt.Sprintf("the cause is %T %v, not text; make every branch a string (string(x) converts)", res, res), Err: ErrRuleFailed}
		}
		cause = text
	}
	if len(cause) > MaxCauseLength {
		return &EvalError{Rule: r.spec.Name, Field: "cause", Line: 1, Column: 1,
			Message: fmt.Sprintf("the cause is %d bytes long; build it from ids, at most %d bytes", len(cause), MaxCauseLength), Err: ErrRuleFailed}
	}
	d := Decision{Rule: r, Cause: cause, At: env.Now, Event: env.Event.Type}
	switch {
	case cause == "":
		return nil
	case fires:
		open.Add(r.spec.Name, cause)
		d.Action = Fire
	case s.openCauses(i, open)[cause]:
		cleared, err := s.clears(i, env)
		if err != nil || !cleared {
			return err
		}
		open.Remove(r.spec.Name, cause)
		d.Action = Clear
	default:
		return nil
	}
	d.Links = env.links()
	*out = append(*out, d)
	return nil
}

// clears evaluates the Clear condition of rule i.
func (s *RuleSet) clears(i int, env *Env) (bool, error) {
	if t := s.rules[i].clearTest; t != nil {
		return t(env), nil
	}
	res, err := s.run(i, 2, env)
	if err != nil {
		return false, err
	}
	return res.(bool), nil
}

// links returns the objects the situation involves.
func (e *Env) links() Links {
	var l Links
	if e.Lot.ID != "" {
		l.Lots = []string{e.Lot.ID}
	}
	if e.Order.ID != "" {
		l.WorkOrders = []string{e.Order.ID}
	}
	if e.Equipment != "" {
		l.Equipment = []string{e.Equipment}
	}
	return l
}
