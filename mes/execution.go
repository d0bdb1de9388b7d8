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

func (*storedProjection) detach() {} // nothing shared: an in-memory store keeps the value

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
	run     sync.Mutex            // one RunExceptionRules at a time per process
	cacheMu sync.Mutex            // guards cache
	cache   map[string]cachedRule // compiled rules by site/name
}

// cachedRule is a compiled rule with the version of the stored record it was compiled from.
type cachedRule struct {
	version uint64 // of the record compiled
	rule    *execution.Rule
}

// SaveExceptionRule adds or replaces an exception rule of site. The rule is compiled and
// checked now: a rule with problems is refused (ErrInvalid wrapping an
// *execution.RuleError that lists every problem with its position) and nothing changes.
// Rules take effect at the next RunExceptionRules.
func (p *Plant) SaveExceptionRule(ctx context.Context, site string, spec execution.RuleSpec, opts ...CommandOption) error {
	_, err := execute(ctx, p, "exception.save_rule", []string{site, spec.Name}, opts, func(c *command) (struct{}, error) {
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
		if _, err := save(c, exceptionRuleKind, id, "", v, &rec, nil, map[string]string{"site": site}); err != nil {
			return struct{}{}, err
		}
		c.record(objectRef(exceptionRuleKind, id), change("when", old.Spec.When, spec.When), change("cause", old.Spec.Cause, spec.Cause),
			change("clear", old.Spec.Clear, spec.Clear), change("owner", old.Spec.Owner, spec.Owner))
		return struct{}{}, c.emit(id, ExceptionRuleSaved{Site: site, Rule: spec})
	})
	return err
}

// exceptionRules returns the compiled rules of every site. A rule is compiled again only
// when its stored record changed.
func (p *Plant) exceptionRules(ctx context.Context) (map[string][]*execution.Rule, error) {
	var recs []store.Record
	err := p.view(ctx, func(tx store.ReadTx) error {
		var err error
		recs, err = tx.List(ctx, store.Query{Kind: exceptionRuleKind})
		return err
	})
	if err != nil {
		return nil, err
	}
	st := &p.execution
	st.cacheMu.Lock()
	defer st.cacheMu.Unlock()
	if st.cache == nil {
		st.cache = map[string]cachedRule{}
	}
	out := map[string][]*execution.Rule{}
	for _, rec := range recs {
		c, ok := st.cache[rec.ID]
		if !ok || c.version != rec.Version {
			var r storedExceptionRule
			if err := decode(rec, &r); err != nil {
				return nil, err
			}
			compiled, err := execution.Compile(r.Spec)
			if err != nil {
				return nil, fmt.Errorf("%w: stored exception rule %s: %w", ErrInternal, rec.ID, err)
			}
			c = cachedRule{version: rec.Version, rule: compiled}
			st.cache[rec.ID] = c
		}
		site := rec.Index["site"]
		out[site] = append(out[site], c.rule)
	}
	return out, nil
}

// ExceptionRun reports what RunExceptionRules did.
type ExceptionRun struct {
	Events int // events read from the log
	// Evaluated counts the events the rules were evaluated for: those of sites with rules,
	// except the engine's own task and execution events.
	Evaluated int
	Ticks     int // situations evaluated because time passed (see TickEvent)
	Opened    int // tasks opened
	Updated   int // open tasks a rule fired again
	Resolved  int // tasks resolved because their cause cleared
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
// (ticks need the clock to move), together with Escalate. The rules and open tasks are read
// once per call: rules saved meanwhile take effect at the next call.
func (p *Plant) RunExceptionRules(ctx context.Context, opts ...CommandOption) (ExceptionRun, error) {
	p.execution.run.Lock()
	defer p.execution.run.Unlock()
	var run ExceptionRun
	ev, err := p.newEvaluator(ctx)
	if err != nil {
		return run, err
	}
	for {
		from, err := p.Checkpoint(ctx, ExecutionConsumer)
		if err != nil {
			return run, err
		}
		read, err := p.store.ReadEvents(ctx, from, 256)
		if err != nil || len(read) == 0 {
			if err != nil {
				return run, storeErr(err)
			}
			break
		}
		p.boards.follow(ctx, p, read) // the dispatch lists of the tick pass need not read them again
		run.Events += len(read)
		b, err := p.eventBatch(ctx, ev, read)
		if err != nil {
			return run, err
		}
		b.from, b.to = from, read[len(read)-1].Position
		err = p.commitBatch(ctx, opts, b, &run)
		if errors.Is(err, errStaleCheckpoint) {
			// Another process handled these events; its tasks are in the store.
			if err := ev.loadOpen(ctx); err != nil {
				return run, err
			}
			continue
		}
		if err != nil {
			return run, err
		}
	}
	// The tick pass sees the tasks as they are now: other processes and people may have
	// opened, resolved or cancelled some during the event batches (which their events show).
	if run.Events > 0 {
		if err := ev.loadOpen(ctx); err != nil {
			return run, err
		}
	}
	b, err := p.tickBatch(ctx, ev)
	if err != nil {
		return run, err
	}
	return run, p.commitBatch(ctx, opts, b, &run)
}

// batch is what one commit of RunExceptionRules writes.
type batch struct {
	from, to    uint64 // the events handled: (from, to]; both 0 for ticks
	evaluated   int    // events evaluated
	ticks       int    // tick situations evaluated
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
	site, order, number string // the work order's site, id and number
	before, after       storedProjection
	found               bool
}

// evaluator evaluates the rules of the sites for situations, tracking which causes have an
// open task. One serves a whole RunExceptionRules: the causes it opens and clears follow
// what the batches commit.
type evaluator struct {
	p     *Plant
	rules map[string]*execution.RuleSet
	open  map[string]*execution.OpenCauses
}

func (p *Plant) newEvaluator(ctx context.Context) (*evaluator, error) {
	rules, err := p.exceptionRules(ctx)
	if err != nil {
		return nil, err
	}
	ev := &evaluator{p: p, rules: map[string]*execution.RuleSet{}}
	for site, rs := range rules {
		ev.rules[site] = execution.NewRuleSet(rs...)
	}
	return ev, ev.loadOpen(ctx)
}

// loadOpen reads the causes of the open tasks of the sites with rules.
func (ev *evaluator) loadOpen(ctx context.Context) error {
	ev.open = map[string]*execution.OpenCauses{}
	return ev.p.view(ctx, func(tx store.ReadTx) error {
		for site := range ev.rules {
			open := &execution.OpenCauses{}
			recs, err := tx.List(ctx, store.Query{Kind: taskKind, Site: site, Index: "open", Value: "yes"})
			if err != nil {
				return err
			}
			for _, r := range recs {
				rule, cause, err := openCause(site, r)
				if err != nil {
					return err
				}
				open.Add(rule, cause)
			}
			ev.open[site] = open
		}
		return nil
	})
}

// openCause returns the rule and cause of an open task from its unique key (see openKey),
// without decoding the task.
func openCause(site string, rec store.Record) (rule, cause string, err error) {
	for _, k := range rec.Keys {
		if rest, ok := strings.CutPrefix(k, openPrefix(site)); ok {
			if rule, cause, ok := strings.Cut(rest, "|"); ok {
				return rule, cause, nil
			}
		}
	}
	return "", "", fmt.Errorf("%w: open task %q has no key %q", ErrInternal, rec.ID, openKey(site, "<rule>", "<cause>"))
}

func (ev *evaluator) evaluate(b *batch, site string, env *execution.Env) {
	ds, errs := ev.rules[site].Evaluate(env, ev.open[site])
	for _, d := range ds {
		b.decisions = append(b.decisions, siteDecision{site: site, Decision: d})
	}
	b.failures = append(b.failures, errs...)
}

// eventBatch evaluates the rules for a batch of events.
func (p *Plant) eventBatch(ctx context.Context, ev *evaluator, read []store.Event) (*batch, error) {
	b := &batch{windows: map[string]*scrapWindow{}}
	now := p.now()
	err := p.view(ctx, func(tx store.ReadTx) error {
		f := newFacts(ctx, p, tx, now)
		var env execution.Env // reused: decisions keep nothing of it
		for i := range read {
			e := decodeEvent(read[i], false)
			rules := ev.rules[e.Site]
			if rules == nil || strings.HasPrefix(e.Type, "task.") || strings.HasPrefix(e.Type, "execution.") {
				continue
			}
			if err := f.forEvent(&env, e, b, rules.ReadsEventFields()); err != nil {
				return err
			}
			ev.evaluate(b, e.Site, &env)
			b.evaluated++
		}
		return nil
	})
	return b, err
}

// tickBatch evaluates the rules for the situations that change with time alone.
func (p *Plant) tickBatch(ctx context.Context, ev *evaluator) (*batch, error) {
	b := &batch{windows: map[string]*scrapWindow{}}
	now := p.now()
	projected, open := map[string]storedProjection{}, map[string][]string{}
	for _, site := range slices.Sorted(maps.Keys(ev.rules)) {
		orders, ops, err := p.openWork(ctx, site)
		if err != nil {
			return nil, err
		}
		pr, err := p.newProjector(ctx, site, now)
		if err != nil {
			return nil, err
		}
		b.projections = slices.Grow(b.projections, len(orders))
		for i, wo := range orders {
			proj, err := pr.project(ctx, wo, ops[i])
			var bad *execution.ValidationError
			if errors.As(err, &bad) || errors.Is(err, execution.ErrNoWorkingTime) {
				// One order that cannot be projected (work too long for a duration, a
				// calendar without working time) must not stop the site's exception rules.
				p.log.Warn("work order not projected", "site", site, "order", wo.Number, "err", err)
				continue
			}
			if err != nil {
				return nil, err
			}
			after := storedProjection{WorkOrder: wo.ID, Projected: proj.Finish, Due: wo.Due, Late: proj.Crosses(wo.Due)}
			projected[wo.ID] = after
			open[site] = append(open[site], wo.ID)
			b.projections = append(b.projections, projectionChange{site: site, order: wo.ID, number: wo.Number, after: after})
		}
	}
	err := p.view(ctx, func(tx store.ReadTx) error {
		f := newFacts(ctx, p, tx, now)
		f.projected, f.orders = projected, open
		changed := b.projections[:0]
		for _, pc := range b.projections {
			_, err := load(ctx, tx, projectionKind, pc.order, &pc.before)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if pc.found = err == nil; pc.changed() {
				changed = append(changed, pc)
			}
		}
		b.projections = changed
		for _, site := range slices.Sorted(maps.Keys(ev.rules)) {
			err := f.ticks(site, func(env *execution.Env) {
				ev.evaluate(b, site, env)
				b.ticks++
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return b, err
}

// commitBatch writes what a batch decided in one command.
func (p *Plant) commitBatch(ctx context.Context, opts []CommandOption, b *batch, run *ExceptionRun) error {
	var counts ExceptionRun
	_, err := execute(ctx, p, "execution.process", nil, opts, func(c *command) (struct{}, error) {
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
		// Room for what the batch may record, at once rather than by doubling.
		c.audits = slices.Grow(c.audits, len(b.decisions)+len(b.projections)+len(b.windows))
		c.events = slices.Grow(c.events, len(b.decisions)+len(b.projections))
		tasks := make(map[string]openTask, len(b.decisions))
		for _, d := range b.decisions {
			if err := enter(d.site); err != nil {
				return struct{}{}, err
			}
			if err := c.applyDecision(d, &counts, tasks); err != nil {
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
		run.Evaluated += b.evaluated
		run.Ticks += b.ticks
		run.Opened += counts.Opened
		run.Updated += counts.Updated
		run.Resolved += counts.Resolved
		run.Failures = append(run.Failures, b.failures...)
	}
	return err
}

// openKey is the unique key of the open task of a rule for a cause.
func openKey(site, rule, cause string) string { return openPrefix(site) + rule + "|" + cause }

func openPrefix(site string) string { return "open:" + site + "/" }

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

// storedTask is a task as stored: its JSON is the task's, and an in-memory store keeps it
// as a value (see detacher), so that reading it back decodes nothing.
type storedTask struct{ execution.Task }

// detach implements detacher: nothing to copy. execution.Task's methods replace its slices
// and maps and never change them in place, so inside the engine tasks share them with the
// store; tasks handed to callers get their own (ownTask).
func (t *storedTask) detach() {}

// ownTask returns t with its own slices and maps, for callers outside the engine.
func ownTask(t execution.Task) execution.Task {
	t.Inputs, t.Escalation, t.Resolution = slices.Clone(t.Inputs), slices.Clone(t.Escalation), maps.Clone(t.Resolution)
	t.Links.Lots, t.Links.WorkOrders, t.Links.Equipment = slices.Clone(t.Links.Lots), slices.Clone(t.Links.WorkOrders), slices.Clone(t.Links.Equipment)
	return t
}

func decodeTask(rec store.Record) (execution.Task, error) {
	var t storedTask
	err := decode(rec, &t)
	return t.Task, err
}

// saveTask writes t at version and returns the new version.
func (c *command) saveTask(t *execution.Task, version uint64) (uint64, error) {
	return save(c, taskKind, t.ID, t.Site, version, &storedTask{*t}, taskKeys(t), taskIndex(t))
}

// openTask is what a command knows of the open task of a cause: none (found false), or
// the task at version.
type openTask struct {
	found   bool
	task    execution.Task
	version uint64
}

// applyDecision opens, updates or resolves the task of a decision's cause. tasks holds the
// open tasks the command has read or written so far, by open key.
func (c *command) applyDecision(d siteDecision, counts *ExceptionRun, tasks map[string]openTask) error {
	key := openKey(d.site, d.Rule.Name(), d.Cause)
	cur, ok := tasks[key]
	if !ok {
		rec, err := c.tx.Lookup(c.ctx, taskKind, key)
		switch {
		case err == nil:
			cur = openTask{found: true, version: rec.Version}
			if cur.task, err = decodeTask(rec); err != nil {
				return err
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		tasks[key] = cur
	}
	t := cur.task
	ref := objectRef(taskKind, t.ID)
	switch {
	case d.Action == execution.Fire && !cur.found:
		t = execution.OpenTask(c.p.newID(), d.site, d.Decision)
		v, err := c.saveTask(&t, 0)
		if err != nil {
			return err
		}
		tasks[key] = openTask{found: true, task: t, version: v}
		counts.Opened++
		c.record(objectRef(taskKind, t.ID), change("state", "", t.State), change("owner", "", t.Owner.Role), change("cause", "", t.Rule+"|"+t.Cause))
		return emitHot(c, t.ID, TaskOpened{Task: t})
	case d.Action == execution.Fire:
		upd, changed, err := t.Fire(d.Links, d.At, d.Event != execution.TickEvent)
		if err != nil || !changed {
			return err
		}
		v, err := c.saveTask(&upd, cur.version)
		if err != nil {
			return err
		}
		tasks[key] = openTask{found: true, task: upd, version: v}
		counts.Updated++
		c.record(ref, change("occurrences", t.Occurrences, upd.Occurrences), change("links", t.Links, upd.Links))
		return emitHot(c, t.ID, TaskUpdated{Task: upd, Change: "fired"})
	case d.Action == execution.Clear && cur.found:
		done, err := t.AutoResolve(d.At)
		if err != nil {
			return err
		}
		if _, err := c.saveTask(&done, cur.version); err != nil {
			return err
		}
		tasks[key] = openTask{}
		counts.Resolved++
		c.record(ref, change("state", t.State, done.State), change("note", "", done.Note))
		return emitHot(c, t.ID, TaskResolved{Task: done, Auto: true})
	}
	return nil
}

// ProjectionTolerance is how far a work order's projected completion may move before
// RunExceptionRules stores (and audits) the new projection; a crossing of the due date is
// always stored.
const ProjectionTolerance = 15 * time.Minute

// changed reports whether the projection is new, moved by more than ProjectionTolerance or
// crossed the due date: only then is it stored.
func (pc *projectionChange) changed() bool {
	moved := pc.after.Projected.Sub(pc.before.Projected)
	return !pc.found || pc.before.Late != pc.after.Late || moved.Abs() > ProjectionTolerance
}

// saveProjection stores a work order's changed projection (see projectionChange.changed) and
// announces a crossing of the due date.
func (c *command) saveProjection(pc projectionChange) error {
	var version uint64
	if pc.found {
		rec, err := c.tx.Get(c.ctx, projectionKind, pc.order)
		if err != nil {
			return storeErr(err)
		}
		version = rec.Version
	}
	after := pc.after
	if _, err := save(c, projectionKind, pc.order, pc.site, version, &after, nil, nil); err != nil {
		return err
	}
	c.record(objectRef(projectionKind, pc.order), change("projected", pc.before.Projected, after.Projected), change("late", pc.before.Late, after.Late))
	switch {
	case after.Late && (!pc.found || !pc.before.Late):
		return emitHot(c, pc.order, DueDateAtRisk{WorkOrder: pc.order, Number: pc.number, Projected: after.Projected, Due: after.Due, Late: after.Projected.Sub(after.Due)})
	case !after.Late && (!pc.found || pc.before.Late):
		return emitHot(c, pc.order, CompletionProjected{WorkOrder: pc.order, Number: pc.number, Projected: after.Projected, Due: after.Due})
	}
	return nil
}

func (c *command) saveScrapWindow(site string, w *scrapWindow) error {
	var old scrapWindow
	version, err := load(c.ctx, c.tx, scrapWindowKind, site, &old)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if _, err := save(c, scrapWindowKind, site, site, version, w, nil, nil); err != nil {
		return err
	}
	c.record(objectRef(scrapWindowKind, site), change("entries", len(old.Entries), len(w.Entries)))
	return nil
}

// facts looks up the current-state facts of situations in one read transaction. The
// situations of one transaction share the facts they have in common: a lot at a step, a
// work order, the available quantity of a component.
type facts struct {
	ctx       context.Context
	p         *Plant
	tx        store.ReadTx
	now       time.Time
	projected map[string]storedProjection // fresh projections of this run, by work order
	orders    map[string][]string         // the open work orders of this run, by site

	lots      map[[2]string]lotSituation      // by lot and step
	wos       map[string]execution.OrderFacts // by work order ("" id: not found)
	available map[availableKey]units.Quantity // available quantity of a component
}

// lotSituation are the facts of a lot at a step (see facts.lot).
type lotSituation struct {
	lot       execution.LotFacts
	order     execution.OrderFacts
	equipment string
	material  execution.MaterialFacts
}

type availableKey struct {
	site, material string
	unit           units.Unit
}

func newFacts(ctx context.Context, p *Plant, tx store.ReadTx, now time.Time) *facts {
	return &facts{ctx: ctx, p: p, tx: tx, now: now, lots: map[[2]string]lotSituation{}, wos: map[string]execution.OrderFacts{},
		available: map[availableKey]units.Quantity{}}
}

// lotFacts looks up the facts of an event about a lot at a step (data members "lot" and
// "step").
func lotFacts(f *facts, env *execution.Env, e Event, _ *batch) error {
	var v [2]string
	if !execution.StringMembers(e.Data, lotMembers, v[:]) {
		return nil
	}
	return f.lot(env, v[0], v[1])
}

// orderFacts looks up the facts of an event about a work order (data member "id").
func orderFacts(f *facts, env *execution.Env, e Event, _ *batch) error {
	var v [1]string
	if !execution.StringMembers(e.Data, orderMembers, v[:]) {
		return nil
	}
	return f.order(env, v[0])
}

var lotMembers, orderMembers = []string{"lot", "step"}, []string{"id"}

// eventFacts look up the facts of an event from its data, by event type; events of other
// types have the facts of their envelope only. Each reads only what it needs of the data:
// the frequent lot and work order events their leading ids.
var eventFacts = map[string]func(f *facts, env *execution.Env, e Event, b *batch) error{
	LotStarted{}.EventType():               lotFacts,
	LotTrackedIn{}.EventType():             lotFacts,
	LotTrackedOut{}.EventType():            lotFacts,
	OperationCompleted{}.EventType():       lotFacts,
	LotStepMoved{}.EventType():             lotFacts,
	WorkOrderReleased{}.EventType():        orderFacts,
	WorkOrderStarted{}.EventType():         orderFacts,
	WorkOrderCompleted{}.EventType():       orderFacts,
	WorkOrderCancelled{}.EventType():       orderFacts,
	WorkOrderPriorityChanged{}.EventType(): orderFacts,
	LotScrapped{}.EventType(): withData(func(f *facts, env *execution.Env, e Event, ev *LotScrapped, b *batch) error {
		if err := f.lot(env, ev.Lot, ev.Step); err != nil {
			return err
		}
		return f.scrapped(env, e, ev, b)
	}),
	SPCViolation{}.EventType(): withData(func(f *facts, env *execution.Env, _ Event, ev *SPCViolation, _ *batch) error {
		env.SPC = execution.SPCFacts{Violation: true, Characteristic: ev.Characteristic, Equipment: ev.Equipment, Value: ev.Value}
		if len(ev.Violations) > 0 {
			env.SPC.Rule = fmt.Sprint(ev.Violations[0].Rule)
		}
		err := f.lot(env, ev.Lot, ev.Step)
		if err == nil && ev.Equipment != "" {
			env.Equipment = ev.Equipment
		}
		return err
	}),
	HoldPlaced{}.EventType(): withData(func(f *facts, env *execution.Env, _ Event, ev *HoldPlaced, _ *batch) error {
		return f.hold(env, ev.Hold.ID)
	}),
	HoldReleased{}.EventType(): withData(func(f *facts, env *execution.Env, _ Event, ev *HoldReleased, _ *batch) error {
		return f.hold(env, ev.Hold.ID)
	}),
}

// withData adapts a facts function that reads the event's data as a T; an event whose
// data does not decode has no facts.
func withData[T any](fn func(f *facts, env *execution.Env, e Event, ev *T, b *batch) error) func(*facts, *execution.Env, Event, *batch) error {
	return func(f *facts, env *execution.Env, e Event, b *batch) error {
		var ev T
		if json.Unmarshal(e.Data, &ev) != nil {
			return nil
		}
		return fn(f, env, e, &ev, b)
	}
}

// forEvent sets env to the rule environment of an event; fields says whether to flatten
// the event's data into Event.Fields (only rules that read event.fields need it).
func (f *facts) forEvent(env *execution.Env, e Event, b *batch, fields bool) error {
	*env = execution.Env{Now: f.now, Event: execution.EventFacts{Type: e.Type, Subject: e.Subject, Site: e.Site, Time: e.Time}}
	if fields {
		env.Event.Fields = flatten(e.Data)
	}
	if look := eventFacts[e.Type]; look != nil {
		return look(f, env, e, b)
	}
	return nil
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
	k := [2]string{lotID, step}
	found, ok := f.lots[k]
	if !ok {
		var scratch execution.Env
		if err := f.lookUpLot(&scratch, lotID, step); err != nil {
			return err
		}
		found = lotSituation{lot: scratch.Lot, order: scratch.Order, equipment: scratch.Equipment, material: scratch.Material}
		f.lots[k] = found
	}
	env.Lot, env.Order, env.Equipment, env.Material = found.lot, found.order, found.equipment, found.material
	return nil
}

// lookUpLot fills what lot describes into env.
func (f *facts) lookUpLot(env *execution.Env, lotID, step string) error {
	rec, err := f.tx.Get(f.ctx, lotKind, lotID)
	if errors.Is(err, store.ErrNotFound) || lotID == "" {
		return nil
	} else if err != nil {
		return storeErr(err)
	}
	l, err := peek[Lot](rec)
	if err != nil {
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
	rt, err := f.p.routings.revision(f.ctx, f.tx, l.Site, l.Execution.Routing, l.Execution.Revision)
	if err != nil {
		return err
	}
	s, ok := rt.Step(step)
	if !ok {
		return nil
	}
	env.Lot.WorkCenter, env.Equipment = s.WorkCenter, s.WorkCenter
	waiting := stepBooks(*l.Execution, step).Waiting
	if !waiting.IsPositive() || !l.Execution.Running() { // an aborted lot's books keep what waited, but nothing waits any more
		return nil
	}
	env.Lot.Queued, env.Lot.Quantity, env.Lot.Unit = true, waiting.Float64(), string(waiting.Unit())
	if since, ok := l.QueuedSince.At(step); ok {
		env.Lot.WaitingMinutes = f.now.Sub(since).Minutes()
	}
	for _, m := range s.Materials {
		k := availableKey{l.Site, m.Component, m.PerUnit.Unit()}
		have, ok := f.available[k]
		if !ok {
			if have, err = availableQty(f.ctx, f.tx, l.Site, m.Component, m.PerUnit.Unit()); err != nil {
				return err
			}
			f.available[k] = have
		}
		if missing, err := m.PerUnit.Mul(waiting.Value()).Sub(have); err == nil && missing.IsPositive() {
			env.Material = execution.MaterialFacts{Short: true, Component: m.Component, ShortQty: missing.Float64(), Unit: string(missing.Unit())}
			break
		}
	}
	return nil
}

// order fills the facts of a work order, with its latest projection.
func (f *facts) order(env *execution.Env, id string) error {
	o, ok := f.wos[id]
	if !ok {
		var err error
		if o, err = f.lookUpOrder(id); err != nil {
			return err
		}
		f.wos[id] = o
	}
	if o.ID != "" {
		env.Order = o
	}
	return nil
}

// lookUpOrder returns the facts of a work order; ID is "" when there is none.
func (f *facts) lookUpOrder(id string) (execution.OrderFacts, error) {
	rec, err := f.tx.Get(f.ctx, workOrderKind, id)
	if errors.Is(err, store.ErrNotFound) {
		return execution.OrderFacts{}, nil
	} else if err != nil {
		return execution.OrderFacts{}, storeErr(err)
	}
	wo, err := peek[WorkOrder](rec)
	if err != nil {
		return execution.OrderFacts{}, err
	}
	o := execution.OrderFacts{ID: wo.ID, Number: wo.Number, Product: wo.Product, Customer: wo.Customer, Status: string(wo.Status),
		Priority: wo.Priority, Due: wo.Due, Open: wo.Status == StatusReleased || wo.Status == StatusRunning}
	proj, ok := f.projected[wo.ID]
	if !ok {
		_, err := load(f.ctx, f.tx, projectionKind, wo.ID, &proj)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return execution.OrderFacts{}, err
		}
	}
	if !proj.Projected.IsZero() {
		o.Projected = proj.Projected
		if !wo.Due.IsZero() {
			o.LateHours = proj.Projected.Sub(wo.Due).Hours()
		}
	}
	return o, nil
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
	env.Scrap = execution.ScrapFacts{Product: product, Step: s.Step, Reason: s.Reason, Qty: s.Qty.Float64(),
		LastHour: w.lastHour(product, s.Step, e.Time), Unit: string(s.Qty.Unit())}
	return nil
}

// ticks builds the situations of a site that change with time alone and calls each with
// them, one at a time (the environment is reused).
func (f *facts) ticks(site string, each func(*execution.Env)) error {
	var env execution.Env
	tick := func(subject string) *execution.Env {
		env = execution.Env{Now: f.now, Event: execution.EventFacts{Type: execution.TickEvent, Subject: subject, Site: site, Time: f.now}}
		return &env
	}
	lots, err := peekAll[Lot](f.ctx, f.tx, store.Query{Kind: lotKind, Site: site, Index: "wip", Value: "yes"})
	if err != nil {
		return err
	}
	wip := make(map[string]bool, len(lots))
	for _, l := range lots {
		wip[l.ID] = true
		for step := range l.Execution.Waiting() {
			if err := f.lot(tick(l.ID), l.ID, step); err != nil {
				return err
			}
			each(&env)
		}
	}
	if err := f.leftLots(site, wip, func(lot, step string) error {
		if err := f.lot(tick(lot), lot, step); err != nil {
			return err
		}
		each(&env)
		return nil
	}); err != nil {
		return err
	}
	holds, err := f.tx.List(f.ctx, store.Query{Kind: holdKind, Site: site, Index: "state", Value: "active"})
	if err != nil {
		return err
	}
	for _, rec := range holds {
		if err := f.hold(tick(rec.ID), rec.ID); err != nil {
			return err
		}
		each(&env)
	}
	for _, id := range f.orders[site] {
		if err := f.order(tick(id), id); err != nil {
			return err
		}
		each(&env)
	}
	var w scrapWindow
	if _, err := load(f.ctx, f.tx, scrapWindowKind, site, &w); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	seen := map[[2]string]bool{}
	for _, e := range w.Entries {
		k := [2]string{e.Product, e.Step}
		if seen[k] {
			continue
		}
		seen[k] = true
		tick("").Scrap = execution.ScrapFacts{Product: e.Product, Step: e.Step, LastHour: w.lastHour(e.Product, e.Step, f.now), Unit: string(e.Unit)}
		each(&env)
	}
	return nil
}

// leftLots calls each with every step of the lots that open tasks of site link and that
// left work in process (aborted, merged away, completed): no event of theirs will come to
// clear the tasks, so the tick pass shows rules that they wait nowhere any more.
func (f *facts) leftLots(site string, wip map[string]bool, each func(lot, step string) error) error {
	tasks, err := peekAll[storedTask](f.ctx, f.tx, store.Query{Kind: taskKind, Site: site, Index: "open", Value: "yes"})
	if err != nil {
		return err
	}
	for _, t := range tasks {
		for _, id := range t.Links.Lots {
			if wip[id] {
				continue
			}
			wip[id] = true // once
			rec, err := f.tx.Get(f.ctx, lotKind, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return storeErr(err)
			}
			l, err := peek[Lot](rec)
			if err != nil {
				return err
			}
			if l.Execution == nil {
				continue
			}
			for _, p := range l.Execution.Steps() {
				if err := each(id, p.Step); err != nil {
					return err
				}
			}
		}
	}
	return nil
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
	return execute(ctx, p, action, []string{id}, opts, func(c *command) (execution.Task, error) {
		rec, err := c.tx.Get(c.ctx, taskKind, id)
		if err != nil {
			return execution.Task{}, fmt.Errorf("task %q: %w", id, storeErr(err))
		}
		t, err := decodeTask(rec)
		if err != nil {
			return execution.Task{}, err
		}
		if err := c.authorize(rec.Site); err != nil {
			return execution.Task{}, err
		}
		after, ev, err := apply(c, t)
		if err != nil {
			return execution.Task{}, taskErr(err)
		}
		if _, err := c.saveTask(&after, rec.Version); err != nil {
			return execution.Task{}, err
		}
		c.record(objectRef(taskKind, t.ID), change("state", t.State, after.State), change("owner", t.Owner, after.Owner))
		return ownTask(after), c.emit(t.ID, ev)
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
	var t storedTask
	err := p.view(ctx, func(tx store.ReadTx) error {
		_, err := load(ctx, tx, taskKind, id, &t)
		return err
	})
	return ownTask(t.Task), err
}

// Tasks returns the tasks of site in state (every state when empty), ordered by id.
func (p *Plant) Tasks(ctx context.Context, site string, state execution.State) ([]execution.Task, error) {
	q := store.Query{Kind: taskKind, Site: site}
	if state != "" {
		q.Index, q.Value = "state", string(state)
	}
	stored, err := list[storedTask](ctx, p, q)
	tasks := make([]execution.Task, len(stored))
	for i, t := range stored {
		tasks[i] = ownTask(t.Task)
	}
	return tasks, err
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
	n, err := execute(ctx, p, "task.escalate", nil, opts, func(c *command) (int, error) {
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
				t, err := decodeTask(rec)
				if err != nil {
					return 0, err
				}
				up, steps := t.Escalate(c.now)
				if len(steps) == 0 {
					continue
				}
				if _, err := c.saveTask(&up, rec.Version); err != nil {
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
	var ops []execution.Operation
	err = p.view(ctx, func(tx store.ReadTx) error {
		lots, err := peekAll[Lot](ctx, tx, store.Query{Kind: lotKind, Site: wo.Site, Index: "workorder", Value: wo.ID})
		if err != nil {
			return err
		}
		ops, err = p.remainingOperations(ctx, tx, &wo, lots)
		return err
	})
	if err != nil {
		return execution.Projection{}, err
	}
	pr, err := p.newProjector(ctx, wo.Site, p.now())
	if err != nil {
		return execution.Projection{}, err
	}
	return pr.project(ctx, &wo, ops)
}

// openWork returns the released and running work orders of site, with the operations each
// has left (see remainingOperations), read in one transaction.
func (p *Plant) openWork(ctx context.Context, site string) ([]*WorkOrder, [][]execution.Operation, error) {
	var orders []*WorkOrder
	var ops [][]execution.Operation
	err := p.view(ctx, func(tx store.ReadTx) error {
		for _, s := range []WorkOrderStatus{StatusReleased, StatusRunning} {
			some, err := peekAll[WorkOrder](ctx, tx, store.Query{Kind: workOrderKind, Site: site, Index: "status", Value: string(s)})
			if err != nil {
				return err
			}
			orders = append(orders, some...)
		}
		// Only lots in process count (see remainingOperations): read them once for all
		// the orders.
		wip, err := peekAll[Lot](ctx, tx, store.Query{Kind: lotKind, Site: site, Index: "wip", Value: "yes"})
		if err != nil {
			return err
		}
		lots := map[string][]*Lot{}
		for _, l := range wip {
			lots[l.WorkOrder] = append(lots[l.WorkOrder], l)
		}
		ops = make([][]execution.Operation, len(orders))
		for i, wo := range orders {
			if ops[i], err = p.remainingOperations(ctx, tx, wo, lots[wo.ID]); err != nil {
				return err
			}
		}
		return nil
	})
	return orders, ops, err
}

// projector projects open orders of a site as of now, sharing the site's calendar and the
// work ahead at each work center between them.
type projector struct {
	p       *Plant
	site    string
	now     time.Time
	working execution.Calendar                  // nil: the site has no shift calendar
	ahead   map[string]map[string]time.Duration // by work center, see workAhead
}

func (p *Plant) newProjector(ctx context.Context, site string, now time.Time) (*projector, error) {
	pr := &projector{p: p, site: site, now: now, ahead: map[string]map[string]time.Duration{}}
	cal, err := p.ShiftCalendar(ctx, site)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, err
	default:
		pr.working = shiftTime(cal)
	}
	return pr, nil
}

// project projects an open order of the projector's site from the operations it has left.
func (pr *projector) project(ctx context.Context, wo *WorkOrder, ops []execution.Operation) (execution.Projection, error) {
	work := map[string]time.Duration{}
	for _, op := range ops {
		if _, ok := pr.ahead[op.WorkCenter]; !ok {
			var err error
			if pr.ahead[op.WorkCenter], err = pr.p.workAhead(ctx, pr.site, op.WorkCenter); err != nil {
				return execution.Projection{}, err
			}
		}
		d, queued := pr.ahead[op.WorkCenter][wo.ID]
		if !queued {
			d = pr.ahead[op.WorkCenter][""]
		}
		work[op.WorkCenter] = d
	}
	proj, err := execution.Project(pr.now, ops, work, pr.working)
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

// remainingOperations lists the main-line steps of an order's routing (rework paths
// excluded) with the quantity of the order still to pass each: for every lot in process,
// at a step it has reached and not finished the quantity waiting and in process there plus
// what is still at the steps that pass all theirs on to it (transfer batches let a step
// start before the one before it is done), or its quantity for a step it has not reached;
// plus the quantity not started yet, for every step. lots are the order's lots; those not
// in process do not count.
func (p *Plant) remainingOperations(ctx context.Context, tx store.ReadTx, wo *WorkOrder, lots []*Lot) ([]execution.Operation, error) {
	rt, err := p.routings.revision(ctx, tx, wo.Site, wo.Routing, wo.RoutingRevision)
	if err != nil {
		return nil, err
	}
	unstarted, _ := wo.Qty.Sub(wo.Started)
	var ops []execution.Operation
	for i, s := range rt.Steps {
		if s.ReworkEntry && i > 0 {
			break // rework paths are listed after the main line
		}
		ops = append(ops, execution.Operation{Step: s.ID, WorkCenter: s.WorkCenter, Setup: s.Setup, RunPerUnit: s.RunPerUnit,
			Quantity: decimal.Max(unstarted.Value(), decimal.Zero)})
	}
	for _, l := range lots {
		if l.Execution == nil || !l.Execution.Running() {
			continue
		}
		var at []decimal.Decimal // by main-line step: the lot's quantity there, not passed on
		for i, sp := range l.Execution.Steps() {
			if i >= len(ops) {
				break
			}
			q := sp.Waiting.Value().Add(sp.InProcess.Value())
			for _, h := range sp.Held {
				q = q.Add(h.Qty.Value())
			}
			at = append(at, q)
			switch {
			case sp.Done:
			case sp.Received.IsPositive():
				ops[i].Quantity = ops[i].Quantity.Add(sp.Waiting.Value()).Add(sp.InProcess.Value())
				for j := i - 1; j >= 0 && passesAllOn(rt, j); j-- {
					ops[i].Quantity = ops[i].Quantity.Add(at[j])
				}
			default:
				ops[i].Quantity = ops[i].Quantity.Add(l.OnHand.Value())
			}
		}
	}
	return ops, nil
}

// passesAllOn reports whether step i of rt passes all its good quantity to the step listed
// after it, which is no join: no condition chooses, no other successor shares it.
func passesAllOn(rt *routing.Routing, i int) bool {
	s, next := rt.Steps[i], rt.Steps[i+1]
	return s.Condition == "" && !next.Join && (len(s.Successors) == 0 || len(s.Successors) == 1 && s.Successors[0] == next.ID)
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
	case *WorkOrderRescheduled:
		if !ev.Due.IsZero() { // on time is judged against the due date in force
			a.due[ev.ID] = ev.Due
		}
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
		rt, err := a.p.routings.revision(a.ctx, tx, site, l.Execution.Routing, l.Execution.Revision)
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
		rt, err := a.p.routings.revision(a.ctx, tx, site, id, revision)
		if err == nil && len(rt.Steps) > 0 {
			first = rt.Steps[0].ID
		}
		return err
	})
	return first, err
}
