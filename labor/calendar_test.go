package labor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func threeShifts() map[time.Weekday][]Shift {
	week := map[time.Weekday][]Shift{}
	for wd := time.Monday; wd <= time.Saturday; wd++ {
		week[wd] = []Shift{
			{Name: "Early", Start: HM(6, 0), End: HM(14, 0), Breaks: []Break{{Start: HM(10, 0), Length: 15 * time.Minute}}},
			{Name: "Late", Start: HM(14, 0), End: HM(22, 0)},
			{Name: "Night", Start: HM(22, 0), End: HM(6, 0), Breaks: []Break{{Start: HM(2, 0), Length: 30 * time.Minute}}},
		}
	}
	return week
}

func TestShiftLengthsOverDaylightSavingChanges(t *testing.T) {
	for _, zone := range []string{"Europe/Berlin", "America/Chicago"} {
		cal, err := NewCalendar(zone, threeShifts())
		require.NoError(t, err)
		tests := []struct {
			date  Date
			shift string
			want  time.Duration
		}{
			{Date{2026, time.March, 27}, "Night", 8 * time.Hour},
			{Date{2026, time.March, 28}, "Night", 7 * time.Hour}, // Berlin springs forward on Mar 29
			{Date{2026, time.March, 28}, "Early", 8 * time.Hour},
			{Date{2026, time.October, 24}, "Night", 9 * time.Hour}, // Berlin falls back on Oct 25
			{Date{2026, time.March, 7}, "Night", 7 * time.Hour},    // Chicago springs forward on Mar 8
			{Date{2026, time.October, 31}, "Night", 9 * time.Hour}, // Chicago falls back on Nov 1
		}
		for _, tc := range tests {
			berlinDay := tc.date.Month == time.March && tc.date.Day == 28 || tc.date.Month == time.October && tc.date.Day == 24
			chicagoDay := tc.date.Month == time.March && tc.date.Day == 7 || tc.date.Month == time.October && tc.date.Day == 31
			want := tc.want
			if zone == "Europe/Berlin" && chicagoDay || zone == "America/Chicago" && berlinDay {
				want = 8 * time.Hour // the other zone's change is an ordinary day here
			}
			var got *ShiftInstance
			for _, si := range cal.ShiftsOn(tc.date) {
				if si.Shift == tc.shift {
					got = &si
				}
			}
			require.NotNil(t, got)
			assert.Equal(t, want, got.Duration(), "%s %s %s", zone, tc.date, tc.shift)
			assert.Equal(t, time.UTC, got.Start.Location())
		}
	}
}

func TestShiftAt(t *testing.T) {
	cal, err := NewCalendar("Europe/Berlin", threeShifts(),
		Exception{Date: Date{2026, time.May, 1}, Name: "Labour Day"},
		Exception{Date: Date{2026, time.May, 3}, Name: "Sunday overtime", Shifts: []Shift{{Name: "Extra", Start: HM(8, 0), End: HM(12, 0)}}},
	)
	require.NoError(t, err)
	berlin := cal.Location()
	tests := []struct {
		name  string
		at    time.Time
		shift string
		date  Date
	}{
		{"early shift start is inclusive", time.Date(2026, 3, 30, 6, 0, 0, 0, berlin), "Early", Date{2026, 3, 30}},
		{"early shift end is exclusive", time.Date(2026, 3, 30, 14, 0, 0, 0, berlin), "Late", Date{2026, 3, 30}},
		{"after midnight belongs to yesterday's night shift", time.Date(2026, 3, 31, 3, 0, 0, 0, berlin), "Night", Date{2026, 3, 30}},
		{"night shift over spring forward", time.Date(2026, 3, 29, 3, 30, 0, 0, berlin), "Night", Date{2026, 3, 28}},
		{"Sunday has no shifts", time.Date(2026, 3, 29, 12, 0, 0, 0, berlin), "", Date{}},
		{"a holiday has no shifts", time.Date(2026, 5, 1, 10, 0, 0, 0, berlin), "", Date{}},
		{"the night before a holiday still ends in the morning", time.Date(2026, 5, 1, 5, 0, 0, 0, berlin), "Night", Date{2026, 4, 30}},
		{"a special schedule", time.Date(2026, 5, 3, 9, 0, 0, 0, berlin), "Extra", Date{2026, 5, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			si, ok := cal.ShiftAt(tc.at.UTC())
			assert.Equal(t, tc.shift != "", ok)
			assert.Equal(t, tc.shift, si.Shift)
			assert.Equal(t, tc.date, si.Date)
		})
	}
}

func TestShiftBreaksAndNetTime(t *testing.T) {
	cal, err := NewCalendar("Europe/Berlin", threeShifts())
	require.NoError(t, err)
	berlin := cal.Location()
	ss := cal.ShiftsOn(Date{2026, time.March, 28})
	require.Len(t, ss, 3)
	night := ss[2]
	require.Len(t, night.Breaks, 1)
	// The night break is at 02:00 on the next day; on Mar 29 02:00 does not exist in Berlin
	// and time.Date resolves it to 03:00 CEST (01:00 UTC).
	assert.Equal(t, time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), night.Breaks[0].From)
	assert.Equal(t, 6*time.Hour+30*time.Minute, night.Net())
	early := ss[0]
	assert.Equal(t, time.Date(2026, 3, 28, 10, 0, 0, 0, berlin).UTC(), early.Breaks[0].From)
	assert.Equal(t, 7*time.Hour+45*time.Minute, early.Net())

	all, err := cal.Shifts(time.Date(2026, 3, 28, 0, 0, 0, 0, berlin), time.Date(2026, 3, 30, 0, 0, 0, 0, berlin))
	require.NoError(t, err)
	names := []string{}
	for _, si := range all {
		names = append(names, si.Date.String()+" "+si.Shift)
	}
	assert.Equal(t, []string{"2026-03-27 Night", "2026-03-28 Early", "2026-03-28 Late", "2026-03-28 Night"}, names)
	_, err = cal.Shifts(time.Date(2026, 1, 1, 0, 0, 0, 0, berlin), time.Date(2028, 1, 1, 0, 0, 0, 0, berlin))
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestCalendarValidationListsEveryProblem(t *testing.T) {
	_, err := NewCalendar("Mars/Olympus", map[time.Weekday][]Shift{
		time.Monday: {
			{Name: "A", Start: HM(6, 0), End: HM(14, 0), Breaks: []Break{{Start: HM(13, 50), Length: 20 * time.Minute}}},
			{Name: "B", Start: HM(13, 0), End: HM(21, 0)},
			{Name: "", Start: HM(25, 0), End: HM(25, 0)},
		},
		time.Tuesday:   {{Name: "N", Start: HM(22, 0), End: HM(7, 0)}},
		time.Wednesday: {{Name: "E", Start: HM(6, 0), End: HM(14, 0)}},
	}, Exception{Date: Date{2026, 2, 30}}, Exception{Date: Date{2026, 2, 30}})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	got := map[string]bool{}
	for _, p := range ve.Problems {
		got[p.Path] = true
	}
	for _, path := range []string{
		"Zone", "Week[Monday][0].Breaks[0]", "Week[Monday][1]", "Week[Monday][2].Name",
		"Week[Monday][2].Start", "Week[Monday][2].End", "Week[Tuesday][0]", "Exceptions[0].Date", "Exceptions[1].Date",
	} {
		assert.True(t, got[path], "missing problem at %s in %v", path, err)
	}
}

// An exception's shifts must not overlap the shifts of the dates around it, as the weekly
// pattern's must not (a special early shift from 05:00 after a night shift until 06:00 was
// accepted, and both counted 05:00-06:00).
func TestCalendarRefusesExceptionsOverlappingTheirNeighbours(t *testing.T) {
	early := []Shift{{Name: "Special early", Start: HM(5, 0), End: HM(13, 0)}}
	long := []Shift{{Name: "Long night", Start: HM(22, 0), End: HM(7, 0)}}
	_, err := NewCalendar("Europe/Berlin", threeShifts(),
		Exception{Date: Date{2026, time.May, 5}, Name: "after Monday's night", Shifts: early},
		Exception{Date: Date{2026, time.May, 7}, Name: "into Friday's early", Shifts: long},
		Exception{Date: Date{2026, time.May, 12}, Name: "long night", Shifts: long},
		Exception{Date: Date{2026, time.May, 13}, Name: "after the long night", Shifts: early},
	)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	got := map[string]bool{}
	for _, p := range ve.Problems {
		got[p.Path] = true
	}
	assert.Equal(t, map[string]bool{"Exceptions[0].Shifts[0]": true, "Exceptions[1].Shifts[0]": true, "Exceptions[2].Shifts[0]": true}, got, "%v", err)

	_, err = NewCalendar("Europe/Berlin", threeShifts(),
		Exception{Date: Date{2026, time.May, 5}, Name: "Tuesday off", Shifts: nil},
		Exception{Date: Date{2026, time.May, 9}, Name: "Saturday's long night into Sunday", Shifts: long},
	)
	assert.NoError(t, err)
}
