package equipment

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mins(n int) time.Duration { return time.Duration(n) * time.Minute }

func apply(t *testing.T, tl *Timeline, sigs ...Signal) {
	t.Helper()
	for _, s := range sigs {
		o, err := tl.Apply(s)
		require.NoError(t, err)
		require.Equal(t, Applied, o, "%s/%d", s.Source, s.Seq)
	}
}

func history(t *testing.T, tl *Timeline, from, to time.Time) []Interval {
	t.Helper()
	h, err := tl.History(Span{from, to})
	require.NoError(t, err)
	return h
}

// brief renders intervals as "state[reason] start-end good/reject" in minutes after t0.
func brief(h []Interval) []string {
	var out []string
	for _, iv := range h {
		out = append(out, fmt.Sprintf("%s[%s] %v-%v %d/%d", iv.State, iv.Reason,
			iv.Start.Sub(t0).Minutes(), iv.End.Sub(t0).Minutes(), iv.Good, iv.Reject))
	}
	return out
}

func TestApplyOutcomes(t *testing.T) {
	tl := NewTimeline("CNC-1")
	apply(t, tl, countSig("plc", 10, t0, 1, 0))

	o, err := tl.Apply(countSig("plc", 10, t0.Add(time.Hour), 99, 0))
	require.NoError(t, err)
	assert.Equal(t, Duplicate, o, "same (source, seq) is a duplicate whatever its payload")

	apply(t, tl, countSig("other", 10, t0, 1, 0)) // same seq, other source
	apply(t, tl, countSig("plc", 9, t0, 1, 0))    // late but new

	apply(t, tl, countSig("plc", 10+DedupWindow, t0.Add(time.Minute), 1, 0))
	o, err = tl.Apply(countSig("plc", 10, t0, 1, 0))
	require.NoError(t, err)
	assert.Equal(t, TooOld, o, "at the window edge a seen seq can no longer be told apart")
	o, err = tl.Apply(countSig("plc", 11, t0, 1, 0))
	require.NoError(t, err)
	assert.Equal(t, Applied, o, "just inside the window an unseen seq is applied")

	_, err = tl.Apply(Signal{Source: "plc", Seq: 12})
	assert.ErrorIs(t, err, ErrInvalidSignal)
	wrong := countSig("plc", 13, t0, 1, 0)
	wrong.Equipment = "CNC-2"
	_, err = tl.Apply(wrong)
	assert.ErrorIs(t, err, ErrWrongEquipment)
	o, err = tl.Apply(countSig("plc", 13, t0, 1, 0))
	require.NoError(t, err)
	assert.Equal(t, Applied, o, "a rejected signal does not consume its seq")

	good, reject, err := tl.Totals(Span{t0, t0.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, [2]int64{6, 0}, [2]int64{good, reject})
}

func TestLateStateChangeSplitsInterval(t *testing.T) {
	tl := NewTimeline("CNC-1")
	apply(t, tl,
		stateSig("plc", 1, t0, Running, ""),
		countSig("plc", 2, t0.Add(mins(30)), 5, 0),
		countSig("plc", 3, t0.Add(mins(90)), 3, 1),
		stateSig("plc", 5, t0.Add(mins(120)), Idle, "STARVED"),
	)
	end := t0.Add(mins(150))
	assert.Equal(t, []string{"running[] 0-120 8/1", "idle[STARVED] 120-150 0/0"}, brief(history(t, tl, t0, end)))

	apply(t, tl, stateSig("plc", 4, t0.Add(mins(60)), Down, "JAM"))
	assert.Equal(t, []string{"running[] 0-60 5/0", "down[JAM] 60-120 3/1", "idle[STARVED] 120-150 0/0"},
		brief(history(t, tl, t0, end)))

	// A window cutting intervals clips them and counts only what happened inside.
	assert.Equal(t, []string{"running[] 15-60 5/0", "down[JAM] 60-100 3/1"},
		brief(history(t, tl, t0.Add(mins(15)), t0.Add(mins(100)))))
	// Before the first state signal the state is unknown; a count exactly at a boundary
	// belongs to the interval it starts.
	apply(t, tl, countSig("plc", 6, t0.Add(-mins(5)), 2, 0), countSig("plc", 7, t0.Add(mins(60)), 1, 0))
	assert.Equal(t, []string{"unknown[] -10-0 2/0", "running[] 0-60 5/0", "down[JAM] 60-61 1/0"},
		brief(history(t, tl, t0.Add(-mins(10)), t0.Add(mins(61)))))

	_, err := tl.History(Span{end, t0})
	assert.ErrorIs(t, err, ErrInvalidWindow)
	assert.Empty(t, history(t, tl, t0, t0))
}

func TestSimultaneousStateChangesAreOrderedBySourceAndSeq(t *testing.T) {
	a, b := NewTimeline("CNC-1"), NewTimeline("CNC-1")
	s1, s2 := stateSig("plc", 1, t0, Down, "X"), stateSig("plc", 2, t0, Setup, "Y")
	apply(t, a, s1, s2)
	apply(t, b, s2, s1)
	want := []string{"setup[Y] 0-10 0/0"}
	assert.Equal(t, want, brief(history(t, a, t0, t0.Add(mins(10)))))
	assert.Equal(t, want, brief(history(t, b, t0, t0.Add(mins(10)))))
}

func TestReasonCorrections(t *testing.T) {
	tl := NewTimeline("CNC-1")
	apply(t, tl,
		stateSig("plc", 1, t0, Running, ""),
		stateSig("plc", 2, t0.Add(mins(10)), Down, "FAULT-17"),
		stateSig("plc", 3, t0.Add(mins(40)), Running, ""),
	)
	start := t0.Add(mins(10))
	at := t0.Add(time.Hour)
	require.NoError(t, tl.CorrectReason(Correction{Interval: start, Reason: "TOOL-BREAK", By: "anna", At: at}))
	require.NoError(t, tl.CorrectReason(Correction{Interval: start, Reason: "MATERIAL", By: "ben", At: at.Add(time.Minute), Note: "no blanks"}))
	// Recorded last but assigned earlier: it does not win.
	require.NoError(t, tl.CorrectReason(Correction{Interval: start, Reason: "OLD", By: "carl", At: at.Add(-time.Minute)}))

	clipped := history(t, tl, t0.Add(mins(20)), t0.Add(mins(30)))
	require.Len(t, clipped, 1)
	assert.Equal(t, start, clipped[0].Began, "Began names the interval even when the window clips it")
	assert.Equal(t, "MATERIAL", clipped[0].Reason)

	h := history(t, tl, t0, t0.Add(mins(60)))
	require.Len(t, h, 3)
	assert.Equal(t, "FAULT-17", h[1].DeviceReason, "the device's reason is kept")
	assert.Equal(t, "MATERIAL", h[1].Reason)
	require.NotNil(t, h[1].Correction)
	assert.Equal(t, "ben", h[1].Correction.By)
	assert.Len(t, tl.Corrections(), 3, "every correction is kept for audit")

	for _, tc := range []struct {
		c   Correction
		err error
	}{
		{Correction{Interval: t0, Reason: "X", By: "a", At: at}, ErrInvalidCorrection},             // running
		{Correction{Interval: t0.Add(mins(11)), Reason: "X", By: "a", At: at}, ErrNoInterval},      // not a start
		{Correction{Interval: start}, ErrInvalidCorrection},                                        // incomplete
		{Correction{Interval: start.Add(-time.Hour), Reason: "X", By: "a", At: at}, ErrNoInterval}, // before history
	} {
		assert.ErrorIs(t, tl.CorrectReason(tc.c), tc.err)
	}
	assert.Len(t, tl.Corrections(), 3)
}

func TestAlarmsFollowEventTimeNotArrival(t *testing.T) {
	tl := NewTimeline("CNC-1")
	raise := Signal{Source: "plc", Seq: 1, At: t0, Equipment: "CNC-1", Kind: KindAlarm, Alarm: &Alarm{Code: "A1", Text: "Coolant low", Active: true}}
	clr := Signal{Source: "plc", Seq: 2, At: t0.Add(time.Minute), Equipment: "CNC-1", Kind: KindAlarm, Alarm: &Alarm{Code: "A1"}}
	other := Signal{Source: "plc", Seq: 3, At: t0, Equipment: "CNC-1", Kind: KindAlarm, Alarm: &Alarm{Code: "A2", Active: true}}
	apply(t, tl, clr, raise, other)
	assert.Equal(t, []ActiveAlarm{{Code: "A2", Since: t0}}, tl.ActiveAlarms())
}

func TestMeasurementsAreOnlyDeduplicated(t *testing.T) {
	tl := NewTimeline("CNC-1")
	m := Signal{Source: "plc", Seq: 1, At: t0, Equipment: "CNC-1", Kind: KindMeasurement,
		Measurement: &Measurement{Tag: "temp", Value: decimal.NewFromInt(61), Unit: "degC"}}
	apply(t, tl, m)
	o, err := tl.Apply(m)
	require.NoError(t, err)
	assert.Equal(t, Duplicate, o)
	assert.Equal(t, []string{"unknown[] 0-1 0/0"}, brief(history(t, tl, t0, t0.Add(time.Minute))))
}

func TestPrune(t *testing.T) {
	tl := NewTimeline("CNC-1")
	apply(t, tl,
		stateSig("plc", 1, t0, Down, "A"),
		countSig("plc", 2, t0.Add(mins(5)), 1, 0),
		stateSig("plc", 3, t0.Add(mins(10)), Idle, "B"),
		countSig("plc", 4, t0.Add(mins(25)), 2, 0),
		stateSig("plc", 5, t0.Add(mins(30)), Running, ""),
		countSig("plc", 6, t0.Add(mins(35)), 4, 0),
	)
	require.NoError(t, tl.CorrectReason(Correction{Interval: t0, Reason: "X", By: "a", At: t0}))
	require.NoError(t, tl.CorrectReason(Correction{Interval: t0.Add(mins(10)), Reason: "Y", By: "a", At: t0}))
	tl.Prune(t0.Add(mins(20)))
	assert.Equal(t, []string{"idle[Y] 20-30 2/0", "running[] 30-40 4/0"}, brief(history(t, tl, t0.Add(mins(20)), t0.Add(mins(40)))))
	assert.Len(t, tl.Corrections(), 1)
	o, err := tl.Apply(countSig("plc", 2, t0.Add(mins(5)), 1, 0))
	require.NoError(t, err)
	assert.Equal(t, Duplicate, o, "pruning keeps the de-duplication memory")
}

func TestSnapshotRoundTrip(t *testing.T) {
	tl := NewTimeline("CNC-1")
	apply(t, tl,
		stateSig("plc", 1, t0, Running, ""),
		countSig("plc", 2, t0.Add(mins(5)), 7, 1),
		stateSig("plc", 3, t0.Add(mins(10)), Down, "JAM"),
		Signal{Source: "hmi", Seq: 1, At: t0, Equipment: "CNC-1", Kind: KindAlarm, Alarm: &Alarm{Code: "A1", Active: true}},
	)
	require.NoError(t, tl.CorrectReason(Correction{Interval: t0.Add(mins(10)), Reason: "MATERIAL", By: "ben", At: t0.Add(time.Hour)}))
	data, err := json.Marshal(tl)
	require.NoError(t, err)

	var back Timeline
	require.NoError(t, json.Unmarshal(data, &back))
	again, err := json.Marshal(&back)
	require.NoError(t, err)
	assert.JSONEq(t, string(data), string(again))
	window := Span{t0, t0.Add(mins(20))}
	h1, _ := tl.History(window)
	h2, _ := back.History(window)
	assert.Equal(t, h1, h2)
	assert.Equal(t, tl.ActiveAlarms(), back.ActiveAlarms())
	o, err := back.Apply(countSig("plc", 2, t0.Add(mins(5)), 7, 1))
	require.NoError(t, err)
	assert.Equal(t, Duplicate, o, "the restored timeline remembers applied seqs")

	for _, bad := range []string{
		`[]`, `{}`,
		`{"equipment":"E","sources":[{"source":"s","high":3,"seen":[1]}]}`,
		`{"equipment":"E","changes":[{"at":"2025-01-01T00:00:00Z","state":"unknown"}]}`,
		`{"equipment":"E","counts":[{"at":"2025-01-01T00:00:00Z","good":-1}]}`,
		`{"equipment":"E","corrections":[{"interval":"2025-01-01T00:00:00Z"}]}`,
		`{"equipment":"E","alarms":[{"code":"A"},{"code":"A"}]}`,
	} {
		keep := back
		assert.ErrorIs(t, json.Unmarshal([]byte(bad), &back), ErrInvalidSnapshot, bad)
		assert.Equal(t, keep.equipment, back.equipment, "a failed restore leaves the timeline unchanged")
	}
}

// stream generates a clean device stream for CNC-1 over a shift: two sources ("plc" sends
// states and counts, "vision" sends rejects and measurements), in time order, each source's
// seq increasing.
func stream(rng *rand.Rand, n int) []Signal {
	states := []MachineState{Running, Running, Running, Idle, Down, Setup, PlannedStop}
	reasons := []string{"", "JAM", "STARVED", "TOOL"}
	seq := map[string]uint64{"plc": 100, "vision": 1}
	at := t0
	var out []Signal
	for range n {
		at = at.Add(time.Duration(1+rng.IntN(10_000)) * time.Millisecond)
		src := "plc"
		if rng.IntN(3) == 0 {
			src = "vision"
		}
		seq[src]++
		s := Signal{Source: src, Seq: seq[src], At: at, Equipment: "CNC-1"}
		switch r := rng.IntN(20); {
		case src == "plc" && r < 2:
			s.Kind, s.State = KindState, &StateChange{State: states[rng.IntN(len(states))], Reason: reasons[rng.IntN(len(reasons))]}
		case src == "plc" && r < 3:
			s.Kind, s.Alarm = KindAlarm, &Alarm{Code: fmt.Sprintf("A%d", rng.IntN(3)), Active: rng.IntN(2) == 0}
		case src == "vision" && r < 4:
			s.Kind, s.Measurement = KindMeasurement, &Measurement{Tag: "bore", Value: decimal.New(int64(rng.IntN(1000)), -3), Unit: "mm"}
		case src == "vision":
			s.Kind, s.Count = KindCount, &Count{Reject: int64(rng.IntN(2))}
		default:
			s.Kind, s.Count = KindCount, &Count{Good: int64(1 + rng.IntN(5))}
		}
		out = append(out, s)
	}
	return out
}

// state captures everything observable about a timeline.
func state(t *testing.T, tl *Timeline, window Span) (string, []Interval, OEEReport) {
	t.Helper()
	snap, err := json.Marshal(tl)
	require.NoError(t, err)
	h, err := tl.History(window)
	require.NoError(t, err)
	r, err := tl.OEE(window, []Span{{t0.Add(2 * time.Hour), t0.Add(2*time.Hour + 15*time.Minute)}}, 2*time.Second)
	require.NoError(t, err)
	return string(snap), h, r
}

func TestReplayWithDuplicatesAndShuffleMatchesCleanStream(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 8))
			clean := stream(rng, 4000)
			window := Span{t0, clean[len(clean)-1].At.Add(time.Minute)}

			want := NewTimeline("CNC-1")
			apply(t, want, clean...)

			noisy := append([]Signal(nil), clean...)
			for range len(clean) / 10 {
				noisy = append(noisy, clean[rng.IntN(len(clean))])
			}
			rng.Shuffle(len(noisy), func(i, j int) { noisy[i], noisy[j] = noisy[j], noisy[i] })
			got := NewTimeline("CNC-1")
			counts := map[Outcome]int{}
			for _, s := range noisy {
				o, err := got.Apply(s)
				require.NoError(t, err)
				counts[o]++
			}
			assert.Equal(t, map[Outcome]int{Applied: len(clean), Duplicate: len(clean) / 10}, counts)

			wantSnap, wantHist, wantOEE := state(t, want, window)
			gotSnap, gotHist, gotOEE := state(t, got, window)
			assert.Equal(t, wantHist, gotHist)
			assert.Equal(t, wantOEE, gotOEE)
			assert.Equal(t, wantSnap, gotSnap, "the whole timeline, de-duplication memory included, is identical")
			assert.Greater(t, len(wantHist), 50, "the stream exercises many intervals")
		})
	}
}

func FuzzTimelineSnapshot(f *testing.F) {
	tl := NewTimeline("CNC-1")
	for _, s := range stream(rand.New(rand.NewPCG(1, 1)), 30) {
		_, _ = tl.Apply(s)
	}
	seed, err := json.Marshal(tl)
	require.NoError(f, err)
	f.Add(seed)
	f.Add([]byte(`{"equipment":"E","changes":[{"at":"0000-01-01T00:00:00Z","state":"down"}],"counts":[{"at":"9999-01-01T00:00:00Z","good":9223372036854775807}]}`))
	f.Add([]byte(`{"equipment":"E","sources":[{"source":"s","high":18446744073709551615,"seen":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var tl Timeline
		if err := tl.UnmarshalJSON(data); err != nil {
			assert.ErrorIs(t, err, ErrInvalidSnapshot)
			return
		}
		// A restored timeline answers queries without panicking and round-trips.
		window := Span{t0.Add(-time.Hour), t0.Add(time.Hour)}
		_, err := tl.History(window)
		require.NoError(t, err)
		_, _ = tl.OEE(window, nil, time.Second)
		_, _ = tl.Apply(countSig("s", 1, t0, 1, 0))
		out, err := json.Marshal(&tl)
		if err != nil {
			return // times outside what RFC 3339 can write cannot be persisted again
		}
		var back Timeline
		require.NoError(t, json.Unmarshal(out, &back))
		again, err := json.Marshal(&back)
		require.NoError(t, err)
		assert.JSONEq(t, string(out), string(again))
	})
}
