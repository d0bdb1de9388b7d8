package mes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// withGraph reads the graph in a read transaction; genealogy's traces use the
// transaction's own Tracer when the store has one (one query per trace) and walk it node
// by node otherwise. A lot or serial that does not exist, a supplier lot nothing was
// received from and a shipment nothing went into are ErrNotFound rather than a trace of one
// node: a misspelt name must not read as "nothing affected".
func (p *Plant) withGraph(ctx context.Context, root genealogy.Node, fn func(genealogy.Reader) error) error {
	return p.view(ctx, func(tx store.ReadTx) error {
		var kind string
		switch root.Kind {
		case genealogy.NodeLot:
			kind = lotKind
		case genealogy.NodeSerial:
			kind = serialKind
		}
		if kind != "" {
			if _, err := tx.Get(ctx, kind, root.ID); err != nil {
				return fmt.Errorf("%s %q: %w", kind, root.ID, storeErr(err))
			}
		}
		var edges []genealogy.Edge
		var err error
		switch root.Kind {
		case genealogy.NodeSupplierLot:
			edges, err = tx.Outputs(ctx, root)
		case genealogy.NodeShipment:
			edges, err = tx.Inputs(ctx, root)
		default:
			return fn(tx)
		}
		if err != nil {
			return fmt.Errorf("reading the edges of %s: %w", root, storeErr(err))
		}
		if len(edges) == 0 {
			return fmt.Errorf("%s: %w: no material is recorded for it", root, ErrNotFound)
		}
		return fn(tx)
	})
}

// TraceBackward returns everything that went into a node (a lot: genealogy.LotNode(id), a
// serial, a shipment), down to the supplier lots, with quantities and the context of every
// edge (work order, step, equipment, operator, time). MaxDepth 0 means no limit.
func (p *Plant) TraceBackward(ctx context.Context, from genealogy.Node, opts genealogy.TraceOptions) (genealogy.Trace, error) {
	var t genealogy.Trace
	err := p.withGraph(ctx, from, func(r genealogy.Reader) error {
		var err error
		t, err = genealogy.TraceBackward(ctx, r, from, opts)
		return err
	})
	return t, err
}

// TraceForward returns everything a node went into, up to the shipments.
func (p *Plant) TraceForward(ctx context.Context, from genealogy.Node, opts genealogy.TraceOptions) (genealogy.Trace, error) {
	var t genealogy.Trace
	err := p.withGraph(ctx, from, func(r genealogy.Reader) error {
		var err error
		t, err = genealogy.TraceForward(ctx, r, from, opts)
		return err
	})
	return t, err
}

// Recall reports every finished lot and serial that contains the root (a supplier lot:
// genealogy.SupplierLotNode(material, supplier, lot), or a lot), where each was shipped and
// the quantity involved. A root the plant has no record of (a supplier lot nothing was
// received from, say) is ErrNotFound.
func (p *Plant) Recall(ctx context.Context, root genealogy.Node) (genealogy.RecallReport, error) {
	var rep genealogy.RecallReport
	err := p.withGraph(ctx, root, func(r genealogy.Reader) error {
		var err error
		rep, err = genealogy.Recall(ctx, r, root, genealogy.TraceOptions{})
		return err
	})
	return rep, err
}

// AsBuilt returns the as-built record of a serialised unit: every component lot and serial
// in it, with step, work order, equipment, operator and time.
func (p *Plant) AsBuilt(ctx context.Context, serial string) (genealogy.AsBuilt, error) {
	var ab genealogy.AsBuilt
	err := p.withGraph(ctx, genealogy.SerialNode(serial), func(r genealogy.Reader) error {
		var err error
		ab, err = genealogy.AsBuiltRecord(ctx, r, serial, genealogy.TraceOptions{})
		return err
	})
	return ab, err
}

// AtEquipment returns what was consumed and produced on a piece of equipment in [from,
// to), and the lots that ran on it then (Processed, from its machine runs: the lots tracked
// in there): the lots to look at when the equipment is found faulty. It needs a store that
// keeps an equipment log (genealogy.EquipmentLog), as the memory store does.
func (p *Plant) AtEquipment(ctx context.Context, equipment string, from, to time.Time) (genealogy.EquipmentUse, error) {
	log, ok := p.store.(genealogy.EquipmentLog)
	if !ok {
		return genealogy.EquipmentUse{}, fmt.Errorf("%w: the store keeps no equipment log (genealogy.EquipmentLog)", ErrNotFound)
	}
	use, err := genealogy.AtEquipment(ctx, log, equipment, from, to)
	if err != nil {
		return use, err
	}
	err = p.view(ctx, func(tx store.ReadTx) error {
		var se storedEquipment
		if _, err := load(ctx, tx, equipmentKind, equipment, &se); errors.Is(err, ErrNotFound) {
			return nil // equipment the plant does not know ran nothing
		} else if err != nil {
			return err
		}
		runs, err := equipmentRuns(ctx, tx, se.Site, equipment)
		if err != nil {
			return err
		}
		slices.SortStableFunc(runs, func(a, b labor.MachineRun) int { return a.From.Compare(b.From) })
		seen := map[genealogy.Node]bool{}
		for _, r := range runs {
			n := genealogy.LotNode(r.Op.Lot)
			if r.From.Before(to) && (r.To.IsZero() || r.To.After(from)) && !seen[n] {
				seen[n] = true
				use.Processed = append(use.Processed, n)
			}
		}
		return nil
	})
	return use, err
}

// StepWIP is the work in process of one routing step in a site, summed over lots.
type StepWIP struct {
	Routing, Revision, Step string
	Lots                    int // lots with quantity waiting or in process here
	Waiting, InProcess      units.Quantity
	Good, Scrap, Rework     units.Quantity
}

// WorkInProcess returns the work in process by step of every running lot in site, in
// routing order; quantities are exact while steps overlap.
func (p *Plant) WorkInProcess(ctx context.Context, site string) ([]StepWIP, error) {
	lots, err := list[Lot](ctx, p, store.Query{Kind: lotKind, Site: site, Index: "wip", Value: "yes"})
	if err != nil {
		return nil, err
	}
	type key struct{ routing, revision, step string }
	sums := map[key]*StepWIP{}
	order := map[key]int{}
	for _, l := range lots {
		for i, sp := range l.Execution.Steps() {
			k := key{l.Execution.Routing, l.Execution.Revision, sp.Step}
			w, ok := sums[k]
			if !ok {
				w = &StepWIP{Routing: k.routing, Revision: k.revision, Step: k.step}
				sums[k], order[k] = w, i
			}
			if sp.Waiting.IsPositive() || sp.InProcess.IsPositive() {
				w.Lots++
			}
			for _, f := range []struct {
				sum *units.Quantity
				add units.Quantity
			}{
				{&w.Waiting, sp.Waiting}, {&w.InProcess, sp.InProcess}, {&w.Good, sp.Good}, {&w.Scrap, sp.Scrap}, {&w.Rework, sp.Rework},
			} {
				if *f.sum, err = f.sum.Add(f.add); err != nil {
					return nil, fmt.Errorf("%w: work in process of step %s mixes units: %w", ErrInvalid, sp.Step, err)
				}
			}
		}
	}
	out := make([]StepWIP, 0, len(sums))
	for _, w := range sums {
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Routing != b.Routing || a.Revision != b.Revision {
			return a.Routing+"@"+a.Revision < b.Routing+"@"+b.Revision
		}
		return order[key{a.Routing, a.Revision, a.Step}] < order[key{b.Routing, b.Revision, b.Step}]
	})
	return out, nil
}

// StepReadiness says whether a lot can move at a step, and why not.
type StepReadiness struct {
	Step  string
	State routing.ReadyState
	Why   string
}

// LotReadiness returns, for every step of a lot's routing, whether work there is ready,
// waiting for the previous step, for material or for equipment (a hold on the work center),
// running, paused or done — the rule dispatch uses, so a supervisor sees why something is
// not moving.
func (p *Plant) LotReadiness(ctx context.Context, lotID string) ([]StepReadiness, error) {
	var out []StepReadiness
	err := p.view(ctx, func(tx store.ReadTx) error {
		var l Lot
		if _, err := load(ctx, tx, lotKind, lotID, &l); err != nil {
			return fmt.Errorf("lot %q: %w", lotID, err)
		}
		if l.Execution == nil {
			return fmt.Errorf("%w: lot %s is material, not on a routing", ErrWrongState, lotID)
		}
		rt, err := p.routings.revision(ctx, tx, l.Site, l.Execution.Routing, l.Execution.Revision)
		if err != nil {
			return err
		}
		var factErr error
		facts := routing.Facts{
			MaterialAvailable: func(component string, need units.Quantity) bool {
				have, err := availableQty(ctx, tx, l.Site, component, need.Unit())
				if err != nil {
					factErr = err
					return false
				}
				c, err := have.Cmp(need)
				return err == nil && c >= 0
			},
			EquipmentAvailable: func(workCenter string) bool {
				return checkHolds(ctx, tx, l.Site, quality.Subject{Equipment: workCenter}) == nil
			},
		}
		for _, s := range rt.Steps {
			r, err := rt.Readiness(*l.Execution, s.ID, facts)
			if err != nil {
				return routingErr(err)
			}
			out = append(out, StepReadiness{Step: s.ID, State: r.State, Why: r.Why})
		}
		return factErr
	})
	return out, err
}
