package equipment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// Kind says which payload a Signal carries.
type Kind string

// The signal kinds.
const (
	// KindCount carries part count increments (Signal.Count).
	KindCount Kind = "count"
	// KindState carries a machine state change (Signal.State).
	KindState Kind = "state"
	// KindMeasurement carries a process value (Signal.Measurement).
	KindMeasurement Kind = "measurement"
	// KindAlarm carries an alarm raised or cleared (Signal.Alarm).
	KindAlarm Kind = "alarm"
)

// MachineState is the state a machine reports.
type MachineState string

// Machine states. A device reports Running, Idle, Down, Setup or PlannedStop; Unknown
// appears only in history, for time before the first state signal.
const (
	// Running: producing. Counts toward OEE run time.
	Running MachineState = "running"
	// Idle: able to run but not running (starved, blocked, waiting). Unplanned downtime.
	Idle MachineState = "idle"
	// Down: broken or stopped by a fault. Unplanned downtime.
	Down MachineState = "down"
	// Setup: changeover or adjustment. Unplanned downtime in OEE (ISO 22400 setup time).
	Setup MachineState = "setup"
	// PlannedStop: a stop that was planned (break, meeting, planned maintenance); excluded
	// from planned busy time like a planned stop passed to OEE.
	PlannedStop MachineState = "planned_stop"
	// Unknown: no state signal has been received yet for this time. Counted as unplanned
	// downtime in OEE, since nothing says the machine ran.
	Unknown MachineState = "unknown"
)

func (s MachineState) reportable() bool {
	switch s {
	case Running, Idle, Down, Setup, PlannedStop:
		return true
	}
	return false
}

// Signal is one message from a device about one equipment. Exactly one payload is set, the
// one named by Kind. JSON layout (field names as in the tags; "at" is RFC 3339; a
// measurement value is a decimal number or a decimal string, kept exact):
//
//	{"source":"plc-7","seq":1042,"at":"2025-03-02T06:15:04Z","equipment":"CNC-2",
//	 "kind":"count","count":{"good":3,"reject":1}}
type Signal struct {
	// Source identifies the sender (device, PLC, gateway session). Together with Seq it
	// makes the signal unique.
	Source string `json:"source"`
	// Seq is the sender's sequence number: starts at 1 or above and increases by one per
	// message for the sender's lifetime. Gaps are allowed; repeating one means a duplicate.
	Seq uint64 `json:"seq"`
	// At is when the event happened on the machine (not when it was received).
	At time.Time `json:"at"`
	// Equipment is the id of the equipment the signal is about.
	Equipment string `json:"equipment"`
	// Kind names the payload.
	Kind Kind `json:"kind"`
	// Count is set for KindCount.
	Count *Count `json:"count,omitempty"`
	// State is set for KindState.
	State *StateChange `json:"state,omitempty"`
	// Measurement is set for KindMeasurement.
	Measurement *Measurement `json:"measurement,omitempty"`
	// Alarm is set for KindAlarm.
	Alarm *Alarm `json:"alarm,omitempty"`
}

// Count is a part count increment since the previous count signal of the same source (not
// a running total).
type Count struct {
	// Good is the number of good parts produced, 0 or more.
	Good int64 `json:"good"`
	// Reject is the number of rejected parts produced, 0 or more.
	Reject int64 `json:"reject"`
}

// StateChange says the machine entered State at Signal.At.
type StateChange struct {
	// State is the new state; Unknown is not allowed.
	State MachineState `json:"state"`
	// Reason is the device's reason code, if it has one (for example "E-STOP"). Operators
	// may correct it later (Timeline.CorrectReason).
	Reason string `json:"reason,omitempty"`
}

// Measurement is a process value read from the machine.
type Measurement struct {
	// Tag names the value, for example "spindle.temp".
	Tag string `json:"tag"`
	// Value is the exact decimal value.
	Value decimal.Decimal `json:"value"`
	// Unit is the unit of measure; empty for dimensionless values.
	Unit string `json:"unit,omitempty"`
}

// Alarm is an alarm raised (Active) or cleared on the machine.
type Alarm struct {
	// Code identifies the alarm.
	Code string `json:"code"`
	// Text describes it for people.
	Text string `json:"text,omitempty"`
	// Active is true when the alarm is raised, false when cleared.
	Active bool `json:"active"`
}

// Limits on signal fields; signals come from devices and networks and are not trusted.
const (
	// MaxTextLen is the longest source, equipment, tag, code, reason, unit or text accepted,
	// in bytes.
	MaxTextLen = 256
	// MaxCountIncrement is the largest good or reject increment in one count signal.
	MaxCountIncrement = 1_000_000_000
	// MaxSignalBytes is the largest JSON document DecodeSignal reads.
	MaxSignalBytes = 64 << 10
	// maxDecimalDigits and maxDecimalExponent bound a measurement value.
	maxDecimalDigits   = 40
	maxDecimalExponent = 40
)

// Validate returns nil for a well-formed signal, else a *ValidationError (ErrInvalidSignal)
// listing every problem.
func (s Signal) Validate() error {
	var ps problems
	text(&ps, "source", s.Source, true)
	text(&ps, "equipment", s.Equipment, true)
	if s.Seq == 0 {
		ps.add(ErrInvalidField, "seq", "0", "sequence numbers start at 1; a missing seq reads as 0")
	}
	if s.At.IsZero() {
		ps.add(ErrInvalidField, "at", "", "time is missing; send when the event happened (RFC 3339)")
	} else if !representable(s.At) {
		ps.add(ErrInvalidField, "at", s.At.String(), "year is outside 0001-9999; check the device clock")
	}
	payloads := [...]struct {
		kind Kind
		set  bool
	}{{KindCount, s.Count != nil}, {KindState, s.State != nil}, {KindMeasurement, s.Measurement != nil}, {KindAlarm, s.Alarm != nil}}
	known := false
	for _, p := range payloads {
		switch {
		case p.kind == s.Kind:
			known = true
			if !p.set {
				ps.add(ErrInvalidField, string(p.kind), "", "kind %q needs its %q payload", s.Kind, p.kind)
			}
		case p.set:
			ps.add(ErrInvalidField, string(p.kind), "", "payload %q does not match kind %q; send exactly one payload, the one kind names", p.kind, s.Kind)
		}
	}
	if !known {
		ps.add(ErrInvalidField, "kind", string(s.Kind), "unknown kind; use count, state, measurement or alarm")
	}
	if c := s.Count; c != nil {
		count(&ps, "count.good", c.Good)
		count(&ps, "count.reject", c.Reject)
	}
	if st := s.State; st != nil {
		if !st.State.reportable() {
			ps.add(ErrInvalidField, "state.state", string(st.State), "unknown state; use running, idle, down, setup or planned_stop")
		}
		text(&ps, "state.reason", st.Reason, false)
	}
	if m := s.Measurement; m != nil {
		text(&ps, "measurement.tag", m.Tag, true)
		text(&ps, "measurement.unit", m.Unit, false)
		if e := m.Value.Exponent(); e > maxDecimalExponent || e < -maxDecimalExponent || m.Value.NumDigits() > maxDecimalDigits {
			ps.add(ErrInvalidField, "measurement.value", "", "value is out of range: at most %d digits and exponent within ±%d", maxDecimalDigits, maxDecimalExponent)
		}
	}
	if a := s.Alarm; a != nil {
		text(&ps, "alarm.code", a.Code, true)
		text(&ps, "alarm.text", a.Text, false)
	}
	return ps.err(ErrInvalidSignal)
}

func text(ps *problems, path, v string, required bool) {
	switch {
	case required && v == "":
		ps.add(ErrInvalidField, path, v, "is empty; it is required")
	case len(v) > MaxTextLen:
		ps.add(ErrInvalidField, path, v[:32]+"...", "is %d bytes long; the limit is %d", len(v), MaxTextLen)
	}
}

func count(ps *problems, path string, n int64) {
	switch {
	case n < 0:
		ps.add(ErrInvalidField, path, strconv.FormatInt(n, 10), "is negative; counts are increments of 0 or more")
	case n > MaxCountIncrement:
		ps.add(ErrInvalidField, path, strconv.FormatInt(n, 10), "exceeds %d per signal; send increments, not running totals", MaxCountIncrement)
	}
}

// DecodeSignal reads one JSON signal (the layout documented on Signal), converts At to UTC
// and validates it. Unknown fields, trailing data and documents over MaxSignalBytes are
// errors (ErrInvalidSignal), so a misspelt field is reported instead of silently dropped.
func DecodeSignal(data []byte) (Signal, error) {
	if len(data) > MaxSignalBytes {
		return Signal{}, fmt.Errorf("%w: document is %d bytes; the limit is %d", ErrInvalidSignal, len(data), MaxSignalBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Signal
	if err := dec.Decode(&s); err != nil {
		return Signal{}, fmt.Errorf("%w: not a signal document: %v", ErrInvalidSignal, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Signal{}, fmt.Errorf("%w: data after the signal document; send one signal per message", ErrInvalidSignal)
	}
	s.At = s.At.UTC()
	if err := s.Validate(); err != nil {
		return Signal{}, err
	}
	return s, nil
}

// representable reports whether t has a year RFC 3339 can write, so it can be persisted.
func representable(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1 && y <= 9999
}
