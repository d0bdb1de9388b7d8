package mes

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/execution"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

// The hot events' own JSON must be what encoding/json writes for them: the types without
// their methods (plain*) are encoded by reflection and compared byte for byte.
type (
	plainTrackedIn  LotTrackedIn
	plainTrackedOut LotTrackedOut
	plainRunStarted MachineRunStarted
	plainRunStopped MachineRunStopped
	plainOpened     TaskOpened
	plainUpdated    TaskUpdated
	plainResolved   TaskResolved
	plainProjected  CompletionProjected
	plainAtRisk     DueDateAtRisk
)

// hotEvents builds each hot event from the fuzzer's values and returns it with its plain twin.
func hotEvents(s1, s2 string, n int64, exp int32, when time.Time) [][2]any {
	q, err := units.New(decimal.New(n, exp%20), "ea")
	if err != nil {
		panic(err)
	}
	run := labor.MachineRun{Equipment: s1, WorkCenter: s2, Op: labor.Operation{WorkOrder: s2, Lot: s1, Step: s2}, From: when}
	closed := run
	closed.To = when.Add(time.Duration(n))
	in := LotTrackedIn{Lot: s1, WorkOrder: s2, Step: s1, Equipment: s2, Qty: q}
	out := LotTrackedOut{Lot: s1, WorkOrder: s2, Step: s2, Equipment: s1, Good: q}
	scrapped := out
	scrapped.Scrap = []routing.ScrapLine{{Qty: q, Reason: s1}, {Qty: q, Reason: s2}}
	scrapped.Rework = routing.ReworkLine{Qty: q, To: s2, Reason: s1}
	reworked := out
	reworked.Rework = routing.ReworkLine{Qty: q, To: s1}
	return [][2]any{
		{in, plainTrackedIn(in)},
		{LotTrackedIn{}, plainTrackedIn{}},
		{out, plainTrackedOut(out)},
		{scrapped, plainTrackedOut(scrapped)},
		{reworked, plainTrackedOut(reworked)},
		{MachineRunStarted{ID: s2, Run: run}, plainRunStarted{ID: s2, Run: run}},
		{MachineRunStopped{ID: s1, Run: closed}, plainRunStopped{ID: s1, Run: closed}},
	}
}

// taskEvents builds the exception rules' events from the fuzzer's values, each with its
// plain twin: a bare task, and one with every optional field set.
func taskEvents(s1, s2 string, n int64, when time.Time) [][2]any {
	bare := execution.Task{ID: s1, Site: s2, Rule: s1, Cause: s2, Severity: execution.Severity(s1), State: execution.Open,
		Owner: execution.Owner{Role: s2}, LevelSince: when, OpenedAt: when, Occurrences: int(n % 1000), LastFiredAt: when}
	full := bare
	full.Title, full.Note, full.ClosedBy, full.Level = s2, s1, s2, int(n%7)
	full.Owner.Person = s1
	full.Inputs = []string{s1, s2}
	full.Resolution = map[string]string{s2: s1, s1 + "x": s2, "": ""}
	full.Links = execution.Links{Lots: []string{s1}, WorkOrders: []string{s2, s1}, Equipment: []string{s2}}
	full.Escalation = []execution.EscalationStep{{Role: s1, After: time.Duration(n)}, {Role: s2}}
	full.DueAt, full.AcknowledgedAt, full.StartedAt, full.ClosedAt = when.Add(time.Hour), when.Add(time.Minute), when.Add(time.Second), when.Add(2*time.Hour)
	links := bare
	links.Links = execution.Links{Equipment: []string{s1}}
	var out [][2]any
	for _, t := range []execution.Task{bare, full, links} {
		out = append(out,
			[2]any{TaskOpened{Task: t}, plainOpened{Task: t}},
			[2]any{TaskUpdated{Task: t, Change: s1}, plainUpdated{Task: t, Change: s1}},
			[2]any{TaskResolved{Task: t, Auto: n%2 == 0}, plainResolved{Task: t, Auto: n%2 == 0}})
	}
	projected := CompletionProjected{WorkOrder: s1, Number: s2, Projected: when, Due: when.Add(time.Duration(n))}
	atRisk := DueDateAtRisk{WorkOrder: s2, Number: s1, Projected: when, Due: when.Add(-time.Hour), Late: time.Duration(n)}
	return append(out, [2]any{projected, plainProjected(projected)}, [2]any{atRisk, plainAtRisk(atRisk)})
}

// requireSameJSON encodes the events one after another in one arena, as a command does,
// and checks each against encoding/json, when written and once all are.
func requireSameJSON(t *testing.T, events [][2]any) {
	t.Helper()
	var arena []byte
	var gots, wants [][]byte
	for _, e := range events {
		got, next, gotErr := encodeHot(e[0].(hotEvent), arena)
		arena = next
		want, wantErr := json.Marshal(e[1])
		require.Equal(t, wantErr != nil, gotErr != nil, "%T: errors %v and %v", e[0], gotErr, wantErr)
		require.Equal(t, string(want), string(got), "%T", e[0])
		gots, wants = append(gots, got), append(wants, want)
	}
	for i := range gots {
		require.Equal(t, string(wants[i]), string(gots[i]), "event %d, after the events written after it", i)
	}
}

func TestHotEventsEncodeAsEncodingJSON(t *testing.T) {
	strs := []string{"", "S1-WO-1", "CNC", `a "quoted" \ path`, "<b>&amp;", "naïve Öl", "tab\tnew\nline\x01", "\u2028\u2029", string([]byte{0xff, 'x'})}
	for _, s1 := range strs {
		for _, s2 := range strs {
			requireSameJSON(t, hotEvents(s1, s2, 1050, -2, time.Unix(0, 1_764_000_000_123_456_789).UTC()))
			requireSameJSON(t, taskEvents(s1, s2, 1050, time.Unix(0, 1_764_000_000_123_456_789).UTC()))
		}
	}
	requireSameJSON(t, hotEvents("L", "W", -7, 3, time.Time{}))
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // a year time.Time.MarshalJSON refuses
	requireSameJSON(t, hotEvents("L", "W", 1, 0, far))
	requireSameJSON(t, taskEvents("L", "W", -3, time.Time{}))
	requireSameJSON(t, taskEvents("L", "W", 1, far))
	requireSameJSON(t, taskEvents("L", "W", 1, time.Date(2026, 12, 3, 8, 0, 0, 0, time.FixedZone("odd", 3600+30))))
	_, _, err := encodeHot(MachineRunStarted{ID: "r", Run: labor.MachineRun{From: far}}, nil)
	require.Error(t, err, "as encoding/json, the engine refuses a time it cannot write")
	zoned := time.Date(2026, 12, 2, 8, 0, 0, 0, time.FixedZone("odd", 3600+30)) // an offset with seconds
	_, _, err = encodeHot(MachineRunStarted{ID: "r", Run: labor.MachineRun{From: zoned}}, nil)
	_, want := json.Marshal(plainRunStarted{ID: "r", Run: labor.MachineRun{From: zoned}})
	require.Equal(t, want != nil, err != nil)
}

func FuzzHotEventJSON(f *testing.F) {
	f.Add("S1-WO-1", "CNC", int64(10), int32(0), int64(1_764_000_000_000_000_000))
	f.Add(`"<&>`, "é\u2028", int64(-1), int32(-5), int64(0))
	f.Fuzz(func(t *testing.T, s1, s2 string, n int64, exp int32, at int64) {
		requireSameJSON(t, hotEvents(s1, s2, n, exp, time.Unix(0, at).UTC()))
		requireSameJSON(t, taskEvents(s1, s2, n, time.Unix(0, at).UTC()))
	})
}
