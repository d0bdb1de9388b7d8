// Package dispatch decides what runs next at a work center: which queued lot/operations are
// eligible now (and, for the others, why not), and in which order the eligible ones should
// run, ranked by a rule the plant writes in expr.
//
// The package is pure domain logic over plain values. The engine (package mes) gathers the
// facts about each queued operation from routing, quality, genealogy and labor into a
// [Candidate], describes who asks and when in a [Request], and calls [Rank] for a one-shot
// list or keeps a [Board] per work center that it updates from events (a hold, a completion
// or a priority change is an [Board.Upsert]) and lists with [Board.List].
//
// Rules are expr expressions over the typed environment [Env] that return a number: the
// score. Lower scores run first; ties are broken by the time the candidate has been queued
// (earlier first), then by lot id and step id, so a list is always deterministic. Rules are
// compiled and checked once with [Compile] (at save time); the built-in rules ([Builtin]) are
// written in expr too and go through the same path. Every ranked [Entry] can explain its score
// with the values of the inputs its rule used ([Entry.Explain]).
package dispatch
