package mes_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/dispatch"
	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/execution"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

func lotsOf(l dispatch.List) []string {
	out := []string{}
	for _, e := range l.Ranked {
		out = append(out, e.Candidate.Lot)
	}
	return out
}

// threeOrders releases orders A (priority 3, due in 5 days), B (priority 1, due in 9 days)
// and C (priority 3, due in 2 days) with one lot each queued at step 10 (CNC).
func threeOrders(t *testing.T, f fixture) map[string]mes.Lot {
	t.Helper()
	lots := map[string]mes.Lot{}
	for _, o := range []struct {
		number   string
		priority int
		dueDays  int
	}{{"A", 3, 5}, {"B", 1, 9}, {"C", 3, 2}} {
		in := newOrder(o.number)
		in.Priority = o.priority
		in.Due = f.clock.Now().Add(time.Duration(o.dueDays) * 24 * time.Hour)
		wo, err := f.plant.CreateWorkOrder(ctx, in, erp)
		require.NoError(t, err)
		_, err = f.plant.ReleaseWorkOrder(ctx, wo.ID, planner)
		require.NoError(t, err)
		lot, err := f.plant.StartLot(ctx, wo.ID, units.MustParse("10 ea"), planner)
		require.NoError(t, err)
		lots[o.number] = lot
		f.clock.Advance(time.Minute)
	}
	return lots
}

func TestDispatchListRanksAndReacts(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	lots := threeOrders(t, f)

	list, err := p.DispatchList(ctx, "PLANT-1", "CNC")
	require.NoError(t, err)
	assert.Equal(t, mes.DefaultDispatchRule, list.Rule)
	assert.Equal(t, []string{lots["B"].ID, lots["C"].ID, lots["A"].ID}, lotsOf(list), "priority first, then due date")
	assert.NotEmpty(t, list.Ranked[0].Explain())

	// A hold makes C ineligible, with the reason.
	h, err := p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnLot, ID: lots["C"].ID}, "CONTAMINATION", planner)
	require.NoError(t, err)
	list, err = p.DispatchList(ctx, "PLANT-1", "CNC")
	require.NoError(t, err)
	assert.Equal(t, []string{lots["B"].ID, lots["A"].ID}, lotsOf(list))
	require.Len(t, list.Ineligible, 1)
	assert.Equal(t, lots["C"].ID, list.Ineligible[0].Candidate.Lot)
	assert.Equal(t, dispatch.ReasonHold, list.Ineligible[0].Reasons[0].Code)
	assert.Contains(t, list.Ineligible[0].Reasons[0].Text, "CONTAMINATION")
	_, err = p.ReleaseHold(ctx, h.ID, planner, mes.Reason("cleaned"))
	require.NoError(t, err)

	// An expedite moves A to the front.
	_, err = p.SetWorkOrderPriority(ctx, lots["A"].WorkOrder, 0, planner)
	require.NoError(t, err)
	list, err = p.DispatchList(ctx, "PLANT-1", "CNC")
	require.NoError(t, err)
	assert.Equal(t, []string{lots["A"].ID, lots["B"].ID, lots["C"].ID}, lotsOf(list))

	// A track-in takes B off the queue.
	_, err = p.TrackIn(ctx, lots["B"].ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	list, err = p.DispatchList(ctx, "PLANT-1", "CNC")
	require.NoError(t, err)
	assert.Equal(t, []string{lots["A"].ID, lots["C"].ID}, lotsOf(list))

	// A new rule ranks by due date only.
	require.NoError(t, p.SetDispatchRule(ctx, "CNC", "EDD", "", planner))
	list, err = p.DispatchList(ctx, "PLANT-1", "CNC")
	require.NoError(t, err)
	assert.Equal(t, "EDD", list.Rule)
	assert.Equal(t, []string{lots["C"].ID, lots["A"].ID}, lotsOf(list))
}

func TestDispatchListShowsShortages(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "BIG")
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("50 ea"), planner)
	require.NoError(t, err)
	for _, step := range []string{"10", "20"} {
		_, err = p.TrackIn(ctx, lot.ID, step, units.Quantity{}, operator)
		require.NoError(t, err)
		_, err = p.TrackOut(ctx, lot.ID, step, routing.Outcome{Good: units.MustParse("50 ea"), Results: map[string]float64{"bore": 10}}, operator)
		require.NoError(t, err)
	}
	// 50 seal kits are needed at assembly; 70 are on hand, 40 of them in lot SK-2.
	_, err = p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnLot, ID: "SK-2"}, "supplier recall", planner)
	require.NoError(t, err)
	list, err := p.DispatchList(ctx, "PLANT-1", "ASSY")
	require.NoError(t, err)
	require.Len(t, list.Ineligible, 1)
	r := list.Ineligible[0].Reasons[0]
	assert.Equal(t, dispatch.ReasonShortage, r.Code)
	assert.Contains(t, r.Text, "SEAL-KIT")
	assert.Contains(t, r.Text, "20 ea")
}

func TestSetDispatchRuleRejectsBadRules(t *testing.T) {
	f := newPlant(t)
	before := takeSnapshot(t, f.store)
	err := f.plant.SetDispatchRule(ctx, "CNC", "mine", "dueInHours +", planner)
	require.ErrorIs(t, err, mes.ErrInvalid)
	var re *dispatch.RuleError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Line)
	err = f.plant.SetDispatchRule(ctx, "CNC", "NOPE", "", planner)
	assert.ErrorIs(t, err, mes.ErrInvalid)
	err = f.plant.SetDispatchRule(ctx, "MARS", "EDD", "", planner)
	assert.ErrorIs(t, err, mes.ErrNotFound)
	assert.Equal(t, before, takeSnapshot(t, f.store))
}

func TestDispatchListForPersonChecksQualification(t *testing.T) {
	f := laborPlant(t)
	lot := startLot(t, f, "Q-1", "5 ea")
	list, err := f.plant.DispatchList(ctx, "PLANT-1", "CNC", mes.ForPerson("bob"))
	require.NoError(t, err)
	require.Len(t, list.Ineligible, 1)
	assert.Equal(t, lot.ID, list.Ineligible[0].Candidate.Lot)
	assert.Equal(t, dispatch.ReasonQualification, list.Ineligible[0].Reasons[0].Code)
	assert.Contains(t, list.Ineligible[0].Reasons[0].Text, "CNC-OP")

	list, err = f.plant.DispatchList(ctx, "PLANT-1", "CNC", mes.ForPerson("olga"))
	require.NoError(t, err)
	assert.Equal(t, []string{lot.ID}, lotsOf(list))
}

func TestDispatchListForPersonChecksTheRequiredLevel(t *testing.T) {
	f := laborPlant(t)
	lot := startLot(t, f, "Q-2", "5 ea")
	_, err := f.plant.Certify(ctx, labor.Certification{Person: "bob", Qualification: "CNC-OP", Level: 1, Issued: f.clock.Now().AddDate(0, -1, 0)}, admin)
	require.NoError(t, err)
	list, err := f.plant.DispatchList(ctx, "PLANT-1", "CNC", mes.ForPerson("bob"))
	require.NoError(t, err)
	require.Len(t, list.Ineligible, 1, "level 1 is below the level 2 the site requires")
	assert.Equal(t, lot.ID, list.Ineligible[0].Candidate.Lot)
	_, err = f.plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, bobActor)
	assert.ErrorIs(t, err, mes.ErrNotQualified, "the same rule at track-in")
}

// The exception rules pass its events on to the dispatch boards (they need not read them
// again): the lists it leaves are those a board built from the store gives.
func TestDispatchListFollowsTheEventsTheExceptionRulesRead(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	lots := threeOrders(t, f)
	saveRule(t, f, execution.RuleSpec{Name: "held", Owner: "supervisor", When: "hold.active", Cause: "hold.id", Clear: "!hold.active"})
	_, err := p.DispatchList(ctx, "PLANT-1", "CNC")
	require.NoError(t, err)

	_, err = p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnLot, ID: lots["C"].ID}, "CONTAMINATION", planner)
	require.NoError(t, err)
	_, err = p.SetWorkOrderPriority(ctx, lots["A"].WorkOrder, 0, planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lots["B"].ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	run, tasks := runRules(t, f)
	require.Positive(t, run.Events)
	require.Len(t, tasks, 1, "the hold opened a task")

	list, err := p.DispatchList(ctx, "PLANT-1", "CNC")
	require.NoError(t, err)
	fresh, err := mes.Open(ctx, f.store)
	require.NoError(t, err)
	want, err := fresh.DispatchList(ctx, "PLANT-1", "CNC")
	require.NoError(t, err)
	assert.Equal(t, []string{lots["A"].ID}, lotsOf(list))
	assert.Equal(t, lotsOf(want), lotsOf(list))
	require.Len(t, list.Ineligible, 1)
	assert.Equal(t, lots["C"].ID, list.Ineligible[0].Candidate.Lot)
	assert.Equal(t, want.Ineligible, list.Ineligible)
}

func TestAPausedStepIsNotDispatched(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "P1")
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("10 ea"), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.MustParse("4 ea"), operator)
	require.NoError(t, err)
	_, err = p.PauseLot(ctx, lot.ID, "10", operator, mes.Reason("tool broke"))
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.ErrorIs(t, err, mes.ErrWrongState) // the engine refuses it
	list, err := p.DispatchList(ctx, "PLANT-1", "CNC")
	require.NoError(t, err)
	require.Empty(t, lotsOf(list), "a paused step takes no track-in")
}

// A hold on equipment above the work center (its area, its site) blocks track-in there, so
// the dispatch list shows the lots as ineligible with the hold, as it does for a hold on the
// work center itself.
func TestDispatchListShowsHoldsAboveTheWorkCenter(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	lots := threeOrders(t, f)
	for _, target := range []string{"MACHINING", "PLANT-1"} {
		h, err := p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnEquipment, ID: target}, "COOLANT LEAK", planner)
		require.NoError(t, err)
		_, err = p.TrackIn(ctx, lots["B"].ID, "10", units.Quantity{}, operator)
		require.ErrorIs(t, err, mes.ErrOnHold, "track-in at CNC is refused under a hold on %s", target)
		for _, opts := range [][]mes.DispatchOption{nil, {mes.ForEquipment("CNC-1")}} {
			list, err := p.DispatchList(ctx, "PLANT-1", "CNC", opts...)
			require.NoError(t, err)
			assert.Empty(t, lotsOf(list), "hold on %s", target)
			require.Len(t, list.Ineligible, 3)
			assert.Equal(t, dispatch.ReasonHold, list.Ineligible[0].Reasons[0].Code)
			assert.Contains(t, list.Ineligible[0].Reasons[0].Text, target)
		}
		_, err = p.ReleaseHold(ctx, h.ID, planner, mes.Reason("fixed"))
		require.NoError(t, err)
		list, err := p.DispatchList(ctx, "PLANT-1", "CNC")
		require.NoError(t, err)
		assert.Len(t, lotsOf(list), 3)
	}
}

// The SETUP rule of a unit's list prefers the family running on that unit, not the one
// running on another unit of the work center.
func TestDispatchListForAUnitUsesTheFamilyRunningOnIt(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	require.NoError(t, p.DefineEquipment(ctx, []equipment.Equipment{{ID: "CNC-2", Level: equipment.WorkUnit, Parent: "CNC"}}, admin))
	for _, m := range []string{"GEAR-A", "GEAR-B"} {
		require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: m, Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
		rt, err := routing.New(m, "1").Step("10", "Hob", routing.At("CNC"), routing.Run(time.Minute), routing.SetupFamily("FAM-"+m[5:])).Build()
		require.NoError(t, err)
		_, err = p.PublishRouting(ctx, "PLANT-1", rt, admin)
		require.NoError(t, err)
	}
	start := func(number, product string) mes.Lot {
		in := newOrder(number)
		in.Product = product
		wo, err := p.CreateWorkOrder(ctx, in, erp)
		require.NoError(t, err)
		_, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
		require.NoError(t, err)
		lot, err := p.StartLot(ctx, wo.ID, units.MustParse("5 ea"), planner)
		require.NoError(t, err)
		f.clock.Advance(time.Minute)
		return lot
	}
	runA, runB := start("RA", "GEAR-A"), start("RB", "GEAR-B")
	_, err := p.TrackIn(ctx, runA.ID, "10", units.Quantity{}, operator, mes.On("CNC-1"))
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, runB.ID, "10", units.Quantity{}, operator, mes.On("CNC-2"))
	require.NoError(t, err)
	queuedB, queuedA := start("QB", "GEAR-B"), start("QA", "GEAR-A") // same due date: B queued first
	require.NoError(t, p.SetDispatchRule(ctx, "CNC", "SETUP", "", planner))

	for unit, want := range map[string][]string{"CNC-1": {queuedA.ID, queuedB.ID}, "CNC-2": {queuedB.ID, queuedA.ID}} {
		list, err := p.DispatchList(ctx, "PLANT-1", "CNC", mes.ForEquipment(unit))
		require.NoError(t, err)
		assert.Equal(t, want, lotsOf(list), "%s runs family %s", unit, map[string]string{"CNC-1": "FAM-A", "CNC-2": "FAM-B"}[unit])
	}
}
