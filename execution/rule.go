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
type OpenCauses struct{ m map[string]map[string]bool }

// Add records that rule has an open task for cause.
func (o *OpenCauses) Add(rule, cause string) {
	if o.m == nil {
		o.m = map[string]map[string]bool{}
	}
	if o.m[rule] == nil {
		o.m[rule] = map[string]bool{}
	}
	o.m[rule][cause] = true
}

// Remove records that rule's task for cause closed.
func (o *OpenCauses) Remove(rule, cause string) { delete(o.m[rule], cause) }

// Has reports whether rule has an open task for cause.
func (o *OpenCauses) Has(rule, cause string) bool { return o.m[rule][cause] }

// Any reports whether rule has any open task.
func (o *OpenCauses) Any(rule string) bool { return len(o.m[rule]) > 0 }

// RuleSet evaluates a set of rules. It keeps one expr VM, so it is not safe for concurrent
// use; the Rules in it are, so make one RuleSet per goroutine.
type RuleSet struct {
	rules []*Rule
	vm    vm.VM
}

// NewRuleSet returns a set evaluating rules in order.
func NewRuleSet(rules ...*Rule) *RuleSet { return &RuleSet{rules: slices.Clone(rules)} }

// Len returns the number of rules in the set.
func (s *RuleSet) Len() int { return len(s.rules) }

// Evaluate runs every rule for one situation. For each rule: When true and a non-empty
// cause gives a Fire decision (and open records the cause as open); otherwise, when the
// rule has an open task for the situation's cause and Clear is true, a Clear decision (and
// open forgets the cause). open may be nil when no task is open. A rule that fails on this
// situation is skipped and its *EvalError returned; the others still run.
func (s *RuleSet) Evaluate(env *Env, open *OpenCauses) ([]Decision, []error) {
	if open == nil {
		open = &OpenCauses{}
	}
	var out []Decision
	var errs []error
	for _, r := range s.rules {
		d, err := r.evaluate(&s.vm, env, open)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if d.Action != "" {
			out = append(out, d)
		}
	}
	return out, errs
}

func (r *Rule) evaluate(m *vm.VM, env *Env, open *OpenCauses) (Decision, error) {
	fires := false
	if r.types == nil || slices.Contains(r.types, env.Event.Type) {
		out, err := run(m, r.spec.Name, "when", r.when, env)
		if err != nil {
			return Decision{}, err
		}
		fires = out.(bool)
	}
	if !fires && (r.clear == nil || !open.Any(r.spec.Name)) {
		return Decision{}, nil
	}
	cause := env.Event.Subject
	if r.cause != nil {
		out, err := run(m, r.spec.Name, "cause", r.cause, env)
		if err != nil {
			return Decision{}, err
		}
		cause = out.(string)
	}
	if len(cause) > MaxCauseLength {
		return Decision{}, &EvalError{Rule: r.spec.Name, Field: "cause", Line: 1, Column: 1,
			Message: fmt.Sprintf("the cause is %d bytes long; build it from ids, at most %d bytes", len(cause), MaxCauseLength), Err: ErrRuleFailed}
	}
	d := Decision{Rule: r, Cause: cause, At: env.Now, Event: env.Event.Type, Links: env.links()}
	switch {
	case cause == "":
		return Decision{}, nil
	case fires:
		open.Add(r.spec.Name, cause)
		d.Action = Fire
	case open.Has(r.spec.Name, cause):
		out, err := run(m, r.spec.Name, "clear", r.clear, env)
		if err != nil || !out.(bool) {
			return Decision{}, err
		}
		open.Remove(r.spec.Name, cause)
		d.Action = Clear
	default:
		return Decision{}, nil
	}
	return d, nil
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
