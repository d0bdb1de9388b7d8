// Package routing holds versioned process definitions (routings and their steps) and the
// state machine that moves one lot through a routing, as plain values.
//
// A Routing is built with New(...).Step(...).Build() or read from JSON with Parse. Build and
// Validate list every problem they find (see Problems). A routing moves from Draft to
// Released (immutable afterwards; NewRevision copies it into a new draft) to Obsolete.
//
// An Execution is the progress of one lot on one routing revision, kept as quantity books
// per step: received = waiting + in process + good + scrap + rework + moved back + skipped +
// loss, at every step and after every move. The moves (TrackIn, TrackOut, Pause, Resume, Skip,
// MoveBack, Abort, Split, Merge) are methods on the Routing: each takes an Execution and
// returns a new Execution plus the facts (Effect values) the engine turns into events. An
// illegal move returns a typed error and the Execution it was given is unchanged.
//
// The package does no storage, starts no goroutines and reads no clock: the engine (package
// mes) stores routings and executions, checks authority and holds, and passes times in.
package routing
