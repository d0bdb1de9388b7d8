package quality

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var allRules = []Rule{Nelson1, Nelson2, Nelson3, Nelson4, Nelson5, Nelson6, Nelson7, Nelson8,
	WesternElectric1, WesternElectric2, WesternElectric3, WesternElectric4}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func alternate(a, b float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = a
		if i%2 == 1 {
			out[i] = b
		}
	}
	return out
}

func join(parts ...[]float64) []float64 {
	var out []float64
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func indices(vs []Violation) []int {
	var out []int
	for _, v := range vs {
		out = append(out, v.Index)
	}
	return out
}

// Every rule with a series that triggers it (at the listed indices) and one that does not.
func TestEachRuleTriggersAndDoesNot(t *testing.T) {
	tests := []struct {
		name    string
		rule    Rule
		z       []float64
		indices []int
	}{
		{"nelson1 above", Nelson1, []float64{0, 3.1, -0.5}, []int{1}},
		{"nelson1 below", Nelson1, []float64{-3.01}, []int{0}},
		{"nelson1 on the limit is inside", Nelson1, []float64{3, -3, 2.99}, nil},
		{"nelson2 nine above", Nelson2, join(repeat(0.5, 10)), []int{8, 9}},
		{"nelson2 nine below", Nelson2, repeat(-0.1, 9), []int{8}},
		{"nelson2 eight then a switch", Nelson2, join(repeat(0.5, 8), []float64{-0.5}, repeat(0.5, 8)), nil},
		{"nelson2 center line breaks the run", Nelson2, join(repeat(0.5, 4), []float64{0}, repeat(0.5, 5)), nil},
		{"nelson3 six increasing", Nelson3, []float64{-1, -0.5, 0, 0.1, 0.2, 0.3}, []int{5}},
		{"nelson3 six decreasing", Nelson3, []float64{2, 1.5, 1, 0, -1, -1.5, -2}, []int{5, 6}},
		{"nelson3 five then a tie", Nelson3, []float64{0, 0.1, 0.2, 0.3, 0.4, 0.4, 0.5}, nil},
		{"nelson3 turn resets", Nelson3, []float64{0, 0.1, 0.2, 0.3, 0.4, 0.3, 0.4, 0.5, 0.6, 0.7}, nil},
		{"nelson4 fourteen alternating", Nelson4, alternate(0.5, -0.5, 15), []int{13, 14}},
		{"nelson4 thirteen alternating", Nelson4, join(alternate(0.5, -0.5, 13), []float64{0.7}), nil},
		{"nelson5 two of three above 2", Nelson5, []float64{0, 2.5, 0, 2.1}, []int{3}},
		{"nelson5 two in a row below", Nelson5, []float64{-2.5, -2.2}, []int{1}},
		{"nelson5 too far apart", Nelson5, []float64{2.5, 0, 0, 2.5}, nil},
		{"nelson5 opposite sides", Nelson5, []float64{2.5, -2.5, 0}, nil},
		{"nelson5 third point inside is not flagged", Nelson5, []float64{2.5, 2.5, 0}, []int{1}},
		{"nelson6 four of five above 1", Nelson6, []float64{1.5, 1.5, 0, 1.5, 1.5}, []int{4}},
		{"nelson6 four below in a row", Nelson6, repeat(-1.2, 4), []int{3}},
		{"nelson6 three of five", Nelson6, []float64{1.5, 1.5, 0, 0, 1.5, 1.5}, nil},
		{"nelson6 mixed sides", Nelson6, []float64{1.5, -1.5, 1.5, 1.5, -1.5}, nil},
		{"nelson7 fifteen within 1", Nelson7, alternate(0.5, -0.5, 16), []int{14, 15}},
		{"nelson7 fourteen then out", Nelson7, join(alternate(0.5, -0.5, 14), []float64{1.2}, alternate(0.5, -0.5, 14)), nil},
		{"nelson8 eight beyond 1 on both sides", Nelson8, alternate(1.5, -1.5, 8), []int{7}},
		{"nelson8 one side only", Nelson8, repeat(1.5, 12), nil},
		{"nelson8 seven then inside", Nelson8, join(alternate(1.5, -1.5, 7), []float64{0.5}, alternate(1.5, -1.5, 7)), nil},
		{"we1 beyond 3", WesternElectric1, []float64{0, -3.5}, []int{1}},
		{"we1 inside", WesternElectric1, []float64{2.9, -2.9}, nil},
		{"we2 two of three beyond 2", WesternElectric2, []float64{2.5, 1, 2.5}, []int{2}},
		{"we2 one of three", WesternElectric2, []float64{2.5, 1, 1, 2.5}, nil},
		{"we3 four of five beyond 1", WesternElectric3, []float64{-1.5, -1.5, -0.5, -1.5, -1.5}, []int{4}},
		{"we3 three of five", WesternElectric3, []float64{-1.5, -1.5, -0.5, -0.5, -1.5}, nil},
		{"we4 eight on one side", WesternElectric4, repeat(0.2, 8), []int{7}},
		{"we4 seven on one side", WesternElectric4, join(repeat(0.2, 7), []float64{-0.2}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Scan(tt.z, tt.rule)
			assert.Equal(t, tt.indices, indices(got))
			for _, v := range got {
				assert.Equal(t, tt.rule, v.Rule)
			}
			// The streaming scan agrees with the window-by-window definition.
			assert.Equal(t, tt.indices, referenceScan(tt.z, tt.rule))
		})
	}
}

// referenceScan applies one rule straight from its definition, window by window.
func referenceScan(z []float64, r Rule) []int {
	var out []int
	for i := range z {
		if referenceHit(z, i, r) {
			out = append(out, i)
		}
	}
	return out
}

func referenceHit(z []float64, i int, r Rule) bool {
	last := func(n int) []float64 {
		if i+1 < n {
			return nil
		}
		return z[i+1-n : i+1]
	}
	upTo := func(n int) []float64 { return z[max(0, i+1-n) : i+1] }
	all := func(w []float64, f func(float64) bool) bool {
		if w == nil {
			return false
		}
		for _, x := range w {
			if !f(x) {
				return false
			}
		}
		return true
	}
	count := func(w []float64, f func(float64) bool) int {
		n := 0
		for _, x := range w {
			if f(x) {
				n++
			}
		}
		return n
	}
	above := func(t float64) func(float64) bool { return func(x float64) bool { return x > t } }
	below := func(t float64) func(float64) bool { return func(x float64) bool { return x < -t } }
	kOfN := func(k, n int, t float64) bool {
		return (z[i] > t && count(upTo(n), above(t)) >= k) || (z[i] < -t && count(upTo(n), below(t)) >= k)
	}
	monotone := func(w []float64, up bool) bool {
		if w == nil {
			return false
		}
		for j := 1; j < len(w); j++ {
			if up && !(w[j] > w[j-1]) || !up && !(w[j] < w[j-1]) {
				return false
			}
		}
		return true
	}
	switch r {
	case Nelson1, WesternElectric1:
		return math.Abs(z[i]) > 3
	case Nelson2:
		return all(last(9), above(0)) || all(last(9), below(0))
	case WesternElectric4:
		return all(last(8), above(0)) || all(last(8), below(0))
	case Nelson3:
		return monotone(last(6), true) || monotone(last(6), false)
	case Nelson4:
		w := last(14)
		if w == nil {
			return false
		}
		for j := 1; j < len(w); j++ {
			d := w[j] - w[j-1]
			if !(d > 0 || d < 0) {
				return false
			}
			if j > 1 && (d > 0) == (w[j-1]-w[j-2] > 0) {
				return false
			}
		}
		return true
	case Nelson5, WesternElectric2:
		return kOfN(2, 3, 2)
	case Nelson6, WesternElectric3:
		return kOfN(4, 5, 1)
	case Nelson7:
		return all(last(15), func(x float64) bool { return math.Abs(x) < 1 })
	case Nelson8:
		w := last(8)
		return all(w, func(x float64) bool { return math.Abs(x) > 1 }) && count(w, above(1)) > 0 && count(w, below(1)) > 0
	}
	panic("unknown rule")
}

// noisySeries is a seeded normal series on a coarse grid (so ties happen) with shifts,
// trends and oscillations mixed in.
func noisySeries(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	z := make([]float64, n)
	shift := 0.0
	for i := range z {
		if i%200 == 0 {
			shift = []float64{0, 0, 1.5, -1, 0.3}[rng.IntN(5)]
		}
		v := rng.NormFloat64() + shift
		switch {
		case i%500 > 480: // trend
			v = float64(i%500-480) * 0.2
		case i%700 > 680: // oscillation
			v = float64(1-2*(i%2)) * 1.5
		}
		z[i] = math.Round(v*4) / 4
	}
	return z
}

// One pass with all rules gives exactly the union of the single-rule definitions.
func TestScanMatchesReferenceOnNoisySeries(t *testing.T) {
	z := noisySeries(20000, 7)
	got := Scan(z, NelsonRules|WesternElectricRules)
	perRule := map[Rule][]int{}
	for i, v := range got {
		perRule[v.Rule] = append(perRule[v.Rule], v.Index)
		if i > 0 {
			prev := got[i-1]
			require.True(t, prev.Index < v.Index || prev.Index == v.Index && prev.Rule < v.Rule, "violations in index, then rule order")
		}
	}
	for _, r := range allRules {
		want := referenceScan(z, r)
		assert.NotEmpty(t, want, "the series should exercise %v", r)
		assert.Equal(t, want, perRule[r], "rule %v", r)
	}
}

func TestViolationJSONRoundTrip(t *testing.T) {
	vs := []Violation{{Chart: XBar, Rule: Nelson2, Index: 7}, {Chart: MovingRange, Rule: WesternElectric1, Index: 9}}
	b, err := json.Marshal(vs)
	require.NoError(t, err)
	assert.JSONEq(t, `[{"chart":"Xbar","rule":"nelson-2","index":7},{"chart":"MR","rule":"western-electric-1","index":9}]`, string(b))
	var back []Violation
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, vs, back)

	var r Rule
	assert.ErrorIs(t, r.UnmarshalText([]byte("nelson-9")), ErrInvalidChart)
	var k ChartKind
	assert.ErrorIs(t, k.UnmarshalText([]byte("x")), ErrInvalidChart)
	_, err = ChartKind(99).MarshalText()
	assert.ErrorIs(t, err, ErrInvalidChart)
}

// FuzzUnmarshalText reads arbitrary rule and chart names: no panic, and whatever is
// accepted writes back to text that reads to the same value.
func FuzzUnmarshalText(f *testing.F) {
	for _, s := range []string{"", "nelson-1", "nelson-1|western-electric-4", "Xbar", "u", "|", "nelson-1|", "I"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var r Rule
		if r.UnmarshalText([]byte(s)) == nil {
			b, _ := r.MarshalText()
			var again Rule
			require.NoError(t, again.UnmarshalText(b))
			require.Equal(t, r, again)
		}
		var k ChartKind
		if k.UnmarshalText([]byte(s)) == nil {
			b, err := k.MarshalText()
			require.NoError(t, err)
			require.Equal(t, s, string(b))
		}
	})
}

func TestRuleString(t *testing.T) {
	assert.Equal(t, "nelson-1", Nelson1.String())
	assert.Equal(t, "nelson-2|western-electric-4", (Nelson2 | WesternElectric4).String())
	b, err := Nelson8.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "nelson-8", string(b))
}

// FuzzScan checks the single-pass scan against the window definitions on arbitrary series
// (including NaN and infinities) and never panics.
func FuzzScan(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte{200, 10, 200, 10, 200, 10, 200, 10, 200, 10, 200, 10, 200, 10, 200})
	f.Add([]byte{255, 255, 0, 0, 128, 128, 128, 128, 128, 128, 128, 128, 128})
	f.Fuzz(func(t *testing.T, data []byte) {
		z := make([]float64, len(data))
		for i, b := range data {
			switch b {
			case 255:
				z[i] = math.NaN()
			case 254:
				z[i] = math.Inf(1)
			default:
				z[i] = (float64(b) - 127) / 16 // -8 .. +7.9 in steps of 1/16
			}
		}
		got := Scan(z, NelsonRules|WesternElectricRules)
		perRule := map[Rule][]int{}
		for _, v := range got {
			perRule[v.Rule] = append(perRule[v.Rule], v.Index)
		}
		for _, r := range allRules {
			if want := referenceScan(z, r); !assert.Equal(t, want, perRule[r], "rule %v", r) {
				t.FailNow()
			}
		}
	})
}

func BenchmarkScanNelson1M(b *testing.B) {
	z := noisySeries(1_000_000, 42)
	b.ResetTimer()
	for b.Loop() {
		_ = Scan(z, NelsonRules)
	}
}
