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
// Each lot carries a Level, and levels never decrease along lineage edges; a new edge always
// goes from a lower to a higher level. A lot that has never given quantity away (HasOutputs
// false) is raised above its new input; a lot that has keeps its level, and an input at or
// above it is refused with ErrCycle — except an input from a level-0 lot, which has no
// inputs of its own and so cannot descend from anything (the receiving lot rises to level 1
// at most, which its outputs already are). So a new edge from a lower to a higher level can
// never close a cycle. Serials feed only serials and are consumed whole, so they cannot close a cycle
// either. Traces still verify that what a store returns is acyclic.
//
// # Trace
//
// A Reader gives the edges into and out of a node; Walk traces any Reader node by node. A
// store that can answer a whole trace in one query implements Tracer; TraceBackward and
// TraceForward use it when present. Index is a compact in-memory Reader and Tracer for
// millions of lots. Recall, AsBuiltRecord and AtEquipment build the reports on top of traces.
package genealogy
