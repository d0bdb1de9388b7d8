package equipment

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by this package; test for them with errors.Is.
var (
	// ErrInvalidHierarchy means a hierarchy failed validation; the error is a
	// *ValidationError listing every problem.
	ErrInvalidHierarchy = errors.New("equipment: invalid hierarchy")
	// ErrDuplicateID means two pieces of equipment share an id.
	ErrDuplicateID = errors.New("equipment: duplicate id")
	// ErrUnknownParent means an equipment's parent is not in the hierarchy.
	ErrUnknownParent = errors.New("equipment: unknown parent")
	// ErrLevelOrder means an equipment's parent is not at a higher level.
	ErrLevelOrder = errors.New("equipment: parent level must be above child level")
	// ErrCycle means parent links form a loop.
	ErrCycle = errors.New("equipment: parent cycle")
	// ErrInvalidField means a field has a value that is not allowed (empty id, unknown
	// level, negative duration, ...).
	ErrInvalidField = errors.New("equipment: invalid field")
	// ErrUnknownEquipment means an id is not in the hierarchy.
	ErrUnknownEquipment = errors.New("equipment: unknown equipment")
	// ErrNoSite means an equipment has no site among itself and its ancestors.
	ErrNoSite = errors.New("equipment: no site above equipment")
	// ErrNotCapable means an equipment does not meet a step's requirement.
	ErrNotCapable = errors.New("equipment: cannot perform step")
	// ErrInvalidSignal means a signal failed validation; the error is a *ValidationError
	// listing every problem.
	ErrInvalidSignal = errors.New("equipment: invalid signal")
	// ErrWrongEquipment means a signal or record was given to the Timeline of another
	// equipment.
	ErrWrongEquipment = errors.New("equipment: signal for another equipment")
	// ErrNoInterval means a reason correction names an interval start at which no state
	// interval begins.
	ErrNoInterval = errors.New("equipment: no state interval starts there")
	// ErrInvalidCorrection means a reason correction is incomplete or targets a running
	// interval.
	ErrInvalidCorrection = errors.New("equipment: invalid reason correction")
	// ErrInvalidWindow means an OEE window or planned stop has its end before its start.
	ErrInvalidWindow = errors.New("equipment: invalid time window")
	// ErrNoIdealCycleTime means OEE was asked for with an ideal cycle time that is not
	// positive.
	ErrNoIdealCycleTime = errors.New("equipment: ideal cycle time must be positive")
	// ErrOverflow means counts are too large for ideal time to be computed.
	ErrOverflow = errors.New("equipment: count too large")
	// ErrInvalidSnapshot means a persisted Timeline could not be restored.
	ErrInvalidSnapshot = errors.New("equipment: invalid timeline snapshot")
)

// Problem is one thing wrong with a value under validation.
type Problem struct {
	// Path locates the field, for example "equipment[3].parent" or "count.good".
	Path string `json:"path"`
	// Value is the offending value as text.
	Value string `json:"value"`
	// Reason says what is wrong and how to fix it.
	Reason string `json:"reason"`
	// Err is the sentinel error for this kind of problem.
	Err error `json:"-"`
}

// String formats the problem as `path "value": reason`.
func (p Problem) String() string {
	return fmt.Sprintf("%s %q: %s", p.Path, p.Value, p.Reason)
}

// ValidationError lists every problem found while validating one value. errors.Is matches
// its Kind (ErrInvalidHierarchy or ErrInvalidSignal) and the sentinel of each problem.
type ValidationError struct {
	// Kind is the umbrella sentinel, ErrInvalidHierarchy or ErrInvalidSignal.
	Kind error
	// Problems holds every problem, in the order found.
	Problems []Problem
}

// Error lists all problems, separated by "; ".
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	fmt.Fprintf(&b, " (%d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString("): ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns Kind and the sentinel of every problem, for errors.Is.
func (e *ValidationError) Unwrap() []error {
	errs := []error{e.Kind}
	for _, p := range e.Problems {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}

// problems collects validation problems.
type problems struct {
	list []Problem
}

func (ps *problems) add(sentinel error, path, value, reason string, args ...any) {
	ps.list = append(ps.list, Problem{Path: path, Value: value, Reason: fmt.Sprintf(reason, args...), Err: sentinel})
}

// err returns nil when there are no problems, else a *ValidationError of the given kind.
func (ps *problems) err(kind error) error {
	if len(ps.list) == 0 {
		return nil
	}
	return &ValidationError{Kind: kind, Problems: ps.list}
}
