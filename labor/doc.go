// Package labor holds the rules of people's time on the shop floor as plain Go over values:
// who works (people, crews, roles), when (shift calendars in a named IANA time zone), on
// what (a per-person time ledger of clock-in, breaks, work-center log-on and labor on
// operations), how long the machines ran, whether the person was qualified, and what the
// time was worth (efficiency against standard, cost from decimal rates).
//
// The package stores nothing, starts no goroutines and never reads the clock: every instant
// is passed in. The engine (package mes) loads a person's records, replays them into a
// [Ledger], applies a new [Record] (which either returns the next ledger or a typed error
// and leaves the ledger as it was), and persists the record. Booked time is never edited:
// a correction is a new record that references the one it supersedes.
//
// Concurrent work is split, not double counted: while an operator runs several operations
// at once, every elapsed instant is divided among the operations running then, equally or
// by their weights, and time on break counts for none of them. Split shares are exact to
// the nanosecond: the shares of an interval always add up to the interval.
package labor
