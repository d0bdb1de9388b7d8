// Package genealogy holds material lots, serial numbers and the genealogy graph that links
// them: what went into what, in which quantity, at which step, work order, equipment and by
// whom. It is pure domain logic over values: no storage, no goroutines, no clock.
//
// # Operations
//
// Receive, Produce, Consume, ConsumeIntoSerial, Serialize, Assemble, Split, Merge, Ship,
// ShipSerial, Scrap and Adjust take lot (and serial) values and return a Change: the updated
// values and the Edge records to persist. They check everything first and report every
// problem found (a Problems error whose entries wrap this package's sentinels), leaving their
// inputs untouched on error.
//
// # Conservation
//
// Every quantity change of a lot is an edge. An edge takes its Qty out of From when From is
// a lot, and puts it into To when To is a lot and the edge moves material (Receive, Produce,
// Split, Merge, Adjust). Consume takes the component out of its lot but puts nothing into the
// produced lot: the product's quantity arrives by Produce. Serialize takes one unit out of
// the lot per serial: from then on the serial carries that unit, so the lot's quantity holds
// only its unnumbered units and no unit can be used both as a serial and as lot quantity.
// Assemble moves no lot quantity. So a lot's on-hand quantity always equals Balance over
// its edges.
//
// # No cycles, by construction
//
// Each lot carries a Level, and levels never decrease along lineage edges (lot to lot); a
// new edge always goes from a lower to a higher level, so it can never close a cycle: a
// path back from the higher lot to the lower one would have to go down.
//
// The fast path reads nothing but the two lots (NeedsLift reports when it does not
// decide). A lot that has never given quantity away (HasOutputs false) is raised above its
// new input. An input from a level-0 lot is accepted too: such a lot has no lot inputs of
// its own, so it cannot descend from anything; the receiving lot rises to level 1 at most,
// which its outputs already are. Any other input at or above a lot that already gave
// material away could close a cycle, and only the graph can tell: Consume and Merge refuse
// it with ErrCycle, and Lift decides it exactly. Lift walks forward from the receiving lot,
// raising it above the input and every lot below it that would no longer sit above one of
// its inputs, and stops where levels are already high enough (the input cannot lie below a
// lot above its level). If the walk reaches the input, the input descends from the
// receiving lot: the edge would close a cycle and Lift refuses it with ErrCycle, naming the
// line of descent. Otherwise the caller saves the raised lots with the edge, and Consume
// and Merge, given the raised lot, accept it by levels. So only a real cycle is refused,
// and the levels stay true for the edges that follow.
//
// Serials feed only serials and are consumed whole, so they cannot close a cycle either.
// Traces still verify that what a store returns is acyclic.
//
// # Trace
//
// A Reader gives the edges into and out of a node; Walk traces any Reader node by node. A
// store that can answer a whole trace in one query implements Tracer; TraceBackward and
// TraceForward use it when present. Index is a compact in-memory Reader and Tracer for
// millions of lots. Recall, AsBuiltRecord and AtEquipment build the reports on top of traces.
package genealogy
