package execution

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; the typed errors of the package wrap them.
var (
	// ErrInvalidRule: a rule does not compile, or a field of its spec is wrong.
	ErrInvalidRule = errors.New("execution: invalid rule")
	// ErrRuleBudget: a rule is longer, larger or more memory-hungry than the bounds allow.
	ErrRuleBudget = errors.New("execution: rule over budget")
	// ErrRuleFailed: a rule failed when evaluating one situation.
	ErrRuleFailed = errors.New("execution: rule failed")
	// ErrWrongState: the task's state does not allow the command.
	ErrWrongState = errors.New("execution: not allowed in this task state")
	// ErrNotOwner: the person neither owns the task nor holds its owner role.
	ErrNotOwner = errors.New("execution: not the task's owner")
	// ErrMissingInputs: resolving the task needs inputs that were not given.
	ErrMissingInputs = errors.New("execution: required inputs missing")
	// ErrInvalid: an argument is malformed; the error lists every problem.
	ErrInvalid = errors.New("execution: invalid input")
	// ErrNoWorkingTime: the calendar has no working time in the span searched.
	ErrNoWorkingTime = errors.New("execution: no working time")
)

// Problem is one thing wrong with an input: the field (a path such as "escalation[1].role"),
// the value given, the position in an expression (Line and Column 1-based; 0 when not about
// an expression) and what is wrong.
type Problem struct {
	Field  string
	Value  string
	Line   int
	Column int
	Reason string
}

// String returns "field at line:column \"value\": reason" (position and value when known).
func (p Problem) String() string {
	s := p.Field
	if p.Line > 0 {
		s += fmt.Sprintf(" at %d:%d", p.Line, p.Column)
	}
	if p.Value != "" {
		s += fmt.Sprintf(" %q", p.Value)
	}
	return s + ": " + p.Reason
}

// RuleError lists every problem of a rule refused by Compile. It wraps ErrInvalidRule,
// ErrRuleBudget or both.
type RuleError struct {
	Rule     string
	Problems []Problem
	errs     []error
}

func (e *RuleError) add(p Problem, sentinel error) {
	e.Problems = append(e.Problems, p)
	if !errors.Is(e, sentinel) {
		e.errs = append(e.errs, sentinel)
	}
}

// Error returns `execution: invalid rule "late": when at 1:5: unknown name x; owner: is required`.
func (e *RuleError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return fmt.Sprintf("%v %q: %s", e.errs[0], e.Rule, strings.Join(parts, "; "))
}

// Unwrap returns the sentinels.
func (e *RuleError) Unwrap() []error { return e.errs }

// EvalError says that a rule failed for one situation, and where in which expression. It
// wraps ErrRuleFailed or ErrRuleBudget.
type EvalError struct {
	Rule    string
	Field   string // when, cause or clear
	Line    int
	Column  int
	Message string
	Err     error
}

// Error returns `execution: rule failed "late" clear at 1:3: ...`.
func (e *EvalError) Error() string {
	return fmt.Sprintf("%v %q %s at %d:%d: %s", e.Err, e.Rule, e.Field, e.Line, e.Column, e.Message)
}

// Unwrap returns the sentinel.
func (e *EvalError) Unwrap() error { return e.Err }

// MissingInputsError names the inputs a task needs to resolve that were not given. It wraps
// ErrMissingInputs.
type MissingInputsError struct {
	Task    string
	Missing []string
}

// Error returns "execution: required inputs missing: task T-1 needs reason, disposition ...".
func (e *MissingInputsError) Error() string {
	return fmt.Sprintf("%v: task %s needs %s to resolve; give them as inputs", ErrMissingInputs, e.Task, strings.Join(e.Missing, ", "))
}

// Unwrap returns ErrMissingInputs.
func (e *MissingInputsError) Unwrap() error { return ErrMissingInputs }

// ValidationError lists every problem of an argument. It wraps ErrInvalid.
type ValidationError struct {
	What     string
	Problems []Problem
}

// Error returns "execution: invalid operations: operations[0].quantity "-1": ...".
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return fmt.Sprintf("execution: invalid %s: %s", e.What, strings.Join(parts, "; "))
}

// Unwrap returns ErrInvalid.
func (e *ValidationError) Unwrap() error { return ErrInvalid }
