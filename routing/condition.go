package routing

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Bounds on branch conditions written by plant engineers.
const (
	MaxConditionLen   = 1000    // characters of source
	MaxConditionNodes = 200     // expr AST nodes
	conditionMemory   = 100_000 // expr VM memory budget per run
)

// Env is what a branch condition sees when a step is tracked out:
//
//	result.bore     measured value of characteristic "bore" (0 when not measured)
//	inSpec.bore     whether characteristic "bore" was in specification (false when not given)
//	good, scrap, rework   quantities of this track-out
//	skipped         true when the step was skipped (no results)
//	param.speed     the step's parameters
type Env struct {
	Result  map[string]float64 `expr:"result"`
	InSpec  map[string]bool    `expr:"inSpec"`
	Good    float64            `expr:"good"`
	Scrap   float64            `expr:"scrap"`
	Rework  float64            `expr:"rework"`
	Skipped bool               `expr:"skipped"`
	Param   map[string]string  `expr:"param"`
}

// compileCondition compiles a branch condition against Env and returns the step ids it can
// return. Every value the condition returns must be a string literal (possibly chosen by
// nested ?: or if/else), so the routing's flow can be checked when it is saved.
func compileCondition(src string) (*vm.Program, []string, error) {
	if len(src) > MaxConditionLen {
		return nil, nil, fmt.Errorf("condition has %d characters; the limit is %d", len(src), MaxConditionLen)
	}
	prog, err := expr.Compile(src, expr.Env(Env{}), expr.AsKind(reflect.String), expr.MaxNodes(MaxConditionNodes))
	if err != nil {
		return nil, nil, err
	}
	var targets []string
	if !literalResults(prog.Node(), &targets) {
		return nil, nil, errors.New(`every value the condition returns must be a step id written as a string literal, e.g. result.bore > 10.02 ? "REWORK-10" : "30"`)
	}
	return prog, targets, nil
}

// literalResults collects the string literals in result position; false if a result is not
// a literal.
func literalResults(n ast.Node, out *[]string) bool {
	switch n := n.(type) {
	case *ast.StringNode:
		*out = append(*out, n.Value)
		return true
	case *ast.ConditionalNode:
		return literalResults(n.Exp1, out) && literalResults(n.Exp2, out)
	default:
		return false
	}
}

// runCondition evaluates a compiled condition within the memory budget.
func runCondition(prog *vm.Program, env Env) (string, error) {
	m := vm.VM{MemoryBudget: conditionMemory}
	out, err := m.Run(prog, env)
	if err != nil {
		return "", err
	}
	s, ok := out.(string)
	if !ok {
		return "", fmt.Errorf("condition returned %T, want a step id", out)
	}
	return s, nil
}
