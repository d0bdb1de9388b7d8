// Package reliability holds Takt's reliability harness: tests only, over the public API of
// the engine (package mes) on the in-memory store and on PostgreSQL (pgstore). It lives in
// a module of its own so that its test dependencies (porcupine, pgx) stay out of the core.
//
// What it proves, and how to run each part, is in RELIABILITY.md at the root of the
// repository:
//
//   - TestModel: a seeded generator issues long random command sequences, valid and
//     invalid ones and retries, and checks the invariants after every command
//     (-seed, -commands).
//   - TestDifferential: the same sequence on memory and PostgreSQL gives the same result
//     for every command and ends in identical lots, work orders, serials, event log and
//     audit chain. Both stores run the same engine: this finds store differences, not
//     engine bugs both share (TestModel's invariants are for those).
//   - TestLinearizable*: concurrent histories on shared objects, checked with porcupine
//     (-histories).
//   - TestCrash: a child process is killed with SIGKILL at random points; after each
//     restart nothing is half-applied and every acknowledged command is there (-crashes).
//   - TestTamper*: rows changed, deleted or reordered in the database are named by
//     VerifyAudit and VerifyEvents.
//
// Tests that need PostgreSQL skip unless TAKT_POSTGRES_DSN is set.
package reliability
