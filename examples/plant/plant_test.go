package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
)

// Lots of the seeded plant the tests work with.
const (
	lotAtCNC   = "PLANT-1-4712-1" // 30 ea waiting at step 10 (CNC), order late
	lotAtQC    = "PLANT-1-4711-1" // 23 ea waiting at step 20 (inspection, QC)
	lotShipped = "PLANT-1-4701-1" // finished; 10 ea and 2 serialised pumps shipped in SHP-9001
)

// newTestDemo seeds a demo plant on the memory store with the clock stopped.
func newTestDemo(t *testing.T) *demo {
	t.Helper()
	d, err := openDemo(t.Context(), config{speed: 0}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(d.close)
	return d
}

// do sends a request to the handler and returns the response.
func do(t *testing.T, h http.Handler, method, target string, body io.Reader, contentType string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func form(t *testing.T, h http.Handler, target string, values url.Values) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, h, http.MethodPost, target, strings.NewReader(values.Encode()), "application/x-www-form-urlencoded")
}

// api posts v as JSON and decodes the answer into out (when not nil); it returns the status.
func api(t *testing.T, h http.Handler, method, target string, v, out any) int {
	t.Helper()
	var body io.Reader
	if v != nil {
		data, err := json.Marshal(v)
		require.NoError(t, err)
		body = strings.NewReader(string(data))
	}
	rec := do(t, h, method, target, body, "application/json")
	if out != nil {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), out), rec.Body.String())
	}
	return rec.Code
}

func TestSeededPlantPages(t *testing.T) {
	h := newTestDemo(t).app.routes()
	tests := []struct {
		target string
		want   []string
	}{
		{"/terminal?wc=CNC&op=olga", []string{"Operator terminal · CNC", lotAtCNC, "Clamp the casting", "program = O4711", "LATE_FIRST"}},
		{"/terminal?wc=CNC&op=ben", []string{"not-qualified", lotAtCNC}},
		{"/terminal?wc=QC&op=carla", []string{lotAtQC, "Inspect bore"}},
		{"/terminal?wc=PRESS&op=ben", []string{"PLANT-1-5120-1", "Press body"}},
		{"/terminal?wc=ASSY&op=ben", []string{"Nothing in process here"}},
		{"/board", []string{"Supervisor board", "material SEAL-KIT supplier lot A-81", "4712", "OEE per work center", "CNC-1", "/api/events/stream"}},
		{"/trace?q=" + lotShipped, []string{"Backward: what went in", "lot:CAST-0421", "supplier-lot:CASTING-H|Foundry Nord|FN-2291", "shipment:SHP-9001"}},
		{"/trace?q=FN-2291", []string{"Recall report: Foundry Nord lot FN-2291 of CASTING-H", lotShipped, "SHP-9001: 10 ea"}},
		{"/trace?q=" + serials[0], []string{"Serial " + serials[0], "lot:CAST-0421", "shipment:SHP-9001"}},
		{"/trace?q=4711", []string{"Lots of work order 4711", lotAtQC, "PLANT-1-4711-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := do(t, h, http.MethodGet, tt.target, nil, "")
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			for _, w := range tt.want {
				assert.Contains(t, rec.Body.String(), htmlText(w))
			}
		})
	}
}

// htmlText escapes s as html/template prints it in text.
func htmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}

func TestTerminalTracksInAndOut(t *testing.T) {
	d := newTestDemo(t)
	h := d.app.routes()
	rec := form(t, h, "/terminal/track-in", url.Values{"lot": {lotAtCNC}, "step": {"10"}, "wc": {"CNC"}, "op": {"olga"}, "unit": {"CNC-2"}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Header().Get("Location"), "msg=")

	page := do(t, h, http.MethodGet, "/terminal?wc=CNC&op=olga", nil, "").Body.String()
	assert.Contains(t, page, `id="op-`+lotAtCNC+`-10"`, "the lot is in process at the terminal")

	rec = form(t, h, "/terminal/track-out", url.Values{"lot": {lotAtCNC}, "step": {"10"}, "wc": {"CNC"}, "op": {"olga"}, "unit": {"CNC-2"},
		"good": {"28"}, "scrap": {"2"}, "scrap_reason": {"CHATTER"}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())

	lot, err := d.plant.Lot(t.Context(), lotAtCNC)
	require.NoError(t, err)
	p, err := lot.Execution.Progress("10")
	require.NoError(t, err)
	assert.Equal(t, "28 ea", p.Good.String())
	assert.Equal(t, "2 ea", p.ScrapByReason["CHATTER"].String())
	next, err := lot.Execution.Progress("20")
	require.NoError(t, err)
	assert.Equal(t, "28 ea", next.Waiting.String(), "the good quantity moves on to inspection")
}

func TestTerminalShowsEngineErrors(t *testing.T) {
	h := newTestDemo(t).app.routes()
	tests := []struct {
		name   string
		action string
		values url.Values
		status int
		want   []string
	}{
		{"missing qualification", "track-in", url.Values{"lot": {lotAtCNC}, "step": {"10"}, "wc": {"CNC"}, "op": {"ben"}},
			http.StatusForbidden, []string{"Missing qualification", "CNC-OP"}},
		{"expired qualification", "track-in", url.Values{"lot": {lotAtCNC}, "step": {"10"}, "wc": {"CNC"}, "op": {"carla"}},
			http.StatusForbidden, []string{"Missing qualification", "expired"}},
		{"wrong step", "track-in", url.Values{"lot": {lotAtCNC}, "step": {"30"}, "wc": {"CNC"}, "op": {"olga"}},
			http.StatusConflict, []string{"Not allowed now"}},
		{"bad quantity", "track-out", url.Values{"lot": {lotAtCNC}, "step": {"10"}, "wc": {"CNC"}, "op": {"olga"}, "good": {"many"}},
			http.StatusBadRequest, []string{"Invalid input", "good"}},
		{"hold without reason", "hold", url.Values{"lot": {lotAtCNC}, "wc": {"CNC"}, "op": {"olga"}},
			http.StatusBadRequest, []string{"Invalid input"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := form(t, h, "/terminal/"+tt.action, tt.values)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			body := rec.Body.String()
			assert.Contains(t, body, `id="error"`)
			for _, w := range tt.want {
				assert.Contains(t, body, w)
			}
			assert.Contains(t, body, "Dispatch list", "the terminal stays usable under the error")
		})
	}
}

// The inspection flow through the JSON API: the track-out needs the inspection, an
// out-of-spec bore holds the lot and opens a non-conformance, the board shows both, and after
// the hold is released the bad part goes to rework.
func TestAPIInspectionHoldAndRework(t *testing.T) {
	d := newTestDemo(t)
	h := d.app.routes()
	var p problem
	require.Equal(t, http.StatusOK, api(t, h, "POST", "/api/lots/"+lotAtQC+"/track-in", trackIn{Step: "20", Operator: "carla", Equipment: "CMM-1"}, nil))

	require.Equal(t, http.StatusConflict, api(t, h, "POST", "/api/lots/"+lotAtQC+"/track-out", trackOut{Step: "20", Good: "23", Operator: "carla"}, &p))
	assert.Equal(t, "inspection-missing", p.Code)
	assert.Contains(t, p.Detail, "bore")

	var insp mes.Inspection
	require.Equal(t, http.StatusOK, api(t, h, "POST", "/api/lots/"+lotAtQC+"/inspections", inspection{Step: "20", Operator: "carla",
		Results: []resultRecord{{Characteristic: "bore", Value: "10.081", Serial: "S1"}, {Characteristic: "depth", Value: "42.01", Serial: "S1"}}}, &insp))
	require.Len(t, insp.Holds, 1)
	require.Len(t, insp.NonConformances, 1)

	p = problem{}
	require.Equal(t, http.StatusConflict, api(t, h, "POST", "/api/lots/"+lotAtQC+"/track-out", trackOut{Step: "20", Good: "23", Operator: "carla"}, &p))
	assert.Equal(t, "on-hold", p.Code)

	var board boardView
	require.Equal(t, http.StatusOK, api(t, h, "GET", "/api/board", nil, &board))
	assert.True(t, hasHold(board.Holds, lotAtQC), "the board lists the hold")
	require.Len(t, board.NCs, 1)
	assert.Equal(t, lotAtQC, board.NCs[0].Lot)

	var released quality.Hold
	require.Equal(t, http.StatusOK, api(t, h, "POST", "/api/holds/"+insp.Holds[0].ID+"/release", releaseRequest{Reason: "bore re-measured; 1 piece to rework", Operator: "sam"}, &released))
	assert.Equal(t, "sam", released.ReleasedBy)

	var lot mes.Lot
	require.Equal(t, http.StatusOK, api(t, h, "POST", "/api/lots/"+lotAtQC+"/track-out", trackOut{Step: "20", Good: "22", Operator: "carla",
		Rework: &reworkLine{Qty: "1", To: "R10", Reason: "BORE-OVERSIZE"}}, &lot))
	var rework mes.Lot
	require.Equal(t, http.StatusOK, api(t, h, "GET", "/api/lots/"+lotAtQC+"-R1", nil, &rework))
	r10, err := rework.Execution.Progress("R10")
	require.NoError(t, err)
	assert.Equal(t, "1 ea", r10.Waiting.String(), "the rework lot waits at the rework step")

	var term terminalView
	require.Equal(t, http.StatusOK, api(t, h, "GET", "/api/terminal/CNC?operator=olga", nil, &term))
	assert.True(t, hasEntry(term.Ranked, lotAtQC+"-R1"), "the rework lot is on the CNC dispatch list")
}

func hasHold(holds []quality.Hold, lot string) bool {
	for _, h := range holds {
		if h.Target.Kind == quality.OnLot && h.Target.ID == lot {
			return true
		}
	}
	return false
}

func hasEntry(entries []dispatchEntry, lot string) bool {
	for _, e := range entries {
		if e.Lot == lot {
			return true
		}
	}
	return false
}

func TestAPIHoldShowsOnTerminal(t *testing.T) {
	h := newTestDemo(t).app.routes()
	var hold quality.Hold
	require.Equal(t, http.StatusOK, api(t, h, "POST", "/api/holds", holdRequest{Kind: quality.OnLot, ID: lotAtCNC, Reason: "suspect casting porosity", Operator: "sam"}, &hold))
	var term terminalView
	require.Equal(t, http.StatusOK, api(t, h, "GET", "/api/terminal/CNC?operator=olga", nil, &term))
	require.Len(t, term.Ineligible, 1)
	assert.Equal(t, "on-hold", term.Ineligible[0].Reasons[0].Code)
	assert.Contains(t, term.Ineligible[0].Reasons[0].Text, "suspect casting porosity")

	var p problem
	require.Equal(t, http.StatusConflict, api(t, h, "POST", "/api/lots/"+lotAtCNC+"/track-in", trackIn{Step: "10", Operator: "olga"}, &p))
	assert.Equal(t, "on-hold", p.Code)
}

func TestAPITraceAndErrors(t *testing.T) {
	h := newTestDemo(t).app.routes()
	var v traceView
	require.Equal(t, http.StatusOK, api(t, h, "GET", "/api/trace?q=A-77", nil, &v))
	require.NotNil(t, v.Recall)
	var shipped bool
	for _, it := range v.Recall.Items {
		shipped = shipped || (it.Node.ID == lotShipped && len(it.Shipped) == 1)
	}
	assert.True(t, shipped, "the seal kits of A-77 reached the shipped pumps")

	v = traceView{}
	require.Equal(t, http.StatusOK, api(t, h, "GET", "/api/trace?q="+lotAtQC, nil, &v))
	require.NotNil(t, v.Backward)
	assert.Equal(t, "lot:"+lotAtQC, v.Backward.Node)
	assert.NotEmpty(t, v.Backward.Children)

	tests := []struct {
		method, target, body string
		status               int
		code                 string
	}{
		{"GET", "/api/trace?q=NO-SUCH-LOT", "", http.StatusNotFound, "not-found"},
		{"GET", "/api/lots/NO-SUCH-LOT", "", http.StatusNotFound, "not-found"},
		{"GET", "/api/terminal/NOPE", "", http.StatusNotFound, "not-found"},
		{"POST", "/api/lots/" + lotAtCNC + "/track-in", `{"step": 10}`, http.StatusBadRequest, "bad-request"},
		{"POST", "/api/lots/" + lotAtCNC + "/track-in", `{"step": "10", "operator": "olga", "typo": 1}`, http.StatusBadRequest, "bad-request"},
		{"POST", "/api/lots/" + lotAtCNC + "/track-out", `{"step": "10", "good": "5 kg", "operator": "olga"}`, http.StatusConflict, "wrong-state"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			rec := do(t, h, tt.method, tt.target, strings.NewReader(tt.body), "application/json")
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			var p problem
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
			assert.Equal(t, tt.code, p.Code)
			assert.NotEmpty(t, p.Detail)
		})
	}
}

func TestAPISignals(t *testing.T) {
	d := newTestDemo(t)
	h := d.app.routes()
	now := d.clock.Now()
	sigs := []equipment.Signal{
		{Source: "gateway-7", Seq: 1, At: now, Equipment: "CNC-1", Kind: equipment.KindCount, Count: &equipment.Count{Good: 3, Reject: 1}},
		{Source: "gateway-7", Seq: 1, At: now, Equipment: "CNC-1", Kind: equipment.KindCount, Count: &equipment.Count{Good: 3, Reject: 1}},
	}
	var res []mes.IngestResult
	require.Equal(t, http.StatusOK, api(t, h, "POST", "/api/signals", sigs, &res))
	require.Len(t, res, 2)
	assert.Equal(t, equipment.Applied, res[0].Outcome)
	assert.Equal(t, equipment.Duplicate, res[1].Outcome)

	var p problem
	sigs[0].Equipment = "NO-SUCH-MACHINE"
	require.Equal(t, http.StatusBadRequest, api(t, h, "POST", "/api/signals", sigs[:1], &p))
	assert.Contains(t, p.Detail, "NO-SUCH-MACHINE")
}

// The event stream sends the events committed after the client connected.
func TestEventStream(t *testing.T) {
	d := newTestDemo(t)
	srv := httptest.NewServer(d.app.routes())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events/stream", nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))

	_, err = d.plant.PlaceHold(ctx, site, quality.Target{Kind: quality.OnLot, ID: lotAtCNC}, "test", mes.By(actor("sam")))
	require.NoError(t, err)
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			var ev mes.Event
			require.NoError(t, json.Unmarshal([]byte(data), &ev))
			assert.Equal(t, "hold.placed", ev.Type)
			return
		}
	}
	t.Fatalf("the stream ended without an event: %v", lines.Err())
}

// Machines send each signal once, in time order, with increasing sequence numbers, and count
// parts only while running.
func TestMachineSignals(t *testing.T) {
	m := machines()[0]
	m.rng = rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	var all []equipment.Signal
	for i := range 8 * 60 {
		all = append(all, m.advance(t0.Add(time.Duration(i)*time.Minute))...)
	}
	require.NotEmpty(t, all)
	state := equipment.MachineState("")
	var parts int64
	for i, sig := range all {
		require.NoError(t, sig.Validate())
		if i > 0 {
			assert.Equal(t, all[i-1].Seq+1, sig.Seq)
			assert.False(t, sig.At.Before(all[i-1].At), "signals are in time order")
		}
		switch sig.Kind {
		case equipment.KindState:
			state = sig.State.State
		case equipment.KindCount:
			assert.Equal(t, equipment.Running, state, "parts are counted at the end of a running stretch")
			parts += sig.Count.Good + sig.Count.Reject
		}
	}
	// 8 hours at 75 s ideal cycle time is at most 384 parts.
	assert.Positive(t, parts)
	assert.LessOrEqual(t, parts, int64(384))
}

// A store that holds the plant already is resumed, not seeded again.
func TestResumeSeededStore(t *testing.T) {
	d := newTestDemo(t)
	again, err := seeded(t.Context(), d.plant)
	require.NoError(t, err)
	assert.True(t, again)
	before := d.clock.Now()
	require.NoError(t, d.start(t.Context(), before.Add(-time.Hour), slog.New(slog.DiscardHandler)))
	assert.False(t, d.clock.Now().Before(before), "the clock never goes back behind the store's last event")
}

// The demo runs on PostgreSQL (set TAKT_POSTGRES_DSN): seeded once, resumed on the next start.
func TestPostgres(t *testing.T) {
	dsn := os.Getenv("TAKT_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set TAKT_POSTGRES_DSN=postgres://... to run the demo on PostgreSQL")
	}
	ctx := t.Context()
	cfg := config{pg: dsn, schema: fmt.Sprintf("takt_demo_test_%d", time.Now().UnixNano())}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		require.NoError(t, err)
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{cfg.schema}.Sanitize()+" CASCADE")
		assert.NoError(t, err)
	})
	log := slog.New(slog.DiscardHandler)
	d, err := openDemo(ctx, cfg, log)
	require.NoError(t, err)
	h := d.app.routes()
	require.Equal(t, http.StatusOK, api(t, h, "POST", "/api/lots/"+lotAtCNC+"/track-in", trackIn{Step: "10", Operator: "olga", Equipment: "CNC-1"}, nil))
	var v boardView
	require.Equal(t, http.StatusOK, api(t, h, "GET", "/api/board", nil, &v))
	assert.Len(t, v.Running, 3)
	d.close()

	d, err = openDemo(ctx, cfg, log)
	require.NoError(t, err)
	defer d.close()
	var lot mes.Lot
	require.Equal(t, http.StatusOK, api(t, d.app.routes(), "GET", "/api/lots/"+lotAtCNC, nil, &lot))
	p, err := lot.Execution.Progress("10")
	require.NoError(t, err)
	assert.Equal(t, "30 ea", p.InProcess.String(), "the resumed plant keeps the track-in")
}

// The simulator runs live alongside requests: the machines' parts show on the board as plant
// time passes.
func TestLiveSimulation(t *testing.T) {
	d := newTestDemo(t)
	h := d.app.routes()
	parts := func() int64 {
		var v boardView
		require.Equal(t, http.StatusOK, api(t, h, "GET", "/api/board", nil, &v))
		var n int64
		for _, m := range v.Machines {
			n += m.Good + m.Reject
		}
		return n
	}
	before := parts()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	d.clock.Run(3600) // an hour of plant time per second
	go d.sim.run(ctx, 5*time.Millisecond)
	for parts() <= before {
		require.NoError(t, ctx.Err(), "the machines counted no parts")
	}
}

// Any body sent to the JSON API's commands gets an answer in JSON, never a crash or an
// internal error: bad input is a 400 that says what is wrong, refused commands a 4xx.
func FuzzAPICommands(f *testing.F) {
	targets := []string{
		"/api/lots/" + lotAtCNC + "/track-in", "/api/lots/" + lotAtCNC + "/track-out", "/api/lots/" + lotAtQC + "/inspections",
		"/api/holds", "/api/holds/NO-SUCH-HOLD/release", "/api/signals",
	}
	f.Add(uint8(0), `{"step":"10","operator":"olga","qty":"5"}`)
	f.Add(uint8(1), `{"step":"10","good":"-3 ea","scrap":[{"qty":"x","reason":""}],"rework":{"qty":"1","to":"R10"},"operator":"olga"}`)
	f.Add(uint8(2), `{"step":"20","operator":"carla","results":[{"characteristic":"bore","value":"1e999999"}]}`)
	f.Add(uint8(3), `{"kind":"material","id":"SEAL-KIT","supplierLot":"A-77","reason":"r","operator":"sam"}`)
	f.Add(uint8(4), `{"reason":"","operator":""}`)
	f.Add(uint8(5), `[{"source":"s","seq":1,"at":"2026-01-01T00:00:00Z","equipment":"CNC-1","kind":"count","count":{"good":-1}}]`)
	d, err := openDemo(context.Background(), config{speed: 0}, slog.New(slog.DiscardHandler))
	require.NoError(f, err)
	f.Cleanup(d.close)
	h := d.app.routes()
	f.Fuzz(func(t *testing.T, target uint8, body string) {
		rec := do(t, h, http.MethodPost, targets[int(target)%len(targets)], strings.NewReader(body), "application/json")
		require.NotEqual(t, http.StatusInternalServerError, rec.Code, rec.Body.String())
		require.True(t, json.Valid(rec.Body.Bytes()), rec.Body.String())
	})
}

func TestTrackInOfZeroIsRefused(t *testing.T) {
	d := newTestDemo(t)
	h := d.app.routes()
	var lot mes.Lot
	code := api(t, h, "POST", "/api/lots/"+lotAtCNC+"/track-in", trackIn{Step: "10", Qty: "0", Operator: "olga", Equipment: "CNC-1"}, &lot)
	assert.Equal(t, http.StatusBadRequest, code, "the SDK reads zero as all of it: an operator typing 0 started the whole lot")
	rec := form(t, h, "/terminal/track-in", url.Values{"lot": {lotAtCNC}, "step": {"10"}, "op": {"olga"}, "wc": {"CNC"}, "unit": {"CNC-1"}, "qty": {"0"}})
	assert.NotEqual(t, http.StatusSeeOther, rec.Code, "nor from the terminal")
	got, err := d.app.plant.Lot(t.Context(), lotAtCNC)
	require.NoError(t, err)
	b, err := got.Execution.Books("10")
	require.NoError(t, err)
	assert.True(t, b.InProcess.IsZero())
}

func TestARetriedCommandWithItsKeyIsAppliedOnce(t *testing.T) {
	d := newTestDemo(t)
	h := d.app.routes()
	for range 2 {
		r := httptest.NewRequest("POST", "/api/holds", strings.NewReader(`{"kind":"lot","id":"`+lotAtCNC+`","reason":"suspect porosity","operator":"sam"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", "retry-1")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
	holds, err := d.app.plant.HoldsOn(t.Context(), site, quality.Target{Kind: quality.OnLot, ID: lotAtCNC})
	require.NoError(t, err)
	assert.Len(t, holds, 1)
}

func TestEventsQueryDefaultsAndRefusals(t *testing.T) {
	h := newTestDemo(t).app.routes()
	var evs []json.RawMessage
	rec := do(t, h, "GET", "/api/events", nil, "")
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &evs))
	assert.Greater(t, len(evs), 1, "no limit is the most, not one")
	rec = do(t, h, "GET", "/api/events?limit=abc&after=xyz", nil, "")
	assert.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	rec = do(t, h, "POST", "/api/holds", strings.NewReader(`{"kind":"lot","id":"`+lotAtCNC+`","reason":"x","operator":"sam"} {"operator":"ben"}`), "application/json")
	assert.Equal(t, http.StatusBadRequest, rec.Code, "a second JSON value after the request is refused, not ignored")
}

// The board's and the terminal's held marks follow what the engine refuses: a hold on the
// work center or on equipment above it (the site) holds the lots there, as the dispatch list
// and track-in/out say.
func TestHeldMarksFollowEquipmentHolds(t *testing.T) {
	h := newTestDemo(t).app.routes()
	held := func(steps []openStep, lot string) []string {
		for _, s := range steps {
			if s.Lot == lot {
				return s.Held
			}
		}
		t.Fatalf("lot %s is not on the board", lot)
		return nil
	}
	var hold quality.Hold
	require.Equal(t, http.StatusOK, api(t, h, "POST", "/api/holds", holdRequest{Kind: quality.OnEquipment, ID: "CNC", Reason: "coolant leak", Operator: "sam"}, &hold))
	var board boardView
	require.Equal(t, http.StatusOK, api(t, h, "GET", "/api/board", nil, &board))
	assert.Equal(t, []string{"coolant leak"}, held(board.Queued, lotAtCNC), "queued at CNC under the work center's hold")
	assert.Empty(t, held(board.Queued, lotAtQC), "QC is not under the CNC's hold")

	require.Equal(t, http.StatusOK, api(t, h, "POST", "/api/holds", holdRequest{Kind: quality.OnEquipment, ID: site, Reason: "power dip", Operator: "sam"}, &hold))
	board = boardView{}
	require.Equal(t, http.StatusOK, api(t, h, "GET", "/api/board", nil, &board))
	assert.Equal(t, []string{"coolant leak", "power dip"}, held(board.Queued, lotAtCNC))
	assert.Equal(t, []string{"power dip"}, held(board.Queued, lotAtQC), "the site's hold holds every work center")
	assert.Equal(t, []string{"power dip"}, held(board.Running, "PLANT-1-5120-1"))

	var term terminalView
	require.Equal(t, http.StatusOK, api(t, h, "GET", "/api/terminal/PRESS?operator=ben", nil, &term))
	require.Len(t, term.InProcess, 1)
	assert.Equal(t, []string{"power dip"}, term.InProcess[0].Held, "the terminal marks the operation held")
	var p problem
	require.Equal(t, http.StatusConflict, api(t, h, "POST", "/api/lots/PLANT-1-5120-1/track-out", trackOut{Step: "10", Good: "60", Operator: "ben", Equipment: "PRESS-1"}, &p))
	assert.Equal(t, "on-hold", p.Code, "as the engine refuses its track-out")
}

// A work order is named by its number everywhere in the demo (board, terminal, trace), so a
// hold on a work order takes the number; it answered not found for "4712".
func TestHoldOnWorkOrderByNumber(t *testing.T) {
	h := newTestDemo(t).app.routes()
	var hold quality.Hold
	require.Equal(t, http.StatusOK, api(t, h, "POST", "/api/holds", holdRequest{Kind: quality.OnWorkOrder, ID: "4712", Reason: "customer changed the drawing", Operator: "sam"}, &hold))
	var p problem
	require.Equal(t, http.StatusConflict, api(t, h, "POST", "/api/lots/"+lotAtCNC+"/track-in", trackIn{Step: "10", Operator: "olga", Equipment: "CNC-1"}, &p))
	assert.Equal(t, "on-hold", p.Code)
	var board boardView
	require.Equal(t, http.StatusOK, api(t, h, "GET", "/api/board", nil, &board))
	require.NotEmpty(t, board.Queued)
	assert.Equal(t, lotAtCNC, board.Queued[0].Lot)
	assert.Equal(t, []string{"customer changed the drawing"}, board.Queued[0].Held)

	p = problem{}
	require.Equal(t, http.StatusNotFound, api(t, h, "POST", "/api/holds", holdRequest{Kind: quality.OnWorkOrder, ID: "9999", Reason: "x", Operator: "sam"}, &p))
	assert.Contains(t, p.Detail, "9999")
}

// A request without its operator, or signals without their source, is told what to send in
// the API's own words, not in the SDK's Go (mes.By(mes.Actor{...})).
func TestMissingOperatorOrSourceIsExplainedInAPIWords(t *testing.T) {
	d := newTestDemo(t)
	h := d.app.routes()
	tests := []struct {
		target, body, code, want string
	}{
		{"/api/lots/" + lotAtCNC + "/track-in", `{"step":"10","equipment":"CNC-1"}`, "missing-actor", `"operator"`},
		{"/api/lots/" + lotAtQC + "/inspections", `{"step":"20","results":[{"characteristic":"bore","value":"10"}]}`, "missing-actor", `"operator"`},
		{"/api/holds", `{"kind":"lot","id":"` + lotAtCNC + `","reason":"x"}`, "missing-actor", `"operator"`},
		{"/api/signals", `[{"seq":1,"at":"2026-03-02T06:15:04Z","equipment":"CNC-1","kind":"count","count":{"good":3}}]`, "invalid", "source"},
		{"/api/signals", `[]`, "invalid", "signals"},
	}
	for _, tt := range tests {
		t.Run(tt.target+" "+tt.body, func(t *testing.T) {
			rec := do(t, h, "POST", tt.target, strings.NewReader(tt.body), "application/json")
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			var p problem
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
			assert.Equal(t, tt.code, p.Code)
			assert.Contains(t, p.Detail, tt.want)
			assert.NotContains(t, p.Detail, "mes.By", "the SDK's Go is not the API's language")
		})
	}
	holds, err := d.plant.HoldsOn(t.Context(), site, quality.Target{Kind: quality.OnLot, ID: lotAtCNC})
	require.NoError(t, err)
	assert.Empty(t, holds, "nothing changed")
}

// A trace of a name the plant does not know says what to type, not just "not found".
func TestTraceOfUnknownNameExplains(t *testing.T) {
	h := newTestDemo(t).app.routes()
	rec := do(t, h, http.MethodGet, "/trace?q=NOPE-1", nil, "")
	assert.Contains(t, rec.Body.String(), "lot ids look like")
}
