package mes_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/execution"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

var (
	worker   = mes.By(mes.Actor{ID: "execution-worker", Kind: mes.System, Roles: []string{"system"}})
	manager  = mes.By(mes.Actor{ID: "max", Name: "Max Manager", Kind: mes.Person, Roles: []string{"manager"}})
	quality1 = mes.By(mes.Actor{ID: "quinn", Name: "Quinn Quality", Kind: mes.Person, Roles: []string{"quality"}})
)

// runRules runs the exception rules and returns the tasks of PLANT-1.
func runRules(t *testing.T, f fixture) (mes.ExceptionRun, []execution.Task) {
	t.Helper()
	r, err := f.plant.RunExceptionRules(ctx, worker)
	require.NoError(t, err)
	require.Empty(t, r.Failures)
	tasks, err := f.plant.Tasks(ctx, "PLANT-1", "")
	require.NoError(t, err)
	return r, tasks
}

func saveRule(t *testing.T, f fixture, spec execution.RuleSpec) {
	t.Helper()
	require.NoError(t, f.plant.SaveExceptionRule(ctx, "PLANT-1", spec, admin))
}

func startedLot(t *testing.T, f fixture, number string) (mes.WorkOrder, mes.Lot) {
	t.Helper()
	wo := releasedOrder(t, f, number)
	lot, err := f.plant.StartLot(ctx, wo.ID, units.MustParse("50 ea"), planner)
	require.NoError(t, err)
	return wo, lot
}

func TestSaveExceptionRuleRefusesABadRuleAndChangesNothing(t *testing.T) {
	f := plantWithPump(t)
	before := takeSnapshot(t, f.store)
	err := f.plant.SaveExceptionRule(ctx, "PLANT-1", execution.RuleSpec{Name: "w", Owner: "supervisor", When: "lot.waitingMinute > 30", Clear: "hold"}, admin)
	require.ErrorIs(t, err, mes.ErrInvalid)
	var re *execution.RuleError
	require.ErrorAs(t, err, &re)
	require.Len(t, re.Problems, 2)
	assert.Equal(t, "when", re.Problems[0].Field)
	assert.Equal(t, 1, re.Problems[0].Line)
	assert.Equal(t, 5, re.Problems[0].Column)
	assert.Equal(t, "clear", re.Problems[1].Field)
	assert.Equal(t, before, takeSnapshot(t, f.store))

	err = f.plant.SaveExceptionRule(ctx, "NOWHERE", execution.RuleSpec{Name: "w", Owner: "x", When: "true"}, admin)
	require.ErrorIs(t, err, mes.ErrNotFound)
}

func TestWaitingRuleDeduplicatesEscalatesAndClears(t *testing.T) {
	f := plantWithPump(t)
	saveRule(t, f, execution.RuleSpec{Name: "waiting", Title: "lot waiting over 30 min", Owner: "supervisor",
		When: `event.type == "tick" && lot.queued && lot.waitingMinutes > 30`, Cause: `lot.id + "@" + lot.step`, Clear: `!lot.queued`,
		Escalation: []execution.EscalationStep{{Role: "manager", After: 30 * time.Minute}}})
	_, lot := startedLot(t, f, "4711")

	r, tasks := runRules(t, f)
	assert.Positive(t, r.Events)
	assert.Empty(t, tasks, "nothing waited 30 minutes yet")

	f.clock.Advance(31 * time.Minute)
	r, tasks = runRules(t, f)
	assert.Equal(t, 1, r.Opened)
	require.Len(t, tasks, 1)
	task := tasks[0]
	assert.Equal(t, execution.Open, task.State)
	assert.Equal(t, "waiting", task.Rule)
	assert.Equal(t, lot.ID+"@10", task.Cause)
	assert.Equal(t, execution.Owner{Role: "supervisor"}, task.Owner)
	assert.Equal(t, []string{lot.ID}, task.Links.Lots)
	assert.Equal(t, []string{"CNC"}, task.Links.Equipment)
	assert.Len(t, task.Links.WorkOrders, 1)

	// The cause persists: no second task.
	f.clock.Advance(time.Minute)
	r, tasks = runRules(t, f)
	assert.Zero(t, r.Opened)
	require.Len(t, tasks, 1)

	// Escalation: not acknowledged within 30 min of opening (at +31 min) → manager at +61.
	f.clock.Advance(28 * time.Minute) // +60
	n, err := f.plant.Escalate(ctx, worker)
	require.NoError(t, err)
	assert.Zero(t, n)
	f.clock.Advance(time.Minute) // +61
	n, err = f.plant.Escalate(ctx, worker)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	esc := eventsOf[mes.TaskEscalated](t, f.plant)
	require.Len(t, esc, 1)
	assert.Equal(t, "supervisor", esc[0].From)
	assert.Equal(t, "manager", esc[0].To)
	task, err = f.plant.Task(ctx, task.ID)
	require.NoError(t, err)
	assert.Equal(t, "manager", task.Owner.Role)
	_, err = f.plant.AcknowledgeTask(ctx, task.ID, supervisor)
	require.ErrorIs(t, err, mes.ErrUnauthorized, "the task left the supervisor")
	task, err = f.plant.AcknowledgeTask(ctx, task.ID, manager)
	require.NoError(t, err)
	assert.Equal(t, "max", task.Owner.Person)

	// The lot is tracked in: the cause cleared, the task resolves itself.
	_, err = f.plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	r, tasks = runRules(t, f)
	assert.Equal(t, 1, r.Resolved)
	require.Len(t, tasks, 1)
	assert.Equal(t, execution.Resolved, tasks[0].State)
	assert.Equal(t, "the cause cleared", tasks[0].Note)
	resolved := eventsOf[mes.TaskResolved](t, f.plant)
	require.Len(t, resolved, 1)
	assert.True(t, resolved[0].Auto)
	require.Len(t, eventsOf[mes.TaskOpened](t, f.plant), 1)

	// Running again reads nothing new and changes nothing.
	before := takeSnapshot(t, f.store)
	r, _ = runRules(t, f)
	assert.Equal(t, before, takeSnapshot(t, f.store))
	assert.Zero(t, r.Opened+r.Updated+r.Resolved)
}

func TestHoldOlderThanADay(t *testing.T) {
	f := plantWithPump(t)
	saveRule(t, f, execution.RuleSpec{Name: "old-hold", Title: "hold older than a day", Owner: "quality",
		When: `hold.active && hold.ageHours > 24`, Cause: `hold.id`, Clear: `!hold.active`})
	_, lot := startedLot(t, f, "4711")
	h, err := f.plant.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnLot, ID: lot.ID}, "suspect coolant", quality1)
	require.NoError(t, err)
	_, tasks := runRules(t, f)
	assert.Empty(t, tasks)
	f.clock.Advance(25 * time.Hour)
	_, tasks = runRules(t, f)
	require.Len(t, tasks, 1)
	assert.Equal(t, h.ID, tasks[0].Cause)
	assert.Equal(t, []string{lot.ID}, tasks[0].Links.Lots)

	_, err = f.plant.ReleaseHold(ctx, h.ID, quality1, mes.Reason("coolant tested OK"))
	require.NoError(t, err)
	_, tasks = runRules(t, f)
	require.Len(t, tasks, 1)
	assert.Equal(t, execution.Resolved, tasks[0].State)
}

func TestScrapAboveThresholdInTheLastHourDeduplicatesAndClears(t *testing.T) {
	f := plantWithPump(t)
	saveRule(t, f, execution.RuleSpec{Name: "scrap", Title: "scrap spike", Owner: "engineer", Inputs: []string{"reason"},
		When: `event.type == "lot.scrapped" && scrap.lastHour > 5`, Cause: `scrap.product + "/" + scrap.step`, Clear: `scrap.lastHour <= 5`})
	_, lot := startedLot(t, f, "4711")
	_, err := f.plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	scrap := func(n string) {
		_, err := f.plant.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("1 ea"),
			Scrap: []routing.ScrapLine{{Qty: units.MustParse(n), Reason: "CHATTER"}}}, operator)
		require.NoError(t, err)
	}
	scrap("3 ea")
	_, tasks := runRules(t, f)
	assert.Empty(t, tasks, "3 in the last hour")
	f.clock.Advance(10 * time.Minute)
	scrap("3 ea")
	_, tasks = runRules(t, f)
	require.Len(t, tasks, 1, "6 in the last hour")
	assert.Equal(t, "PUMP-100/10", tasks[0].Cause)
	assert.Equal(t, 1, tasks[0].Occurrences)

	// Another scrap of the same cause updates the task instead of opening another.
	f.clock.Advance(10 * time.Minute)
	scrap("1 ea")
	r, tasks := runRules(t, f)
	assert.Equal(t, 1, r.Updated)
	require.Len(t, tasks, 1)
	assert.Equal(t, 2, tasks[0].Occurrences)
	require.Len(t, eventsOf[mes.TaskUpdated](t, f.plant), 1)

	// An hour after the last scrap the window is empty: the cause cleared.
	f.clock.Advance(61 * time.Minute)
	r, tasks = runRules(t, f)
	assert.Equal(t, 1, r.Resolved)
	assert.Equal(t, execution.Resolved, tasks[0].State)
}

func TestSPCViolationTaskNeedsItsInputsToResolve(t *testing.T) {
	f := plantWithPump(t)
	saveRule(t, f, execution.RuleSpec{Name: "spc", Title: "SPC violation", Owner: "quality", Severity: execution.Critical,
		When: `event.type == "spc.violation"`, Cause: `spc.equipment + "/" + spc.characteristic`, Inputs: []string{"disposition", "reason"}})
	// The quality engine emits spc.violation when a point breaks a chart's run rules; append
	// one as it would.
	data, err := json.Marshal(mes.SPCViolation{Site: "PLANT-1", Characteristic: "bore", Equipment: "CNC", Value: 10.3,
		Violations: []quality.Violation{{Rule: quality.Rule(1)}}})
	require.NoError(t, err)
	require.NoError(t, f.store.Update(ctx, func(tx store.Tx) error {
		return tx.AppendEvents(ctx, store.Event{Type: "spc.violation", Site: "PLANT-1", Subject: "CNC", Time: f.clock.Now(), Actor: "quality-engine", Data: data})
	}))
	_, tasks := runRules(t, f)
	require.Len(t, tasks, 1)
	task := tasks[0]
	assert.Equal(t, "CNC/bore", task.Cause)
	assert.Equal(t, execution.Critical, task.Severity)
	assert.Equal(t, []string{"CNC"}, task.Links.Equipment)

	_, err = f.plant.ResolveTask(ctx, task.ID, map[string]string{"disposition": "USE-AS-IS"}, quality1)
	require.ErrorIs(t, err, mes.ErrWrongState, "acknowledge first")
	_, err = f.plant.AcknowledgeTask(ctx, task.ID, quality1)
	require.NoError(t, err)
	_, err = f.plant.StartTask(ctx, task.ID, quality1)
	require.NoError(t, err)
	before := takeSnapshot(t, f.store)
	_, err = f.plant.ResolveTask(ctx, task.ID, map[string]string{"disposition": "USE-AS-IS"}, quality1)
	require.ErrorIs(t, err, mes.ErrInvalid)
	var missing *execution.MissingInputsError
	require.ErrorAs(t, err, &missing)
	assert.Equal(t, []string{"reason"}, missing.Missing)
	assert.Equal(t, before, takeSnapshot(t, f.store))

	task, err = f.plant.ResolveTask(ctx, task.ID, map[string]string{"disposition": "USE-AS-IS", "reason": "TOOL-WEAR"}, quality1)
	require.NoError(t, err)
	assert.Equal(t, execution.Resolved, task.State)
	assert.Equal(t, "quinn", task.ClosedBy)
	resolved, err := f.plant.Tasks(ctx, "PLANT-1", execution.Resolved)
	require.NoError(t, err)
	assert.Len(t, resolved, 1)

	// A new violation of the same chart after the resolution opens a new task.
	require.NoError(t, f.store.Update(ctx, func(tx store.Tx) error {
		return tx.AppendEvents(ctx, store.Event{Type: "spc.violation", Site: "PLANT-1", Subject: "CNC", Time: f.clock.Now(), Data: data})
	}))
	_, tasks = runRules(t, f)
	assert.Len(t, tasks, 2)
}

// TestTasksHandedOutDoNotShareTheStoredTask: a caller changing the slices and maps of a task
// it got changes nothing stored.
func TestTasksHandedOutDoNotShareTheStoredTask(t *testing.T) {
	f := plantWithPump(t)
	saveRule(t, f, execution.RuleSpec{Name: "spc", Owner: "quality", When: `event.type == "spc.violation"`,
		Cause: `spc.equipment + "/" + spc.characteristic`, Inputs: []string{"disposition"}})
	appendEvents(t, f, "spc.violation", violation("bore", 10.3))
	_, tasks := runRules(t, f)
	require.Len(t, tasks, 1)
	id := tasks[0].ID
	careless := func(task execution.Task) {
		task.Links.Equipment[0], task.Inputs[0] = "X", "X"
		if task.Resolution != nil {
			task.Resolution["disposition"] = "X"
		}
	}
	careless(tasks[0])
	one, err := f.plant.Task(ctx, id)
	require.NoError(t, err)
	careless(one)
	acked, err := f.plant.AcknowledgeTask(ctx, id, quality1)
	require.NoError(t, err)
	careless(acked)
	_, err = f.plant.StartTask(ctx, id, quality1)
	require.NoError(t, err)
	done, err := f.plant.ResolveTask(ctx, id, map[string]string{"disposition": "SCRAP"}, quality1)
	require.NoError(t, err)
	careless(done)
	stored, err := f.plant.Task(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, []string{"CNC"}, stored.Links.Equipment)
	assert.Equal(t, []string{"disposition"}, stored.Inputs)
	assert.Equal(t, map[string]string{"disposition": "SCRAP"}, stored.Resolution)
}

// appendEvents appends events of type typ with data to the log of PLANT-1, as another
// part of the system (a quality engine, a device adapter) would.
func appendEvents(t *testing.T, f fixture, typ string, data ...any) {
	t.Helper()
	require.NoError(t, f.store.Update(ctx, func(tx store.Tx) error {
		for _, d := range data {
			b, err := json.Marshal(d)
			require.NoError(t, err)
			if err := tx.AppendEvents(ctx, store.Event{Type: typ, Site: "PLANT-1", Subject: "CNC", Time: f.clock.Now(), Actor: "test", Data: b}); err != nil {
				return err
			}
		}
		return nil
	}))
}

func violation(characteristic string, value float64) mes.SPCViolation {
	return mes.SPCViolation{Site: "PLANT-1", Characteristic: characteristic, Equipment: "CNC", Value: value,
		Violations: []quality.Violation{{Rule: quality.Rule(1)}}}
}

// TestACauseOpenedAndClearedInOneRun: a run handles its events in batches; a task opened by
// one event resolves on a later event of the same run, in the same batch or another.
func TestACauseOpenedAndClearedInOneRun(t *testing.T) {
	f := plantWithPump(t)
	saveRule(t, f, execution.RuleSpec{Name: "drift", Owner: "quality", When: `event.type == "spc.violation" && spc.value > 10`,
		Cause: `spc.equipment + "/" + spc.characteristic`, Clear: `spc.value <= 10`})
	_, err := f.plant.RunExceptionRules(ctx, worker)
	require.NoError(t, err)

	appendEvents(t, f, "spc.violation", violation("bore", 12), violation("bore", 9))
	r, tasks := runRules(t, f)
	assert.Equal(t, 1, r.Opened)
	assert.Equal(t, 1, r.Resolved)
	require.Len(t, tasks, 1)
	assert.Equal(t, execution.Resolved, tasks[0].State)

	filler := make([]any, 600) // more than a batch
	for i := range filler {
		filler[i] = map[string]int{"n": i}
	}
	appendEvents(t, f, "spc.violation", violation("bore", 13))
	appendEvents(t, f, "test.filler", filler...)
	appendEvents(t, f, "spc.violation", violation("bore", 14), violation("bore", 8))
	r, tasks = runRules(t, f)
	assert.Equal(t, 603+3, r.Events, "the new events, then the run's own task events")
	assert.Equal(t, 603, r.Evaluated, "the engine's own events are not evaluated")
	assert.Equal(t, 1, r.Opened)
	assert.Equal(t, 1, r.Updated)
	assert.Equal(t, 1, r.Resolved)
	require.Len(t, tasks, 2)
	assert.Equal(t, execution.Resolved, tasks[1].State)
	assert.Equal(t, 2, tasks[1].Occurrences)
	assert.Len(t, eventsOf[mes.TaskOpened](t, f.plant), 2)
}

func TestRulesReadingEventFieldsAndRulesChangedBetweenRuns(t *testing.T) {
	f := plantWithPump(t)
	saveRule(t, f, execution.RuleSpec{Name: "tool", Owner: "quality", When: `event.fields.characteristic == "bore" && spc.value > 10`,
		Cause: `event.fields.equipment + "/" + event.fields["violations.0.rule"]`})
	_, err := f.plant.RunExceptionRules(ctx, worker)
	require.NoError(t, err)
	appendEvents(t, f, "spc.violation", violation("bore", 12), violation("flatness", 12))
	_, tasks := runRules(t, f)
	require.Len(t, tasks, 1)
	assert.Equal(t, "CNC/nelson-1", tasks[0].Cause)

	// The rule changes: the next run uses the new one.
	saveRule(t, f, execution.RuleSpec{Name: "tool", Owner: "quality", When: `spc.value > 20`, Cause: `spc.characteristic`})
	appendEvents(t, f, "spc.violation", violation("bore", 15), violation("flatness", 21))
	_, tasks = runRules(t, f)
	require.Len(t, tasks, 2)
	assert.Equal(t, "flatness", tasks[1].Cause)
}

func TestComponentShortForAQueuedOperation(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "VALVE", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	rt, err := routing.New("VALVE", "1").Step("10", "Assemble", routing.At("ASSY"), routing.Consume("SEAL-KIT", "1 ea")).Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", rt, admin)
	require.NoError(t, err)
	saveRule(t, f, execution.RuleSpec{Name: "short", Title: "component short", Owner: "materials",
		When: `lot.queued && material.short`, Cause: `lot.id + "@" + lot.step`, Clear: `!material.short || !lot.queued`})
	// 70 seal kits on hand; hold 40 of them: 30 available for a lot of 50.
	_, err = p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnLot, ID: "SK-2"}, "damaged packaging", quality1)
	require.NoError(t, err)
	in := newOrder("V-1")
	in.Product = "VALVE"
	wo, err := p.CreateWorkOrder(ctx, in, erp)
	require.NoError(t, err)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("50 ea"), planner)
	require.NoError(t, err)

	_, tasks := runRules(t, f)
	require.Len(t, tasks, 1)
	assert.Equal(t, "short", tasks[0].Rule)
	assert.Equal(t, lot.ID+"@10", tasks[0].Cause)

	// The material arrived: the task resolves itself.
	_, err = p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "SK-3", Material: "SEAL-KIT", Qty: units.MustParse("20 ea"), Supplier: "ACME", SupplierLot: "A-79"}, admin)
	require.NoError(t, err)
	_, tasks = runRules(t, f)
	require.Len(t, tasks, 1)
	assert.Equal(t, execution.Resolved, tasks[0].State)
}

// weekdayShifts: Monday to Friday 06:00–14:00 UTC with a break 10:00–10:30.
func weekdayShifts() mes.ShiftCalendar {
	day := []labor.Shift{{Name: "early", Start: labor.HM(6, 0), End: labor.HM(14, 0), Breaks: []labor.Break{{Start: labor.HM(10, 0), Length: 30 * time.Minute}}}}
	week := map[time.Weekday][]labor.Shift{}
	for d := time.Monday; d <= time.Friday; d++ {
		week[d] = day
	}
	return mes.ShiftCalendar{Zone: "UTC", Week: week}
}

func TestProjectCompletionAgainstAHandComputedSchedule(t *testing.T) {
	f := plantWithPump(t)
	require.NoError(t, f.plant.DefineShiftCalendar(ctx, "PLANT-1", weekdayShifts(), admin))
	f.clock.Advance(3 * time.Hour) // Monday 09:00
	a, _ := startedLot(t, f, "A")
	b, _ := startedLot(t, f, "B")

	// A: 50 × 90 s = 75 min at CNC from 09:00, across the break → 10:45 (QC and ASSY take
	// no standard time).
	pa, err := f.plant.ProjectCompletion(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 11, 23, 10, 45, 0, 0, time.UTC), pa.Finish)
	require.Len(t, pa.Steps, 3)
	assert.Zero(t, pa.Steps[0].Ahead)
	// B queues behind A at CNC (75 min ahead): free at 10:45, its own 75 min → 12:00.
	pb, err := f.plant.ProjectCompletion(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 75*time.Minute, pb.Steps[0].Ahead)
	assert.Equal(t, time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), pb.Finish)

	_, err = f.plant.ProjectCompletion(ctx, "nope")
	require.ErrorIs(t, err, mes.ErrNotFound)
}

func TestLateProjectionOpensATaskAndAnnouncesTheRisk(t *testing.T) {
	f := plantWithPump(t)
	saveRule(t, f, execution.RuleSpec{Name: "late", Title: "order will be late", Owner: "planner", Inputs: []string{"promise"},
		When: `order.open && order.lateHours > 0`, Cause: `order.id`, Clear: `!order.open || order.lateHours <= 0`})
	in := newOrder("4711")
	in.Due = f.clock.Now().Add(time.Hour) // 75 min of machining: 15 min late
	wo, err := f.plant.CreateWorkOrder(ctx, in, erp)
	require.NoError(t, err)
	_, err = f.plant.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	lot, err := f.plant.StartLot(ctx, wo.ID, units.MustParse("50 ea"), planner)
	require.NoError(t, err)

	_, tasks := runRules(t, f)
	require.Len(t, tasks, 1)
	assert.Equal(t, wo.ID, tasks[0].Cause)
	risk := eventsOf[mes.DueDateAtRisk](t, f.plant)
	require.Len(t, risk, 1)
	assert.Equal(t, 15*time.Minute, risk[0].Late)
	assert.Equal(t, f.clock.Now().Add(75*time.Minute), risk[0].Projected)

	// Machining done: nothing remains, the order is on time again.
	_, err = f.plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	f.clock.Advance(20 * time.Minute)
	_, err = f.plant.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("50 ea")}, operator)
	require.NoError(t, err)
	_, tasks = runRules(t, f)
	require.Len(t, tasks, 1)
	assert.Equal(t, execution.Resolved, tasks[0].State)
	back := eventsOf[mes.CompletionProjected](t, f.plant)
	require.Len(t, back, 1)
	assert.Equal(t, wo.Number, back[0].Number)
}

func TestTaskCommandsNeedTheOwnerRoleAndACancelReason(t *testing.T) {
	f := plantWithPump(t)
	saveRule(t, f, execution.RuleSpec{Name: "any-hold", Owner: "supervisor", When: `event.type == "hold.placed"`})
	_, lot := startedLot(t, f, "4711")
	_, err := f.plant.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnLot, ID: lot.ID}, "check", quality1)
	require.NoError(t, err)
	_, tasks := runRules(t, f)
	require.Len(t, tasks, 1)
	_, err = f.plant.AcknowledgeTask(ctx, tasks[0].ID, operator)
	require.ErrorIs(t, err, mes.ErrUnauthorized)
	_, err = f.plant.CancelTask(ctx, tasks[0].ID, supervisor)
	require.ErrorIs(t, err, mes.ErrInvalid)
	task, err := f.plant.CancelTask(ctx, tasks[0].ID, supervisor, mes.Reason("checked, no action"))
	require.NoError(t, err)
	assert.Equal(t, execution.Cancelled, task.State)
	require.Len(t, eventsOf[mes.TaskCancelled](t, f.plant), 1)
	_, err = f.plant.StartTask(ctx, task.ID, supervisor)
	require.ErrorIs(t, err, mes.ErrWrongState)
	_, err = f.plant.RunExceptionRules(ctx)
	require.ErrorIs(t, err, mes.ErrMissingActor)
}

func TestKPIsFromTheEventLog(t *testing.T) {
	f := plantWithPump(t)
	start := f.clock.Now()
	wo, lot := startedLot(t, f, "4711")
	f.clock.Advance(10 * time.Minute)
	_, err := f.plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator, mes.On("CNC-1"))
	require.NoError(t, err)
	f.clock.Advance(20 * time.Minute)
	_, err = f.plant.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("45 ea"),
		Scrap: []routing.ScrapLine{{Qty: units.MustParse("5 ea"), Reason: "CHATTER"}}}, operator, mes.On("CNC-1"))
	require.NoError(t, err)
	_, err = f.plant.SetWorkOrderPriority(ctx, wo.ID, 1, planner)
	require.NoError(t, err)

	groups, err := f.plant.KPIs(ctx, "PLANT-1", execution.Window{From: start, To: start.Add(time.Hour)}, execution.ByWorkCenter)
	require.NoError(t, err)
	require.Len(t, groups, 2)
	none, cnc := groups[0], groups[1]
	assert.Equal(t, "CNC", cnc.WorkCenter, "CNC-1 counts for its work center")
	assert.Equal(t, 1, cnc.QueueTime.Count)
	assert.Equal(t, 10*time.Minute, cnc.QueueTime.Mean)
	assert.InDelta(t, 0.9, cnc.FirstPassYield, 1e-12)
	assert.InDelta(t, 0.1, cnc.ScrapRate["CHATTER"], 1e-12)
	// 45 good moved on to QC: the lot is in process at CNC no more, but it is WIP at QC
	// only once tracked in there — by work center, WIP is what was tracked in.
	assert.Zero(t, cnc.WIP)
	assert.Equal(t, 1, none.Expedites, "priority 5 → 1 after release")

	byLot, err := f.plant.KPIs(ctx, "PLANT-1", execution.Window{From: start, To: start.Add(time.Hour)})
	require.NoError(t, err)
	require.Len(t, byLot, 1)
	assert.Equal(t, 1, byLot[0].WIP)
	assert.Equal(t, time.Hour, byLot[0].WIPAge.Max)
}

func TestOnTimeIsJudgedByTheRescheduledDueDate(t *testing.T) {
	f := newPlant(t)
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	start := f.clock.Now()
	in := newOrder("R1")
	in.Qty, in.Due = units.MustParse("10 ea"), start.Add(time.Hour)
	wo, err := p.CreateWorkOrder(ctx, in, erp)
	require.NoError(t, err)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	_, err = p.RescheduleWorkOrder(ctx, wo.ID, start.Add(48*time.Hour), units.Quantity{}, planner)
	require.NoError(t, err)
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("10 ea"), planner)
	require.NoError(t, err)
	f.clock.Advance(3 * time.Hour) // after the original due, well before the new one
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("10 ea")}, operator)
	require.NoError(t, err)
	_, err = p.CompleteWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	k, err := p.KPIs(ctx, "PLANT-1", execution.Window{From: start, To: start.Add(24 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, k, 1)
	require.Equal(t, 1, k[0].Completed)
	require.Equal(t, 1, k[0].OnTime, "completed 45h before its (rescheduled) due date")
}

func TestTasksOfLotsThatLeftWorkInProcessClear(t *testing.T) {
	for name, leave := range map[string]func(f fixture, lot mes.Lot) error{
		"aborted": func(f fixture, lot mes.Lot) error {
			_, err := f.plant.AbortLot(ctx, lot.ID, planner, mes.Reason("customer cancelled"))
			return err
		},
		"merged away": func(f fixture, lot mes.Lot) error {
			part, err := f.plant.SplitLot(ctx, lot.ID, "10", units.MustParse("10 ea"), planner)
			if err == nil {
				_, err = f.plant.MergeLots(ctx, part.ID, lot.ID, planner)
			}
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := plantWithPump(t)
			saveRule(t, f, execution.RuleSpec{Name: "waiting", Owner: "supervisor",
				When: `event.type == "tick" && lot.queued && lot.waitingMinutes > 30`, Cause: `lot.id + "@" + lot.step`, Clear: `!lot.queued`})
			_, lot := startedLot(t, f, "4711")
			f.clock.Advance(31 * time.Minute)
			_, tasks := runRules(t, f)
			require.Len(t, tasks, 1)
			require.NoError(t, leave(f, lot))
			f.clock.Advance(time.Minute)
			_, tasks = runRules(t, f)
			var open []string
			for _, tk := range tasks {
				if !tk.State.Closed() {
					open = append(open, tk.Cause)
				}
			}
			assert.NotContains(t, open, lot.ID+"@10", "no event of the lot comes any more to clear it")
		})
	}
}

func TestAnOrderThatCannotBeProjectedDoesNotStopTheRules(t *testing.T) {
	f := plantWithPump(t)
	saveRule(t, f, execution.RuleSpec{Name: "waiting", Owner: "supervisor",
		When: `event.type == "tick" && lot.queued && lot.waitingMinutes > 30`, Cause: `lot.id + "@" + lot.step`, Clear: `!lot.queued`})
	huge := newOrder("HUGE")
	huge.Qty = units.MustParse("1000000000 ea") // 90 s each: 2,850 years, longer than a duration holds
	wo, err := f.plant.CreateWorkOrder(ctx, huge, erp)
	require.NoError(t, err)
	_, err = f.plant.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	_, lot := startedLot(t, f, "4711")
	f.clock.Advance(31 * time.Minute)
	_, tasks := runRules(t, f)
	require.Len(t, tasks, 1, "the other order's lot still gets its task")
	assert.Equal(t, lot.ID+"@10", tasks[0].Cause)
}

// With transfer batches the next step starts while the lot is still at the step before:
// the quantity still at that step has to pass the next one too.
func TestProjectCompletionCountsQuantityStillUpstreamOfAStepReached(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "GEAR", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	rt, err := routing.New("GEAR", "1").
		Step("10", "Hob", routing.At("CNC"), routing.Run(time.Minute), routing.Transfer("10 ea")).
		Step("20", "Deburr", routing.At("LATHE"), routing.Run(time.Minute)).
		Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", rt, admin)
	require.NoError(t, err)
	in := newOrder("G-1")
	in.Product = "GEAR"
	wo, err := p.CreateWorkOrder(ctx, in, erp)
	require.NoError(t, err)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("50 ea"), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	lot, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("20 ea")}, operator)
	require.NoError(t, err)
	require.Equal(t, "20 ea", books(t, lot, "20").Waiting.String(), "two transfer batches passed")

	pr, err := p.ProjectCompletion(ctx, wo.ID)
	require.NoError(t, err)
	require.Len(t, pr.Steps, 2)
	assert.Equal(t, 30*time.Minute, pr.Steps[0].Work, "30 ea still in process at 10")
	assert.Equal(t, 50*time.Minute, pr.Steps[1].Work, "20 ea waiting at 20 and the 30 ea still at 10")
	assert.Equal(t, f.clock.Now().Add(80*time.Minute), pr.Finish)
}
