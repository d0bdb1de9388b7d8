package mes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/execution"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// Execution control (issue 11): exception rules over the event log, tasks with owners and
// escalation, projected completion dates and execution KPIs. The rules of the domain live in
// package execution; this file gathers the facts, keeps the records and emits the events.

const (
	exceptionRuleKind = "exception_rule" // site "" (listed across sites), index site
	taskKind          = "task"           // unique key open:<site>/<rule>|<cause> while open
	projectionKind    = "projection"     // the last projection of a work order
	scrapWindowKind   = "scrap_window"   // one per site: the scrap of the last hour
	// ExecutionConsumer is the event-log checkpoint name of RunExceptionRules.
	ExecutionConsumer = "execution"
)

type storedExceptionRule struct {
	Site string             `json:"site"`
	Spec execution.RuleSpec `json:"spec"`
}

type storedProjection struct {
	WorkOrder string    `json:"work_order"`
	Projected time.Time `json:"projected"`
	Due       time.Time `json:"due,omitzero"`
	Late      bool      `json:"late"`
}

type scrapEntry struct {
	Product string          `json:"product"`
	Step    string          `json:"step"`
	At      time.Time       `json:"at"`
	Qty     decimal.Decimal `json:"qty"`
	Unit    units.Unit      `json:"unit"`
}

type scrapWindow struct {
	Entries []scrapEntry `json:"entries"`
}

func (w *scrapWindow) detach() { w.Entries = slices.Clone(w.Entries) }

// lastHour sums the scrap of product at step in the hour up to at.
func (w *scrapWindow) lastHour(product, step string, at time.Time) float64 {
	sum := decimal.Zero
	for _, e := range w.Entries {
		if e.Product == product && e.Step == step && e.At.After(at.Add(-time.Hour)) && !e.At.After(at) {
			sum = sum.Add(e.Qty)
		}
	}
	return sum.InexactFloat64()
}

// Execution events.
type (
	// ExceptionRuleSaved: an exception rule of a site was saved (compiled and checked).
	ExceptionRuleSaved struct {
		Site string             `json:"site"`
		Rule execution.RuleSpec `json:"rule"`
	}
	// TaskOpened: a rule fired for a new cause and put a task in front of its owner.
	TaskOpened struct {
		Task execution.Task `json:"task"`
	}
	// TaskUpdated: an open task changed: Change is "fired" (its cause fired again),
	// "acknowledged" or "started".
	TaskUpdated struct {
		Task   execution.Task `json:"task"`
		Change string         `json:"change"`
	}
	// TaskEscalated: nobody acted on a task in time; it moved to the next role of its path.
	TaskEscalated struct {
		Task   execution.Task `json:"task"`
		From   string         `json:"from"`
		To     string         `json:"to"`
		Reason string         `json:"reason"`
		Level  int            `json:"level"`
	}
	// TaskResolved: a task was resolved with its inputs, or by itself when its cause cleared
	// (Auto).
	TaskResolved struct {
		Task execution.Task `json:"task"`
		Auto bool           `json:"auto"`
	}
	// TaskCancelled: a task was closed as needing no action, with the reason in Task.Note.
	TaskCancelled struct {
		Task execution.Task `json:"task"`
	}
	// CompletionProjected: a work order's projected completion, sent when it is first
	// projected and when it comes back within the due date (a ship date to promise).
	CompletionProjected struct {
		WorkOrder string    `json:"work_order"`
		Number    string    `json:"number"`
		Projected time.Time `json:"projected"`
		Due       time.Time `json:"due"`
	}
	// DueDateAtRisk: a work order's projected completion crossed its due date.
	DueDateAtRisk struct {
		WorkOrder string        `json:"work_order"`
		Number    string        `json:"number"`
		Projected time.Time     `json:"projected"`
		Due       time.Time     `json:"due"`
		Late      time.Duration `json:"late"`
	}
)

// EventType implements EventPayload.
func (ExceptionRuleSaved) EventType() string { return "exception.rule_saved" }

// EventType implements EventPayload.
func (TaskOpened) EventType() string { return "task.opened" }

// EventType implements EventPayload.
func (TaskUpdated) EventType() string { return "task.updated" }

// EventType implements EventPayload.
func (TaskEscalated) EventType() string { return "task.escalated" }

// EventType implements EventPayload.
func (TaskResolved) EventType() string { return "task.resolved" }

// EventType implements EventPayload.
func (TaskCancelled) EventType() string { return "task.cancelled" }

// EventType implements EventPayload.
func (CompletionProjected) EventType() string { return "execution.completion_projected" }

// EventType implements EventPayload.
func (DueDateAtRisk) EventType() string { return "execution.due_date_at_risk" }

func init() {
	registerEvent(&ExceptionRuleSaved{}, &TaskOpened{}, &TaskUpdated{}, &TaskEscalated{}, &TaskResolved{}, &TaskCancelled{},
		&CompletionProjected{}, &DueDateAtRisk{})
}

// executionState is the engine's in-process state of execution control.
type executionState struct {
	run     sync.Mutex                 // one RunExceptionRules at a time per process
	cacheMu sync.Mutex                 // guards cache
	cache   map[string]*execution.Rule // compiled rules by site/name, checked against the spec
}

// SaveExceptionRule adds or replaces an exception rule of site. The rule is compiled and
// checked now: a rule with problems is refused (ErrInvalid wrapping an
// *execution.RuleError that lists every problem with its position) and nothing changes.
// Rules take effect at the next RunExceptionRules.
func (p *Plant) SaveExceptionRule(ctx context.Context, site string, spec execution.RuleSpec, opts ...CommandOption) error {
	_, err := execute(ctx, p, "exception.save_rule", opts, func(c *command) (struct{}, error) {
		if _, err := execution.Compile(spec); err != nil {
			return struct{}{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if err := c.authorize(site); err != nil {
			return struct{}{}, err
		}
		if err := c.requireSite(site); err != nil {
			return struct{}{}, err
		}
		id := site + "/" + spec.Name
		var old storedExceptionRule
		v, err := load(c.ctx, c.tx, exceptionRuleKind, id, &old)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return struct{}{}, err
		}
		rec := storedExceptionRule{Site: site, Spec: spec}
		if _, err := c.save(exceptionRuleKind, id, "", v, &rec, nil, map[string]string{"site": site}); err != nil {
			return struct{}{}, err
		}
		c.record(objectRef(exceptionRuleKind, id), change("when", old.Spec.When, spec.When), change("cause", old.Spec.Cause, spec.Cause),
			change("clear", old.Spec.Clear, spec.Clear), change("owner", old.Spec.Owner, spec.Owner))
		return struct{}{}, c.emit(id, ExceptionRuleSaved{Site: site, Rule: spec})
	})
	return err
}

// exceptionRules returns the compiled rules of every site.
func (p *Plant) exceptionRules(ctx context.Context) (map[string][]*execution.Rule, error) {
	recs, err := list[storedExceptionRule](ctx, p, store.Query{Kind: exceptionRuleKind})
	if err != nil {
		return nil, err
	}
	st := &p.execution
	st.cacheMu.Lock()
	defer st.cacheMu.Unlock()
	if st.cache == nil {
		st.cache = map[string]*execution.Rule{}
	}
	out := map[string][]*execution.Rule{}
	for _, r := range recs {
		key := r.Site + "/" + r.Spec.Name
		compiled, ok := st.cache[key]
		if !ok || !sameSpec(compiled.Spec(), r.Spec) {
			if compiled, err = execution.Compile(r.Spec); err != nil {
				return nil, fmt.Errorf("%w: stored exception rule %s: %w", ErrInternal, key, err)
			}
			st.cache[key] = compiled
		}
		out[r.Site] = append(out[r.Site], compiled)
	}
	return out, nil
}

func sameSpec(a, b execution.RuleSpec) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// ExceptionRun reports what RunExceptionRules did.
type ExceptionRun struct {
	Events   int // events read from the log
	Opened   int // tasks opened
	Updated  int // open tasks a rule fired again
	Resolved int // tasks resolved because their cause cleared
	// Failures are the rules that failed on a situation (an *execution.EvalError each,
	// naming the rule, expression and position); the other rules still ran.
	Failures []error
}

// errNothingToCommit ends a command that found nothing to change.
var errNothingToCommit = errors.New("nothing to commit")

// errStaleCheckpoint ends a batch another process has handled meanwhile.
var errStaleCheckpoint = errors.New("checkpoint moved")

// RunExceptionRules evaluates the exception rules. It follows the event log from the
// checkpoint of consumer "execution": for each event of a site with rules (the engine's
// own task events excepted) it looks up the current facts of the lot, work order, hold or
// SPC chart involved and evaluates the site's rules; then it evaluates the situations that
// change with time alone (each queued lot step, active hold, open work order with its fresh
// projection, and recent scrap) as TickEvent. Firings open tasks or update the open task of
// the same cause; clears resolve them. Tasks, events, audit records and the checkpoint
// commit together per batch of events, so a crash repeats no firing. The actor (mes.By) needs
// authority for "execution.process" in each site. Call it after commands, or periodically
// (ticks need the clock to move), together with Escalate.
func (p *Plant) RunExceptionRules(ctx context.Context, opts ...CommandOption) (ExceptionRun, error) {
	p.execution.run.Lock()
	defer p.execution.run.Unlock()
	var run ExceptionRun
	for {
		from, err := p.Checkpoint(ctx, ExecutionConsumer)
		if err != nil {
			return run, err
		}
		evs, err := p.ReadEvents(ctx, from, 256)
		if err != nil || len(evs) == 0 {
			if err != nil {
				return run, err
			}
			break
		}
		run.Events += len(evs)
		b, err := p.eventBatch(ctx, evs)
		if err != nil {
			return run, err
		}
		b.from, b.to = from, evs[len(evs)-1].Position
		err = p.commitBatch(ctx, opts, b, &run)
		if errors.Is(err, errStaleCheckpoint) {
			continue
		}
		if err != nil {
			return run, err
		}
	}
	b, err := p.tickBatch(ctx)
	if err != nil {
		return run, err
	}
	return run, p.commitBatch(ctx, opts, b, &run)
}

// batch is what one commit of RunExceptionRules writes.
type batch struct {
	from, to    uint64 // the events handled: (from, to]; both 0 for ticks
	decisions   []siteDecision
	failures    []error
	windows     map[string]*scrapWindow // changed scrap windows by site
	projections []projectionChange
}

type siteDecision struct {
	site string
	execution.Decision
}

type projectionChange struct {
	site   string
	wo     WorkOrder
	before storedProjection
	after  storedProjection
	found  bool
}

// evaluator evaluates the rules of the sites for situations, tracking open causes.
type evaluator struct {
	rules map[string]*execution.RuleSet
	open  map[string]*execution.OpenCauses
	out   *batch
}

func (p *Plant) newEvaluator(ctx context.Context, tx store.ReadTx, out *batch) (*evaluator, error) {
	rules, err := p.exceptionRules(ctx)
	if err != nil {
		return nil, err
	}
	ev := &evaluator{rules: map[string]*execution.RuleSet{}, open: map[string]*execution.OpenCauses{}, out: out}
	for site, rs := range rules {
		ev.rules[site] = execution.NewRuleSet(rs...)
		open := &execution.OpenCauses{}
		recs, err := tx.List(ctx, store.Query{Kind: taskKind, Site: site, Index: "open", Value: "yes"})
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			var t execution.Task
			if err := decode(r, &t); err != nil {
				return nil, err
			}
			open.Add(t.Rule, t.Cause)
		}
		ev.open[site] = open
	}
	return ev, nil
}

func (ev *evaluator) evaluate(site string, env *execution.Env) {
	ds, errs := ev.rules[site].Evaluate(env, ev.open[site])
	for _, d := range ds {
		ev.out.decisions = append(ev.out.decisions, siteDecision{site: site, Decision: d})
	}
	ev.out.failures = append(ev.out.failures, errs...)
}

// eventBatch evaluates the rules for a batch of events.
func (p *Plant) eventBatch(ctx context.Context, evs []Event) (*batch, error) {
	b := &batch{windows: map[string]*scrapWindow{}}
	now := p.now()
	err := p.view(ctx, func(tx store.ReadTx) error {
		ev, err := p.newEvaluator(ctx, tx, b)
		if err != nil {
			return err
		}
		f := &facts{ctx: ctx, p: p, tx: tx, now: now}
		for _, e := range evs {
			if ev.rules[e.Site] == nil || strings.HasPrefix(e.Type, "task.") || strings.HasPrefix(e.Type, "execution.") {
				continue
			}
			env, err := f.forEvent(e, b)
			if err != nil {
				return err
			}
			ev.evaluate(e.Site, env)
		}
		return nil
	})
	return b, err
}

// tickBatch evaluates the rules for the situations that change with time alone.
func (p *Plant) tickBatch(ctx context.Context) (*batch, error) {
	rules, err := p.exceptionRules(ctx)
	if err != nil {
		return nil, err
	}
	b := &batch{windows: map[string]*scrapWindow{}}
	now := p.now()
	projected, open := map[string]storedProjection{}, map[string][]string{}
	for _, site := range slices.Sorted(maps.Keys(rules)) {
		orders, err := p.openOrders(ctx, site)
		if err != nil {
			return nil, err
		}
		ahead := map[string]map[string]time.Duration{}
		for _, wo := range orders {
			proj, err := p.projectCompletion(ctx, wo, ahead)
			if err != nil {
				return nil, err
			}
			after := storedProjection{WorkOrder: wo.ID, Projected: proj.Finish, Due: wo.Due, Late: proj.Crosses(wo.Due)}
			projected[wo.ID] = after
			open[site] = append(open[site], wo.ID)
			b.projections = append(b.projections, projectionChange{site: site, wo: wo, after: after})
		}
	}
	err = p.view(ctx, func(tx store.ReadTx) error {
		ev, err := p.newEvaluator(ctx, tx, b)
		if err != nil {
			return err
		}
		f := &facts{ctx: ctx, p: p, tx: tx, now: now, projected: projected, orders: open}
		for i := range b.projections {
			pc := &b.projections[i]
			_, err := load(ctx, tx, projectionKind, pc.wo.ID, &pc.before)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			pc.found = err == nil
		}
		for _, site := range slices.Sorted(maps.Keys(ev.rules)) {
			envs, err := f.ticks(site)
			if err != nil {
				return err
			}
			for _, env := range envs {
				ev.evaluate(site, env)
			}
		}
		return nil
	})
	return b, err
}

// commitBatch writes what a batch decided in one command.
func (p *Plant) commitBatch(ctx context.Context, opts []CommandOption, b *batch, run *ExceptionRun) error {
	var counts ExceptionRun
	_, err := execute(ctx, p, "execution.process", opts, func(c *command) (struct{}, error) {
		counts = ExceptionRun{}
		if b.to > 0 {
			var cp checkpoint
			version, err := load(c.ctx, c.tx, checkpointKind, ExecutionConsumer, &cp)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return struct{}{}, err
			}
			if cp.Position != b.from {
				return struct{}{}, errStaleCheckpoint
			}
			if _, err := c.tx.Put(c.ctx, store.Record{Kind: checkpointKind, ID: ExecutionConsumer, Version: version, Value: &checkpoint{Position: b.to}}); err != nil {
				return struct{}{}, err
			}
		}
		sites := map[string]bool{}
		enter := func(site string) error {
			if sites[site] {
				c.site = site
				return nil
			}
			sites[site] = true
			return c.authorize(site)
		}
		for _, d := range b.decisions {
			if err := enter(d.site); err != nil {
				return struct{}{}, err
			}
			if err := c.applyDecision(d, &counts); err != nil {
				return struct{}{}, err
			}
		}
		for _, pc := range b.projections {
			if err := enter(pc.site); err != nil {
				return struct{}{}, err
			}
			if err := c.saveProjection(pc); err != nil {
				return struct{}{}, err
			}
		}
		for _, site := range slices.Sorted(maps.Keys(b.windows)) {
			if err := enter(site); err != nil {
				return struct{}{}, err
			}
			if err := c.saveScrapWindow(site, b.windows[site]); err != nil {
				return struct{}{}, err
			}
		}
		if len(c.audits) == 0 {
			return struct{}{}, errNothingToCommit
		}
		return struct{}{}, nil
	})
	if errors.Is(err, errNothingToCommit) {
		err = nil
		if b.to > 0 {
			err = p.SaveCheckpoint(ctx, ExecutionConsumer, b.to)
		}
	}
	if err == nil {
		run.Opened += counts.Opened
		run.Updated += counts.Updated
		run.Resolved += counts.Resolved
		run.Failures = append(run.Failures, b.failures...)
	}
	return err
}

func openKey(site, rule, cause string) string { return "open:" + site + "/" + rule + "|" + cause }

func taskIndex(t *execution.Task) map[string]string {
	open := "no"
	if !t.State.Closed() {
		open = "yes"
	}
	return map[string]string{"state": string(t.State), "open": open, "rule": t.Rule}
}

func taskKeys(t *execution.Task) []string {
	if t.State.Closed() {
		return nil
	}
	return []string{openKey(t.Site, t.Rule, t.Cause)}
}

func (c *command) saveTask(t *execution.Task, version uint64) error {
	_, err := c.save(taskKind, t.ID, t.Site, version, t, taskKeys(t), taskIndex(t))
	return err
}

// applyDecision opens, updates or resolves the task of a decision's cause.
func (c *command) applyDecision(d siteDecision, counts *ExceptionRun) error {
	rec, err := c.tx.Lookup(c.ctx, taskKind, openKey(d.site, d.Rule.Name(), d.Cause))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	found := err == nil
	var t execution.Task
	if found {
		if err := decode(rec, &t); err != nil {
			return err
		}
	}
	ref := objectRef(taskKind, t.ID)
	switch {
	case d.Action == execution.Fire && !found:
		t = execution.OpenTask(c.p.newID(), d.site, d.Decision)
		if err := c.saveTask(&t, 0); err != nil {
			return err
		}
		counts.Opened++
		c.record(objectRef(taskKind, t.ID), change("state", "", t.State), change("owner", "", t.Owner.Role), change("cause", "", t.Rule+"|"+t.Cause))
		return c.emit(t.ID, TaskOpened{Task: t})
	case d.Action == execution.Fire:
		upd, changed, err := t.Fire(d.Links, d.At, d.Event != execution.TickEvent)
		if err != nil || !changed {
			return err
		}
		if err := c.saveTask(&upd, rec.Version); err != nil {
			return err
		}
		counts.Updated++
		c.record(ref, change("occurrences", t.Occurrences, upd.Occurrences), change("links", t.Links, upd.Links))
		return c.emit(t.ID, TaskUpdated{Task: upd, Change: "fired"})
	case d.Action == execution.Clear && found:
		done, err := t.AutoResolve(d.At)
		if err != nil {
			return err
		}
		if err := c.saveTask(&done, rec.Version); err != nil {
			return err
		}
		counts.Resolved++
		c.record(ref, change("state", t.State, done.State), change("note", "", done.Note))
		return c.emit(t.ID, TaskResolved{Task: done, Auto: true})
	}
	return nil
}

// ProjectionTolerance is how far a work order's projected completion may move before
// RunExceptionRules stores (and audits) the new projection; a crossing of the due date is
// always stored.
const ProjectionTolerance = 15 * time.Minute

// saveProjection stores a work order's projection when it moved by more than
// ProjectionTolerance or crossed the due date, and announces a crossing.
func (c *command) saveProjection(pc projectionChange) error {
	moved := pc.after.Projected.Sub(pc.before.Projected)
	if pc.found && pc.before.Late == pc.after.Late && moved.Abs() <= ProjectionTolerance {
		return nil
	}
	var version uint64
	if pc.found {
		rec, err := c.tx.Get(c.ctx, projectionKind, pc.wo.ID)
		if err != nil {
			return storeErr(err)
		}
		version = rec.Version
	}
	after := pc.after
	if _, err := c.save(projectionKind, pc.wo.ID, pc.site, version, &after, nil, nil); err != nil {
		return err
	}
	c.record(objectRef(projectionKind, pc.wo.ID), change("projected", pc.before.Projected, after.Projected), change("late", pc.before.Late, after.Late))
	switch {
	case after.Late && (!pc.found || !pc.before.Late):
		return c.emit(pc.wo.ID, DueDateAtRisk{WorkOrder: pc.wo.ID, Number: pc.wo.Number, Projected: after.Projected, Due: after.Due, Late: after.Projected.Sub(after.Due)})
	case !after.Late && (!pc.found || pc.before.Late):
		return c.emit(pc.wo.ID, CompletionProjected{WorkOrder: pc.wo.ID, Number: pc.wo.Number, Projected: after.Projected, Due: after.Due})
	}
	return nil
}

func (c *command) saveScrapWindow(site string, w *scrapWindow) error {
	var old scrapWindow
	version, err := load(c.ctx, c.tx, scrapWindowKind, site, &old)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if _, err := c.save(scrapWindowKind, site, site, version, w, nil, nil); err != nil {
		return err
	}
	c.record(objectRef(scrapWindowKind, site), change("entries", len(old.Entries), len(w.Entries)))
	return nil
}

// facts looks up the current-state facts of situations in one read transaction.
type facts struct {
	ctx       context.Context
	p         *Plant
	tx        store.ReadTx
	now       time.Time
	projected map[string]storedProjection // fresh projections of this run, by work order
	orders    map[string][]string         // the open work orders of this run, by site
}

// forEvent builds the rule environment of an event.
func (f *facts) forEvent(e Event, b *batch) (*execution.Env, error) {
	env := &execution.Env{Now: f.now, Event: execution.EventFacts{Type: e.Type, Subject: e.Subject, Site: e.Site, Time: e.Time, Fields: flatten(e.Data)}}
	var err error
	switch ev := e.Payload.(type) {
	case *LotStarted:
		err = f.lot(env, ev.Lot, ev.Step)
	case *LotTrackedIn:
		err = f.lot(env, ev.Lot, ev.Step)
	case *LotTrackedOut:
		err = f.lot(env, ev.Lot, ev.Step)
	case *OperationCompleted:
		err = f.lot(env, ev.Lot, ev.Step)
	case *LotStepMoved:
		err = f.lot(env, ev.Lot, ev.Step)
	case *LotScrapped:
		if err = f.lot(env, ev.Lot, ev.Step); err == nil {
			err = f.scrapped(env, e, ev, b)
		}
	case *SPCViolation:
		env.SPC = execution.SPCFacts{Violation: true, Characteristic: ev.Characteristic, Equipment: ev.Equipment, Value: ev.Value}
		if len(ev.Violations) > 0 {
			env.SPC.Rule = fmt.Sprint(ev.Violations[0].Rule)
		}
		if err = f.lot(env, ev.Lot, ev.Step); err == nil && ev.Equipment != "" {
			env.Equipment = ev.Equipment
		}
	case *HoldPlaced:
		err = f.hold(env, ev.Hold.ID)
	case *HoldReleased:
		err = f.hold(env, ev.Hold.ID)
	case *WorkOrderReleased:
		err = f.order(env, ev.ID)
	case *WorkOrderStarted:
		err = f.order(env, ev.ID)
	case *WorkOrderCompleted:
		err = f.order(env, ev.ID)
	case *WorkOrderCancelled:
		err = f.order(env, ev.ID)
	case *WorkOrderPriorityChanged:
		err = f.order(env, ev.ID)
	}
	return env, err
}

// flatten turns an event's JSON data into a flat map: nested names joined with dots.
func flatten(data json.RawMessage) map[string]string {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return nil
	}
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		join := func(k string) string {
			if prefix == "" {
				return k
			}
			return prefix + "." + k
		}
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(join(k), e)
			}
		case []any:
			for i, e := range x {
				walk(join(fmt.Sprint(i)), e)
			}
		case nil:
			out[prefix] = ""
		default:
			out[prefix] = fmt.Sprint(x)
		}
	}
	walk("", v)
	return out
}

// lot fills the facts of a lot at a step, its work order and the components the step needs.
func (f *facts) lot(env *execution.Env, lotID, step string) error {
	var l Lot
	if _, err := load(f.ctx, f.tx, lotKind, lotID, &l); errors.Is(err, ErrNotFound) || lotID == "" {
		return nil
	} else if err != nil {
		return err
	}
	env.Lot = execution.LotFacts{ID: l.ID, Step: step, Material: l.Material}
	if l.WorkOrder != "" {
		if err := f.order(env, l.WorkOrder); err != nil {
			return err
		}
	}
	if l.Execution == nil || step == "" {
		return nil
	}
	rt, err := f.p.routings.get(f.ctx, f.tx, routingRecordID(l.Site, l.Execution.Routing, l.Execution.Revision))
	if err != nil {
		return err
	}
	s, ok := rt.Step(step)
	if !ok {
		return nil
	}
	env.Lot.WorkCenter, env.Equipment = s.WorkCenter, s.WorkCenter
	waiting := stepBooks(*l.Execution, step).Waiting
	if !waiting.IsPositive() {
		return nil
	}
	env.Lot.Queued, env.Lot.Quantity, env.Lot.Unit = true, waiting.Value().InexactFloat64(), string(waiting.Unit())
	if since, ok := l.QueuedSince[step]; ok {
		env.Lot.WaitingMinutes = f.now.Sub(since).Minutes()
	}
	for _, m := range s.Materials {
		have, err := availableQty(f.ctx, f.tx, l.Site, m.Component, m.PerUnit.Unit())
		if err != nil {
			return err
		}
		if missing, err := m.PerUnit.Mul(waiting.Value()).Sub(have); err == nil && missing.IsPositive() {
			env.Material = execution.MaterialFacts{Short: true, Component: m.Component, ShortQty: missing.Value().InexactFloat64(), Unit: string(missing.Unit())}
			break
		}
	}
	return nil
}

// order fills the facts of a work order, with its latest projection.
func (f *facts) order(env *execution.Env, id string) error {
	var wo WorkOrder
	if _, err := load(f.ctx, f.tx, workOrderKind, id, &wo); errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	env.Order = execution.OrderFacts{ID: wo.ID, Number: wo.Number, Product: wo.Product, Customer: wo.Customer, Status: string(wo.Status),
		Priority: wo.Priority, Due: wo.Due, Open: wo.Status == StatusReleased || wo.Status == StatusRunning}
	proj, ok := f.projected[wo.ID]
	if !ok {
		_, err := load(f.ctx, f.tx, projectionKind, wo.ID, &proj)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if !proj.Projected.IsZero() {
		env.Order.Projected = proj.Projected
		if !wo.Due.IsZero() {
			env.Order.LateHours = proj.Projected.Sub(wo.Due).Hours()
		}
	}
	return nil
}

// hold fills the facts of a hold as it stands now.
func (f *facts) hold(env *execution.Env, id string) error {
	var h quality.Hold
	if _, err := load(f.ctx, f.tx, holdKind, id, &h); errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	env.Hold = execution.HoldFacts{ID: h.ID, Active: h.Active(), Kind: string(h.Target.Kind), Target: h.Target.ID, Reason: h.Reason, AgeHours: f.now.Sub(h.At).Hours()}
	switch h.Target.Kind {
	case quality.OnEquipment:
		env.Equipment = h.Target.ID
	case quality.OnLot:
		env.Lot.ID = h.Target.ID
	case quality.OnWorkOrder:
		return f.order(env, h.Target.ID)
	}
	return nil
}

// scrapped adds a scrap to its site's window and fills the scrap facts as of the event.
func (f *facts) scrapped(env *execution.Env, e Event, s *LotScrapped, b *batch) error {
	w, ok := b.windows[e.Site]
	if !ok {
		w = &scrapWindow{}
		if _, err := load(f.ctx, f.tx, scrapWindowKind, e.Site, w); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		b.windows[e.Site] = w
	}
	w.Entries = slices.DeleteFunc(w.Entries, func(x scrapEntry) bool {
		return !x.At.After(f.now.Add(-time.Hour)) && !x.At.After(e.Time.Add(-time.Hour))
	})
	product := env.Order.Product
	w.Entries = append(w.Entries, scrapEntry{Product: product, Step: s.Step, At: e.Time, Qty: s.Qty.Value(), Unit: s.Qty.Unit()})
	env.Scrap = execution.ScrapFacts{Product: product, Step: s.Step, Reason: s.Reason, Qty: s.Qty.Value().InexactFloat64(),
		LastHour: w.lastHour(product, s.Step, e.Time), Unit: string(s.Qty.Unit())}
	return nil
}

// ticks builds the situations of a site that change with time alone.
func (f *facts) ticks(site string) ([]*execution.Env, error) {
	tick := func() *execution.Env {
		return &execution.Env{Now: f.now, Event: execution.EventFacts{Type: execution.TickEvent, Site: site, Time: f.now}}
	}
	var out []*execution.Env
	lots, err := f.tx.List(f.ctx, store.Query{Kind: lotKind, Site: site, Index: "wip", Value: "yes"})
	if err != nil {
		return nil, err
	}
	for _, rec := range lots {
		var l Lot
		if err := decode(rec, &l); err != nil {
			return nil, err
		}
		for _, sp := range l.Execution.Steps {
			if sp.Waiting.IsPositive() {
				env := tick()
				env.Event.Subject = l.ID
				if err := f.lot(env, l.ID, sp.Step); err != nil {
					return nil, err
				}
				out = append(out, env)
			}
		}
	}
	holds, err := f.tx.List(f.ctx, store.Query{Kind: holdKind, Site: site, Index: "state", Value: "active"})
	if err != nil {
		return nil, err
	}
	for _, rec := range holds {
		env := tick()
		env.Event.Subject = rec.ID
		if err := f.hold(env, rec.ID); err != nil {
			return nil, err
		}
		out = append(out, env)
	}
	for _, id := range f.orders[site] {
		env := tick()
		env.Event.Subject = id
		if err := f.order(env, id); err != nil {
			return nil, err
		}
		out = append(out, env)
	}
	var w scrapWindow
	if _, err := load(f.ctx, f.tx, scrapWindowKind, site, &w); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	seen := map[[2]string]bool{}
	for _, e := range w.Entries {
		k := [2]string{e.Product, e.Step}
		if seen[k] {
			continue
		}
		seen[k] = true
		env := tick()
		env.Scrap = execution.ScrapFacts{Product: e.Product, Step: e.Step, LastHour: w.lastHour(e.Product, e.Step, f.now), Unit: string(e.Unit)}
		out = append(out, env)
	}
	return out, nil
}

// ---- tasks -------------------------------------------------------------------------------

// taskActor is the command's actor as the execution package sees it: roles scoped to
// another site ("role@SITE") do not count.
func (c *command) taskActor() execution.Actor {
	a := execution.Actor{ID: c.opts.actor.ID}
	for _, r := range c.opts.actor.Roles {
		name, site, scoped := strings.Cut(r, "@")
		if !scoped || site == c.site {
			a.Roles = append(a.Roles, name)
		}
	}
	return a
}

// taskErr wraps an execution error with the engine's sentinel.
func taskErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, execution.ErrWrongState):
		return fmt.Errorf("%w: %w", ErrWrongState, err)
	case errors.Is(err, execution.ErrNotOwner):
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}

// changeTask runs one person's command on a task.
func (p *Plant) changeTask(ctx context.Context, id, action string, opts []CommandOption,
	apply func(c *command, t execution.Task) (execution.Task, EventPayload, error)) (execution.Task, error) {
	return execute(ctx, p, action, opts, func(c *command) (execution.Task, error) {
		rec, err := c.tx.Get(c.ctx, taskKind, id)
		if err != nil {
			return execution.Task{}, fmt.Errorf("task %q: %w", id, storeErr(err))
		}
		var t execution.Task
		if err := decode(rec, &t); err != nil {
			return execution.Task{}, err
		}
		if err := c.authorize(rec.Site); err != nil {
			return execution.Task{}, err
		}
		after, ev, err := apply(c, t)
		if err != nil {
			return execution.Task{}, taskErr(err)
		}
		if err := c.saveTask(&after, rec.Version); err != nil {
			return execution.Task{}, err
		}
		c.record(objectRef(taskKind, t.ID), change("state", t.State, after.State), change("owner", t.Owner, after.Owner))
		return after, c.emit(t.ID, ev)
	})
}

// AcknowledgeTask takes an open task: the actor, who must hold its owner role, becomes its
// owner person and escalation waits for the due time.
func (p *Plant) AcknowledgeTask(ctx context.Context, id string, opts ...CommandOption) (execution.Task, error) {
	return p.changeTask(ctx, id, "task.acknowledge", opts, func(c *command, t execution.Task) (execution.Task, EventPayload, error) {
		t, err := t.Acknowledge(c.taskActor(), c.now)
		return t, TaskUpdated{Task: t, Change: "acknowledged"}, err
	})
}

// StartTask marks an acknowledged task in progress.
func (p *Plant) StartTask(ctx context.Context, id string, opts ...CommandOption) (execution.Task, error) {
	return p.changeTask(ctx, id, "task.start", opts, func(c *command, t execution.Task) (execution.Task, EventPayload, error) {
		t, err := t.Start(c.taskActor(), c.now)
		return t, TaskUpdated{Task: t, Change: "started"}, err
	})
}

// ResolveTask resolves an acknowledged or in-progress task with the inputs its rule requires
// (for example a reason code or a disposition); without them it is refused with ErrInvalid
// wrapping an *execution.MissingInputsError that names each missing input.
func (p *Plant) ResolveTask(ctx context.Context, id string, inputs map[string]string, opts ...CommandOption) (execution.Task, error) {
	return p.changeTask(ctx, id, "task.resolve", opts, func(c *command, t execution.Task) (execution.Task, EventPayload, error) {
		t, err := t.Resolve(c.taskActor(), inputs, c.now)
		return t, TaskResolved{Task: t}, err
	})
}

// CancelTask closes a task that needs no action; say why with mes.Reason (required).
func (p *Plant) CancelTask(ctx context.Context, id string, opts ...CommandOption) (execution.Task, error) {
	return p.changeTask(ctx, id, "task.cancel", opts, func(c *command, t execution.Task) (execution.Task, EventPayload, error) {
		t, err := t.Cancel(c.taskActor(), c.opts.reason, c.now)
		return t, TaskCancelled{Task: t}, err
	})
}

// Task returns the task with id.
func (p *Plant) Task(ctx context.Context, id string) (execution.Task, error) {
	var t execution.Task
	err := p.view(ctx, func(tx store.ReadTx) error {
		_, err := load(ctx, tx, taskKind, id, &t)
		return err
	})
	return t, err
}

// Tasks returns the tasks of site in state (every state when empty), ordered by id.
func (p *Plant) Tasks(ctx context.Context, site string, state execution.State) ([]execution.Task, error) {
	q := store.Query{Kind: taskKind, Site: site}
	if state != "" {
		q.Index, q.Value = "state", string(state)
	}
	return list[execution.Task](ctx, p, q)
}

// Escalate moves every open task of the sites with exception rules that nobody acted on in
// time to the next role of its escalation path, as of the plant clock: a TaskEscalated
// event and an audit record per step. It returns how many steps were taken. Call it
// periodically; the actor (mes.By) needs authority for "task.escalate".
func (p *Plant) Escalate(ctx context.Context, opts ...CommandOption) (int, error) {
	rules, err := p.exceptionRules(ctx)
	if err != nil {
		return 0, err
	}
	n, err := execute(ctx, p, "task.escalate", opts, func(c *command) (int, error) {
		n := 0
		for _, site := range slices.Sorted(maps.Keys(rules)) {
			if err := c.authorize(site); err != nil {
				return 0, err
			}
			recs, err := c.tx.List(c.ctx, store.Query{Kind: taskKind, Site: site, Index: "open", Value: "yes"})
			if err != nil {
				return 0, err
			}
			for _, rec := range recs {
				var t execution.Task
				if err := decode(rec, &t); err != nil {
					return 0, err
				}
				up, steps := t.Escalate(c.now)
				if len(steps) == 0 {
					continue
				}
				if err := c.saveTask(&up, rec.Version); err != nil {
					return 0, err
				}
				c.record(objectRef(taskKind, t.ID), change("owner", t.Owner, up.Owner), change("level", t.Level, up.Level))
				for _, s := range steps {
					n++
					if err := c.emit(t.ID, TaskEscalated{Task: up, From: s.From, To: s.To, Reason: s.Reason, Level: s.Level}); err != nil {
						return 0, err
					}
				}
			}
		}
		if n == 0 {
			return 0, errNothingToCommit
		}
		return n, nil
	})
	if errors.Is(err, errNothingToCommit) {
		return 0, nil
	}
	return n, err
}

// ---- projected completion ----------------------------------------------------------------

func (p *Plant) openOrders(ctx context.Context, site string) ([]WorkOrder, error) {
	var out []WorkOrder
	for _, s := range []WorkOrderStatus{StatusReleased, StatusRunning} {
		wos, err := p.WorkOrders(ctx, site, s)
		if err != nil {
			return nil, err
		}
		out = append(out, wos...)
	}
	return out, nil
}

// ProjectCompletion projects when a released or running work order will be done (see
// execution.Project): its remaining main-line operations with their standard times for the
// quantity still to pass each (waiting and in process at the step, the lots' quantity for
// steps they have not reached, and the quantity not started yet), behind the work the
// dispatch list ranks ahead of the order at each work center, counting only the site's
// shift calendar (every hour when the site has none). Use it to promise ship dates;
// RunExceptionRules keeps the projection of every open order and announces crossings of the
// due date (DueDateAtRisk).
func (p *Plant) ProjectCompletion(ctx context.Context, workOrderID string) (execution.Projection, error) {
	wo, err := p.WorkOrder(ctx, workOrderID)
	if err != nil {
		return execution.Projection{}, err
	}
	if wo.Status != StatusReleased && wo.Status != StatusRunning {
		return execution.Projection{}, &TransitionError{Object: wo.ref(), State: string(wo.Status), Command: "project the completion of", Allowed: "[released running]"}
	}
	return p.projectCompletion(ctx, wo, map[string]map[string]time.Duration{})
}

// projectCompletion projects an open order; ahead caches the work ahead per work center and
// order for a run over many orders.
func (p *Plant) projectCompletion(ctx context.Context, wo WorkOrder, ahead map[string]map[string]time.Duration) (execution.Projection, error) {
	var ops []execution.Operation
	err := p.view(ctx, func(tx store.ReadTx) error {
		rt, err := p.routings.get(ctx, tx, routingRecordID(wo.Site, wo.Routing, wo.RoutingRevision))
		if err != nil {
			return err
		}
		recs, err := tx.List(ctx, store.Query{Kind: lotKind, Site: wo.Site, Index: "workorder", Value: wo.ID})
		if err != nil {
			return err
		}
		lots := make([]Lot, len(recs))
		for i, r := range recs {
			if err := decode(r, &lots[i]); err != nil {
				return err
			}
		}
		ops = remainingOperations(rt, wo, lots)
		return nil
	})
	if err != nil {
		return execution.Projection{}, err
	}
	work := map[string]time.Duration{}
	for _, op := range ops {
		if _, ok := ahead[op.WorkCenter]; !ok {
			if ahead[op.WorkCenter], err = p.workAhead(ctx, wo.Site, op.WorkCenter); err != nil {
				return execution.Projection{}, err
			}
		}
		d, queued := ahead[op.WorkCenter][wo.ID]
		if !queued {
			d = ahead[op.WorkCenter][""]
		}
		work[op.WorkCenter] = d
	}
	cal, err := p.ShiftCalendar(ctx, wo.Site)
	var working execution.Calendar
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return execution.Projection{}, err
	default:
		working = shiftTime(cal)
	}
	proj, err := execution.Project(p.now(), ops, work, working)
	if err != nil {
		return execution.Projection{}, fmt.Errorf("%w: projecting %s: %w", ErrInvalid, wo.ref(), err)
	}
	return proj, nil
}

// workAhead returns, for each work order, the standard time the dispatch list of a work
// center ranks ahead of the order's first entry; key "" is the whole list (for orders not
// queued there).
func (p *Plant) workAhead(ctx context.Context, site, wc string) (map[string]time.Duration, error) {
	l, err := p.DispatchList(ctx, site, wc)
	if errors.Is(err, ErrNotFound) {
		return map[string]time.Duration{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]time.Duration{}
	var total time.Duration
	for _, e := range l.Ranked {
		if _, seen := out[e.Candidate.WorkOrder]; !seen {
			out[e.Candidate.WorkOrder] = total
		}
		total += e.Candidate.OpTime
	}
	out[""] = total
	return out, nil
}

// remainingOperations lists the main-line steps of a routing (rework paths excluded) with the
// quantity of the order still to pass each: for every lot, the quantity waiting and in
// process at a step it has reached and not finished, or its quantity for a step it has not
// reached; plus the quantity not started yet, for every step.
func remainingOperations(rt *routing.Routing, wo WorkOrder, lots []Lot) []execution.Operation {
	unstarted, _ := wo.Qty.Sub(wo.Started)
	var ops []execution.Operation
	for i, s := range rt.Steps {
		if s.ReworkEntry && i > 0 {
			break // rework paths are listed after the main line
		}
		qty := decimal.Max(unstarted.Value(), decimal.Zero)
		for _, l := range lots {
			if l.Execution == nil || !l.Execution.Running() || i >= len(l.Execution.Steps) {
				continue
			}
			sp := l.Execution.Steps[i]
			switch {
			case sp.Done:
			case sp.Received.IsPositive():
				qty = qty.Add(sp.Waiting.Value()).Add(sp.InProcess.Value())
			default:
				qty = qty.Add(l.OnHand.Value())
			}
		}
		ops = append(ops, execution.Operation{Step: s.ID, WorkCenter: s.WorkCenter, Setup: s.Setup, RunPerUnit: s.RunPerUnit, Quantity: qty})
	}
	return ops
}

// shiftTime adapts a shift calendar to execution.Calendar: each shift minus its breaks.
func shiftTime(cal labor.Calendar) execution.Calendar {
	return execution.CalendarFunc(func(from, to time.Time) ([]execution.Interval, error) {
		shifts, err := cal.Shifts(from, to)
		if err != nil {
			return nil, err
		}
		var out []execution.Interval
		for _, si := range shifts {
			breaks := slices.Clone(si.Breaks)
			slices.SortFunc(breaks, func(a, b labor.Interval) int { return a.From.Compare(b.From) })
			start := si.Start
			for _, b := range breaks {
				if b.From.After(start) {
					out = append(out, execution.Interval{From: start, To: b.From})
				}
				if b.To.After(start) {
					start = b.To
				}
			}
			if si.End.After(start) {
				out = append(out, execution.Interval{From: start, To: si.End})
			}
		}
		return out, nil
	})
}

// ---- KPIs --------------------------------------------------------------------------------

// KPIs computes the execution KPIs of site over window from the event log, grouped by the
// dimensions given (see execution.KPIs for every formula). Work centers are those of the
// equipment the lots were tracked on (a work unit counts for its work center); shifts are
// those of the site's shift calendar ("" without one). It reads the whole log: call it for
// reports, not per event.
func (p *Plant) KPIs(ctx context.Context, site string, window execution.Window, groupBy ...execution.Dimension) ([]execution.KPIs, error) {
	a := &kpiAdapter{ctx: ctx, p: p, product: map[string]string{}, due: map[string]time.Time{}, wc: map[string]string{}}
	cal, err := p.ShiftCalendar(ctx, site)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, err
	default:
		a.shift = func(t time.Time) string { si, _ := cal.ShiftAt(t); return si.Shift }
	}
	var records []execution.Record
	for after := uint64(0); ; {
		evs, err := p.ReadEvents(ctx, after, 1024)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			break
		}
		after = evs[len(evs)-1].Position
		for _, e := range evs {
			if e.Site != site || !e.Time.Before(window.To) {
				continue
			}
			rs, err := a.records(e)
			if err != nil {
				return nil, err
			}
			records = append(records, rs...)
		}
	}
	kpis, err := execution.Compute(records, window, groupBy...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return kpis, nil
}

// kpiAdapter turns events into execution.Records, remembering what later events need.
type kpiAdapter struct {
	ctx     context.Context
	p       *Plant
	shift   func(time.Time) string
	product map[string]string    // work order -> product
	due     map[string]time.Time // work order -> due
	wc      map[string]string    // equipment -> work center
}

func (a *kpiAdapter) records(e Event) ([]execution.Record, error) {
	r := execution.Record{Time: e.Time}
	if a.shift != nil {
		r.Shift = a.shift(e.Time)
	}
	order := func(id string) {
		r.WorkOrder, r.Product, r.Due = id, a.product[id], a.due[id]
	}
	var err error
	switch ev := e.Payload.(type) {
	case *WorkOrderCreated:
		a.product[ev.WorkOrder.ID], a.due[ev.WorkOrder.ID] = ev.WorkOrder.Product, ev.WorkOrder.Due
		return nil, nil
	case *WorkOrderReleased:
		r.Kind = execution.OrderReleased
		order(ev.ID)
	case *WorkOrderCompleted:
		r.Kind = execution.OrderCompleted
		order(ev.ID)
	case *WorkOrderPriorityChanged:
		r.Kind, r.From, r.To = execution.PriorityChanged, ev.From, ev.To
		order(ev.ID)
	case *LotStarted:
		r.Kind, r.Lot = execution.LotStarted, ev.Lot
		order(ev.WorkOrder)
		var first string
		first, err = a.firstStep(ev.Routing, ev.Revision, e.Site)
		r.Rework = ev.Step != first
	case *LotTrackedIn:
		r.Kind, r.Lot, r.Step = execution.TrackedIn, ev.Lot, ev.Step
		order(ev.WorkOrder)
		if r.WorkCenter, err = a.workCenter(ev.Equipment); err == nil {
			r.SetupFamily, err = a.family(e.Site, ev.Lot, ev.Step)
		}
	case *LotTrackedOut:
		r.Kind, r.Lot, r.Step, r.Good = execution.TrackedOut, ev.Lot, ev.Step, ev.Good.Value()
		order(ev.WorkOrder)
		r.Scrap = decimal.Zero
		for _, s := range ev.Scrap {
			r.Scrap = r.Scrap.Add(s.Qty.Value())
		}
		if !ev.Rework.Qty.IsZero() {
			r.Reworked = ev.Rework.Qty.Value()
		}
		r.WorkCenter, err = a.workCenter(ev.Equipment)
	case *LotScrapped:
		r.Kind, r.Lot, r.Step, r.Qty, r.Reason = execution.Scrapped, ev.Lot, ev.Step, ev.Qty.Value(), ev.Reason
		order(ev.WorkOrder)
		r.WorkCenter, err = a.stepWorkCenter(e.Site, ev.Lot, ev.Step)
	case *OperationCompleted:
		r.Kind, r.Lot, r.Step = execution.StepCompleted, ev.Lot, ev.Step
		order(ev.WorkOrder)
		r.WorkCenter, err = a.stepWorkCenter(e.Site, ev.Lot, ev.Step)
	case *LotCompleted:
		r.Kind, r.Lot = execution.LotCompleted, ev.Lot
		order(ev.WorkOrder)
	default:
		return nil, nil
	}
	return []execution.Record{r}, err
}

// workCenter returns the work center of equipment: itself, or its nearest work-center
// ancestor.
func (a *kpiAdapter) workCenter(eq string) (string, error) {
	if wc, ok := a.wc[eq]; ok || eq == "" {
		return wc, nil
	}
	wc := eq
	err := a.p.view(a.ctx, func(tx store.ReadTx) error {
		for id, depth := eq, 0; id != "" && depth < 8; depth++ {
			var se storedEquipment
			if _, err := load(a.ctx, tx, equipmentKind, id, &se); errors.Is(err, ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			if se.Level == equipment.WorkCenter {
				wc = id
				return nil
			}
			id = se.Parent
		}
		return nil
	})
	a.wc[eq] = wc
	return wc, err
}

// step returns the routing step a lot is at, from the lot's pinned routing revision.
func (a *kpiAdapter) step(site, lotID, stepID string) (routing.Step, error) {
	var s routing.Step
	err := a.p.view(a.ctx, func(tx store.ReadTx) error {
		var l Lot
		if _, err := load(a.ctx, tx, lotKind, lotID, &l); err != nil || l.Execution == nil {
			return err
		}
		rt, err := a.p.routings.get(a.ctx, tx, routingRecordID(site, l.Execution.Routing, l.Execution.Revision))
		if err != nil {
			return err
		}
		s, _ = rt.Step(stepID)
		return nil
	})
	return s, err
}

func (a *kpiAdapter) family(site, lot, step string) (string, error) {
	s, err := a.step(site, lot, step)
	return s.SetupFamily, err
}

func (a *kpiAdapter) stepWorkCenter(site, lot, step string) (string, error) {
	s, err := a.step(site, lot, step)
	return s.WorkCenter, err
}

func (a *kpiAdapter) firstStep(id, revision, site string) (string, error) {
	var first string
	err := a.p.view(a.ctx, func(tx store.ReadTx) error {
		rt, err := a.p.routings.get(a.ctx, tx, routingRecordID(site, id, revision))
		if err == nil && len(rt.Steps) > 0 {
			first = rt.Steps[0].ID
		}
		return err
	})
	return first, err
}
