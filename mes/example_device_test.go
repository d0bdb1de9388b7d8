package mes_test

import (
	"context"
	"fmt"
	"time"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/store/memstore"
)

// A machine reports its state and part counts; the engine keeps its state history and
// computes OEE. The same signal sent twice is applied once.
func ExamplePlant_IngestSignals() {
	ctx := context.Background()
	plant, _ := mes.Open(ctx, memstore.New())
	admin := mes.By(mes.Actor{ID: "admin", Kind: mes.Person})
	_ = plant.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "PLANT-1", Level: equipment.Site},
		{ID: "PRESS-1", Level: equipment.WorkUnit, Parent: "PLANT-1", IdealCycleTime: 2 * time.Second},
	}, admin)

	t0 := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	sig := func(seq uint64, min int, kind equipment.Kind) equipment.Signal {
		return equipment.Signal{Source: "press-plc", Seq: seq, At: t0.Add(time.Duration(min) * time.Minute), Equipment: "PRESS-1", Kind: kind}
	}
	running, down, running2, parts := sig(1, 0, equipment.KindState), sig(2, 40, equipment.KindState), sig(3, 50, equipment.KindState), sig(4, 59, equipment.KindCount)
	running.State = &equipment.StateChange{State: equipment.Running}
	down.State = &equipment.StateChange{State: equipment.Down, Reason: "JAM"}
	running2.State = &equipment.StateChange{State: equipment.Running}
	parts.Count = &equipment.Count{Good: 1200, Reject: 30}

	device := mes.By(mes.Actor{ID: "press-plc", Kind: mes.Device})
	results, err := plant.IngestSignals(ctx, []equipment.Signal{running, down, running2, parts, parts}, device)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Println(r.Seq, r.Outcome)
	}
	oee, _ := plant.OEE(ctx, "PRESS-1", equipment.Span{Start: t0, End: t0.Add(time.Hour)}, nil)
	fmt.Printf("availability %.3f performance %.3f quality %.3f OEE %.3f\n",
		oee.Availability.Value, oee.Performance.Value, oee.Quality.Value, oee.OEE.Value)
	for _, d := range oee.Losses.Downtime {
		fmt.Println("downtime", d.State, d.Reason, d.Duration)
	}
	// Output:
	// 1 applied
	// 2 applied
	// 3 applied
	// 4 applied
	// 4 duplicate
	// availability 0.833 performance 0.820 quality 0.976 OEE 0.667
	// downtime down JAM 10m0s
}
