package labor

import (
	"fmt"
	"time"
)

// Qualification is a skill a step may require, such as "TIG welding".
type Qualification struct {
	ID   string
	Name string
}

// Certification says a person holds a qualification at a level. It is valid from Issued
// (inclusive) until Expires (exclusive): valid at Issued, no longer valid at Expires. A zero
// Expires never expires.
type Certification struct {
	Person        string
	Qualification string // Qualification ID
	Level         int
	Issued        time.Time
	Expires       time.Time
}

// ValidAt reports whether the certification is in force at t: Issued <= t < Expires.
func (c Certification) ValidAt(t time.Time) bool {
	return !t.Before(c.Issued) && (c.Expires.IsZero() || t.Before(c.Expires))
}

// Policy is what a failed qualification check does.
type Policy int

// Policies.
const (
	// Block refuses the work.
	Block Policy = iota
	// WarnWithOverride lets the work go ahead only with a supervisor's signed override.
	WarnWithOverride
)

// Requirement is a qualification a step requires, at a minimum level, and the policy when
// the person falls short.
type Requirement struct {
	Qualification Qualification
	Level         int
	Policy        Policy
}

// QualificationError says why a person fails a Requirement. It wraps ErrNotQualified or
// ErrQualificationExpired.
type QualificationError struct {
	Person        string
	Qualification Qualification
	Required      int       // the required level
	Held          int       // the best level held in force at the instant; 0 when none
	Expired       time.Time // when the person's last sufficient certification expired; zero unless expired
	At            time.Time // the instant checked
	err           error
}

// Error names the person, the qualification, the levels and, when expired, the expiry.
func (e *QualificationError) Error() string {
	q := fmt.Sprintf("%q (%s) level %d", e.Qualification.ID, e.Qualification.Name, e.Required)
	at := e.At.UTC().Format(time.RFC3339)
	switch {
	case !e.Expired.IsZero():
		return fmt.Sprintf("%s: person %q's certification of %s expired at %s (checked at %s); renew the certification",
			e.err, e.Person, q, e.Expired.UTC().Format(time.RFC3339), at)
	case e.Held > 0:
		return fmt.Sprintf("%s: person %q holds level %d of %s at %s; certify the person at the required level or assign someone qualified",
			e.err, e.Person, e.Held, q, at)
	default:
		return fmt.Sprintf("%s: person %q holds no certification of %s in force at %s; certify the person or assign someone qualified",
			e.err, e.Person, q, at)
	}
}

// Unwrap returns ErrNotQualified or ErrQualificationExpired.
func (e *QualificationError) Unwrap() error { return e.err }

// OverrideRequired is the result of a failed check under WarnWithOverride: the engine may
// proceed only with a supervisor's signed override, which it verifies. It wraps both
// ErrOverrideRequired and the *QualificationError.
type OverrideRequired struct {
	Problem *QualificationError
}

// Error says an override is needed and why.
func (e *OverrideRequired) Error() string {
	return fmt.Sprintf("%s: %s; proceed only with a supervisor's signed override", ErrOverrideRequired, e.Problem)
}

// Unwrap returns ErrOverrideRequired and the qualification problem.
func (e *OverrideRequired) Unwrap() []error { return []error{ErrOverrideRequired, e.Problem} }

// Check reports whether person is qualified for req at instant at, judging only the
// certifications in certs that belong to person. It returns nil when a certification of the
// qualification at req.Level or above is in force at at. Otherwise, under Block, a
// *QualificationError wrapping ErrQualificationExpired when a sufficient certification had
// expired by at (naming the latest expiry), else ErrNotQualified; under WarnWithOverride the
// same problem inside an *OverrideRequired.
func Check(person string, certs []Certification, req Requirement, at time.Time) error {
	qe := &QualificationError{Person: person, Qualification: req.Qualification, Required: req.Level, At: at, err: ErrNotQualified}
	for _, c := range certs {
		if c.Person != person || c.Qualification != req.Qualification.ID {
			continue
		}
		if c.ValidAt(at) {
			if c.Level >= req.Level {
				return nil
			}
			qe.Held = max(qe.Held, c.Level)
		} else if c.Level >= req.Level && !c.Expires.IsZero() && !at.Before(c.Expires) && c.Expires.After(qe.Expired) {
			qe.Expired = c.Expires
		}
	}
	if !qe.Expired.IsZero() {
		qe.err = ErrQualificationExpired
	}
	if req.Policy == WarnWithOverride {
		return &OverrideRequired{Problem: qe}
	}
	return qe
}
