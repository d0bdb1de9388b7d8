package execution

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func d(n int64) decimal.Decimal { return decimal.NewFromInt(n) }

func h(hours float64) time.Time { return t0.Add(time.Duration(hours * float64(time.Hour))) }

// history is a small hand-made history; the window is [t0, t0+8h). Records before 4 h are
// in shift A, later ones in shift B.
func history() []Record {
	rs := []Record{
		{Kind: OrderReleased, Time: h(-1), WorkOrder: "WO1", Product: "P1", Due: h(6)},
		{Kind: OrderReleased, Time: h(-1), WorkOrder: "WO2", Product: "P2", Due: h(3)},
		{Kind: TrackedOut, Time: h(-0.5), Lot: "L0", Step: "10", WorkCenter: "CNC", Product: "P1", Good: d(100)}, // before the window
		{Kind: PriorityChanged, Time: h(0), WorkOrder: "WO3", Product: "P2", From: 5, To: 1},                     // not released: no expedite
		{Kind: LotStarted, Time: h(0), Lot: "L1", WorkOrder: "WO1", Product: "P1"},
		{Kind: LotStarted, Time: h(0.5), Lot: "L2", WorkOrder: "WO2", Product: "P2"},
		{Kind: TrackedIn, Time: h(1), Lot: "L1", Step: "10", WorkCenter: "CNC", Product: "P1", SetupFamily: "A"},
		{Kind: PriorityChanged, Time: h(1), WorkOrder: "WO2", Product: "P2", From: 5, To: 2},   // expedite
		{Kind: PriorityChanged, Time: h(1.5), WorkOrder: "WO2", Product: "P2", From: 2, To: 4}, // less urgent
		{Kind: TrackedIn, Time: h(2), Lot: "L2", Step: "10", WorkCenter: "CNC", Product: "P2", SetupFamily: "B"},
		{Kind: Scrapped, Time: h(2.5), Lot: "L1", Step: "10", WorkCenter: "CNC", Product: "P1", Qty: d(1), Reason: "CHATTER"},
		{Kind: TrackedOut, Time: h(2.5), Lot: "L1", Step: "10", WorkCenter: "CNC", Product: "P1", Good: d(8), Scrap: d(1), Reworked: d(1)},
		{Kind: StepCompleted, Time: h(2.5), Lot: "L1", Step: "10", WorkCenter: "CNC", Product: "P1"},
		{Kind: LotStarted, Time: h(2.5), Lot: "L1-R1", WorkOrder: "WO1", Product: "P1", Rework: true},
		{Kind: TrackedIn, Time: h(3), Lot: "L1", Step: "20", WorkCenter: "QC", Product: "P1"},
		{Kind: Scrapped, Time: h(3), Lot: "L2", Step: "10", WorkCenter: "CNC", Product: "P2", Qty: d(2), Reason: "BURR"},
		{Kind: TrackedOut, Time: h(3), Lot: "L2", Step: "10", WorkCenter: "CNC", Product: "P2", Good: d(3), Scrap: d(2)},
		{Kind: TrackedOut, Time: h(3.5), Lot: "L1", Step: "20", WorkCenter: "QC", Product: "P1", Good: d(8)},
		{Kind: StepCompleted, Time: h(3.5), Lot: "L1", Step: "20", WorkCenter: "QC", Product: "P1"},
		{Kind: LotCompleted, Time: h(3.5), Lot: "L1", Product: "P1"},
		{Kind: TrackedIn, Time: h(4), Lot: "L1-R1", Step: "R10", WorkCenter: "CNC", Product: "P1", SetupFamily: "A"},
		{Kind: TrackedOut, Time: h(4.5), Lot: "L1-R1", Step: "R10", WorkCenter: "CNC", Product: "P1", Good: d(1)},
		{Kind: OrderCompleted, Time: h(5), WorkOrder: "WO1", Product: "P1", Due: h(6)},
		{Kind: OrderCompleted, Time: h(7), WorkOrder: "WO2", Product: "P2", Due: h(3)},
		{Kind: TrackedOut, Time: h(9), Lot: "L2", Step: "10", WorkCenter: "CNC", Product: "P2", Good: d(50)}, // after the window
	}
	for i := range rs {
		rs[i].Shift = "A"
		if !rs[i].Time.Before(h(4)) {
			rs[i].Shift = "B"
		}
	}
	// Records need not be sorted.
	rs[5], rs[20] = rs[20], rs[5]
	return rs
}

var window = Window{From: t0, To: h(8)}

func stat(count int, mean, maxd time.Duration) Stat { return Stat{Count: count, Mean: mean, Max: maxd} }

func assertStat(t *testing.T, want, got Stat, what string) {
	t.Helper()
	assert.Equal(t, want.Count, got.Count, what+" count")
	assert.Equal(t, want.Mean, got.Mean, what+" mean")
	assert.Equal(t, want.Max, got.Max, what+" max")
}

func TestKPIsOverAHandComputedHistory(t *testing.T) {
	all, err := Compute(history(), window)
	require.NoError(t, err)
	require.Len(t, all, 1)
	k := all[0]
	// Queue: L1@10 1h (ready at start 0h), L2@10 1.5h (0.5→2), L1@20 0.5h (10 done at 2.5),
	// L1-R1@R10 1.5h (started 2.5, in at 4).
	assertStat(t, stat(4, 67*time.Minute+30*time.Second, 90*time.Minute), k.QueueTime, "queue")
	// L1: lead 3.5h − processing (10: 1→2.5, 20: 3→3.5) 2h = 1.5h.
	assertStat(t, stat(1, 90*time.Minute, 90*time.Minute), k.WaitBetweenSteps, "wait")
	// WO1 −1→5 = 6h, WO2 −1→7 = 8h.
	assertStat(t, stat(2, 7*time.Hour, 8*time.Hour), k.LeadTime, "lead")
	assert.Equal(t, 2, k.Completed)
	assert.Equal(t, 1, k.OnTime)
	assert.InDelta(t, 0.5, k.ScheduleAdherence, 1e-12)
	// WIP at 8h: L2 (started 0.5 → 7.5h), L1-R1 (started 2.5 → 5.5h).
	assert.Equal(t, 2, k.WIP)
	assertStat(t, stat(2, 390*time.Minute, 450*time.Minute), k.WIPAge, "wip age")
	// Processed 10 + 5 + 8 + 1 = 24; first pass 10 + 5 + 8 = 23 with 19 good and 1 reworked.
	assert.True(t, d(24).Equal(k.Processed), k.Processed.String())
	assert.True(t, d(23).Equal(k.FirstPass), k.FirstPass.String())
	assert.InDelta(t, 19.0/23, k.FirstPassYield, 1e-12)
	assert.InDelta(t, 1.0/23, k.ReworkRate, 1e-12)
	assert.True(t, d(1).Equal(k.ScrapByReason["CHATTER"]))
	assert.True(t, d(2).Equal(k.ScrapByReason["BURR"]))
	assert.InDelta(t, 1.0/24, k.ScrapRate["CHATTER"], 1e-12)
	assert.InDelta(t, 2.0/24, k.ScrapRate["BURR"], 1e-12)
	// CNC: A (L1), B (L2) → 1, A (L1-R1) → 2.
	assert.Equal(t, 2, k.Changeovers)
	assert.Equal(t, 1, k.Expedites)
}

func TestKPIsByWorkCenter(t *testing.T) {
	groups, err := Compute(history(), window, ByWorkCenter)
	require.NoError(t, err)
	require.Len(t, groups, 3)
	none, cnc, qc := groups[0], groups[1], groups[2]
	assert.Equal(t, Group{}, none.Group)
	assert.Equal(t, "CNC", cnc.WorkCenter)
	assert.Equal(t, "QC", qc.WorkCenter)

	assertStat(t, stat(3, 80*time.Minute, 90*time.Minute), cnc.QueueTime, "CNC queue")
	assertStat(t, stat(1, 30*time.Minute, 30*time.Minute), qc.QueueTime, "QC queue")
	assert.Equal(t, 2, cnc.Changeovers)
	assert.True(t, d(16).Equal(cnc.Processed))
	assert.InDelta(t, 11.0/15, cnc.FirstPassYield, 1e-12)
	assert.InDelta(t, 1.0/15, cnc.ReworkRate, 1e-12)
	assert.InDelta(t, 2.0/16, cnc.ScrapRate["BURR"], 1e-12)
	assert.InDelta(t, 1.0, qc.FirstPassYield, 1e-12)
	// WIP per work center: L2@10 (ready 0.5 → 7.5h) and L1-R1@R10 (ready 2.5 → 5.5h) at CNC.
	assert.Equal(t, 2, cnc.WIP)
	assertStat(t, stat(2, 390*time.Minute, 450*time.Minute), cnc.WIPAge, "CNC wip")
	assert.Zero(t, qc.WIP)
	// Order KPIs have no work center.
	assert.Equal(t, 2, none.Completed)
	assert.Equal(t, 1, none.Expedites)
	assertStat(t, stat(1, 90*time.Minute, 90*time.Minute), none.WaitBetweenSteps, "wait")
}

func TestKPIsByProductAndShift(t *testing.T) {
	groups, err := Compute(history(), window, ByProduct, ByShift)
	require.NoError(t, err)
	byKey := map[Group]KPIs{}
	for _, g := range groups {
		byKey[g.Group] = g
	}
	p1a, p1b, p2a, p2b := byKey[Group{Product: "P1", Shift: "A"}], byKey[Group{Product: "P1", Shift: "B"}], byKey[Group{Product: "P2", Shift: "A"}], byKey[Group{Product: "P2", Shift: "B"}]
	assertStat(t, stat(2, 45*time.Minute, time.Hour), p1a.QueueTime, "P1 A queue")
	assertStat(t, stat(1, 90*time.Minute, 90*time.Minute), p1b.QueueTime, "P1 B queue")
	assertStat(t, stat(1, 90*time.Minute, 90*time.Minute), p2a.QueueTime, "P2 A queue")
	assert.Equal(t, 1, p1b.Completed)
	assert.Equal(t, 1, p1b.OnTime)
	assert.Equal(t, 1, p2b.Completed)
	assert.Zero(t, p2b.OnTime)
	assert.Equal(t, 1, p2a.Expedites)
	assert.Equal(t, 1, p1a.Changeovers+p2a.Changeovers, "B after A at CNC, in shift A")
	assert.Equal(t, 1, p1b.Changeovers, "A after B at CNC, in shift B")
	// WIP has no shift.
	assert.Equal(t, 1, byKey[Group{Product: "P1"}].WIP)
	assert.Equal(t, 1, byKey[Group{Product: "P2"}].WIP)
}

func TestComputeRefusesBadArguments(t *testing.T) {
	_, err := Compute(nil, Window{From: t0, To: t0})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Compute(nil, window, "line")
	require.ErrorIs(t, err, ErrInvalid)
	groups, err := Compute(nil, window)
	require.NoError(t, err)
	assert.Empty(t, groups)
}
