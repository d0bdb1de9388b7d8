package routing

import (
	"encoding/json"
	"testing"
)

// BenchmarkTrackPair measures one track-in + track-out pair of one unit on the pure state
// machine, on a 5-step routing with a lot of 10^12 (more than any -benchtime uses up): "overlap" at a step with transfer
// batches of 10 (quantity keeps flowing on), "condition" at a step whose branch condition
// runs on every track-out.
func BenchmarkTrackPair(b *testing.B) {
	r, err := New("P", "A").
		Step("10", "a", Transfer("10 ea")).
		Step("20", "b", Next(`inSpec.bore ? "30" : "RW"`)).
		Step("30", "c").
		Step("40", "d", Then(End)).
		Step("RW", "rw", Then("20")).
		Build()
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, step string
		out        Outcome
	}{
		{"overlap", "10", Outcome{Good: q("1 ea")}},
		{"condition", "20", Outcome{Good: q("1 ea"), InSpec: map[string]bool{"bore": true}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e, _, err := r.StartAt(bc.step, q("1000000000000 ea"), t0)
			if err != nil {
				b.Fatal(err)
			}
			one := q("1 ea")
			b.ReportAllocs()
			for b.Loop() {
				if e, _, err = r.TrackIn(e, bc.step, one, t0); err != nil {
					b.Fatal(err)
				}
				if e, _, err = r.TrackOut(e, bc.step, bc.out, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExecutionJSON measures storing and loading an execution of the 5-step pump
// routing as JSON, the engine's cost on top of a move when its store keeps JSON.
func BenchmarkExecutionJSON(b *testing.B) {
	r := pump(b)
	e, _, err := r.Start(q("100 ea"), t0)
	if err != nil {
		b.Fatal(err)
	}
	e, _, _ = r.TrackIn(e, "10", q("60 ea"), t0)
	e, _, _ = r.TrackOut(e, "10", Outcome{Good: q("50 ea"), Scrap: []ScrapLine{{q("1 ea"), "X"}}}, t0)
	b.ReportAllocs()
	for b.Loop() {
		data, err := json.Marshal(e)
		if err != nil {
			b.Fatal(err)
		}
		var back Execution
		if err := json.Unmarshal(data, &back); err != nil {
			b.Fatal(err)
		}
	}
}
