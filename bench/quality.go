package main

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/taktmes/takt/quality"
)

// Figures of package quality: all eight Nelson rules over an individuals chart, in one
// pass; each figure is the fastest of twenty runs. The 1m figure's baseline is ten times
// the 100k figure of the same run, so a ratio near 1.0 shows the scan is linear in the
// number of points.
func init() {
	register([]string{"quality.spc_rules_ms.100k", "quality.spc_rules_ms.1m"}, func(report func(result)) {
		series := qualitySeries(1_000_000)
		chart, err := quality.NewIMRChart(series[:1000])
		if err != nil {
			panic(err)
		}
		// Interleave the two sizes so load from other work on the machine hits both alike.
		small, large := math.Inf(1), math.Inf(1)
		for range 20 {
			small = math.Min(small, qualityMillis(func() { chart.Check(series[:100_000], quality.NelsonRules) }))
			large = math.Min(large, qualityMillis(func() { chart.Check(series, quality.NelsonRules) }))
		}
		report(result{Name: "quality.spc_rules_ms.100k", Value: small, Unit: "ms"})
		report(result{Name: "quality.spc_rules_ms.1m", Value: large, Unit: "ms"}.WithBaseline(10 * small))
	})
}

// qualitySeries is a seeded normal series (mean 10, sigma 0.01) with a shift of +1.5 or -1
// sigma lasting 2,000 points every 50,000 points, so the rules have something to find.
func qualitySeries(n int) []float64 {
	rng := rand.New(rand.NewPCG(2025, 5))
	out := make([]float64, n)
	for i := range out {
		shift := 0.0
		if i%50_000 >= 48_000 {
			shift = 0.015
			if i/50_000%2 == 1 {
				shift = -0.01
			}
		}
		out[i] = 10 + shift + 0.01*rng.NormFloat64()
	}
	return out
}

// qualityMillis returns how long f takes, in milliseconds.
func qualityMillis(f func()) float64 {
	start := time.Now()
	f()
	return float64(time.Since(start).Nanoseconds()) / 1e6
}
