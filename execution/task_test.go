package execution

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	sue  = Actor{ID: "sue", Roles: []string{"supervisor"}}
	mia  = Actor{ID: "mia", Roles: []string{"manager"}}
	olga = Actor{ID: "olga", Roles: []string{"operator"}}
)

func fired(t *testing.T, spec RuleSpec, cause string, at time.Time) Decision {
	t.Helper()
	r, err := Compile(spec)
	require.NoError(t, err)
	return Decision{Action: Fire, Rule: r, Cause: cause, At: at, Links: Links{Lots: []string{"L1"}}}
}

var escalating = RuleSpec{Name: "waiting", Title: "lot waiting", Owner: "supervisor", When: "true", Inputs: []string{"reason"},
	ResolveWithin: 4 * time.Hour, Escalation: []EscalationStep{{Role: "manager", After: 30 * time.Minute}, {Role: "director", After: time.Hour}}}

func TestTaskStateMachine(t *testing.T) {
	task := OpenTask("T1", "S", fired(t, escalating, "L1@10", t0))
	assert.Equal(t, Open, task.State)
	assert.Equal(t, Owner{Role: "supervisor"}, task.Owner)
	assert.Equal(t, t0.Add(4*time.Hour), task.DueAt)
	assert.Equal(t, Medium, task.Severity)

	_, err := task.Start(sue, t0)
	require.ErrorIs(t, err, ErrWrongState)
	_, err = task.Acknowledge(olga, t0)
	require.ErrorIs(t, err, ErrNotOwner)

	ack, err := task.Acknowledge(sue, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, Owner{Role: "supervisor", Person: "sue"}, ack.Owner)
	assert.Equal(t, Open, task.State, "methods leave the receiver unchanged")

	started, err := ack.Start(sue, t0.Add(2*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, InProgress, started.State)

	_, err = started.Resolve(sue, map[string]string{"note": "x"}, t0.Add(time.Hour))
	var missing *MissingInputsError
	require.ErrorAs(t, err, &missing)
	require.ErrorIs(t, err, ErrMissingInputs)
	assert.Equal(t, []string{"reason"}, missing.Missing)
	_, err = started.Resolve(sue, map[string]string{"reason": ""}, t0.Add(time.Hour))
	require.ErrorIs(t, err, ErrMissingInputs, "an empty input is missing")

	done, err := started.Resolve(sue, map[string]string{"reason": "MACHINE-DOWN"}, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, Resolved, done.State)
	assert.Equal(t, "sue", done.ClosedBy)
	assert.Equal(t, "MACHINE-DOWN", done.Resolution["reason"])

	for _, f := range []func() error{
		func() error { _, err := done.Cancel(sue, "x", t0); return err },
		func() error { _, err := done.AutoResolve(t0); return err },
		func() error { _, _, err := done.Fire(Links{}, t0, true); return err },
	} {
		require.ErrorIs(t, f(), ErrWrongState)
	}
}

func TestCancelNeedsAReasonAndAutoResolveNeedsNoInputs(t *testing.T) {
	task := OpenTask("T1", "S", fired(t, escalating, "c", t0))
	_, err := task.Cancel(sue, "", t0)
	require.ErrorIs(t, err, ErrInvalid)
	c, err := task.Cancel(mia, "duplicate of T0", t0)
	require.NoError(t, err)
	assert.Equal(t, Cancelled, c.State)
	a, err := task.AutoResolve(t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, Resolved, a.State)
	assert.Empty(t, a.ClosedBy)
	assert.Equal(t, "the cause cleared", a.Note)
}

func TestResolveBoundsInputs(t *testing.T) {
	task, err := OpenTask("T1", "S", fired(t, escalating, "c", t0)).Acknowledge(sue, t0)
	require.NoError(t, err)
	in := map[string]string{"reason": string(make([]byte, MaxInputLength+1))}
	_, err = task.Resolve(sue, in, t0)
	require.ErrorIs(t, err, ErrInvalid)
}

func TestFireDeduplicates(t *testing.T) {
	task := OpenTask("T1", "S", fired(t, escalating, "c", t0))
	same, changed, err := task.Fire(Links{Lots: []string{"L1"}}, t0.Add(time.Minute), false)
	require.NoError(t, err)
	assert.False(t, changed, "a tick with nothing new changes nothing")
	assert.Equal(t, task, same)

	upd, changed, err := task.Fire(Links{Lots: []string{"L1"}, WorkOrders: []string{"WO1"}}, t0.Add(2*time.Minute), true)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, 2, upd.Occurrences)
	assert.Equal(t, t0.Add(2*time.Minute), upd.LastFiredAt)
	assert.Equal(t, Links{Lots: []string{"L1"}, WorkOrders: []string{"WO1"}}, upd.Links)
	assert.Nil(t, task.Links.WorkOrders, "merging leaves the receiver's links unchanged")
}

func TestEscalationTiming(t *testing.T) {
	task := OpenTask("T1", "S", fired(t, escalating, "c", t0))
	next, ok := task.NextEscalation()
	require.True(t, ok)
	assert.Equal(t, t0.Add(30*time.Minute), next)

	same, effects := task.Escalate(t0.Add(29 * time.Minute))
	assert.Empty(t, effects)
	assert.Equal(t, task, same)

	// Not acknowledged within 30 minutes: to the manager.
	up, effects := task.Escalate(t0.Add(30 * time.Minute))
	require.Len(t, effects, 1)
	assert.Equal(t, Escalated{Task: "T1", From: "supervisor", To: "manager", Level: 1, At: t0.Add(30 * time.Minute), Reason: "not acknowledged within 30m0s"}, effects[0])
	assert.Equal(t, Owner{Role: "manager"}, up.Owner)
	assert.Equal(t, t0.Add(30*time.Minute), up.LevelSince)
	_, err := up.Acknowledge(sue, t0.Add(31*time.Minute))
	require.ErrorIs(t, err, ErrNotOwner, "the task left the supervisor")

	// The manager acknowledges; it is not resolved by its due time (t0+4h): to the director.
	ack, err := up.Acknowledge(mia, t0.Add(40*time.Minute))
	require.NoError(t, err)
	next, ok = ack.NextEscalation()
	require.True(t, ok)
	assert.Equal(t, t0.Add(4*time.Hour), next)
	top, effects := ack.Escalate(t0.Add(5 * time.Hour))
	require.Len(t, effects, 1)
	assert.Equal(t, "director", effects[0].To)
	assert.Contains(t, effects[0].Reason, "not resolved by its due time")
	assert.Equal(t, Open, top.State)
	assert.Equal(t, t0.Add(5*time.Hour), top.DueAt, "a passed due time moves to the step time + After")
	_, ok = top.NextEscalation()
	assert.False(t, ok, "the end of the path")

	// A late call takes every step due, each timed when it was due.
	all, effects := task.Escalate(t0.Add(10 * time.Hour))
	require.Len(t, effects, 2)
	assert.Equal(t, t0.Add(30*time.Minute), effects[0].At)
	assert.Equal(t, t0.Add(90*time.Minute), effects[1].At)
	assert.Equal(t, 2, all.Level)
}

func TestLinksStringIsWhatFmtPrintsForTheStruct(t *testing.T) {
	type plain struct{ Lots, WorkOrders, Equipment []string }
	for _, l := range []Links{{}, {Lots: []string{"L1"}}, {Lots: []string{"L1", "L2"}, WorkOrders: []string{"WO-1"}, Equipment: []string{"CNC", "OVEN 2"}}} {
		require.Equal(t, fmt.Sprint(plain(l)), l.String())
	}
}
