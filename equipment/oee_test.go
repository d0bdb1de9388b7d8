package equipment

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// workedExample is the classic OEE example: a 480 min shift 06:00-14:00 with two 15 min
// breaks and a 30 min meal (planned stops), 47 min down, ideal rate 60 parts/min, 19,271
// parts of which 423 rejects.
func workedExample(t *testing.T) (*Timeline, Span, []Span) {
	t.Helper()
	tl := NewTimeline("CNC-1")
	apply(t, tl,
		stateSig("plc", 1, t0, Running, ""),
		countSig("plc", 2, t0.Add(mins(30)), 5000, 100),
		stateSig("plc", 3, t0.Add(mins(60)), Down, "JAM"),
		stateSig("plc", 4, t0.Add(mins(107)), Running, ""),
		countSig("plc", 5, t0.Add(mins(180)), 5000, 200),
		countSig("plc", 6, t0.Add(mins(300)), 5000, 123),
		countSig("plc", 7, t0.Add(mins(420)), 3848, 0),
	)
	shift := Span{t0, t0.Add(8 * time.Hour)}
	breaks := []Span{
		{t0.Add(mins(120)), t0.Add(mins(135))}, // break
		{t0.Add(mins(240)), t0.Add(mins(270))}, // meal
		{t0.Add(mins(360)), t0.Add(mins(375))}, // break
	}
	return tl, shift, breaks
}

// checkBalance asserts the loss breakdown adds up to planned busy time.
func checkBalance(t *testing.T, r OEEReport, ideal time.Duration) {
	t.Helper()
	var down time.Duration
	for _, d := range r.Losses.Downtime {
		down += d.Duration
	}
	assert.Equal(t, r.Window.Duration(), r.PlannedStop+r.PlannedBusy)
	assert.Equal(t, r.PlannedBusy, r.Run+down)
	assert.Equal(t, r.Run, r.IdealProduction+r.Losses.Speed)
	assert.Equal(t, r.IdealProduction, ideal*time.Duration(r.Good)+r.Losses.Quality)
}

func TestOEEWorkedExample(t *testing.T) {
	tl, shift, breaks := workedExample(t)
	r, err := tl.OEE(shift, breaks, time.Second)
	require.NoError(t, err)

	assert.Equal(t, mins(60), r.PlannedStop)
	assert.Equal(t, mins(420), r.PlannedBusy)
	assert.Equal(t, mins(373), r.Run)
	assert.Equal(t, int64(18848), r.Good)
	assert.Equal(t, int64(423), r.Reject)
	assert.InDelta(t, 373.0/420, r.Availability.Value, 1e-12)
	assert.InDelta(t, 0.8881, r.Availability.Value, 5e-5)
	assert.InDelta(t, 0.8611, r.Performance.Value, 5e-5)
	assert.InDelta(t, 0.9780, r.Quality.Value, 5e-5)
	assert.InDelta(t, 0.7479, r.OEE.Value, 5e-5)
	assert.InDelta(t, 18848.0/(420*60), r.OEE.Value, 1e-12, "OEE = fully productive time / planned busy time")
	for _, ratio := range []Ratio{r.Availability, r.Performance, r.Quality, r.OEE} {
		assert.True(t, ratio.Defined)
		assert.Empty(t, ratio.Note)
	}
	assert.Equal(t, []DowntimeLoss{{State: Down, Reason: "JAM", Duration: mins(47)}}, r.Losses.Downtime)
	assert.Equal(t, mins(373)-19271*time.Second, r.Losses.Speed)
	assert.Equal(t, 423*time.Second, r.Losses.Quality)
	checkBalance(t, r, time.Second)

	// An operator's correction moves the downtime to another reason.
	require.NoError(t, tl.CorrectReason(Correction{Interval: t0.Add(mins(60)), Reason: "MATERIAL", By: "ben", At: t0.Add(9 * time.Hour)}))
	r, err = tl.OEE(shift, breaks, time.Second)
	require.NoError(t, err)
	assert.Equal(t, []DowntimeLoss{{State: Down, Reason: "MATERIAL", Duration: mins(47)}}, r.Losses.Downtime)
}

func TestOEEEdgeCases(t *testing.T) {
	hour := Span{t0, t0.Add(time.Hour)}
	for _, tc := range []struct {
		name    string
		signals []Signal
		window  Span
		planned []Span
		check   func(t *testing.T, r OEEReport)
	}{
		{
			name:    "no planned time",
			signals: []Signal{stateSig("plc", 1, t0, Running, ""), countSig("plc", 2, t0.Add(mins(5)), 10, 0)},
			window:  hour,
			planned: []Span{{t0.Add(-time.Hour), t0.Add(2 * time.Hour)}},
			check: func(t *testing.T, r OEEReport) {
				assert.Equal(t, time.Duration(0), r.PlannedBusy)
				assert.False(t, r.Availability.Defined)
				assert.False(t, r.OEE.Defined)
				assert.Equal(t, int64(10), r.ExcludedGood, "parts made during planned stops are reported, not lost")
				assert.Equal(t, int64(0), r.Good)
			},
		},
		{
			name:   "empty window",
			window: Span{t0, t0},
			check: func(t *testing.T, r OEEReport) {
				assert.False(t, r.Availability.Defined)
				assert.False(t, r.OEE.Defined)
			},
		},
		{
			name:    "counts with no running time",
			signals: []Signal{stateSig("plc", 1, t0, Down, "X"), countSig("plc", 2, t0.Add(mins(5)), 10, 2)},
			window:  hour,
			check: func(t *testing.T, r OEEReport) {
				assert.Equal(t, Ratio{Value: 0, Defined: true}, r.Availability)
				assert.False(t, r.Performance.Defined)
				assert.Contains(t, r.Performance.Note, "12 parts counted with no running time")
				assert.InDelta(t, 10.0/12, r.Quality.Value, 1e-12)
				assert.False(t, r.OEE.Defined)
			},
		},
		{
			name:    "down all shift, nothing counted",
			signals: []Signal{stateSig("plc", 1, t0, Down, "X")},
			window:  hour,
			check: func(t *testing.T, r OEEReport) {
				assert.False(t, r.Performance.Defined)
				assert.False(t, r.Quality.Defined)
				assert.Equal(t, 0.0, r.OEE.Value)
				assert.True(t, r.OEE.Defined, "a machine down all shift has OEE 0")
			},
		},
		{
			name:    "no signals at all is unknown downtime",
			window:  hour,
			signals: nil,
			check: func(t *testing.T, r OEEReport) {
				assert.Equal(t, []DowntimeLoss{{State: Unknown, Duration: time.Hour}}, r.Losses.Downtime)
			},
		},
		{
			name:    "performance above 1 is reported, not capped",
			signals: []Signal{stateSig("plc", 1, t0, Running, ""), countSig("plc", 2, t0.Add(mins(5)), 4000, 0)},
			window:  hour,
			check: func(t *testing.T, r OEEReport) {
				assert.InDelta(t, 4000.0/3600, r.Performance.Value, 1e-12)
				assert.Contains(t, r.Performance.Note, "above 1")
				assert.Less(t, r.Losses.Speed, time.Duration(0))
			},
		},
		{
			name: "window boundaries cut intervals and planned stops",
			signals: []Signal{
				stateSig("plc", 1, t0.Add(-time.Hour), Running, ""),
				countSig("plc", 2, t0.Add(-mins(1)), 100, 0), // before the window
				countSig("plc", 3, t0.Add(mins(10)), 600, 0),
				stateSig("plc", 4, t0.Add(mins(20)), Setup, "CHANGEOVER"),
				stateSig("plc", 5, t0.Add(mins(50)), PlannedStop, "MEETING"),
				stateSig("plc", 6, t0.Add(mins(70)), Running, ""),
				countSig("plc", 7, t0.Add(mins(58)), 7, 0), // during the planned-stop state
				countSig("plc", 8, hour.End, 100, 0),       // at the window end: outside
			},
			window:  hour,
			planned: []Span{{t0.Add(-mins(5)), t0.Add(mins(5))}, {t0.Add(mins(2)), t0.Add(mins(6))}, {t0.Add(mins(45)), t0.Add(mins(55))}},
			check: func(t *testing.T, r OEEReport) {
				// planned: 0-6 (merged, clipped) and 45-60 (calendar 45-55 ∪ planned_stop state 50-60)
				assert.Equal(t, mins(21), r.PlannedStop)
				assert.Equal(t, mins(14), r.Run)
				assert.Equal(t, []DowntimeLoss{{State: Setup, Reason: "CHANGEOVER", Duration: mins(25)}}, r.Losses.Downtime)
				assert.Equal(t, int64(600), r.Good)
				assert.Equal(t, int64(7), r.ExcludedGood)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := NewTimeline("CNC-1")
			apply(t, tl, tc.signals...)
			r, err := tl.OEE(tc.window, tc.planned, time.Second)
			require.NoError(t, err)
			for _, ratio := range []Ratio{r.Availability, r.Performance, r.Quality, r.OEE} {
				if !ratio.Defined {
					assert.Equal(t, 0.0, ratio.Value, "undefined ratios are 0, never NaN or Inf")
					assert.NotEmpty(t, ratio.Note)
				}
			}
			checkBalance(t, r, time.Second)
			tc.check(t, r)
		})
	}
}

func TestOEEErrors(t *testing.T) {
	tl, shift, breaks := workedExample(t)
	_, err := tl.OEE(shift, breaks, 0)
	assert.ErrorIs(t, err, ErrNoIdealCycleTime)
	_, err = tl.OEE(shift, []Span{{shift.End, shift.Start}}, time.Second)
	assert.ErrorIs(t, err, ErrInvalidWindow)
	_, err = tl.OEE(Span{shift.End, shift.Start}, nil, time.Second)
	assert.ErrorIs(t, err, ErrInvalidWindow)
	_, err = tl.OEE(shift, nil, time.Duration(1)<<62)
	assert.ErrorIs(t, err, ErrOverflow)
}

func TestAggregateOEESumsInsteadOfAveraging(t *testing.T) {
	hour := Span{t0, t0.Add(time.Hour)}
	fast := NewTimeline("CNC-1")
	apply(t, fast, stateSig("plc", 1, t0, Running, ""), countSig("plc", 2, t0.Add(mins(30)), 3000, 600))
	slow := NewTimeline("CNC-1") // a second machine, half the hour down
	apply(t, slow, stateSig("plc", 1, t0, Down, "JAM"), stateSig("plc", 2, t0.Add(mins(30)), Running, ""),
		countSig("plc", 3, t0.Add(mins(40)), 100, 0))
	a, err := fast.OEE(hour, nil, time.Second)
	require.NoError(t, err)
	b, err := slow.OEE(hour, nil, 6*time.Second)
	require.NoError(t, err)

	wc, err := AggregateOEE(a, b)
	require.NoError(t, err)
	assert.Equal(t, 2*time.Hour, wc.PlannedBusy)
	assert.Equal(t, 90*time.Minute, wc.Run)
	assert.Equal(t, int64(3100), wc.Good)
	assert.Equal(t, 3600*time.Second+600*time.Second, wc.IdealProduction)
	assert.InDelta(t, 0.75, wc.Availability.Value, 1e-12)
	assert.InDelta(t, 4200.0/5400, wc.Performance.Value, 1e-12)
	assert.InDelta(t, 3100.0/3700, wc.Quality.Value, 1e-12)
	assert.InDelta(t, wc.Availability.Value*wc.Performance.Value*wc.Quality.Value, wc.OEE.Value, 1e-12)
	assert.NotEqual(t, (a.OEE.Value+b.OEE.Value)/2, wc.OEE.Value)
	assert.Equal(t, []DowntimeLoss{{State: Down, Reason: "JAM", Duration: mins(30)}}, wc.Losses.Downtime)
	assert.Equal(t, a.Losses.Speed+b.Losses.Speed, wc.Losses.Speed)
	assert.Equal(t, hour, wc.Window)

	empty, err := AggregateOEE()
	require.NoError(t, err)
	assert.False(t, empty.OEE.Defined)
}
