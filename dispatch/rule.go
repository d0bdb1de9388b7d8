package dispatch

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"

	"github.com/taktmes/takt/units"
)

// Bounds on rules. Ranking rules are short formulas; these leave ample room for them while
// keeping an untrusted rule from exhausting memory or time.
const (
	// MaxRuleLength is the longest rule source accepted, in bytes.
	MaxRuleLength = 4096
	// MaxRuleNodes is the largest rule accepted, in expr syntax-tree nodes.
	MaxRuleNodes = 500
	// RuleMemoryBudget bounds what one evaluation may build, in expr's memory units (one per
	// element of the lists, ranges and maps the rule creates).
	RuleMemoryBudget = 10_000
)

// Rule errors; a *RuleError wraps one of them.
var (
	// ErrInvalidRule means a rule does not compile or does not return a number.
	ErrInvalidRule = errors.New("dispatch: invalid rule")
	// ErrRuleBudget means a rule is longer, larger or more memory-hungry than the bounds allow.
	ErrRuleBudget = errors.New("dispatch: rule over budget")
	// ErrRuleFailed means a rule failed when scoring one candidate.
	ErrRuleFailed = errors.New("dispatch: rule failed")
	// ErrUnknownRule means Builtin was asked for a name it does not know.
	ErrUnknownRule = errors.New("dispatch: unknown built-in rule")
)

// Env is the environment a ranking rule sees, one per candidate. Names in rules are the expr
// tags. Times are UTC; durations are in hours as float64 so that formulas stay readable.
// A rule returns a number, the score: lower scores run first.
type Env struct {
	Now time.Time `expr:"now"` // the time of the request

	Lot       string `expr:"lot"`       // lot id
	WorkOrder string `expr:"workOrder"` // work order id
	Step      string `expr:"step"`      // step id
	Customer  string `expr:"customer"`  // customer of the work order

	Priority    int       `expr:"priority"`    // work order priority, 1 = most urgent
	Due         time.Time `expr:"due"`         // work order due date
	DueInHours  float64   `expr:"dueInHours"`  // hours from now to the due date; negative when late
	ReleasedAt  time.Time `expr:"releasedAt"`  // when the work order was released
	QueuedSince time.Time `expr:"queuedSince"` // when the lot was queued at this step

	WaitingHours   float64 `expr:"waitingHours"`   // hours the lot has been queued at this step
	OpHours        float64 `expr:"opHours"`        // remaining processing hours of this operation
	RemainingHours float64 `expr:"remainingHours"` // remaining processing hours of this and later steps
	RemainingSteps int     `expr:"remainingSteps"` // steps left including this one (>= 1)
	// Quantity is the lot quantity's number, for ranking only (the Candidate keeps the exact
	// units.Quantity).
	Quantity float64 `expr:"quantity"`
	Unit     string  `expr:"unit"` // unit of Quantity, such as "ea"

	SetupFamily   string `expr:"setupFamily"`   // setup family of this operation
	RunningFamily string `expr:"runningFamily"` // setup family of the job running now; "" if none
}

// timeInputs are the Env names whose values change with Request.Now; requestInputs those
// that change with other fields of the Request. A Board re-scores rules using them when
// they change.
var (
	timeInputs    = []string{"now", "dueInHours", "waitingHours"}
	requestInputs = []string{"runningFamily"}
)

// envFields maps each Env name to its field index, for Explain.
var envFields = func() map[string]int {
	t := reflect.TypeFor[Env]()
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		m[t.Field(i).Tag.Get("expr")] = i
	}
	return m
}()

// Field indexes of Env, in declaration order, for Rule.needs (a test checks them).
const (
	fieldNow = iota
	fieldLot
	fieldWorkOrder
	fieldStep
	fieldCustomer
	fieldPriority
	fieldDue
	fieldDueInHours
	fieldReleasedAt
	fieldQueuedSince
	fieldWaitingHours
	fieldOpHours
	fieldRemainingHours
	fieldRemainingSteps
	fieldQuantity
	fieldUnit
	fieldSetupFamily
	fieldRunningFamily
)

// fill sets the fields of env the rule reads from a candidate and the request context. The
// others keep what they held: filling only what is read keeps ranking close to native speed.
func (r *Rule) fill(env *Env, c *Candidate, now time.Time, running string) {
	need := func(field int) bool { return r.needs&(1<<field) != 0 }
	if need(fieldNow) {
		env.Now = now
	}
	if need(fieldLot) {
		env.Lot = c.Lot
	}
	if need(fieldWorkOrder) {
		env.WorkOrder = c.WorkOrder
	}
	if need(fieldStep) {
		env.Step = c.Step
	}
	if need(fieldCustomer) {
		env.Customer = c.Customer
	}
	env.Priority = c.Priority
	if need(fieldDue) {
		env.Due = c.Due
	}
	if need(fieldDueInHours) {
		env.DueInHours = c.Due.Sub(now).Hours()
	}
	if need(fieldReleasedAt) {
		env.ReleasedAt = c.ReleasedAt
	}
	if need(fieldQueuedSince) {
		env.QueuedSince = c.QueuedSince
	}
	if need(fieldWaitingHours) {
		env.WaitingHours = now.Sub(c.QueuedSince).Hours()
	}
	env.OpHours = c.OpTime.Hours()
	env.RemainingHours = c.RemainingTime.Hours()
	env.RemainingSteps = c.RemainingSteps
	if need(fieldQuantity) {
		env.Quantity = c.Quantity.Float64()
	}
	if need(fieldUnit) {
		env.Unit = string(c.Quantity.Unit())
	}
	if need(fieldSetupFamily) {
		env.SetupFamily = c.SetupFamily
	}
	if need(fieldRunningFamily) {
		env.RunningFamily = running
	}
}

// Rule is a compiled ranking rule. It is immutable and safe to share between goroutines.
type Rule struct {
	name        string
	source      string
	program     *vm.Program
	inputs      []string
	needs       uint64 // bit i set: the rule reads Env field i
	usesTime    bool   // reads an input that changes with Request.Now
	usesRequest bool   // reads an input that changes with other Request fields
}

// Name returns the rule's name.
func (r *Rule) Name() string { return r.name }

// Source returns the rule's expr text.
func (r *Rule) Source() string { return r.source }

// Inputs returns the Env names the rule reads, in order of first use.
func (r *Rule) Inputs() []string { return slices.Clone(r.inputs) }

// RuleError says what is wrong with a rule and where: Line and Column (1-based) point into
// the rule source. It wraps ErrInvalidRule, ErrRuleBudget or ErrRuleFailed.
type RuleError struct {
	Rule    string // rule name
	Line    int
	Column  int
	Message string
	Err     error
}

// Error returns "dispatch: invalid rule "CR" at 1:12: unexpected token EOF".
func (e *RuleError) Error() string {
	return fmt.Sprintf("%v %q at %d:%d: %s", e.Err, e.Rule, e.Line, e.Column, e.Message)
}

// Unwrap returns the sentinel error.
func (e *RuleError) Unwrap() error { return e.Err }

// Compile checks and compiles a ranking rule written in expr over Env. The rule must return a
// number (lower scores run first). It is rejected with a *RuleError pointing at the position
// if it is empty, too long, does not compile, uses an unknown name, returns another type, has
// more than MaxRuleNodes nodes, or exceeds RuleMemoryBudget on a sample candidate.
//
// Ranking rules are formulas over the scalar facts of Env: arithmetic, comparisons, the
// operators in, contains, startsWith, endsWith and matches, conditionals (?: and ??), let,
// indexing and slicing, the methods of time.Time and time.Duration (such as
// (due - now).Hours()), and the built-ins abs, ceil, floor, round, int, float, max, min, len,
// lower, upper, trim, trimPrefix, trimSuffix, hasPrefix, hasSuffix, indexOf, lastIndexOf and
// duration. Loops, string building (+ on strings), nested collections and the other
// built-ins are rejected, so that every rule runs in bounded time and memory; the time is the
// env's now, not the clock.
func Compile(name, source string) (*Rule, error) {
	fail := func(sentinel error, line, col int, format string, args ...any) (*Rule, error) {
		return nil, &RuleError{Rule: name, Line: line, Column: col, Message: fmt.Sprintf(format, args...), Err: sentinel}
	}
	if strings.TrimSpace(source) == "" {
		return fail(ErrInvalidRule, 1, 1, "the rule is empty; write an expression returning a number, e.g. dueInHours")
	}
	if len(source) > MaxRuleLength {
		return fail(ErrRuleBudget, 1, 1, "the rule is %d bytes long; shorten it to at most %d", len(source), MaxRuleLength)
	}
	program, err := expr.Compile(source, compileOptions...)
	if err != nil {
		return nil, ruleError(name, err, compileSentinel(err), compileHint(err))
	}
	inputs, bad := inspect(program)
	if bad != nil {
		return nil, ruleError(name, bad.Bind(program.Source()), ErrInvalidRule, "")
	}
	r := &Rule{name: name, source: source, program: program, inputs: inputs}
	for _, in := range r.inputs {
		r.needs |= 1 << envFields[in]
		r.usesTime = r.usesTime || slices.Contains(timeInputs, in)
		r.usesRequest = r.usesRequest || slices.Contains(requestInputs, in)
	}
	// A rule that blows the memory budget on an ordinary candidate would fail for every
	// candidate: reject it now. Other run-time errors depend on the data and are reported
	// per candidate when ranking.
	var m vm.VM
	if _, err := r.score(&m, r.sampleEnv()); errors.Is(err, ErrRuleBudget) {
		return nil, err
	}
	return r, nil
}

// budgetMessage is how expr reports an exceeded memory budget (a panic string, not an error
// value) and the message of the MaxNodes check.
const (
	budgetMessage = "memory budget exceeded"
	nodesMessage  = "exceeds maximum allowed nodes"
)

func compileSentinel(err error) error {
	if strings.Contains(err.Error(), nodesMessage) {
		return ErrRuleBudget
	}
	return ErrInvalidRule
}

func compileHint(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, nodesMessage):
		return fmt.Sprintf("simplify the rule to at most %d nodes", MaxRuleNodes)
	case strings.Contains(msg, "unknown name"):
		names := make([]string, 0, len(envFields))
		for n := range envFields {
			names = append(names, n)
		}
		slices.Sort(names)
		return "the names a rule can use are " + strings.Join(names, ", ")
	case strings.Contains(msg, "expected float64"):
		return "a ranking rule returns a number (lower scores run first)"
	}
	return ""
}

// ruleError turns an expr error into a *RuleError, taking the position from expr when it
// has one and 1:1 (the whole rule) otherwise.
func ruleError(name string, err error, sentinel error, hint string) *RuleError {
	re := &RuleError{Rule: name, Line: 1, Column: 1, Message: err.Error(), Err: sentinel}
	var fe *file.Error
	if errors.As(err, &fe) {
		re.Message = fe.Message
		if fe.Line > 0 {
			re.Line, re.Column = fe.Line, fe.Column+1 // expr columns are 0-based
		}
	}
	if hint != "" {
		re.Message += "; " + hint
	}
	return re
}

// ruleBuiltins are the expr built-ins a ranking rule may call: scalar functions whose
// cost and result size are bounded by their arguments.
var ruleBuiltins = []string{
	"abs", "ceil", "floor", "round", "int", "float", "max", "min", "len",
	"lower", "upper", "trim", "trimPrefix", "trimSuffix", "hasPrefix", "hasSuffix",
	"indexOf", "lastIndexOf", "duration",
}

var compileOptions = func() []expr.Option {
	opts := []expr.Option{
		expr.Env(Env{}), expr.AsFloat64(), expr.MaxNodes(MaxRuleNodes), expr.DisableAllBuiltins(),
		expr.Function(plusFunc, plus), expr.Patch(plusPatcher{}),
	}
	for _, b := range ruleBuiltins {
		opts = append(opts, expr.EnableBuiltin(b))
	}
	return opts
}()

// plusFunc is the function plusPatcher routes + through when expr cannot tell the operand
// types at compile time (a ternary mixing 0 and 1e6, a map value): it adds numbers, and a
// duration to a time, and refuses strings and lists so that no rule can double a string
// until memory runs out.
const plusFunc = "plus"

func plus(params ...any) (any, error) {
	for _, p := range params {
		switch reflect.ValueOf(p).Kind() {
		case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
			return nil, fmt.Errorf("+ got %T; ranking rules add numbers, or a duration to a time, and cannot build strings or lists", p)
		}
	}
	return runtime.Add(params[0], params[1]), nil
}

// plusPatcher replaces + whose operand types are unknown at compile time by a call to plus.
type plusPatcher struct{}

// Visit implements ast.Visitor.
func (plusPatcher) Visit(node *ast.Node) {
	n, ok := (*node).(*ast.BinaryNode)
	if !ok || n.Operator != "+" || n.Type() == nil || n.Type().Kind() != reflect.Interface {
		return
	}
	ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: plusFunc}, Arguments: []ast.Node{n.Left, n.Right}})
}

// inspect walks the compiled syntax tree once. It returns the Env names the rule reads, in
// order of first use (names declared with let are not inputs), and the first construct that
// could make a rule's cost unbounded: loops (predicates, which expr cannot disable as it does
// other built-ins), + on anything but numbers, times and durations (string building), and
// collections of collections.
func inspect(program *vm.Program) ([]string, *file.Error) {
	node := program.Node()
	v := &ruleVisitor{declared: map[string]bool{}}
	ast.Walk(&node, v)
	var inputs []string
	for _, n := range v.names {
		if _, ok := envFields[n]; ok && !v.declared[n] && !slices.Contains(inputs, n) {
			inputs = append(inputs, n)
		}
	}
	return inputs, v.bad
}

type ruleVisitor struct {
	names    []string
	declared map[string]bool
	bad      *file.Error
}

func (v *ruleVisitor) Visit(node *ast.Node) {
	reject := func(n ast.Node, msg string) {
		if v.bad == nil {
			v.bad = &file.Error{Location: n.Location(), Message: msg}
		}
	}
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value == "$env" {
			reject(n, "$env is not available in ranking rules; name the facts directly (dueInHours, not $env.dueInHours)")
		}
		v.names = append(v.names, n.Value)
	case *ast.VariableDeclaratorNode:
		v.declared[n.Name] = true
	case *ast.PredicateNode:
		reject(n, "loops (all, any, none, one, filter, map, count, sum, find, reduce, sortBy, groupBy with a predicate) are not available in ranking rules; write the formula over the candidate's facts")
	case *ast.BinaryNode:
		if n.Operator == "+" && !summable(n.Type()) {
			reject(n, "+ adds numbers, or a duration to a time; ranking rules cannot build strings or lists (compare the parts instead)")
		}
	case *ast.ArrayNode:
		for _, e := range n.Nodes {
			if !scalar(e.Type()) {
				reject(e, "list elements must be numbers, strings, booleans or times")
			}
		}
	case *ast.PairNode:
		if !scalar(n.Value.Type()) {
			reject(n.Value, "map values must be numbers, strings, booleans or times")
		}
	}
}

var timeType = reflect.TypeFor[time.Time]()

func summable(t reflect.Type) bool {
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return t == timeType
}

func scalar(t reflect.Type) bool {
	return summable(t) || t != nil && (t.Kind() == reflect.String || t.Kind() == reflect.Bool)
}

// score runs the rule for one environment on a reused VM.
func (r *Rule) score(m *vm.VM, env *Env) (float64, error) {
	if r.program == nil {
		return 0, &RuleError{Line: 1, Column: 1, Message: "no rule given; compile one with Compile or Builtin", Err: ErrInvalidRule}
	}
	m.MemoryBudget = RuleMemoryBudget
	out, err := m.Run(r.program, env)
	if err != nil {
		sentinel := ErrRuleFailed
		if strings.Contains(err.Error(), budgetMessage) {
			sentinel = ErrRuleBudget
		}
		return 0, ruleError(r.name, err, sentinel, "")
	}
	f, ok := out.(float64)
	if !ok { // AsFloat64 guarantees a float64; kept so that a surprise is an error, not a panic
		return 0, &RuleError{Rule: r.name, Line: 1, Column: 1, Message: fmt.Sprintf("the rule returned %T, not a number", out), Err: ErrRuleFailed}
	}
	if math.IsNaN(f) {
		return 0, &RuleError{Rule: r.name, Line: 1, Column: 1, Message: "the score is NaN (0/0 or similar); guard the division", Err: ErrRuleFailed}
	}
	return f, nil
}

// sampleEnv is an ordinary candidate for the save-time budget check.
func (r *Rule) sampleEnv() *Env {
	now := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	env := &Env{}
	r.fill(env, &Candidate{
		Lot: "L-1", WorkOrder: "WO-1", Step: "10", Customer: "C-1", Priority: 5,
		Due: now.Add(48 * time.Hour), ReleasedAt: now.Add(-24 * time.Hour), QueuedSince: now.Add(-2 * time.Hour),
		Quantity: units.MustParse("10 ea"), OpTime: time.Hour, RemainingTime: 8 * time.Hour,
		RemainingSteps: 4, SetupFamily: "A",
	}, now, "B")
	return env
}

// The built-in rules, as expr text. Scores are hours or ratios; lower runs first.
var builtinSources = []struct{ name, source, doc string }{
	{"FIFO", "-waitingHours", "first in, first out: the longest-waiting lot first"},
	{"EDD", "dueInHours", "earliest due date first"},
	{"SPT", "opHours", "shortest processing time of this operation first"},
	{"CR", "dueInHours / remainingHours", "critical ratio: time left to the due date over remaining processing time, smallest first (below 1 means late)"},
	{"SLACK", "(dueInHours - remainingHours) / remainingSteps", "slack per remaining operation, smallest first"},
	{"PRIORITY_EDD", "priority * 1e6 + dueInHours", "work order priority (1 first), then earliest due date"},
	{"SETUP", "(setupFamily != \"\" && setupFamily == runningFamily ? 0 : 1e6) + dueInHours", "least setup change: the running job's setup family first, then earliest due date"},
}

// Builtins returns the names of the built-in rules with one line on what each does.
func Builtins() map[string]string {
	m := make(map[string]string, len(builtinSources))
	for _, b := range builtinSources {
		m[b.name] = b.doc + ": " + b.source
	}
	return m
}

// Builtin compiles the built-in rule with the given name: FIFO, EDD, SPT, CR (critical
// ratio), SLACK (slack per remaining operation), PRIORITY_EDD or SETUP (least setup change).
// See Builtins for their expr text.
func Builtin(name string) (*Rule, error) {
	for _, b := range builtinSources {
		if b.name == name {
			return Compile(b.name, b.source)
		}
	}
	return nil, fmt.Errorf("%w %q: use one of FIFO, EDD, SPT, CR, SLACK, PRIORITY_EDD, SETUP, or write the rule with Compile", ErrUnknownRule, name)
}
