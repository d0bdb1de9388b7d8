package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/units"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"clock": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.Format("Mon 15:04")
	},
	"pct": func(r equipment.Ratio) string {
		if !r.Defined {
			return "–"
		}
		return fmt.Sprintf("%.1f %%", 100*r.Value)
	},
	"dur":   func(d time.Duration) string { return d.Round(time.Minute).String() },
	"qty":   func(q units.Quantity) string { return q.String() },
	"value": func(q units.Quantity) string { return q.Value().String() },
	"join":  strings.Join,
	"link":  nodeLink,
}).ParseFS(templateFS, "templates/*.html"))

// maxBody bounds request bodies.
const maxBody = 1 << 20

// maxEvents is the most events GET /api/events returns at once, and what it returns when
// the request names no limit.
const maxEvents = 1000

// routes returns the app's HTTP handler: the pages and the JSON API.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/board", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /terminal", a.terminalPage)
	mux.HandleFunc("POST /terminal/{action}", a.terminalAction)
	mux.HandleFunc("GET /board", a.boardPage)
	mux.HandleFunc("GET /board/live", a.boardPage)
	mux.HandleFunc("POST /board/release", a.boardRelease)
	mux.HandleFunc("GET /trace", a.tracePage)

	mux.Handle("GET /api/terminal/{wc}", query(func(r *http.Request) (terminalView, error) {
		return a.terminal(r.Context(), r.PathValue("wc"), r.FormValue("operator"))
	}))
	mux.Handle("GET /api/board", query(func(r *http.Request) (boardView, error) { return a.board(r.Context()) }))
	mux.Handle("GET /api/trace", query(func(r *http.Request) (traceView, error) {
		return a.trace(r.Context(), strings.TrimSpace(r.FormValue("q")))
	}))
	mux.Handle("GET /api/lots/{lot}", query(func(r *http.Request) (mes.Lot, error) { return a.plant.Lot(r.Context(), r.PathValue("lot")) }))
	mux.Handle("GET /api/events", query(func(r *http.Request) ([]mes.Event, error) {
		after, limit := uint64(0), maxEvents
		var ps []mes.Problem
		if s := r.FormValue("after"); s != "" {
			var err error
			if after, err = strconv.ParseUint(s, 10, 64); err != nil {
				ps = append(ps, mes.Problem{Field: "after", Value: s, Reason: "must be an event position (0 or more)"})
			}
		}
		if s := r.FormValue("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > maxEvents {
				ps = append(ps, mes.Problem{Field: "limit", Value: s, Reason: fmt.Sprintf("must be a number from 1 to %d", maxEvents)})
			}
			limit = n
		}
		if len(ps) > 0 {
			return nil, &mes.ValidationError{What: "query", Problems: ps}
		}
		return a.plant.ReadEvents(r.Context(), after, limit)
	}))
	mux.Handle("POST /api/lots/{lot}/track-in", command("lot", a.trackIn))
	mux.Handle("POST /api/lots/{lot}/track-out", command("lot", a.trackOut))
	mux.Handle("POST /api/lots/{lot}/inspections", command("lot", a.recordInspection))
	mux.Handle("POST /api/holds", command("", func(ctx context.Context, _ string, req holdRequest) (quality.Hold, error) {
		return a.placeHold(ctx, req)
	}))
	mux.Handle("POST /api/holds/{id}/release", command("id", a.releaseHold))
	mux.Handle("POST /api/signals", command("", func(ctx context.Context, _ string, sigs []equipment.Signal) ([]mes.IngestResult, error) {
		source := "api" // the device actor; signals without a source are refused by the engine, naming them
		if len(sigs) > 0 && sigs[0].Source != "" {
			source = sigs[0].Source
		}
		return a.plant.IngestSignals(ctx, sigs, mes.By(mes.Actor{ID: source, Kind: mes.Device}))
	}))
	mux.HandleFunc("GET /api/events/stream", a.eventStream)
	return mux
}

// query answers a GET of the JSON API with what run returns.
func query[T any](run func(r *http.Request) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := run(r)
		reply(w, v, err)
	}
}

// command answers a POST of the JSON API: it decodes the body into a request and runs it on
// the object the path names by key ("lot", "id"; "" for none).
func command[Req, Res any](key string, run func(ctx context.Context, id string, req Req) (Res, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if decode(w, r, &req) {
			ctx := r.Context()
			if k := r.Header.Get("Idempotency-Key"); k != "" { // a retried request is applied once
				ctx = context.WithValue(ctx, idempotencyKey{}, k)
			}
			v, err := run(ctx, r.PathValue(key), req)
			reply(w, v, err)
		}
	}
}

// decode reads a JSON request body into v, or answers 400 and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, problem{Code: "bad-request", Title: "Malformed request", Detail: "the body is not the JSON this endpoint takes (see README): " + err.Error()})
		return false
	}
	return true
}

// reply answers with v as JSON, or with the error as a problem.
func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		p := describe(err)
		writeJSON(w, p.Status, p)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// render writes a page; a template error (a bug) becomes a plain 500.
func (a *app) render(w http.ResponseWriter, status int, name string, v any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, v); err != nil {
		a.log.Error("template", "page", name, "err", err)
	}
}

// renderError shows an error that left nothing to show.
func (a *app) renderError(w http.ResponseWriter, err error) {
	p := describe(err)
	a.render(w, p.Status, "error", p)
}

// ---- operator terminal -------------------------------------------------------------------

func (a *app) terminalPage(w http.ResponseWriter, r *http.Request) {
	a.showTerminal(w, r, http.StatusOK, r.FormValue("msg"), nil)
}

func (a *app) showTerminal(w http.ResponseWriter, r *http.Request, status int, msg string, failed error) {
	wc, op := r.FormValue("wc"), r.FormValue("op")
	if wc == "" {
		wc = workCenters[0].ID
	}
	if op == "" {
		op = people[0].ID
	}
	v, err := a.terminal(r.Context(), wc, op)
	if err != nil {
		a.renderError(w, err)
		return
	}
	v.Message = msg
	if failed != nil {
		v.Error = describe(failed)
		status = v.Error.Status
	}
	a.render(w, status, "terminal", v)
}

// terminalAction runs a form of the terminal: on success it redirects back with a message
// (so reloading does not repeat the command); on error it shows the terminal with the
// engine's error and the matching status.
func (a *app) terminalAction(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, f := r.Context(), r.PostFormValue
	lot, step, op, unit := f("lot"), f("step"), f("op"), f("unit")
	var msg string
	var err error
	switch r.PathValue("action") {
	case "track-in":
		_, err = a.trackIn(ctx, lot, trackIn{Step: step, Qty: f("qty"), Operator: op, Equipment: unit})
		msg = fmt.Sprintf("%s tracked in at step %s", lot, step)
	case "track-out":
		req := trackOut{Step: step, Good: f("good"), Final: f("final") != "", Operator: op, Equipment: unit}
		if s := strings.TrimSpace(f("scrap")); s != "" && s != "0" {
			req.Scrap = []scrapLine{{Qty: s, Reason: f("scrap_reason")}}
		}
		if s := strings.TrimSpace(f("rework")); s != "" && s != "0" {
			req.Rework = &reworkLine{Qty: s, To: f("rework_to"), Reason: f("rework_reason")}
		}
		_, err = a.trackOut(ctx, lot, req)
		msg = fmt.Sprintf("%s tracked out at step %s", lot, step)
	case "inspection":
		req := inspection{Step: step, Operator: op, Equipment: unit}
		for _, c := range r.PostForm["characteristic"] {
			if v := f("value_" + c); strings.TrimSpace(v) != "" {
				req.Results = append(req.Results, resultRecord{Characteristic: c, Value: v, Serial: f("serial")})
			}
		}
		var insp mes.Inspection
		insp, err = a.recordInspection(ctx, lot, req)
		msg = inspectionSummary(lot, insp)
	case "hold":
		_, err = a.placeHold(ctx, holdRequest{Kind: quality.OnLot, ID: lot, Reason: f("reason"), Operator: op})
		msg = fmt.Sprintf("%s is on hold", lot)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		a.showTerminal(w, r, http.StatusOK, "", err)
		return
	}
	http.Redirect(w, r, "/terminal?"+url.Values{"wc": {f("wc")}, "op": {op}, "msg": {msg}}.Encode(), http.StatusSeeOther)
}

// inspectionSummary says what recording an inspection did.
func inspectionSummary(lot string, insp mes.Inspection) string {
	msg := fmt.Sprintf("inspection of %s recorded", lot)
	if n := len(insp.Evaluation.OutOfSpec); n > 0 {
		msg += fmt.Sprintf(": %d result(s) OUT OF SPEC", n)
	}
	for _, h := range insp.Holds {
		msg += "; hold placed: " + h.Reason
	}
	for _, nc := range insp.NonConformances {
		msg += "; non-conformance " + nc.ID + " opened"
	}
	return msg
}

// ---- supervisor board --------------------------------------------------------------------

func (a *app) boardPage(w http.ResponseWriter, r *http.Request) {
	v, err := a.board(r.Context())
	if err != nil {
		a.renderError(w, err)
		return
	}
	name := "board"
	if r.URL.Path == "/board/live" {
		name = "live"
	}
	a.render(w, http.StatusOK, name, v)
}

func (a *app) boardRelease(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	_, err := a.releaseHold(r.Context(), r.FormValue("hold"), releaseRequest{Reason: r.FormValue("reason"), Operator: r.FormValue("op")})
	if err != nil {
		a.renderError(w, err)
		return
	}
	http.Redirect(w, r, "/board", http.StatusSeeOther)
}

// eventStream sends the plant's events as server-sent events, from position after (or from
// now), until the client goes away: the board refreshes itself on each.
func (a *app) eventStream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported", http.StatusInternalServerError)
		return
	}
	ctx := r.Context()
	after, err := strconv.ParseUint(r.FormValue("after"), 10, 64)
	if err != nil {
		if after, err = a.plant.Store().Head(ctx); err != nil {
			reply(w, nil, err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	for ev, err := range a.plant.Events(ctx, after) {
		if err != nil {
			return
		}
		data, _ := json.Marshal(ev)
		if _, err := fmt.Fprintf(w, "id: %d\ndata: %s\n\n", ev.Position, data); err != nil {
			return
		}
		fl.Flush()
	}
}

// ---- traceability ------------------------------------------------------------------------

func (a *app) tracePage(w http.ResponseWriter, r *http.Request) {
	v, err := a.trace(r.Context(), strings.TrimSpace(r.FormValue("q")))
	status := http.StatusOK
	var p *problem
	if err != nil {
		p = describe(err)
		status = p.Status
	}
	a.render(w, status, "trace", struct {
		traceView
		Error *problem
	}{v, p})
}

// nodeLink returns the search for a trace node ("lot:CAST-0421", or a supplier lot
// "supplier-lot:CASTING-H|Foundry Nord|FN-2291", searched by its lot number); none for the
// outside of the plant.
func nodeLink(n string) string {
	_, id, ok := strings.Cut(n, ":")
	if !ok {
		return ""
	}
	if i := strings.LastIndex(id, "|"); i >= 0 {
		id = id[i+1:]
	}
	return "/trace?q=" + url.QueryEscape(id)
}
