package quality

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// RuleEnv is what a reaction rule (Reaction.When) sees. Field names in rules are the expr
// tags: `outOfSpec`, `rejected`, `sampled`, `lotAccepted` and `char.<name>.<field>`.
type RuleEnv struct {
	// Char summarises each characteristic of the plan by name (every characteristic is
	// present, with Count 0 when nothing was recorded).
	Char map[string]CharSummary `expr:"char"`
	// OutOfSpec is the number of out-of-spec findings over all characteristics.
	OutOfSpec int `expr:"outOfSpec"`
	// Rejected is the number of nonconforming units.
	Rejected int `expr:"rejected"`
	// Sampled is the number of units the sampling plan requires for this lot.
	Sampled int `expr:"sampled"`
	// LotAccepted is the acceptance-sampling decision (always true for other methods).
	LotAccepted bool `expr:"lotAccepted"`
}

// CharSummary summarises the results of one characteristic for a rule.
type CharSummary struct {
	InSpec    bool           `expr:"inSpec"`    // no finding is out of spec
	OutOfSpec int            `expr:"outOfSpec"` // out-of-spec findings
	Count     int            `expr:"count"`     // units with a result
	Min       float64        `expr:"min"`       // smallest value (variable; 0 without values)
	Max       float64        `expr:"max"`       // largest value (variable; 0 without values)
	Mean      float64        `expr:"mean"`      // mean value (variable; 0 without values)
	Rejected  int            `expr:"rejected"`  // nonconforming units (attribute)
	Defects   map[string]int `expr:"defects"`   // defect counts by code (attribute)
}

// ruleBuiltins are the functions a rule may call. Rules have no loops, ranges or variables
// (the summaries in RuleEnv are the aggregates a rule needs), so a rule's running time and
// the size of any string it builds are bounded by its node count.
var ruleBuiltins = []string{"abs", "ceil", "floor", "round", "int", "float", "max", "min", "len",
	"lower", "upper", "trim", "hasPrefix", "hasSuffix"}

// compileRule compiles a reaction rule once, bounded in length and size, typed against
// RuleEnv, and checks that it only uses bounded constructs and that every `char.<name>` it
// names is a characteristic of the plan.
func compileRule(src string, names map[string]int) (*vm.Program, error) {
	if len(src) > MaxRuleLength {
		return nil, fmt.Errorf("%w: rule is %d bytes; the limit is %d", ErrInvalidRule, len(src), MaxRuleLength)
	}
	prog, err := expr.Compile(src, expr.Env(RuleEnv{}), expr.AsBool(), expr.MaxNodes(MaxRuleNodes))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRule, err)
	}
	tree, err := parser.Parse(src) // the tree as written, before optimisation
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRule, err)
	}
	v := &ruleChecker{names: names}
	ast.Walk(&tree.Node, v)
	if len(v.issues) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidRule, strings.Join(v.issues, "; "))
	}
	return prog, nil
}

// ruleChecker collects the constructs a rule may not use and the characteristics it names
// that the plan does not have.
type ruleChecker struct {
	names  map[string]int
	issues []string
}

// Visit implements ast.Visitor.
func (c *ruleChecker) Visit(n *ast.Node) {
	switch n := (*n).(type) {
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		s, isName := n.Property.(*ast.StringNode)
		if ok && id.Value == "char" && isName {
			if _, known := c.names[s.Value]; !known {
				known := make([]string, 0, len(c.names))
				for k := range c.names {
					known = append(known, k)
				}
				sort.Strings(known)
				c.issue(n.Location(), "unknown characteristic %q; the plan has %s", s.Value, strings.Join(known, ", "))
			}
		}
	case *ast.BuiltinNode:
		if !slices.Contains(ruleBuiltins, n.Name) {
			c.issue(n.Location(), "%s() is not available in rules; use %s", n.Name, strings.Join(ruleBuiltins, ", "))
		}
	case *ast.BinaryNode:
		if n.Operator == ".." {
			c.issue(n.Location(), "ranges (..) are not available in rules")
		}
	case *ast.VariableDeclaratorNode:
		c.issue(n.Location(), "variables (let) are not available in rules")
	}
}

func (c *ruleChecker) issue(loc file.Location, format string, args ...any) {
	c.issues = append(c.issues, fmt.Sprintf("%s (at byte %d)", fmt.Sprintf(format, args...), loc.From))
}

// runRule runs a compiled rule within RuleMemoryBudget.
func runRule(prog *vm.Program, env RuleEnv) (bool, error) {
	machine := vm.VM{MemoryBudget: RuleMemoryBudget}
	out, err := machine.Run(prog, env)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrInvalidRule, err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("%w: rule returned %T, want bool", ErrInvalidRule, out)
	}
	return b, nil
}
