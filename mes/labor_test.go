package mes_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

var (
	bobActor = mes.By(mes.Actor{ID: "bob", Name: "Bob Builder", Kind: mes.Person, Roles: []string{"operator"}})
	sueActor = mes.By(mes.Actor{ID: "sue", Name: "Sue Supervisor", Kind: mes.Person, Roles: []string{"supervisor"}})
)

// laborRoles: operators book their own time and track lots; supervisors may do every labor
// command, book for others and override qualifications.
var laborRoles = mes.Roles{
	"admin":      {"*"},
	"planner":    {"workorder.*", "lot.start"},
	"erp":        {"workorder.create"},
	"operator":   {"lot.track_in", "lot.track_out", "labor.clock_in", "labor.clock_out", "labor.break_start", "labor.break_end", "labor.log_on", "labor.log_off", "labor.start", "labor.stop"},
	"supervisor": {"lot.*", "labor.*"},
}

// laborPlant sets up a routing whose step 10 (30 min setup, 90 s per piece at CNC) requires
// the qualification CNC-OP at level 2, and the people olga (certified, rate 40), bob (not
// certified, rate 30) and sue (a supervisor).
func laborPlant(t *testing.T, opts ...mes.Option) fixture {
	t.Helper()
	f := newPlant(t, opts...)
	p := f.plant
	require.NoError(t, p.DefineEquipment(ctx, []equipment.Equipment{{ID: "CNC-1", Level: equipment.WorkUnit, Parent: "CNC"}}, admin))
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	rt, err := routing.New("PUMP-100", "L").
		Step("10", "Machine", routing.At("CNC"), routing.Setup(30*time.Minute), routing.Run(90*time.Second), routing.Qualified("CNC-OP")).
		Step("20", "Deburr", routing.At("CNC"), routing.Run(time.Minute)).
		Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", rt, admin)
	require.NoError(t, err)
	require.NoError(t, p.DefineQualification(ctx, "PLANT-1", labor.Qualification{ID: "CNC-OP", Name: "CNC operation"}, 2, admin))
	for _, person := range []labor.Person{
		{ID: "olga", Name: "Olga Operator", Rate: decimal.RequireFromString("40")},
		{ID: "bob", Name: "Bob Builder", Rate: decimal.RequireFromString("30")},
		{ID: "sue", Name: "Sue Supervisor", Roles: []string{"supervisor"}, Rate: decimal.RequireFromString("50")},
	} {
		_, err := p.DefinePerson(ctx, "PLANT-1", person, admin)
		require.NoError(t, err)
	}
	_, err = p.Certify(ctx, labor.Certification{Person: "olga", Qualification: "CNC-OP", Level: 2, Issued: f.clock.Now().AddDate(-1, 0, 0)}, admin)
	require.NoError(t, err)
	return f
}

// startLot creates, releases and starts a work order of qty and returns its lot.
func startLot(t *testing.T, f fixture, number, qty string) mes.Lot {
	t.Helper()
	in := newOrder(number)
	in.Qty = units.MustParse(qty)
	wo, err := f.plant.CreateWorkOrder(ctx, in, erp)
	require.NoError(t, err)
	wo, err = f.plant.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	lot, err := f.plant.StartLot(ctx, wo.ID, units.MustParse(qty), planner)
	require.NoError(t, err)
	return lot
}

func trackIn(f fixture, lot mes.Lot, step string, opts ...mes.CommandOption) error {
	_, err := f.plant.TrackIn(ctx, lot.ID, step, units.Quantity{}, opts...)
	return err
}

func trackOut(f fixture, lot mes.Lot, step, good string, opts ...mes.CommandOption) error {
	_, err := f.plant.TrackOut(ctx, lot.ID, step, routing.Outcome{Good: units.MustParse(good)}, opts...)
	return err
}

func lastAudit(t *testing.T, p *mes.Plant, action string) mes.AuditRecord {
	t.Helper()
	trail, err := p.AuditTrail(ctx, 0, 0)
	require.NoError(t, err)
	for i := len(trail) - 1; i >= 0; i-- {
		if trail[i].Action == action {
			return trail[i]
		}
	}
	t.Fatalf("no audit record of %s", action)
	return mes.AuditRecord{}
}

func TestQualificationGateBlocks(t *testing.T) {
	f := laborPlant(t)
	p := f.plant
	expires := f.clock.Now().Add(time.Hour)
	_, err := p.Certify(ctx, labor.Certification{Person: "bob", Qualification: "CNC-OP", Level: 2, Issued: f.clock.Now().AddDate(0, -6, 0), Expires: expires}, admin)
	require.NoError(t, err)
	lots := []mes.Lot{startLot(t, f, "A", "10 ea"), startLot(t, f, "B", "10 ea"), startLot(t, f, "C", "10 ea")}

	f.clock.Advance(time.Hour - time.Nanosecond)
	require.NoError(t, trackIn(f, lots[0], "10", bobActor), "valid until the instant before the expiry")

	f.clock.Advance(time.Nanosecond)
	before := takeSnapshot(t, f.store)
	err = trackIn(f, lots[1], "10", bobActor)
	require.ErrorIs(t, err, mes.ErrNotQualified)
	assert.ErrorIs(t, err, labor.ErrQualificationExpired, "expired exactly at the track-in instant")
	assert.Contains(t, err.Error(), `"CNC-OP" (CNC operation) level 2`)
	assert.Contains(t, err.Error(), expires.Format(time.RFC3339), "the error names the expiry")
	assert.Equal(t, before, takeSnapshot(t, f.store), "a refused track-in changes nothing")

	_, err = p.DefinePerson(ctx, "PLANT-1", labor.Person{ID: "kim", Name: "Kim Trainee"}, admin)
	require.NoError(t, err)
	_, err = p.Certify(ctx, labor.Certification{Person: "kim", Qualification: "CNC-OP", Level: 1, Issued: f.clock.Now()}, admin)
	require.NoError(t, err)
	before = takeSnapshot(t, f.store)
	err = trackIn(f, lots[1], "10", mes.By(mes.Actor{ID: "kim", Kind: mes.Person}))
	require.ErrorIs(t, err, mes.ErrNotQualified)
	assert.ErrorIs(t, err, labor.ErrNotQualified)
	assert.Contains(t, err.Error(), "holds level 1", "a level below the required one")
	assert.Equal(t, before, takeSnapshot(t, f.store))

	stranger := mes.By(mes.Actor{ID: "zed", Kind: mes.Person})
	err = trackIn(f, lots[1], "10", stranger)
	assert.ErrorIs(t, err, mes.ErrNotQualified, "someone not on the roster holds no certification")

	require.NoError(t, trackIn(f, lots[2], "10", operator), "olga is certified")
	require.NoError(t, trackIn(f, lots[1], "10", mes.By(mes.Actor{ID: "cell-7", Kind: mes.Device})), "a device is not a person: no gate")
}

func TestQualificationOverrideNeedsSupervisorSignature(t *testing.T) {
	v := verifier{
		"sue":  {ID: "sue", Name: "Sue Supervisor", Roles: []string{"supervisor"}},
		"olga": {ID: "olga", Name: "Olga Operator", Roles: []string{"operator"}},
		"bob":  {ID: "bob", Name: "Bob Builder", Roles: []string{"operator"}},
	}
	f := laborPlant(t, mes.WithAuthorizer(laborRoles), mes.WithSignatureVerifier(v), mes.WithQualificationPolicy(labor.WarnWithOverride))
	p := f.plant
	lot := startLot(t, f, "A", "10 ea")
	sign := func(id string) mes.CommandOption {
		return mes.SignedBy(mes.Credentials{SignerID: id, Secret: "secret-" + id, Meaning: mes.Approval})
	}
	for name, opts := range map[string][]mes.CommandOption{
		"no signature":          {bobActor},
		"operator's signature":  {bobActor, sign("olga")},
		"signing for oneself":   {bobActor, sign("bob")},
		"supervisor's password": {bobActor, mes.SignedBy(mes.Credentials{SignerID: "sue", Secret: "guess", Meaning: mes.Approval})},
	} {
		t.Run(name, func(t *testing.T) {
			before := takeSnapshot(t, f.store)
			_, err := p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, opts...)
			require.Error(t, err)
			if name != "supervisor's password" {
				assert.ErrorIs(t, err, mes.ErrNotQualified)
				assert.ErrorIs(t, err, labor.ErrOverrideRequired)
				assert.ErrorIs(t, err, labor.ErrNotQualified)
			}
			assert.Equal(t, before, takeSnapshot(t, f.store))
		})
	}

	_, err := p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, bobActor, mes.Reason("night shift, no certified operator"), sign("sue"))
	require.NoError(t, err)
	rec := lastAudit(t, p, "lot.track_in")
	require.Len(t, rec.Signatures, 1)
	assert.Equal(t, "Sue Supervisor", rec.Signatures[0].SignerName)
	assert.Equal(t, "bob", rec.Actor)
	trail, err := p.AuditTrail(ctx, 0, 0)
	require.NoError(t, err)
	found := false
	for _, a := range trail {
		for _, c := range a.Changes {
			if c.Field == "qualification override" {
				found = true
				assert.Contains(t, c.After, "CNC-OP level 2 for bob signed by Sue Supervisor")
				require.Len(t, a.Signatures, 1)
				assert.Equal(t, "sue", a.Signatures[0].SignerID)
			}
		}
	}
	assert.True(t, found, "the override is in the audit trail")
	evs, err := p.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	var ov *mes.QualificationOverridden
	for _, e := range evs {
		if o, ok := e.Payload.(*mes.QualificationOverridden); ok {
			ov = o
		}
	}
	require.NotNil(t, ov)
	assert.Equal(t, "sue", ov.Signer)
	assert.Contains(t, ov.Problem, "holds no certification")
}

func TestOneOperatorOnTwoOperations(t *testing.T) {
	f := laborPlant(t)
	p := f.plant
	a, b := startLot(t, f, "A", "10 ea"), startLot(t, f, "B", "10 ea")
	t0 := f.clock.Now()
	_, err := p.ClockIn(ctx, "", operator)
	require.NoError(t, err)
	_, err = p.LogOn(ctx, "", "CNC", operator)
	require.NoError(t, err)

	require.NoError(t, trackIn(f, a, "10", operator, mes.On("CNC-1")))
	st, err := p.LaborStatus(ctx, "olga")
	require.NoError(t, err)
	require.Len(t, st.Timers, 1, "track-in starts the operator's run labor")
	assert.Equal(t, labor.Run, st.Timers[0].Activity)
	assert.Equal(t, "CNC", st.Timers[0].WorkCenter)

	f.clock.Advance(time.Hour)
	require.NoError(t, trackIn(f, b, "10", operator, mes.On("CNC-1")))
	f.clock.Advance(2 * time.Hour)
	require.NoError(t, trackOut(f, a, "10", "10 ea", operator, mes.On("CNC-1")))
	f.clock.Advance(time.Hour)
	require.NoError(t, trackOut(f, b, "10", "10 ea", operator, mes.On("CNC-1")))
	st, err = p.LaborStatus(ctx, "olga")
	require.NoError(t, err)
	assert.Empty(t, st.Timers, "track-out stops the operator's labor")
	f.clock.Advance(30 * time.Minute)
	_, err = p.ClockOut(ctx, "", operator)
	require.NoError(t, err)

	ts, err := p.Timesheet(ctx, "olga", t0, f.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 4*time.Hour+30*time.Minute, ts.Present)
	assert.Equal(t, 4*time.Hour, ts.Labor, "four hours of labor, not five: the overlap is split, not double counted")
	assert.Equal(t, 30*time.Minute, ts.Idle)
	perOp := map[string]time.Duration{}
	for _, s := range ts.Slices {
		perOp[s.Op.Lot] += s.Time
	}
	assert.Equal(t, map[string]time.Duration{a.ID: 2 * time.Hour, b.ID: 2 * time.Hour}, perOp, "1 h alone + half of the 2 h overlap each")

	rep, err := p.WorkOrderLabor(ctx, a.WorkOrder, labor.Costing{MachineRate: map[string]decimal.Decimal{"CNC-1": decimal.RequireFromString("60")}})
	require.NoError(t, err)
	assert.Equal(t, 2*time.Hour, rep.Total.Actual)
	assert.Equal(t, 2*time.Hour, rep.Total.Machine, "the CNC ran both orders for 2 h at once: the overlap is split")
	assert.Equal(t, 45*time.Minute, rep.Total.Standard, "30 min setup + 10 × 90 s")
	assert.Equal(t, "80", rep.Cost.Labor.String(), "2 h at olga's rate 40")
	assert.Equal(t, "120", rep.Cost.Machine.String())
}

func TestMachineRunsOfAnOperationOnTwoUnits(t *testing.T) {
	f := laborPlant(t)
	p := f.plant
	require.NoError(t, p.DefineEquipment(ctx, []equipment.Equipment{{ID: "CNC-2", Level: equipment.WorkUnit, Parent: "CNC"}}, admin))
	a := startLot(t, f, "A", "10 ea")
	_, err := p.TrackIn(ctx, a.ID, "10", units.MustParse("4 ea"), operator, mes.On("CNC-1"))
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	_, err = p.TrackIn(ctx, a.ID, "10", units.MustParse("6 ea"), operator, mes.On("CNC-2"))
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	machine := func() time.Duration {
		rates := map[string]decimal.Decimal{"CNC-1": decimal.NewFromInt(60), "CNC-2": decimal.NewFromInt(60)}
		rep, err := p.WorkOrderLabor(ctx, a.WorkOrder, labor.Costing{MachineRate: rates})
		require.NoError(t, err)
		return rep.Total.Machine
	}
	assert.Equal(t, 3*time.Hour, machine(), "open runs count until now: 2 h on CNC-1, 1 h on CNC-2")

	require.NoError(t, trackOut(f, a, "10", "10 ea", operator, mes.On("CNC-2")))
	f.clock.Advance(time.Hour)
	assert.Equal(t, 3*time.Hour, machine(), "the track-out that left nothing in process stopped both runs")
	evs, err := p.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	stopped := map[string]time.Duration{}
	for _, e := range evs {
		if s, ok := e.Payload.(*mes.MachineRunStopped); ok {
			stopped[s.Run.Equipment] = s.Run.To.Sub(s.Run.From)
		}
	}
	assert.Equal(t, map[string]time.Duration{"CNC-1": 2 * time.Hour, "CNC-2": time.Hour}, stopped)
	lot, err := p.Lot(ctx, a.ID)
	require.NoError(t, err)
	assert.Empty(t, lot.OnEquipment, "nothing of the lot is on equipment any more")
}

func TestClockOutWithOpenOperations(t *testing.T) {
	f := laborPlant(t)
	p := f.plant
	a := startLot(t, f, "A", "10 ea")
	_, err := p.ClockIn(ctx, "", operator)
	require.NoError(t, err)
	_, err = p.StartLabor(ctx, "", mes.Work{Lot: a.ID, Step: "10", Activity: labor.Setup}, operator)
	require.NoError(t, err)
	_, err = p.StartLabor(ctx, "", mes.Work{Activity: labor.Indirect, Reason: "CLEANING"}, operator)
	require.NoError(t, err)
	f.clock.Advance(time.Hour)

	b := startLot(t, f, "B", "5 ea")
	_, err = p.StartBreak(ctx, "", operator)
	require.NoError(t, err)
	before := takeSnapshot(t, f.store)
	_, err = p.ClockOut(ctx, "", operator)
	assert.ErrorIs(t, err, mes.ErrWrongState)
	assert.ErrorIs(t, err, labor.ErrOnBreak, "clock-out during a break is refused: end the break first")
	assert.Equal(t, before, takeSnapshot(t, f.store))
	err = trackIn(f, b, "10", operator)
	assert.ErrorIs(t, err, labor.ErrOnBreak, "a track-in would start labor during the break")
	assert.Equal(t, before, takeSnapshot(t, f.store))
	f.clock.Advance(15 * time.Minute)
	_, err = p.EndBreak(ctx, "", operator)
	require.NoError(t, err)
	f.clock.Advance(45 * time.Minute)

	bk, err := p.ClockOut(ctx, "", operator)
	require.NoError(t, err)
	require.Len(t, bk.Stopped, 2, "clock-out stops every running timer")
	assert.False(t, bk.Status.ClockedIn)
	assert.Empty(t, bk.Status.Timers)
	evs, err := p.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	stopped := 0
	for _, e := range evs {
		if s, ok := e.Payload.(*mes.LaborTimerStopped); ok {
			stopped++
			assert.Equal(t, bk.Records[0].ID, s.By)
		}
	}
	assert.Equal(t, 2, stopped, "each implicitly stopped timer is an event")

	ts, err := p.Timesheet(ctx, "olga", f.clock.Now().Add(-3*time.Hour), f.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 2*time.Hour, ts.Present)
	assert.Equal(t, 15*time.Minute, ts.Breaks, "the break counts for no operation")
	assert.Equal(t, 105*time.Minute, ts.Labor)

	before = takeSnapshot(t, f.store)
	_, err = p.StopLabor(ctx, "", mes.Work{Lot: a.ID, Step: "10"}, operator)
	assert.ErrorIs(t, err, labor.ErrNotClockedIn)
	assert.Equal(t, before, takeSnapshot(t, f.store))
}

func TestLaborOfSomeoneElse(t *testing.T) {
	f := laborPlant(t, mes.WithAuthorizer(laborRoles))
	p := f.plant
	a := startLot(t, f, "A", "10 ea")
	for _, who := range []mes.CommandOption{operator, bobActor} {
		_, err := p.ClockIn(ctx, "", who)
		require.NoError(t, err)
	}
	_, err := p.StartLabor(ctx, "", mes.Work{Lot: a.ID, Step: "20", Activity: labor.Run}, bobActor)
	require.NoError(t, err)
	f.clock.Advance(time.Hour)

	before := takeSnapshot(t, f.store)
	_, err = p.StopLabor(ctx, "", mes.Work{Lot: a.ID, Step: "20"}, operator)
	require.ErrorIs(t, err, mes.ErrWrongState)
	assert.ErrorIs(t, err, labor.ErrNotRunning, "olga cannot close bob's timer")
	assert.Contains(t, err.Error(), "started by bob")
	assert.Equal(t, before, takeSnapshot(t, f.store))

	_, err = p.StopLabor(ctx, "bob", mes.Work{Lot: a.ID, Step: "20"}, operator)
	assert.ErrorIs(t, err, mes.ErrUnauthorized, "an operator may not book for someone else")
	assert.Equal(t, before, takeSnapshot(t, f.store))

	bk, err := p.StopLabor(ctx, "bob", mes.Work{Lot: a.ID, Step: "20"}, sueActor, mes.Reason("bob left the cell"))
	require.NoError(t, err, "a supervisor books for bob")
	assert.Equal(t, "bob", bk.Records[0].Person)
	rec := lastAudit(t, p, "labor.stop")
	assert.Equal(t, "sue", rec.Actor)
	assert.Equal(t, "bob left the cell", rec.Reason)
	assert.Equal(t, "labor/"+bk.Records[0].ID, rec.Object)
}

func TestCorrectionIsANewRecord(t *testing.T) {
	f := laborPlant(t, mes.WithAuthorizer(laborRoles))
	p := f.plant
	a := startLot(t, f, "A", "10 ea")
	t0 := f.clock.Now()
	_, err := p.ClockIn(ctx, "", operator)
	require.NoError(t, err)
	start, err := p.StartLabor(ctx, "", mes.Work{Lot: a.ID, Step: "20", Activity: labor.Run}, operator)
	require.NoError(t, err)
	f.clock.Advance(2 * time.Hour)
	_, err = p.StopLabor(ctx, "", mes.Work{Lot: a.ID, Step: "20"}, operator)
	require.NoError(t, err)
	wrong := start.Records[0]
	fixed := wrong
	fixed.At = t0.Add(30 * time.Minute)

	bad := map[string]struct {
		person string
		fixes  []mes.LaborCorrection
		opts   []mes.CommandOption
		want   error
	}{
		"no reason":            {"olga", []mes.LaborCorrection{{Of: wrong.ID, Record: fixed}}, []mes.CommandOption{sueActor}, mes.ErrInvalid},
		"nothing to correct":   {"olga", nil, []mes.CommandOption{sueActor, mes.Reason("x")}, mes.ErrInvalid},
		"another's record":     {"bob", []mes.LaborCorrection{{Of: wrong.ID, Record: fixed}}, []mes.CommandOption{sueActor, mes.Reason("x")}, mes.ErrInvalid},
		"unknown record":       {"olga", []mes.LaborCorrection{{Of: "olga/000000000099", Record: fixed}}, []mes.CommandOption{sueActor, mes.Reason("x")}, mes.ErrInvalid},
		"operator lacks right": {"olga", []mes.LaborCorrection{{Of: wrong.ID, Record: fixed}}, []mes.CommandOption{operator, mes.Reason("x")}, mes.ErrUnauthorized},
		"inconsistent history": {"olga", []mes.LaborCorrection{{Of: wrong.ID, Record: labor.Record{Kind: labor.Void, At: wrong.At}}},
			[]mes.CommandOption{sueActor, mes.Reason("x")}, labor.ErrNotRunning},
		"in the future": {"olga", []mes.LaborCorrection{{Of: wrong.ID, Record: labor.Record{Kind: labor.StartLabor, At: t0.Add(9 * time.Hour), Op: wrong.Op, Activity: labor.Run}}},
			[]mes.CommandOption{sueActor, mes.Reason("x")}, mes.ErrInvalid},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			before := takeSnapshot(t, f.store)
			_, err := p.CorrectLabor(ctx, tc.person, tc.fixes, tc.opts...)
			assert.ErrorIs(t, err, tc.want)
			assert.Equal(t, before, takeSnapshot(t, f.store))
		})
	}

	bk, err := p.CorrectLabor(ctx, "olga", []mes.LaborCorrection{{Of: wrong.ID, Record: fixed}}, sueActor, mes.Reason("started after the tool change"))
	require.NoError(t, err)
	require.Len(t, bk.Records, 1)
	c := bk.Records[0]
	assert.NotEqual(t, wrong.ID, c.ID, "a correction is a new record")
	require.NotNil(t, c.Correction)
	assert.Equal(t, wrong.ID, c.Correction.Of)
	assert.Equal(t, "sue", c.Correction.Actor)
	assert.Equal(t, "started after the tool change", c.Correction.Reason)

	ts, err := p.Timesheet(ctx, "olga", t0, f.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 90*time.Minute, ts.Labor, "the corrected start counts")

	rec := lastAudit(t, p, "labor.correct")
	assert.Equal(t, "sue", rec.Actor)
	assert.Equal(t, "labor/"+c.ID, rec.Object)
	changes := map[string][2]string{}
	for _, ch := range rec.Changes {
		changes[ch.Field] = [2]string{ch.Before, ch.After}
	}
	assert.Contains(t, changes["booking"][0], t0.Format(time.RFC3339), "the audit shows the booking before")
	assert.Contains(t, changes["booking"][1], fixed.At.Format(time.RFC3339), "and after")
	assert.Equal(t, wrong.ID, changes["corrects"][1])
	orig := false
	trail, err := p.AuditTrail(ctx, 0, 0)
	require.NoError(t, err)
	for _, a := range trail {
		orig = orig || a.Object == "labor/"+wrong.ID
	}
	assert.True(t, orig, "the original booking stays in the audit trail")

	_, err = p.CorrectLabor(ctx, "olga", []mes.LaborCorrection{{Of: wrong.ID, Record: fixed}}, sueActor, mes.Reason("again"))
	assert.ErrorIs(t, err, labor.ErrAlreadyCorrected, "correct the correction instead")
	_, err = p.CorrectLabor(ctx, "olga", []mes.LaborCorrection{
		{Record: labor.Record{Kind: labor.BreakStart, At: t0.Add(time.Hour)}},
		{Record: labor.Record{Kind: labor.BreakEnd, At: t0.Add(time.Hour + 10*time.Minute)}},
	}, sueActor, mes.Reason("forgotten break"))
	require.NoError(t, err, "a forgotten break is a pair of late entries")
	ts, err = p.Timesheet(ctx, "olga", t0, f.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 80*time.Minute, ts.Labor)
	assert.Equal(t, 10*time.Minute, ts.Breaks)
}

// A clock-out a supervisor enters late stops the labor still running at the clock-out
// instant: a LaborTimerStopped event reports it at that instant, not when it was entered
// (there was none, so the run was never reported stopped).
func TestLateClockOutReportsTheLaborItStops(t *testing.T) {
	f := laborPlant(t, mes.WithAuthorizer(laborRoles))
	p := f.plant
	a := startLot(t, f, "A", "10 ea")
	_, err := p.ClockIn(ctx, "", operator)
	require.NoError(t, err)
	_, err = p.StartLabor(ctx, "", mes.Work{Lot: a.ID, Step: "20", Activity: labor.Run}, operator)
	require.NoError(t, err)
	f.clock.Advance(8 * time.Hour)
	end := f.clock.Now()
	f.clock.Advance(16 * time.Hour)
	bk, err := p.CorrectLabor(ctx, "olga", []mes.LaborCorrection{{Record: labor.Record{Kind: labor.ClockOut, At: end}}}, sueActor, mes.Reason("forgot to clock out"))
	require.NoError(t, err)
	require.Len(t, bk.Stopped, 1)
	assert.Equal(t, end, bk.Stopped[0].Stopped)
	assert.False(t, bk.Status.ClockedIn)

	evs, err := p.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	var stops []*mes.LaborTimerStopped
	for _, e := range evs {
		if s, ok := e.Payload.(*mes.LaborTimerStopped); ok {
			stops = append(stops, s)
			assert.Equal(t, f.clock.Now(), e.Time, "booked with the correction")
		}
	}
	require.Len(t, stops, 1, "the stopped labor is an event")
	assert.Equal(t, end, stops[0].At, "at the clock-out instant")
	assert.Equal(t, bk.Records[0].ID, stops[0].By)
	assert.Equal(t, "olga", stops[0].Person)
	assert.Equal(t, "20", stops[0].Timer.Op.Step)
}

func TestCorrectionWindowBoundsTheReplay(t *testing.T) {
	f := laborPlant(t, mes.WithLaborCorrectionWindow(48*time.Hour))
	p := f.plant
	var first mes.Booking
	for day := range 5 {
		in, err := p.ClockIn(ctx, "", operator)
		require.NoError(t, err)
		if day == 0 {
			first = in
		}
		f.clock.Advance(8 * time.Hour)
		_, err = p.ClockOut(ctx, "", operator)
		require.NoError(t, err)
		f.clock.Advance(16 * time.Hour)
	}
	before := takeSnapshot(t, f.store)
	_, err := p.CorrectLabor(ctx, "olga", []mes.LaborCorrection{{Of: first.Records[0].ID, Record: labor.Record{Kind: labor.ClockIn, At: first.Records[0].At.Add(time.Minute)}}},
		sueActor, mes.Reason("late"))
	assert.ErrorIs(t, err, mes.ErrInvalid)
	assert.Contains(t, err.Error(), "before the correction window")
	assert.Equal(t, before, takeSnapshot(t, f.store))

	ts, err := p.Timesheet(ctx, "olga", first.Records[0].At, f.clock.Now())
	require.NoError(t, err, "a timesheet older than the window replays the whole history")
	assert.Equal(t, 5*8*time.Hour, ts.Present)
	_, err = p.ClockIn(ctx, "", operator)
	require.NoError(t, err)
	st, err := p.LaborStatus(ctx, "olga")
	require.NoError(t, err)
	assert.True(t, st.ClockedIn)
}

func TestConcurrentClockInBooksOnce(t *testing.T) {
	f := laborPlant(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = f.plant.ClockIn(ctx, "olga", operator) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			assert.ErrorIs(t, err, labor.ErrAlreadyClockedIn)
		}
	}
	assert.Equal(t, 1, ok, "bookings of one person are serialised: one clock-in wins")
}

func TestBadLaborInputChangesNothing(t *testing.T) {
	f := laborPlant(t)
	p := f.plant
	a := startLot(t, f, "A", "10 ea")
	_, err := p.ClockIn(ctx, "", operator)
	require.NoError(t, err)
	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"clock in twice", func() error { _, err := p.ClockIn(ctx, "", operator); return err }, labor.ErrAlreadyClockedIn},
		{"end a break never started", func() error { _, err := p.EndBreak(ctx, "", operator); return err }, labor.ErrNotOnBreak},
		{"bob not clocked in", func() error {
			_, err := p.StartLabor(ctx, "", mes.Work{Lot: a.ID, Step: "10", Activity: labor.Setup}, bobActor)
			return err
		}, labor.ErrNotClockedIn},
		{"unknown person", func() error { _, err := p.ClockIn(ctx, "nobody", operator); return err }, mes.ErrNotFound},
		{"actor not on a roster", func() error { _, err := p.ClockIn(ctx, "", planner); return err }, mes.ErrNotFound},
		{"unknown lot", func() error {
			_, err := p.StartLabor(ctx, "", mes.Work{Lot: "nope", Step: "10", Activity: labor.Run}, operator)
			return err
		}, mes.ErrNotFound},
		{"unknown step", func() error {
			_, err := p.StartLabor(ctx, "", mes.Work{Lot: a.ID, Step: "99", Activity: labor.Run}, operator)
			return err
		}, mes.ErrNotFound},
		{"indirect without reason", func() error {
			_, err := p.StartLabor(ctx, "", mes.Work{Activity: labor.Indirect}, operator)
			return err
		}, mes.ErrInvalid},
		{"unknown activity", func() error {
			_, err := p.StartLabor(ctx, "", mes.Work{Lot: a.ID, Step: "10", Activity: "dreaming"}, operator)
			return err
		}, mes.ErrInvalid},
		{"weight out of range", func() error {
			_, err := p.StartLabor(ctx, "", mes.Work{Lot: a.ID, Step: "10", Activity: labor.Run, Weight: 5000}, operator)
			return err
		}, mes.ErrInvalid},
		{"labor at a work center not logged on", func() error {
			_, err := p.StartLabor(ctx, "", mes.Work{Lot: a.ID, Step: "10", Activity: labor.Run, WorkCenter: "CNC"}, operator)
			return err
		}, labor.ErrNotLoggedOn},
		{"stop labor not running", func() error { _, err := p.StopLabor(ctx, "", mes.Work{Lot: a.ID, Step: "10"}, operator); return err }, labor.ErrNotRunning},
		{"log on to unknown work center", func() error { _, err := p.LogOn(ctx, "", "MOON", operator); return err }, mes.ErrNotFound},
		{"log off without log on", func() error { _, err := p.LogOff(ctx, "", "CNC", operator); return err }, labor.ErrNotLoggedOn},
		{"no actor", func() error { _, err := p.ClockOut(ctx, "olga"); return err }, mes.ErrMissingActor},
		{"person without id", func() error { _, err := p.DefinePerson(ctx, "PLANT-1", labor.Person{Name: "x"}, admin); return err }, mes.ErrInvalid},
		{"negative rate", func() error {
			_, err := p.DefinePerson(ctx, "PLANT-1", labor.Person{ID: "neg", Rate: decimal.RequireFromString("-1")}, admin)
			return err
		}, mes.ErrInvalid},
		{"person in unknown site", func() error { _, err := p.DefinePerson(ctx, "MARS", labor.Person{ID: "x"}, admin); return err }, mes.ErrNotFound},
		{"person moved to another site", func() error { _, err := p.DefinePerson(ctx, "PLANT-2", labor.Person{ID: "olga"}, admin); return err }, mes.ErrDuplicate},
		{"user linked twice", func() error {
			_, err := p.DefinePerson(ctx, "PLANT-1", labor.Person{ID: "olga2", UserID: "olga"}, admin)
			return err
		}, mes.ErrDuplicate},
		{"qualification level 0", func() error { return p.DefineQualification(ctx, "PLANT-1", labor.Qualification{ID: "Q"}, 0, admin) }, mes.ErrInvalid},
		{"certification of nobody", func() error {
			_, err := p.Certify(ctx, labor.Certification{Person: "nobody", Qualification: "Q", Level: 1, Issued: f.clock.Now()}, admin)
			return err
		}, mes.ErrNotFound},
		{"certification expiring before issue", func() error {
			_, err := p.Certify(ctx, labor.Certification{Person: "bob", Qualification: "Q", Level: 0, Issued: f.clock.Now(), Expires: f.clock.Now().Add(-time.Hour)}, admin)
			return err
		}, mes.ErrInvalid},
		{"calendar in no zone", func() error {
			return p.DefineShiftCalendar(ctx, "PLANT-1", mes.ShiftCalendar{Zone: "Mars/Olympus", Week: map[time.Weekday][]labor.Shift{time.Monday: {{Name: "early", Start: labor.HM(6, 0), End: labor.HM(6, 0)}}}}, admin)
		}, mes.ErrInvalid},
		{"report of unknown order", func() error { _, err := p.WorkOrderLabor(ctx, "nope", labor.Costing{}); return err }, mes.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := takeSnapshot(t, f.store)
			err := c.run()
			require.Error(t, err)
			assert.ErrorIs(t, err, c.want)
			assert.Equal(t, before, takeSnapshot(t, f.store))
		})
	}

	_, err = mes.Open(ctx, f.store, mes.WithQualificationPolicy(labor.Policy(7)))
	assert.ErrorIs(t, err, mes.ErrInvalid)
	_, err = mes.Open(ctx, f.store, mes.WithLaborCorrectionWindow(0))
	assert.ErrorIs(t, err, mes.ErrInvalid)
}

func TestMissingRatesAreListed(t *testing.T) {
	f := laborPlant(t)
	p := f.plant
	_, err := p.DefinePerson(ctx, "PLANT-1", labor.Person{ID: "olga", Name: "Olga Operator"}, admin)
	require.NoError(t, err, "olga's rate is removed")
	a := startLot(t, f, "A", "10 ea")
	_, err = p.ClockIn(ctx, "", operator)
	require.NoError(t, err)
	require.NoError(t, trackIn(f, a, "10", operator))
	f.clock.Advance(time.Hour)
	_, err = p.WorkOrderLabor(ctx, a.WorkOrder, labor.Costing{})
	require.ErrorIs(t, err, mes.ErrInvalid)
	assert.Contains(t, err.Error(), `LaborRate["olga"]`)
	assert.Contains(t, err.Error(), `MachineRate["CNC"]`)

	rep, err := p.WorkOrderLabor(ctx, a.WorkOrder, labor.Costing{LaborRate: map[string]decimal.Decimal{"olga": decimal.NewFromInt(36)},
		MachineRate: map[string]decimal.Decimal{"CNC": decimal.NewFromInt(90)}})
	require.NoError(t, err)
	assert.Equal(t, time.Hour, rep.Total.Actual, "labor still running counts until now")
	assert.Equal(t, "126", rep.Cost.Total().String())
}

func TestShiftCalendarAndTimesheetPerShift(t *testing.T) {
	f := laborPlant(t)
	p := f.plant
	week := map[time.Weekday][]labor.Shift{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		week[d] = []labor.Shift{
			{Name: "day", Start: labor.HM(6, 0), End: labor.HM(14, 0)},
			{Name: "late", Start: labor.HM(14, 0), End: labor.HM(22, 0)},
			{Name: "night", Start: labor.HM(22, 0), End: labor.HM(6, 0)},
		}
	}
	require.NoError(t, p.DefineShiftCalendar(ctx, "PLANT-1", mes.ShiftCalendar{Zone: "UTC", Week: week}, admin))
	cal, err := p.ShiftCalendar(ctx, "PLANT-1")
	require.NoError(t, err)

	// Olga works 20:00 to 02:00 across the shift change at 22:00 and midnight.
	f.clock.Advance(14 * time.Hour)
	start := f.clock.Now()
	a := startLot(t, f, "A", "10 ea")
	_, err = p.ClockIn(ctx, "", operator)
	require.NoError(t, err)
	require.NoError(t, trackIn(f, a, "10", operator))
	f.clock.Advance(6 * time.Hour)
	_, err = p.ClockOut(ctx, "", operator)
	require.NoError(t, err)

	shifts, err := cal.Shifts(start, f.clock.Now())
	require.NoError(t, err)
	var names []string
	var total time.Duration
	for _, si := range shifts {
		ts, err := p.Timesheet(ctx, "olga", si.Start, si.End)
		require.NoError(t, err)
		names = append(names, si.Shift+"="+ts.Labor.String())
		total += ts.Labor
	}
	assert.Equal(t, "late=2h0m0s night=4h0m0s", strings.Join(names, " "))
	assert.Equal(t, 6*time.Hour, total)

	_, err = p.ShiftCalendar(ctx, "PLANT-2")
	assert.ErrorIs(t, err, mes.ErrNotFound)
}

// BenchmarkLaborBooking measures a start and a stop of labor for a person with days of
// history (shifts of 20 operations): the cost stays flat because a booking replays only the
// correction window (here one day), not the history.
func BenchmarkLaborBooking(b *testing.B) {
	for _, days := range []int{1, 30} {
		b.Run(fmt.Sprintf("history=%dd", days), func(b *testing.B) {
			f := laborPlant(&testing.T{}, mes.WithLaborCorrectionWindow(24*time.Hour))
			p := f.plant
			a := startLot(&testing.T{}, f, "A", "10 ea")
			work := mes.Work{Lot: a.ID, Step: "20", Activity: labor.Run}
			pair := func(i int) {
				if i%20 == 0 {
					if i > 0 {
						if _, err := p.ClockOut(ctx, "", operator); err != nil {
							b.Fatal(err)
						}
					}
					f.clock.Advance(16 * time.Hour)
					if _, err := p.ClockIn(ctx, "", operator); err != nil {
						b.Fatal(err)
					}
				}
				f.clock.Advance(10 * time.Minute)
				if _, err := p.StartLabor(ctx, "", work, operator); err != nil {
					b.Fatal(err)
				}
				f.clock.Advance(10 * time.Minute)
				if _, err := p.StopLabor(ctx, "", work, operator); err != nil {
					b.Fatal(err)
				}
			}
			for i := range days * 20 {
				pair(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				pair(days*20 + i)
			}
		})
	}
}

func machineTimeOf(t *testing.T, f fixture, wo string) time.Duration {
	t.Helper()
	rep, err := f.plant.WorkOrderLabor(ctx, wo, labor.Costing{MachineRate: map[string]decimal.Decimal{"CNC-1": decimal.NewFromInt(60)}})
	require.NoError(t, err)
	return rep.Total.Machine
}

// Splitting the in-process quantity off into a sublot moves the machine run to the sublot,
// whose track-out closes it (the parent's run stayed open for ever).
func TestSplittingInProcessQuantityMovesTheMachineRun(t *testing.T) {
	f := laborPlant(t)
	lot := startLot(t, f, "A", "10 ea")
	require.NoError(t, trackIn(f, lot, "10", operator, mes.On("CNC-1")))
	f.clock.Advance(time.Hour)
	child, err := f.plant.SplitLot(ctx, lot.ID, "10", units.MustParse("10 ea"), operator)
	require.NoError(t, err)
	require.NoError(t, trackOut(f, child, "10", "10 ea", operator, mes.On("CNC-1")))
	f.clock.Advance(5 * time.Hour)
	assert.Equal(t, time.Hour, machineTimeOf(t, f, lot.WorkOrder), "CNC-1 ran the operation for 1 h, then nothing was in process")
}

// Aborting a lot with quantity in process closes its machine run.
func TestAbortingALotClosesItsMachineRuns(t *testing.T) {
	f := laborPlant(t)
	lot := startLot(t, f, "A", "10 ea")
	require.NoError(t, trackIn(f, lot, "10", operator, mes.On("CNC-1")))
	f.clock.Advance(time.Hour)
	_, err := f.plant.AbortLot(ctx, lot.ID, operator, mes.Reason("crash"))
	require.NoError(t, err)
	f.clock.Advance(5 * time.Hour)
	assert.Equal(t, time.Hour, machineTimeOf(t, f, lot.WorkOrder), "the machine stopped running the aborted lot")
}

// Merging a lot that is in process into another closes the merged lot's run (it stayed
// open for ever).
func TestMergingALotInProcessClosesItsMachineRun(t *testing.T) {
	f := laborPlant(t)
	in := newOrder("A")
	in.Qty = units.MustParse("20 ea")
	wo, err := f.plant.CreateWorkOrder(ctx, in, erp)
	require.NoError(t, err)
	_, err = f.plant.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	a, err := f.plant.StartLot(ctx, wo.ID, units.MustParse("10 ea"), planner)
	require.NoError(t, err)
	b, err := f.plant.StartLot(ctx, wo.ID, units.MustParse("10 ea"), planner)
	require.NoError(t, err)
	require.NoError(t, trackIn(f, a, "10", operator, mes.On("CNC-1")))
	require.NoError(t, trackIn(f, b, "10", operator, mes.On("CNC-1")))
	f.clock.Advance(time.Hour)
	_, err = f.plant.MergeLots(ctx, a.ID, b.ID, operator)
	require.NoError(t, err)
	require.NoError(t, trackOut(f, a, "10", "20 ea", operator, mes.On("CNC-1")))
	f.clock.Advance(5 * time.Hour)
	assert.Equal(t, time.Hour, machineTimeOf(t, f, wo.ID), "nothing of the order is in process after the track-out")
}
