package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/dispatch"
	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

// workCenters are the work centers of the demo plant with their machines (work units).
var workCenters = []struct {
	ID    string
	Units []string
}{
	{"CNC", []string{"CNC-1", "CNC-2"}},
	{"QC", []string{"CMM-1"}},
	{"ASSY", []string{"ASSY-1"}},
	{"PRESS", []string{"PRESS-1"}},
}

// app is the web application over a plant: it turns engine queries into views (for the
// HTML pages and the JSON API alike) and requests into engine commands.
type app struct {
	plant *mes.Plant
	clock mes.Clock
	log   *slog.Logger

	mu       sync.Mutex
	routings map[string]*routing.Routing // by "id@revision"; published revisions never change
	feed     activityFeed
}

func newApp(plant *mes.Plant, clock mes.Clock, log *slog.Logger) *app {
	return &app{plant: plant, clock: clock, log: log, routings: map[string]*routing.Routing{}}
}

// routing returns a published routing revision, cached.
func (a *app) routing(ctx context.Context, id, rev string) (*routing.Routing, error) {
	a.mu.Lock()
	rt, ok := a.routings[id+"@"+rev]
	a.mu.Unlock()
	if ok {
		return rt, nil
	}
	rt, err := a.plant.Routing(ctx, site, id, rev)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.routings[id+"@"+rev] = rt
	a.mu.Unlock()
	return rt, nil
}

// ---- views -------------------------------------------------------------------------------

// openStep is quantity of a lot waiting or in process at a step.
type openStep struct {
	Lot        string         `json:"lot"`
	WorkOrder  string         `json:"workOrder"` // number
	Product    string         `json:"product"`
	Due        time.Time      `json:"due"`
	Late       bool           `json:"late"`
	Step       string         `json:"step"`
	StepName   string         `json:"stepName"`
	WorkCenter string         `json:"workCenter"`
	Waiting    units.Quantity `json:"waiting"`
	InProcess  units.Quantity `json:"inProcess"`
	Paused     bool           `json:"paused,omitempty"`
	Since      time.Time      `json:"since,omitzero"` // queued since, or first track-in
	Held       []string       `json:"held,omitempty"` // reasons of holds on the lot, its order or material, its work center or above
	def        routing.Step
	rt         *routing.Routing
}

// openSteps returns every step with quantity waiting or in process, of every lot of the
// released and running work orders, in work order and lot order.
func (a *app) openSteps(ctx context.Context, now time.Time) ([]openStep, error) {
	holds, err := a.plant.ActiveHolds(ctx, site)
	if err != nil {
		return nil, err
	}
	// chains holds each work center with the equipment above it (its site): a hold on any
	// of them holds the lots there, as track-in and the dispatch list say.
	chains := map[string][]quality.Subject{}
	chain := func(wc string) ([]quality.Subject, error) {
		if c, ok := chains[wc]; ok {
			return c, nil
		}
		var c []quality.Subject
		for id, depth := wc, 0; id != "" && depth < 8; depth++ {
			c = append(c, quality.Subject{Equipment: id})
			eq, err := a.plant.Equipment(ctx, id)
			if err != nil {
				return nil, err
			}
			if eq.Level == equipment.Site {
				break
			}
			id = eq.Parent
		}
		chains[wc] = c
		return c, nil
	}
	// heldFor returns the reasons of the holds that block any of subjects.
	heldFor := func(subjects []quality.Subject) []string {
		var out []string
		for _, h := range holds {
			if slices.ContainsFunc(subjects, h.Target.Covers) {
				out = append(out, h.Reason)
			}
		}
		return out
	}
	var out []openStep
	for _, status := range []mes.WorkOrderStatus{mes.StatusReleased, mes.StatusRunning} {
		wos, err := a.plant.WorkOrders(ctx, site, status)
		if err != nil {
			return nil, err
		}
		for _, wo := range wos {
			lots, err := a.plant.LotsOfWorkOrder(ctx, site, wo.ID)
			if err != nil {
				return nil, err
			}
			for _, lot := range lots {
				if lot.Execution == nil {
					continue
				}
				rt, err := a.routing(ctx, lot.Execution.Routing, lot.Execution.Revision)
				if err != nil {
					return nil, err
				}
				for _, sp := range lot.Execution.Steps() {
					if sp.Waiting.IsZero() && sp.InProcess.IsZero() {
						continue
					}
					def := stepOf(rt, sp.Step)
					subjects, err := chain(def.WorkCenter)
					if err != nil {
						return nil, err
					}
					subjects = append([]quality.Subject{{Lot: lot.ID, WorkOrder: wo.ID, Material: lot.Material, SupplierLot: lot.SupplierLot}}, subjects...)
					since, _ := lot.QueuedSince.At(sp.Step)
					if !sp.InProcess.IsZero() {
						since = sp.FirstIn
					}
					out = append(out, openStep{Lot: lot.ID, WorkOrder: wo.Number, Product: wo.Product, Due: wo.Due,
						Late: !wo.Due.IsZero() && wo.Due.Before(now), Step: sp.Step, StepName: def.Name, WorkCenter: def.WorkCenter,
						Waiting: sp.Waiting, InProcess: sp.InProcess, Paused: sp.Paused, Since: since,
						Held: heldFor(subjects), def: def, rt: rt})
				}
			}
		}
	}
	return out, nil
}

func stepOf(rt *routing.Routing, id string) routing.Step {
	for _, s := range rt.Steps {
		if s.ID == id {
			return s
		}
	}
	return routing.Step{ID: id}
}

// dispatchEntry is one line of a dispatch list, ranked or not.
type dispatchEntry struct {
	Position  int              `json:"position,omitempty"`
	Lot       string           `json:"lot"`
	WorkOrder string           `json:"workOrder"`
	Step      string           `json:"step"`
	StepName  string           `json:"stepName"`
	Qty       units.Quantity   `json:"qty"`
	Due       time.Time        `json:"due,omitzero"`
	Score     float64          `json:"score,omitempty"`
	Explain   []string         `json:"explain,omitempty"`
	Reasons   []dispatchReason `json:"reasons,omitempty"`
}

type dispatchReason struct {
	Code string `json:"code"`
	Text string `json:"text"`
}

// terminalView is what the operator terminal of a work center shows.
type terminalView struct {
	Now         time.Time       `json:"now"`
	WorkCenter  string          `json:"workCenter"`
	Units       []string        `json:"units"`
	Operator    string          `json:"operator"`
	Operators   []labor.Person  `json:"-"`
	WorkCenters []string        `json:"-"`
	Rule        string          `json:"rule"`
	Ranked      []dispatchEntry `json:"ranked"`
	Ineligible  []dispatchEntry `json:"ineligible"`
	InProcess   []operation     `json:"inProcess"`
	Message     string          `json:"-"`
	Error       *problem        `json:"-"`
}

// trackInForm is what a track-in form of the terminal needs.
type trackInForm struct {
	Lot, Step, WorkCenter, Operator string
	Units                           []string
}

// TrackIn returns the track-in form of a dispatch entry (for the template).
func (v terminalView) TrackIn(e dispatchEntry) trackInForm {
	return trackInForm{Lot: e.Lot, Step: e.Step, WorkCenter: v.WorkCenter, Operator: v.Operator, Units: v.Units}
}

// operation is quantity in process at the terminal's work center, with what the operator
// needs to finish it: instructions, parameters, the inspection plan and rework steps.
type operation struct {
	openStep
	Instructions    string            `json:"instructions,omitempty"`
	InstructionsURL string            `json:"instructionsUrl,omitempty"`
	Parameters      map[string]string `json:"parameters,omitempty"`
	Unit            string            `json:"unit"`
	Plan            []characteristic  `json:"plan,omitempty"`
	ReworkSteps     []string          `json:"reworkSteps,omitempty"`
	MachineGood     int64             `json:"machineGood"`
	MachineReject   int64             `json:"machineReject"`
}

// characteristic is one characteristic of a step's inspection plan with the result recorded
// for the lot so far.
type characteristic struct {
	Name     string `json:"name"`
	Nominal  string `json:"nominal"`
	LSL      string `json:"lsl"`
	USL      string `json:"usl"`
	Unit     string `json:"unit"`
	Recorded string `json:"recorded,omitempty"`
}

// terminal builds the terminal view of a work center for an operator.
func (a *app) terminal(ctx context.Context, wc, operator string) (terminalView, error) {
	v := terminalView{Now: a.clock.Now(), WorkCenter: wc, Operator: operator, Operators: people}
	for _, w := range workCenters {
		v.WorkCenters = append(v.WorkCenters, w.ID)
		if w.ID == wc {
			v.Units = w.Units
		}
	}
	if v.Units == nil {
		return v, fmt.Errorf("%w: work center %q is not in the demo plant; pick one of %s", mes.ErrNotFound, wc, strings.Join(v.WorkCenters, ", "))
	}
	var opts []mes.DispatchOption
	if operator != "" {
		opts = append(opts, mes.ForPerson(operator))
	}
	list, err := a.plant.DispatchList(ctx, site, wc, opts...)
	if err != nil {
		return v, err
	}
	open, err := a.openSteps(ctx, v.Now)
	if err != nil {
		return v, err
	}
	names := map[string]openStep{}
	for _, o := range open {
		names[o.Lot+"/"+o.Step] = o
	}
	entry := func(c *dispatch.Candidate) dispatchEntry {
		o := names[c.Lot+"/"+c.Step]
		return dispatchEntry{Lot: c.Lot, WorkOrder: o.WorkOrder, Step: c.Step, StepName: o.StepName, Qty: c.Quantity, Due: c.Due}
	}
	v.Rule, v.Ranked, v.Ineligible, v.InProcess = list.Rule, []dispatchEntry{}, []dispatchEntry{}, []operation{}
	for _, e := range list.Ranked {
		d := entry(e.Candidate)
		d.Position, d.Score = e.Position, e.Score
		for _, in := range e.Explain() {
			if f, ok := in.Value.(float64); ok {
				d.Explain = append(d.Explain, fmt.Sprintf("%s=%.2f", in.Name, f))
			} else {
				d.Explain = append(d.Explain, in.String())
			}
		}
		v.Ranked = append(v.Ranked, d)
	}
	for _, b := range list.Ineligible {
		d := entry(b.Candidate)
		for _, r := range b.Reasons {
			d.Reasons = append(d.Reasons, dispatchReason{Code: string(r.Code), Text: r.Text})
		}
		v.Ineligible = append(v.Ineligible, d)
	}
	for _, f := range list.Failed {
		d := entry(f.Candidate)
		d.Reasons = []dispatchReason{{Code: "rule-failed", Text: f.Err.Error()}}
		v.Ineligible = append(v.Ineligible, d)
	}
	for _, o := range open {
		if o.WorkCenter != wc || o.InProcess.IsZero() {
			continue
		}
		op, err := a.operation(ctx, o)
		if err != nil {
			return v, err
		}
		v.InProcess = append(v.InProcess, op)
	}
	return v, nil
}

// operation adds to an open step what the operator needs to finish it.
func (a *app) operation(ctx context.Context, o openStep) (operation, error) {
	op := operation{openStep: o, Instructions: o.def.Instructions, InstructionsURL: o.def.InstructionsURL,
		Parameters: o.def.Parameters, Unit: string(o.InProcess.Unit())}
	for _, s := range o.rt.Steps {
		if s.ReworkEntry {
			op.ReworkSteps = append(op.ReworkSteps, s.ID)
		}
	}
	counts, err := a.plant.MachineCounts(ctx, o.Lot)
	if err != nil {
		return op, err
	}
	for _, c := range counts {
		if c.Step == o.Step {
			op.MachineGood += c.Good
			op.MachineReject += c.Reject
		}
	}
	if o.def.InspectionPlan == "" {
		return op, nil
	}
	plan, err := a.plant.InspectionPlan(ctx, site, o.def.InspectionPlan, 0)
	if err != nil {
		return op, err
	}
	results, err := a.plant.Inspections(ctx, o.Lot, o.Step)
	if err != nil {
		return op, err
	}
	for _, c := range plan.Plan.Characteristics {
		ch := characteristic{Name: c.Name, Nominal: nullString(c.Nominal), LSL: nullString(c.LSL), USL: nullString(c.USL), Unit: string(c.Unit)}
		for _, r := range results {
			if r.Characteristic == c.Name {
				ch.Recorded = fmt.Sprintf("%s by %s at %s", nullString(r.Value), r.By, r.At.Format("15:04"))
			}
		}
		op.Plan = append(op.Plan, ch)
	}
	return op, nil
}

func nullString(d decimal.NullDecimal) string {
	if !d.Valid {
		return ""
	}
	return d.Decimal.String()
}

// boardView is what the supervisor board shows.
type boardView struct {
	Now        time.Time                `json:"now"`
	WIP        []mes.StepWIP            `json:"wip"`
	Running    []openStep               `json:"running"`
	Queued     []openStep               `json:"queued"`
	WorkOrders []mes.WorkOrder          `json:"workOrders"`
	Late       []mes.WorkOrder          `json:"late"`
	Holds      []quality.Hold           `json:"holds"`
	NCs        []quality.NonConformance `json:"nonConformances"`
	OEE        []oeeRow                 `json:"oee"`
	Machines   []machineState           `json:"machines"`
	Activity   []activity               `json:"activity"`
}

// oeeRow is the OEE of a work center over the board's window, with its loss breakdown.
type oeeRow struct {
	WorkCenter string              `json:"workCenter"`
	Report     equipment.OEEReport `json:"report"`
}

// machineState is what a machine is doing now.
type machineState struct {
	Equipment string                 `json:"equipment"`
	State     equipment.MachineState `json:"state"`
	Reason    string                 `json:"reason,omitempty"`
	Since     time.Time              `json:"since"`
	Good      int64                  `json:"good"` // parts in the board's window
	Reject    int64                  `json:"reject"`
}

// oeeWindow is how far back the board's OEE and part counts look.
const oeeWindow = 4 * time.Hour

// board builds the supervisor board.
func (a *app) board(ctx context.Context) (boardView, error) {
	v := boardView{Now: a.clock.Now()}
	var err error
	if v.WIP, err = a.plant.WorkInProcess(ctx, site); err != nil {
		return v, err
	}
	open, err := a.openSteps(ctx, v.Now)
	if err != nil {
		return v, err
	}
	for _, o := range open {
		if !o.InProcess.IsZero() {
			v.Running = append(v.Running, o)
		}
		if !o.Waiting.IsZero() {
			v.Queued = append(v.Queued, o)
		}
	}
	all, err := a.plant.WorkOrders(ctx, site, "")
	if err != nil {
		return v, err
	}
	for _, wo := range all {
		if wo.Status == mes.StatusClosed || wo.Status == mes.StatusCancelled {
			continue
		}
		v.WorkOrders = append(v.WorkOrders, wo)
		if wo.Status != mes.StatusCompleted && !wo.Due.IsZero() && wo.Due.Before(v.Now) {
			v.Late = append(v.Late, wo)
		}
	}
	if v.Holds, err = a.plant.ActiveHolds(ctx, site); err != nil {
		return v, err
	}
	ncs, acts, err := a.feed.update(ctx, a.plant)
	if err != nil {
		return v, err
	}
	v.Activity = acts
	for _, id := range ncs {
		nc, err := a.plant.NonConformance(ctx, id)
		if err != nil {
			return v, err
		}
		if nc.Status != quality.NCClosed {
			v.NCs = append(v.NCs, nc)
		}
	}
	window := equipment.Span{Start: v.Now.Add(-oeeWindow), End: v.Now}
	for _, wc := range workCenters {
		rep, err := a.plant.OEE(ctx, wc.ID, window, nil)
		if err != nil {
			return v, err
		}
		v.OEE = append(v.OEE, oeeRow{WorkCenter: wc.ID, Report: rep})
		for _, u := range wc.Units {
			hist, err := a.plant.EquipmentHistory(ctx, u, window.Start, window.End)
			if err != nil {
				return v, err
			}
			m := machineState{Equipment: u, State: equipment.Unknown}
			for _, iv := range hist {
				m.Good += iv.Good
				m.Reject += iv.Reject
			}
			if n := len(hist); n > 0 {
				last := hist[n-1]
				m.State, m.Reason, m.Since = last.State, last.Reason, cmp.Or(last.Began, last.Start)
			}
			v.Machines = append(v.Machines, m)
		}
	}
	return v, nil
}

// activity is one thing that happened, for the board's feed: who did what, when.
type activity struct {
	Position uint64    `json:"position"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Type     string    `json:"type"`
	Subject  string    `json:"subject"`
}

// activityFeed is a projection of the plant's event log, the way a host builds its own
// read models: it follows the log from where it stopped and keeps the recent activity of
// people and systems (machine signals left out) and the non-conformances ever opened.
type activityFeed struct {
	mu     sync.Mutex
	after  uint64
	recent []activity
	ncs    []string
}

// recentActivity is how many entries the feed keeps.
const recentActivity = 12

// update reads the events committed since the last call and returns the ids of the
// non-conformances opened so far and the recent activity, newest first.
func (f *activityFeed) update(ctx context.Context, plant *mes.Plant) ([]string, []activity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		evs, err := plant.ReadEvents(ctx, f.after, 1000)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range evs {
			f.after = e.Position
			if nc, ok := e.Payload.(*mes.NonConformanceOpened); ok {
				f.ncs = append(f.ncs, nc.NonConformance.ID)
			}
			if strings.HasPrefix(e.Type, "equipment.") {
				continue
			}
			f.recent = append(f.recent, activity{Position: e.Position, Time: e.Time, Actor: e.Actor, Type: e.Type, Subject: e.Subject})
			if len(f.recent) > recentActivity {
				f.recent = f.recent[1:]
			}
		}
		if len(evs) < 1000 {
			break
		}
	}
	acts := slices.Clone(f.recent)
	slices.Reverse(acts)
	return slices.Clone(f.ncs), acts, nil
}

// ---- traceability ------------------------------------------------------------------------

// traceView is what the traceability page shows for a search.
type traceView struct {
	Query      string                   `json:"query"`
	Lot        *mes.Lot                 `json:"lot,omitempty"`
	Serial     *genealogy.Serial        `json:"serial,omitempty"`
	Readiness  []mes.StepReadiness      `json:"readiness,omitempty"`
	Holds      []quality.Hold           `json:"holds,omitempty"`
	NCs        []quality.NonConformance `json:"nonConformances,omitempty"`
	Lots       []string                 `json:"lots,omitempty"` // of a work order searched by number
	Backward   *treeNode                `json:"backward,omitempty"`
	Forward    *treeNode                `json:"forward,omitempty"`
	Recall     *genealogy.RecallReport  `json:"recall,omitempty"`
	RecallRoot string                   `json:"recallRoot,omitempty"`
	Suppliers  []mes.Receipt            `json:"-"`
}

// treeNode is a node of a trace drawn as a tree: the edge that leads to it from its parent
// and its children. A node reached again is shown once more without its children (Again).
type treeNode struct {
	Node     string          `json:"node"`
	Edge     *genealogy.Edge `json:"edge,omitempty"`
	Again    bool            `json:"again,omitempty"`
	Children []*treeNode     `json:"children,omitempty"`
}

// EdgeKind names the edge's kind for the page.
func (t *treeNode) EdgeKind() string { return t.Edge.Kind.String() }

// tree draws a trace as a tree from its root.
func tree(tr genealogy.Trace) *treeNode {
	seen := map[genealogy.Node]bool{}
	var grow func(n genealogy.Node, via *genealogy.Edge) *treeNode
	grow = func(n genealogy.Node, via *genealogy.Edge) *treeNode {
		t := &treeNode{Node: n.String(), Edge: via}
		if n.IsZero() {
			return t
		}
		if seen[n] {
			t.Again = true
			return t
		}
		seen[n] = true
		for i := range tr.Edges {
			e := &tr.Edges[i]
			switch {
			case tr.Direction == genealogy.Backward && e.To == n:
				t.Children = append(t.Children, grow(e.From, e))
			case tr.Direction == genealogy.Forward && e.From == n:
				t.Children = append(t.Children, grow(e.To, e))
			}
		}
		return t
	}
	return grow(tr.Root, nil)
}

// trace searches the plant for q: a lot id, a serial, a work order number or a supplier's
// lot number, and returns what the page shows for it.
func (a *app) trace(ctx context.Context, q string) (traceView, error) {
	v := traceView{Query: q, Suppliers: receipts}
	if q == "" {
		return v, nil
	}
	for _, r := range receipts {
		if r.SupplierLot == q {
			rep, err := a.plant.Recall(ctx, genealogy.SupplierLotNode(r.Material, r.Supplier, r.SupplierLot))
			if err != nil {
				return v, err
			}
			v.Recall, v.RecallRoot = &rep, fmt.Sprintf("%s lot %s of %s", r.Supplier, r.SupplierLot, r.Material)
			return v, nil
		}
	}
	if wo, err := a.plant.WorkOrderByNumber(ctx, site, q); err == nil {
		lots, err := a.plant.LotsOfWorkOrder(ctx, site, wo.ID)
		if err != nil {
			return v, err
		}
		for _, l := range lots {
			v.Lots = append(v.Lots, l.ID)
		}
		return v, nil
	}
	node := genealogy.LotNode(q)
	lot, err := a.plant.Lot(ctx, q)
	switch {
	case err == nil:
		v.Lot = &lot
		if lot.Execution != nil {
			if v.Readiness, err = a.plant.LotReadiness(ctx, q); err != nil {
				return v, err
			}
		}
		if v.Holds, err = a.plant.HoldsOn(ctx, site, quality.Target{Kind: quality.OnLot, ID: q}); err != nil {
			return v, err
		}
		if v.NCs, err = a.plant.NonConformancesOfLot(ctx, site, q); err != nil {
			return v, err
		}
	case errors.Is(err, mes.ErrNotFound):
		node = genealogy.SerialNode(q)
		if sn, err := a.plant.Serial(ctx, q); err == nil {
			v.Serial = &sn
		}
	default:
		return v, err
	}
	if v.Lot == nil && v.Serial == nil {
		return v, fmt.Errorf("%w: no lot, serial, work order or supplier lot %q in the plant; lot ids look like PLANT-1-4711-1 or CAST-0421", mes.ErrNotFound, q)
	}
	back, err := a.plant.TraceBackward(ctx, node, genealogy.TraceOptions{})
	if err != nil {
		return v, err
	}
	fwd, err := a.plant.TraceForward(ctx, node, genealogy.TraceOptions{})
	if err != nil {
		return v, err
	}
	v.Backward, v.Forward = tree(back), tree(fwd)
	if v.Lot != nil && v.Lot.SupplierLot != "" {
		rep, err := a.plant.Recall(ctx, node)
		if err != nil {
			return v, err
		}
		v.Recall, v.RecallRoot = &rep, "lot "+q
	}
	return v, nil
}

// ---- commands ----------------------------------------------------------------------------

// trackIn is a track-in request (the JSON body of POST /api/lots/{lot}/track-in).
type trackIn struct {
	Step      string `json:"step"`
	Qty       string `json:"qty,omitempty"` // empty: all that waits
	Operator  string `json:"operator"`
	Equipment string `json:"equipment,omitempty"`
}

// trackOut is a track-out request.
type trackOut struct {
	Step      string      `json:"step"`
	Good      string      `json:"good"`
	Scrap     []scrapLine `json:"scrap,omitempty"`
	Rework    *reworkLine `json:"rework,omitempty"`
	Final     bool        `json:"final,omitempty"`
	Operator  string      `json:"operator"`
	Equipment string      `json:"equipment,omitempty"`
}

type scrapLine struct {
	Qty    string `json:"qty"`
	Reason string `json:"reason"`
}

type reworkLine struct {
	Qty    string `json:"qty"`
	To     string `json:"to"`
	Reason string `json:"reason"`
}

// inspection is a request to record inspection results.
type inspection struct {
	Step      string         `json:"step"`
	Operator  string         `json:"operator"`
	Equipment string         `json:"equipment,omitempty"`
	Results   []resultRecord `json:"results"`
}

type resultRecord struct {
	Characteristic string `json:"characteristic"`
	Value          string `json:"value"`
	Serial         string `json:"serial,omitempty"`
}

// holdRequest places a hold.
type holdRequest struct {
	Kind        quality.TargetKind `json:"kind"`
	ID          string             `json:"id"`
	SupplierLot string             `json:"supplierLot,omitempty"`
	Reason      string             `json:"reason"`
	Operator    string             `json:"operator"`
}

// releaseRequest releases a hold.
type releaseRequest struct {
	Reason   string `json:"reason"`
	Operator string `json:"operator"`
}

// opts returns the command options of an operator's request: the actor, the equipment and
// the request's idempotency key (the Idempotency-Key header, see command), if any.
func opts(ctx context.Context, operator, where string) []mes.CommandOption {
	o := []mes.CommandOption{mes.By(actor(operator))}
	if where != "" {
		o = append(o, mes.On(where))
	}
	if key, _ := ctx.Value(idempotencyKey{}).(string); key != "" {
		o = append(o, mes.IdempotencyKey(key))
	}
	return o
}

// idempotencyKey is the context key of a request's Idempotency-Key header.
type idempotencyKey struct{}

// quantity parses a quantity typed by a person: "12 ea", or "12" in unit.
func quantity(field, s string, unit units.Unit) (units.Quantity, error) {
	s = strings.TrimSpace(s)
	if _, err := decimal.NewFromString(s); err == nil {
		s += " " + string(unit)
	}
	q, err := units.Parse(s)
	if err != nil {
		return q, &mes.ValidationError{What: "request", Problems: []mes.Problem{{Field: field, Value: s, Reason: err.Error()}}}
	}
	return q, nil
}

// lotUnit returns the unit lot is counted in.
func (a *app) lotUnit(ctx context.Context, lot string) (units.Unit, error) {
	l, err := a.plant.Lot(ctx, lot)
	if err != nil {
		return "", err
	}
	return l.OnHand.Unit(), nil
}

func (a *app) trackIn(ctx context.Context, lot string, r trackIn) (mes.Lot, error) {
	var qty units.Quantity
	if strings.TrimSpace(r.Qty) != "" {
		unit, err := a.lotUnit(ctx, lot)
		if err != nil {
			return mes.Lot{}, err
		}
		if qty, err = quantity("qty", r.Qty, unit); err != nil {
			return mes.Lot{}, err
		}
		if !qty.IsPositive() { // the SDK reads zero as "all of it"; leave the field empty for that
			return mes.Lot{}, &mes.ValidationError{What: "request", Problems: []mes.Problem{{Field: "qty", Value: r.Qty, Reason: "must be more than zero; leave it empty to track in all that waits"}}}
		}
	}
	return a.plant.TrackIn(ctx, lot, r.Step, qty, opts(ctx, r.Operator, r.Equipment)...)
}

func (a *app) trackOut(ctx context.Context, lot string, r trackOut) (mes.Lot, error) {
	unit, err := a.lotUnit(ctx, lot)
	if err != nil {
		return mes.Lot{}, err
	}
	out := routing.Outcome{Final: r.Final}
	var errs []error
	if out.Good, err = quantity("good", cmp.Or(r.Good, "0"), unit); err != nil {
		errs = append(errs, err)
	}
	for i, s := range r.Scrap {
		q, err := quantity(fmt.Sprintf("scrap[%d].qty", i), s.Qty, unit)
		errs = append(errs, err)
		out.Scrap = append(out.Scrap, routing.ScrapLine{Qty: q, Reason: s.Reason})
	}
	if r.Rework != nil {
		q, err := quantity("rework.qty", r.Rework.Qty, unit)
		errs = append(errs, err)
		out.Rework = routing.ReworkLine{Qty: q, To: r.Rework.To, Reason: r.Rework.Reason}
	}
	if err := errors.Join(errs...); err != nil {
		return mes.Lot{}, err
	}
	return a.plant.TrackOut(ctx, lot, r.Step, out, opts(ctx, r.Operator, r.Equipment)...)
}

func (a *app) recordInspection(ctx context.Context, lot string, r inspection) (mes.Inspection, error) {
	var results []quality.Result
	var problems []mes.Problem
	for i, res := range r.Results {
		d, err := decimal.NewFromString(strings.TrimSpace(res.Value))
		if err != nil {
			problems = append(problems, mes.Problem{Field: fmt.Sprintf("results[%d].value", i), Value: res.Value, Reason: "is not a number; type the measured value, e.g. 10.004"})
			continue
		}
		results = append(results, quality.Result{Characteristic: res.Characteristic, Value: decimal.NewNullDecimal(d), Serial: res.Serial})
	}
	if problems != nil {
		return mes.Inspection{}, &mes.ValidationError{What: "inspection", Problems: problems}
	}
	return a.plant.RecordInspection(ctx, lot, r.Step, results, opts(ctx, r.Operator, r.Equipment)...)
}

func (a *app) placeHold(ctx context.Context, r holdRequest) (quality.Hold, error) {
	if r.Kind == quality.OnWorkOrder { // people name a work order by its number; the engine by its id
		if wo, err := a.plant.WorkOrderByNumber(ctx, site, r.ID); err == nil {
			r.ID = wo.ID
		}
	}
	return a.plant.PlaceHold(ctx, site, quality.Target{Kind: r.Kind, ID: r.ID, SupplierLot: r.SupplierLot}, r.Reason, opts(ctx, r.Operator, "")...)
}

func (a *app) releaseHold(ctx context.Context, id string, r releaseRequest) (quality.Hold, error) {
	return a.plant.ReleaseHold(ctx, id, append(opts(ctx, r.Operator, ""), mes.Reason(r.Reason))...)
}

// ---- errors ------------------------------------------------------------------------------

// problem is an engine error as a person and a program see it: a code, a title, the HTTP
// status and the engine's own sentence, which says what was wrong and how to fix it.
type problem struct {
	Status int    `json:"-"`
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"error"`
}

// describe classifies an error by the engine's sentinel errors.
func describe(err error) *problem {
	kinds := []struct {
		sentinel error
		status   int
		code     string
		title    string
	}{
		{mes.ErrOnHold, http.StatusConflict, "on-hold", "On hold"},
		{mes.ErrNotQualified, http.StatusForbidden, "not-qualified", "Missing qualification"},
		{mes.ErrInspectionMissing, http.StatusConflict, "inspection-missing", "Inspection missing"},
		{mes.ErrLotRejected, http.StatusConflict, "lot-rejected", "Lot rejected by inspection"},
		{mes.ErrWrongState, http.StatusConflict, "wrong-state", "Not allowed now"},
		{mes.ErrNotFound, http.StatusNotFound, "not-found", "Not found"},
		{mes.ErrInvalid, http.StatusBadRequest, "invalid", "Invalid input"},
		{mes.ErrUnauthorized, http.StatusForbidden, "unauthorized", "Not authorized"},
		{mes.ErrSignatureRequired, http.StatusForbidden, "signature-required", "Signature required"},
		{mes.ErrConflict, http.StatusConflict, "conflict", "Changed by someone else"},
		{mes.ErrMissingActor, http.StatusBadRequest, "missing-actor", "Who are you?"},
		{mes.ErrDuplicate, http.StatusConflict, "duplicate", "Exists already"},
		{mes.ErrSignatureInvalid, http.StatusForbidden, "signature-invalid", "Signature rejected"},
		{mes.ErrIdempotencyKeyReused, http.StatusConflict, "idempotency-key-reused", "Idempotency key reused"},
	}
	for _, k := range kinds {
		if errors.Is(err, k.sentinel) {
			p := &problem{Status: k.status, Code: k.code, Title: k.title, Detail: err.Error()}
			if k.sentinel == mes.ErrMissingActor { // the engine's words are for Go (mes.By): say it in the API's
				ids := make([]string, len(people))
				for i, p := range people {
					ids[i] = p.ID
				}
				p.Detail = fmt.Sprintf(`no "operator": send the id of the person doing this (%s); the demo has no login`, strings.Join(ids, ", "))
			}
			return p
		}
	}
	return &problem{Status: http.StatusInternalServerError, Code: "internal", Title: "Error", Detail: err.Error()}
}
