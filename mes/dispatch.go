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

	"github.com/taktmes/takt/dispatch"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

const dispatchRuleKind = "dispatch_rule"

// DefaultDispatchRule ranks by work order priority, then due date.
const DefaultDispatchRule = "PRIORITY_EDD"

type storedRule struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

// DispatchRuleSaved: a work center's dispatch rule was set.
type DispatchRuleSaved struct {
	WorkCenter string `json:"work_center"`
	Name       string `json:"name"`
	Source     string `json:"source"`
}

// EventType implements EventPayload.
func (DispatchRuleSaved) EventType() string { return "dispatch.rule_saved" }

func init() { registerEvent(&DispatchRuleSaved{}) }

// SetDispatchRule sets how the dispatch list of a work center is ranked: an expr rule over
// dispatch.Env (lower score runs first), or the name of a built-in rule (FIFO, EDD, SPT, CR,
// SLACK, PRIORITY_EDD, SETUP) with an empty source. The rule is compiled and type-checked
// now: a rule with an error is refused with its line and column and nothing changes.
func (p *Plant) SetDispatchRule(ctx context.Context, workCenter, name, source string, opts ...CommandOption) error {
	_, err := execute(ctx, p, "dispatch.set_rule", []string{workCenter}, opts, func(c *command) (struct{}, error) {
		var se storedEquipment
		if _, err := load(c.ctx, c.tx, equipmentKind, workCenter, &se); err != nil {
			return struct{}{}, fmt.Errorf("work center %q: %w", workCenter, err)
		}
		if err := c.authorize(se.Site); err != nil {
			return struct{}{}, err
		}
		if _, err := compileRule(name, source); err != nil {
			return struct{}{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		var old storedRule
		v, err := load(c.ctx, c.tx, dispatchRuleKind, workCenter, &old)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return struct{}{}, err
		}
		r := storedRule{Name: name, Source: source}
		if _, err := save(c, dispatchRuleKind, workCenter, se.Site, v, &r, nil, nil); err != nil {
			return struct{}{}, err
		}
		c.record(objectRef(dispatchRuleKind, workCenter), change("rule", old.Name+": "+old.Source, name+": "+source))
		return struct{}{}, c.emit(workCenter, DispatchRuleSaved{WorkCenter: workCenter, Name: name, Source: source})
	})
	return err
}

func compileRule(name, source string) (*dispatch.Rule, error) {
	if source == "" {
		return dispatch.Builtin(name)
	}
	return dispatch.Compile(name, source)
}

// DispatchOption refines a dispatch list request.
type DispatchOption func(*dispatch.Request)

// ForEquipment asks for the list of one equipment unit of the work center: the setup
// family running (dispatch.Env's runningFamily) is the one in process on that unit.
func ForEquipment(id string) DispatchOption { return func(r *dispatch.Request) { r.Equipment = id } }

// ForPerson asks for the list as a person sees it: candidates whose step needs a
// qualification the person holds no valid certification for (Certify) at the level the
// site requires (DefineQualification) are ineligible, with the reason — the rule track-in
// applies.
func ForPerson(id string) DispatchOption {
	return func(r *dispatch.Request) { r.Person = id }
}

// DispatchList returns what the work center should run next: every lot queued at a step it
// can perform (primary or alternate), eligible candidates ranked by the work center's rule
// with each entry able to explain its score, and the ineligible ones with the reasons why
// not (hold, component short, not qualified, not released). The list follows the event log
// incrementally: a hold, a completion or a priority change shows in the next list without
// rebuilding the others.
func (p *Plant) DispatchList(ctx context.Context, site, workCenter string, opts ...DispatchOption) (dispatch.List, error) {
	b, err := p.boards.get(ctx, p, site, workCenter)
	if err != nil {
		return dispatch.List{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.catchUp(ctx, p); err != nil {
		return dispatch.List{}, err
	}
	req := dispatch.Request{WorkCenter: workCenter, Now: p.now()}
	for _, o := range opts {
		o(&req)
	}
	if req.Person != "" {
		certs, err := p.Certifications(ctx, req.Person)
		if err != nil {
			return dispatch.List{}, err
		}
		err = p.view(ctx, func(tx store.ReadTx) error {
			for _, c := range certs {
				if !c.ValidAt(req.Now) {
					continue
				}
				// The level the site requires, as the track-in gate checks it (1 when the
				// site's catalog does not name the qualification).
				sq := storedQualification{Level: 1}
				if _, err := load(ctx, tx, qualificationKind, site+"/"+c.Qualification, &sq); err != nil && !errors.Is(err, ErrNotFound) {
					return err
				}
				if c.Level >= sq.Level {
					req.Qualifications = append(req.Qualifications, c.Qualification)
				}
			}
			return nil
		})
		if err != nil {
			return dispatch.List{}, err
		}
	}
	err = p.view(ctx, func(tx store.ReadTx) error {
		if err := b.refreshShortages(ctx, tx); err != nil {
			return err
		}
		// Holds on the work center, the unit asked for, or anything above them: track-in
		// refuses those (checkMoveHolds).
		chain := equipmentChain(ctx, tx, workCenter)
		if req.Equipment != "" {
			for _, id := range equipmentChain(ctx, tx, req.Equipment) {
				if !slices.Contains(chain, id) {
					chain = append(chain, id)
				}
			}
		}
		var holds []store.Record
		for _, id := range chain {
			more, err := tx.List(ctx, store.Query{Kind: holdKind, Site: site, Index: "target", Value: string(quality.OnEquipment) + "/" + id})
			if err != nil {
				return err
			}
			holds = append(holds, more...)
		}
		for _, r := range holds {
			var h quality.Hold
			if err := decode(r, &h); err != nil {
				return err
			}
			if h.Active() {
				req.Holds = append(req.Holds, dispatch.Hold{Kind: dispatch.HoldEquipment, ID: h.Target.ID, Reason: h.Reason})
			}
		}
		req.RunningFamily = b.runningOn(req.Equipment)
		return nil
	})
	if err != nil {
		return dispatch.List{}, err
	}
	return b.board.List(req), nil
}

// boards keeps one incremental dispatch board per work center.
type boards struct {
	mu sync.Mutex
	m  map[string]*board
}

// board is the dispatch state of one work center, as of event position pos.
type board struct {
	mu         sync.Mutex
	site, wc   string
	rule       storedRule
	board      *dispatch.Board
	pos        uint64
	byLot      map[string][]dispatch.Key
	candidates map[dispatch.Key]dispatch.Candidate
	needs      map[dispatch.Key][]routing.Material // components each candidate consumes
	running    string                              // setup family in process at the work center
	runningBy  map[string][]runningFamily          // lot -> families in process here
}

func (bs *boards) get(ctx context.Context, p *Plant, site, wc string) (*board, error) {
	key := site + "/" + wc
	bs.mu.Lock()
	b, ok := bs.m[key]
	bs.mu.Unlock()
	if ok {
		return b, nil
	}
	var rule storedRule
	err := p.view(ctx, func(tx store.ReadTx) error {
		var se storedEquipment
		if _, err := load(ctx, tx, equipmentKind, wc, &se); err != nil || se.Site != site {
			return fmt.Errorf("%w: %s is not a work center of site %s", ErrNotFound, wc, site)
		}
		_, err := load(ctx, tx, dispatchRuleKind, wc, &rule)
		if errors.Is(err, ErrNotFound) {
			rule, err = storedRule{Name: DefaultDispatchRule}, nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	b = &board{site: site, wc: wc}
	if err := b.reset(ctx, p, rule); err != nil { // built outside bs.mu: other lists go on
		return nil, err
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if first, ok := bs.m[key]; ok { // another caller built it meanwhile
		return first, nil
	}
	if bs.m == nil {
		bs.m = map[string]*board{}
	}
	bs.m[key] = b
	return b, nil
}

// reset rebuilds the board from the current state. Events after pos are applied again on
// the next catch-up; re-deriving a lot is idempotent, so that is harmless.
func (b *board) reset(ctx context.Context, p *Plant, rule storedRule) error {
	r, err := compileRule(rule.Name, rule.Source)
	if err != nil {
		return fmt.Errorf("%w: stored dispatch rule of %s: %w", ErrInternal, b.wc, err)
	}
	pos, err := p.store.Head(ctx)
	if err != nil {
		return err
	}
	b.rule, b.board, b.pos = rule, dispatch.NewBoard(r), pos
	b.byLot, b.candidates, b.needs, b.runningBy = map[string][]dispatch.Key{}, map[dispatch.Key]dispatch.Candidate{}, map[dispatch.Key][]routing.Material{}, map[string][]runningFamily{}
	return p.view(ctx, func(tx store.ReadTx) error {
		recs, err := tx.List(ctx, store.Query{Kind: lotKind, Site: b.site, Index: "wip", Value: "yes"})
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if err := b.deriveLot(ctx, p, tx, rec.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// follow applies events read from the log to the boards they continue, so that their next
// catch-up need not read them. A board that fails to apply them is dropped, to be built
// anew when next asked for.
func (bs *boards) follow(ctx context.Context, p *Plant, evs []store.Event) {
	bs.mu.Lock()
	all := maps.Clone(bs.m)
	bs.mu.Unlock()
	first, last := evs[0].Position, evs[len(evs)-1].Position
	for key, b := range all {
		b.mu.Lock()
		if b.pos+1 >= first && b.pos < last && b.apply(ctx, p, evs[b.pos+1-first:]) != nil {
			bs.mu.Lock()
			if bs.m[key] == b {
				delete(bs.m, key)
			}
			bs.mu.Unlock()
		}
		b.mu.Unlock()
	}
}

// catchUp applies the events committed since the board's position.
func (b *board) catchUp(ctx context.Context, p *Plant) error {
	for {
		evs, err := p.store.ReadEvents(ctx, b.pos, 1024)
		if err != nil || len(evs) == 0 {
			return err
		}
		if err := b.apply(ctx, p, evs); err != nil {
			return err
		}
	}
}

// apply applies events that follow the board's position.
func (b *board) apply(ctx context.Context, p *Plant, evs []store.Event) error {
	lots := map[string]bool{}
	orders := map[string]bool{}
	for _, e := range evs {
		b.pos = e.Position
		if e.Site != b.site && e.Type != "material.defined" {
			continue
		}
		switch {
		case e.Type == "dispatch.rule_saved" && e.Subject == b.wc:
			var saved DispatchRuleSaved
			if err := json.Unmarshal(e.Data, &saved); err != nil {
				return err
			}
			return b.reset(ctx, p, storedRule{Name: saved.Name, Source: saved.Source})
		case e.Type == "hold.placed" || e.Type == "hold.released":
			var h HoldPlaced
			if err := json.Unmarshal(e.Data, &h); err != nil {
				return err
			}
			switch h.Hold.Target.Kind {
			case quality.OnLot:
				lots[h.Hold.Target.ID] = true
			case quality.OnWorkOrder:
				orders[h.Hold.Target.ID] = true
			case quality.OnMaterial:
				return b.reset(ctx, p, b.rule)
			}
		case strings.HasPrefix(e.Type, "workorder."):
			orders[e.Subject] = true
			if e.Type == "workorder.split" || e.Type == "workorder.merged" {
				var moved struct{ Lots []string }
				if err := json.Unmarshal(e.Data, &moved); err != nil {
					return err
				}
				for _, id := range moved.Lots {
					lots[id] = true
				}
			}
		case strings.HasPrefix(e.Type, "lot."):
			lots[e.Subject] = true
			switch e.Type {
			case "lot.split":
				var s LotSplit
				if err := json.Unmarshal(e.Data, &s); err != nil {
					return err
				}
				for _, part := range s.Parts {
					lots[part.ID] = true
				}
			case "lot.merged":
				var m LotsMerged
				if err := json.Unmarshal(e.Data, &m); err != nil {
					return err
				}
				for _, id := range m.Sources {
					lots[id] = true
				}
			}
		}
	}
	return p.view(ctx, func(tx store.ReadTx) error {
		for wo := range orders {
			recs, err := tx.List(ctx, store.Query{Kind: lotKind, Site: b.site, Index: "workorder", Value: wo})
			if err != nil {
				return err
			}
			for _, r := range recs {
				lots[r.ID] = true
			}
		}
		for id := range lots {
			if err := b.deriveLot(ctx, p, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// deriveLot replaces the candidates of one lot by what its current state says.
func (b *board) deriveLot(ctx context.Context, p *Plant, tx store.ReadTx, lotID string) error {
	for _, k := range b.byLot[lotID] {
		b.board.Remove(k)
		delete(b.candidates, k)
		delete(b.needs, k)
	}
	delete(b.byLot, lotID)
	delete(b.runningBy, lotID)
	defer b.updateRunning()
	var l Lot
	if _, err := load(ctx, tx, lotKind, lotID, &l); errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if l.Execution == nil || !l.Execution.Running() || l.Site != b.site {
		return nil
	}
	var wo WorkOrder
	if _, err := load(ctx, tx, workOrderKind, l.WorkOrder, &wo); err != nil {
		return err
	}
	rt, err := p.routings.revision(ctx, tx, l.Site, l.Execution.Routing, l.Execution.Revision)
	if err != nil {
		return err
	}
	holds, err := candidateHolds(ctx, tx, &l, &wo)
	if err != nil {
		return err
	}
	for i, s := range rt.Steps {
		if s.WorkCenter != b.wc && !slices.Contains(s.Alternates, b.wc) {
			continue
		}
		prog, err := l.Execution.Books(s.ID)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInternal, l.ref(), err)
		}
		if prog.InProcess.IsPositive() {
			on := false
			for _, se := range l.OnEquipment {
				if se.Step == s.ID {
					b.runningBy[l.ID], on = append(b.runningBy[l.ID], runningFamily{se.Equipment, s.SetupFamily}), true
				}
			}
			if !on { // tracked in without naming equipment
				b.runningBy[l.ID] = append(b.runningBy[l.ID], runningFamily{family: s.SetupFamily})
			}
		}
		if !prog.Waiting.IsPositive() {
			continue
		}
		if ready, err := rt.Readiness(*l.Execution, s.ID, routing.Facts{}); err != nil || ready.State == routing.Paused || ready.State == routing.Done {
			continue // a paused step takes no track-in; a skipped one passes its quantity on
		}
		rest, steps := remaining(rt, i, prog.Waiting)
		c := dispatch.Candidate{
			Lot: l.ID, WorkOrder: wo.ID, Step: s.ID, WorkCenters: append([]string{s.WorkCenter}, s.Alternates...),
			Priority: wo.Priority, Due: wo.Due, ReleasedAt: wo.ReleasedAt,
			Quantity: prog.Waiting, OpTime: s.Setup + time.Duration(prog.Waiting.Value().Mul(decimalSeconds(s.RunPerUnit)).IntPart())*time.Second,
			RemainingTime: rest, RemainingSteps: steps, SetupFamily: s.SetupFamily, Customer: wo.Customer,
			Holds: holds, Released: wo.Status == StatusReleased || wo.Status == StatusRunning,
		}
		if since, ok := l.QueuedSince.At(s.ID); ok {
			c.QueuedSince = since
		} else {
			c.QueuedSince = l.CreatedAt
		}
		if s.Qualification != "" {
			c.Qualifications = []string{s.Qualification}
		}
		if c.Due.IsZero() {
			c.Due = wo.CreatedAt.Add(365 * 24 * time.Hour)
		}
		if err := b.board.Upsert(c); err != nil {
			return fmt.Errorf("%w: dispatch candidate %s: %w", ErrInternal, c.Key(), err)
		}
		k := c.Key()
		b.byLot[l.ID] = append(b.byLot[l.ID], k)
		b.candidates[k] = c
		b.needs[k] = s.Materials
	}
	return nil
}

// runningFamily is the setup family of an operation in process on equipment ("" when its
// track-in named none).
type runningFamily struct{ equipment, family string }

func (b *board) updateRunning() {
	b.running = ""
	for _, fams := range b.runningBy {
		for _, f := range fams {
			b.running = max(b.running, f.family)
		}
	}
}

// runningOn returns the setup family in process on equipment, or at the work center when
// equipment is "": the greatest, when several are.
func (b *board) runningOn(equipment string) string {
	if equipment == "" {
		return b.running
	}
	running := ""
	for _, fams := range b.runningBy {
		for _, f := range fams {
			if f.equipment == equipment {
				running = max(running, f.family)
			}
		}
	}
	return running
}

// remaining returns the standard time of a step's waiting quantity and the steps after it
// in routing order (rework paths excluded), and how many steps that is.
func remaining(rt *routing.Routing, from int, qty units.Quantity) (time.Duration, int) {
	var total time.Duration
	steps := 0
	for _, s := range rt.Steps[from:] {
		if s.ReworkEntry && steps > 0 {
			continue
		}
		steps++
		total += s.Setup + time.Duration(qty.Value().Mul(decimalSeconds(s.RunPerUnit)).IntPart())*time.Second
	}
	return total, steps
}

// candidateHolds lists the active holds on the lot, its work order and its material.
func candidateHolds(ctx context.Context, tx store.ReadTx, l *Lot, wo *WorkOrder) ([]dispatch.Hold, error) {
	err := checkHolds(ctx, tx, l.Site, quality.Subject{Lot: l.ID, WorkOrder: wo.ID, Material: l.Material, SupplierLot: l.SupplierLot})
	var onHold *quality.OnHoldError
	if !errors.As(err, &onHold) {
		return nil, err
	}
	kinds := map[quality.TargetKind]dispatch.HoldKind{quality.OnLot: dispatch.HoldLot, quality.OnWorkOrder: dispatch.HoldWorkOrder,
		quality.OnMaterial: dispatch.HoldMaterial, quality.OnEquipment: dispatch.HoldEquipment}
	out := make([]dispatch.Hold, len(onHold.Holds))
	for i, h := range onHold.Holds {
		out[i] = dispatch.Hold{Kind: kinds[h.Target.Kind], ID: h.Target.ID, Reason: h.Reason}
	}
	return out, nil
}

// refreshShortages recomputes which candidates are short of a component from the site's
// available, unheld lots, and updates the candidates whose shortages changed.
func (b *board) refreshShortages(ctx context.Context, tx store.ReadTx) error {
	available := map[string]units.Quantity{}
	for k, mats := range b.needs {
		var short []dispatch.Shortage
		for _, m := range mats {
			have, ok := available[m.Component]
			if !ok {
				var err error
				if have, err = availableQty(ctx, tx, b.site, m.Component, m.PerUnit.Unit()); err != nil {
					return err
				}
				available[m.Component] = have
			}
			c := b.candidates[k]
			need := m.PerUnit.Mul(c.Quantity.Value())
			if missing, err := need.Sub(have); err == nil && missing.IsPositive() {
				short = append(short, dispatch.Shortage{Material: m.Component, Short: missing})
			}
		}
		c := b.candidates[k]
		if !slices.Equal(c.Shortages, short) {
			c.Shortages = short
			b.candidates[k] = c
			if err := b.board.Upsert(c); err != nil {
				return fmt.Errorf("%w: dispatch candidate %s: %w", ErrInternal, k, err)
			}
		}
	}
	return nil
}

// availableQty sums the quantity on hand of a material's available, unheld lots in site.
func availableQty(ctx context.Context, tx store.ReadTx, site, material string, unit units.Unit) (units.Quantity, error) {
	total, err := units.FromInt(0, unit)
	if err != nil {
		return total, err
	}
	recs, err := tx.List(ctx, store.Query{Kind: lotKind, Site: site, Index: "material", Value: material})
	if err != nil {
		return total, err
	}
	for _, r := range recs {
		var l Lot
		if err := decode(r, &l); err != nil {
			return total, err
		}
		if l.Status != genealogy.Available || l.unfinished() {
			continue
		}
		if checkHolds(ctx, tx, site, quality.Subject{Lot: l.ID, Material: l.Material, SupplierLot: l.SupplierLot}) != nil {
			continue
		}
		if total, err = total.Add(l.OnHand); err != nil {
			return total, fmt.Errorf("%w: lot %s of %s: %w", ErrInvalid, l.ID, material, err)
		}
	}
	return total, nil
}
