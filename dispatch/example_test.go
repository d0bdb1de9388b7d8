package dispatch_test

import (
	"fmt"
	"time"

	"github.com/taktmes/takt/dispatch"
	"github.com/taktmes/takt/units"
)

func Example() {
	now := time.Date(2025, 3, 3, 6, 0, 0, 0, time.UTC)
	rule, err := dispatch.Builtin("CR") // critical ratio: dueInHours / remainingHours
	if err != nil {
		fmt.Println(err)
		return
	}
	board := dispatch.NewBoard(rule)
	for _, c := range []dispatch.Candidate{
		{Lot: "L-1", WorkOrder: "4711", Step: "10", WorkCenters: []string{"CNC"}, Released: true,
			Due: now.Add(20 * time.Hour), QueuedSince: now.Add(-3 * time.Hour), Quantity: units.MustParse("50 ea"),
			OpTime: 2 * time.Hour, RemainingTime: 10 * time.Hour, RemainingSteps: 3},
		{Lot: "L-2", WorkOrder: "4712", Step: "10", WorkCenters: []string{"CNC", "LATHE"}, Released: true,
			Due: now.Add(6 * time.Hour), QueuedSince: now.Add(-1 * time.Hour), Quantity: units.MustParse("20 ea"),
			OpTime: time.Hour, RemainingTime: 4 * time.Hour, RemainingSteps: 2},
		{Lot: "L-3", WorkOrder: "4713", Step: "30", WorkCenters: []string{"CNC"}, Released: true,
			Due: now.Add(8 * time.Hour), QueuedSince: now.Add(-5 * time.Hour), Quantity: units.MustParse("5 ea"),
			OpTime: time.Hour, RemainingTime: time.Hour, RemainingSteps: 1,
			Shortages: []dispatch.Shortage{{Material: "SEAL-KIT", Short: units.MustParse("2 ea")}}},
	} {
		if err := board.Upsert(c); err != nil {
			fmt.Println(err)
			return
		}
	}
	list := board.List(dispatch.Request{WorkCenter: "CNC", Now: now})
	for _, e := range list.Ranked {
		fmt.Println(e)
	}
	for _, b := range list.Ineligible {
		fmt.Println("not", b.Candidate.Key(), b.Reasons)
	}
	// Output:
	// 1. L-2@10 score 1.5 (dueInHours=6, remainingHours=4)
	// 2. L-1@10 score 2 (dueInHours=20, remainingHours=10)
	// not L-3@30 [component SEAL-KIT short by 2 ea]
}

func ExampleCompile() {
	_, err := dispatch.Compile("late first", "dueInHours /\n  remainingHour")
	fmt.Println(err != nil)
	rule, err := dispatch.Compile("late first", "(dueInHours - remainingHours) / remainingSteps")
	fmt.Println(err, rule.Inputs())
	// Output:
	// true
	// <nil> [dueInHours remainingHours remainingSteps]
}
