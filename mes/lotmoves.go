package mes

import (
	"context"
	"errors"
	"fmt"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

// moveLot runs one routing move on a lot at a step and records it.
func (p *Plant) moveLot(ctx context.Context, action, lotID, step, move string, needReason bool, holds holdCheck, opts []CommandOption,
	apply func(c *command, sc *stepContext) (routing.Execution, []routing.Effect, error)) (Lot, error) {
	return execute(ctx, p, action, []string{lotID, step}, opts, func(c *command) (Lot, error) {
		sc, err := c.loadStep(lotID, step, holds)
		if err != nil {
			return Lot{}, err
		}
		if needReason && c.opts.reason == "" {
			return Lot{}, fmt.Errorf("%w: %s of %s at step %s needs a reason; pass mes.Reason(...)", ErrInvalid, move, sc.lot.ref(), step)
		}
		exec, fx, err := apply(c, sc)
		if errors.Is(err, ErrUnauthorized) {
			return Lot{}, err
		}
		if err != nil {
			return Lot{}, routingErr(err)
		}
		before := stepBooks(*sc.lot.Execution, step)
		sc.lot.Execution = &exec
		after := stepBooks(exec, step)
		if !after.Waiting.IsPositive() {
			sc.lot.unqueue(step) // skipped or moved back: nothing waits here any more
		}
		c.record(objectRef(lotKind, sc.lot.ID), change("step "+step+" move", "", move), stepChange(step, "waiting", before.Waiting, after.Waiting))
		if err := c.emit(sc.lot.ID, LotStepMoved{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Step: step, Move: move, Reason: c.opts.reason}); err != nil {
			return Lot{}, err
		}
		if err := c.effects(sc, fx); err != nil {
			return Lot{}, err
		}
		return c.saveLast(sc.lot)
	})
}

// PauseLot pauses the work in process of a lot at a step (ISA-88 Pause): track-in and
// track-out wait for ResumeLot. Give the reason with mes.Reason.
func (p *Plant) PauseLot(ctx context.Context, lotID, step string, opts ...CommandOption) (Lot, error) {
	return p.moveLot(ctx, "lot.pause", lotID, step, "pause", true, ignoreHolds, opts, func(c *command, sc *stepContext) (routing.Execution, []routing.Effect, error) {
		return sc.rt.Pause(*sc.lot.Execution, step, c.opts.reason, c.now)
	})
}

// ResumeLot resumes a paused step; partial track-outs before and after add up.
func (p *Plant) ResumeLot(ctx context.Context, lotID, step string, opts ...CommandOption) (Lot, error) {
	return p.moveLot(ctx, "lot.resume", lotID, step, "resume", false, holdsOnInProcess, opts, func(c *command, sc *stepContext) (routing.Execution, []routing.Effect, error) {
		return sc.rt.Resume(*sc.lot.Execution, step, c.now)
	})
}

// SkipStep lets a lot's quantity pass a step unprocessed. Skipping is the action
// "lot.skip"; skipping a step that is not optional also needs "lot.skip_required", which
// plants grant to few roles. A reason is required.
func (p *Plant) SkipStep(ctx context.Context, lotID, step string, opts ...CommandOption) (Lot, error) {
	return p.moveLot(ctx, "lot.skip", lotID, step, "skip", true, holdsOnWaiting, opts, func(c *command, sc *stepContext) (routing.Execution, []routing.Effect, error) {
		if !sc.step.Optional {
			if err := c.p.auth.Authorize(c.ctx, AuthRequest{Actor: c.opts.actor, Action: "lot.skip_required", Site: sc.lot.Site}); err != nil {
				return routing.Execution{}, nil, fmt.Errorf("step %s of %s is not optional: %w", step, sc.lot.ref(), err)
			}
		}
		return sc.rt.Skip(*sc.lot.Execution, step, c.opts.reason, c.now)
	})
}

// MoveBack sends qty waiting at a step (zero: all of it) back to an earlier step of the
// same lot for rework. A reason is required.
func (p *Plant) MoveBack(ctx context.Context, lotID, step, to string, qty units.Quantity, opts ...CommandOption) (Lot, error) {
	return p.moveLot(ctx, "lot.move_back", lotID, step, "move back to "+to, true, holdsOnWaiting, opts, func(c *command, sc *stepContext) (routing.Execution, []routing.Effect, error) {
		exec, fx, err := sc.rt.MoveBack(*sc.lot.Execution, step, to, qty, c.now)
		if err == nil {
			err = c.restartInspections(sc.lot) // material sent back is inspected again
		}
		return exec, fx, err
	})
}

// AbortLot stops a lot on its routing (ISA-88 Abort): its books stay as they are and no
// move is allowed afterwards; the material stays on hand for a disposition. A reason is
// required.
func (p *Plant) AbortLot(ctx context.Context, lotID string, opts ...CommandOption) (Lot, error) {
	return execute(ctx, p, "lot.abort", []string{lotID}, opts, func(c *command) (Lot, error) {
		lot, err := c.loadLot(lotID)
		if err != nil {
			return Lot{}, err
		}
		if lot.Execution == nil {
			return Lot{}, fmt.Errorf("%w: %s is not on a routing", ErrWrongState, lot.ref())
		}
		sc, err := c.loadStep(lotID, firstStep(lot.Execution), ignoreHolds)
		if err != nil {
			return Lot{}, err
		}
		if c.opts.reason == "" {
			return Lot{}, fmt.Errorf("%w: aborting %s needs a reason; pass mes.Reason(...)", ErrInvalid, lot.ref())
		}
		exec, _, err := sc.rt.Abort(*sc.lot.Execution, c.opts.reason, c.now)
		if err != nil {
			return Lot{}, routingErr(err)
		}
		sc.lot.Execution = &exec
		if err := c.closeOperations(sc, true); err != nil { // nothing runs for an aborted lot
			return Lot{}, err
		}
		c.record(objectRef(lotKind, sc.lot.ID), change("execution", "running", "aborted"))
		if err := c.emit(sc.lot.ID, LotStepMoved{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Move: "abort", Reason: c.opts.reason}); err != nil {
			return Lot{}, err
		}
		return c.saveLast(sc.lot)
	})
}

// SplitLot moves qty of a lot into a new sublot. A lot on a routing is split at step (its
// open quantity there, waiting first): the sublot is at the same step and state, and the
// books of both add up to the original's at every step. A material lot is split with step
// "". The genealogy records the split; reverse a mistaken split with MergeLots(sublot,
// parent).
func (p *Plant) SplitLot(ctx context.Context, lotID, step string, qty units.Quantity, opts ...CommandOption) (Lot, error) {
	return execute(ctx, p, "lot.split", []string{lotID, step}, opts, func(c *command) (Lot, error) {
		lot, err := c.loadLot(lotID)
		if err != nil {
			return Lot{}, err
		}
		if err := c.authorize(lot.Site); err != nil {
			return Lot{}, err
		}
		if err := c.checkLotHolds(lot); err != nil {
			return Lot{}, fmt.Errorf("cannot split %s: %w", lot.ref(), err)
		}
		id, err := c.nextChildID(lot, "S")
		if err != nil {
			return Lot{}, err
		}
		child := &Lot{WorkOrder: lot.WorkOrder, ReworkOf: lot.ReworkOf} // a sublot of a rework lot carries quantity its order started once
		if lot.Execution != nil {
			sc, err := c.loadStep(lotID, step, ignoreHolds)
			if err != nil {
				return Lot{}, err
			}
			rest, part, fx, err := sc.rt.Split(*lot.Execution, step, qty, c.now)
			if err != nil {
				return Lot{}, routingErr(err)
			}
			lot.Execution, child.Execution = &rest, &part
			if !waitsAt(&rest, step) {
				lot.unqueue(step) // the split took all that waited here
			}
			child.QueuedSince = nil
			if t, ok := lot.QueuedSince.At(step); ok {
				child.QueuedSince = StepTimes{{Step: step, Time: t}}
			}
			sc.lot = lot
			if err := c.effects(sc, fx); err != nil {
				return Lot{}, err
			}
			childSc := *sc
			childSc.lot = child
			child.ID, child.Site, child.Material, child.SupplierLot = id, lot.Site, lot.Material, lot.SupplierLot // as the split will make it
			if err := c.handOperations(sc, &childSc); err != nil {
				return Lot{}, err
			}
			if err := c.closeOperations(sc, false); err != nil { // runs whose quantity all split off end
				return Lot{}, err
			}
		} else if step != "" {
			return Lot{}, fmt.Errorf("%w: %s is material, not on a routing; split it with step \"\"", ErrInvalid, lot.ref())
		}
		ch, err := genealogy.Split(lot.Lot, []genealogy.Part{{ID: id, Qty: qty}}, c.op(lot.WorkOrder, step))
		if err != nil {
			return Lot{}, genealogyErr(err)
		}
		before := lot.OnHand
		lot.Lot = ch.Lots[0]
		if _, err := c.applyChange(genealogy.Change{Lots: ch.Lots[1:], Edges: ch.Edges}, map[string]*Lot{id: child}); err != nil {
			return Lot{}, err
		}
		if err := c.saveLot(lot); err != nil {
			return Lot{}, err
		}
		c.record(objectRef(lotKind, lot.ID), change("on_hand", before, lot.OnHand))
		return *child, c.emit(lot.ID, LotSplit{Lot: lot.ID, Parts: []genealogy.Part{{ID: id, Qty: qty}}})
	})
}

// MergeLots merges lot other into lot into: both material lots of one material, or both
// lots of one work order at the same step of the same routing revision (books are added
// step by step). other is consumed; the genealogy records the merge. A lot that descends
// from into cannot be merged into it (an error wrapping genealogy.ErrCycle names the line),
// and a rework lot (Lot.ReworkOf) merges only with another rework lot.
func (p *Plant) MergeLots(ctx context.Context, into, other string, opts ...CommandOption) (Lot, error) {
	return execute(ctx, p, "lot.merge", []string{into, other}, opts, func(c *command) (Lot, error) {
		target, source, err := c.loadPair(into, other)
		if err != nil {
			return Lot{}, err
		}
		for _, l := range []*Lot{target, source} {
			if err := c.checkLotHolds(l); err != nil {
				return Lot{}, fmt.Errorf("cannot merge %s: %w", l.ref(), err)
			}
		}
		if (target.Execution == nil) != (source.Execution == nil) || target.WorkOrder != source.WorkOrder || target.Site != source.Site {
			return Lot{}, fmt.Errorf("%w: %s and %s cannot merge: merge material lots with material lots, or lots of one work order on its routing, in one site", ErrInvalid, target.ref(), source.ref())
		}
		if (target.ReworkOf == "") != (source.ReworkOf == "") {
			// The order counts a lot's started quantity unless it is a rework lot (its parent
			// counted it); a mixed lot would count the rework twice or the other lot not at all.
			return Lot{}, fmt.Errorf("%w: %s and %s cannot merge: one is a rework lot and the other is not; merge rework lots with rework lots", ErrInvalid, target.ref(), source.ref())
		}
		if target.Execution != nil {
			sc, err := c.loadStep(into, firstStep(target.Execution), ignoreHolds)
			if err != nil {
				return Lot{}, err
			}
			merged, fx, err := sc.rt.Merge(*target.Execution, *source.Execution, c.now)
			if err != nil {
				return Lot{}, routingErr(err)
			}
			target.Execution = &merged
			for _, t := range source.QueuedSince {
				target.queue(t.Step, t.Time)
			}
			closed := *source.Execution
			closed.AbortReason = "merged into " + target.ID
			source.Execution, source.MergedInto = &closed, target.ID
			sc.lot = target
			if err := c.effects(sc, fx); err != nil {
				return Lot{}, err
			}
			sourceSc := *sc
			sourceSc.lot = source
			if err := c.handOperations(&sourceSc, sc); err != nil {
				return Lot{}, err
			}
			if err := c.closeOperations(&sourceSc, true); err != nil { // merged away: its runs end
				return Lot{}, err
			}
		}
		lf, err := c.lift(source, target)
		if err != nil {
			return Lot{}, err
		}
		ch, err := genealogy.Merge(lf.into, []genealogy.Lot{source.Lot}, c.op(target.WorkOrder, ""))
		if err != nil {
			return Lot{}, genealogyErr(err)
		}
		if err := c.saveLift(target, lf); err != nil {
			return Lot{}, err
		}
		if _, err := c.applyChange(ch, map[string]*Lot{target.ID: target, source.ID: source}); err != nil {
			return Lot{}, err
		}
		return *target, c.emit(target.ID, LotsMerged{Into: target.ID, Sources: []string{source.ID}})
	})
}

// ConsumeMaterial records qty of a component lot going into a lot at a step (consumption
// by actual quantity; steps can also back-flush). Held, expired or short lots are refused,
// and so is a lot that descends from the lot it would go into (genealogy.ErrCycle).
func (p *Plant) ConsumeMaterial(ctx context.Context, fromLot, intoLot, step string, qty units.Quantity, opts ...CommandOption) (Lot, error) {
	return execute(ctx, p, "lot.consume", []string{fromLot, intoLot, step}, opts, func(c *command) (Lot, error) {
		into, from, err := c.loadPair(intoLot, fromLot)
		if err != nil {
			return Lot{}, err
		}
		if from.unfinished() {
			return Lot{}, fmt.Errorf("%w: %s has not finished its routing (it runs, or was aborted); consume finished or received lots", ErrWrongState, from.ref())
		}
		if from.Site != into.Site {
			return Lot{}, fmt.Errorf("%w: %s is in site %s, %s in %s; move material between sites first", ErrInvalid, from.ref(), from.Site, into.ref(), into.Site)
		}
		for _, l := range []*Lot{from, into} {
			if err := c.checkLotHolds(l); err != nil {
				return Lot{}, fmt.Errorf("cannot consume %s into %s: %w", from.ref(), into.ref(), err)
			}
		}
		if err := c.consume(from, into, qty, into.WorkOrder, step); err != nil {
			return Lot{}, err
		}
		return *into, c.saveLot(into)
	})
}

// ShipLot sends qty of a finished lot to a customer shipment; the lot must be available,
// not held and not expired.
func (p *Plant) ShipLot(ctx context.Context, lotID string, shipment genealogy.Shipment, qty units.Quantity, opts ...CommandOption) (Lot, error) {
	return execute(ctx, p, "lot.ship", []string{lotID, shipment.ID}, opts, func(c *command) (Lot, error) {
		lot, err := c.loadLot(lotID)
		if err != nil {
			return Lot{}, err
		}
		if err := c.authorize(lot.Site); err != nil {
			return Lot{}, err
		}
		if err := c.checkLotHolds(lot); err != nil {
			return Lot{}, fmt.Errorf("cannot ship %s: %w", lot.ref(), err)
		}
		if lot.unfinished() {
			return Lot{}, fmt.Errorf("%w: %s has not finished its routing (it runs, or was aborted and needs a disposition); ship finished lots", ErrWrongState, lot.ref())
		}
		ch, err := genealogy.Ship(lot.Lot, shipment, qty, c.op(lot.WorkOrder, ""))
		if err != nil {
			return Lot{}, genealogyErr(err)
		}
		if _, err := c.applyChange(ch, map[string]*Lot{lot.ID: lot}); err != nil {
			return Lot{}, err
		}
		return *lot, c.emit(lot.ID, LotShipped{Lot: lot.ID, Shipment: shipment.ID, Customer: shipment.Customer, Order: shipment.Order, Qty: qty})
	})
}

// AdjustLot corrects a material lot's quantity on hand (a count found more or less); the
// reason (mes.Reason) is required and the correction is a new genealogy edge.
func (p *Plant) AdjustLot(ctx context.Context, lotID string, delta units.Quantity, opts ...CommandOption) (Lot, error) {
	return execute(ctx, p, "lot.adjust", []string{lotID}, opts, func(c *command) (Lot, error) {
		lot, err := c.loadLot(lotID)
		if err != nil {
			return Lot{}, err
		}
		if err := c.authorize(lot.Site); err != nil {
			return Lot{}, err
		}
		if lot.Execution != nil && lot.Execution.Running() {
			return Lot{}, fmt.Errorf("%w: %s is on its routing; its quantity follows the track-outs", ErrWrongState, lot.ref())
		}
		ch, err := genealogy.Adjust(lot.Lot, delta, c.op(lot.WorkOrder, ""))
		if err != nil {
			return Lot{}, genealogyErr(err)
		}
		if _, err := c.applyChange(ch, map[string]*Lot{lot.ID: lot}); err != nil {
			return Lot{}, err
		}
		return *lot, c.emit(lot.ID, LotAdjusted{Lot: lot.ID, Reason: c.opts.reason, Delta: delta})
	})
}

// checkLotHolds refuses to move a lot that is held, or whose work order or material (or
// supplier lot) is.
func (c *command) checkLotHolds(l *Lot) error {
	return checkHolds(c.ctx, c.tx, l.Site, quality.Subject{Lot: l.ID, WorkOrder: l.WorkOrder, Material: l.Material, SupplierLot: l.SupplierLot})
}

// loadPair loads two lots a command works on and checks the actor's authority in the site
// of the first (the lot that changes most).
func (c *command) loadPair(first, second string) (*Lot, *Lot, error) {
	a, err := c.loadLot(first)
	if err != nil {
		return nil, nil, err
	}
	b, err := c.loadLot(second)
	if err != nil {
		return nil, nil, err
	}
	return a, b, c.authorize(a.Site)
}
