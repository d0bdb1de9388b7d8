// Package execution carries the decisions of execution control: it detects exceptions from
// events with rules plant engineers write in expr, keeps the tasks those rules open (owner,
// due time, required inputs, escalation path, de-duplication by cause, auto-resolution when
// the cause clears), projects when a work order will really be done from its remaining
// standard times, the queues ahead of it and the shift calendar, and computes execution
// KPIs from a history of simple records.
//
// The package is pure domain logic over plain values: no storage, no goroutines, no clock
// (every function takes the time it needs). The engine (package mes) supplies the facts:
//
//   - Rules: [Compile] checks a [RuleSpec] once, at save time, against the typed
//     environment [Env] (the event that arrived and the current-state facts the engine
//     looked up). A [RuleSet] evaluates many rules for one Env and returns [Decision]s:
//     fire (open a task or update the open one with the same cause) or clear (the cause of
//     an open task cleared: resolve it).
//   - Tasks: [OpenTask] starts a [Task] from a firing; its methods are the state machine
//     (open → acknowledged → in progress → resolved, or cancelled), [Task.Fire] is the
//     de-duplicated update, [Task.Escalate] moves an overdue task along its escalation path
//     and returns an [Escalated] effect per step for the engine to turn into events.
//   - Projection: [Project] schedules the remaining [Operation]s of a work order behind the
//     work ahead of each work center, counting only the working time of a [Calendar].
//   - KPIs: [Compute] turns a history of [Record]s into [KPIs] per work center, product and
//     shift over a [Window]; every KPI's formula is documented on its field.
package execution
