package erp_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/erp"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

// runSmallPlant imports the test documents and runs order 4711: 10 pumps machined on
// CNC-1 by Anna (one scrapped for chatter), assembled with back-flushed seal kits and an
// extra seal kit consumed by hand.
func runSmallPlant(t *testing.T) fixture {
	t.Helper()
	f := newPlant(t)
	p := f.plant
	for _, name := range []string{"materials.xml", "routing.xml", "schedule.xml"} {
		importFile(t, p, name)
	}
	anna := mes.By(mes.Actor{ID: "anna", Name: "Anna", Kind: mes.Person})
	_, err := p.DefinePerson(ctx, "PLANT-1", labor.Person{ID: "anna", Name: "Anna"}, admin)
	require.NoError(t, err)
	wo, err := p.WorkOrderByNumber(ctx, "PLANT-1", "4711")
	require.NoError(t, err)
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("10 ea"), admin)
	require.NoError(t, err)

	_, err = p.ClockIn(ctx, "", anna)
	require.NoError(t, err)
	f.clock.Advance(5 * time.Minute)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, anna, mes.On("CNC-1"))
	require.NoError(t, err)
	f.clock.Advance(15 * time.Minute)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("9 ea"),
		Scrap: []routing.ScrapLine{{Qty: units.MustParse("1 ea"), Reason: "CHATTER"}}}, anna, mes.On("CNC-1"))
	require.NoError(t, err)
	f.clock.Advance(5 * time.Minute)
	_, err = p.TrackIn(ctx, lot.ID, "20", units.Quantity{}, anna)
	require.NoError(t, err)
	f.clock.Advance(10 * time.Minute)
	_, err = p.ConsumeMaterial(ctx, "SK-1", lot.ID, "20", units.MustParse("1 ea"), anna)
	require.NoError(t, err)
	f.clock.Advance(10 * time.Minute)
	_, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("9 ea")}, anna)
	require.NoError(t, err)
	return f
}

func TestRoundTripExportsProductionPerformance(t *testing.T) {
	f := runSmallPlant(t)
	p := f.plant
	checkpoint, err := p.Checkpoint(ctx, "erp")
	require.NoError(t, err)

	perf, err := erp.Export(ctx, p, checkpoint, erp.ExportOptions{Site: "PLANT-1"})
	require.NoError(t, err)
	head, err := p.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, head[len(head)-1].Position, perf.To, "the export covers the whole log")
	require.Len(t, perf.Responses, 1)
	r := perf.Responses[0]
	assert.Equal(t, "4711", r.Request)

	byType := map[string][]erp.Segment{}
	for _, s := range r.Segments {
		byType[s.Type] = append(byType[s.Type], s)
	}
	require.Len(t, byType[erp.Completion], 1)
	assert.Equal(t, "9 ea", byType[erp.Completion][0].Materials[0].Qty.String())
	require.Len(t, byType[erp.Scrap], 1)
	assert.Equal(t, "CHATTER", byType[erp.Scrap][0].Materials[0].Reason)
	consumed := map[string]units.Quantity{}
	for _, s := range byType[erp.Consumption] {
		m := s.Materials[0]
		sum, ok := consumed[m.Lot]
		if !ok {
			sum = units.MustParse("0 ea")
		}
		sum, err = sum.Add(m.Qty)
		require.NoError(t, err)
		consumed[m.Lot] = sum
	}
	require.Len(t, consumed, 1)
	assert.Equal(t, "10 ea", consumed["SK-1"].String(), "9 back-flushed and 1 consumed by hand")
	require.Len(t, byType[erp.OperationConfirmation], 2)
	require.Len(t, byType[erp.MachineTime], 2)
	for i, want := range []string{"CNC-1 900 s", "ASSY 1200 s"} {
		e := byType[erp.MachineTime][i].Equipment[0]
		assert.Equal(t, want, e.Equipment+" "+e.Time.String())
	}
	require.Len(t, byType[erp.LaborTime], 2, "track-out stops Anna's run labor at both operations")
	assert.Equal(t, "900 s", byType[erp.LaborTime][0].Personnel[0].Time.String())
	assert.Equal(t, "1200 s", byType[erp.LaborTime][1].Personnel[0].Time.String())

	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(perf))
	golden(t, "performance.json.golden", js.Bytes())
	var xml bytes.Buffer
	require.NoError(t, perf.WriteB2MML(&xml))
	golden(t, "performance.xml.golden", xml.Bytes())

	// Once the ERP has the document the caller checkpoints; the next export is empty.
	require.NoError(t, p.SaveCheckpoint(ctx, "erp", perf.To))
	next, err := erp.Export(ctx, p, perf.To, erp.ExportOptions{Site: "PLANT-1"})
	require.NoError(t, err)
	assert.Empty(t, next.Responses)
	assert.Equal(t, perf.To, next.To)
}

// TestExportIsAtLeastOnceWithStableIDs: exports in small pages after a crash (no
// checkpoint saved) repeat confirmations with the same ids, so the ERP can drop them.
func TestExportIsAtLeastOnceWithStableIDs(t *testing.T) {
	f := runSmallPlant(t)
	all, err := erp.Export(ctx, f.plant, 0, erp.ExportOptions{})
	require.NoError(t, err)
	want := segmentIDs(all)

	seen := map[string]int{}
	after := uint64(0)
	for crashed := false; ; {
		perf, err := erp.Export(ctx, f.plant, after, erp.ExportOptions{Limit: 7})
		require.NoError(t, err)
		for _, id := range segmentIDs(perf) {
			seen[id]++
		}
		if perf.To == after {
			break
		}
		if !crashed && perf.To > 20 {
			crashed = true // sent but not checkpointed: the next run sends it again
			continue
		}
		after = perf.To
	}
	got := []string{}
	dups := 0
	for id, n := range seen {
		got = append(got, id)
		dups += n - 1
	}
	assert.ElementsMatch(t, want, got, "every confirmation arrives, with the same id")
	assert.Positive(t, dups, "the crash made some arrive twice")
}

func segmentIDs(p erp.Performance) []string {
	var ids []string
	for _, r := range p.Responses {
		for _, s := range r.Segments {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// Two lots of two orders run on CNC-1 at once: the engine splits the machine's time, and
// the ERP export sends each run its share (it sent each run's full length, more hours than
// the machine ran).
func TestExportSplitsMachineTimeAsTheEngineDoes(t *testing.T) {
	f := newPlant(t)
	p := f.plant
	for _, name := range []string{"materials.xml", "routing.xml"} {
		importFile(t, p, name)
	}
	var lots []mes.Lot
	for _, n := range []string{"A", "B"} {
		wo, err := p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "PLANT-1", Number: n, Product: "PUMP-100", Qty: units.MustParse("1 ea"), Due: f.clock.Now().Add(48 * time.Hour)}, admin)
		require.NoError(t, err)
		_, err = p.ReleaseWorkOrder(ctx, wo.ID, admin)
		require.NoError(t, err)
		lot, err := p.StartLot(ctx, wo.ID, units.MustParse("1 ea"), admin)
		require.NoError(t, err)
		lots = append(lots, lot)
	}
	for _, l := range lots {
		_, err := p.TrackIn(ctx, l.ID, "10", units.Quantity{}, admin, mes.On("CNC-1"))
		require.NoError(t, err)
	}
	f.clock.Advance(time.Hour)
	for _, l := range lots {
		_, err := p.TrackOut(ctx, l.ID, "10", routing.Outcome{Good: units.MustParse("1 ea")}, admin, mes.On("CNC-1"))
		require.NoError(t, err)
	}
	perf, err := erp.Export(ctx, p, 0, erp.ExportOptions{})
	require.NoError(t, err)
	var sent time.Duration
	for _, r := range perf.Responses {
		for _, s := range r.Segments {
			for _, e := range s.Equipment {
				sent += time.Duration(e.Time.Value().Shift(9).IntPart())
			}
		}
	}
	var engine time.Duration
	for _, l := range lots {
		rep, err := p.WorkOrderLabor(ctx, l.WorkOrder, labor.Costing{MachineRate: map[string]decimal.Decimal{"CNC-1": decimal.NewFromInt(1)}})
		require.NoError(t, err)
		engine += rep.Total.Machine
	}
	assert.Equal(t, time.Hour, engine, "the engine: CNC-1 ran 1 h, split between the two orders")
	assert.Equal(t, engine, sent, "the machine time sent to the ERP adds up to what the engine recorded")
}

// Labor on an operation that ended at a clock-out, then a late-entry start (a correction)
// and a normal stop of a second run: the export pairs the stop with the late start (it
// paired it with the first run's start and sent that hour again).
func TestExportPairsAStopWithALateEnteredStart(t *testing.T) {
	f := newPlant(t)
	p := f.plant
	for _, name := range []string{"materials.xml", "routing.xml", "schedule.xml"} {
		importFile(t, p, name)
	}
	anna := mes.By(mes.Actor{ID: "anna", Name: "Anna", Kind: mes.Person})
	_, err := p.DefinePerson(ctx, "PLANT-1", labor.Person{ID: "anna", Name: "Anna"}, admin)
	require.NoError(t, err)
	wo, err := p.WorkOrderByNumber(ctx, "PLANT-1", "4711")
	require.NoError(t, err)
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("10 ea"), admin)
	require.NoError(t, err)
	op := labor.Operation{WorkOrder: wo.ID, Lot: lot.ID, Step: "10"}

	_, err = p.ClockIn(ctx, "", anna)
	require.NoError(t, err)
	_, err = p.StartLabor(ctx, "", mes.Work{Lot: lot.ID, Step: "10", Activity: labor.Run}, anna)
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	_, err = p.ClockOut(ctx, "", anna) // stops the run: 1 h
	require.NoError(t, err)
	first, err := erp.Export(ctx, p, 0, erp.ExportOptions{})
	require.NoError(t, err)

	f.clock.Advance(time.Hour)
	_, err = p.ClockIn(ctx, "", anna)
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	_, err = p.CorrectLabor(ctx, "", []mes.LaborCorrection{{Record: labor.Record{Kind: labor.StartLabor, At: f.clock.Now().Add(-30 * time.Minute), Op: op, Activity: labor.Run}}}, anna, mes.Reason("forgot to start"))
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	_, err = p.StopLabor(ctx, "", mes.Work{Lot: lot.ID, Step: "10"}, anna) // second run: 1.5 h
	require.NoError(t, err)
	second, err := erp.Export(ctx, p, first.To, erp.ExportOptions{})
	require.NoError(t, err)

	var sent time.Duration
	for _, perf := range []erp.Performance{first, second} {
		for _, r := range perf.Responses {
			for _, s := range r.Segments {
				for _, pa := range s.Personnel {
					sent += time.Duration(pa.Time.Value().Shift(9).IntPart())
				}
			}
		}
	}
	ts, err := p.Timesheet(ctx, "anna", f.clock.Now().Add(-10*time.Hour), f.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 150*time.Minute, ts.Labor, "the engine: 1 h + 1.5 h")
	assert.Equal(t, ts.Labor, sent, "labor sent to the ERP adds up to what the engine recorded")

	all, err := erp.Export(ctx, p, 0, erp.ExportOptions{})
	require.NoError(t, err)
	sent = 0
	for _, r := range all.Responses {
		for _, s := range r.Segments {
			for _, pa := range s.Personnel {
				sent += time.Duration(pa.Time.Value().Shift(9).IntPart())
			}
		}
	}
	assert.Equal(t, ts.Labor, sent, "the same in one batch")
}

// splitOrder imports order 4711 (10 pumps) and splits 4 of them, with a lot of 4 started,
// off into order 4711-2.
func splitOrder(t *testing.T) (f fixture, wo, split mes.WorkOrder, lot mes.Lot) {
	t.Helper()
	f = newPlant(t)
	p := f.plant
	for _, name := range []string{"materials.xml", "routing.xml", "schedule.xml"} {
		importFile(t, p, name)
	}
	wo, err := p.WorkOrderByNumber(ctx, "PLANT-1", "4711")
	require.NoError(t, err)
	lot, err = p.StartLot(ctx, wo.ID, units.MustParse("4 ea"), admin)
	require.NoError(t, err)
	split, err = p.SplitWorkOrder(ctx, wo.ID, "4711-2", units.MustParse("4 ea"), []string{lot.ID}, admin)
	require.NoError(t, err)
	return f, wo, split, lot
}

// TestExportOfASplitOffOrderNamesTheERPRequest: the confirmations of an order split off an
// imported one went out without a production request (the new order has no ERP id), so
// the ERP could book them against nothing.
func TestExportOfASplitOffOrderNamesTheERPRequest(t *testing.T) {
	f, _, split, lot := splitOrder(t)
	p := f.plant
	_, err := p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, admin)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("4 ea")}, admin)
	require.NoError(t, err)

	perf, err := erp.Export(ctx, p, 0, erp.ExportOptions{Site: "PLANT-1"})
	require.NoError(t, err)
	require.Len(t, perf.Responses, 1)
	r := perf.Responses[0]
	assert.Equal(t, split.ID, r.WorkOrder)
	assert.Equal(t, "4711-2", r.Number)
	assert.Equal(t, "4711", r.Request, "the ERP's order the quantity was split from")
}

// laborSent adds up the labor time of the documents.
func laborSent(perfs ...erp.Performance) time.Duration {
	var sent time.Duration
	for _, perf := range perfs {
		for _, r := range perf.Responses {
			for _, s := range r.Segments {
				for _, pa := range s.Personnel {
					sent += time.Duration(pa.Time.Value().Shift(9).IntPart())
				}
			}
		}
	}
	return sent
}

// annasOrder imports order 4711 with a lot started, and Anna on the roster; op is the lot's
// step 10.
func annasOrder(t *testing.T) (f fixture, anna mes.CommandOption, lot mes.Lot, op labor.Operation) {
	t.Helper()
	f = newPlant(t)
	p := f.plant
	for _, name := range []string{"materials.xml", "routing.xml", "schedule.xml"} {
		importFile(t, p, name)
	}
	anna = mes.By(mes.Actor{ID: "anna", Name: "Anna", Kind: mes.Person})
	_, err := p.DefinePerson(ctx, "PLANT-1", labor.Person{ID: "anna", Name: "Anna"}, admin)
	require.NoError(t, err)
	wo, err := p.WorkOrderByNumber(ctx, "PLANT-1", "4711")
	require.NoError(t, err)
	lot, err = p.StartLot(ctx, wo.ID, units.MustParse("10 ea"), admin)
	require.NoError(t, err)
	return f, anna, lot, labor.Operation{WorkOrder: wo.ID, Lot: lot.ID, Step: "10"}
}

// A start corrected to an earlier instant before the run stops: the export sends the run
// from the corrected start, as the engine counts it (it sent it from the start booked first:
// 2 h of 2.5 h).
func TestExportSendsARunFromItsCorrectedStart(t *testing.T) {
	f, anna, lot, op := annasOrder(t)
	p := f.plant
	_, err := p.ClockIn(ctx, "", anna)
	require.NoError(t, err)
	f.clock.Advance(30 * time.Minute)
	b, err := p.StartLabor(ctx, "", mes.Work{Lot: lot.ID, Step: "10", Activity: labor.Run}, anna)
	require.NoError(t, err)
	first, err := erp.Export(ctx, p, 0, erp.ExportOptions{})
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	_, err = p.CorrectLabor(ctx, "", []mes.LaborCorrection{{Of: b.Records[0].ID, Record: labor.Record{
		Kind: labor.StartLabor, At: f.clock.Now().Add(-90 * time.Minute), Op: op, Activity: labor.Run}}}, anna, mes.Reason("started at clock-in"))
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	_, err = p.StopLabor(ctx, "", mes.Work{Lot: lot.ID, Step: "10"}, anna)
	require.NoError(t, err)
	second, err := erp.Export(ctx, p, first.To, erp.ExportOptions{})
	require.NoError(t, err)

	ts, err := p.Timesheet(ctx, "anna", f.clock.Now().Add(-10*time.Hour), f.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 150*time.Minute, ts.Labor, "the engine: from the corrected start")
	assert.Equal(t, ts.Labor, laborSent(first, second), "in two batches")
	all, err := erp.Export(ctx, p, 0, erp.ExportOptions{})
	require.NoError(t, err)
	assert.Equal(t, ts.Labor, laborSent(all), "in one batch")
}

// A stop entered late (a correction that supersedes nothing) ends the run: the export sends
// the run (it sent nothing for it).
func TestExportSendsARunStoppedByALateEntry(t *testing.T) {
	f, anna, lot, op := annasOrder(t)
	p := f.plant
	_, err := p.ClockIn(ctx, "", anna)
	require.NoError(t, err)
	_, err = p.StartLabor(ctx, "", mes.Work{Lot: lot.ID, Step: "10", Activity: labor.Run}, anna)
	require.NoError(t, err)
	first, err := erp.Export(ctx, p, 0, erp.ExportOptions{})
	require.NoError(t, err)
	f.clock.Advance(2 * time.Hour)
	end := f.clock.Now()
	f.clock.Advance(time.Hour)
	_, err = p.CorrectLabor(ctx, "", []mes.LaborCorrection{{Record: labor.Record{Kind: labor.StopLabor, At: end, Op: op}}}, anna, mes.Reason("forgot to stop"))
	require.NoError(t, err)
	_, err = p.ClockOut(ctx, "", anna)
	require.NoError(t, err)
	second, err := erp.Export(ctx, p, first.To, erp.ExportOptions{})
	require.NoError(t, err)

	ts, err := p.Timesheet(ctx, "anna", end.Add(-10*time.Hour), f.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 2*time.Hour, ts.Labor, "the engine: until the stop entered late")
	assert.Equal(t, ts.Labor, laborSent(first, second), "in two batches")
	all, err := erp.Export(ctx, p, 0, erp.ExportOptions{})
	require.NoError(t, err)
	assert.Equal(t, ts.Labor, laborSent(all), "in one batch")
}

// TestExportDoesNotSendARunAgainForALateStop: a run the clock-out ended went to the ERP;
// a stop entered late inside it (a correction of a booking already sent) sends nothing
// again (it sent the run a second time, up to the late stop).
func TestExportDoesNotSendARunAgainForALateStop(t *testing.T) {
	f, anna, lot, op := annasOrder(t)
	p := f.plant
	_, err := p.ClockIn(ctx, "", anna)
	require.NoError(t, err)
	start := f.clock.Now()
	_, err = p.StartLabor(ctx, "", mes.Work{Lot: lot.ID, Step: "10", Activity: labor.Run}, anna)
	require.NoError(t, err)
	f.clock.Advance(8 * time.Hour)
	_, err = p.ClockOut(ctx, "", anna)
	require.NoError(t, err)
	first, err := erp.Export(ctx, p, 0, erp.ExportOptions{})
	require.NoError(t, err)
	require.Equal(t, 8*time.Hour, laborSent(first), "the clock-out ended the run")

	f.clock.Advance(time.Hour)
	_, err = p.CorrectLabor(ctx, "anna", []mes.LaborCorrection{{Record: labor.Record{Kind: labor.StopLabor, At: start.Add(4 * time.Hour), Op: op}}}, admin, mes.Reason("stopped at noon"))
	require.NoError(t, err)
	second, err := erp.Export(ctx, p, first.To, erp.ExportOptions{})
	require.NoError(t, err)
	assert.Zero(t, laborSent(second), "the run went to the ERP already; corrections of what was sent are not sent again")
}

// assertLaborSentOnce checks that the labor of the batch first and the export after it adds
// up to want, as does one export of everything, and that an export after the checkpoint,
// of a later attendance without labor, sends none of it again.
func assertLaborSentOnce(t *testing.T, f fixture, anna mes.CommandOption, first erp.Performance, want time.Duration) {
	t.Helper()
	p := f.plant
	second, err := erp.Export(ctx, p, first.To, erp.ExportOptions{})
	require.NoError(t, err)
	assert.Equal(t, want, laborSent(first, second), "in two batches")
	all, err := erp.Export(ctx, p, 0, erp.ExportOptions{})
	require.NoError(t, err)
	assert.Equal(t, want, laborSent(all), "in one batch")

	f.clock.Advance(time.Hour)
	_, err = p.ClockIn(ctx, "", anna)
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	_, err = p.ClockOut(ctx, "", anna)
	require.NoError(t, err)
	again, err := erp.Export(ctx, p, second.To, erp.ExportOptions{})
	require.NoError(t, err)
	assert.Zero(t, laborSent(again), "after the checkpoint nothing is sent again")
}

// Anna runs two operations at once with a break, and forgets to clock out; the next day a
// supervisor enters the clock-out late (a correction): the export sends each run its share
// of the attendance, breaks excluded (it sent nothing: the clock-out stopped the runs only
// in the rebuilt history, and no LaborTimerStopped reported them).
func TestExportSendsRunsStoppedByALateClockOut(t *testing.T) {
	f, anna, lot, op := annasOrder(t)
	p := f.plant
	_, err := p.ClockIn(ctx, "", anna)
	require.NoError(t, err)
	for _, step := range []string{"10", "20"} {
		_, err = p.StartLabor(ctx, "", mes.Work{Lot: lot.ID, Step: step, Activity: labor.Run}, anna)
		require.NoError(t, err)
	}
	f.clock.Advance(2 * time.Hour)
	_, err = p.StartBreak(ctx, "", anna)
	require.NoError(t, err)
	first, err := erp.Export(ctx, p, 0, erp.ExportOptions{})
	require.NoError(t, err)
	f.clock.Advance(30 * time.Minute)
	_, err = p.EndBreak(ctx, "", anna)
	require.NoError(t, err)
	f.clock.Advance(5*time.Hour + 30*time.Minute)
	end := f.clock.Now()
	f.clock.Advance(17 * time.Hour)
	b, err := p.CorrectLabor(ctx, "anna", []mes.LaborCorrection{{Record: labor.Record{Kind: labor.ClockOut, At: end}}}, admin, mes.Reason("forgot to clock out"))
	require.NoError(t, err)
	require.Len(t, b.Stopped, 2, "the late clock-out stopped both runs")
	for _, s := range b.Stopped {
		assert.Equal(t, end, s.Stopped, "at the clock-out, not when it was entered")
	}

	ts, err := p.Timesheet(ctx, "anna", end.Add(-10*time.Hour), end)
	require.NoError(t, err)
	assert.Equal(t, 7*time.Hour+30*time.Minute, ts.Labor, "the engine: 8 h present, the break excluded")
	second, err := erp.Export(ctx, p, first.To, erp.ExportOptions{})
	require.NoError(t, err)
	var segs []erp.Segment
	for _, r := range second.Responses {
		segs = append(segs, r.Segments...)
	}
	require.Len(t, segs, 2, "one confirmation per run")
	for _, s := range segs {
		assert.Equal(t, op.Lot, s.Lot)
		assert.Equal(t, end, s.End)
		assert.Equal(t, ts.Labor/2, laborSent(erp.Performance{Responses: []erp.Response{{Segments: []erp.Segment{s}}}}), "step %s: half of each instant", s.Operation)
	}
	assertLaborSentOnce(t, f, anna, first, ts.Labor)
}

// Anna forgets to log off the work center her labor is booked at; a supervisor enters the
// log-off late while she is still clocked in, and she clocks out later: the export sends
// the run until the log-off (it sent nothing).
func TestExportSendsARunStoppedByALateLogOff(t *testing.T) {
	f, anna, lot, _ := annasOrder(t)
	p := f.plant
	_, err := p.ClockIn(ctx, "", anna)
	require.NoError(t, err)
	_, err = p.LogOn(ctx, "", "CNC", anna)
	require.NoError(t, err)
	_, err = p.StartLabor(ctx, "", mes.Work{Lot: lot.ID, Step: "10", Activity: labor.Run, WorkCenter: "CNC"}, anna)
	require.NoError(t, err)
	first, err := erp.Export(ctx, p, 0, erp.ExportOptions{})
	require.NoError(t, err)
	f.clock.Advance(3 * time.Hour)
	end := f.clock.Now()
	f.clock.Advance(time.Hour)
	b, err := p.CorrectLabor(ctx, "anna", []mes.LaborCorrection{{Record: labor.Record{Kind: labor.LogOff, At: end, WorkCenter: "CNC"}}}, admin, mes.Reason("forgot to log off"))
	require.NoError(t, err)
	require.Len(t, b.Stopped, 1, "the late log-off stopped the run")
	f.clock.Advance(time.Hour)
	b, err = p.ClockOut(ctx, "", anna)
	require.NoError(t, err)
	assert.Empty(t, b.Stopped, "nothing runs any more")

	ts, err := p.Timesheet(ctx, "anna", end.Add(-10*time.Hour), f.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 3*time.Hour, ts.Labor, "the engine: until the late log-off")
	assertLaborSentOnce(t, f, anna, first, ts.Labor)
}

// Anna forgot to start labor and clocked out; a supervisor enters the start late, inside the
// ended attendance: the clock-out ends the run, and the export sends it (it sent nothing).
func TestExportSendsALateStartEndedByAClockOut(t *testing.T) {
	f, anna, _, op := annasOrder(t)
	p := f.plant
	_, err := p.ClockIn(ctx, "", anna)
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	start := f.clock.Now()
	f.clock.Advance(4 * time.Hour)
	_, err = p.ClockOut(ctx, "", anna)
	require.NoError(t, err)
	first, err := erp.Export(ctx, p, 0, erp.ExportOptions{})
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	b, err := p.CorrectLabor(ctx, "anna", []mes.LaborCorrection{{Record: labor.Record{Kind: labor.StartLabor, At: start, Op: op, Activity: labor.Run}}}, admin, mes.Reason("forgot to start"))
	require.NoError(t, err)
	require.Len(t, b.Stopped, 1, "the clock-out stopped the run entered late")

	ts, err := p.Timesheet(ctx, "anna", start.Add(-10*time.Hour), f.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 4*time.Hour, ts.Labor, "the engine: from the late start to the clock-out")
	assertLaborSentOnce(t, f, anna, first, ts.Labor)
}
