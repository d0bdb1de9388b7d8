package quality

import (
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr/vm"
	"github.com/shopspring/decimal"
	"github.com/taktmes/takt/units"
)

// Kind is whether a characteristic is measured (variable) or judged pass/fail (attribute).
type Kind string

// Characteristic kinds.
const (
	// Variable characteristics are measured as a decimal value checked against spec limits.
	Variable Kind = "variable"
	// Attribute characteristics are judged pass/fail, with defect codes and counts.
	Attribute Kind = "attribute"
)

// Spec holds specification limits; either may be absent (Valid false) for a one-sided
// specification.
type Spec struct {
	LSL decimal.NullDecimal `json:"lsl"` // lower specification limit
	USL decimal.NullDecimal `json:"usl"` // upper specification limit
}

// Characteristic is one thing a plan inspects.
type Characteristic struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Nominal, Spec, Unit and Decimals apply to Variable characteristics.
	Nominal decimal.NullDecimal `json:"nominal"`
	Spec
	Unit units.Unit `json:"unit,omitempty"`
	// Decimals is the gauge resolution: the most decimal places a recorded value may have.
	Decimals int32 `json:"decimals,omitempty"`
	// DefectCodes lists the defect codes an Attribute result may report; empty allows any.
	DefectCodes []string `json:"defect_codes,omitempty"`
}

// ActionKind is what the engine must do in reaction to an inspection.
type ActionKind string

// Reaction actions.
const (
	// HoldLot places a hold on the inspected lot.
	HoldLot ActionKind = "hold-lot"
	// OpenNonConformance opens a non-conformance for the nonconforming units.
	OpenNonConformance ActionKind = "open-nc"
	// ReworkTo sends the lot back to step ToStep of its routing.
	ReworkTo ActionKind = "rework"
)

// Action is one thing the engine executes after an evaluation.
type Action struct {
	Kind   ActionKind `json:"kind"`
	ToStep string     `json:"to_step,omitempty"` // ReworkTo only
}

// Reaction is a rule of an inspection plan: when When holds, the engine executes Actions.
// An empty When holds when any result is out of spec (or, for attribute sampling, when any
// unit is nonconforming). Otherwise When is an expr expression of type bool over RuleEnv,
// for example `char.bore.max > 10.05 || rejected >= 2`, compiled by Compile. Rules have no
// loops, ranges or variables and may call only a few pure functions (abs, round, len, ...),
// so their cost is bounded by their size (MaxRuleLength, MaxRuleNodes).
type Reaction struct {
	When    string   `json:"when,omitempty"`
	Actions []Action `json:"actions"`
}

// Plan is an inspection-plan definition: plain data, stored as JSON. Compile it before use.
type Plan struct {
	ID              string           `json:"id"`
	Characteristics []Characteristic `json:"characteristics"`
	Sampling        SamplingPlan     `json:"sampling"`
	Reactions       []Reaction       `json:"reactions,omitempty"`
}

// Limits on reaction rules, so a rule written by anyone cannot exhaust the engine.
const (
	// MaxRuleLength is the longest rule source accepted, in bytes.
	MaxRuleLength = 2000
	// MaxRuleNodes is the largest rule accepted, in expression-tree nodes.
	MaxRuleNodes = 500
	// RuleMemoryBudget bounds the memory a rule may allocate per run (expr VM units).
	RuleMemoryBudget = 100_000
)

// CompiledPlan is a validated plan with its reaction rules compiled, ready to evaluate
// results many times. It is immutable and safe for concurrent use.
type CompiledPlan struct {
	plan  Plan
	byKey map[string]int // characteristic name -> index
	rules []*vm.Program  // per reaction; nil when When is empty
}

// Compile validates p and compiles its reaction rules, reporting every problem at once as
// a *ValidationError matching ErrInvalidPlan (rule problems also match ErrInvalidRule).
// Call it when a plan is defined and again when it is loaded.
func Compile(p Plan) (*CompiledPlan, error) {
	var ps problems
	if strings.TrimSpace(p.ID) == "" {
		ps.add("id", p.ID, "a plan needs an id")
	}
	if len(p.Characteristics) == 0 {
		ps.add("characteristics", "", "a plan needs at least one characteristic")
	}
	cp := &CompiledPlan{plan: p, byKey: map[string]int{}, rules: make([]*vm.Program, len(p.Reactions))}
	for i, c := range p.Characteristics {
		path := fmt.Sprintf("characteristics[%d]", i)
		c.validate(&ps, path)
		if _, dup := cp.byKey[c.Name]; dup {
			ps.add(path+".name", c.Name, "duplicate characteristic name; names must be unique in a plan")
		}
		cp.byKey[c.Name] = i
	}
	p.Sampling.validate(&ps, "sampling")
	ruleFailed := false
	for i, r := range p.Reactions {
		path := fmt.Sprintf("reactions[%d]", i)
		if len(r.Actions) == 0 {
			ps.add(path+".actions", "", "a reaction needs at least one action (hold-lot, open-nc or rework)")
		}
		for j, a := range r.Actions {
			a.validate(&ps, fmt.Sprintf("%s.actions[%d]", path, j))
		}
		if r.When == "" {
			continue
		}
		prog, err := compileRule(r.When, cp.byKey)
		if err != nil {
			ps.add(path+".when", r.When, "%v", err)
			ruleFailed = true
		}
		cp.rules[i] = prog
	}
	if ruleFailed {
		if err := ps.err(ErrInvalidPlan); err != nil {
			return nil, fmt.Errorf("%w (%w)", err, ErrInvalidRule)
		}
	}
	if err := ps.err(ErrInvalidPlan); err != nil {
		return nil, err
	}
	cp.plan = p.clone()
	return cp, nil
}

// Plan returns (a copy of) the definition the plan was compiled from.
func (cp *CompiledPlan) Plan() Plan { return cp.plan.clone() }

// clone returns a deep copy, so a compiled plan shares no slices with its caller.
func (p Plan) clone() Plan {
	p.Characteristics = slices.Clone(p.Characteristics)
	for i := range p.Characteristics {
		p.Characteristics[i].DefectCodes = slices.Clone(p.Characteristics[i].DefectCodes)
	}
	p.Reactions = slices.Clone(p.Reactions)
	for i := range p.Reactions {
		p.Reactions[i].Actions = slices.Clone(p.Reactions[i].Actions)
	}
	return p
}

func (c Characteristic) validate(ps *problems, path string) {
	if strings.TrimSpace(c.Name) == "" || strings.TrimSpace(c.Name) != c.Name {
		ps.add(path+".name", c.Name, "a characteristic needs a name without surrounding spaces")
	}
	switch c.Kind {
	case Variable:
		if c.LSL.Valid && c.USL.Valid && !c.LSL.Decimal.LessThan(c.USL.Decimal) {
			ps.add(path+".lsl", c.LSL.Decimal.String(), "the lower spec limit must be below the upper spec limit %s", c.USL.Decimal)
		}
		if c.Nominal.Valid {
			if c.LSL.Valid && c.Nominal.Decimal.LessThan(c.LSL.Decimal) {
				ps.add(path+".nominal", c.Nominal.Decimal.String(), "nominal is below the lower spec limit %s", c.LSL.Decimal)
			}
			if c.USL.Valid && c.Nominal.Decimal.GreaterThan(c.USL.Decimal) {
				ps.add(path+".nominal", c.Nominal.Decimal.String(), "nominal is above the upper spec limit %s", c.USL.Decimal)
			}
		}
		if c.Unit != "" && !units.Known(c.Unit) {
			ps.add(path+".unit", string(c.Unit), "unknown unit; use a unit from package units or define it with units.Define")
		}
		if c.Decimals < 0 || c.Decimals > 18 {
			ps.add(path+".decimals", fmt.Sprint(c.Decimals), "decimals must be between 0 and 18")
		}
		if len(c.DefectCodes) > 0 {
			ps.add(path+".defectCodes", "", "defect codes apply to attribute characteristics only")
		}
	case Attribute:
		if c.Nominal.Valid || c.LSL.Valid || c.USL.Valid || c.Unit != "" || c.Decimals != 0 {
			ps.add(path, c.Name, "nominal, spec limits, unit and decimals apply to variable characteristics only")
		}
		seen := map[string]bool{}
		for j, code := range c.DefectCodes {
			if strings.TrimSpace(code) == "" || seen[code] {
				ps.add(fmt.Sprintf("%s.defectCodes[%d]", path, j), code, "defect codes must be non-empty and unique")
			}
			seen[code] = true
		}
	default:
		ps.add(path+".kind", string(c.Kind), "unknown kind; use variable or attribute")
	}
}

func (a Action) validate(ps *problems, path string) {
	switch a.Kind {
	case HoldLot, OpenNonConformance:
		if a.ToStep != "" {
			ps.add(path+".toStep", a.ToStep, "toStep applies to rework only")
		}
	case ReworkTo:
		if strings.TrimSpace(a.ToStep) == "" {
			ps.add(path+".toStep", "", "rework needs the step to send the lot back to")
		}
	default:
		ps.add(path+".kind", string(a.Kind), "unknown action; use hold-lot, open-nc or rework")
	}
}
