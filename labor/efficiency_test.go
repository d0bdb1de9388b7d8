package labor

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/taktmes/takt/units"
)

func TestMachineTimeIsIndependentOfPeople(t *testing.T) {
	runs := []MachineRun{
		{Equipment: "OVEN-1", WorkCenter: "HEAT", Op: opA, From: at(8, 0), To: at(12, 0)},
		{Equipment: "OVEN-1", WorkCenter: "HEAT", Op: opB, From: at(10, 0), To: at(12, 0)},
		{Equipment: "CNC-1", WorkCenter: "MILL", Op: opC, From: at(9, 0)}, // still running
	}
	slices, err := MachineTime(runs, at(0, 0), at(11, 0))
	require.NoError(t, err)
	got := map[string]time.Duration{}
	for _, s := range slices {
		got[s.Equipment+" "+s.Op.WorkOrder] += s.Time
		assert.Empty(t, s.Person)
	}
	assert.Equal(t, map[string]time.Duration{
		"OVEN-1 WO-1": 2*time.Hour + 30*time.Minute, // alone 8-10, shared 10-11
		"OVEN-1 WO-2": 30 * time.Minute,
		"CNC-1 WO-3":  2 * time.Hour, // open run counts until the window end
	}, got)

	_, err = MachineTime([]MachineRun{
		{Op: opA, From: at(9, 0), To: at(8, 0)},
		{Equipment: "X", Op: opA, From: at(9, 0), To: at(10, 0)},
		{Equipment: "X", Op: opA, From: at(9, 30), To: at(11, 0)},
	}, at(0, 0), at(12, 0))
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Len(t, ve.Problems, 3, "%v", err)

	slices, err = MachineTime([]MachineRun{{Equipment: "X", Op: opA, From: at(9, 0), To: at(9, 0)}}, at(0, 0), at(12, 0))
	require.NoError(t, err, "a track-in and track-out at one instant make a run of no time, not a malformed one")
	assert.Empty(t, slices)
}

func TestStandardTime(t *testing.T) {
	tests := []struct {
		setup, run time.Duration
		qty        string
		want       time.Duration
		wantErr    bool
	}{
		{30 * time.Minute, 90 * time.Second, "50 ea", 30*time.Minute + 75*time.Minute, false},
		{0, time.Minute, "2.5 kg", 150 * time.Second, false},
		{time.Minute, time.Second, "0 ea", time.Minute, false},
		{-time.Minute, time.Second, "1 ea", 0, true},
		{0, time.Hour, "1000000000 ea", 0, true},
	}
	for _, tc := range tests {
		got, err := StandardTime(tc.setup, tc.run, units.MustParse(tc.qty))
		if tc.wantErr {
			assert.ErrorIs(t, err, ErrInvalid)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
}

func TestEfficienciesByDimension(t *testing.T) {
	labor := []Slice{
		{Person: "anna", WorkCenter: "CNC", Op: opA, Activity: Setup, Time: 30 * time.Minute},
		{Person: "anna", WorkCenter: "CNC", Op: opA, Activity: Run, Time: 90 * time.Minute},
		{Person: "ben", WorkCenter: "CNC", Op: opA, Activity: Run, Time: 60 * time.Minute},
		{Person: "ben", WorkCenter: "ASSY", Op: opB, Activity: Run, Time: 60 * time.Minute},
		{Person: "ben", WorkCenter: "ASSY", Op: opB, Activity: Indirect, Reason: "WAIT-MAT", Time: 20 * time.Minute},
	}
	machine := []Slice{{Equipment: "CNC-1", WorkCenter: "CNC", Op: opA, Time: 150 * time.Minute}}
	standards := map[Operation]time.Duration{opA: 3 * time.Hour, opB: 45 * time.Minute, opC: time.Hour}
	tests := []struct {
		by   Dimension
		want []Performance
	}{
		{ByOperation, []Performance{
			{Key: opA.String(), Standard: 3 * time.Hour, Actual: 3 * time.Hour, Machine: 150 * time.Minute},
			{Key: opB.String(), Standard: 45 * time.Minute, Actual: time.Hour},
			{Key: opC.String(), Standard: time.Hour},
		}},
		{ByWorkOrder, []Performance{
			{Key: "WO-1", Standard: 3 * time.Hour, Actual: 3 * time.Hour, Machine: 150 * time.Minute},
			{Key: "WO-2", Standard: 45 * time.Minute, Actual: time.Hour},
			{Key: "WO-3", Standard: time.Hour},
		}},
		{ByWorkCenter, []Performance{
			{Key: "", Standard: time.Hour}, // opC: nobody booked labor on it
			{Key: "ASSY", Standard: 45 * time.Minute, Actual: time.Hour},
			{Key: "CNC", Standard: 3 * time.Hour, Actual: 3 * time.Hour, Machine: 150 * time.Minute},
		}},
		{ByPerson, []Performance{
			{Key: "", Standard: time.Hour},
			{Key: "anna", Standard: 2 * time.Hour, Actual: 2 * time.Hour}, // 2/3 of opA's labor
			{Key: "ben", Standard: time.Hour + 45*time.Minute, Actual: 2 * time.Hour},
		}},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, Efficiencies(tc.by, standards, labor, machine), "dimension %d", tc.by)
	}
	eff, ok := Performance{Standard: 45 * time.Minute, Actual: time.Hour}.Efficiency()
	assert.True(t, ok)
	assert.Equal(t, "0.75", eff.String())
	_, ok = Performance{Standard: time.Hour}.Efficiency()
	assert.False(t, ok)
}

func TestCostUsesDecimalRatesAndReportsMissingRates(t *testing.T) {
	labor := []Slice{
		{Person: "anna", Op: opA, Time: 90 * time.Minute},
		{Person: "ben", Op: opA, Time: 20 * time.Minute},
	}
	machine := []Slice{{Equipment: "CNC-1", Op: opA, Time: 2 * time.Hour}}
	c := Costing{
		LaborRate:    map[string]decimal.Decimal{"anna": decimal.RequireFromString("42.10"), "ben": decimal.RequireFromString("38.00")},
		OverheadRate: decimal.RequireFromString("12.50"),
		MachineRate:  map[string]decimal.Decimal{"CNC-1": decimal.RequireFromString("80")},
	}
	cost, err := c.Cost(labor, machine)
	require.NoError(t, err)
	// 1.5 h × 42.10 = 63.15 plus 20 min × 38.00 = 12.666666…, rounded to 6 places.
	assert.Equal(t, "75.816667", cost.Labor.String())
	assert.Equal(t, "22.916667", cost.Overhead.String()) // 110 min × 12.50
	assert.Equal(t, "160", cost.Machine.String())        // 2 h × 80
	assert.Equal(t, "258.733334", cost.Total().String())

	_, err = Costing{}.Cost(labor, machine)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Len(t, ve.Problems, 3, "every missing rate is listed: %v", err)
}

func TestDirectoryValidate(t *testing.T) {
	d := Directory{
		People: []Person{
			{ID: "P1", UserID: "u-1", Name: "Anna", Roles: []string{"operator"}, Crew: "A", Rate: decimal.NewFromInt(40)},
			{ID: "P1", Roles: []string{"pilot"}, Crew: "Z", Rate: decimal.NewFromInt(-1)},
		},
		Crews: []Crew{{ID: "A", Name: "Crew A"}},
		Roles: []Role{{ID: "operator"}, {ID: ""}},
	}
	var ve *ValidationError
	require.ErrorAs(t, d.Validate(), &ve)
	assert.Len(t, ve.Problems, 5, "%v", ve)
	assert.True(t, d.People[0].HasRole("operator"))
	d.People, d.Roles = d.People[:1], d.Roles[:1]
	assert.NoError(t, d.Validate())
}

// Three operations start together and two stop 1 ns later: the nanosecond goes to one of
// them and operation b gets a slice of zero time, its only direct labor. Efficiencies by
// person shares b's standard as unassigned (it divided by weights that add up to zero).
func TestEfficienciesWithAnOperationOfNoDirectTime(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	a := Operation{WorkOrder: "WO", Lot: "L1", Step: "10"}
	b := Operation{WorkOrder: "WO", Lot: "L2", Step: "10"}
	c := Operation{WorkOrder: "WO", Lot: "L3", Step: "10"}
	l := NewLedger("p")
	l, _, err := l.Apply(
		Record{ID: "1", Person: "p", Kind: ClockIn, At: t0},
		Record{ID: "2", Person: "p", Kind: StartLabor, At: t0, Op: a, Activity: Run},
		Record{ID: "3", Person: "p", Kind: StartLabor, At: t0, Op: b, Activity: Run},
		Record{ID: "4", Person: "p", Kind: StartLabor, At: t0, Op: c, Activity: Run},
		Record{ID: "5", Person: "p", Kind: StopLabor, At: t0.Add(1), Op: c},
		Record{ID: "6", Person: "p", Kind: StopLabor, At: t0.Add(1), Op: b},
	)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := l.Timesheet(t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	std := map[Operation]time.Duration{a: time.Hour, b: time.Minute}
	perf := Efficiencies(ByPerson, std, ts.Slices, nil) // it divided by zero
	var total time.Duration
	for _, p := range perf {
		total += p.Standard
	}
	if total != time.Hour+time.Minute {
		t.Fatalf("standard time %v shared out, want all of %v: %+v", total, time.Hour+time.Minute, perf)
	}
}
