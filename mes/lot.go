package mes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

const (
	lotKind      = "lot"
	materialKind = "material"
)

// Lot is a material lot: received material, or work in process on a routing, or finished
// goods. Its genealogy fields (material, status, quantity on hand, supplier, expiry) follow
// ISA-95 MaterialLot; a lot started by a work order carries its routing Execution: the
// quantity books of every step.
type Lot struct {
	genealogy.Lot
	WorkOrder string             `json:"work_order,omitempty"`
	Execution *routing.Execution `json:"execution,omitempty"`
	Children  int                `json:"children,omitempty"` // sublots split from it so far
	// ReworkOf is the lot a rework lot (or a sublot of one) was split off: its quantity was
	// started by that lot.
	ReworkOf string `json:"rework_of,omitempty"`
	// MergedInto is the lot this one was merged into; its books live on there.
	MergedInto string `json:"merged_into,omitempty"`
	// QueuedSince is when quantity started waiting at each step that has some waiting.
	QueuedSince StepTimes `json:"queued_since,omitempty"`
	// OnEquipment is the equipment that quantity in process at a step was tracked in on.
	OnEquipment []StepEquipment `json:"on_equipment,omitempty"`
	Version     uint64          `json:"version"`
	// indexed is the index of the lot's last save in this process (see index).
	indexed map[string]string
}

func (l *Lot) ref() string { return "lot " + l.ID }

func (l *Lot) setVersion(v uint64) { l.Version = v }

// unfinished reports whether the lot has not finished its routing: it is running, or was
// aborted part-way (until a disposition). Its quantity follows its books, and it is not
// material that other lots may consume or a customer may receive.
func (l *Lot) unfinished() bool { return l.Execution != nil && l.Execution.Completed.IsZero() }

// detach implements detacher: nothing to copy. The engine changes neither the Execution
// (routing moves return new ones) nor QueuedSince and OnEquipment (their methods replace
// them) in place, so inside commands lots share them with the store; lots handed to
// callers get their own (owned).
func (l *Lot) detach() {}

// own implements owner.
func (l *Lot) own() { *l = l.owned() }

// owned returns l with its own execution, QueuedSince and OnEquipment, for callers outside
// the engine. A copy of the Execution value is enough: its steps are immutable.
func (l Lot) owned() Lot {
	if l.Execution != nil {
		e := *l.Execution
		l.Execution = &e
	}
	l.QueuedSince = slices.Clone(l.QueuedSince)
	l.OnEquipment = slices.Clone(l.OnEquipment)
	l.indexed = nil
	return l
}

// StepEquipment is equipment a lot's quantity at a step is tracked in on.
type StepEquipment struct {
	Step      string `json:"step"`
	Equipment string `json:"equipment"`
}

// onEquipment records that quantity in process at step was tracked in on equipment eq.
func (l *Lot) onEquipment(step, eq string) {
	if !slices.Contains(l.OnEquipment, StepEquipment{step, eq}) {
		l.OnEquipment = append(slices.Clip(l.OnEquipment), StepEquipment{step, eq})
	}
}

// offEquipment forgets, and returns, the equipment of step (nothing is in process there).
func (l *Lot) offEquipment(step string) []string {
	var eqs []string
	var rest []StepEquipment
	for _, on := range l.OnEquipment {
		if on.Step == step {
			eqs = append(eqs, on.Equipment)
		} else {
			rest = append(rest, on)
		}
	}
	if eqs != nil {
		l.OnEquipment = rest
	}
	return eqs
}

// queue records that quantity started waiting at step at, unless some waits there since
// earlier.
func (l *Lot) queue(step string, at time.Time) {
	i, found := l.QueuedSince.find(step)
	if found && !at.Before(l.QueuedSince[i].Time) {
		return
	}
	q := slices.Clone(l.QueuedSince) // replaced, never changed in place (see detach)
	if found {
		q[i].Time = at
	} else {
		q = slices.Insert(q, i, StepTime{Step: step, Time: at})
	}
	l.QueuedSince = q
}

// unqueue records that nothing waits at step any more.
func (l *Lot) unqueue(step string) {
	if i, found := l.QueuedSince.find(step); found {
		l.QueuedSince = slices.Delete(slices.Clone(l.QueuedSince), i, i+1)
	}
}

// StepTimes are times by step, ordered by step; in JSON an object keyed by step.
type StepTimes []StepTime

// StepTime is a time at a step.
type StepTime struct {
	Step string
	Time time.Time
}

// At returns the time at step, and whether there is one.
func (st StepTimes) At(step string) (time.Time, bool) {
	if i, found := st.find(step); found {
		return st[i].Time, true
	}
	return time.Time{}, false
}

// find returns where step is, or would be inserted, and whether it is there.
func (st StepTimes) find(step string) (int, bool) {
	return slices.BinarySearchFunc(st, step, func(t StepTime, step string) int { return strings.Compare(t.Step, step) })
}

// MarshalJSON encodes the times as an object keyed by step.
func (st StepTimes) MarshalJSON() ([]byte, error) {
	m := make(map[string]time.Time, len(st))
	for _, t := range st {
		m[t.Step] = t.Time
	}
	return json.Marshal(m)
}

// UnmarshalJSON decodes an object keyed by step.
func (st *StepTimes) UnmarshalJSON(data []byte) error {
	var m map[string]time.Time
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*st = nil
	if m == nil {
		return nil
	}
	*st = make(StepTimes, 0, len(m))
	for step, t := range m {
		*st = append(*st, StepTime{Step: step, Time: t})
	}
	slices.SortFunc(*st, func(a, b StepTime) int { return strings.Compare(a.Step, b.Step) })
	return nil
}

// firstStep returns the id of the first step of e.
func firstStep(e *routing.Execution) string {
	for _, p := range e.Steps() {
		return p.Step
	}
	return ""
}

// index returns the lot's index entries: the map of its last save when they did not
// change (the store keeps that map; nobody changes it), so most saves build none.
func (l *Lot) index() map[string]string {
	wip := l.Execution != nil && l.Execution.Running()
	if ix := l.indexed; ix != nil && ix["status"] == string(l.Status) && ix["material"] == l.Material &&
		ix["workorder"] == l.WorkOrder && (ix["wip"] == "yes") == wip {
		return ix
	}
	ix := map[string]string{"status": string(l.Status), "material": l.Material}
	if l.WorkOrder != "" {
		ix["workorder"] = l.WorkOrder
	}
	if wip {
		ix["wip"] = "yes"
	}
	l.indexed = ix
	return ix
}

// Lot events.
type (
	// MaterialDefined: a material definition was added or changed.
	MaterialDefined struct {
		Material genealogy.Material `json:"material"`
	}
	// LotReceived: material arrived from a supplier.
	LotReceived struct {
		Lot      string         `json:"lot"`
		Material string         `json:"material"`
		Qty      units.Quantity `json:"qty"`
		Supplier string         `json:"supplier"`
		SupLot   string         `json:"sup_lot"`
		Expiry   time.Time      `json:"expiry,omitzero"`
	}
	// LotStarted: a work order started a lot on its routing.
	LotStarted struct {
		Lot       string         `json:"lot"`
		WorkOrder string         `json:"work_order"`
		Routing   string         `json:"routing"`
		Revision  string         `json:"revision"`
		Step      string         `json:"step"`
		Qty       units.Quantity `json:"qty"`
	}
	// LotTrackedIn: quantity of a lot started at a step.
	LotTrackedIn struct {
		Lot       string         `json:"lot"`
		WorkOrder string         `json:"work_order"`
		Step      string         `json:"step"`
		Equipment string         `json:"equipment"`
		Qty       units.Quantity `json:"qty"`
	}
	// LotTrackedOut: a lot reported good, scrap and rework at a step (a partial or final
	// confirmation of the operation).
	LotTrackedOut struct {
		Lot       string              `json:"lot"`
		WorkOrder string              `json:"work_order"`
		Step      string              `json:"step"`
		Equipment string              `json:"equipment"`
		Good      units.Quantity      `json:"good"`
		Scrap     []routing.ScrapLine `json:"scrap,omitempty"`
		Rework    routing.ReworkLine  `json:"rework,omitzero"`
	}
	// OperationCompleted: nothing is waiting or in process at a step for a lot any more; the
	// books are the operation's totals, the confirmation the ERP books.
	OperationCompleted struct {
		Lot       string        `json:"lot"`
		WorkOrder string        `json:"work_order"`
		Step      string        `json:"step"`
		Books     routing.Books `json:"books"`
	}
	// YieldVarianceRecorded: a step closed with a yield beyond its tolerance.
	YieldVarianceRecorded struct {
		Lot       string                `json:"lot"`
		WorkOrder string                `json:"work_order"`
		Variance  routing.YieldVariance `json:"variance"`
	}
	// LotFinished: good quantity of a lot passed the end of its routing (a completion for
	// the ERP).
	LotFinished struct {
		Lot       string         `json:"lot"`
		WorkOrder string         `json:"work_order"`
		Product   string         `json:"product"`
		Qty       units.Quantity `json:"qty"`
	}
	// LotCompleted: no open quantity remains on the lot's routing.
	LotCompleted struct {
		Lot       string         `json:"lot"`
		WorkOrder string         `json:"work_order"`
		Finished  units.Quantity `json:"finished"`
	}
	// LotScrapped: quantity of a lot was scrapped, with the reason code.
	LotScrapped struct {
		Lot       string         `json:"lot"`
		WorkOrder string         `json:"work_order"`
		Step      string         `json:"step"`
		Reason    string         `json:"reason"`
		Qty       units.Quantity `json:"qty"`
	}
	// LotSplit: sublots were split from a lot.
	LotSplit struct {
		Lot   string           `json:"lot"`
		Parts []genealogy.Part `json:"parts"`
	}
	// LotsMerged: lots were merged into Into.
	LotsMerged struct {
		Into    string   `json:"into"`
		Sources []string `json:"sources"`
	}
	// LotStepMoved: a lot was paused, resumed, skipped, moved back or aborted at a step.
	LotStepMoved struct {
		Lot       string         `json:"lot"`
		WorkOrder string         `json:"work_order"`
		Step      string         `json:"step"`
		Move      string         `json:"move"`
		Reason    string         `json:"reason"`
		To        string         `json:"to,omitempty"`
		Qty       units.Quantity `json:"qty,omitzero"`
	}
	// MaterialConsumed: a component lot went into a lot.
	MaterialConsumed struct {
		From      string         `json:"from"`
		Into      string         `json:"into"`
		WorkOrder string         `json:"work_order"`
		Step      string         `json:"step"`
		Qty       units.Quantity `json:"qty"`
	}
	// LotShipped: quantity of a lot left for a customer.
	LotShipped struct {
		Lot      string         `json:"lot"`
		Shipment string         `json:"shipment"`
		Customer string         `json:"customer"`
		Order    string         `json:"order"`
		Qty      units.Quantity `json:"qty"`
	}
	// ConsumptionVariance: a completed step consumed more or less of a component than
	// its standard (per unit × good quantity).
	ConsumptionVariance struct {
		Lot       string         `json:"lot"`
		WorkOrder string         `json:"work_order"`
		Step      string         `json:"step"`
		Component string         `json:"component"`
		Standard  units.Quantity `json:"standard"`
		Actual    units.Quantity `json:"actual"`
		Variance  units.Quantity `json:"variance"`
	}
	// LotAdjusted: an inventory correction of a lot, with its reason.
	LotAdjusted struct {
		Lot    string         `json:"lot"`
		Reason string         `json:"reason"`
		Delta  units.Quantity `json:"delta"`
	}
)

// EventType implements EventPayload.
func (MaterialDefined) EventType() string { return "material.defined" }

// EventType implements EventPayload.
func (LotReceived) EventType() string { return "lot.received" }

// EventType implements EventPayload.
func (LotStarted) EventType() string { return "lot.started" }

// EventType implements EventPayload.
func (LotTrackedIn) EventType() string { return "lot.tracked_in" }

// EventType implements EventPayload.
func (LotTrackedOut) EventType() string { return "lot.tracked_out" }

// EventType implements EventPayload.
func (OperationCompleted) EventType() string { return "operation.completed" }

// EventType implements EventPayload.
func (YieldVarianceRecorded) EventType() string { return "operation.yield_variance" }

// EventType implements EventPayload.
func (LotFinished) EventType() string { return "lot.finished" }

// EventType implements EventPayload.
func (LotCompleted) EventType() string { return "lot.completed" }

// EventType implements EventPayload.
func (LotScrapped) EventType() string { return "lot.scrapped" }

// EventType implements EventPayload.
func (LotSplit) EventType() string { return "lot.split" }

// EventType implements EventPayload.
func (LotsMerged) EventType() string { return "lot.merged" }

// EventType implements EventPayload.
func (LotStepMoved) EventType() string { return "lot.step_moved" }

// EventType implements EventPayload.
func (MaterialConsumed) EventType() string { return "material.consumed" }

// EventType implements EventPayload.
func (LotShipped) EventType() string { return "lot.shipped" }

// EventType implements EventPayload.
func (LotAdjusted) EventType() string { return "lot.adjusted" }

// EventType implements EventPayload.
func (ConsumptionVariance) EventType() string { return "operation.consumption_variance" }

func init() {
	registerEvent(&MaterialDefined{}, &LotReceived{}, &LotStarted{}, &LotTrackedIn{}, &LotTrackedOut{}, &OperationCompleted{},
		&YieldVarianceRecorded{}, &LotFinished{}, &LotCompleted{}, &LotScrapped{}, &LotSplit{}, &LotsMerged{}, &LotStepMoved{},
		&MaterialConsumed{}, &LotShipped{}, &LotAdjusted{}, &ConsumptionVariance{})
}

// genealogyErr wraps a genealogy error with the engine's sentinel, keeping both testable.
func genealogyErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, genealogy.ErrNotAvailable):
		return fmt.Errorf("%w: %w", ErrWrongState, err)
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}

// routingErr wraps a routing error with the engine's sentinel.
func routingErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, routing.ErrWrongState), errors.Is(err, routing.ErrStatus):
		return fmt.Errorf("%w: %w", ErrWrongState, err)
	case errors.Is(err, routing.ErrUnknownStep):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}

// DefineMaterial adds or changes a material definition. Materials are shared by every
// site of the store.
func (p *Plant) DefineMaterial(ctx context.Context, m genealogy.Material, opts ...CommandOption) error {
	_, err := execute(ctx, p, "material.define", []string{m.ID}, opts, func(c *command) (struct{}, error) {
		if err := m.Validate(); err != nil {
			return struct{}{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if err := c.authorize(""); err != nil {
			return struct{}{}, err
		}
		var old genealogy.Material
		v, err := load(c.ctx, c.tx, materialKind, m.ID, &old)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return struct{}{}, err
		}
		if v > 0 && old.Unit != m.Unit {
			return struct{}{}, fmt.Errorf("%w: material %s is counted in %s; its unit cannot change to %s (define a new material)", ErrInvalid, m.ID, old.Unit, m.Unit)
		}
		if _, err := save(c, materialKind, m.ID, "", v, &m, nil, map[string]string{"kind": string(m.Kind)}); err != nil {
			return struct{}{}, err
		}
		c.record(objectRef(materialKind, m.ID), change("unit", old.Unit, m.Unit), change("tracking", old.Tracking, m.Tracking))
		return struct{}{}, c.emit(m.ID, MaterialDefined{Material: m})
	})
	return err
}

func (c *command) loadMaterial(id string) (genealogy.Material, error) {
	var m genealogy.Material
	_, err := load(c.ctx, c.tx, materialKind, id, &m)
	if errors.Is(err, ErrNotFound) {
		return m, fmt.Errorf("%w: material %q is not defined; define it with DefineMaterial", ErrNotFound, id)
	}
	return m, err
}

// Receipt is the input of ReceiveLot.
type Receipt struct {
	Site        string
	Lot         string // the new lot's id
	Material    string
	Qty         units.Quantity
	Supplier    string
	SupplierLot string
	Expiry      time.Time
}

// ReceiveLot books material delivered by a supplier into a new lot. The supplier lot is
// where a recall starts.
func (p *Plant) ReceiveLot(ctx context.Context, in Receipt, opts ...CommandOption) (Lot, error) {
	return execute(ctx, p, "lot.receive", []string{in.Site, in.Lot}, opts, func(c *command) (Lot, error) {
		if err := c.authorize(in.Site); err != nil {
			return Lot{}, err
		}
		if err := c.requireSite(in.Site); err != nil {
			return Lot{}, err
		}
		m, err := c.loadMaterial(in.Material)
		if err != nil {
			return Lot{}, err
		}
		ch, err := genealogy.Receive(m, genealogy.Lot{ID: in.Lot, Site: in.Site, Supplier: in.Supplier, SupplierLot: in.SupplierLot, Expiry: in.Expiry.UTC()},
			in.Qty, c.op("", ""))
		if err != nil {
			return Lot{}, genealogyErr(err)
		}
		lots, err := c.applyChange(ch, nil)
		if err != nil {
			return Lot{}, err
		}
		l := lots[in.Lot]
		return *l, c.emit(l.ID, LotReceived{Lot: l.ID, Material: m.ID, Qty: l.OnHand, Supplier: in.Supplier, SupLot: in.SupplierLot, Expiry: l.Expiry})
	})
}

// op is the genealogy context of the running command.
func (c *command) op(workOrder, step string) genealogy.Op {
	return genealogy.Op{WorkOrder: workOrder, Step: step, Equipment: c.opts.where, Operator: c.opts.actor.ID, Reason: c.opts.reason, At: c.now}
}

// applyChange persists the lots and edges a genealogy operation produced. known holds lots
// already loaded in this command (their versions and engine fields); new lots are created.
// It returns every lot it saved, by id.
func (c *command) applyChange(ch genealogy.Change, known map[string]*Lot) (map[string]*Lot, error) {
	out := map[string]*Lot{}
	for _, gl := range ch.Lots {
		l, ok := known[gl.ID]
		if !ok {
			l = &Lot{}
		}
		before := l.Lot
		l.Lot = gl
		if l.Version == 0 {
			if _, err := c.tx.Get(c.ctx, lotKind, gl.ID); err == nil {
				return nil, fmt.Errorf("%w: lot %s already exists; choose a new lot id", ErrDuplicate, gl.ID)
			}
		}
		if err := c.saveLot(l); err != nil {
			return nil, err
		}
		c.record(objectRef(lotKind, gl.ID), change("status", before.Status, gl.Status), change("on_hand", before.OnHand, gl.OnHand))
		out[gl.ID] = l
	}
	if len(ch.Edges) > 0 {
		if err := c.tx.AddEdges(c.ctx, ch.Edges...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *command) loadLot(id string) (*Lot, error) {
	l := &Lot{}
	if _, err := load(c.ctx, c.tx, lotKind, id, l); err != nil {
		return nil, fmt.Errorf("lot %q: %w", id, err)
	}
	return l, nil
}

func (c *command) saveLot(l *Lot) error {
	v, err := save(c, lotKind, l.ID, l.Site, l.Version, l, nil, l.index())
	if err != nil {
		return err
	}
	l.Version = v
	return nil
}

// saveLast saves a command's last change to l and returns the lot as saved. The store
// keeps l itself rather than a copy, so nothing may change l afterwards.
func (c *command) saveLast(l *Lot) (Lot, error) {
	v, err := c.tx.Put(c.ctx, store.Record{Kind: lotKind, ID: l.ID, Site: l.Site, Version: l.Version, Index: l.index(), Value: l})
	if err != nil {
		return Lot{}, storeErr(err)
	}
	out := *l
	out.Version = v
	return out, nil
}

// Lot returns the lot with id.
func (p *Plant) Lot(ctx context.Context, id string) (Lot, error) {
	var l Lot
	err := p.view(ctx, func(tx store.ReadTx) error {
		_, err := load(ctx, tx, lotKind, id, &l)
		return err
	})
	return l.owned(), err
}

// LotsOfWorkOrder returns the lots a work order started (and their rework and split
// sublots), ordered by id.
func (p *Plant) LotsOfWorkOrder(ctx context.Context, site, workOrder string) ([]Lot, error) {
	lots, err := list[Lot](ctx, p, store.Query{Kind: lotKind, Site: site, Index: "workorder", Value: workOrder})
	for i := range lots {
		lots[i] = lots[i].owned()
	}
	return lots, err
}

// StartLot starts a lot of qty for a released work order on the routing the order is
// pinned to; the quantity queues at the first step. The lots of an order may not start
// more than the order's quantity.
func (p *Plant) StartLot(ctx context.Context, workOrderID string, qty units.Quantity, opts ...CommandOption) (Lot, error) {
	return execute(ctx, p, "lot.start", []string{workOrderID}, opts, func(c *command) (Lot, error) {
		wo, err := c.loadWorkOrder(workOrderID)
		if err != nil {
			return Lot{}, err
		}
		if err := c.authorize(wo.Site); err != nil {
			return Lot{}, err
		}
		if wo.Status != StatusReleased && wo.Status != StatusRunning {
			return Lot{}, &TransitionError{Object: wo.ref(), State: string(wo.Status), Command: "start a lot of", Allowed: "[released running]"}
		}
		if err := checkHolds(c.ctx, c.tx, wo.Site, quality.Subject{WorkOrder: wo.ID, Material: wo.Product}); err != nil {
			return Lot{}, err
		}
		if err := qty.RequirePositive("lot quantity"); err != nil {
			return Lot{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		started, err := wo.Started.Add(qty)
		if err != nil {
			return Lot{}, fmt.Errorf("%w: lot quantity %s for %s (ordered in %s): %w", ErrInvalid, qty, wo.ref(), wo.Qty.Unit(), err)
		}
		if over, _ := started.Cmp(wo.Qty); over > 0 {
			rest, _ := wo.Qty.Sub(wo.Started)
			return Lot{}, fmt.Errorf("%w: starting %s would exceed %s of %s; at most %s remains to start", ErrInvalid, qty, wo.Qty, wo.ref(), rest)
		}
		rt, err := c.p.routings.revision(c.ctx, c.tx, wo.Site, wo.Routing, wo.RoutingRevision)
		if err != nil {
			return Lot{}, err
		}
		m, err := c.loadMaterial(wo.Product)
		if err != nil {
			return Lot{}, err
		}
		first := rt.Steps[0].ID
		exec, _, err := rt.StartAt(first, qty, c.now)
		if err != nil {
			return Lot{}, routingErr(err)
		}
		id, err := c.nextLotID(&wo)
		if err != nil {
			return Lot{}, err
		}
		ch, err := genealogy.Produce(m, genealogy.Lot{ID: id, Site: wo.Site}, qty, c.op(wo.ID, first))
		if err != nil {
			return Lot{}, genealogyErr(err)
		}
		lot := &Lot{WorkOrder: wo.ID, Execution: &exec, QueuedSince: StepTimes{{Step: first, Time: c.now}}}
		if _, err := c.applyChange(ch, map[string]*Lot{id: lot}); err != nil {
			return Lot{}, err
		}
		before := wo.Started
		wo.Started = started
		if err := c.saveWorkOrder(&wo); err != nil {
			return Lot{}, err
		}
		c.record(objectRef(workOrderKind, wo.ID), change("started", before, wo.Started))
		return *lot, c.emit(lot.ID, LotStarted{Lot: lot.ID, WorkOrder: wo.ID, Routing: rt.ID, Revision: rt.Revision, Step: first, Qty: qty})
	})
}

// stepContext is what a lot move at a step loads.
type stepContext struct {
	lot *Lot
	// wo is the lot's work order as read (the store's: read only) until changeOrder
	// gives it a copy of its own.
	wo        *WorkOrder
	woVersion uint64
	woOwned   bool
	rt        *routing.Routing
	step      *routing.Step // the routing's: read only
}

// changeOrder returns the lot's work order for changing: a copy of the one read, made at
// the first change.
func (sc *stepContext) changeOrder() *WorkOrder {
	if !sc.woOwned {
		wo := *sc.wo
		wo.Version = sc.woVersion
		sc.wo, sc.woOwned = &wo, true
	}
	return sc.wo
}

// holdCheck says which holds a lot move at a step respects.
type holdCheck int

const (
	// ignoreHolds: the move processes no material (pause, abort, recording results).
	ignoreHolds holdCheck = iota
	// holdsOnWaiting: the move takes waiting quantity (track-in, skip, move back): the lot,
	// its order, its material and the command's equipment (the step's work center without
	// one), or anything above that equipment (a hold on a work center holds its units).
	holdsOnWaiting
	// holdsOnInProcess: the move takes quantity in process (track-out, resume): also the
	// equipment that quantity was tracked in on.
	holdsOnInProcess
)

// loadStep loads a lot on a routing, its work order and routing, checks authority and, for
// moves that process material (holds other than ignoreHolds), that the order is released
// or running and that nothing involved is held.
func (c *command) loadStep(lotID, step string, holds holdCheck) (*stepContext, error) {
	lot, err := c.loadLot(lotID)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(lot.Site); err != nil {
		return nil, err
	}
	if lot.Execution == nil {
		return nil, fmt.Errorf("%w: %s is material, not work on a routing; only lots started by a work order move through steps", ErrWrongState, lot.ref())
	}
	sc := &stepContext{lot: lot}
	rec, err := c.tx.Get(c.ctx, workOrderKind, lot.WorkOrder)
	if err == nil {
		sc.wo, err = peek[WorkOrder](rec)
	}
	if err != nil {
		return nil, fmt.Errorf("work order %q: %w", lot.WorkOrder, storeErr(err))
	}
	sc.woVersion = rec.Version
	if sc.rt, err = c.p.routings.revision(c.ctx, c.tx, lot.Site, lot.Execution.Routing, lot.Execution.Revision); err != nil {
		return nil, err
	}
	if sc.step = stepOf(sc.rt, step); sc.step == nil {
		return nil, fmt.Errorf("%w: step %q is not in routing %s rev %s of %s", ErrNotFound, step, sc.rt.ID, sc.rt.Revision, lot.ref())
	}
	if holds != ignoreHolds {
		if sc.wo.Status != StatusReleased && sc.wo.Status != StatusRunning {
			return nil, &TransitionError{Object: lot.ref() + " of " + sc.wo.ref(), State: string(sc.wo.Status), Command: "move material of", Allowed: "[released running]"}
		}
		var space [2]string
		eqs := append(space[:0], c.opts.where)
		if eqs[0] == "" {
			eqs[0] = sc.step.WorkCenter // where the move is recorded when the command names no equipment
		}
		for _, on := range lot.OnEquipment { // quantity in process here runs there
			if holds == holdsOnInProcess && on.Step == step && !slices.Contains(eqs, on.Equipment) {
				eqs = append(eqs, on.Equipment)
			}
		}
		if err := c.checkMoveHolds(lot, eqs); err != nil {
			return nil, fmt.Errorf("%s at step %s: %w", lot.ref(), step, err)
		}
	}
	return sc, nil
}

// stepOf returns the step of rt with id, or nil.
func stepOf(rt *routing.Routing, id string) *routing.Step {
	for i := range rt.Steps {
		if rt.Steps[i].ID == id {
			return &rt.Steps[i]
		}
	}
	return nil
}

// checkEquipment verifies that the equipment the command names (mes.On) can run the step:
// it is the step's work center, an alternate, or equipment below one of them. Without
// mes.On the step's work center is recorded.
func (c *command) checkEquipment(sc *stepContext) error {
	if sc.step.WorkCenter == "" {
		return nil
	}
	if c.opts.where == "" {
		c.opts.where = sc.step.WorkCenter
		return nil
	}
	allowed := append([]string{sc.step.WorkCenter}, sc.step.Alternates...)
	for id, depth := c.opts.where, 0; id != "" && depth < 8; depth++ {
		if slices.Contains(allowed, id) {
			return nil
		}
		var se storedEquipment
		if _, err := load(c.ctx, c.tx, equipmentKind, id, &se); err != nil {
			return fmt.Errorf("equipment %q: %w", c.opts.where, err)
		}
		id = se.Parent
	}
	return fmt.Errorf("%w: equipment %s cannot run step %s of %s: it runs at %v", ErrInvalid, c.opts.where, sc.step.ID, sc.lot.ref(), allowed)
}

// TrackIn starts qty of the quantity waiting for a lot at a step (zero qty: all of it).
// Name the equipment with mes.On. The lot, its work order, the equipment and the material
// must not be held; the first track-in of an order marks it running.
func (p *Plant) TrackIn(ctx context.Context, lotID, step string, qty units.Quantity, opts ...CommandOption) (Lot, error) {
	return execute(ctx, p, "lot.track_in", []string{lotID, step}, opts, func(c *command) (Lot, error) {
		sc, err := c.loadStep(lotID, step, holdsOnWaiting)
		if err != nil {
			return Lot{}, err
		}
		if err := c.checkEquipment(sc); err != nil {
			return Lot{}, err
		}
		if err := c.checkTrackIn(sc); err != nil {
			return Lot{}, err
		}
		before := *sc.lot.Execution
		exec, fx, err := sc.rt.TrackIn(before, step, qty, c.now)
		if err != nil {
			return Lot{}, routingErr(err)
		}
		sc.lot.Execution = &exec
		b0, b1 := stepBooks(before, step), stepBooks(exec, step)
		if b1.Waiting.IsZero() {
			sc.lot.unqueue(step)
		}
		if sc.wo.Status == StatusReleased {
			if err := c.requireSignatureFor("workorder.start", sc.wo.Site, "this first track-in starts "+sc.wo.ref()); err != nil {
				return Lot{}, err
			}
			wo := sc.changeOrder()
			wo.Status, wo.StartedAt = StatusRunning, c.now
			if err := c.saveWorkOrder(wo); err != nil {
				return Lot{}, err
			}
			c.record(objectRef(workOrderKind, sc.wo.ID), change("status", StatusReleased, StatusRunning))
			if err := c.emit(sc.wo.ID, WorkOrderStarted{ID: sc.wo.ID, Number: sc.wo.Number}); err != nil {
				return Lot{}, err
			}
		}
		started, _ := b1.InProcess.Sub(b0.InProcess)
		c.record(objectRef(lotKind, sc.lot.ID), stepChange(step, "in process", b0.InProcess, b1.InProcess))
		if err := emitHot(c, sc.lot.ID, LotTrackedIn{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Step: step, Equipment: c.opts.where, Qty: started}); err != nil {
			return Lot{}, err
		}
		if err := c.loadEquipment(sc, step); err != nil {
			return Lot{}, err
		}
		if err := c.effects(sc, fx); err != nil {
			return Lot{}, err
		}
		if err := c.afterTrackIn(sc); err != nil {
			return Lot{}, err
		}
		return c.saveLast(sc.lot)
	})
}

// waitsAt reports whether quantity of e waits at step.
func waitsAt(e *routing.Execution, step string) bool {
	for s := range e.Waiting() {
		if s == step {
			return true
		}
	}
	return false
}

func stepBooks(e routing.Execution, step string) routing.Books {
	b, _ := e.Books(step)
	return b
}

// TrackOut reports what came out of the quantity in process for a lot at a step: good,
// scrap by reason code, rework (split off into a rework lot) and the step's results.
// Several partial track-outs add up; Outcome.Final closes the step and books the
// difference as process loss. Good quantity flows on to the next step(s).
func (p *Plant) TrackOut(ctx context.Context, lotID, step string, outcome routing.Outcome, opts ...CommandOption) (Lot, error) {
	return execute(ctx, p, "lot.track_out", []string{lotID, step}, opts, func(c *command) (Lot, error) {
		out := outcome // each attempt starts from the caller's outcome, which it never changes
		out.Scrap = slices.Clone(outcome.Scrap)
		out.Results, out.InSpec = maps.Clone(outcome.Results), maps.Clone(outcome.InSpec)
		sc, err := c.loadStep(lotID, step, holdsOnInProcess)
		if err != nil {
			return Lot{}, err
		}
		if err := c.checkEquipment(sc); err != nil {
			return Lot{}, err
		}
		if err := c.checkTrackOut(sc, &out); err != nil {
			return Lot{}, err
		}
		before := *sc.lot.Execution
		exec, fx, err := c.trackOutWithYield(sc, before, step, out)
		if err != nil {
			return Lot{}, err
		}
		sc.lot.Execution = &exec
		b0, b1 := stepBooks(before, step), stepBooks(exec, step)
		if err := c.bookLoss(sc, step, b0, b1); err != nil {
			return Lot{}, err
		}
		for _, s := range out.Scrap {
			if err := c.scrapFromLot(sc, step, s); err != nil {
				return Lot{}, err
			}
		}
		c.record(objectRef(lotKind, sc.lot.ID), stepChange(step, "good", b0.Good, b1.Good), stepChange(step, "scrap", b0.Scrap, b1.Scrap),
			stepChange(step, "rework", b0.Rework, b1.Rework))
		if err := emitHot(c, sc.lot.ID, LotTrackedOut{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Step: step, Equipment: c.opts.where, Good: out.Good, Scrap: out.Scrap, Rework: out.Rework}); err != nil {
			return Lot{}, err
		}
		if err := c.effects(sc, fx); err != nil {
			return Lot{}, err
		}
		if err := c.unloadEquipment(sc, step, b1.InProcess.IsPositive()); err != nil {
			return Lot{}, err
		}
		if err := c.afterTrackOut(sc, b1); err != nil {
			return Lot{}, err
		}
		return c.saveLast(sc.lot)
	})
}

// trackOutWithYield runs the routing's track-out. A yield beyond the step's tolerance
// needs a justification: a reason code in the outcome, or an electronic signature on the
// command (mes.SignedBy), which is recorded as the reason. With WithYieldSignature, only a
// signature will do.
func (c *command) trackOutWithYield(sc *stepContext, before routing.Execution, step string, out routing.Outcome) (routing.Execution, []routing.Effect, error) {
	signed := ""
	for _, s := range c.signers {
		signed += "signed by " + s.Name + "; "
	}
	if c.p.yieldSignature {
		out.Reason = ""
	}
	if out.Reason == "" && signed != "" {
		out.Reason = strings.TrimSuffix(signed, "; ")
	}
	exec, fx, err := sc.rt.TrackOut(before, step, out, c.now)
	if errors.Is(err, routing.ErrYieldReasonRequired) {
		how := "give a reason code in Outcome.Reason or sign with mes.SignedBy"
		if c.p.yieldSignature {
			how = "a supervisor must sign with mes.SignedBy"
		}
		return exec, nil, fmt.Errorf("%w: %w; %s", ErrInvalid, err, how)
	}
	if err != nil {
		return exec, nil, routingErr(err)
	}
	return exec, fx, nil
}

// WithYieldSignature makes a yield beyond a step's tolerance need an electronic signature
// on the track-out; by default a reason code is enough.
func WithYieldSignature() Option {
	return func(p *Plant) error { p.yieldSignature = true; return nil }
}

// bookLoss records process loss (or gain) booked by a final track-out as a genealogy
// adjustment, so the lot's quantity on hand follows its books.
func (c *command) bookLoss(sc *stepContext, step string, before, after routing.Books) error {
	loss, err := after.Loss.Sub(before.Loss)
	if err != nil || loss.IsZero() {
		return err
	}
	op := c.op(sc.wo.ID, step)
	op.Reason = "process loss at step " + step
	ch, err := genealogy.Adjust(sc.lot.Lot, loss.Neg(), op)
	if err != nil {
		return genealogyErr(err)
	}
	sc.lot.Lot = ch.Lots[0]
	if err := c.tx.AddEdges(c.ctx, ch.Edges...); err != nil {
		return err
	}
	return c.emit(sc.lot.ID, LotAdjusted{Lot: sc.lot.ID, Reason: op.Reason, Delta: loss.Neg()})
}

// scrapFromLot moves scrapped quantity out of the lot and onto the work order's books.
func (c *command) scrapFromLot(sc *stepContext, step string, s routing.ScrapLine) error {
	op := c.op(sc.wo.ID, step)
	op.Reason = s.Reason
	ch, err := genealogy.Scrap(sc.lot.Lot, s.Qty, op)
	if err != nil {
		return genealogyErr(err)
	}
	sc.lot.Lot = ch.Lots[0]
	if err := c.tx.AddEdges(c.ctx, ch.Edges...); err != nil {
		return err
	}
	wo := sc.changeOrder()
	if wo.Scrapped, err = wo.Scrapped.Add(s.Qty); err != nil {
		return fmt.Errorf("%w: scrap %s on %s: %w", ErrInvalid, s.Qty, wo.ref(), err)
	}
	if err := c.saveWorkOrder(wo); err != nil {
		return err
	}
	return c.emit(sc.lot.ID, LotScrapped{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Step: step, Reason: s.Reason, Qty: s.Qty})
}

// effects turns the routing's effects into splits, work order quantities and events.
func (c *command) effects(sc *stepContext, fx []routing.Effect) error {
	for _, f := range fx {
		var err error
		switch f := f.(type) {
		case routing.Arrived:
			if waitsAt(sc.lot.Execution, f.Step) { // quantity passing a skipped step does not wait
				sc.lot.queue(f.Step, c.now)
			}
		case routing.StepCompleted:
			if err = c.emit(sc.lot.ID, OperationCompleted{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Step: f.Step, Books: f.Books}); err == nil {
				err = c.consumptionVariance(sc, f)
			}
		case routing.YieldVariance:
			err = c.emit(sc.lot.ID, YieldVarianceRecorded{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Variance: f})
		case routing.ReworkSplit:
			_, err = c.splitOff(sc, f.Qty, f.From, f.To, "R")
		case routing.Finished:
			wo := sc.changeOrder()
			before := wo.Produced
			if wo.Produced, err = wo.Produced.Add(f.Qty); err != nil {
				return fmt.Errorf("%w: finished %s on %s: %w", ErrInvalid, f.Qty, wo.ref(), err)
			}
			if err = c.saveWorkOrder(wo); err == nil {
				c.record(objectRef(workOrderKind, sc.wo.ID), change("produced", before, sc.wo.Produced))
				err = c.emit(sc.lot.ID, LotFinished{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Product: sc.wo.Product, Qty: f.Qty})
			}
		case routing.RouteCompleted:
			err = c.emit(sc.lot.ID, LotCompleted{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Finished: f.Finished})
		case routing.Backflush:
			err = c.backflush(sc, f)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// splitOff moves qty of a lot into a new sublot that starts at step `to` of the same
// routing (rework) — the genealogy records the split, the books stay balanced.
func (c *command) splitOff(sc *stepContext, qty units.Quantity, from, to, tag string) (*Lot, error) {
	id, err := c.nextChildID(sc.lot, tag)
	if err != nil {
		return nil, err
	}
	ch, err := genealogy.Split(sc.lot.Lot, []genealogy.Part{{ID: id, Qty: qty}}, c.op(sc.wo.ID, from))
	if err != nil {
		return nil, genealogyErr(err)
	}
	exec, _, err := sc.rt.StartAt(to, qty, c.now)
	if err != nil {
		return nil, routingErr(err)
	}
	sc.lot.Lot = ch.Lots[0]
	child := &Lot{WorkOrder: sc.wo.ID, Execution: &exec, QueuedSince: StepTimes{{Step: to, Time: c.now}}}
	if tag == "R" {
		child.ReworkOf = sc.lot.ID
	}
	if _, err := c.applyChange(genealogy.Change{Lots: ch.Lots[1:], Edges: ch.Edges}, map[string]*Lot{id: child}); err != nil {
		return nil, err
	}
	if err := c.saveLot(sc.lot); err != nil {
		return nil, err
	}
	if err := c.emit(sc.lot.ID, LotSplit{Lot: sc.lot.ID, Parts: []genealogy.Part{{ID: id, Qty: qty}}}); err != nil {
		return nil, err
	}
	return child, c.emit(id, LotStarted{Lot: id, WorkOrder: sc.wo.ID, Routing: sc.rt.ID, Revision: sc.rt.Revision, Step: to, Qty: qty})
}

// backflush consumes a back-flushed component from the site's available lots of it, oldest
// first (FIFO), into the lot. Held and expired lots are skipped, and so are lots that
// descend from the lot (their material would close a genealogy cycle).
func (c *command) backflush(sc *stepContext, b routing.Backflush) error {
	need := b.Qty
	recs, err := c.tx.List(c.ctx, store.Query{Kind: lotKind, Site: sc.lot.Site, Index: "material", Value: b.Component})
	if err != nil {
		return err
	}
	var candidates []*Lot
	for _, rec := range recs {
		src := &Lot{}
		if err := decode(rec, src); err != nil {
			return err
		}
		if src.Status == genealogy.Available && src.OnHand.IsPositive() && !src.unfinished() {
			candidates = append(candidates, src)
		}
	}
	slices.SortStableFunc(candidates, func(a, b *Lot) int { return a.CreatedAt.Compare(b.CreatedAt) }) // ties: by id, as listed
	for _, src := range candidates {
		if !need.IsPositive() {
			break
		}
		if err := c.checkLotHolds(src); errors.Is(err, ErrOnHold) {
			continue
		} else if err != nil {
			return err
		}
		take := need
		if more, err := need.Cmp(src.OnHand); err != nil {
			return fmt.Errorf("%w: back-flush of %s from lot %s: %w", ErrInvalid, need, src.ID, err)
		} else if more > 0 {
			take = src.OnHand
		}
		if err := c.consume(src, sc.lot, take, sc.wo.ID, b.Step); err != nil {
			if errors.Is(err, genealogy.ErrExpired) || errors.Is(err, genealogy.ErrCycle) {
				continue // not usable here: expired, or it descends from the lot
			}
			return err
		}
		if need, err = need.Sub(take); err != nil {
			return err
		}
	}
	if need.IsPositive() {
		return fmt.Errorf("%w: back-flush of %s at step %s of %s: %s of %s is short (no available, unheld lot covers it); receive material first", ErrInvalid, b.Qty, b.Step, sc.lot.ref(), need, b.Component)
	}
	return nil
}

// consume moves qty of lot from into lot into and records the edge.
func (c *command) consume(from, into *Lot, qty units.Quantity, workOrder, step string) error {
	lf, err := c.lift(from, into)
	if err != nil {
		return err
	}
	ch, err := genealogy.Consume(from.Lot, lf.into, qty, c.op(workOrder, step))
	if err != nil {
		return genealogyErr(err)
	}
	if err := c.saveLift(into, lf); err != nil {
		return err
	}
	before := from.OnHand
	from.Lot, into.Lot = ch.Lots[0], ch.Lots[1]
	if err := c.saveLot(from); err != nil {
		return err
	}
	c.record(objectRef(lotKind, from.ID), change("on_hand", before, from.OnHand))
	if err := c.tx.AddEdges(c.ctx, ch.Edges...); err != nil {
		return err
	}
	return c.emit(from.ID, MaterialConsumed{From: from.ID, Into: into.ID, WorkOrder: workOrder, Step: step, Qty: qty})
}

// lift is what a new edge into a lot raises (genealogy.Lift).
type lift struct {
	into  genealogy.Lot // the lot the edge goes into, at its level for the edge
	below []raised      // the lots below it that rise with it
}

// raised is a lot a lift raises, its new level set, and its level before.
type raised struct {
	lot *Lot
	was int
}

// lift decides an edge from lot from into lot into: when the levels alone cannot show that
// it closes no cycle (genealogy.NeedsLift), genealogy.Lift decides with the stored graph,
// refusing a cycle; otherwise nothing is read. It changes no stored lot: saveLift saves the
// raised lots once the edge is accepted.
func (c *command) lift(from, into *Lot) (lift, error) {
	if !genealogy.NeedsLift(from.Lot, into.Lot) {
		return lift{into: into.Lot}, nil
	}
	loaded := map[string]*Lot{}
	lots, err := genealogy.Lift(c.ctx, c.tx, func(_ context.Context, id string) (genealogy.Lot, error) {
		l, err := c.loadLot(id)
		if err != nil {
			return genealogy.Lot{}, err
		}
		loaded[id] = l
		return l.Lot, nil
	}, from.Lot, into.Lot)
	if errors.Is(err, genealogy.ErrCycle) {
		return lift{}, genealogyErr(err)
	}
	if err != nil {
		return lift{}, err
	}
	out := lift{into: lots[0], below: make([]raised, len(lots)-1)}
	for i, gl := range lots[1:] {
		l := loaded[gl.ID]
		out.below[i] = raised{lot: l, was: l.Level}
		l.Level = gl.Level
	}
	return out, nil
}

// saveLift records into's new level (the caller saves into) and saves the lots raised
// below it.
func (c *command) saveLift(into *Lot, lf lift) error {
	if lf.into.Level != into.Level {
		c.record(objectRef(lotKind, into.ID), change("level", into.Level, lf.into.Level))
	}
	for _, r := range lf.below {
		if err := c.saveLot(r.lot); err != nil {
			return err
		}
		c.record(objectRef(lotKind, r.lot.ID), change("level", r.was, r.lot.Level))
	}
	return nil
}

// consumptionVariance compares what a completed step consumed into the lot (consumption
// edges at that step) with the standard, per component consumed by actual quantity, and
// records the difference.
func (c *command) consumptionVariance(sc *stepContext, done routing.StepCompleted) error {
	s, _ := sc.rt.Step(done.Step)
	var inputs []genealogy.Edge
	for _, m := range s.Materials {
		if m.Backflush {
			continue // back-flushed consumption is the standard by definition
		}
		if inputs == nil {
			var err error
			if inputs, err = c.tx.Inputs(c.ctx, genealogy.LotNode(sc.lot.ID)); err != nil {
				return err
			}
		}
		standard := m.PerUnit.Mul(done.Books.Good.Value())
		actual, err := units.New(decimal.Zero, m.PerUnit.Unit())
		if err != nil {
			return err
		}
		for _, e := range inputs {
			if e.Kind != genealogy.EdgeConsume || e.Step != done.Step || e.WorkOrder != sc.wo.ID {
				continue
			}
			var from Lot
			if _, err := load(c.ctx, c.tx, lotKind, e.From.ID, &from); err != nil || from.Material != m.Component {
				continue
			}
			if actual, err = actual.Add(e.Qty); err != nil {
				return fmt.Errorf("%w: consumption of %s at step %s: %w", ErrInvalid, m.Component, done.Step, err)
			}
		}
		variance, err := actual.Sub(standard)
		if err != nil {
			return fmt.Errorf("%w: consumption of %s at step %s: %w", ErrInvalid, m.Component, done.Step, err)
		}
		if variance.IsZero() {
			continue
		}
		if err := c.emit(sc.lot.ID, ConsumptionVariance{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Step: done.Step, Component: m.Component,
			Standard: standard, Actual: actual, Variance: variance}); err != nil {
			return err
		}
	}
	return nil
}

// Material returns a material definition.
func (p *Plant) Material(ctx context.Context, id string) (genealogy.Material, error) {
	var m genealogy.Material
	err := p.view(ctx, func(tx store.ReadTx) error {
		_, err := load(ctx, tx, materialKind, id, &m)
		return err
	})
	return m, err
}

// checkMoveHolds refuses to move a lot that is held, or whose order or material is, or on
// any of equipment that is held itself or lies under held equipment (a hold on a work
// center holds its units). A site without active holds costs one index read.
func (c *command) checkMoveHolds(lot *Lot, equipment []string) error {
	return c.checkHeldOn(lot.Site, quality.Subject{Lot: lot.ID, WorkOrder: lot.WorkOrder, Material: lot.Material, SupplierLot: lot.SupplierLot}, equipment)
}

// checkHeldOn refuses subject (material, without equipment) in site when it is held, or
// when any of equipment is held itself or lies under held equipment.
func (c *command) checkHeldOn(site string, subject quality.Subject, equipment []string) error {
	holds, all, err := siteHolds(c.ctx, c.tx, site)
	if err != nil || (all && len(holds) == 0) {
		return err
	}
	var chain []string
	if !all || slices.ContainsFunc(holds, func(h quality.Hold) bool { return h.Target.Kind == quality.OnEquipment }) {
		for _, eq := range equipment {
			for _, id := range equipmentChain(c.ctx, c.tx, eq) {
				if !slices.Contains(chain, id) {
					chain = append(chain, id)
				}
			}
		}
	}
	if !all {
		ts := targets(subject)
		for _, eq := range chain {
			ts = append(ts, string(quality.OnEquipment)+"/"+eq)
		}
		if holds, err = holdsOn(c.ctx, c.tx, site, ts...); err != nil {
			return err
		}
	}
	if err := onHold(holds, subject); err != nil {
		return err
	}
	for _, eq := range chain {
		if err := onHold(holds, quality.Subject{Equipment: eq}); err != nil {
			return err
		}
	}
	return nil
}

// equipmentChain returns id and the equipment above it, up to its site.
func equipmentChain(ctx context.Context, tx store.ReadTx, id string) []string {
	var chain []string
	for depth := 0; id != "" && depth < 8; depth++ {
		chain = append(chain, id)
		var se storedEquipment
		if _, err := load(ctx, tx, equipmentKind, id, &se); err != nil || se.Level == equipment.Site {
			break
		}
		id = se.Parent
	}
	return chain
}

// nextChildID numbers the next sublot of lot: "<lot>-<tag><n>", skipping ids a lot already
// has (a received lot may carry one).
func (c *command) nextChildID(lot *Lot, tag string) (string, error) {
	return c.freeLotID(func() string {
		lot.Children++
		return fmt.Sprintf("%s-%s%d", lot.ID, tag, lot.Children)
	})
}

// nextLotID numbers the order's next lot "<site>-<order number>-<n>", skipping numbers a
// lot of another order already holds (an order "7-1" of site "A" and an order "1" of site
// "A-7" would otherwise meet).
func (c *command) nextLotID(wo *WorkOrder) (string, error) {
	return c.freeLotID(func() string {
		wo.LotsStarted++
		return fmt.Sprintf("%s-%s-%d", wo.Site, wo.Number, wo.LotsStarted)
	})
}

// freeLotID returns the first of the ids next gives that no lot has.
func (c *command) freeLotID(next func() string) (string, error) {
	id := ""
	for range 1000 {
		id = next()
		if _, err := c.tx.Get(c.ctx, lotKind, id); errors.Is(err, store.ErrNotFound) {
			return id, nil
		} else if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("%w: no free lot id up to %s", ErrInternal, id)
}
