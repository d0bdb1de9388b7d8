package dispatch

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/taktmes/takt/units"
)

// Errors returned by this package; test for them with errors.Is.
var (
	// ErrInvalidCandidate means a Candidate misses facts the package needs; the error is a
	// *ValidationError listing every problem.
	ErrInvalidCandidate = errors.New("dispatch: invalid candidate")
	// ErrUnknownCandidate means a Board holds no candidate with the given key.
	ErrUnknownCandidate = errors.New("dispatch: unknown candidate")
)

// Key identifies a candidate: a lot queued at a step. A lot is queued at several steps at
// once only on parallel branches of its routing; each is its own candidate.
type Key struct {
	Lot  string
	Step string
}

// String returns "lot@step".
func (k Key) String() string { return k.Lot + "@" + k.Step }

// HoldKind says what a hold sits on.
type HoldKind string

// The kinds of hold that block dispatch.
const (
	HoldLot       HoldKind = "lot"
	HoldWorkOrder HoldKind = "work order"
	HoldEquipment HoldKind = "equipment"
	HoldMaterial  HoldKind = "material"
)

// Hold is an active hold that blocks a candidate: what it sits on, that object's id and the
// hold reason, for example {HoldLot, "L-7", "CONTAMINATION"}.
type Hold struct {
	Kind   HoldKind
	ID     string
	Reason string
}

// Shortage is a component the operation consumes that is not available in the required
// quantity: Short is how much is missing, for example {"SEAL-KIT", 2 ea}.
type Shortage struct {
	Material string
	Short    units.Quantity
}

// Candidate is one lot/operation queued at a step, as plain facts the engine gathers from
// routing, quality, genealogy and labor. The package never changes a Candidate.
type Candidate struct {
	Lot       string // lot id
	WorkOrder string // work order id
	Step      string // routing step id the lot is queued at
	// WorkCenters that can run the step: the primary first, then the alternates.
	WorkCenters []string
	// Equipment units that can run the step (a fixture that fits only some machines); empty
	// means any unit of the work center.
	Equipment []string

	Priority    int       // work order priority; 1 is the most urgent, as in ERP practice
	Due         time.Time // work order due date (UTC)
	ReleasedAt  time.Time // when the work order was released (UTC); zero if not released
	QueuedSince time.Time // when the lot became queued at this step (UTC)

	Quantity       units.Quantity // quantity of the lot at this step
	OpTime         time.Duration  // remaining processing time of this operation
	RemainingTime  time.Duration  // remaining processing time of this and all later steps
	RemainingSteps int            // steps left including this one (at least 1)

	SetupFamily string // setup family of the operation; equal families need no changeover
	Customer    string // customer of the work order

	// OpenPredecessors are the steps that must complete before this one and have not.
	OpenPredecessors []string
	// Holds active on the lot, the work order or the material (equipment holds of the
	// requesting unit go in Request.Holds).
	Holds []Hold
	// Shortages of components the operation consumes.
	Shortages []Shortage
	// Qualifications an operator needs to run the step.
	Qualifications []string
	// Released reports whether the work order is released to the floor.
	Released bool
}

// Key returns the candidate's key.
func (c *Candidate) Key() Key { return Key{Lot: c.Lot, Step: c.Step} }

// Problem is one thing wrong with an input: the field path, the offending value and why.
type Problem struct {
	Field  string
	Value  any
	Reason string
}

// String returns "field (value): reason".
func (p Problem) String() string { return fmt.Sprintf("%s (%v): %s", p.Field, p.Value, p.Reason) }

// ValidationError lists every problem found in a Candidate. It matches ErrInvalidCandidate.
type ValidationError struct {
	Key      Key
	Problems []Problem
}

// Error lists the problems.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return fmt.Sprintf("%v %s: %s", ErrInvalidCandidate, e.Key, strings.Join(parts, "; "))
}

// Unwrap returns ErrInvalidCandidate.
func (e *ValidationError) Unwrap() error { return ErrInvalidCandidate }

// Validate checks that the candidate carries the facts dispatch needs and returns a
// *ValidationError listing every problem, or nil.
func (c *Candidate) Validate() error {
	var ps []Problem
	add := func(field string, value any, reason string) {
		ps = append(ps, Problem{Field: field, Value: value, Reason: reason})
	}
	for _, f := range []struct{ name, value string }{{"Lot", c.Lot}, {"WorkOrder", c.WorkOrder}, {"Step", c.Step}} {
		if f.value == "" {
			add(f.name, f.value, "must not be empty; set the id")
		}
	}
	if len(c.WorkCenters) == 0 {
		add("WorkCenters", c.WorkCenters, "must list at least the primary work center of the step")
	}
	for i, wc := range c.WorkCenters {
		if wc == "" {
			add(fmt.Sprintf("WorkCenters[%d]", i), wc, "must not be empty")
		}
	}
	for i, eq := range c.Equipment {
		if eq == "" {
			add(fmt.Sprintf("Equipment[%d]", i), eq, "must not be empty")
		}
	}
	if c.Due.IsZero() {
		add("Due", c.Due, "must be set; use the work order due date")
	}
	if c.QueuedSince.IsZero() {
		add("QueuedSince", c.QueuedSince, "must be set; use the time the lot was queued at the step")
	}
	if c.Quantity.IsNegative() {
		add("Quantity", c.Quantity, "must not be negative")
	}
	if c.OpTime < 0 {
		add("OpTime", c.OpTime, "must not be negative")
	}
	if c.RemainingTime < c.OpTime {
		add("RemainingTime", c.RemainingTime, fmt.Sprintf("must include this operation's %v", c.OpTime))
	}
	if c.RemainingSteps < 1 {
		add("RemainingSteps", c.RemainingSteps, "must be at least 1 (this step counts)")
	}
	for i, h := range c.Holds {
		switch h.Kind {
		case HoldLot, HoldWorkOrder, HoldEquipment, HoldMaterial:
		default:
			add(fmt.Sprintf("Holds[%d].Kind", i), h.Kind, "must be lot, work order, equipment or material")
		}
		if h.ID == "" {
			add(fmt.Sprintf("Holds[%d].ID", i), h.ID, "must name the held object")
		}
	}
	for i, s := range c.Shortages {
		if s.Material == "" {
			add(fmt.Sprintf("Shortages[%d].Material", i), s.Material, "must name the component")
		}
		if !s.Short.IsPositive() {
			add(fmt.Sprintf("Shortages[%d].Short", i), s.Short, "must be positive; leave out components that are not short")
		}
	}
	if ps == nil {
		return nil
	}
	return &ValidationError{Key: c.Key(), Problems: ps}
}
