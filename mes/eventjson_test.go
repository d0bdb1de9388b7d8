package mes

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

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

// requireSameJSON encodes the events one after another in one arena, as a command does,
// and checks each against encoding/json, when written and once all are.
func requireSameJSON(t *testing.T, events [][2]any) {
	t.Helper()
	var arena []byte
	var gots, wants [][]byte
	for _, e := range events {
		got, next, gotErr := encodeEvent(e[0].(EventPayload), arena)
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
		}
	}
	requireSameJSON(t, hotEvents("L", "W", -7, 3, time.Time{}))
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // a year time.Time.MarshalJSON refuses
	requireSameJSON(t, hotEvents("L", "W", 1, 0, far))
	_, _, err := encodeEvent(MachineRunStarted{ID: "r", Run: labor.MachineRun{From: far}}, nil)
	require.Error(t, err, "as encoding/json, the engine refuses a time it cannot write")
	zoned := time.Date(2026, 12, 2, 8, 0, 0, 0, time.FixedZone("odd", 3600+30)) // an offset with seconds
	_, _, err = encodeEvent(MachineRunStarted{ID: "r", Run: labor.MachineRun{From: zoned}}, nil)
	_, want := json.Marshal(plainRunStarted{ID: "r", Run: labor.MachineRun{From: zoned}})
	require.Equal(t, want != nil, err != nil)
}

func FuzzHotEventJSON(f *testing.F) {
	f.Add("S1-WO-1", "CNC", int64(10), int32(0), int64(1_764_000_000_000_000_000))
	f.Add(`"<&>`, "é\u2028", int64(-1), int32(-5), int64(0))
	f.Fuzz(func(t *testing.T, s1, s2 string, n int64, exp int32, at int64) {
		requireSameJSON(t, hotEvents(s1, s2, n, exp, time.Unix(0, at).UTC()))
	})
}
