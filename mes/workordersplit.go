package mes

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// WorkOrderSplit: Qty of work order From moved to the new order To, with Lots.
type WorkOrderSplit struct {
	From string         `json:"from"`
	To   string         `json:"to"`
	Qty  units.Quantity `json:"qty"`
	Lots []string       `json:"lots"`
}

// WorkOrdersMerged: work order From was merged back into Into and cancelled.
type WorkOrdersMerged struct {
	Into string         `json:"into"`
	From string         `json:"from"`
	Qty  units.Quantity `json:"qty"`
	Lots []string       `json:"lots"`
}

// EventType implements EventPayload.
func (WorkOrderSplit) EventType() string { return "workorder.split" }

// EventType implements EventPayload.
func (WorkOrdersMerged) EventType() string { return "workorder.merged" }

func init() { registerEvent(&WorkOrderSplit{}, &WorkOrdersMerged{}) }

// lotTotals are the quantities that move with lots from one work order to another.
type lotTotals struct{ started, produced, scrapped units.Quantity }

// add counts what a lot contributed to its order's books: the quantity it started (a
// rework lot's was started by its parent), what it finished and what it scrapped. A lot
// merged into another counts nothing: its books live on in that lot.
func (t *lotTotals) add(l *Lot) error {
	if l.MergedInto != "" {
		return nil
	}
	var err error
	if l.ReworkOf == "" {
		if t.started, err = t.started.Add(l.Execution.Started); err != nil {
			return err
		}
	}
	if t.produced, err = t.produced.Add(l.Execution.Finished); err != nil {
		return err
	}
	for _, sp := range l.Execution.Steps() {
		if t.scrapped, err = t.scrapped.Add(sp.Scrap); err != nil {
			return err
		}
	}
	return nil
}

func (c *command) moveLots(from, to *WorkOrder, lotIDs []string) (lotTotals, error) {
	t := lotTotals{started: zeroOf(from.Qty), produced: zeroOf(from.Qty), scrapped: zeroOf(from.Qty)}
	for _, id := range lotIDs {
		l, err := c.loadLot(id)
		if err != nil {
			return t, err
		}
		if l.WorkOrder != from.ID || l.Execution == nil {
			return t, fmt.Errorf("%w: %s is not a lot of %s", ErrInvalid, l.ref(), from.ref())
		}
		if err := c.checkLotHolds(l); err != nil {
			return t, fmt.Errorf("cannot move %s: %w", l.ref(), err)
		}
		if err := t.add(l); err != nil {
			return t, fmt.Errorf("%w: %s: %w", ErrInvalid, l.ref(), err)
		}
		l.WorkOrder = to.ID
		if err := c.saveLot(l); err != nil {
			return t, err
		}
		c.record(objectRef(lotKind, l.ID), change("work_order", from.ID, to.ID))
	}
	return t, nil
}

// shift moves totals from one order's books to another's.
func shift(from, to *WorkOrder, t lotTotals) error {
	var err error
	for _, f := range []struct {
		a, b *units.Quantity
		q    units.Quantity
	}{{&from.Started, &to.Started, t.started}, {&from.Produced, &to.Produced, t.produced}, {&from.Scrapped, &to.Scrapped, t.scrapped}} {
		if *f.a, err = f.a.Sub(f.q); err != nil {
			return err
		}
		if *f.b, err = f.b.Add(f.q); err != nil {
			return err
		}
	}
	return nil
}

// SplitWorkOrder moves qty of a work order to a new order numbered number: the new order
// has the same product, due date, priority, customer and pinned routing revision, names
// the order it was split from (WorkOrder.SplitFrom), and the
// listed lots move to it with their books (started, produced and scrapped quantities
// follow them; genealogy, labor and inspection records stay with the lots as they
// happened). The original keeps the rest and must still cover what it started. Reverse a
// mistaken split with MergeWorkOrders.
func (p *Plant) SplitWorkOrder(ctx context.Context, id, number string, qty units.Quantity, lots []string, opts ...CommandOption) (WorkOrder, error) {
	return execute(ctx, p, "workorder.split", []string{id, number}, opts, func(c *command) (WorkOrder, error) {
		wo, err := c.loadWorkOrder(id)
		if err != nil {
			return WorkOrder{}, err
		}
		if err := c.authorize(wo.Site); err != nil {
			return WorkOrder{}, err
		}
		if !slices.Contains([]WorkOrderStatus{StatusCreated, StatusReleased, StatusRunning}, wo.Status) {
			return WorkOrder{}, &TransitionError{Object: wo.ref(), State: string(wo.Status), Command: "split", Allowed: "[created released running]"}
		}
		if err := checkHolds(c.ctx, c.tx, wo.Site, quality.Subject{WorkOrder: wo.ID}); err != nil {
			return WorkOrder{}, fmt.Errorf("cannot split %s: %w", wo.ref(), err)
		}
		ps := problems{what: "work order split"}
		if number == "" {
			ps.add("number", "", "the new order needs a number")
		}
		rest, err := wo.Qty.Sub(qty)
		switch {
		case err != nil || qty.Unit() != wo.Qty.Unit():
			ps.add("qty", qty.String(), "must be in the order's unit "+string(wo.Qty.Unit()))
		case !qty.IsPositive() || !rest.IsPositive():
			ps.add("qty", qty.String(), fmt.Sprintf("must be more than zero and less than the order quantity %s", wo.Qty))
		}
		if err := ps.err(); err != nil {
			return WorkOrder{}, err
		}
		status := wo.Status
		if status == StatusRunning {
			status = StatusReleased
		}
		zero := zeroOf(wo.Qty)
		nw := WorkOrder{ID: c.p.newID(), Site: wo.Site, Number: number, Product: wo.Product, Qty: qty, Produced: zero, Scrapped: zero, Started: zero,
			Due: wo.Due, Priority: wo.Priority, Customer: wo.Customer, Status: status, Routing: wo.Routing, RoutingRevision: wo.RoutingRevision,
			SplitFrom: wo.ID, CreatedAt: c.now, ReleasedAt: wo.ReleasedAt}
		if err := c.wholeFamilies(wo, lots); err != nil {
			return WorkOrder{}, err
		}
		was := wo
		moved, err := c.moveLots(&wo, &nw, lots)
		if err != nil {
			return WorkOrder{}, err
		}
		if err := shift(&wo, &nw, moved); err != nil {
			return WorkOrder{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		ordered := was.Qty
		wo.Qty = rest
		if wo.MovedOut, err = wo.MovedOut.Add(qty); err != nil {
			return WorkOrder{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if over, _ := wo.Started.Cmp(wo.Qty); over > 0 {
			return WorkOrder{}, fmt.Errorf("%w: %s keeps %s but has started %s; move more lots to the new order or split less", ErrInvalid, wo.ref(), wo.Qty, wo.Started)
		}
		if over, _ := nw.Started.Cmp(nw.Qty); over > 0 {
			return WorkOrder{}, fmt.Errorf("%w: the lots moved started %s, more than the %s split off", ErrInvalid, nw.Started, qty)
		}
		if len(lots) > 0 && wo.Status == StatusRunning {
			nw.Status, nw.StartedAt = StatusRunning, c.now
		}
		v, err := save(c, workOrderKind, nw.ID, nw.Site, 0, &nw, nw.keys(), nw.index())
		if errors.Is(err, ErrDuplicate) {
			return WorkOrder{}, fmt.Errorf("%w: work order number %q already exists in site %s", ErrDuplicate, number, wo.Site)
		}
		if err != nil {
			return WorkOrder{}, err
		}
		nw.Version = v
		if err := c.saveWorkOrder(&wo); err != nil {
			return WorkOrder{}, err
		}
		c.record(objectRef(workOrderKind, wo.ID), change("qty", ordered, wo.Qty), change("moved_out", was.MovedOut, wo.MovedOut), change("started", was.Started, wo.Started),
			change("produced", was.Produced, wo.Produced), change("scrapped", was.Scrapped, wo.Scrapped))
		c.record(objectRef(workOrderKind, nw.ID), change("status", "", nw.Status), change("qty", "", nw.Qty), change("started", "", nw.Started), change("split_from", "", wo.Number))
		return nw, c.emit(wo.ID, WorkOrderSplit{From: wo.ID, To: nw.ID, Qty: qty, Lots: lots})
	})
}

// MergeWorkOrders moves everything of work order from back into into (quantity and lots)
// and cancels from: the reversal of a mistaken SplitWorkOrder, recorded as a new act.
func (p *Plant) MergeWorkOrders(ctx context.Context, into, from string, opts ...CommandOption) (WorkOrder, error) {
	return execute(ctx, p, "workorder.merge", []string{into, from}, opts, func(c *command) (WorkOrder, error) {
		dst, err := c.loadWorkOrder(into)
		if err != nil {
			return WorkOrder{}, err
		}
		src, err := c.loadWorkOrder(from)
		if err != nil {
			return WorkOrder{}, err
		}
		if err := c.authorize(dst.Site); err != nil {
			return WorkOrder{}, err
		}
		if dst.Site != src.Site || dst.Product != src.Product || dst.ID == src.ID {
			return WorkOrder{}, fmt.Errorf("%w: %s and %s cannot merge: they must be two orders of one product in one site", ErrInvalid, dst.ref(), src.ref())
		}
		for _, w := range []*WorkOrder{&dst, &src} {
			if !slices.Contains([]WorkOrderStatus{StatusCreated, StatusReleased, StatusRunning}, w.Status) {
				return WorkOrder{}, &TransitionError{Object: w.ref(), State: string(w.Status), Command: "merge", Allowed: "[created released running]"}
			}
			if err := checkHolds(c.ctx, c.tx, w.Site, quality.Subject{WorkOrder: w.ID}); err != nil {
				return WorkOrder{}, fmt.Errorf("cannot merge %s: %w", w.ref(), err)
			}
		}
		recs, err := c.tx.List(c.ctx, store.Query{Kind: lotKind, Site: src.Site, Index: "workorder", Value: src.ID})
		if err != nil {
			return WorkOrder{}, err
		}
		ids := make([]string, len(recs))
		for i, r := range recs {
			ids[i] = r.ID
		}
		if len(ids) > 0 && dst.Status == StatusCreated {
			return WorkOrder{}, &TransitionError{Object: dst.ref(), State: string(dst.Status), Command: "merge started lots into", Allowed: "[released running]"}
		}
		before, srcStatus := dst, src.Status
		if _, err := c.moveLots(&src, &dst, ids); err != nil {
			return WorkOrder{}, err
		}
		// Every lot moves, so the order's whole books do.
		moved := lotTotals{started: src.Started, produced: src.Produced, scrapped: src.Scrapped}
		if err := shift(&src, &dst, moved); err != nil {
			return WorkOrder{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		qty := src.Qty
		if dst.Qty, err = dst.Qty.Add(src.Qty); err != nil {
			return WorkOrder{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		srcMoved := src.MovedOut
		if src.MovedOut, err = src.MovedOut.Add(qty); err != nil {
			return WorkOrder{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if dst.MovedOut, err = dst.MovedOut.Sub(qty); err != nil {
			return WorkOrder{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		src.Qty, src.Status = zeroOf(src.Qty), StatusCancelled
		if len(ids) > 0 && dst.Status == StatusReleased {
			dst.Status, dst.StartedAt = StatusRunning, c.now
		}
		if err := c.saveWorkOrder(&dst); err != nil {
			return WorkOrder{}, err
		}
		if err := c.saveWorkOrder(&src); err != nil {
			return WorkOrder{}, err
		}
		c.record(objectRef(workOrderKind, dst.ID), change("qty", before.Qty, dst.Qty), change("moved_out", before.MovedOut, dst.MovedOut), change("status", before.Status, dst.Status),
			change("started", before.Started, dst.Started), change("produced", before.Produced, dst.Produced), change("scrapped", before.Scrapped, dst.Scrapped))
		c.record(objectRef(workOrderKind, src.ID), change("status", srcStatus, StatusCancelled), change("qty", qty, src.Qty), change("moved_out", srcMoved, src.MovedOut), change("merged_into", "", dst.Number))
		return dst, c.emit(dst.ID, WorkOrdersMerged{Into: dst.ID, From: src.ID, Qty: qty, Lots: ids})
	})
}

// wholeFamilies refuses to move part of a lot family (a lot and the lots split or reworked
// off it, at any depth) to another order: their books were started together.
func (c *command) wholeFamilies(wo WorkOrder, ids []string) error {
	recs, err := c.tx.List(c.ctx, store.Query{Kind: lotKind, Site: wo.Site, Index: "workorder", Value: wo.ID})
	if err != nil {
		return err
	}
	moving := map[string]bool{}
	for _, id := range ids {
		moving[id] = true
	}
	for _, r := range recs {
		var l Lot
		if err := decode(r, &l); err != nil {
			return err
		}
		for _, kin := range []string{l.Parent, l.ReworkOf} {
			if kin != "" && moving[kin] != moving[l.ID] {
				return fmt.Errorf("%w: lots %s and %s belong to one family (split or rework); move both or neither", ErrInvalid, kin, l.ID)
			}
		}
	}
	return nil
}
