package labor

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var day = time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)

// at returns day plus h hours and m minutes.
func at(h, m int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

var (
	opA = Operation{WorkOrder: "WO-1", Lot: "L1", Step: "10"}
	opB = Operation{WorkOrder: "WO-2", Lot: "L2", Step: "10"}
	opC = Operation{WorkOrder: "WO-3", Lot: "L3", Step: "20"}
)

// rec builds records of person P1 with sequential IDs.
type rec struct{ n int }

func (b *rec) r(kind Kind, t time.Time) Record {
	b.n++
	return Record{ID: "r" + string(rune('a'+b.n/26)) + string(rune('a'+b.n%26)), Person: "P1", Kind: kind, At: t}
}
func (b *rec) start(op Operation, a Activity, w int, t time.Time) Record {
	r := b.r(StartLabor, t)
	r.Op, r.Activity, r.Weight = op, a, w
	return r
}
func (b *rec) stop(op Operation, t time.Time) Record {
	r := b.r(StopLabor, t)
	r.Op = op
	return r
}

func mustReplay(t *testing.T, records ...Record) Ledger {
	t.Helper()
	l, err := Replay("P1", records)
	require.NoError(t, err)
	return l
}

// perOp sums a timesheet's slices per operation.
func perOp(ts Timesheet) map[Operation]time.Duration {
	m := map[Operation]time.Duration{}
	for _, s := range ts.Slices {
		m[s.Op] += s.Time
	}
	return m
}

func TestConcurrentOperationsSplit(t *testing.T) {
	b := &rec{}
	training := Operation{}
	tests := []struct {
		name    string
		records []Record
		want    map[Operation]time.Duration
		breaks  time.Duration
		idle    time.Duration
	}{
		{
			name: "equal split: A 9:00-10:00, B 9:30-11:00",
			records: []Record{b.r(ClockIn, at(9, 0)), b.start(opA, Run, 0, at(9, 0)), b.start(opB, Run, 0, at(9, 30)),
				b.stop(opA, at(10, 0)), b.stop(opB, at(11, 0)), b.r(ClockOut, at(11, 0))},
			want: map[Operation]time.Duration{opA: 45 * time.Minute, opB: 75 * time.Minute},
		},
		{
			name: "weighted 2:1: A 9:00-10:00 weight 2, B 9:30-11:00 weight 1",
			records: []Record{b.r(ClockIn, at(9, 0)), b.start(opA, Run, 2, at(9, 0)), b.start(opB, Run, 1, at(9, 30)),
				b.stop(opA, at(10, 0)), b.stop(opB, at(11, 0)), b.r(ClockOut, at(11, 0))},
			want: map[Operation]time.Duration{opA: 50 * time.Minute, opB: 70 * time.Minute},
		},
		{
			name: "three at once: A 9-12, B 10-12, C 11-12",
			records: []Record{b.r(ClockIn, at(9, 0)), b.start(opA, Run, 0, at(9, 0)), b.start(opB, Setup, 0, at(10, 0)),
				b.start(opC, Run, 0, at(11, 0)), b.r(ClockOut, at(12, 0))},
			want: map[Operation]time.Duration{opA: 110 * time.Minute, opB: 50 * time.Minute, opC: 20 * time.Minute},
		},
		{
			name: "break excluded: A and B 9-11, break 10:00-10:15",
			records: []Record{b.r(ClockIn, at(9, 0)), b.start(opA, Run, 0, at(9, 0)), b.start(opB, Run, 0, at(9, 0)),
				b.r(BreakStart, at(10, 0)), b.r(BreakEnd, at(10, 15)), b.r(ClockOut, at(11, 0))},
			want:   map[Operation]time.Duration{opA: 52*time.Minute + 30*time.Second, opB: 52*time.Minute + 30*time.Second},
			breaks: 15 * time.Minute,
		},
		{
			name: "indirect work without an operation shares time; idle before the first booking",
			records: []Record{b.r(ClockIn, at(8, 0)), b.start(opA, Run, 0, at(9, 0)),
				func() Record { r := b.start(training, Indirect, 0, at(9, 0)); r.Reason = "TRAINING"; return r }(),
				b.r(ClockOut, at(10, 0))},
			want: map[Operation]time.Duration{opA: 30 * time.Minute, training: 30 * time.Minute},
			idle: time.Hour,
		},
		{
			name: "thirds of an odd nanosecond count still add up",
			records: []Record{b.r(ClockIn, at(9, 0)), b.start(opA, Run, 0, at(9, 0)), b.start(opB, Run, 0, at(9, 0)),
				b.start(opC, Run, 0, at(9, 0)), b.r(ClockOut, at(9, 0).Add(10))},
			want: map[Operation]time.Duration{opA: 4, opB: 3, opC: 3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := mustReplay(t, tc.records...)
			ts, err := l.Timesheet(at(0, 0), at(23, 0))
			require.NoError(t, err)
			assert.Equal(t, tc.want, perOp(ts))
			assert.Equal(t, tc.breaks, ts.Breaks)
			assert.Equal(t, tc.idle, ts.Idle)
			assert.Equal(t, ts.Present, ts.Breaks+ts.Idle+ts.Labor, "present = breaks + idle + labor")
		})
	}
}

func TestJobAcrossMidnightAndShiftChange(t *testing.T) {
	cal, err := NewCalendar("Europe/Berlin", map[time.Weekday][]Shift{
		time.Monday: {{Name: "Late", Start: HM(14, 0), End: HM(22, 0)}, {Name: "Night", Start: HM(22, 0), End: HM(6, 0)}},
	})
	require.NoError(t, err)
	berlin := cal.Location()
	local := func(d, h, m int) time.Time { return time.Date(2026, 5, d, h, m, 0, 0, berlin).UTC() }

	// Anna (late shift) starts op A at 21:00 and clocks out at 22:00 with A still open; Ben
	// (night shift) takes op A over at 22:00 and finishes at 01:30 on Tuesday.
	anna := NewLedger("anna")
	for _, r := range []Record{
		{ID: "a1", Person: "anna", Kind: ClockIn, At: local(4, 14, 0)},
		{ID: "a2", Person: "anna", Kind: StartLabor, At: local(4, 21, 0), Op: opA, Activity: Run},
		{ID: "a3", Person: "anna", Kind: ClockOut, At: local(4, 22, 0)},
	} {
		anna, _, err = anna.Apply(r)
		require.NoError(t, err)
	}
	ben, err := Replay("ben", []Record{
		{ID: "b1", Person: "ben", Kind: ClockIn, At: local(4, 22, 0)},
		{ID: "b2", Person: "ben", Kind: StartLabor, At: local(4, 22, 0), Op: opA, Activity: Run},
		{ID: "b3", Person: "ben", Kind: StopLabor, At: local(5, 1, 30), Op: opA},
		{ID: "b4", Person: "ben", Kind: ClockOut, At: local(5, 6, 0)},
	})
	require.NoError(t, err)

	shifts, err := cal.Shifts(local(4, 0, 0), local(5, 12, 0))
	require.NoError(t, err)
	require.Len(t, shifts, 2)
	got := map[string]time.Duration{}
	var total time.Duration
	for _, si := range shifts {
		for _, l := range []Ledger{anna, ben} {
			ts, err := l.Timesheet(si.Start, si.End)
			require.NoError(t, err)
			got[si.Shift] += perOp(ts)[opA]
			total += perOp(ts)[opA]
		}
	}
	assert.Equal(t, map[string]time.Duration{"Late": time.Hour, "Night": 3*time.Hour + 30*time.Minute}, got)
	assert.Equal(t, 4*time.Hour+30*time.Minute, total)

	// Split at local midnight: 3 hours on Monday, 1.5 on Tuesday.
	mon, err := ben.Timesheet(local(4, 0, 0), local(5, 0, 0))
	require.NoError(t, err)
	tue, err := ben.Timesheet(local(5, 0, 0), local(6, 0, 0))
	require.NoError(t, err)
	assert.Equal(t, 2*time.Hour, mon.Labor)
	assert.Equal(t, 90*time.Minute, tue.Labor)
	si, ok := cal.ShiftAt(local(5, 1, 0))
	require.True(t, ok)
	assert.Equal(t, "Night", si.Shift)
	assert.Equal(t, Date{2026, time.May, 4}, si.Date)
}

func TestNightShiftOverDaylightSavingChange(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		start  time.Time // 22:00 local on the eve of the change
		end    time.Time // 06:00 local the next morning
		worked time.Duration
	}{
		{"spring forward 2026-03-29", time.Date(2026, 3, 28, 22, 0, 0, 0, berlin), time.Date(2026, 3, 29, 6, 0, 0, 0, berlin), 7 * time.Hour},
		{"fall back 2026-10-25", time.Date(2026, 10, 24, 22, 0, 0, 0, berlin), time.Date(2026, 10, 25, 6, 0, 0, 0, berlin), 9 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &rec{}
			l := mustReplay(t, b.r(ClockIn, tc.start.UTC()), b.start(opA, Run, 0, tc.start.UTC()), b.r(ClockOut, tc.end.UTC()))
			ts, err := l.Timesheet(tc.start.Add(-time.Hour), tc.end.Add(time.Hour))
			require.NoError(t, err)
			assert.Equal(t, tc.worked, ts.Present)
			assert.Equal(t, tc.worked, perOp(ts)[opA])
		})
	}
}

func TestClockOutStopsOpenOperations(t *testing.T) {
	b := &rec{}
	l := mustReplay(t,
		b.r(ClockIn, at(6, 0)),
		func() Record { r := b.r(LogOn, at(6, 0)); r.WorkCenter = "CNC-1"; return r }(),
		func() Record { r := b.start(opA, Run, 0, at(6, 0)); r.WorkCenter = "CNC-1"; return r }(),
		b.start(opB, Setup, 0, at(7, 0)),
	)
	clockOut := b.r(ClockOut, at(8, 0))
	next, stopped, err := l.Apply(clockOut)
	require.NoError(t, err)
	require.Len(t, stopped, 2, "clock-out reports every operation it stopped")
	assert.Equal(t, opA, stopped[0].Op)
	assert.Equal(t, opB, stopped[1].Op)
	assert.Equal(t, at(8, 0), stopped[0].Stopped, "stopped at the clock-out")
	assert.Equal(t, Status{}, next.Status(), "clocked out, logged off, no timers")

	ts, err := next.Timesheet(at(0, 0), at(23, 0))
	require.NoError(t, err)
	assert.Equal(t, map[Operation]time.Duration{opA: 90 * time.Minute, opB: 30 * time.Minute}, perOp(ts), "labor ends at the clock-out")

	_, _, err = next.Apply(b.stop(opA, at(8, 5)))
	assert.ErrorIs(t, err, ErrNotClockedIn, "the timer is already closed")

	// Logging off a work center stops the labor booked there and nothing else.
	logOff := b.r(LogOff, at(7, 30))
	logOff.WorkCenter = "CNC-1"
	next, stopped, err = l.Apply(logOff)
	require.NoError(t, err)
	require.Len(t, stopped, 1)
	assert.Equal(t, opA, stopped[0].Op)
	assert.Len(t, next.Status().Timers, 1)
}

func TestTypedErrorsLeaveLedgerUnchanged(t *testing.T) {
	b := &rec{}
	in := b.r(ClockIn, at(6, 0))
	logOn := b.r(LogOn, at(6, 0))
	logOn.WorkCenter = "CNC-1"
	startA := b.start(opA, Run, 0, at(6, 10))
	working := []Record{in, logOn, startA}
	brk := append(append([]Record{}, working...), b.r(BreakStart, at(7, 0)))
	out := []Record{in, b.r(ClockOut, at(7, 0))}
	wc := func(r Record, w string) Record { r.WorkCenter = w; return r }
	tests := []struct {
		name    string
		history []Record
		bad     Record
		want    error
	}{
		{"clock in twice", working, b.r(ClockIn, at(7, 0)), ErrAlreadyClockedIn},
		{"start the same operation twice", working, b.start(opA, Setup, 0, at(7, 0)), ErrAlreadyRunning},
		{"stop an operation that is not running", working, b.stop(opB, at(7, 0)), ErrNotRunning},
		{"timer closed for the wrong person", working, func() Record { r := b.stop(opA, at(7, 0)); r.Person = "P2"; return r }(), ErrWrongPerson},
		{"book while clocked out", out, b.start(opA, Run, 0, at(8, 0)), ErrNotClockedIn},
		{"clock out while clocked out", out, b.r(ClockOut, at(8, 0)), ErrNotClockedIn},
		{"book while on break", brk, b.start(opB, Run, 0, at(7, 5)), ErrOnBreak},
		{"stop while on break", brk, b.stop(opA, at(7, 5)), ErrOnBreak},
		{"clock out while on break", brk, b.r(ClockOut, at(7, 5)), ErrOnBreak},
		{"break end without break", working, b.r(BreakEnd, at(7, 0)), ErrNotOnBreak},
		{"log on twice", working, wc(b.r(LogOn, at(7, 0)), "CNC-1"), ErrAlreadyLoggedOn},
		{"log off without log-on", working, wc(b.r(LogOff, at(7, 0)), "LATHE"), ErrNotLoggedOn},
		{"labor at a work center not logged on", working, wc(b.start(opB, Run, 0, at(7, 0)), "LATHE"), ErrNotLoggedOn},
		{"out of order", working, b.start(opB, Run, 0, at(6, 5)), ErrOutOfOrder},
		{"duplicate id", working, func() Record { r := b.start(opB, Run, 0, at(7, 0)); r.ID = startA.ID; return r }(), ErrDuplicateID},
		{"malformed", working, Record{Person: "P1", Kind: StartLabor, Activity: Indirect, Weight: 5000}, ErrInvalid},
		{"correction of an unknown record", working, func() Record {
			r := b.stop(opA, at(7, 0))
			r.Correction = &Correction{Of: "nope", Reason: "typo", Actor: "sup", At: at(9, 0)}
			return r
		}(), ErrUnknownRecord},
		{"correction leaving an inconsistent history", working, func() Record {
			r := b.r(Void, at(6, 0))
			r.Correction = &Correction{Of: in.ID, Reason: "never came", Actor: "sup", At: at(9, 0)}
			return r
		}(), ErrNotClockedIn},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := mustReplay(t, tc.history...)
			pristine := mustReplay(t, tc.history...)
			got, stopped, err := l.Apply(tc.bad)
			require.ErrorIs(t, err, tc.want)
			t.Log(err)
			assert.Nil(t, stopped)
			assert.Equal(t, pristine, got, "the returned ledger is unchanged")
			assert.Equal(t, pristine, l, "the receiver is unchanged")
		})
	}
}

func TestValidationListsEveryProblem(t *testing.T) {
	_, _, err := NewLedger("P1").Apply(Record{Person: "P1", Kind: StartLabor, Activity: "rest", Weight: -1,
		Correction: &Correction{}})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	paths := []string{}
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	assert.Equal(t, []string{"ID", "At", "Activity", "Weight", "Correction.Reason", "Correction.Actor", "Correction.At"}, paths)
}

func TestApplyNeverChangesTheReceiver(t *testing.T) {
	b := &rec{}
	l := mustReplay(t, b.r(ClockIn, at(6, 0)), b.start(opA, Run, 0, at(6, 0)))
	snapshot := mustReplay(t, l.Records()...)
	x, _, err := l.Apply(b.start(opB, Run, 0, at(7, 0)))
	require.NoError(t, err)
	y, _, err := l.Apply(b.r(ClockOut, at(7, 0)))
	require.NoError(t, err)
	assert.Equal(t, snapshot, l)
	assert.Len(t, x.Status().Timers, 2)
	assert.False(t, y.Status().ClockedIn)
}

func TestCorrectionsSupersedeWithoutEditing(t *testing.T) {
	b := &rec{}
	stopA := b.stop(opA, at(11, 0))
	l := mustReplay(t, b.r(ClockIn, at(9, 0)), b.start(opA, Run, 0, at(9, 0)), b.start(opB, Run, 0, at(9, 0)),
		stopA, b.r(ClockOut, at(12, 0)))
	labor := func(l Ledger) map[Operation]time.Duration {
		ts, err := l.Timesheet(at(0, 0), at(23, 0))
		require.NoError(t, err)
		return perOp(ts)
	}
	assert.Equal(t, map[Operation]time.Duration{opA: 60 * time.Minute, opB: 120 * time.Minute}, labor(l))

	// The operator stopped A at 10:00 but booked it at 11:00: the supervisor corrects it.
	fix := b.stop(opA, at(10, 0))
	fix.Correction = &Correction{Of: stopA.ID, Reason: "stopped at 10:00, booked late", Actor: "sup-1", At: at(13, 0)}
	l2, _, err := l.Apply(fix)
	require.NoError(t, err)
	assert.Equal(t, map[Operation]time.Duration{opA: 30 * time.Minute, opB: 150 * time.Minute}, labor(l2))
	assert.Len(t, l2.Records(), 6, "the original stays in the log")
	assert.Equal(t, stopA, l2.Records()[3], "and is never edited")
	assert.Contains(t, l2.Effective(), fix)
	assert.NotContains(t, l2.Effective(), stopA)

	// The superseded record cannot be corrected again; the correction can.
	again := b.stop(opA, at(10, 30))
	again.Correction = &Correction{Of: stopA.ID, Reason: "x", Actor: "sup-1", At: at(14, 0)}
	_, _, err = l2.Apply(again)
	require.ErrorIs(t, err, ErrAlreadyCorrected)
	again.Correction.Of = fix.ID
	l3, _, err := l2.Apply(again)
	require.NoError(t, err)
	assert.Equal(t, map[Operation]time.Duration{opA: 45 * time.Minute, opB: 135 * time.Minute}, labor(l3))

	// A forgotten break is a late entry: a correction referencing nothing, inserted at its time.
	bs, be := b.r(BreakStart, at(11, 0)), b.r(BreakEnd, at(11, 30))
	for _, r := range []*Record{&bs, &be} {
		r.Correction = &Correction{Reason: "forgot to book the break", Actor: "P1", At: at(14, 0)}
	}
	l4, _, err := l3.Apply(bs)
	require.ErrorIs(t, err, ErrOnBreak, "a break start alone would leave the clock-out inside a break")
	assert.Equal(t, l3, l4)
	l4, _, err = l3.Apply(bs, be)
	require.NoError(t, err, "the pair is checked together")
	assert.Equal(t, map[Operation]time.Duration{opA: 45 * time.Minute, opB: 105 * time.Minute}, labor(l4),
		"A ran 9:00-10:30 shared with B; B alone 10:30-11:00 and 11:30-12:00")
	assert.Equal(t, l4, mustReplay(t, l4.Records()...), "replaying the log reproduces the ledger")

	// Voiding a start and its stop removes the labor from every computation.
	voidStop := b.r(Void, at(10, 30))
	voidStop.Correction = &Correction{Of: again.ID, Reason: "wrong job", Actor: "sup-1", At: at(15, 0)}
	l5, _, err := l3.Apply(voidStop)
	require.NoError(t, err, "without its stop, A runs until the clock-out")
	assert.Equal(t, map[Operation]time.Duration{opA: 90 * time.Minute, opB: 90 * time.Minute}, labor(l5))
	startA := l.Records()[1]
	voidStart := b.r(Void, startA.At)
	voidStart.Correction = &Correction{Of: startA.ID, Reason: "wrong job", Actor: "sup-1", At: at(15, 0)}
	l6, _, err := l5.Apply(voidStart)
	require.NoError(t, err)
	assert.Equal(t, map[Operation]time.Duration{opB: 180 * time.Minute}, labor(l6))

	// Replaying the audit log reproduces the ledger exactly.
	assert.Equal(t, l6, mustReplay(t, l6.Records()...))
}

// TestRandomSplitSumsToWorkedTime drives a ledger with random bookings on minute ticks and
// checks it against a brute-force per-minute model: acceptance agrees with the model, labor
// slices sum to worked time minus breaks (while any labor runs), each operation's share is
// its weighted fraction of every minute, and present = breaks + idle + labor.
func TestRandomSplitSumsToWorkedTime(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	for round := range 200 {
		rng := rand.New(rand.NewPCG(seed, uint64(round)))
		randomRound(t, rng)
		if t.Failed() {
			t.Fatalf("failed in round %d with seed %d", round, seed)
		}
	}
}

type minuteState struct {
	in, brk bool
	open    map[Operation]int // weight
}

func randomRound(t *testing.T, rng *rand.Rand) {
	ops := []Operation{opA, opB, opC, {WorkOrder: "WO-4", Lot: "L4", Step: "30"}}
	l := NewLedger("P1")
	model := minuteState{open: map[Operation]int{}}
	var minutes []minuteState // model state during each minute
	now := 0
	b := &rec{}
	for range 60 {
		step := rng.IntN(25)
		for range step {
			minutes = append(minutes, model.copy())
		}
		now += step
		ts := day.Add(time.Duration(now) * time.Minute)
		op := ops[rng.IntN(len(ops))]
		var r Record
		valid := false
		switch rng.IntN(6) {
		case 0:
			r, valid = b.r(ClockIn, ts), !model.in
		case 1:
			r, valid = b.r(ClockOut, ts), model.in && !model.brk
		case 2:
			r, valid = b.r(BreakStart, ts), model.in && !model.brk
		case 3:
			r, valid = b.r(BreakEnd, ts), model.in && model.brk
		case 4:
			_, running := model.open[op]
			r, valid = b.start(op, Run, rng.IntN(4), ts), model.in && !model.brk && !running
		case 5:
			_, running := model.open[op]
			r, valid = b.stop(op, ts), model.in && !model.brk && running
		}
		next, _, err := l.Apply(r)
		if !assert.Equal(t, valid, err == nil, "record %+v: %v", r, err) {
			return
		}
		if err != nil {
			assert.Equal(t, l, next)
			continue
		}
		l = next
		switch r.Kind {
		case ClockIn:
			model.in = true
		case ClockOut:
			model.in = false
			clear(model.open)
		case BreakStart:
			model.brk = true
		case BreakEnd:
			model.brk = false
		case StartLabor:
			model.open[r.Op] = max(r.Weight, 1)
		case StopLabor:
			delete(model.open, r.Op)
		}
	}
	for range 30 {
		minutes = append(minutes, model.copy())
	}
	ts, err := l.Timesheet(day, day.Add(time.Duration(len(minutes))*time.Minute))
	require.NoError(t, err)

	var present, breaks, idle, labor time.Duration
	want := map[Operation]*big.Rat{}
	for _, m := range minutes {
		if !m.in {
			continue
		}
		present += time.Minute
		if m.brk {
			breaks += time.Minute
			continue
		}
		total := 0
		for _, w := range m.open {
			total += w
		}
		if total == 0 {
			idle += time.Minute
		} else {
			labor += time.Minute
		}
		for op, w := range m.open {
			if want[op] == nil {
				want[op] = new(big.Rat)
			}
			want[op].Add(want[op], big.NewRat(int64(time.Minute)*int64(w), int64(total)))
		}
	}
	assert.Equal(t, present, ts.Present, "present")
	assert.Equal(t, breaks, ts.Breaks, "breaks")
	assert.Equal(t, idle, ts.Idle, "idle")
	assert.Equal(t, labor, ts.Labor, "labor: the minutes with labor running")
	assert.Equal(t, present-breaks-idle, ts.Labor, "split labor = worked time minus breaks (minus idle time)")
	var sum time.Duration
	got := perOp(ts)
	for _, s := range ts.Slices {
		sum += s.Time
	}
	assert.Equal(t, ts.Labor, sum)
	for op, w := range want {
		diff := new(big.Rat).Sub(w, new(big.Rat).SetInt64(int64(got[op])))
		assert.LessOrEqual(t, diff.Abs(diff).Cmp(big.NewRat(int64(len(minutes)), 1)), 0,
			"op %s: got %d ns, want %s ns within rounding", op, got[op], w.FloatString(2))
	}
}

func (m minuteState) copy() minuteState {
	o := make(map[Operation]int, len(m.open))
	for k, v := range m.open {
		o[k] = v
	}
	return minuteState{in: m.in, brk: m.brk, open: o}
}

func TestTimesheetWindowMustBeOrdered(t *testing.T) {
	_, err := NewLedger("P1").Timesheet(at(10, 0), at(9, 0))
	assert.True(t, errors.Is(err, ErrInvalid))
}

// Corrections report the labor they stop at a clock-out or log-off that had not stopped
// before, with the instant it stopped; labor a stop-labor ends, labor that had stopped
// already and labor that still runs are not reported.
func TestCorrectionsReportTheLaborTheyStop(t *testing.T) {
	late := func(r Record, of string) Record {
		r.Correction = &Correction{Of: of, Reason: "entered late", Actor: "sup-1", At: at(20, 0)}
		return r
	}
	wc := func(r Record) Record { r.WorkCenter = "CNC-1"; return r }
	b := &rec{}
	in, logOn := b.r(ClockIn, at(6, 0)), wc(b.r(LogOn, at(6, 0)))
	startA, startB := wc(b.start(opA, Run, 0, at(7, 0))), b.start(opB, Run, 0, at(8, 0))
	running := []Record{in, logOn, startA, startB} // clocked in since 6:00, A (at CNC-1) and B run
	clockOut := b.r(ClockOut, at(14, 0))
	closed := append(running[:4:4], clockOut) // the clock-out stopped A and B
	tests := []struct {
		name    string
		history []Record
		fixes   []Record
		want    []Timer // Record, Op, Stopped
	}{
		{"a late clock-out stops all running labor", running, []Record{late(b.r(ClockOut, at(12, 0)), "")},
			[]Timer{{Record: startA.ID, Op: opA, Stopped: at(12, 0)}, {Record: startB.ID, Op: opB, Stopped: at(12, 0)}}},
		{"a late log-off stops the labor at the work center", running, []Record{late(wc(b.r(LogOff, at(9, 0))), "")},
			[]Timer{{Record: startA.ID, Op: opA, Stopped: at(9, 0)}}},
		{"a late clock-out and clock-in: labor stopped at the clock-out", running,
			[]Record{late(b.r(ClockOut, at(10, 0)), ""), late(b.r(ClockIn, at(11, 0)), "")},
			[]Timer{{Record: startA.ID, Op: opA, Stopped: at(10, 0)}, {Record: startB.ID, Op: opB, Stopped: at(10, 0)}}},
		{"a late start into an ended attendance", []Record{in, clockOut}, []Record{late(b.start(opC, Run, 0, at(9, 0)), "")},
			[]Timer{{Op: opC, Stopped: at(14, 0)}}},
		{"a stop-labor entered late is a stop of its own", running, []Record{late(b.stop(opA, at(9, 0)), "")}, nil},
		{"a clock-out moved earlier: the labor had stopped", closed, []Record{late(b.r(ClockOut, at(13, 0)), clockOut.ID)}, nil},
		{"a start moved earlier: the labor had stopped", closed, []Record{late(b.start(opA, Run, 0, at(6, 30)), startA.ID)}, nil},
		{"a start moved: the labor still runs", running, []Record{late(b.start(opB, Run, 0, at(7, 30)), startB.ID)}, nil},
		{"a start voided", running, []Record{late(b.r(Void, at(8, 0)), startB.ID)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := mustReplay(t, tc.history...)
			_, stopped, err := l.Apply(tc.fixes...)
			require.NoError(t, err)
			var got []Timer
			for _, s := range stopped {
				id := s.Record
				if id == tc.fixes[0].ID {
					id = "" // the late entry
				}
				got = append(got, Timer{Record: id, Op: s.Op, Stopped: s.Stopped})
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
