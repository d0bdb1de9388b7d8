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
	var lot mes.Lot
	return pairRate(rt, func() {
		lot, err = p.StartLot(ctx, wo.ID, units.MustParse("100 ea"), benchActor)
		must(err)
	}, func(step string, qty units.Quantity, out routing.Outcome) {
		_, err := p.TrackIn(ctx, lot.ID, step, qty, benchActor)
		must(err)
		_, err = p.TrackOut(ctx, lot.ID, step, out, benchActor)
		must(err)
	})
}

// pureTrackPairRate runs the same moves on the routing state machine alone.
func pureTrackPairRate() float64 {
	rt, err := openBenchPlant().Routing(context.Background(), "S1", "P", "A")
	must(err)
	var exec routing.Execution
	return pairRate(rt, func() {
		exec, _, err = rt.Start(units.MustParse("100 ea"), time.Now())
		must(err)
	}, func(step string, qty units.Quantity, out routing.Outcome) {
		exec, _, err = rt.TrackIn(exec, step, qty, time.Now())
		must(err)
		exec, _, err = rt.TrackOut(exec, step, out, time.Now())
		must(err)
	})
}

// pairRate starts 300 lots of 100 ea, each run through the steps of rt in pairs of 10 ea,
// and returns pairs per second.
func pairRate(rt *routing.Routing, start func(), pair func(step string, qty units.Quantity, out routing.Outcome)) float64 {
	ten := units.MustParse("10 ea")
	out := routing.Outcome{Good: ten}
	pairs := 0
	begin := time.Now()
	for range 300 {
		start()
		for _, s := range rt.Steps {
			for range 10 {
				pair(s.ID, ten, out)
				pairs++
			}
		}
	}
	return float64(pairs) / time.Since(begin).Seconds()
}
