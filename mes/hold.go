package mes

import (
	"context"
	"fmt"

	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/store"
)

const holdKind = "hold"

// Hold events.
type (
	// HoldPlaced: a hold now blocks its target.
	HoldPlaced struct {
		Hold quality.Hold `json:"hold"`
	}
	// HoldReleased: the hold no longer blocks its target.
	HoldReleased struct {
		Hold quality.Hold `json:"hold"`
	}
)

// EventType implements EventPayload.
func (HoldPlaced) EventType() string { return "hold.placed" }

// EventType implements EventPayload.
func (HoldReleased) EventType() string { return "hold.released" }

func init() { registerEvent(&HoldPlaced{}, &HoldReleased{}) }

func holdIndex(h quality.Hold) map[string]string {
	state := "active"
	if !h.Active() {
		state = "released"
	}
	return map[string]string{"target": string(h.Target.Kind) + "/" + h.Target.ID, "state": state}
}

// PlaceHold puts a hold on a lot, a work order, a piece of equipment or a material (all its
// lots, or one supplier lot). While it is active, the target cannot be tracked in or out,
// consumed, shipped, released or started. Give the reason as the reason argument; the hold
// overlays whatever state the target is in.
func (p *Plant) PlaceHold(ctx context.Context, site string, target quality.Target, reason string, opts ...CommandOption) (quality.Hold, error) {
	return execute(ctx, p, "hold.place", []string{site, string(target.Kind), target.ID, target.SupplierLot}, opts, func(c *command) (quality.Hold, error) {
		h, err := quality.NewHold(c.p.newID(), target, reason, c.opts.actor.ID, c.now)
		if err != nil {
			return quality.Hold{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if err := c.authorize(site); err != nil {
			return quality.Hold{}, err
		}
		if err := c.requireTarget(site, target); err != nil {
			return quality.Hold{}, err
		}
		return h, c.addHold(site, h)
	})
}

// addHold stores a new hold placed by the running command, with its audit record and event,
// and lets equipment interlocks follow it.
func (c *command) addHold(site string, h quality.Hold) error {
	if _, err := save(c, holdKind, h.ID, site, 0, &h, nil, holdIndex(h)); err != nil {
		return err
	}
	c.record(objectRef(holdKind, h.ID), change("target", "", h.Target), change("state", "", "active"), change("reason", "", h.Reason))
	if err := c.holdChanged(site, h.Target); err != nil {
		return err
	}
	return c.emit(h.ID, HoldPlaced{Hold: h})
}

// ReleaseHold releases an active hold. Say why with mes.Reason (required). Plants that
// require a signature for releases configure WithSignatureRequired("hold.release", ...).
func (p *Plant) ReleaseHold(ctx context.Context, holdID string, opts ...CommandOption) (quality.Hold, error) {
	return execute(ctx, p, "hold.release", []string{holdID}, opts, func(c *command) (quality.Hold, error) {
		var h quality.Hold
		rec, err := c.tx.Get(c.ctx, holdKind, holdID)
		if err != nil {
			return quality.Hold{}, fmt.Errorf("hold %q: %w", holdID, storeErr(err))
		}
		if err := decode(rec, &h); err != nil {
			return quality.Hold{}, err
		}
		if err := c.authorize(rec.Site); err != nil {
			return quality.Hold{}, err
		}
		released, err := h.Release(c.opts.actor.ID, c.opts.reason, c.now)
		if err != nil {
			if !h.Active() {
				return quality.Hold{}, &TransitionError{Object: "hold " + h.ID, State: "released", Command: "release", Allowed: "[active]"}
			}
			return quality.Hold{}, fmt.Errorf("%w: %w (pass mes.Reason)", ErrInvalid, err)
		}
		if _, err := save(c, holdKind, h.ID, rec.Site, rec.Version, &released, nil, holdIndex(released)); err != nil {
			return quality.Hold{}, err
		}
		c.record(objectRef(holdKind, h.ID), change("state", "active", "released"))
		if err := c.holdChanged(rec.Site, h.Target); err != nil {
			return quality.Hold{}, err
		}
		return released, c.emit(h.ID, HoldReleased{Hold: released})
	})
}

// HoldsOn returns the holds placed on target in site, active ones and released ones, in
// the order they were placed.
func (p *Plant) HoldsOn(ctx context.Context, site string, target quality.Target) ([]quality.Hold, error) {
	return list[quality.Hold](ctx, p, store.Query{Kind: holdKind, Site: site, Index: "target", Value: string(target.Kind) + "/" + target.ID})
}

// ActiveHolds returns every active hold in site.
func (p *Plant) ActiveHolds(ctx context.Context, site string) ([]quality.Hold, error) {
	return list[quality.Hold](ctx, p, store.Query{Kind: holdKind, Site: site, Index: "state", Value: "active"})
}

// fewHolds is how many active holds a site may have for hold checks to read them all in
// one index read; a site with more is checked target by target.
const fewHolds = 32

// siteHolds returns every active hold of site when it has few (all true); a site with more
// returns none and all false: read the holds of the targets in question with holdsOn.
func siteHolds(ctx context.Context, tx store.ReadTx, site string) (holds []quality.Hold, all bool, err error) {
	recs, err := tx.List(ctx, store.Query{Kind: holdKind, Site: site, Index: "state", Value: "active", Limit: fewHolds + 1})
	if err != nil || len(recs) > fewHolds {
		return nil, false, err
	}
	holds, err = decodeHolds(recs)
	return holds, true, err
}

// holdsOn returns the active holds filed under targets (strings "kind/id", see holdIndex).
func holdsOn(ctx context.Context, tx store.ReadTx, site string, targets ...string) ([]quality.Hold, error) {
	var recs []store.Record
	for _, t := range targets {
		more, err := tx.List(ctx, store.Query{Kind: holdKind, Site: site, Index: "target", Value: t})
		if err != nil {
			return nil, err
		}
		recs = append(recs, more...)
	}
	return decodeHolds(recs)
}

func decodeHolds(recs []store.Record) ([]quality.Hold, error) {
	holds := make([]quality.Hold, 0, len(recs))
	for _, r := range recs {
		var h quality.Hold
		if err := decode(r, &h); err != nil {
			return nil, err
		}
		if h.Active() {
			holds = append(holds, h)
		}
	}
	return holds, nil
}

// targets returns the hold index values a subject's holds are filed under.
func targets(s quality.Subject) []string {
	var out []string
	for _, t := range []struct {
		kind quality.TargetKind
		id   string
	}{{quality.OnLot, s.Lot}, {quality.OnWorkOrder, s.WorkOrder}, {quality.OnEquipment, s.Equipment}, {quality.OnMaterial, s.Material}} {
		if t.id != "" {
			out = append(out, string(t.kind)+"/"+t.id)
		}
	}
	return out
}

// checkHolds returns an error wrapping ErrOnHold (and a *quality.OnHoldError naming each
// hold) when an active hold in site covers any part of subject.
func checkHolds(ctx context.Context, tx store.ReadTx, site string, s quality.Subject) error {
	holds, all, err := siteHolds(ctx, tx, site)
	if err == nil && !all {
		holds, err = holdsOn(ctx, tx, site, targets(s)...)
	}
	if err != nil {
		return err
	}
	return onHold(holds, s)
}

// onHold is checkHolds over holds already read.
func onHold(holds []quality.Hold, s quality.Subject) error {
	if err := quality.CheckHolds(holds, s); err != nil {
		return fmt.Errorf("%w: %w", ErrOnHold, err)
	}
	return nil
}

// requireTarget checks that a hold's target exists in site.
func (c *command) requireTarget(site string, t quality.Target) error {
	var kind string
	switch t.Kind {
	case quality.OnWorkOrder:
		kind = workOrderKind
	case quality.OnEquipment:
		kind = equipmentKind
	case quality.OnLot:
		kind = lotKind
	case quality.OnMaterial:
		kind = materialKind
	}
	rec, err := c.tx.Get(c.ctx, kind, t.ID)
	if err != nil {
		return fmt.Errorf("hold target %s: %w", t, storeErr(err))
	}
	if rec.Site != site && kind != materialKind {
		return fmt.Errorf("%w: %s belongs to site %q, not %q", ErrNotFound, t, rec.Site, site)
	}
	return nil
}
