package labor

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Operation identifies the operation labor is booked on: a step of a lot of a work order.
// Indirect work not tied to an operation (training, say) leaves it zero.
type Operation struct {
	WorkOrder string
	Lot       string
	Step      string
}

// IsZero reports whether o names no operation.
func (o Operation) IsZero() bool { return o == Operation{} }

// String formats o as "WorkOrder/Lot/Step".
func (o Operation) String() string { return o.WorkOrder + "/" + o.Lot + "/" + o.Step }

// Activity is the kind of labor booked on an operation.
type Activity string

// Activities.
const (
	Setup    Activity = "setup"    // preparing the equipment for the operation
	Run      Activity = "run"      // producing
	Indirect Activity = "indirect" // cleaning, training, waiting for material: needs a reason code
)

// Kind is what a Record books.
type Kind string

// Record kinds.
const (
	ClockIn    Kind = "clock-in"    // start of attendance
	ClockOut   Kind = "clock-out"   // end of attendance; stops all labor and logs off everywhere
	BreakStart Kind = "break-start" // start of a break: open labor stops accruing
	BreakEnd   Kind = "break-end"   // end of the break
	LogOn      Kind = "log-on"      // log on to WorkCenter
	LogOff     Kind = "log-off"     // log off WorkCenter; stops labor booked at it
	StartLabor Kind = "start-labor" // start labor on Op as Activity (Reason, Weight)
	StopLabor  Kind = "stop-labor"  // stop labor on Op (or, for indirect work without an operation, on Reason)
	Void       Kind = "void"        // a correction that removes the record it corrects
)

// maxWeight bounds a share weight; only the ratios of weights matter.
const maxWeight = 1000

// Record is one booking of a person's time. Records are never edited: a Correction is a new
// Record whose Correction field references the record it supersedes.
type Record struct {
	ID         string    // unique within the ledger, assigned by the engine
	Person     string    // whose time this is
	Kind       Kind      // what is booked
	At         time.Time // when it happened
	WorkCenter string    // LogOn, LogOff; optional on StartLabor (then the person must be logged on to it)
	Op         Operation // StartLabor, StopLabor
	Activity   Activity  // StartLabor
	Reason     string    // reason code: required for Indirect labor
	Weight     int       // StartLabor: share of concurrent time (1 to 1000); 0 means 1
	Correction *Correction
}

// Correction marks a record as a correction. Of is the ID of the record it supersedes (in
// every computation the correcting record stands in its place), or empty for a late entry
// (a booking that was forgotten, inserted at its At). Reason, Actor and At (when the
// correction was made) are required.
type Correction struct {
	Of     string
	Reason string
	Actor  string
	At     time.Time
}

// Timer is labor running on an operation.
type Timer struct {
	Record     string // the ID of the StartLabor record
	Op         Operation
	Activity   Activity
	Reason     string
	WorkCenter string
	Weight     int
	Since      time.Time
	Stopped    time.Time // when the labor stopped: set on the timers Apply reports stopped, zero while it runs
}

// key identifies a timer: the operation, or the reason code for indirect work without one.
type key struct {
	op     Operation
	reason string
}

func keyOf(op Operation, reason string) key {
	if op.IsZero() {
		return key{reason: reason}
	}
	return key{op: op}
}

func (k key) String() string {
	if k.op.IsZero() {
		return "indirect work " + fmt.Sprintf("%q", k.reason)
	}
	return "operation " + k.op.String()
}

// Status is where a person stands now.
type Status struct {
	ClockedIn   bool
	Since       time.Time // clock-in instant
	OnBreak     bool
	BreakSince  time.Time
	WorkCenters []string // logged on, sorted
	Timers      []Timer  // running labor, in start order
}

// state is the ledger's derived state: the present status and the closed history.
type state struct {
	in, onBreak       bool
	since, breakSince time.Time
	workCenters       map[string]time.Time
	timers            []Timer
	last              time.Time
	presence, breaks  []Interval
	runs              []run
}

func (s state) clone() state {
	s.workCenters = maps.Clone(s.workCenters)
	s.timers = slices.Clone(s.timers)
	s.presence = slices.Clone(s.presence)
	s.breaks = slices.Clone(s.breaks)
	s.runs = slices.Clone(s.runs)
	return s
}

// Ledger is one person's time ledger: the append-only log of their records and the state
// those records lead to. It is a value: Apply returns the next ledger and never changes the
// one it is called on. The zero Ledger belongs to nobody; use NewLedger or Replay.
type Ledger struct {
	person     string
	log        []Record
	ids        map[string]int    // record ID -> position in log
	correcting map[string]string // superseded record ID -> ID of the record superseding it
	st         state
}

// NewLedger returns the empty ledger of a person: clocked out, no history.
func NewLedger(person string) Ledger { return Ledger{person: person} }

// Replay rebuilds a person's ledger from their records in the order they were applied (the
// order the engine persisted them). It fails on a record Apply would have refused.
func Replay(person string, records []Record) (Ledger, error) {
	l := NewLedger(person)
	if _, err := l.apply(records); err != nil {
		return Ledger{}, fmt.Errorf("replaying %q's records: %w", person, err)
	}
	return l, nil
}

// Person returns the ID of the person the ledger belongs to.
func (l Ledger) Person() string { return l.person }

// Records returns every record in the order applied, corrections and superseded records
// included: the audit view.
func (l Ledger) Records() []Record { return slices.Clone(l.log) }

// Effective returns the records computations use, in time order: every superseded record
// replaced by the record that corrects it, voided ones left out.
func (l Ledger) Effective() []Record { return effective(l.log, l.correcting) }

// Status returns where the person stands after the last record.
func (l Ledger) Status() Status {
	s := Status{
		ClockedIn: l.st.in, Since: l.st.since, OnBreak: l.st.onBreak, BreakSince: l.st.breakSince,
		WorkCenters: slices.Sorted(maps.Keys(l.st.workCenters)), Timers: slices.Clone(l.st.timers),
	}
	return s
}

// Apply books the records, in order, as one change: it returns the next ledger and the
// timers the records stopped implicitly, each with the instant it stopped (Timer.Stopped),
// or an error and l unchanged. Corrections in one call are checked together (so a
// forgotten break is entered as a late-entry pair BreakStart, BreakEnd in one call).
//
// Clock-out with open operations: a ClockOut stops the person's labor on every operation
// still running, at the clock-out instant, logs the person off every work center, and
// returns the stopped timers so the engine can report them; likewise a LogOff stops the
// labor booked at that work center. A ClockOut during a break is refused (end the break
// first). For a run of corrections the stopped timers are the labor that the corrected
// history stops at a ClockOut or LogOff and that had not stopped before: labor running
// until a clock-out or log-off entered late, or labor entered late into an attendance that
// has ended. Labor a StopLabor stops is not among them, nor labor that had stopped before
// the corrections moved its end.
//
// The errors: ErrWrongPerson (a record is another person's), ErrInvalid (a
// *ValidationError listing every malformed field), ErrDuplicateID, ErrOutOfOrder (a
// record is earlier than the latest booking; book a late entry as a Correction instead),
// ErrAlreadyClockedIn, ErrNotClockedIn, ErrOnBreak, ErrNotOnBreak, ErrAlreadyLoggedOn,
// ErrNotLoggedOn, ErrAlreadyRunning, ErrNotRunning; for corrections also ErrUnknownRecord,
// ErrAlreadyCorrected, and any of the above when the corrected history is inconsistent.
func (l Ledger) Apply(records ...Record) (Ledger, []Timer, error) {
	next := l
	next.log = slices.Clip(l.log) // appending copies, so l's log is never shared for writing
	next.ids = maps.Clone(l.ids)
	next.correcting = maps.Clone(l.correcting)
	next.st = l.st.clone()
	stopped, err := next.apply(records)
	if err != nil {
		return l, nil, err
	}
	return next, stopped, nil
}

// apply books records into l in place; on error l may be partly changed (callers discard
// it). Ordinary records step the state; a run of corrections is checked by rebuilding the
// state from the effective records once, before the next ordinary record or at the end.
func (l *Ledger) apply(records []Record) ([]Timer, error) {
	var stopped []Timer
	dirty := false
	settle := func() error {
		if !dirty {
			return nil
		}
		dirty = false
		st, ended, err := rebuild(effective(l.log, l.correcting))
		if err != nil {
			return fmt.Errorf("the corrections would leave an inconsistent history: %w", err)
		}
		before := map[string]bool{} // the labor that had stopped, by its first start record
		for _, r := range l.st.runs {
			before[l.origin(r.start)] = true
		}
		for _, t := range ended {
			if !before[l.origin(t.Record)] {
				stopped = append(stopped, t)
			}
		}
		l.st = st
		return nil
	}
	for _, r := range records {
		if err := l.check(r); err != nil {
			return nil, err
		}
		if r.Correction == nil {
			if err := settle(); err != nil {
				return nil, err
			}
			if r.At.Before(l.st.last) {
				return nil, fmt.Errorf("%w: %s %q at %s is earlier than the latest booking at %s; book it as a correction (a late entry)", ErrOutOfOrder, r.Kind, r.ID, r.At.UTC().Format(time.RFC3339), l.st.last.UTC().Format(time.RFC3339))
			}
			s, err := l.st.step(r)
			if err != nil {
				return nil, fmt.Errorf("record %q: %w", r.ID, err)
			}
			stopped = append(stopped, s...)
		} else {
			if of := r.Correction.Of; of != "" {
				if l.correcting == nil {
					l.correcting = map[string]string{}
				}
				l.correcting[of] = r.ID
			}
			dirty = true
		}
		if l.ids == nil {
			l.ids = map[string]int{}
		}
		l.ids[r.ID] = len(l.log)
		l.log = append(l.log, r)
	}
	return stopped, settle()
}

// check refuses a record that is another person's, malformed, a duplicate, or a correction
// of a record that is unknown or already corrected.
func (l *Ledger) check(r Record) error {
	if r.Person != l.person {
		return fmt.Errorf("%w: record %q is for person %q but this is %q's ledger; apply it to that person's ledger", ErrWrongPerson, r.ID, r.Person, l.person)
	}
	if err := validate(r); err != nil {
		return err
	}
	if _, dup := l.ids[r.ID]; dup {
		return fmt.Errorf("%w: %q is already booked; give every record a new ID", ErrDuplicateID, r.ID)
	}
	if r.Correction == nil || r.Correction.Of == "" {
		return nil
	}
	of := r.Correction.Of
	if _, ok := l.ids[of]; !ok {
		return fmt.Errorf("%w: correction %q references %q, which is not in %q's ledger", ErrUnknownRecord, r.ID, of, l.person)
	}
	if by, done := l.correcting[of]; done {
		return fmt.Errorf("%w: %q was superseded by %q; correct %q instead", ErrAlreadyCorrected, of, by, by)
	}
	return nil
}

// origin returns the ID of the record that the record id corrects, through the whole chain
// of corrections: the booking first made.
func (l *Ledger) origin(id string) string {
	for {
		c := l.log[l.ids[id]].Correction
		if c == nil || c.Of == "" {
			return id
		}
		id = c.Of
	}
}

// effective resolves corrections: each original record (or late entry) is replaced by the
// last record of its correction chain, voided ones are dropped, and the result is sorted by
// time, ties kept in the order the originals were applied.
func effective(log []Record, correcting map[string]string) []Record {
	byID := make(map[string]Record, len(log))
	for _, r := range log {
		byID[r.ID] = r
	}
	var out []Record
	for _, r := range log {
		if r.Correction != nil && r.Correction.Of != "" {
			continue // stands in the place of the record it corrects
		}
		for next, ok := correcting[r.ID]; ok; next, ok = correcting[r.ID] {
			r = byID[next]
		}
		if r.Kind != Void {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Record) int { return a.At.Compare(b.At) })
	return out
}

// rebuild steps a fresh state through time-ordered records; it returns the state and every
// timer the records stopped implicitly.
func rebuild(records []Record) (state, []Timer, error) {
	var st state
	var stopped []Timer
	for _, r := range records {
		s, err := st.step(r)
		if err != nil {
			return state{}, nil, fmt.Errorf("at record %q: %w", r.ID, err)
		}
		stopped = append(stopped, s...)
	}
	return st, stopped, nil
}

// step applies one well-formed record to the state.
func (st *state) step(r Record) ([]Timer, error) {
	now := r.At.UTC()
	at := now.Format(time.RFC3339)
	if r.Kind != ClockIn && !st.in {
		return nil, fmt.Errorf("%w: cannot book %s at %s while clocked out; clock in first", ErrNotClockedIn, r.Kind, at)
	}
	if st.onBreak && r.Kind != BreakEnd {
		return nil, fmt.Errorf("%w: cannot book %s at %s during the break that began %s; end the break first", ErrOnBreak, r.Kind, at, st.breakSince.UTC().Format(time.RFC3339))
	}
	var stopped []Timer
	switch r.Kind {
	case ClockIn:
		if st.in {
			return nil, fmt.Errorf("%w: clocked in since %s; clock out before clocking in again", ErrAlreadyClockedIn, st.since.UTC().Format(time.RFC3339))
		}
		st.in, st.since = true, now
	case ClockOut:
		stopped = st.stopWhere(now, func(Timer) bool { return true })
		clear(st.workCenters)
		st.presence = append(st.presence, Interval{From: st.since, To: now})
		st.in, st.since, st.timers = false, time.Time{}, nil
	case BreakStart:
		st.onBreak, st.breakSince = true, now
	case BreakEnd:
		if !st.onBreak {
			return nil, fmt.Errorf("%w: break end at %s without a break start; start the break first", ErrNotOnBreak, at)
		}
		st.breaks = append(st.breaks, Interval{From: st.breakSince, To: now})
		st.onBreak, st.breakSince = false, time.Time{}
	case LogOn:
		if since, ok := st.workCenters[r.WorkCenter]; ok {
			return nil, fmt.Errorf("%w: logged on to work center %q since %s", ErrAlreadyLoggedOn, r.WorkCenter, since.UTC().Format(time.RFC3339))
		}
		if st.workCenters == nil {
			st.workCenters = map[string]time.Time{}
		}
		st.workCenters[r.WorkCenter] = now
	case LogOff:
		if _, ok := st.workCenters[r.WorkCenter]; !ok {
			return nil, fmt.Errorf("%w: cannot log off work center %q without a log-on", ErrNotLoggedOn, r.WorkCenter)
		}
		stopped = st.stopWhere(now, func(t Timer) bool { return t.WorkCenter == r.WorkCenter })
		delete(st.workCenters, r.WorkCenter)
	case StartLabor:
		k := keyOf(r.Op, r.Reason)
		if i := st.timer(k); i >= 0 {
			return nil, fmt.Errorf("%w: labor on %s runs since %s (record %q); stop it before starting it again", ErrAlreadyRunning, k, st.timers[i].Since.UTC().Format(time.RFC3339), st.timers[i].Record)
		}
		if _, ok := st.workCenters[r.WorkCenter]; r.WorkCenter != "" && !ok {
			return nil, fmt.Errorf("%w: cannot start labor at work center %q without logging on to it", ErrNotLoggedOn, r.WorkCenter)
		}
		st.timers = append(st.timers, Timer{Record: r.ID, Op: r.Op, Activity: r.Activity, Reason: r.Reason,
			WorkCenter: r.WorkCenter, Weight: cmp.Or(r.Weight, 1), Since: now})
	case StopLabor:
		k := keyOf(r.Op, r.Reason)
		i := st.timer(k)
		if i < 0 {
			return nil, fmt.Errorf("%w: no labor on %s runs for person %q; only the person who started a timer can stop it, on their own ledger", ErrNotRunning, k, r.Person)
		}
		id := st.timers[i].Record
		st.stopWhere(now, func(x Timer) bool { return x.Record == id })
	}
	st.last = now
	return stopped, nil
}

func (st *state) timer(k key) int {
	return slices.IndexFunc(st.timers, func(t Timer) bool { return keyOf(t.Op, t.Reason) == k })
}

// stopWhere closes the matching timers at t into runs and returns them, stopped at t.
func (st *state) stopWhere(t time.Time, match func(Timer) bool) []Timer {
	var stopped []Timer
	st.timers = slices.DeleteFunc(st.timers, func(x Timer) bool {
		if !match(x) {
			return false
		}
		x.Stopped = t
		stopped = append(stopped, x)
		st.runs = append(st.runs, x.run(t))
		return true
	})
	return stopped
}

func (t Timer) run(to time.Time) run {
	return run{
		tmpl:   Slice{WorkCenter: t.WorkCenter, Op: t.Op, Activity: t.Activity, Reason: t.Reason},
		weight: uint64(t.Weight), from: t.Since, to: to, start: t.Record,
	}
}

// validate reports every malformed field of r.
func validate(r Record) error {
	var ps problems
	if r.ID == "" {
		ps.add("ID", r.ID, "a record needs an ID")
	}
	if r.At.IsZero() {
		ps.add("At", r.At, "a record needs the instant it happened")
	}
	switch r.Kind {
	case ClockIn, ClockOut, BreakStart, BreakEnd:
	case LogOn, LogOff:
		if r.WorkCenter == "" {
			ps.add("WorkCenter", r.WorkCenter, "%s needs the work center", r.Kind)
		}
	case StartLabor:
		switch r.Activity {
		case Setup, Run:
			if r.Op.IsZero() {
				ps.add("Op", r.Op, "%s labor needs the operation it is booked on", r.Activity)
			}
		case Indirect:
			if r.Reason == "" {
				ps.add("Reason", r.Reason, "indirect labor needs a reason code")
			}
		default:
			ps.add("Activity", r.Activity, "use Setup, Run or Indirect")
		}
		if r.Weight < 0 || r.Weight > maxWeight {
			ps.add("Weight", r.Weight, "a share weight is 1 to %d (0 means 1)", maxWeight)
		}
	case StopLabor:
		if r.Op.IsZero() && r.Reason == "" {
			ps.add("Op", r.Op, "stop-labor needs the operation, or the reason code of indirect work without one")
		}
	case Void:
		if r.Correction == nil || r.Correction.Of == "" {
			ps.add("Correction.Of", "", "void is a correction: name the record it removes")
		}
	default:
		ps.add("Kind", r.Kind, "unknown kind")
	}
	if c := r.Correction; c != nil {
		if c.Reason == "" {
			ps.add("Correction.Reason", c.Reason, "a correction needs a reason")
		}
		if c.Actor == "" {
			ps.add("Correction.Actor", c.Actor, "a correction needs the actor who made it")
		}
		if c.At.IsZero() {
			ps.add("Correction.At", c.At, "a correction needs the instant it was made")
		}
	}
	return ps.err()
}

// Timesheet is a person's time in a window: attendance, breaks, idle time and labor split
// among operations. Present = Breaks + Idle + Labor, exactly.
type Timesheet struct {
	Person  string
	Window  Interval
	Present time.Duration // clocked in
	Breaks  time.Duration // on break: neither labor nor idle
	Idle    time.Duration // clocked in, not on break, no labor running
	Labor   time.Duration // the sum of Slices' Time
	Slices  []Slice       // labor split among the operations running concurrently
}

// Timesheet computes the person's time within [from, to) from the effective records
// (corrections applied). Attendance, breaks and labor still open count until to. Each
// instant of labor is split among the operations running then in proportion to their
// weights; breaks count for none of them.
func (l Ledger) Timesheet(from, to time.Time) (Timesheet, error) {
	if !from.Before(to) {
		return Timesheet{}, fmt.Errorf("%w: timesheet window %s to %s; pass from before to", ErrInvalid, from, to)
	}
	st := l.st
	presence, breaks, runs := slices.Clip(st.presence), slices.Clip(st.breaks), slices.Clip(st.runs)
	if st.in {
		presence = append(presence, Interval{From: st.since, To: to})
	}
	if st.onBreak {
		breaks = append(breaks, Interval{From: st.breakSince, To: to})
	}
	for _, t := range st.timers {
		runs = append(runs, t.run(to))
	}
	window := Interval{From: from.UTC(), To: to.UTC()}
	t := sweep(window, presence, breaks, runs)
	ts := Timesheet{Person: l.person, Window: window, Present: t.present, Breaks: t.breaks, Idle: t.idle, Slices: t.slices}
	for i := range ts.Slices {
		ts.Slices[i].Person = l.person
		ts.Labor += ts.Slices[i].Time
	}
	return ts, nil
}
