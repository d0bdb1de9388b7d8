package routing_test

import (
	"fmt"
	"time"

	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

func printBooks(e routing.Execution) {
	fmt.Printf("%-4s %-20s %4s %4s %4s %4s %5s %6s\n", "step", "state", "recv", "wait", "run", "good", "scrap", "rework")
	for _, p := range e.Steps() {
		fmt.Printf("%-4s %-20s %4s %4s %4s %4s %5s %6s\n", p.Step, p.State(), p.Received.Value(), p.Waiting.Value(),
			p.InProcess.Value(), p.Good.Value(), p.Scrap.Value(), p.Rework.Value())
	}
	fmt.Println("finished:", e.Finished)
}

// A 5-step routing with a conditional rework loop: bores out of spec go to re-boring and come
// back to inspection.
func Example_reworkLoop() {
	rt, err := routing.New("PUMP-100", "C").
		Step("10", "Machine housing", routing.At("CNC"), routing.Run(90*time.Second)).
		Step("20", "Inspect bore", routing.Inspect("BORE-PLAN"), routing.Next(`inSpec.bore ? "30" : "RW-10"`)).
		Step("30", "Assemble", routing.Consume("SEAL-KIT", "1 ea", routing.Backflushed)).
		Step("40", "Pack", routing.Then(routing.End)).
		Step("RW-10", "Re-bore", routing.At("CNC"), routing.Then("20")).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)
	ea := units.MustParse
	all := units.Quantity{} // track in everything waiting
	e, _, err := rt.Start(ea("10 ea"), at)
	check := func(next routing.Execution, _ []routing.Effect, err error) {
		if err != nil {
			fmt.Println(err)
			return
		}
		e = next
	}
	check(e, nil, err)
	check(rt.TrackIn(e, "10", all, at))
	check(rt.TrackOut(e, "10", routing.Outcome{Good: ea("9 ea"), Scrap: []routing.ScrapLine{{Qty: ea("1 ea"), Reason: "CHATTER"}}}, at))
	check(rt.TrackIn(e, "20", all, at))
	check(rt.TrackOut(e, "20", routing.Outcome{Good: ea("7 ea"), InSpec: map[string]bool{"bore": true}}, at))
	check(rt.TrackOut(e, "20", routing.Outcome{Good: ea("2 ea"), InSpec: map[string]bool{"bore": false}}, at))
	check(rt.TrackIn(e, "RW-10", all, at))
	check(rt.TrackOut(e, "RW-10", routing.Outcome{Good: ea("2 ea")}, at))
	check(rt.TrackIn(e, "20", all, at))
	check(rt.TrackOut(e, "20", routing.Outcome{Good: ea("2 ea"), InSpec: map[string]bool{"bore": true}}, at))
	check(rt.TrackIn(e, "30", all, at))
	check(rt.TrackOut(e, "30", routing.Outcome{Good: ea("9 ea")}, at))
	check(rt.TrackIn(e, "40", all, at))
	next, fx, err := rt.TrackOut(e, "40", routing.Outcome{Good: ea("9 ea")}, at)
	check(next, fx, err)
	printBooks(e)
	for _, f := range fx {
		if c, ok := f.(routing.RouteCompleted); ok {
			fmt.Println("route completed:", c.Finished, "books balance:", e.CheckBooks() == nil)
		}
	}
	// Output:
	// step state                recv wait  run good scrap rework
	// 10   completed              10    0    0    9     1      0
	// 20   completed              11    0    0   11     0      0
	// 30   completed               9    0    0    9     0      0
	// 40   completed               9    0    0    9     0      0
	// RW-10 completed               2    0    0    2     0      0
	// finished: 9 ea
	// route completed: 9 ea books balance: true
}

// Three steps overlapping in transfer batches of 10: the next step starts as soon as a
// batch has passed, and always receives what upstream actually produced.
func Example_overlap() {
	rt, err := routing.New("BRACKET", "A").
		Step("10", "Cut", routing.Transfer("10 ea")).
		Step("20", "Bend", routing.Transfer("10 ea")).
		Step("30", "Paint").
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)
	ea := units.MustParse
	e, _, _ := rt.Start(ea("30 ea"), at)
	apply := func(next routing.Execution, _ []routing.Effect, err error) {
		if err != nil {
			fmt.Println(err)
			return
		}
		e = next
	}
	show := func(move string) {
		fmt.Printf("%-22s", move)
		for _, p := range e.Steps() {
			fmt.Printf(" %s: recv %2s run %2s good %2s |", p.Step, p.Received.Value(), p.InProcess.Value(), p.Good.Value())
		}
		fmt.Println()
	}
	apply(rt.TrackIn(e, "10", units.Quantity{}, at))
	show("in 30 at 10")
	apply(rt.TrackOut(e, "10", routing.Outcome{Good: ea("12 ea")}, at))
	show("out 12 at 10")
	apply(rt.TrackIn(e, "20", units.Quantity{}, at))
	show("in 10 at 20")
	apply(rt.TrackOut(e, "20", routing.Outcome{Good: ea("10 ea")}, at))
	show("out 10 at 20")
	apply(rt.TrackIn(e, "30", units.Quantity{}, at))
	show("in 10 at 30")
	apply(rt.TrackOut(e, "10", routing.Outcome{Good: ea("17 ea"), Scrap: []routing.ScrapLine{{Qty: ea("1 ea"), Reason: "BURR"}}}, at))
	show("out 17 +1 scrap at 10")
	fmt.Println("books balance:", e.CheckBooks() == nil)
	// Output:
	// in 30 at 10            10: recv 30 run 30 good  0 | 20: recv  0 run  0 good  0 | 30: recv  0 run  0 good  0 |
	// out 12 at 10           10: recv 30 run 18 good 12 | 20: recv 10 run  0 good  0 | 30: recv  0 run  0 good  0 |
	// in 10 at 20            10: recv 30 run 18 good 12 | 20: recv 10 run 10 good  0 | 30: recv  0 run  0 good  0 |
	// out 10 at 20           10: recv 30 run 18 good 12 | 20: recv 10 run  0 good 10 | 30: recv 10 run  0 good  0 |
	// in 10 at 30            10: recv 30 run 18 good 12 | 20: recv 10 run  0 good 10 | 30: recv 10 run 10 good  0 |
	// out 17 +1 scrap at 10  10: recv 30 run  0 good 29 | 20: recv 29 run  0 good 10 | 30: recv 10 run 10 good  0 |
	// books balance: true
}
