package execution

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dayShifts works Monday to Friday 06:00–14:00 UTC with a break 10:00–10:30.
var dayShifts = CalendarFunc(func(from, to time.Time) ([]Interval, error) {
	var out []Interval
	for d := from.Truncate(24 * time.Hour).Add(-24 * time.Hour); d.Before(to); d = d.Add(24 * time.Hour) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		out = append(out, Interval{d.Add(6 * time.Hour), d.Add(10 * time.Hour)}, Interval{d.Add(10*time.Hour + 30*time.Minute), d.Add(14 * time.Hour)})
	}
	return out, nil
})

func at(day, hour, minute int) time.Time {
	return time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC)
}

func TestProjectAgainstAHandComputedSchedule(t *testing.T) {
	require.Equal(t, time.Monday, t0.Weekday())
	fifty := decimal.NewFromInt(50)
	ops := []Operation{
		{Step: "10", WorkCenter: "CNC", Setup: 30 * time.Minute, RunPerUnit: 90 * time.Second, Quantity: fifty}, // 105 min
		{Step: "20", WorkCenter: "QC", RunPerUnit: 6 * time.Minute, Quantity: fifty},                            // 5 h
		{Step: "30", WorkCenter: "ASSY", Setup: time.Hour, RunPerUnit: 3 * time.Minute, Quantity: fifty},        // 3.5 h
	}
	ahead := map[string]time.Duration{"CNC": 2 * time.Hour, "QC": time.Hour, "ASSY": 9 * time.Hour}
	p, err := Project(t0, ops, ahead, dayShifts)
	require.NoError(t, err)
	// 10: CNC is free at Mon 08:00 (2 h ahead); 105 min → 09:45.
	// 20: QC is free at 07:00; starts after 10 at 09:45; 15 min + 3.5 h Monday + 75 min → Tue 07:15.
	// 30: ASSY is free after 9 h of working time: 7.5 h Monday + 1.5 h → Tue 07:30;
	//     3.5 h: 2.5 h to the break, 1 h after it → Tue 11:30.
	want := []Planned{
		{Step: "10", WorkCenter: "CNC", Ahead: 2 * time.Hour, Work: 105 * time.Minute, Start: at(23, 8, 0), Finish: at(23, 9, 45)},
		{Step: "20", WorkCenter: "QC", Ahead: time.Hour, Work: 5 * time.Hour, Start: at(23, 9, 45), Finish: at(24, 7, 15)},
		{Step: "30", WorkCenter: "ASSY", Ahead: 9 * time.Hour, Work: 210 * time.Minute, Start: at(24, 7, 30), Finish: at(24, 11, 30)},
	}
	assert.Equal(t, want, p.Steps)
	assert.Equal(t, at(24, 11, 30), p.Finish)
	assert.False(t, p.Crosses(at(24, 12, 0)))
	assert.Equal(t, -30*time.Minute, p.Late(at(24, 12, 0)))
	assert.True(t, p.Crosses(at(24, 11, 0)))
	assert.False(t, p.Crosses(time.Time{}), "no due date, never late")

	// Without a calendar every hour counts.
	p, err = Project(t0, ops, ahead, nil)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(9*time.Hour+210*time.Minute), p.Finish)
}

func TestAddWorkingSkipsTheWeekend(t *testing.T) {
	end, err := AddWorking(dayShifts, at(27, 13, 0), 2*time.Hour) // Friday
	require.NoError(t, err)
	assert.Equal(t, at(30, 7, 0), end)
	end, err = AddWorking(dayShifts, at(28, 3, 0), 0)
	require.NoError(t, err)
	assert.Equal(t, at(28, 3, 0), end)
}

func TestProjectErrors(t *testing.T) {
	never := CalendarFunc(func(from, to time.Time) ([]Interval, error) { return nil, nil })
	_, err := Project(t0, []Operation{{Step: "10", RunPerUnit: time.Minute, Quantity: decimal.NewFromInt(1)}}, nil, never)
	require.ErrorIs(t, err, ErrNoWorkingTime)

	boom := errors.New("calendar down")
	_, err = AddWorking(CalendarFunc(func(from, to time.Time) ([]Interval, error) { return nil, boom }), t0, time.Hour)
	require.ErrorIs(t, err, boom)

	_, err = Project(t0, []Operation{{Step: "10", WorkCenter: "X", Setup: -1, Quantity: decimal.NewFromInt(-1)}}, map[string]time.Duration{"X": -1}, nil)
	var v *ValidationError
	require.ErrorAs(t, err, &v)
	assert.Len(t, v.Problems, 3)

	p, err := Project(t0, []Operation{{Step: "10", Setup: time.Hour}}, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, t0, p.Finish, "nothing left to process takes no time, setup included")

	_, err = Project(t0, []Operation{{Step: "10", RunPerUnit: time.Hour, Quantity: decimal.NewFromInt(10_000_000)}}, nil, nil)
	require.ErrorAs(t, err, &v, "1,100 years of work overflowed into a negative time and finished now")
	assert.Contains(t, v.Problems[0].Reason, "longer than a duration holds")
}

func TestWorkRoundsTheRunUpToTheSecond(t *testing.T) {
	assert.Equal(t, 2*time.Second, Operation{RunPerUnit: time.Second, Quantity: decimal.RequireFromString("1.5")}.Work())
	assert.Equal(t, time.Minute+3*time.Second, Operation{Setup: time.Minute, RunPerUnit: time.Second, Quantity: decimal.NewFromInt(3)}.Work())
}
