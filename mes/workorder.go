package mes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// WorkOrderStatus is where a work order stands. The names follow ISA-95 job orders:
// Created is NotAllowedToStart, Released is AllowedToStart, Running, Completed is Ended,
// Cancelled is Aborted. A hold (ISA-95 Interrupted, ISA-88 Held) overlays any status: see
// PlaceHold.
type WorkOrderStatus string

// Work order statuses.
const (
	StatusCreated   WorkOrderStatus = "created"
	StatusReleased  WorkOrderStatus = "released"
	StatusRunning   WorkOrderStatus = "running"
	StatusCompleted WorkOrderStatus = "completed"
	StatusClosed    WorkOrderStatus = "closed"
	StatusCancelled WorkOrderStatus = "cancelled"
)

const workOrderKind = "workorder"

// WorkOrder is a production order: make Qty of Product at Site by Due.
type WorkOrder struct {
	ID         string         `json:"id"`
	Site       string         `json:"site"`
	Number     string         `json:"number"`                // unique per site
	ExternalID string         `json:"external_id,omitempty"` // the ERP's order id, unique per site
	Product    string         `json:"product"`
	Qty        units.Quantity `json:"qty"` // planned
	Produced   units.Quantity `json:"produced"`
	Scrapped   units.Quantity `json:"scrapped"`
	// Started is the quantity of the lots started so far (StartLot).
	Started     units.Quantity  `json:"started"`
	LotsStarted int             `json:"lots_started,omitempty"`
	Due         time.Time       `json:"due,omitzero"`
	Priority    int             `json:"priority"` // higher runs first where a rule uses it
	Customer    string          `json:"customer,omitempty"`
	Status      WorkOrderStatus `json:"status"`
	// SplitFrom is the id of the order this one was split off (SplitWorkOrder), whose ERP
	// order it still fulfils.
	SplitFrom string `json:"split_from,omitempty"`
	// MovedOut is the quantity SplitWorkOrder and MergeWorkOrders moved from this order to
	// others, less what they moved into it: Qty + MovedOut is what the order was created
	// or last rescheduled with (the ERP's order quantity).
	MovedOut units.Quantity `json:"moved_out,omitzero"`
	// Routing and RoutingRevision are pinned when the order is released: a later routing
	// revision does not change this order.
	Routing         string    `json:"routing,omitempty"`
	RoutingRevision string    `json:"routing_revision,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	ReleasedAt      time.Time `json:"released_at,omitzero"`
	StartedAt       time.Time `json:"started_at,omitzero"`
	CompletedAt     time.Time `json:"completed_at,omitzero"`
	ClosedAt        time.Time `json:"closed_at,omitzero"`
	// Version is the store version the order was read at (the stored copy of this field is
	// ignored; the store's version wins).
	Version uint64 `json:"version"`
}

// detach: a work order holds no maps or slices.
func (w *WorkOrder) detach() {}

func (w *WorkOrder) ref() string { return fmt.Sprintf("work order %s", w.Number) }

func (w *WorkOrder) setVersion(v uint64) { w.Version = v }

func (w *WorkOrder) index() map[string]string {
	return map[string]string{"status": string(w.Status), "product": w.Product}
}

func (w *WorkOrder) keys() []string {
	k := []string{"number:" + w.Site + "/" + w.Number}
	if w.ExternalID != "" {
		k = append(k, "external:"+w.Site+"/"+w.ExternalID)
	}
	return k
}

// NewWorkOrder is the input of CreateWorkOrder.
type NewWorkOrder struct {
	Site       string
	Number     string
	ExternalID string
	Product    string
	Qty        units.Quantity
	Due        time.Time
	Priority   int
	Customer   string
}

func (n NewWorkOrder) validate() error {
	p := problems{what: "work order"}
	if n.Site == "" {
		p.add("site", "", "is required: every record belongs to a site")
	}
	if n.Number == "" {
		p.add("number", "", "is required")
	}
	if n.Product == "" {
		p.add("product", "", "is required")
	}
	switch {
	case n.Qty.Unit() == "":
		p.add("qty", n.Qty.String(), "is required, with a unit, for example \"50 ea\"")
	case !n.Qty.IsPositive():
		p.add("qty", n.Qty.String(), "must be greater than zero")
	}
	if n.Priority < -1000 || n.Priority > 1000 {
		p.add("priority", fmt.Sprint(n.Priority), "must be between -1000 and 1000")
	}
	return p.err()
}

// Work order events.
type (
	// WorkOrderCreated: a work order was created.
	WorkOrderCreated struct {
		WorkOrder WorkOrder `json:"work_order"`
	}
	// WorkOrderReleased: the order may start; it is pinned to its routing revision.
	WorkOrderReleased struct {
		ID              string `json:"id"`
		Number          string `json:"number"`
		Routing         string `json:"routing"`
		RoutingRevision string `json:"routing_revision"`
	}
	// WorkOrderStarted: the first work on the order started.
	WorkOrderStarted struct {
		ID     string `json:"id"`
		Number string `json:"number"`
	}
	// WorkOrderCompleted: production on the order ended, with the final quantities.
	WorkOrderCompleted struct {
		ID       string         `json:"id"`
		Number   string         `json:"number"`
		Produced units.Quantity `json:"produced"`
		Scrapped units.Quantity `json:"scrapped"`
	}
	// WorkOrderClosed: the order is closed for booking.
	WorkOrderClosed struct {
		ID     string `json:"id"`
		Number string `json:"number"`
	}
	// WorkOrderCancelled: the order was cancelled (ISA-95 Aborted).
	WorkOrderCancelled struct {
		ID     string `json:"id"`
		Number string `json:"number"`
		Reason string `json:"reason"`
	}
	// WorkOrderPriorityChanged: the order's priority changed (an expedite when raised).
	WorkOrderPriorityChanged struct {
		ID     string `json:"id"`
		Number string `json:"number"`
		From   int    `json:"from"`
		To     int    `json:"to"`
	}
)

// EventType implements EventPayload.
func (WorkOrderCreated) EventType() string { return "workorder.created" }

// EventType implements EventPayload.
func (WorkOrderReleased) EventType() string { return "workorder.released" }

// EventType implements EventPayload.
func (WorkOrderStarted) EventType() string { return "workorder.started" }

// EventType implements EventPayload.
func (WorkOrderCompleted) EventType() string { return "workorder.completed" }

// EventType implements EventPayload.
func (WorkOrderClosed) EventType() string { return "workorder.closed" }

// EventType implements EventPayload.
func (WorkOrderCancelled) EventType() string { return "workorder.cancelled" }

// EventType implements EventPayload.
func (WorkOrderPriorityChanged) EventType() string { return "workorder.priority_changed" }

func init() {
	registerEvent(&WorkOrderCreated{}, &WorkOrderReleased{}, &WorkOrderStarted{}, &WorkOrderCompleted{},
		&WorkOrderClosed{}, &WorkOrderCancelled{}, &WorkOrderPriorityChanged{})
}

// CreateWorkOrder creates a work order in status created. The number (and the external id,
// when given) must be new in the site.
func (p *Plant) CreateWorkOrder(ctx context.Context, in NewWorkOrder, opts ...CommandOption) (WorkOrder, error) {
	return execute(ctx, p, "workorder.create", []string{in.Site, in.Number}, opts, func(c *command) (WorkOrder, error) {
		if err := in.validate(); err != nil {
			return WorkOrder{}, err
		}
		if err := c.authorize(in.Site); err != nil {
			return WorkOrder{}, err
		}
		if err := c.requireSite(in.Site); err != nil {
			return WorkOrder{}, err
		}
		zero := zeroOf(in.Qty)
		wo := WorkOrder{
			ID: c.p.newID(), Site: in.Site, Number: in.Number, ExternalID: in.ExternalID, Product: in.Product,
			Qty: in.Qty, Produced: zero, Scrapped: zero, Started: zero, Due: in.Due.UTC(), Priority: in.Priority, Customer: in.Customer,
			Status: StatusCreated, CreatedAt: c.now,
		}
		v, err := save(c, workOrderKind, wo.ID, wo.Site, 0, &wo, wo.keys(), wo.index())
		if errors.Is(err, ErrDuplicate) {
			return WorkOrder{}, fmt.Errorf("%w: work order number %q or external id %q already exists in site %s", ErrDuplicate, in.Number, in.ExternalID, in.Site)
		}
		if err != nil {
			return WorkOrder{}, err
		}
		wo.Version = v
		c.record(objectRef(workOrderKind, wo.ID), change("status", "", wo.Status), change("qty", "", wo.Qty), change("due", "", wo.Due), change("priority", "", wo.Priority))
		return wo, c.emit(wo.ID, WorkOrderCreated{WorkOrder: wo})
	})
}

// WorkOrder returns the work order with id.
func (p *Plant) WorkOrder(ctx context.Context, id string) (WorkOrder, error) {
	var wo WorkOrder
	err := p.view(ctx, func(tx store.ReadTx) error {
		_, err := load(ctx, tx, workOrderKind, id, &wo)
		return err
	})
	return wo, err
}

// WorkOrderByNumber returns the work order with number in site.
func (p *Plant) WorkOrderByNumber(ctx context.Context, site, number string) (WorkOrder, error) {
	var wo WorkOrder
	err := p.view(ctx, func(tx store.ReadTx) error {
		rec, err := tx.Lookup(ctx, workOrderKind, "number:"+site+"/"+number)
		if err != nil {
			return err
		}
		return decode(rec, &wo)
	})
	return wo, err
}

// WorkOrders returns the work orders of site in status (every status when empty), ordered
// by id (creation order with the default ids).
func (p *Plant) WorkOrders(ctx context.Context, site string, status WorkOrderStatus) ([]WorkOrder, error) {
	q := store.Query{Kind: workOrderKind, Site: site}
	if status != "" {
		q.Index, q.Value = "status", string(status)
	}
	return list[WorkOrder](ctx, p, q)
}

// ReleaseWorkOrder allows the order to start and pins it to the released routing of its
// product. The order must be created and not held.
func (p *Plant) ReleaseWorkOrder(ctx context.Context, id string, opts ...CommandOption) (WorkOrder, error) {
	return p.transitionWorkOrder(ctx, id, "workorder.release", "release", []WorkOrderStatus{StatusCreated}, StatusReleased, opts,
		func(c *command, wo *WorkOrder) (EventPayload, error) {
			wo.ReleasedAt = c.now
			if err := c.pinRouting(wo); err != nil {
				return nil, err
			}
			return WorkOrderReleased{ID: wo.ID, Number: wo.Number, Routing: wo.Routing, RoutingRevision: wo.RoutingRevision}, nil
		})
}

// StartWorkOrder marks the order running. Track-in of its first lot starts it as well.
func (p *Plant) StartWorkOrder(ctx context.Context, id string, opts ...CommandOption) (WorkOrder, error) {
	return p.transitionWorkOrder(ctx, id, "workorder.start", "start", []WorkOrderStatus{StatusReleased}, StatusRunning, opts,
		func(c *command, wo *WorkOrder) (EventPayload, error) {
			wo.StartedAt = c.now
			return WorkOrderStarted{ID: wo.ID, Number: wo.Number}, nil
		})
}

// CompleteWorkOrder ends production on the order. Every lot of the order must have left
// its routing (finished, or aborted with AbortLot): quantity still waiting or in process
// could not move once the order is completed.
func (p *Plant) CompleteWorkOrder(ctx context.Context, id string, opts ...CommandOption) (WorkOrder, error) {
	return p.transitionWorkOrder(ctx, id, "workorder.complete", "complete", []WorkOrderStatus{StatusRunning}, StatusCompleted, opts,
		func(c *command, wo *WorkOrder) (EventPayload, error) {
			lots, err := peekAll[Lot](c.ctx, c.tx, store.Query{Kind: lotKind, Site: wo.Site, Index: "workorder", Value: wo.ID})
			if err != nil {
				return nil, err
			}
			var running []string
			for _, l := range lots {
				if l.Execution != nil && l.Execution.Running() {
					running = append(running, l.ID)
				}
			}
			if running != nil {
				return nil, fmt.Errorf("%w: cannot complete %s: lots %v are still on their routing; finish them, or abort them with a reason (AbortLot)", ErrWrongState, wo.ref(), running)
			}
			wo.CompletedAt = c.now
			return WorkOrderCompleted{ID: wo.ID, Number: wo.Number, Produced: wo.Produced, Scrapped: wo.Scrapped}, nil
		})
}

// CloseWorkOrder closes a completed order for further booking.
func (p *Plant) CloseWorkOrder(ctx context.Context, id string, opts ...CommandOption) (WorkOrder, error) {
	return p.transitionWorkOrder(ctx, id, "workorder.close", "close", []WorkOrderStatus{StatusCompleted}, StatusClosed, opts,
		func(c *command, wo *WorkOrder) (EventPayload, error) {
			wo.ClosedAt = c.now
			return WorkOrderClosed{ID: wo.ID, Number: wo.Number}, nil
		})
}

// CancelWorkOrder aborts an order that has not completed; a held order may be cancelled.
// Give the reason with mes.Reason.
func (p *Plant) CancelWorkOrder(ctx context.Context, id string, opts ...CommandOption) (WorkOrder, error) {
	return p.transitionWorkOrder(ctx, id, "workorder.cancel", "cancel", []WorkOrderStatus{StatusCreated, StatusReleased, StatusRunning}, StatusCancelled, opts,
		func(c *command, wo *WorkOrder) (EventPayload, error) {
			if c.opts.reason == "" {
				return nil, fmt.Errorf("%w: cancelling %s needs a reason; pass mes.Reason(...)", ErrInvalid, wo.ref())
			}
			return WorkOrderCancelled{ID: wo.ID, Number: wo.Number, Reason: c.opts.reason}, nil
		})
}

// transitionWorkOrder moves a work order from one of from to status to.
func (p *Plant) transitionWorkOrder(ctx context.Context, id, action, verb string, from []WorkOrderStatus, to WorkOrderStatus, opts []CommandOption,
	apply func(c *command, wo *WorkOrder) (EventPayload, error)) (WorkOrder, error) {
	return execute(ctx, p, action, []string{id}, opts, func(c *command) (WorkOrder, error) {
		wo, err := c.loadWorkOrder(id)
		if err != nil {
			return WorkOrder{}, err
		}
		if err := c.authorize(wo.Site); err != nil {
			return WorkOrder{}, err
		}
		allowed := false
		for _, s := range from {
			allowed = allowed || wo.Status == s
		}
		if !allowed {
			return WorkOrder{}, &TransitionError{Object: wo.ref(), State: string(wo.Status), Command: verb, Allowed: fmt.Sprint(from)}
		}
		if to != StatusCancelled {
			if err := checkHolds(c.ctx, c.tx, wo.Site, quality.Subject{WorkOrder: wo.ID}); err != nil {
				return WorkOrder{}, fmt.Errorf("cannot %s %s: %w", verb, wo.ref(), err)
			}
		}
		before := wo.Status
		wo.Status = to
		ev, err := apply(c, &wo)
		if err != nil {
			return WorkOrder{}, err
		}
		if err := c.saveWorkOrder(&wo); err != nil {
			return WorkOrder{}, err
		}
		c.record(objectRef(workOrderKind, wo.ID), change("status", before, to))
		return wo, c.emit(wo.ID, ev)
	})
}

// SetWorkOrderPriority changes the order's priority (1 is the most urgent). Making an
// order more urgent after release is an expedite, counted by the execution KPIs.
func (p *Plant) SetWorkOrderPriority(ctx context.Context, id string, priority int, opts ...CommandOption) (WorkOrder, error) {
	return execute(ctx, p, "workorder.set_priority", []string{id}, opts, func(c *command) (WorkOrder, error) {
		wo, err := c.loadWorkOrder(id)
		if err != nil {
			return WorkOrder{}, err
		}
		if err := c.authorize(wo.Site); err != nil {
			return WorkOrder{}, err
		}
		if priority < -1000 || priority > 1000 {
			return WorkOrder{}, &ValidationError{What: "priority", Problems: []Problem{{Field: "priority", Value: fmt.Sprint(priority), Reason: "must be between -1000 and 1000"}}}
		}
		if wo.Status == StatusClosed || wo.Status == StatusCancelled || wo.Status == StatusCompleted {
			return WorkOrder{}, &TransitionError{Object: wo.ref(), State: string(wo.Status), Command: "change the priority of", Allowed: "[created released running]"}
		}
		before := wo.Priority
		wo.Priority = priority
		if err := c.saveWorkOrder(&wo); err != nil {
			return WorkOrder{}, err
		}
		c.record(objectRef(workOrderKind, wo.ID), change("priority", before, priority))
		return wo, c.emit(wo.ID, WorkOrderPriorityChanged{ID: wo.ID, Number: wo.Number, From: before, To: priority})
	})
}

func (c *command) loadWorkOrder(id string) (WorkOrder, error) {
	var wo WorkOrder
	err := c.readWorkOrder(id, &wo)
	return wo, err
}

// readWorkOrder loads the work order id into wo.
func (c *command) readWorkOrder(id string, wo *WorkOrder) error {
	if _, err := load(c.ctx, c.tx, workOrderKind, id, wo); err != nil {
		return fmt.Errorf("work order %q: %w", id, err)
	}
	return nil
}

func (c *command) saveWorkOrder(wo *WorkOrder) error {
	v, err := save(c, workOrderKind, wo.ID, wo.Site, wo.Version, wo, wo.keys(), wo.index())
	if err != nil {
		return err
	}
	wo.Version = v
	return nil
}

// zeroOf returns nothing in q's unit.
func zeroOf(q units.Quantity) units.Quantity { return q.Mul(decimal.Zero) }

// WorkOrderByExternalID returns the work order of site created with the ERP's id.
func (p *Plant) WorkOrderByExternalID(ctx context.Context, site, externalID string) (WorkOrder, error) {
	var wo WorkOrder
	err := p.view(ctx, func(tx store.ReadTx) error {
		rec, err := tx.Lookup(ctx, workOrderKind, "external:"+site+"/"+externalID)
		if err != nil {
			return err
		}
		return decode(rec, &wo)
	})
	return wo, err
}

// WorkOrderRescheduled: an order's due date or quantity was changed (by the ERP, say).
type WorkOrderRescheduled struct {
	ID      string         `json:"id"`
	Number  string         `json:"number"`
	Due     time.Time      `json:"due,omitzero"`
	Qty     units.Quantity `json:"qty,omitzero"`
	PrevDue time.Time      `json:"prev_due,omitzero"`
	PrevQty units.Quantity `json:"prev_qty,omitzero"`
}

// EventType implements EventPayload.
func (WorkOrderRescheduled) EventType() string { return "workorder.rescheduled" }

func init() { registerEvent(&WorkOrderRescheduled{}) }

// RescheduleWorkOrder changes the due date and/or the quantity of an open order (a zero
// due or qty leaves that one as it is). The quantity cannot drop below what the order's
// lots already started, and keeps the order's unit.
func (p *Plant) RescheduleWorkOrder(ctx context.Context, id string, due time.Time, qty units.Quantity, opts ...CommandOption) (WorkOrder, error) {
	return execute(ctx, p, "workorder.reschedule", []string{id}, opts, func(c *command) (WorkOrder, error) {
		wo, err := c.loadWorkOrder(id)
		if err != nil {
			return WorkOrder{}, err
		}
		if err := c.authorize(wo.Site); err != nil {
			return WorkOrder{}, err
		}
		if wo.Status != StatusCreated && wo.Status != StatusReleased && wo.Status != StatusRunning {
			return WorkOrder{}, &TransitionError{Object: wo.ref(), State: string(wo.Status), Command: "reschedule", Allowed: "[created released running]"}
		}
		ps := problems{what: "reschedule of " + wo.ref()}
		if due.IsZero() && qty.IsZero() {
			ps.add("due, qty", "", "give a new due date, a new quantity or both")
		}
		if !qty.IsZero() {
			switch cmp, err := qty.Cmp(wo.Started); {
			case err != nil || qty.Unit() != wo.Qty.Unit():
				ps.add("qty", qty.String(), "must be in the order's unit "+string(wo.Qty.Unit()))
			case cmp < 0:
				ps.add("qty", qty.String(), "is less than the "+wo.Started.String()+" the order's lots already started")
			}
		}
		if err := ps.err(); err != nil {
			return WorkOrder{}, err
		}
		ev := WorkOrderRescheduled{ID: wo.ID, Number: wo.Number}
		var changes []store.Change
		if !due.IsZero() {
			ev.Due, ev.PrevDue = due.UTC(), wo.Due
			changes = append(changes, change("due", wo.Due, ev.Due))
			wo.Due = ev.Due
		}
		if !qty.IsZero() {
			ev.Qty, ev.PrevQty = qty, wo.Qty
			changes = append(changes, change("qty", wo.Qty, qty))
			wo.Qty = qty
		}
		if err := c.saveWorkOrder(&wo); err != nil {
			return WorkOrder{}, err
		}
		c.record(objectRef(workOrderKind, wo.ID), changes...)
		return wo, c.emit(wo.ID, ev)
	})
}
