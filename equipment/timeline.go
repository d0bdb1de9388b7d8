package equipment

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Span is the half-open time range [Start, End).
type Span struct {
	// Start is the first instant in the span.
	Start time.Time `json:"start"`
	// End is the first instant after the span.
	End time.Time `json:"end"`
}

// Duration returns End − Start.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

func (s Span) check(what string) error {
	if s.End.Before(s.Start) {
		return fmt.Errorf("%w: %s ends at %s, before it starts at %s; swap or fix the times",
			ErrInvalidWindow, what, s.End.Format(time.RFC3339Nano), s.Start.Format(time.RFC3339Nano))
	}
	return nil
}

// Timeline is the signal-derived state of one equipment: its state history, part counts,
// operator reason corrections and active alarms, plus the per-source memory that makes
// duplicated and reordered signals harmless. Applying the same set of signals in any order,
// with any duplicates, yields the same timeline. Create it with NewTimeline; it is not safe
// for concurrent use (the engine serialises access per equipment).
type Timeline struct {
	equipment   string
	sources     map[string]*seqWindow
	changes     []change     // sorted by (At, Source, Seq)
	counts      []countAt    // sorted by At, one entry per distinct At
	corrections []Correction // in the order recorded
	alarms      map[string]alarmAt
}

// change is one state signal.
type change struct {
	At     time.Time    `json:"at"`
	Source string       `json:"source"`
	Seq    uint64       `json:"seq"`
	State  MachineState `json:"state"`
	Reason string       `json:"reason,omitempty"`
}

func (c change) compare(o change) int {
	if n := c.At.Compare(o.At); n != 0 {
		return n
	}
	if n := strings.Compare(c.Source, o.Source); n != 0 {
		return n
	}
	return cmp.Compare(c.Seq, o.Seq)
}

// countAt is the sum of the count signals with one timestamp.
type countAt struct {
	At     time.Time `json:"at"`
	Good   int64     `json:"good"`
	Reject int64     `json:"reject"`
}

// alarmAt is the latest signal for one alarm code.
type alarmAt struct {
	Code   string    `json:"code"`
	Text   string    `json:"text,omitempty"`
	Active bool      `json:"active"`
	At     time.Time `json:"at"`
	Source string    `json:"source"`
	Seq    uint64    `json:"seq"`
}

// NewTimeline returns an empty timeline for the equipment with id equipment.
func NewTimeline(equipment string) *Timeline {
	return &Timeline{equipment: equipment, sources: map[string]*seqWindow{}, alarms: map[string]alarmAt{}}
}

// Equipment returns the id of the equipment this timeline belongs to.
func (t *Timeline) Equipment() string { return t.equipment }

// Apply validates s and applies it once. A new signal is placed in time order however late
// it arrives (Applied); a repeated (source, seq) changes nothing (Duplicate); a seq too far
// below the source's highest is refused (TooOld, see DedupWindow). An invalid signal
// (ErrInvalidSignal) or one about other equipment (ErrWrongEquipment) is an error and
// changes nothing. Measurements are only de-duplicated: the caller forwards an Applied
// measurement to data collection.
func (t *Timeline) Apply(s Signal) (Outcome, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	if s.Equipment != t.equipment {
		return "", fmt.Errorf("%w: signal %s/%d is about %q, this timeline is %q; route it by its equipment",
			ErrWrongEquipment, s.Source, s.Seq, s.Equipment, t.equipment)
	}
	w := t.sources[s.Source]
	if w == nil {
		w = &seqWindow{}
		t.sources[s.Source] = w
	}
	if o := w.check(s.Seq); o != Applied {
		return o, nil
	}
	w.mark(s.Seq)
	t.place(s)
	return Applied, nil
}

// Replay applies s, a signal Apply applied once before and its host kept, without
// de-duplication: a host rebuilding a timeline from the signals it stored (each once)
// replays them in time order, which need not be their sources' seq order, and must get
// every one of them back. s must be valid and about this timeline's equipment.
func (t *Timeline) Replay(s Signal) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if s.Equipment != t.equipment {
		return fmt.Errorf("%w: signal %s/%d is about %q, this timeline is %q", ErrWrongEquipment, s.Source, s.Seq, s.Equipment, t.equipment)
	}
	t.place(s)
	return nil
}

// place puts s, validated and new, on the timeline.
func (t *Timeline) place(s Signal) {
	at := s.At.UTC()
	switch s.Kind {
	case KindCount:
		t.addCount(countAt{At: at, Good: s.Count.Good, Reject: s.Count.Reject})
	case KindState:
		t.addChange(change{At: at, Source: s.Source, Seq: s.Seq, State: s.State.State, Reason: s.State.Reason})
	case KindAlarm:
		a := alarmAt{Code: s.Alarm.Code, Text: s.Alarm.Text, Active: s.Alarm.Active, At: at, Source: s.Source, Seq: s.Seq}
		if old, ok := t.alarms[a.Code]; !ok || old.key().compare(a.key()) < 0 {
			t.alarms[a.Code] = a
		}
	}
}

func (a alarmAt) key() change { return change{At: a.At, Source: a.Source, Seq: a.Seq} }

func (t *Timeline) addChange(c change) {
	n := len(t.changes)
	if n == 0 || t.changes[n-1].compare(c) < 0 {
		t.changes = append(t.changes, c)
		return
	}
	i, _ := slices.BinarySearchFunc(t.changes, c, change.compare)
	t.changes = slices.Insert(t.changes, i, c)
}

func (t *Timeline) addCount(c countAt) {
	n := len(t.counts)
	if n == 0 || t.counts[n-1].At.Before(c.At) {
		t.counts = append(t.counts, c)
		return
	}
	i, found := slices.BinarySearchFunc(t.counts, c.At, func(e countAt, at time.Time) int { return e.At.Compare(at) })
	if found {
		t.counts[i].Good += c.Good
		t.counts[i].Reject += c.Reject
		return
	}
	t.counts = slices.Insert(t.counts, i, c)
}

// Correction is an operator's reason for a state interval, recorded after the fact. It
// never edits the interval: it is kept alongside it, and the correction with the latest At
// wins (among equal At, the one recorded last).
type Correction struct {
	// Interval is when the corrected state interval began (Interval.Began in History).
	Interval time.Time `json:"interval"`
	// Reason is the reason code assigned.
	Reason string `json:"reason"`
	// By is who assigned it.
	By string `json:"by"`
	// At is when it was assigned.
	At time.Time `json:"at"`
	// Note is optional free text.
	Note string `json:"note,omitempty"`
}

// CorrectReason records c. The interval must start at a state change of this timeline and
// must not be a running interval (ErrNoInterval, ErrInvalidCorrection); Reason, By and At
// are required.
func (t *Timeline) CorrectReason(c Correction) error {
	var missing []string
	if c.Reason == "" {
		missing = append(missing, "reason")
	}
	if c.By == "" {
		missing = append(missing, "by")
	}
	if c.At.IsZero() || !representable(c.At) {
		missing = append(missing, "at")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s missing; a correction says what the reason is, who assigned it and when",
			ErrInvalidCorrection, strings.Join(missing, ", "))
	}
	c.Interval, c.At = c.Interval.UTC(), c.At.UTC()
	i, ok := t.intervalAt(c.Interval)
	if !ok {
		return fmt.Errorf("%w: %s on %q; use the Began time of an interval from History",
			ErrNoInterval, c.Interval.Format(time.RFC3339Nano), t.equipment)
	}
	if t.changes[i].State == Running {
		return fmt.Errorf("%w: the interval at %s is running; reasons belong to stops, idle, setup and down time",
			ErrInvalidCorrection, c.Interval.Format(time.RFC3339Nano))
	}
	t.corrections = append(t.corrections, c)
	return nil
}

// intervalAt returns the index of the change that defines the interval starting at at:
// the last change with that exact time.
func (t *Timeline) intervalAt(at time.Time) (int, bool) {
	i := t.firstAfter(at) - 1
	return i, i >= 0 && t.changes[i].At.Equal(at)
}

// firstAfter returns the index of the first change later than at.
func (t *Timeline) firstAfter(at time.Time) int {
	i, _ := slices.BinarySearchFunc(t.changes, at, func(c change, at time.Time) int {
		if c.At.After(at) {
			return 1
		}
		return -1
	})
	return i
}

// Corrections returns every reason correction in the order recorded, for audit.
func (t *Timeline) Corrections() []Correction { return slices.Clone(t.corrections) }

// reasons returns the effective corrected reason per interval start.
func (t *Timeline) reasons() map[time.Time]Correction {
	out := make(map[time.Time]Correction, len(t.corrections))
	for _, c := range t.corrections {
		if old, ok := out[c.Interval]; !ok || !c.At.Before(old.At) {
			out[c.Interval] = c
		}
	}
	return out
}

// Interval is a stretch of time in one machine state, as returned by History.
type Interval struct {
	// Start and End bound the interval, clipped to the window asked for.
	Span
	// Began is when the state began, before clipping: the id of the interval, to pass as
	// Correction.Interval. Zero for Unknown.
	Began time.Time `json:"began,omitzero"`
	// State is the machine state; Unknown before the first state signal.
	State MachineState `json:"state"`
	// DeviceReason is the reason code the device sent with the state, if any.
	DeviceReason string `json:"device_reason,omitempty"`
	// Reason is the effective reason: the winning correction's, else DeviceReason.
	Reason string `json:"reason,omitempty"`
	// Correction is the winning correction, nil when there is none.
	Correction *Correction `json:"correction,omitempty"`
	// Good and Reject are the parts counted inside the interval.
	Good   int64 `json:"good"`
	Reject int64 `json:"reject"`
}

// History returns the state intervals overlapping window, clipped to it, in time order,
// with the counts that happened in each. Time before the first state signal is Unknown; the
// last state lasts until the end of the window, so pass windows that end no later than the
// present. Each state signal starts an interval (repeats of a state are not merged);
// zero-length intervals are left out.
func (t *Timeline) History(window Span) ([]Interval, error) {
	if err := window.check("window"); err != nil {
		return nil, err
	}
	from, to := window.Start.UTC(), window.End.UTC()
	reasons := t.reasons()
	out := make([]Interval, 0, t.firstAfter(to)-t.firstAfter(from)+2)
	emit := func(start, end time.Time, c change, startAt time.Time) {
		if !start.Before(end) {
			return
		}
		iv := Interval{Span: Span{start, end}, Began: startAt, State: c.State, DeviceReason: c.Reason, Reason: c.Reason}
		if cor, ok := reasons[startAt]; ok && c.State != Unknown {
			winner := cor
			iv.Reason, iv.Correction = cor.Reason, &winner
		}
		out = append(out, iv)
	}
	i := t.firstAfter(from) - 1
	if i < 0 {
		end := to
		if len(t.changes) > 0 && t.changes[0].At.Before(to) {
			end = t.changes[0].At
		}
		emit(from, end, change{State: Unknown}, time.Time{})
		i = 0
	}
	for ; i < len(t.changes) && t.changes[i].At.Before(to); i++ {
		end := to
		if i+1 < len(t.changes) && t.changes[i+1].At.Before(to) {
			end = t.changes[i+1].At
		}
		emit(maxTime(t.changes[i].At, from), end, t.changes[i], t.changes[i].At)
	}
	k := t.firstCountFrom(from)
	for j := range out {
		for ; k < len(t.counts) && t.counts[k].At.Before(out[j].End); k++ {
			out[j].Good += t.counts[k].Good
			out[j].Reject += t.counts[k].Reject
		}
	}
	return out, nil
}

func (t *Timeline) firstCountFrom(from time.Time) int {
	i, _ := slices.BinarySearchFunc(t.counts, from, func(e countAt, at time.Time) int { return e.At.Compare(at) })
	return i
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Totals returns the good and reject parts counted in window.
func (t *Timeline) Totals(window Span) (good, reject int64, err error) {
	if err := window.check("window"); err != nil {
		return 0, 0, err
	}
	for k := t.firstCountFrom(window.Start); k < len(t.counts) && t.counts[k].At.Before(window.End); k++ {
		good += t.counts[k].Good
		reject += t.counts[k].Reject
	}
	return good, reject, nil
}

// ActiveAlarm is an alarm currently raised.
type ActiveAlarm struct {
	// Code identifies the alarm.
	Code string `json:"code"`
	// Text is the description the device sent.
	Text string `json:"text,omitempty"`
	// Since is when it was raised.
	Since time.Time `json:"since"`
}

// ActiveAlarms returns the alarms whose latest signal (by time) raised them, sorted by
// code.
func (t *Timeline) ActiveAlarms() []ActiveAlarm {
	var out []ActiveAlarm
	for _, a := range t.alarms {
		if a.Active {
			out = append(out, ActiveAlarm{Code: a.Code, Text: a.Text, Since: a.At})
		}
	}
	slices.SortFunc(out, func(a, b ActiveAlarm) int { return strings.Compare(a.Code, b.Code) })
	return out
}

// Prune forgets history before cut to bound memory: counts before cut, state changes
// superseded before cut (the one in effect at cut is kept) and corrections of forgotten
// intervals. De-duplication memory and alarms are kept. Ask History and OEE only for
// windows starting at or after cut afterwards.
func (t *Timeline) Prune(cut time.Time) {
	if i := t.firstAfter(cut) - 1; i > 0 {
		t.changes = slices.Delete(t.changes, 0, i)
	}
	t.counts = slices.Delete(t.counts, 0, t.firstCountFrom(cut))
	keep := t.corrections[:0]
	for _, c := range t.corrections {
		if len(t.changes) > 0 && !c.Interval.Before(t.changes[0].At) {
			keep = append(keep, c)
		}
	}
	t.corrections = keep
}
