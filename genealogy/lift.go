package genealogy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// NeedsLift reports whether the levels alone cannot show that an edge from lot from into
// lot to closes no cycle: to already gave material to other lots, sits at or below from, and
// from is not a level-0 lot. Consume and Merge refuse such an edge with ErrCycle; Lift
// decides it exactly with the graph and raises to so that they accept it. NeedsLift reads
// nothing: it is the fast path every edge takes.
func NeedsLift(from, to Lot) bool {
	_, ok := feedLevel(from, to)
	return !ok
}

// feedLevel is the level rule: the level lot to takes when lot from feeds it, or false when
// the levels cannot show that the edge closes no cycle.
func feedLevel(from, to Lot) (int, bool) {
	switch {
	case from.Level < to.Level:
		return to.Level, true
	case !to.HasOutputs:
		return from.Level + 1, true
	case from.Level == 0:
		// A level-0 lot has no lot inputs, so it cannot descend from to: the edge closes no
		// cycle. Raising to to level 1 keeps levels non-decreasing along to's outputs (they
		// are at level 1 or above), which is all the level check needs. This is the common
		// case of a work-in-process lot that split off a rework lot and then consumes a
		// received component.
		return 1, true
	}
	return to.Level, false
}

// Lift decides exactly whether an edge from lot from into lot to closes a cycle, for the
// edges NeedsLift reports the levels alone cannot accept; for any other edge it returns
// nothing and reads nothing (but an edge from a lot into itself is always a cycle). It walks
// forward from to through r, reading the lots it reaches with lot, and returns the lots
// whose Level must rise so that levels keep increasing along the new edge and every edge
// below it: to first, raised to from.Level+1, then, ordered by ID, each lot below to that
// would no longer sit above one of its inputs, raised to one above it. The walk stops at
// lots already high enough: levels never decrease along edges, so from, below to's new
// level, cannot descend from a lot above it. Persist the returned lots with the edge;
// Consume and Merge, given the raised to, accept the edge by its levels.
//
// When from is to or descends from it, the edge would close a cycle: Lift returns a
// Problems error wrapping ErrCycle that names the line of descent. An error from r or lot
// ends the walk and is returned (wrapped, for r).
func Lift(ctx context.Context, r Reader, lot func(ctx context.Context, id string) (Lot, error), from, to Lot) ([]Lot, error) {
	if from.ID == to.ID {
		return nil, Problems{{Field: "from.id", Value: from.ID, Err: fmt.Errorf("%w: lot %s cannot feed itself; take the material from another lot", ErrCycle, from.ID)}}
	}
	if !NeedsLift(from, to) {
		return nil, nil
	}
	to.Level = from.Level + 1
	lots := map[string]Lot{to.ID: to} // every lot read, at its level after the lift
	via := map[string]string{}        // a raised lot below to: the input that raised it last
	queue := []string{to.ID}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := lots[queue[0]]
		queue = queue[1:]
		edges, err := r.Outputs(ctx, LotNode(n.ID))
		if err != nil {
			return nil, fmt.Errorf("genealogy: reading the outputs of lot %s: %w", n.ID, err)
		}
		for _, e := range edges {
			if e.To.Kind != NodeLot {
				continue // serials, shipments and the outside have no level
			}
			id := e.To.ID
			if id == from.ID {
				return nil, cycleProblem(from, descent(via, n.ID, to.ID))
			}
			m, ok := lots[id]
			if !ok {
				if m, err = lot(ctx, id); err != nil {
					return nil, err
				}
			}
			if m.Level > n.Level {
				lots[id] = m
				continue
			}
			// In an acyclic graph a raised lot is at most one level per raised lot above to.
			if m.Level = n.Level + 1; m.Level > to.Level+len(via)+1 {
				return nil, Problems{{Field: "to.id", Value: to.ID, Err: fmt.Errorf("%w: the stored genealogy below lot %s has a cycle through lot %s; it is corrupt, find and remove the edge that closes it", ErrCycle, to.ID, id)}}
			}
			lots[id], via[id] = m, n.ID
			queue = append(queue, id)
		}
	}
	raised := make([]Lot, 0, len(via)+1)
	raised = append(raised, lots[to.ID])
	for _, id := range slices.Sorted(maps.Keys(via)) {
		raised = append(raised, lots[id])
	}
	return raised, nil
}

// descent returns the line from top down to lot id through the raising inputs in via.
func descent(via map[string]string, id, top string) []string {
	line := []string{id}
	for id != top && len(line) <= len(via) {
		id = via[id]
		line = append(line, id)
	}
	slices.Reverse(line)
	return line
}

// cycleProblem is the error for an edge from lot from into the first lot of line, when from
// descends from it along line.
func cycleProblem(from Lot, line []string) error {
	to := line[0]
	return Problems{{Field: "from.id", Value: from.ID, Err: fmt.Errorf(
		"%w: lot %s descends from lot %s (%s), so an edge from %s into %s would make %s its own ancestor; take the material from a lot that does not descend from %s, or put it into a new lot",
		ErrCycle, from.ID, to, strings.Join(append(line, from.ID), " → "), from.ID, to, to, to)}}
}
