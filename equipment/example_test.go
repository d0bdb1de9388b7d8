package equipment_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/taktmes/takt/equipment"
)

// The OEE of one shift: 480 minutes with two 15-minute breaks and a 30-minute meal, 47
// minutes down on a jam, an ideal rate of 60 parts per minute, 19,271 parts of which 423
// were rejected.
func ExampleTimeline_OEE() {
	start := time.Date(2025, 3, 3, 6, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return start.Add(time.Duration(min) * time.Minute) }
	state := func(seq uint64, min int, s equipment.MachineState, reason string) equipment.Signal {
		return equipment.Signal{Source: "plc-7", Seq: seq, At: at(min), Equipment: "CNC-1",
			Kind: equipment.KindState, State: &equipment.StateChange{State: s, Reason: reason}}
	}
	count := func(seq uint64, min int, good, reject int64) equipment.Signal {
		return equipment.Signal{Source: "plc-7", Seq: seq, At: at(min), Equipment: "CNC-1",
			Kind: equipment.KindCount, Count: &equipment.Count{Good: good, Reject: reject}}
	}

	cnc := equipment.NewTimeline("CNC-1")
	for _, s := range []equipment.Signal{
		state(1, 0, equipment.Running, ""),
		count(2, 30, 5000, 100),
		state(3, 60, equipment.Down, "JAM"),
		state(4, 107, equipment.Running, ""),
		count(5, 180, 5000, 200),
		count(6, 300, 5000, 123),
		count(7, 420, 3848, 0),
	} {
		if _, err := cnc.Apply(s); err != nil {
			fmt.Println(err)
		}
	}
	shift := equipment.Span{Start: at(0), End: at(480)}
	breaks := []equipment.Span{{Start: at(120), End: at(135)}, {Start: at(240), End: at(270)}, {Start: at(360), End: at(375)}}
	r, err := cnc.OEE(shift, breaks, time.Second) // Equipment.IdealCycleTime: 60 parts/min
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("planned busy %v, run %v\n", r.PlannedBusy, r.Run)
	fmt.Printf("availability %.4f performance %.4f quality %.4f OEE %.4f\n",
		r.Availability.Value, r.Performance.Value, r.Quality.Value, r.OEE.Value)
	for _, d := range r.Losses.Downtime {
		fmt.Printf("downtime %s %s %v\n", d.State, d.Reason, d.Duration)
	}
	fmt.Printf("speed loss %v, quality loss %v\n", r.Losses.Speed, r.Losses.Quality)
	// Output:
	// planned busy 7h0m0s, run 6h13m0s
	// availability 0.8881 performance 0.8611 quality 0.9780 OEE 0.7479
	// downtime down JAM 47m0s
	// speed loss 51m49s, quality loss 7m3s
}

// A device stream delivered twice in part and out of order ends in the same history as the
// clean stream: duplicates are recognised by (source, seq), late signals are put in place.
func ExampleTimeline_Apply() {
	start := time.Date(2025, 3, 3, 6, 0, 0, 0, time.UTC)
	clean := []equipment.Signal{
		{Source: "plc-7", Seq: 1, At: start, Equipment: "CNC-1", Kind: equipment.KindState, State: &equipment.StateChange{State: equipment.Running}},
		{Source: "plc-7", Seq: 2, At: start.Add(10 * time.Minute), Equipment: "CNC-1", Kind: equipment.KindCount, Count: &equipment.Count{Good: 40, Reject: 2}},
		{Source: "plc-7", Seq: 3, At: start.Add(20 * time.Minute), Equipment: "CNC-1", Kind: equipment.KindState, State: &equipment.StateChange{State: equipment.Down, Reason: "JAM"}},
		{Source: "plc-7", Seq: 4, At: start.Add(35 * time.Minute), Equipment: "CNC-1", Kind: equipment.KindState, State: &equipment.StateChange{State: equipment.Running}},
		{Source: "plc-7", Seq: 5, At: start.Add(50 * time.Minute), Equipment: "CNC-1", Kind: equipment.KindCount, Count: &equipment.Count{Good: 30}},
	}
	noisy := append(append([]equipment.Signal{}, clean...), clean[1], clean[3])
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(noisy), func(i, j int) { noisy[i], noisy[j] = noisy[j], noisy[i] })

	cnc := equipment.NewTimeline("CNC-1")
	outcomes := map[equipment.Outcome]int{}
	for _, s := range noisy {
		o, err := cnc.Apply(s)
		if err != nil {
			fmt.Println(err)
		}
		outcomes[o]++
	}
	fmt.Println(outcomes)
	history, _ := cnc.History(equipment.Span{Start: start, End: start.Add(time.Hour)})
	for _, iv := range history {
		fmt.Printf("%s-%s %-7s %-3s good %d reject %d\n", iv.Start.Format("15:04"), iv.End.Format("15:04"), iv.State, iv.Reason, iv.Good, iv.Reject)
	}
	// Output:
	// map[applied:5 duplicate:2]
	// 06:00-06:20 running     good 40 reject 2
	// 06:20-06:35 down    JAM good 0 reject 0
	// 06:35-07:00 running     good 30 reject 0
}

// The interlock blocks a machine while a tracked-in lot is held.
func ExampleDecideInterlock() {
	d := equipment.DecideInterlock("CNC-1", []equipment.TrackedLot{{ID: "LOT-4711", Held: true}})
	fmt.Println(d.Block, d.Reason)
	fmt.Println(d.Message)
	// Output:
	// true lot_held
	// CNC-1 is blocked: lot LOT-4711 on hold; release the hold or track the lot out
}
