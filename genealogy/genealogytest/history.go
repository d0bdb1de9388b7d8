// Package genealogytest generates realistic, seeded plant histories for genealogy benchmarks
// and tests: supplier lots received as raw lots, raw lots feeding many intermediates,
// intermediates feeding many finished lots, some splits and merges, and shipments.
package genealogytest

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/units"
)

// History summarises a generated plant history.
type History struct {
	Lots, Edges int
	// Raw are the received lots (and their sublots); Finished the finished-good lots.
	Raw, Finished []genealogy.Node
	// Bulk are the raw lots that each feed thousands of intermediates and finished lots
	// (a resin silo, say): their forward traces are large.
	Bulk []genealogy.Node
}

// Shape of the generated plant. The windows are absolute counts, so a finished lot's
// genealogy looks the same whatever the size of the history.
const (
	rawShare      = 10   // percent of lots that are received raw lots
	intShare      = 30   // percent that are intermediates
	rawWindow     = 2000 // intermediates draw raw lots from the most recent ones
	intWindow     = 3000 // finished lots draw intermediates from the most recent ones
	bulkEvery     = 3000 // a bulk raw lot (resin silo) feeds half the intermediates for this many intermediates
	splitPercent  = 3    // of raw lots, split into two sublots
	mergePercent  = 1    // of intermediates, merged from two earlier ones
	shipPercent   = 70   // of finished lots, shipped
	equipmentSize = 200
	operatorSize  = 300
)

// Generate emits, in time order, the edges of a history of about lots lots (roughly three
// edges per lot) to emit. The same seed gives the same history. The graph has a realistic
// shape; its quantities are plausible but not balanced lot by lot.
func Generate(seed uint64, lots int, emit func(genealogy.Edge)) History {
	g := &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), emit: emit, at: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i := range 8 {
		g.qty[0][i] = must(units.FromInt(int64(25*(i+1)), "kg")) // received and intermediate lots
		g.qty[1][i] = must(units.FromInt(int64(i+1), "kg"))      // consumed
		g.qty[2][i] = must(units.FromInt(int64(10*(i+1)), "ea")) // finished and shipped
	}
	var h History
	var raws, ints []genealogy.Node
	var bulk genealogy.Node
	sinceBulk := bulkEvery
	for h.Lots < lots {
		g.at = g.at.Add(30 * time.Second)
		r := g.rng.IntN(100)
		switch {
		case r < rawShare || len(raws) == 0:
			lot := g.receive(h.Lots)
			h.Lots++
			if g.rng.IntN(100) < splitPercent {
				for k := 0; k < 2; k++ {
					sub := genealogy.LotNode(lot.ID + "-" + strconv.Itoa(k+1))
					g.edge(genealogy.EdgeSplit, lot, sub, g.qty[0][k], genealogy.Op{Operator: g.operator()})
					raws = append(raws, sub)
					h.Raw = append(h.Raw, sub)
					h.Lots++
				}
			} else {
				raws = append(raws, lot)
			}
			h.Raw = append(h.Raw, lot)
		case r < rawShare+intShare:
			if sinceBulk >= bulkEvery {
				bulk, sinceBulk = g.receive(h.Lots), 0
				h.Raw = append(h.Raw, bulk)
				h.Bulk = append(h.Bulk, bulk)
				h.Lots++
			}
			sinceBulk++
			lot := genealogy.LotNode("INT-" + strconv.Itoa(h.Lots))
			h.Lots++
			if len(ints) > 2 && g.rng.IntN(100) < mergePercent {
				a, b := recent(g.rng, ints, intWindow), recent(g.rng, ints, intWindow)
				if a != b {
					op := genealogy.Op{Operator: g.operator()}
					g.edge(genealogy.EdgeMerge, a, lot, g.qty[1][3], op)
					g.edge(genealogy.EdgeMerge, b, lot, g.qty[1][4], op)
					ints = append(ints, lot)
					continue
				}
			}
			op := g.op("10")
			g.edge(genealogy.EdgeProduce, genealogy.Node{}, lot, g.qty[0][g.rng.IntN(8)], op)
			for k := 0; k < 2; k++ {
				g.edge(genealogy.EdgeConsume, recent(g.rng, raws, rawWindow), lot, g.qty[1][g.rng.IntN(8)], op)
			}
			if g.rng.IntN(2) == 0 {
				g.edge(genealogy.EdgeConsume, bulk, lot, g.qty[1][g.rng.IntN(8)], op)
			}
			ints = append(ints, lot)
		default:
			if len(ints) == 0 {
				continue
			}
			lot := genealogy.LotNode("FG-" + strconv.Itoa(h.Lots))
			h.Lots++
			op := g.op("20")
			g.edge(genealogy.EdgeProduce, genealogy.Node{}, lot, g.qty[2][g.rng.IntN(8)], op)
			g.edge(genealogy.EdgeConsume, recent(g.rng, ints, intWindow), lot, g.qty[1][g.rng.IntN(8)], op)
			if g.rng.IntN(3) == 0 {
				g.edge(genealogy.EdgeConsume, recent(g.rng, ints, intWindow), lot, g.qty[1][g.rng.IntN(8)], op)
			}
			if g.rng.IntN(100) < shipPercent {
				ship := genealogy.ShipmentNode("SH-" + strconv.Itoa(h.Lots))
				g.edge(genealogy.EdgeShip, lot, ship, g.qty[2][0], genealogy.Op{Operator: g.operator()})
			}
			h.Finished = append(h.Finished, lot)
		}
	}
	h.Edges = g.edges
	return h
}

type gen struct {
	rng   *rand.Rand
	emit  func(genealogy.Edge)
	at    time.Time
	qty   [3][8]units.Quantity
	edges int
	wo    int
}

func (g *gen) receive(n int) genealogy.Node {
	id := "RAW-" + strconv.Itoa(n)
	lot := genealogy.LotNode(id)
	g.edge(genealogy.EdgeReceive, genealogy.SupplierLotNode("RES-"+strconv.Itoa(n%50), "SUP-"+strconv.Itoa(n%20), "B"+id), lot, g.qty[0][g.rng.IntN(8)], genealogy.Op{Operator: g.operator()})
	return lot
}

func (g *gen) op(step string) genealogy.Op {
	g.wo++
	return genealogy.Op{WorkOrder: "WO-" + strconv.Itoa(g.wo), Step: step, Equipment: "EQ-" + strconv.Itoa(g.rng.IntN(equipmentSize)), Operator: g.operator()}
}

func (g *gen) operator() string { return operators[g.rng.IntN(operatorSize)] }

var operators = func() []string {
	ops := make([]string, operatorSize)
	for i := range ops {
		ops[i] = "OP-" + strconv.Itoa(i)
	}
	return ops
}()

func (g *gen) edge(kind genealogy.EdgeKind, from, to genealogy.Node, q units.Quantity, op genealogy.Op) {
	g.edges++
	g.emit(genealogy.Edge{Kind: kind, From: from, To: to, Qty: q, WorkOrder: op.WorkOrder, Step: op.Step, Equipment: op.Equipment, Operator: op.Operator, At: g.at})
}

// recent picks one of the last window nodes.
func recent(rng *rand.Rand, nodes []genealogy.Node, window int) genealogy.Node {
	if len(nodes) < window {
		window = len(nodes)
	}
	return nodes[len(nodes)-1-rng.IntN(window)]
}

func must(q units.Quantity, err error) units.Quantity {
	if err != nil {
		panic(err)
	}
	return q
}
