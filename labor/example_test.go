package labor_test

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/units"
)

// A work order's labor efficiency and cost: Anna sets up and runs step 10 on a CNC while also
// running step 20 for part of the time (the overlap is split between the two), takes a break,
// and clocks out; the CNC's machine time is recorded separately.
func Example_workOrderEfficiencyAndCost() {
	t := func(h, m int) time.Time { return time.Date(2026, 5, 4, h, m, 0, 0, time.UTC) }
	op10 := labor.Operation{WorkOrder: "4711", Lot: "4711-1", Step: "10"}
	op20 := labor.Operation{WorkOrder: "4711", Lot: "4711-1", Step: "20"}
	rec := func(id string, kind labor.Kind, at time.Time, op labor.Operation, a labor.Activity) labor.Record {
		return labor.Record{ID: id, Person: "anna", Kind: kind, At: at, Op: op, Activity: a, WorkCenter: "CNC"}
	}
	anna, err := labor.Replay("anna", []labor.Record{
		{ID: "1", Person: "anna", Kind: labor.ClockIn, At: t(6, 0)},
		{ID: "2", Person: "anna", Kind: labor.LogOn, At: t(6, 0), WorkCenter: "CNC"},
		rec("3", labor.StartLabor, t(6, 0), op10, labor.Setup),
		rec("4", labor.StopLabor, t(6, 30), op10, ""),
		rec("5", labor.StartLabor, t(6, 30), op10, labor.Run),
		rec("6", labor.StartLabor, t(7, 30), op20, labor.Run),
		rec("7", labor.StopLabor, t(8, 30), op10, ""),
		rec("8", labor.StopLabor, t(9, 30), op20, ""),
		{ID: "9", Person: "anna", Kind: labor.BreakStart, At: t(9, 30)},
		{ID: "10", Person: "anna", Kind: labor.BreakEnd, At: t(9, 45)},
		{ID: "11", Person: "anna", Kind: labor.ClockOut, At: t(10, 0)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	sheet, err := anna.Timesheet(t(0, 0), t(23, 59))
	if err != nil {
		fmt.Println(err)
		return
	}
	machine, err := labor.MachineTime([]labor.MachineRun{
		{Equipment: "CNC-1", WorkCenter: "CNC", Op: op10, From: t(6, 30), To: t(8, 30)},
	}, t(0, 0), t(23, 59))
	if err != nil {
		fmt.Println(err)
		return
	}

	// Standards from routing data: step 10 is 30 min setup + 90 s per piece, step 20 is
	// 2 min per piece, for 50 pieces.
	qty := units.MustParse("50 ea")
	std10, _ := labor.StandardTime(30*time.Minute, 90*time.Second, qty)
	std20, _ := labor.StandardTime(0, 2*time.Minute, qty)
	standards := map[labor.Operation]time.Duration{op10: std10, op20: std20}

	fmt.Printf("present %v, breaks %v, idle %v, labor %v\n", sheet.Present, sheet.Breaks, sheet.Idle, sheet.Labor)
	for _, p := range labor.Efficiencies(labor.ByOperation, standards, sheet.Slices, machine) {
		eff, _ := p.Efficiency()
		fmt.Printf("step %s: standard %v, actual %v, machine %v, efficiency %s%%\n",
			p.Key, p.Standard, p.Actual, p.Machine, eff.Shift(2).StringFixed(1))
	}
	wo := labor.Efficiencies(labor.ByWorkOrder, standards, sheet.Slices, machine)[0]
	eff, _ := wo.Efficiency()
	fmt.Printf("work order %s: standard %v, actual %v, efficiency %s%%\n", wo.Key, wo.Standard, wo.Actual, eff.Shift(2).StringFixed(1))

	cost, err := labor.Costing{
		LaborRate:    map[string]decimal.Decimal{"anna": decimal.RequireFromString("42.00")},
		OverheadRate: decimal.RequireFromString("12.50"),
		MachineRate:  map[string]decimal.Decimal{"CNC-1": decimal.RequireFromString("80.00")},
	}.Cost(sheet.Slices, machine)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("cost: labor %s + overhead %s + machine %s = %s\n",
		cost.Labor.StringFixed(2), cost.Overhead.StringFixed(2), cost.Machine.StringFixed(2), cost.Total().StringFixed(2))
	// Output:
	// present 4h0m0s, breaks 15m0s, idle 15m0s, labor 3h30m0s
	// step 4711/4711-1/10: standard 1h45m0s, actual 2h0m0s, machine 2h0m0s, efficiency 87.5%
	// step 4711/4711-1/20: standard 1h40m0s, actual 1h30m0s, machine 0s, efficiency 111.1%
	// work order 4711: standard 3h25m0s, actual 3h30m0s, efficiency 97.6%
	// cost: labor 147.00 + overhead 43.75 + machine 160.00 = 350.75
}
