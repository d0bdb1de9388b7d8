package routing

import (
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/units"
)

// Builder assembles a draft routing step by step; Build validates it.
type Builder struct {
	r        Routing
	problems Problems
}

// New starts a draft routing for a product at a revision; its ID is the product.
func New(product, revision string) *Builder {
	return &Builder{r: Routing{ID: product, Product: product, Revision: revision, Status: Draft}}
}

// Option sets one property of a step in Builder.Step.
type Option func(*Step) error

// Step appends a step (operation) with its id (sequence such as "10"), name and options.
func (b *Builder) Step(id, name string, opts ...Option) *Builder {
	s := Step{ID: id, Name: name}
	for _, o := range opts {
		if err := o(&s); err != nil {
			b.problems = append(b.problems, Problem{Path: stepPath(len(b.r.Steps), id), Value: name, Reason: err.Error()})
		}
	}
	b.r.Steps = append(b.r.Steps, s)
	return b
}

// Build validates the routing and returns it, or Problems listing everything wrong. Every
// routing it returns is a copy of its own: changing one, or the builder, never changes
// another.
func (b *Builder) Build() (*Routing, error) {
	r := b.r.Clone()
	err := r.Validate()
	ps, _ := err.(Problems)
	ps = append(slices.Clip(b.problems), ps...)
	if len(ps) > 0 {
		return nil, ps
	}
	return r, nil
}

// At runs the step at a work center; alternates are other work centers that can run it.
func At(workCenter string, alternates ...string) Option {
	alternates = slices.Clone(alternates) // the caller may reuse its slice
	return func(s *Step) error { s.WorkCenter, s.Alternates = workCenter, alternates; return nil }
}

// Equipment requires equipment of a class.
func Equipment(class string) Option {
	return func(s *Step) error { s.EquipmentClass = class; return nil }
}

// Setup sets the standard setup time.
func Setup(d time.Duration) Option { return func(s *Step) error { s.Setup = d; return nil } }

// Run sets the standard run time per unit.
func Run(d time.Duration) Option { return func(s *Step) error { s.RunPerUnit = d; return nil } }

// Qualified requires operators to hold a qualification.
func Qualified(qualification string) Option {
	return func(s *Step) error { s.Qualification = qualification; return nil }
}

// Flag marks how a material is consumed, for Consume.
type Flag int

// Material flags.
const (
	LotTracked  Flag = iota + 1 // the consumed lot is recorded in genealogy
	Backflushed                 // consumption is PerUnit × good quantity at track-out
)

// Consume consumes perUnit (e.g. "1 ea") of a component for every unit made at the step.
func Consume(component, perUnit string, flags ...Flag) Option {
	return func(s *Step) error {
		q, err := units.Parse(perUnit)
		if err != nil {
			return fmt.Errorf("material %s: %w", component, err)
		}
		m := Material{Component: component, PerUnit: q}
		for _, f := range flags {
			m.LotTracked = m.LotTracked || f == LotTracked
			m.Backflush = m.Backflush || f == Backflushed
		}
		s.Materials = append(s.Materials, m)
		return nil
	}
}

// Inspect requires an inspection plan at the step.
func Inspect(plan string) Option { return func(s *Step) error { s.InspectionPlan = plan; return nil } }

// Instructions sets the work instructions text and a link to the full document.
func Instructions(text, url string) Option {
	return func(s *Step) error { s.Instructions, s.InstructionsURL = text, url; return nil }
}

// Param sets an equipment parameter.
func Param(name, value string) Option {
	return func(s *Step) error {
		if s.Parameters == nil {
			s.Parameters = map[string]string{}
		}
		s.Parameters[name] = value
		return nil
	}
}

// SetupFamily groups steps whose setups are shared when run back to back.
func SetupFamily(family string) Option {
	return func(s *Step) error { s.SetupFamily = family; return nil }
}

// Optional lets the step be skipped.
func Optional() Option { return func(s *Step) error { s.Optional = true; return nil } }

// Transfer lets the next step start on batches of this size (e.g. "10 ea") as they pass.
func Transfer(batch string) Option {
	return func(s *Step) error {
		q, err := units.Parse(batch)
		if err != nil {
			return fmt.Errorf("transfer batch: %w", err)
		}
		s.TransferQty = q
		return nil
	}
}

// Yield sets the expected yield and tolerance as fractions, e.g. Yield(0.98, 0.01).
func Yield(expected, tolerance float64) Option {
	return func(s *Step) error {
		s.ExpectedYield, s.YieldTolerance = decimal.NewFromFloat(expected), decimal.NewFromFloat(tolerance)
		return nil
	}
}

// Then sets explicit successors: one is a jump, several are a parallel split. Use End to end
// the routing at this step.
func Then(steps ...string) Option {
	steps = slices.Clone(steps) // the caller may reuse its slice
	return func(s *Step) error { s.Successors = steps; return nil }
}

// Next sets a branch condition (an expr expression over Env) that returns the next step id,
// e.g. Next(`inSpec.bore ? "30" : "REWORK-10"`).
func Next(condition string) Option {
	return func(s *Step) error { s.Condition = condition; return nil }
}

// Join makes the step an AND join of its incoming parallel branches (see Step.Join).
func Join() Option { return func(s *Step) error { s.Join = true; return nil } }

// ReworkEntry marks the step as the start of a rework path, reached by rework only.
func ReworkEntry() Option { return func(s *Step) error { s.ReworkEntry = true; return nil } }
