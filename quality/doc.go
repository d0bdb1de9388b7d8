// Package quality holds Takt's quality rules as plain Go over values: inspection plans and
// their sampling, evaluation of recorded results against specification limits, reactions to
// out-of-spec results (built-in actions and expr rules), statistical process control charts
// with Western Electric and Nelson rules, process capability, non-conformance records with
// their disposition state machine, and holds.
//
// The package stores nothing and never reads the clock: the engine (package mes) loads
// records, calls these functions with the time and the acting person, and commits what they
// return. Functions that change a record return the new record and, where a person must sign,
// the meaning of the electronic signature the engine has to bind before committing
// (DispositionSignature, ReleaseSignature).
//
// Measurements are decimal.Decimal values exactly as recorded; statistics (SPC, capability,
// operating-characteristic curves) are float64.
package quality
