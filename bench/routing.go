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
// partial track-out of 10 at a time, 30,000 pairs on a new plant, best of 3 plants; the
// baseline is the same moves on the pure routing state machine (no store, no events, no
// audit), best of 3 runs, so the ratio is the engine's overhead.
func benchTrackPairs(report func(result)) {
	engine, baseline := 0.0, 0.0
	for range 3 {
		engine = max(engine, trackPairRate())
		baseline = max(baseline, pureTrackPairRate())
	}
	report(result{Name: "routing.trackpairs_per_s.mem", Value: engine, Unit: "pairs/s"}.WithBaseline(baseline))
}

const trackPairLots = 300 // lots of 100 pairs each

// trackPairRate runs the engine's pairs on a new plant and returns pairs per second.
func trackPairRate() float64 {
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
	pairs := 0
	start := time.Now()
	for range trackPairLots {
		lot, err := p.StartLot(ctx, wo.ID, units.MustParse("100 ea"), benchActor)
		must(err)
		for _, s := range rt.Steps {
			for range 10 {
				_, err = p.TrackIn(ctx, lot.ID, s.ID, ten, benchActor)
				must(err)
				_, err = p.TrackOut(ctx, lot.ID, s.ID, out, benchActor)
				must(err)
				pairs++
			}
		}
	}
	return float64(pairs) / time.Since(start).Seconds()
}

// pureTrackPairRate runs the same moves on the routing state machine alone.
func pureTrackPairRate() float64 {
	ctx := context.Background()
	rt, err := openBenchPlant().Routing(ctx, "S1", "P", "A")
	must(err)
	ten := units.MustParse("10 ea")
	out := routing.Outcome{Good: ten}
	pairs := 0
	start := time.Now()
	for range trackPairLots {
		exec, _, err := rt.Start(units.MustParse("100 ea"), time.Now())
		must(err)
		for _, s := range rt.Steps {
			for range 10 {
				exec, _, err = rt.TrackIn(exec, s.ID, ten, time.Now())
				must(err)
				exec, _, err = rt.TrackOut(exec, s.ID, out, time.Now())
				must(err)
				pairs++
			}
		}
	}
	return float64(pairs) / time.Since(start).Seconds()
}
