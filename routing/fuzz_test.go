package routing

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/units"
)

// FuzzParseRouting reads JSON, validates it and, when it is valid, round-trips it and runs a
// lot through the first step: never a panic, and a valid routing stays valid.
func FuzzParseRouting(f *testing.F) {
	b, err := json.Marshal(pump(f))
	require.NoError(f, err)
	f.Add(b)
	f.Add([]byte(`{"id":"P","product":"P","revision":"A","status":"draft","steps":[{"id":"10","successors":["20","30"]},{"id":"20","successors":["40"]},{"id":"30","successors":["40"]},{"id":"40","join":true,"transfer_qty":"5 ea"}]}`))
	f.Add([]byte(`{"id":"P","product":"P","revision":"A","status":"released","digest":"x","steps":[{"id":"10","condition":"result.a > 1 ? \"10\" : \"END\""}]}`))
	f.Add([]byte(`{"steps":[{"id":"10","expected_yield":"2","setup":-5,"materials":[{"component":"","per_unit":"0 kg"}]}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalid)
			return
		}
		again, err := json.Marshal(r)
		require.NoError(t, err)
		r2, err := Parse(again)
		require.NoError(t, err, "a valid routing stays valid after a JSON round trip")
		require.Equal(t, len(r.Steps), len(r2.Steps))
		e, _, err := r.Start(units.MustParse("10 ea"), t0)
		if err != nil {
			return // e.g. a transfer batch in another dimension
		}
		first := r.Steps[0].ID
		if e, _, err = r.TrackIn(e, first, units.Quantity{}, t0); err == nil {
			e, _, _ = r.TrackOut(e, first, Outcome{Good: units.MustParse("9 ea"), Final: true, Reason: "fuzz"}, t0)
		}
		require.NoError(t, e.CheckBooks())
	})
}

// FuzzCondition compiles branch condition text: never a panic, and a compiled condition only
// ever returns one of the step ids written in it.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		`result.bore > 10.02 ? "RW" : "30"`,
		`inSpec.bore ? "30" : "RW"`,
		`if skipped { "40" } else { good > scrap ? "30" : "SORT" }`,
		`param.mode == "fast" ? "A" : "B"`,
		`len(map(1..1000000, #)) > 0 ? "A" : "B"`,
		`"A"`, `1`, `result.`, `)`,
	} {
		f.Add(s, 10.0, true)
	}
	f.Fuzz(func(t *testing.T, src string, x float64, ok bool) {
		prog, targets, err := compileCondition(src)
		if err != nil {
			return
		}
		require.NotEmpty(t, targets)
		env := Env{Result: map[string]float64{"bore": x}, InSpec: map[string]bool{"bore": ok}, Good: x, Scrap: 1, Skipped: ok, Param: map[string]string{"mode": "fast"}}
		out, err := runCondition(prog, env)
		if err == nil {
			require.True(t, slices.Contains(targets, out), "%q returned %q, not one of %v", src, out, targets)
		}
	})
}
