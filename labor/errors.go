package labor

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by this package; test for them with errors.Is. Each returned error wraps
// one of these and says what was wrong and how to fix it.
var (
	// ErrInvalid means a value (a record, a calendar, a run) is malformed; the error is a
	// *ValidationError listing every problem.
	ErrInvalid = errors.New("labor: invalid")
	// ErrWrongPerson means a record names another person than the ledger it was applied to:
	// a timer would have been closed (or opened) for the wrong person.
	ErrWrongPerson = errors.New("labor: record belongs to another person")
	// ErrAlreadyClockedIn means a clock-in while already clocked in.
	ErrAlreadyClockedIn = errors.New("labor: already clocked in")
	// ErrNotClockedIn means a booking while clocked out.
	ErrNotClockedIn = errors.New("labor: not clocked in")
	// ErrOnBreak means a booking while on break.
	ErrOnBreak = errors.New("labor: on break")
	// ErrNotOnBreak means a break end without a break.
	ErrNotOnBreak = errors.New("labor: not on break")
	// ErrAlreadyLoggedOn means a log-on to a work center the person is already logged on to.
	ErrAlreadyLoggedOn = errors.New("labor: already logged on")
	// ErrNotLoggedOn means a log-off from, or labor at, a work center the person is not
	// logged on to.
	ErrNotLoggedOn = errors.New("labor: not logged on")
	// ErrAlreadyRunning means labor was started on an operation that already runs for the
	// person.
	ErrAlreadyRunning = errors.New("labor: operation already running")
	// ErrNotRunning means labor was stopped on an operation that does not run for the person
	// (never started, already stopped, or started by someone else).
	ErrNotRunning = errors.New("labor: operation not running")
	// ErrOutOfOrder means a record is earlier than the ledger's latest booking.
	ErrOutOfOrder = errors.New("labor: record out of order")
	// ErrDuplicateID means a record's ID is already in the ledger.
	ErrDuplicateID = errors.New("labor: duplicate record id")
	// ErrUnknownRecord means a correction references a record the ledger does not hold.
	ErrUnknownRecord = errors.New("labor: unknown record")
	// ErrAlreadyCorrected means a correction targets a record that another correction has
	// already superseded.
	ErrAlreadyCorrected = errors.New("labor: record already corrected")
	// ErrNotQualified means a person holds no valid certification of the required
	// qualification at the required level; the error is a *QualificationError.
	ErrNotQualified = errors.New("labor: not qualified")
	// ErrQualificationExpired means the person's certification of the required qualification
	// has expired; the error is a *QualificationError naming the expiry.
	ErrQualificationExpired = errors.New("labor: qualification expired")
	// ErrOverrideRequired means a qualification check failed under the WarnWithOverride
	// policy: the work may go ahead only with a supervisor's signed override. The error is
	// an *OverrideRequired that also wraps the *QualificationError.
	ErrOverrideRequired = errors.New("labor: supervisor override required")
)

// Problem is one thing wrong with a value: where (a path such as "Week[Monday][0].End"),
// the offending value, and why.
type Problem struct {
	Path   string
	Value  string
	Reason string
}

// ValidationError lists every problem found in a value. It wraps ErrInvalid.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems, one per line after the first.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s)", ErrInvalid, len(e.Problems))
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s = %q: %s", p.Path, p.Value, p.Reason)
	}
	return b.String()
}

// Unwrap returns ErrInvalid.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// problems collects Problems; err returns nil when there are none.
type problems []Problem

func (ps *problems) add(path string, value any, reason string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Value: fmt.Sprint(value), Reason: fmt.Sprintf(reason, args...)})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}
