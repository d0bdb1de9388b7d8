package main

import (
	"context"
	"time"

	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

func init() {
	register([]string{"routing.trackpairs_per_s.mem"}, benchTrackPairs)
}

// benchTrackPairs measures track-in + track-out pairs through the engine on the memory
// store, with genealogy and audit on: lots of 100 ea run through a 10-step routing one
// partial track-out of 10 at a time; the baseline is the same moves on the pure routing
// state machine (no store, no events, no audit), so the ratio is the engine's overhead.
func benchTrackPairs(report func(result)) {
	ctx := context.Background()
	p := openBenchPlant()
	rt, err := p.Routing(ctx, "S1", "P", "A")
	must(err)
	wo, err := p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "S1", Number: "WO", Product: "P", Qty: units.MustParse("1000000 ea")}, benchActor)
	must(err)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, benchActor)
	must(err)
	ten := units.MustParse("10 ea")
	out := routing.Outcome{Good: ten}

	const lots = 300
	pairs := 0
	start := time.Now()
	for l := 0; l < lots; l++ {
		lot, err := p.StartLot(ctx, wo.ID, units.MustParse("100 ea"), benchActor)
		must(err)
		for _, s := range rt.Steps {
			for k := 0; k < 10; k++ {
				_, err = p.TrackIn(ctx, lot.ID, s.ID, ten, benchActor)
				must(err)
				_, err = p.TrackOut(ctx, lot.ID, s.ID, out, benchActor)
				must(err)
				pairs++
			}
		}
	}
	engine := float64(pairs) / time.Since(start).Seconds()

	pure := 0
	start = time.Now()
	for l := 0; l < lots; l++ {
		exec, _, err := rt.Start(units.MustParse("100 ea"), time.Now())
		must(err)
		for _, s := range rt.Steps {
			for k := 0; k < 10; k++ {
				exec, _, err = rt.TrackIn(exec, s.ID, ten, time.Now())
				must(err)
				exec, _, err = rt.TrackOut(exec, s.ID, out, time.Now())
				must(err)
				pure++
			}
		}
	}
	baseline := float64(pure) / time.Since(start).Seconds()
	report(result{Name: "routing.trackpairs_per_s.mem", Value: engine, Unit: "pairs/s"}.WithBaseline(baseline))
}
