package execution_test

import (
	"fmt"
	"time"

	"github.com/taktmes/takt/execution"
)

// A rule fires for a lot waiting too long, the task is acknowledged and resolved with the
// input the rule requires.
func Example() {
	rule, err := execution.Compile(execution.RuleSpec{
		Name: "waiting", Title: "lot waiting more than 30 minutes", Owner: "supervisor",
		When:   `lot.queued && lot.waitingMinutes > 30`,
		Cause:  `lot.id + "@" + lot.step`,
		Clear:  `!lot.queued`,
		Inputs: []string{"reason"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 11, 23, 6, 45, 0, 0, time.UTC)
	rules := execution.NewRuleSet(rule)
	decisions, _ := rules.Evaluate(&execution.Env{
		Now: now, Event: execution.EventFacts{Type: execution.TickEvent},
		Lot: execution.LotFacts{ID: "L-7", Step: "10", Queued: true, WaitingMinutes: 45},
	}, nil)
	task := execution.OpenTask("T-1", "PLANT-1", decisions[0])
	fmt.Println(task.Title, "for", task.Cause, "with", task.Owner.Role)

	sue := execution.Actor{ID: "sue", Roles: []string{"supervisor"}}
	task, _ = task.Acknowledge(sue, now.Add(5*time.Minute))
	_, err = task.Resolve(sue, nil, now.Add(10*time.Minute))
	fmt.Println(err)
	task, _ = task.Resolve(sue, map[string]string{"reason": "OPERATOR-SHORTAGE"}, now.Add(10*time.Minute))
	fmt.Println(task.State, "by", task.ClosedBy)
	// Output:
	// lot waiting more than 30 minutes for L-7@10 with supervisor
	// execution: required inputs missing: task T-1 needs reason to resolve; give them as inputs
	// resolved by sue
}
