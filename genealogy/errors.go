package genealogy

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of this package; test for them with errors.Is. Operations wrap them in a Problems
// error that says which field was wrong and how to fix it.
var (
	// ErrInvalid means a required field is missing or malformed.
	ErrInvalid = errors.New("genealogy: invalid input")
	// ErrQuantity means a quantity is zero or negative where it must be positive.
	ErrQuantity = errors.New("genealogy: quantity must be positive")
	// ErrUnit means a unit is unknown or cannot be converted into the lot's unit.
	ErrUnit = errors.New("genealogy: unit not usable")
	// ErrInsufficient means more is taken from a lot than it has on hand.
	ErrInsufficient = errors.New("genealogy: insufficient quantity on hand")
	// ErrNotAvailable means a lot or serial is on hold, quarantined, consumed, scrapped or
	// shipped, so it cannot be used that way.
	ErrNotAvailable = errors.New("genealogy: not available")
	// ErrExpired means a lot is past its expiry and the expiry policy blocks its use.
	ErrExpired = errors.New("genealogy: lot expired")
	// ErrMaterialMismatch means lots or serials of different materials (or units) were
	// combined, or a lot does not belong to the material given.
	ErrMaterialMismatch = errors.New("genealogy: material mismatch")
	// ErrCycle means an edge would make a lot its own ancestor, or a store returned a
	// genealogy with a cycle. Consume and Merge also return it for an edge whose levels
	// alone cannot rule a cycle out; Lift decides those exactly.
	ErrCycle = errors.New("genealogy: cycle")
)

// Problem is one thing wrong with the input of an operation.
type Problem struct {
	// Field names the input, for example "from.status" or "parts[2].qty".
	Field string
	// Value is the offending value as text.
	Value string
	// Err wraps one of this package's sentinels and says how to fix it.
	Err error
}

// Error returns "field (value): reason".
func (p Problem) Error() string {
	return fmt.Sprintf("%s (%q): %v", p.Field, p.Value, p.Err)
}

// Unwrap returns the problem's error, so errors.Is finds the sentinel.
func (p Problem) Unwrap() error { return p.Err }

// Problems lists every problem an operation found. errors.Is matches any of them.
type Problems []Problem

// Error joins the problems.
func (ps Problems) Error() string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Error()
	}
	if len(ps) == 1 {
		return parts[0]
	}
	return fmt.Sprintf("%d problems: %s", len(ps), strings.Join(parts, "; "))
}

// Unwrap returns the problems' errors so errors.Is and errors.As look into each.
func (ps Problems) Unwrap() []error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p.Err
	}
	return errs
}

// add records a problem; format and args describe what is wrong and how to fix it.
func (ps *Problems) add(field, value string, sentinel error, format string, args ...any) {
	*ps = append(*ps, Problem{Field: field, Value: value, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)})
}

// err returns ps as an error, or nil when there is no problem.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}
