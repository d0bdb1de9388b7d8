package mes_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// graph reads the lot-to-lot edges among lots and the lots' levels from the store.
func graph(t *testing.T, f fixture, lots []string) (edges [][2]string, levels map[string]int) {
	t.Helper()
	levels = map[string]int{}
	for _, id := range lots {
		l, err := f.plant.Lot(ctx, id)
		require.NoError(t, err)
		levels[id] = l.Level
	}
	require.NoError(t, f.store.View(ctx, func(tx store.ReadTx) error {
		for _, id := range lots {
			out, err := tx.Outputs(ctx, genealogy.LotNode(id))
			if err != nil {
				return err
			}
			for _, e := range out {
				if e.To.Kind == genealogy.NodeLot {
					edges = append(edges, [2]string{id, e.To.ID})
				}
			}
		}
		return nil
	}))
	return edges, levels
}

// requireLevelsClimb checks the level invariant: levels never decrease along a lot-to-lot
// edge.
func requireLevelsClimb(t *testing.T, edges [][2]string, levels map[string]int) {
	t.Helper()
	for _, e := range edges {
		require.LessOrEqual(t, levels[e[0]], levels[e[1]], "levels must not decrease along %s → %s (%v)", e[0], e[1], levels)
	}
}

// descends reports, by brute force over the edge list, whether lot from descends from lot
// to (or is it).
func descends(edges [][2]string, from, to string) bool {
	seen := map[string]bool{to: true}
	todo := []string{to}
	for len(todo) > 0 {
		n := todo[0]
		todo = todo[1:]
		for _, e := range edges {
			if e[0] == n && !seen[e[1]] {
				seen[e[1]] = true
				todo = append(todo, e[1])
			}
		}
	}
	return seen[from]
}

func split(t *testing.T, p *mes.Plant, lot, step, q string) string {
	t.Helper()
	l, err := p.SplitLot(ctx, lot, step, qty(q), planner)
	require.NoError(t, err)
	return l.ID
}

func level(t *testing.T, p *mes.Plant, lot string) int {
	t.Helper()
	l, err := p.Lot(ctx, lot)
	require.NoError(t, err)
	return l.Level
}

// TestConsumeIntoSplitLotFromUnrelatedKit is the flow the level rule alone refused: a
// work-order lot that split off a sublot consumes a kit split from a received lot. The kit
// does not descend from the lot, so the edge is accepted and the lot and its sublot rise.
func TestConsumeIntoSplitLotFromUnrelatedKit(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, qty("50 ea"), planner)
	require.NoError(t, err)
	sub := split(t, p, lot.ID, "10", "5 ea")
	kit := split(t, p, "SK-1", "", "5 ea")
	require.Equal(t, []int{0, 1, 1}, []int{level(t, p, lot.ID), level(t, p, sub), level(t, p, kit)})

	into, err := p.ConsumeMaterial(ctx, kit, lot.ID, "10", qty("1 ea"), operator)
	require.NoError(t, err)
	assert.Equal(t, 2, into.Level, "the lot rises above the kit")
	assert.Equal(t, 3, level(t, p, sub), "and its sublot above it")
	edges, levels := graph(t, f, []string{lot.ID, sub, kit, "SK-1"})
	requireLevelsClimb(t, edges, levels)
	assert.Contains(t, edges, [2]string{kit, lot.ID})

	audit, err := f.store.ReadAudit(ctx, 0, 0)
	require.NoError(t, err)
	var lifted []string
	for _, a := range audit {
		for _, c := range a.Changes {
			if c.Field == "level" && strings.HasPrefix(a.Object, "lot/") {
				lifted = append(lifted, a.Object+" "+c.Before+"→"+c.After)
			}
		}
	}
	assert.ElementsMatch(t, []string{"lot/" + lot.ID + " 0→2", "lot/" + sub + " 1→3"}, lifted, "the audit trail shows the raised levels")
}

// TestMergeIntoSplitLotFromUnrelatedLot: the same flow for a merge of material lots.
func TestMergeIntoSplitLotFromUnrelatedLot(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	sub := split(t, p, "SK-2", "", "5 ea")
	kit := split(t, p, "SK-1", "", "5 ea")

	into, err := p.MergeLots(ctx, "SK-2", kit, planner)
	require.NoError(t, err)
	assert.Equal(t, "40 ea", into.OnHand.String())
	assert.Equal(t, 2, into.Level)
	assert.Equal(t, 3, level(t, p, sub))
	edges, levels := graph(t, f, []string{"SK-1", "SK-2", sub, kit})
	requireLevelsClimb(t, edges, levels)
	assert.Contains(t, edges, [2]string{kit, "SK-2"})
}

// TestLiftRaisesTheChainBelow: a chain of sublots below the lot rises with it, each one
// level above its input, and the walk stops at a lot already high enough.
func TestLiftRaisesTheChainBelow(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	a := split(t, p, "SK-2", "", "20 ea")
	b := split(t, p, a, "", "10 ea")
	c := split(t, p, b, "", "5 ea")
	k1 := split(t, p, "SK-1", "", "20 ea")
	k2 := split(t, p, k1, "", "10 ea")
	k3 := split(t, p, k2, "", "5 ea")
	k4 := split(t, p, k3, "", "2 ea")
	high := split(t, p, k4, "", "1 ea")                                       // level 5
	_, err := p.ConsumeMaterial(ctx, "SK-2", high, "", qty("1 ea"), operator) // SK-2 feeds a lot at level 5
	require.NoError(t, err)

	_, err = p.ConsumeMaterial(ctx, k3, "SK-2", "", qty("1 ea"), operator)
	require.NoError(t, err)
	lots := []string{"SK-1", "SK-2", a, b, c, k1, k2, k3, k4, high}
	edges, levels := graph(t, f, lots)
	assert.Equal(t, map[string]int{"SK-1": 0, k1: 1, k2: 2, k3: 3, k4: 4, high: 5, "SK-2": 4, a: 5, b: 6, c: 7}, levels)
	requireLevelsClimb(t, edges, levels)
}

// TestRealCycleIsRefusedAndChangesNothing: a lot that descends from another cannot feed it,
// by consumption or merge; the error names the line of descent and nothing changes.
func TestRealCycleIsRefusedAndChangesNothing(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	s1 := split(t, p, "SK-1", "", "10 ea")
	s2 := split(t, p, s1, "", "5 ea")
	before := takeSnapshot(t, f.store)
	edgesBefore, _ := graph(t, f, []string{"SK-1", s1, s2})

	_, err := p.ConsumeMaterial(ctx, s2, "SK-1", "", qty("1 ea"), operator)
	require.ErrorIs(t, err, genealogy.ErrCycle)
	require.ErrorIs(t, err, mes.ErrInvalid)
	assert.Contains(t, err.Error(), fmt.Sprintf("lot %s descends from lot SK-1 (SK-1 → %s → %s)", s2, s1, s2))
	assert.Contains(t, err.Error(), "take the material from a lot that does not descend from SK-1")

	_, err = p.MergeLots(ctx, "SK-1", s2, planner)
	require.ErrorIs(t, err, genealogy.ErrCycle)

	require.Equal(t, before, takeSnapshot(t, f.store))
	edgesAfter, _ := graph(t, f, []string{"SK-1", s1, s2})
	require.Equal(t, edgesBefore, edgesAfter)
}

// TestLotMovesAgainstBruteForceCycleCheck runs random receipts, splits, consumptions and
// merges over a handful of material lots and checks every consumption and merge against a
// brute-force search of the edge list: accepted iff it closes no cycle (a refused one
// changes nothing), and after every step levels never decrease along any edge and climb
// along the new one.
func TestLotMovesAgainstBruteForceCycleCheck(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	rng := rand.New(rand.NewPCG(7, 11))
	lots := []string{"SK-1", "SK-2"}
	received := 0
	count := map[string]int{}
	for step := range 300 {
		edges, levels := graph(t, f, lots)
		requireLevelsClimb(t, edges, levels)
		usable := func(min string) []string { // available lots with at least min on hand
			var out []string
			for _, id := range lots {
				l, err := p.Lot(ctx, id)
				require.NoError(t, err)
				if c, _ := l.OnHand.Cmp(qty(min)); l.Status == genealogy.Available && c >= 0 {
					out = append(out, id)
				}
			}
			return out
		}
		pick := func(ids []string) string { return ids[rng.IntN(len(ids))] }
		switch op := rng.IntN(10); {
		case len(usable("4 ea")) < 3:
			received++
			id := fmt.Sprintf("R-%d", received)
			_, err := p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: id, Material: "SEAL-KIT", Qty: qty("30 ea"), Supplier: "ACME", SupplierLot: id}, admin)
			require.NoError(t, err)
			lots = append(lots, id)
		case op <= 3 && len(usable("1 ea")) < 10:
			lots = append(lots, split(t, p, pick(usable("4 ea")), "", fmt.Sprintf("%d ea", 1+rng.IntN(3))))
		default:
			into := pick(usable("1 ea"))
			from := into // sometimes a lot into itself
			if rng.IntN(10) > 0 {
				from = pick(slices.DeleteFunc(usable("1 ea"), func(id string) bool { return id == into }))
			}
			closes := descends(edges, from, into)
			before := takeSnapshot(t, f.store)
			var err error
			move := "consume"
			if op >= 8 {
				move = "merge"
				_, err = p.MergeLots(ctx, into, from, planner)
			} else {
				_, err = p.ConsumeMaterial(ctx, from, into, "", qty("1 ea"), operator)
			}
			if closes {
				require.ErrorIs(t, err, genealogy.ErrCycle, "step %d: %s %s → %s closes a cycle", step, move, from, into)
				require.Equal(t, before, takeSnapshot(t, f.store), "step %d: a refused edge changes nothing", step)
				count[move+" refused"]++
				continue
			}
			require.NoError(t, err, "step %d: %s %s → %s closes no cycle", step, move, from, into)
			after, newLevels := graph(t, f, lots)
			require.Less(t, newLevels[from], newLevels[into], "step %d: the new edge %s → %s climbs", step, from, into)
			require.Contains(t, after, [2]string{from, into})
			if levels[from] > 0 && levels[from] >= levels[into] && slices.ContainsFunc(edges, func(e [2]string) bool { return e[0] == into }) {
				count[move+" lifted"]++
			}
		}
	}
	edges, levels := graph(t, f, lots)
	requireLevelsClimb(t, edges, levels)
	t.Logf("%d lots: %v", len(lots), count)
	for _, c := range []string{"consume lifted", "consume refused", "merge lifted", "merge refused"} {
		require.Positive(t, count[c], "the run exercises %s", c)
	}
}

// TestBackflushSkipsALotThatDescendsFromTheLot: a component lot made partly from a sublot of
// the work-order lot (regrind) cannot go into that lot; back-flush passes over it, as over
// an expired lot, and takes the next lot instead of refusing the track-out.
func TestBackflushSkipsALotThatDescendsFromTheLot(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "GEAR", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	rt, err := routing.New("GEAR", "A").
		Step("10", "Fit", routing.At("ASSY"), routing.Consume("SEAL-KIT", "1 ea", routing.Backflushed, routing.LotTracked)).
		Step("20", "Pack", routing.At("ASSY")).
		Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", rt, admin)
	require.NoError(t, err)
	in := newOrder("G-1")
	in.Product, in.Qty = "GEAR", qty("10 ea")
	wo, err := p.CreateWorkOrder(ctx, in, erp)
	require.NoError(t, err)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	lot, err := p.StartLot(ctx, wo.ID, qty("10 ea"), planner)
	require.NoError(t, err)
	sub := split(t, p, lot.ID, "10", "4 ea")
	for _, step := range []string{"10", "20"} {
		_, err = p.TrackIn(ctx, sub, step, units.Quantity{}, operator)
		require.NoError(t, err)
		_, err = p.TrackOut(ctx, sub, step, routing.Outcome{Good: qty("4 ea")}, operator)
		require.NoError(t, err)
	}
	// K-1 is as old as SK-1 and SK-2 (the clock stands still) and its id sorts first, so
	// back-flush reaches it first.
	_, err = p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "K-1", Material: "SEAL-KIT", Qty: qty("5 ea"), Supplier: "ACME", SupplierLot: "regrind"}, admin)
	require.NoError(t, err)
	_, err = p.ConsumeMaterial(ctx, sub, "K-1", "", qty("1 ea"), operator)
	require.NoError(t, err)

	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("6 ea")}, operator)
	require.NoError(t, err, "K-1 descends from the lot; SK-1 covers the back-flush")
	k1, err := p.Lot(ctx, "K-1")
	require.NoError(t, err)
	assert.Equal(t, "5 ea", k1.OnHand.String(), "K-1 is left alone")
	edges, levels := graph(t, f, []string{lot.ID, sub, "K-1", "SK-1", "SK-2"})
	requireLevelsClimb(t, edges, levels)
	assert.Contains(t, edges, [2]string{"SK-1", lot.ID})
	assert.NotContains(t, edges, [2]string{"K-1", lot.ID})
}
