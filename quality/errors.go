package quality

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by this package; test for them with errors.Is.
var (
	// ErrInvalidPlan means an inspection plan definition has problems; the error is a
	// *ValidationError listing all of them.
	ErrInvalidPlan = errors.New("quality: invalid inspection plan")
	// ErrInvalidRule means a reaction rule does not compile, is too long or too large, or
	// failed at run time (for example by exceeding its memory budget).
	ErrInvalidRule = errors.New("quality: invalid reaction rule")
	// ErrInvalidResult means a recorded inspection result does not fit its plan; the error is
	// a *ValidationError listing every problem.
	ErrInvalidResult = errors.New("quality: invalid inspection result")
	// ErrInspectionMissing means required inspection results are not recorded yet; the error
	// is a *MissingError naming each characteristic and how many results it still needs.
	ErrInspectionMissing = errors.New("quality: required inspection missing")
	// ErrInsufficientData means a chart, capability study or OC computation was given too
	// little or degenerate data (fewer points than needed, zero spread, sizes out of range).
	ErrInsufficientData = errors.New("quality: insufficient data")
	// ErrInvalidChart means a chart kind or rule name is not known.
	ErrInvalidChart = errors.New("quality: invalid chart or rule name")
	// ErrInvalidSampling means sampling-plan parameters are out of range.
	ErrInvalidSampling = errors.New("quality: invalid sampling parameters")
	// ErrInvalidNonConformance means a non-conformance or its disposition has problems; the
	// error is a *ValidationError listing all of them.
	ErrInvalidNonConformance = errors.New("quality: invalid non-conformance")
	// ErrInvalidHold means a hold or its release has problems; the error is a
	// *ValidationError listing all of them.
	ErrInvalidHold = errors.New("quality: invalid hold")
	// ErrWrongState means a transition is not allowed from the record's current status.
	ErrWrongState = errors.New("quality: transition not allowed in current state")
	// ErrOnHold means something is blocked by active holds; the error is an *OnHoldError
	// listing them.
	ErrOnHold = errors.New("quality: on hold")
)

// Problem is one thing wrong with an input: where (a field path such as
// "characteristics[2].usl"), the offending value, and why.
type Problem struct {
	Path   string
	Value  string
	Reason string
}

// String returns "path = \"value\": reason" (or "path: reason" without a value).
func (p Problem) String() string {
	if p.Value == "" {
		return fmt.Sprintf("%s: %s", p.Path, p.Reason)
	}
	return fmt.Sprintf("%s = %q: %s", p.Path, p.Value, p.Reason)
}

// ValidationError lists every problem found in one input. It matches its Kind with
// errors.Is (for example ErrInvalidPlan).
type ValidationError struct {
	Kind     error
	Problems []Problem
}

// Error lists every problem.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return fmt.Sprintf("%v: %d problem(s): %s", e.Kind, len(e.Problems), strings.Join(parts, "; "))
}

// Unwrap returns the sentinel kind so errors.Is works.
func (e *ValidationError) Unwrap() error { return e.Kind }

// problems collects Problems and turns them into a *ValidationError.
type problems struct {
	list []Problem
}

func (ps *problems) add(path, value, reason string, args ...any) {
	ps.list = append(ps.list, Problem{Path: path, Value: value, Reason: fmt.Sprintf(reason, args...)})
}

func (ps *problems) err(kind error) error {
	if len(ps.list) == 0 {
		return nil
	}
	return &ValidationError{Kind: kind, Problems: ps.list}
}
