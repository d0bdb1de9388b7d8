package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

var plc = mes.By(mes.Actor{ID: "plc-1", Kind: mes.Device})

// commander records the device commands the engine sends. check, when set, runs on each
// command as it is sent.
type commander struct {
	mu    sync.Mutex
	sent  []mes.DeviceCommand
	check func(mes.DeviceCommand)
	fail  error
}

func (r *commander) SendCommand(ctx context.Context, cmd mes.DeviceCommand) error {
	if r.check != nil {
		r.check(cmd)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, cmd)
	return r.fail
}

func (r *commander) take() []mes.DeviceCommand {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.sent
	r.sent = nil
	return out
}

// devicePlant adds work unit CNC-1 (ideal cycle 1 s) below work center CNC, the PUMP-100
// material, a routing whose step 10 at CNC downloads rpm=1200, and a started lot of 50 ea.
func devicePlant(t *testing.T, opts ...mes.Option) (fixture, mes.Lot) {
	t.Helper()
	f := newPlant(t, opts...)
	p := f.plant
	require.NoError(t, p.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "CNC-1", Level: equipment.WorkUnit, Parent: "CNC", IdealCycleTime: time.Second},
	}, admin))
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	rt, err := routing.New("PUMP-100", "1").Step("10", "Machine", routing.At("CNC"), routing.Param("rpm", "1200")).Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", rt, admin)
	require.NoError(t, err)
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("50 ea"), planner)
	require.NoError(t, err)
	return f, lot
}

var shiftStart = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

func countSignal(seq uint64, at time.Time, good, reject int64) equipment.Signal {
	return equipment.Signal{Source: "plc-1", Seq: seq, At: at, Equipment: "CNC-1", Kind: equipment.KindCount, Count: &equipment.Count{Good: good, Reject: reject}}
}

func stateSignal(seq uint64, at time.Time, state equipment.MachineState, reason string) equipment.Signal {
	return equipment.Signal{Source: "plc-1", Seq: seq, At: at, Equipment: "CNC-1", Kind: equipment.KindState, State: &equipment.StateChange{State: state, Reason: reason}}
}

// deviceStream is two and a half hours of a machine: a state change every 7 minutes
// (running, down with a reason, setup, idle), a count every 20 s, a measurement every
// 5 minutes and an alarm raised and cleared.
func deviceStream() []equipment.Signal {
	var out []equipment.Signal
	seq := uint64(0)
	next := func() uint64 { seq++; return seq }
	states := []struct {
		s      equipment.MachineState
		reason string
	}{{equipment.Running, ""}, {equipment.Down, "E-STOP"}, {equipment.Running, ""}, {equipment.Setup, "CHANGEOVER"}, {equipment.Running, ""}, {equipment.Idle, "STARVED"}}
	for at, i := shiftStart, 0; at.Before(shiftStart.Add(150 * time.Minute)); at, i = at.Add(20*time.Second), i+1 {
		if i%21 == 0 {
			st := states[(i/21)%len(states)]
			out = append(out, stateSignal(next(), at, st.s, st.reason))
		}
		out = append(out, countSignal(next(), at.Add(time.Second), int64(1+i%3), int64(i%7/6)))
		if i%15 == 0 {
			out = append(out, equipment.Signal{Source: "plc-1", Seq: next(), At: at.Add(2 * time.Second), Equipment: "CNC-1", Kind: equipment.KindMeasurement,
				Measurement: &equipment.Measurement{Tag: "spindle.temp", Value: decimal.New(int64(600+i%40), -1), Unit: "degC"}})
		}
		if i == 100 || i == 130 {
			out = append(out, equipment.Signal{Source: "plc-1", Seq: next(), At: at.Add(3 * time.Second), Equipment: "CNC-1", Kind: equipment.KindAlarm,
				Alarm: &equipment.Alarm{Code: "A17", Text: "Coolant low", Active: i == 100}})
		}
	}
	return out
}

func ingestInBatches(t *testing.T, p *mes.Plant, sigs []equipment.Signal, size int) []mes.IngestResult {
	t.Helper()
	var all []mes.IngestResult
	for len(sigs) > 0 {
		n := min(size, len(sigs))
		res, err := p.IngestSignals(ctx, sigs[:n], plc)
		require.NoError(t, err)
		all = append(all, res...)
		sigs = sigs[n:]
	}
	return all
}

// deviceState is everything observable about CNC-1 and the lot after a stream.
type deviceState struct {
	History    []equipment.Interval
	OEE        equipment.OEEReport
	Counts     []mes.MachineCount
	Events     map[string]int
	Measured   []string
	LotBooks   routing.Books
	ShiftOEE   equipment.OEEReport
	AfterStart []equipment.Interval
}

func observe(t *testing.T, f fixture, lotID string) deviceState {
	t.Helper()
	p := f.plant
	var st deviceState
	var err error
	end := shiftStart.Add(150 * time.Minute)
	st.History, err = p.EquipmentHistory(ctx, "CNC-1", shiftStart.Add(-time.Hour), end)
	require.NoError(t, err)
	// A window starting in the second hour needs the state carried over from the first.
	st.AfterStart, err = p.EquipmentHistory(ctx, "CNC-1", shiftStart.Add(75*time.Minute), end)
	require.NoError(t, err)
	st.OEE, err = p.OEE(ctx, "CNC-1", equipment.Span{Start: shiftStart, End: end}, []equipment.Span{{Start: shiftStart.Add(time.Hour), End: shiftStart.Add(70 * time.Minute)}})
	require.NoError(t, err)
	st.ShiftOEE, err = p.OEE(ctx, "CNC", equipment.Span{Start: shiftStart.Add(30 * time.Minute), End: end}, nil)
	require.NoError(t, err)
	st.Counts, err = p.MachineCounts(ctx, lotID)
	require.NoError(t, err)
	lot, err := p.Lot(ctx, lotID)
	require.NoError(t, err)
	st.LotBooks = books(t, lot, "10")
	evs, err := p.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	st.Events = map[string]int{}
	for _, e := range evs {
		st.Events[e.Type]++
		if m, ok := e.Payload.(*mes.MeasurementRecorded); ok {
			st.Measured = append(st.Measured, m.At.Format(time.RFC3339)+" "+m.Value.String()+" "+m.Lot)
		}
	}
	// Events follow arrival order and count events depend on the batching; what they
	// report does not.
	slices.Sort(st.Measured)
	delete(st.Events, "equipment.counts_recorded")
	return st
}

func TestIngestDuplicatedShuffledStreamEndsInTheCleanState(t *testing.T) {
	stream := deviceStream()
	require.Greater(t, len(stream), 500)

	clean, lot := devicePlant(t)
	_, err := clean.plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator, mes.On("CNC-1"))
	require.NoError(t, err)
	res := ingestInBatches(t, clean.plant, stream, 50)
	for _, r := range res {
		require.Equal(t, equipment.Applied, r.Outcome)
	}
	want := observe(t, clean, lot.ID)

	noisy, lot2 := devicePlant(t)
	require.Equal(t, lot.ID, lot2.ID)
	_, err = noisy.plant.TrackIn(ctx, lot2.ID, "10", units.Quantity{}, operator, mes.On("CNC-1"))
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(8, 22400))
	replay := append([]equipment.Signal(nil), stream...)
	for range len(stream) / 10 {
		replay = append(replay, stream[rng.IntN(len(stream))])
	}
	rng.Shuffle(len(replay), func(i, j int) { replay[i], replay[j] = replay[j], replay[i] })
	res = ingestInBatches(t, noisy.plant, replay, 37)
	outcomes := map[equipment.Outcome]int{}
	for _, r := range res {
		outcomes[r.Outcome]++
	}
	assert.Equal(t, map[equipment.Outcome]int{equipment.Applied: len(stream), equipment.Duplicate: len(stream) / 10}, outcomes)

	// A second process on the same store sees every signal as a duplicate.
	other, err := mes.Open(ctx, noisy.store, mes.WithClock(noisy.clock))
	require.NoError(t, err)
	res = ingestInBatches(t, other, stream[:200], 100)
	for _, r := range res {
		require.Equal(t, equipment.Duplicate, r.Outcome)
	}

	got := observe(t, noisy, lot2.ID)
	assert.Equal(t, want, got)

	// The state is real: the stream's counts reached the lot and the history has reasons.
	require.Len(t, want.Counts, 1)
	var good, reject int64
	for _, s := range stream {
		if s.Count != nil {
			good += s.Count.Good
			reject += s.Count.Reject
		}
	}
	assert.Equal(t, good, want.Counts[0].Good)
	assert.Equal(t, reject, want.Counts[0].Reject)
	assert.Equal(t, equipment.Unknown, want.History[0].State)
	assert.Contains(t, reasons(want.History), "E-STOP")
	assert.NotEqual(t, equipment.Unknown, want.AfterStart[0].State, "state carried into a later window")
	assert.Equal(t, units.MustParse("50 ea"), want.LotBooks.InProcess, "machine counts never track out")
	assert.Equal(t, 30, want.Events["equipment.measurement_recorded"])
	assert.Equal(t, 2, want.Events["equipment.alarm"])
}

func reasons(h []equipment.Interval) []string {
	var out []string
	for _, iv := range h {
		if iv.Reason != "" {
			out = append(out, iv.Reason)
		}
	}
	return out
}

// TestOEEWorkedExample runs the published example through the engine: a 480 min shift with
// two 15 min breaks and a 30 min meal (planned stops), 47 min downtime, an ideal rate of
// 60 parts/min, 19,271 parts of which 423 rejects.
func TestOEEWorkedExample(t *testing.T) {
	f, _ := devicePlant(t)
	down := equipment.Span{Start: shiftStart.Add(120 * time.Minute), End: shiftStart.Add(167 * time.Minute)}
	breaks := []equipment.Span{
		{Start: shiftStart.Add(180 * time.Minute), End: shiftStart.Add(195 * time.Minute)},
		{Start: shiftStart.Add(300 * time.Minute), End: shiftStart.Add(330 * time.Minute)},
		{Start: shiftStart.Add(390 * time.Minute), End: shiftStart.Add(405 * time.Minute)},
	}
	inAny := func(t time.Time, spans ...equipment.Span) bool {
		for _, s := range spans {
			if !t.Before(s.Start) && t.Before(s.End) {
				return true
			}
		}
		return false
	}
	sigs := []equipment.Signal{
		stateSignal(1, shiftStart, equipment.Running, ""),
		stateSignal(2, down.Start, equipment.Down, "TOOL-BREAK"),
		stateSignal(3, down.End, equipment.Running, ""),
	}
	var minutes []time.Time
	for m := range 480 {
		at := shiftStart.Add(time.Duration(m) * time.Minute)
		if !inAny(at, append(breaks, down)...) {
			minutes = append(minutes, at.Add(30*time.Second))
		}
	}
	require.Len(t, minutes, 373)
	const parts, rejects = 19271, 423
	n := int64(len(minutes))
	for i, at := range minutes {
		k := int64(i)
		total := parts*(k+1)/n - parts*k/n
		bad := rejects*(k+1)/n - rejects*k/n
		sigs = append(sigs, countSignal(uint64(4+i), at, total-bad, bad))
	}
	ingestInBatches(t, f.plant, sigs, 100)

	shift := equipment.Span{Start: shiftStart, End: shiftStart.Add(480 * time.Minute)}
	for _, id := range []string{"CNC-1", "CNC"} {
		r, err := f.plant.OEE(ctx, id, shift, breaks)
		require.NoError(t, err)
		assert.Equal(t, 60*time.Minute, r.PlannedStop)
		assert.Equal(t, 420*time.Minute, r.PlannedBusy)
		assert.Equal(t, 373*time.Minute, r.Run)
		assert.Equal(t, int64(parts-rejects), r.Good)
		assert.Equal(t, int64(rejects), r.Reject)
		assert.InDelta(t, 0.8881, r.Availability.Value, 0.00005)
		assert.InDelta(t, 0.8611, r.Performance.Value, 0.00005)
		assert.InDelta(t, 0.9780, r.Quality.Value, 0.00005)
		assert.InDelta(t, 0.7479, r.OEE.Value, 0.00005)
		assert.Equal(t, []equipment.DowntimeLoss{{State: equipment.Down, Reason: "TOOL-BREAK", Duration: 47 * time.Minute}}, r.Losses.Downtime)
		assert.Equal(t, 423*time.Second, r.Losses.Quality)
		assert.Equal(t, 373*time.Minute-parts*time.Second, r.Losses.Speed)
	}
}

func TestOEEOfWorkCenterAggregatesItsWorkUnits(t *testing.T) {
	f, _ := devicePlant(t)
	require.NoError(t, f.plant.DefineEquipment(ctx, []equipment.Equipment{{ID: "CNC-2", Level: equipment.WorkUnit, Parent: "CNC", IdealCycleTime: 2 * time.Second}}, admin))
	hour := equipment.Span{Start: shiftStart, End: shiftStart.Add(time.Hour)}
	other := func(s equipment.Signal) equipment.Signal { s.Equipment, s.Source = "CNC-2", "plc-2"; return s }
	_, err := f.plant.IngestSignals(ctx, []equipment.Signal{
		stateSignal(1, shiftStart, equipment.Running, ""), countSignal(2, shiftStart.Add(time.Minute), 1800, 0),
		other(stateSignal(1, shiftStart, equipment.Running, "")), other(stateSignal(2, shiftStart.Add(30*time.Minute), equipment.Down, "JAM")),
		other(countSignal(3, shiftStart.Add(time.Minute), 450, 50)),
	}, plc)
	require.NoError(t, err)
	wc, err := f.plant.OEE(ctx, "CNC", hour, nil)
	require.NoError(t, err)
	u1, err := f.plant.OEE(ctx, "CNC-1", hour, nil)
	require.NoError(t, err)
	u2, err := f.plant.OEE(ctx, "CNC-2", hour, nil)
	require.NoError(t, err)
	want, err := equipment.AggregateOEE(u1, u2)
	require.NoError(t, err)
	assert.Equal(t, want, wc)
	assert.Equal(t, 2*time.Hour, wc.PlannedBusy)
	assert.Equal(t, 90*time.Minute, wc.Run)
	assert.InDelta(t, 0.75, wc.Availability.Value, 1e-9)
	assert.Equal(t, int64(2250), wc.Good)

	_, err = f.plant.OEE(ctx, "NOPE", hour, nil)
	assert.ErrorIs(t, err, mes.ErrNotFound)
	_, err = f.plant.OEE(ctx, "CNC", equipment.Span{Start: hour.End, End: hour.Start}, nil)
	assert.ErrorIs(t, err, mes.ErrInvalid)
}

func TestMachineCountsGoToTheTrackedInOperation(t *testing.T) {
	f, lot := devicePlant(t)
	p := f.plant
	f.clock.Advance(10 * time.Minute) // track-in at 06:10
	_, err := p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator, mes.On("CNC-1"))
	require.NoError(t, err)
	head, err := f.store.Head(ctx)
	require.NoError(t, err)

	_, err = p.IngestSignals(ctx, []equipment.Signal{
		countSignal(1, shiftStart.Add(5*time.Minute), 4, 0), // before the track-in: the equipment's only
		countSignal(2, shiftStart.Add(11*time.Minute), 10, 1),
		countSignal(3, shiftStart.Add(12*time.Minute), 20, 2),
		{Source: "plc-1", Seq: 4, At: shiftStart.Add(12 * time.Minute), Equipment: "CNC-1", Kind: equipment.KindMeasurement,
			Measurement: &equipment.Measurement{Tag: "bore", Value: decimal.RequireFromString("10.015"), Unit: "mm"}},
	}, plc)
	require.NoError(t, err)

	counts, err := p.MachineCounts(ctx, lot.ID)
	require.NoError(t, err)
	require.Len(t, counts, 1)
	assert.Equal(t, mes.MachineCount{Lot: lot.ID, WorkOrder: lot.WorkOrder, Step: "10", Equipment: "CNC-1", Good: 30, Reject: 3,
		First: shiftStart.Add(11 * time.Minute), Last: shiftStart.Add(12 * time.Minute)}, counts[0])
	got, err := p.Lot(ctx, lot.ID)
	require.NoError(t, err)
	assert.Equal(t, units.MustParse("50 ea"), books(t, got, "10").InProcess, "machine counts do not track out")

	evs, err := p.ReadEvents(ctx, head, 0)
	require.NoError(t, err)
	var recorded []mes.MachineCountsRecorded
	var measured []mes.MeasurementRecorded
	for _, e := range evs {
		assert.Equal(t, "plc-1", e.Actor)
		switch pl := e.Payload.(type) {
		case *mes.MachineCountsRecorded:
			recorded = append(recorded, *pl)
		case *mes.MeasurementRecorded:
			measured = append(measured, *pl)
		}
	}
	require.Len(t, recorded, 2)
	assert.Equal(t, mes.MachineCountsRecorded{Equipment: "CNC-1", Good: 4, Signals: 1, From: shiftStart.Add(5 * time.Minute), To: shiftStart.Add(5 * time.Minute)}, recorded[0])
	assert.Equal(t, lot.ID, recorded[1].Lot)
	assert.Equal(t, int64(30), recorded[1].Good)
	require.Len(t, measured, 1)
	assert.Equal(t, lot.ID, measured[0].Lot)
	assert.Equal(t, "10", measured[0].Step)
	assert.Equal(t, "10.015", measured[0].Value.String())

	audit, err := p.AuditTrail(ctx, 0, 0)
	require.NoError(t, err)
	last := audit[len(audit)-1]
	assert.Equal(t, "equipment.ingest", last.Action)
	assert.Equal(t, string(mes.Device), last.ActorKind)

	// After the final track-out counts belong to the equipment only.
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("50 ea"), Final: true}, operator, mes.On("CNC-1"))
	require.NoError(t, err)
	_, err = p.IngestSignals(ctx, []equipment.Signal{countSignal(5, shiftStart.Add(20*time.Minute), 7, 0)}, plc)
	require.NoError(t, err)
	counts, err = p.MachineCounts(ctx, lot.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(30), counts[0].Good)
	hist, err := p.EquipmentHistory(ctx, "CNC-1", shiftStart, shiftStart.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, int64(41), hist[0].Good)
}

func TestDeviceCommandsAreSentAfterCommit(t *testing.T) {
	rec := &commander{}
	f, lot := devicePlant(t, mes.WithDeviceCommander(rec))
	p := f.plant
	// Each command is sent after its transaction committed: the engine's state already
	// shows what the command did (a send inside the transaction would not see it, and on
	// the memory store would deadlock).
	rec.check = func(cmd mes.DeviceCommand) {
		l, err := p.Lot(ctx, lot.ID)
		if assert.NoError(t, err) && cmd.Kind == mes.DownloadParameters {
			assert.Equal(t, units.MustParse("50 ea"), books(t, l, "10").InProcess)
		}
	}
	_, err := p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator, mes.On("CNC-1"))
	require.NoError(t, err)
	sent := rec.take()
	require.Len(t, sent, 2)
	assert.Equal(t, mes.DeviceCommand{Kind: mes.DownloadParameters, Site: "PLANT-1", Equipment: "CNC-1", Lot: lot.ID, WorkOrder: lot.WorkOrder, Step: "10",
		Parameters: map[string]string{"rpm": "1200"}, Issued: f.clock.Now()}, sent[0])
	assert.Equal(t, mes.SetInterlock, sent[1].Kind)
	assert.False(t, sent[1].Interlock.Block)

	hold, err := p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnLot, ID: lot.ID}, "suspect bore", planner)
	require.NoError(t, err)
	sent = rec.take()
	require.Len(t, sent, 1)
	assert.True(t, sent[0].Interlock.Block)
	assert.Equal(t, equipment.LotHeld, sent[0].Interlock.Reason)

	// A failed command sends nothing.
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("50 ea"), Final: true}, operator, mes.On("CNC-1"))
	require.ErrorIs(t, err, mes.ErrOnHold)
	assert.Empty(t, rec.take())
	// A hold on something else sends nothing either.
	_, err = p.PlaceHold(ctx, "PLANT-2", quality.Target{Kind: quality.OnEquipment, ID: "PLANT-2"}, "audit", planner)
	require.NoError(t, err)
	assert.Empty(t, rec.take())

	_, err = p.ReleaseHold(ctx, hold.ID, planner, mes.Reason("bore measured in spec"))
	require.NoError(t, err)
	sent = rec.take()
	require.Len(t, sent, 1)
	assert.False(t, sent[0].Interlock.Block)

	// A device that cannot be reached does not undo the committed track-out.
	rec.fail = errors.New("broker unreachable")
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("50 ea"), Final: true}, operator, mes.On("CNC-1"))
	require.NoError(t, err)
	sent = rec.take()
	require.Len(t, sent, 1)
	assert.True(t, sent[0].Interlock.Block)
	assert.Equal(t, equipment.NoLotTrackedIn, sent[0].Interlock.Reason)
}

func TestCorrectDowntimeReasonIsAudited(t *testing.T) {
	f, _ := devicePlant(t)
	p := f.plant
	downAt := shiftStart.Add(10 * time.Minute)
	_, err := p.IngestSignals(ctx, []equipment.Signal{
		stateSignal(1, shiftStart, equipment.Running, ""),
		stateSignal(2, downAt, equipment.Down, "E-STOP"),
		stateSignal(3, shiftStart.Add(25*time.Minute), equipment.Running, ""),
	}, plc)
	require.NoError(t, err)

	before := deviceSnapshot(t, f.store)
	_, err = p.CorrectDowntimeReason(ctx, "CNC-1", shiftStart, "WHATEVER", operator)
	require.ErrorIs(t, err, mes.ErrInvalid, "running intervals take no reason")
	assert.ErrorContains(t, err, "running")
	_, err = p.CorrectDowntimeReason(ctx, "CNC-1", downAt.Add(time.Second), "TOOL-CHANGE", operator)
	require.ErrorIs(t, err, equipment.ErrNoInterval)
	_, err = p.CorrectDowntimeReason(ctx, "CNC-1", downAt, "", operator)
	require.ErrorIs(t, err, mes.ErrInvalid)
	assert.Equal(t, before, deviceSnapshot(t, f.store), "rejected corrections change nothing")

	f.clock.Advance(time.Hour)
	cor, err := p.CorrectDowntimeReason(ctx, "CNC-1", downAt, "TOOL-CHANGE", operator, mes.Reason("the E-STOP was pressed for a tool change"))
	require.NoError(t, err)
	assert.Equal(t, equipment.Correction{Interval: downAt, Reason: "TOOL-CHANGE", By: "olga", At: f.clock.Now(), Note: "the E-STOP was pressed for a tool change"}, cor)

	hist, err := p.EquipmentHistory(ctx, "CNC-1", shiftStart, shiftStart.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, hist, 3)
	assert.Equal(t, "E-STOP", hist[1].DeviceReason, "the device's reason is kept")
	assert.Equal(t, "TOOL-CHANGE", hist[1].Reason)

	f.clock.Advance(time.Minute)
	_, err = p.CorrectDowntimeReason(ctx, "CNC-1", downAt, "MAINTENANCE", planner)
	require.NoError(t, err)
	hist, err = p.EquipmentHistory(ctx, "CNC-1", shiftStart, shiftStart.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, "MAINTENANCE", hist[1].Reason, "the latest correction wins")
	r, err := p.OEE(ctx, "CNC-1", equipment.Span{Start: shiftStart, End: shiftStart.Add(time.Hour)}, nil)
	require.NoError(t, err)
	assert.Equal(t, []equipment.DowntimeLoss{{State: equipment.Down, Reason: "MAINTENANCE", Duration: 15 * time.Minute}}, r.Losses.Downtime)

	audit, err := p.AuditTrail(ctx, 0, 0)
	require.NoError(t, err)
	var trail []string
	for _, a := range audit {
		if a.Action == "equipment.correct_reason" {
			require.Len(t, a.Changes, 1)
			trail = append(trail, a.Actor+": "+a.Changes[0].Before+" -> "+a.Changes[0].After+" ("+a.Reason+")")
		}
	}
	assert.Equal(t, []string{
		"olga: E-STOP -> TOOL-CHANGE (the E-STOP was pressed for a tool change)",
		"pat: TOOL-CHANGE -> MAINTENANCE ()",
	}, trail)
	n, err := p.VerifyAudit(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(len(audit)), n)
}

func TestIngestRejectsBadSignalsAndChangesNothing(t *testing.T) {
	f, _ := devicePlant(t)
	require.NoError(t, f.plant.DefineEquipment(ctx, []equipment.Equipment{{ID: "OTHER-WC", Level: equipment.WorkCenter, Parent: "PLANT-2"}}, admin))
	_, err := f.plant.IngestSignals(ctx, []equipment.Signal{stateSignal(1, shiftStart, equipment.Running, "")}, plc)
	require.NoError(t, err)
	good := countSignal(2, shiftStart.Add(time.Minute), 1, 0)
	noSeq := countSignal(0, shiftStart, 1, 0)
	negative := countSignal(3, shiftStart, -1, 0)
	unknown := countSignal(4, shiftStart, 1, 0)
	unknown.Equipment = "CNC-9"
	otherSite := countSignal(5, shiftStart, 1, 0)
	otherSite.Equipment = "OTHER-WC"
	noPayload := equipment.Signal{Source: "plc-1", Seq: 6, At: shiftStart, Equipment: "CNC-1", Kind: equipment.KindState}

	tests := []struct {
		name    string
		signals []equipment.Signal
		by      mes.CommandOption
		want    []string
	}{
		{"empty batch", nil, plc, []string{"no signals"}},
		{"a person, not a device", []equipment.Signal{good}, operator, []string{"Kind: mes.Device"}},
		{"every problem of a batch", []equipment.Signal{good, noSeq, negative, unknown, noPayload},
			plc, []string{"signals[1].seq", "signals[2].count.good", "signals[3].equipment \"CNC-9\"", "signals[4].state"}},
		{"two sites", []equipment.Signal{good, otherSite}, plc, []string{"signals[1].equipment \"OTHER-WC\"", "one batch per site"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := deviceSnapshot(t, f.store)
			res, err := f.plant.IngestSignals(ctx, tt.signals, tt.by)
			require.ErrorIs(t, err, mes.ErrInvalid)
			assert.Nil(t, res)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
			assert.Equal(t, before, deviceSnapshot(t, f.store))
		})
	}

	// A batch of duplicates is answered but writes nothing.
	before := deviceSnapshot(t, f.store)
	res, err := f.plant.IngestSignals(ctx, []equipment.Signal{stateSignal(1, shiftStart, equipment.Running, "")}, plc)
	require.NoError(t, err)
	assert.Equal(t, []mes.IngestResult{{Equipment: "CNC-1", Source: "plc-1", Seq: 1, Outcome: equipment.Duplicate}}, res)
	assert.Equal(t, before, deviceSnapshot(t, f.store))
}

// deviceSnapshot extends takeSnapshot with the device records.
func deviceSnapshot(t *testing.T, s store.Store) string {
	t.Helper()
	recs := map[string][]store.Record{}
	require.NoError(t, s.View(ctx, func(tx store.ReadTx) error {
		for _, kind := range []string{"equipment_state", "equipment_signals", "equipment_correction", "equipment_load", "machine_counts"} {
			l, err := tx.List(ctx, store.Query{Kind: kind, Site: "PLANT-1"})
			if err != nil {
				return err
			}
			recs[kind] = l
		}
		return nil
	}))
	b, err := json.Marshal(recs)
	require.NoError(t, err)
	return takeSnapshot(t, s) + string(b)
}

// BenchmarkIngestSignals measures signals through the engine on the memory store, one
// count per second of machine time, in batches of 1 and 100 (b.N counts signals).
func BenchmarkIngestSignals(b *testing.B) {
	for _, size := range []int{1, 100} {
		b.Run("batch"+strconv.Itoa(size), func(b *testing.B) {
			f, lot := devicePlant(&testing.T{})
			if _, err := f.plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator, mes.On("CNC-1")); err != nil {
				b.Fatal(err)
			}
			batch := make([]equipment.Signal, 0, size)
			seq := uint64(0)
			b.ReportAllocs()
			for b.Loop() {
				seq++
				batch = append(batch, countSignal(seq, shiftStart.Add(time.Duration(seq)*time.Second), 1, 0))
				if len(batch) == size {
					if _, err := f.plant.IngestSignals(ctx, batch, plc); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
		})
	}
}

func TestInterlockFollowsAHoldOnTheWorkCenter(t *testing.T) {
	rec := &commander{}
	f, lot := devicePlant(t, mes.WithDeviceCommander(rec))
	p := f.plant
	_, err := p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator, mes.On("CNC-1"))
	require.NoError(t, err)
	rec.take()
	h, err := p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnEquipment, ID: "CNC"}, "crash", planner)
	require.NoError(t, err)
	sent := rec.take()
	require.Len(t, sent, 1, "a hold on the work center holds its units")
	require.True(t, sent[0].Interlock.Block)
	assert.Equal(t, "CNC-1", sent[0].Equipment)
	_, err = p.ReleaseHold(ctx, h.ID, planner, mes.Reason("cleared"))
	require.NoError(t, err)
	sent = rec.take()
	require.Len(t, sent, 1, "and releasing it frees them")
	require.False(t, sent[0].Interlock.Block)
}

func TestHistoryKeepsSignalsAppliedOutOfSeqOrder(t *testing.T) {
	f, _ := devicePlant(t)
	p := f.plant
	res, err := p.IngestSignals(ctx, []equipment.Signal{
		countSignal(1, shiftStart.Add(70*time.Minute), 5, 0),    // 07:10, live
		countSignal(5000, shiftStart.Add(50*time.Minute), 7, 0), // 06:50, backfilled by a gateway with a higher seq
	}, plc)
	require.NoError(t, err)
	require.Equal(t, equipment.Applied, res[0].Outcome)
	require.Equal(t, equipment.Applied, res[1].Outcome)
	hist, err := p.EquipmentHistory(ctx, "CNC-1", shiftStart, shiftStart.Add(2*time.Hour))
	require.NoError(t, err)
	var good int64
	for _, iv := range hist {
		good += iv.Good
	}
	assert.Equal(t, int64(12), good, "replayed in time order, seq 1 came after seq 5000 and was dropped as too old")
}
