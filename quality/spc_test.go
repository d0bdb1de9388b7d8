package quality

import (
	"math"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const tol = 1e-5

func assertLimits(t *testing.T, want, got Limits) {
	t.Helper()
	assert.InDelta(t, want.LCL, got.LCL, tol, "LCL")
	assert.InDelta(t, want.Center, got.Center, tol, "center")
	assert.InDelta(t, want.UCL, got.UCL, tol, "UCL")
}

func TestIMRChartLimits(t *testing.T) {
	// x = 10 12 11 13 14: x̄ = 60/5 = 12; moving ranges 2 1 2 1, MR̄ = 6/4 = 1.5.
	// I:  12 ± E2·MR̄ = 12 ± 2.660·1.5 = 12 ± 3.99  -> 8.01, 15.99
	// MR: D4·MR̄ = 3.267·1.5 = 4.9005; LCL 0 (D3 = 0 for n = 2)
	// σ_within = MR̄/d2 = 1.5/1.128 = 1.329787
	ch, err := NewIMRChart([]float64{10, 12, 11, 13, 14})
	require.NoError(t, err)
	assertLimits(t, Limits{8.01, 12, 15.99}, ch.X)
	assertLimits(t, Limits{0, 1.5, 4.9005}, ch.MR)
	assert.InDelta(t, 1.329787, ch.Sigma, 1e-6)

	// 16.5 is beyond the I chart UCL; the jump 11 -> 16.5 (5.5) is beyond the MR UCL.
	v := ch.Check([]float64{12, 11, 16.5, 12}, Nelson1)
	assert.Equal(t, []Violation{
		{Chart: Individuals, Rule: Nelson1, Index: 2},
		{Chart: MovingRange, Rule: Nelson1, Index: 2},
	}, v)
	assert.Empty(t, ch.Check([]float64{12, 11, 15.9, 12}, NelsonRules))
}

func TestIMRChartNeedsSpread(t *testing.T) {
	for _, baseline := range [][]float64{nil, {1}, {5, 5, 5}, {1, math.NaN()}} {
		_, err := NewIMRChart(baseline)
		assert.ErrorIs(t, err, ErrInsufficientData, "%v", baseline)
	}
}

// Subgroups of five used by the X̄-R, X̄-S and capability tests.
var fiveByThree = [][]float64{
	{10, 11, 12, 13, 14}, // x̄ 12, R 4, s = sqrt(10/4) = 1.581139
	{11, 12, 13, 14, 15}, // x̄ 13, R 4, s = 1.581139
	{11, 12, 12, 13, 17}, // x̄ 13, R 6, deviations -2 -1 -1 0 4, SS 22, s = sqrt(5.5) = 2.345208
}

func TestXBarRChartLimits(t *testing.T) {
	// X̿ = (12+13+13)/3 = 12.666667; R̄ = (4+4+6)/3 = 4.666667
	// X̄: X̿ ± A2·R̄ = 12.666667 ± 0.577·4.666667 = 12.666667 ± 2.692667 -> 9.974000, 15.359333
	// R:  D3·R̄ = 0, D4·R̄ = 2.114·4.666667 = 9.865333
	// σ_within = R̄/d2 = 4.666667/2.326 = 2.006305
	ch, err := NewXBarRChart(fiveByThree)
	require.NoError(t, err)
	assert.Equal(t, 5, ch.N)
	assertLimits(t, Limits{9.974, 12.666667, 15.359333}, ch.X)
	assertLimits(t, Limits{0, 4.666667, 9.865333}, ch.Disp)
	assert.InDelta(t, 2.006305, ch.Sigma, 1e-6)

	v, err := ch.Check([][]float64{
		{12, 12, 13, 13, 13}, // in control
		{15, 16, 16, 16, 17}, // x̄ 16 > 15.359
		{5, 12, 12, 13, 18},  // R 13 > 9.865
	}, Nelson1)
	require.NoError(t, err)
	assert.Equal(t, []Violation{{Chart: XBar, Rule: Nelson1, Index: 1}, {Chart: Range, Rule: Nelson1, Index: 2}}, v)

	_, err = ch.Check([][]float64{{1, 2, 3}, {1, 2, 3, 4, 5}, {1, 2}}, Nelson1)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Len(t, ve.Problems, 2, "both wrong-sized subgroups are reported")
}

func TestXBarSChartLimits(t *testing.T) {
	// S̄ = (1.581139 + 1.581139 + 2.345208)/3 = 1.835829
	// X̄: X̿ ± A3·S̄ = 12.666667 ± 1.427·1.835829 = 12.666667 ± 2.619728 -> 10.046939, 15.286395
	// S:  B3·S̄ = 0, B4·S̄ = 2.089·1.835829 = 3.835046
	// σ_within = S̄/c4 = 1.835829/0.94 = 1.953009
	ch, err := NewXBarSChart(fiveByThree)
	require.NoError(t, err)
	assertLimits(t, Limits{10.046939, 12.666667, 15.286395}, ch.X)
	assertLimits(t, Limits{0, 1.835829, 3.835046}, ch.Disp)
	assert.InDelta(t, 1.953009, ch.Sigma, 1e-6)

	v, err := ch.Check([][]float64{{0, 12, 13, 14, 26}}, NelsonRules) // s ≈ 9.2 > 3.835
	require.NoError(t, err)
	assert.Equal(t, []Violation{{Chart: StdDev, Rule: Nelson1, Index: 0}}, v)
}

func TestXBarChartBaselineErrors(t *testing.T) {
	_, err := NewXBarRChart([][]float64{{1, 2}})
	assert.ErrorIs(t, err, ErrInsufficientData)
	_, err = NewXBarRChart([][]float64{{1}, {2}})
	assert.ErrorIs(t, err, ErrInsufficientData)
	_, err = NewXBarSChart([][]float64{{1, 1}, {2, 2}})
	assert.ErrorIs(t, err, ErrInsufficientData)
	_, err = NewXBarRChart([][]float64{{1, 2}, {1, 2, 3}})
	assert.ErrorIs(t, err, ErrInsufficientData)
	var zero XBarChart // decoded from "{}", say
	_, err = zero.Check([][]float64{{}}, NelsonRules)
	assert.ErrorIs(t, err, ErrInsufficientData, "a chart without a subgroup size refuses to check (it panicked)")
}

// countsSumming spreads total defects over k subgroups of size n.
func countsSumming(total, k, n int) []Count {
	out := make([]Count, k)
	for i := range out {
		out[i] = Count{Defects: total / k, Size: n}
		if i < total%k {
			out[i].Defects++
		}
	}
	return out
}

func TestPChartMontgomeryOrangeJuiceCans(t *testing.T) {
	// Montgomery, Introduction to SQC, Example 7.1: 30 samples of n = 50 cans, 347
	// nonconforming. p̄ = 347/1500 = 0.231333; 3·sqrt(p̄(1-p̄)/50) = 3·0.059635 = 0.178906
	// -> UCL 0.410239, LCL 0.052428 (the book: 0.4102 and 0.0524).
	ch, err := NewPChart(countsSumming(347, 30, 50))
	require.NoError(t, err)
	assertLimits(t, Limits{0.052428, 0.231333, 0.410239}, ch.Limits(50))

	v, err := ch.Check([]Count{{Defects: 21, Size: 50}, {Defects: 11, Size: 50}, {Defects: 2, Size: 50}}, Nelson1)
	require.NoError(t, err)
	// 21/50 = 0.42 > 0.4102; 2/50 = 0.04 < 0.0525
	assert.Equal(t, []Violation{{Chart: P, Rule: Nelson1, Index: 0}, {Chart: P, Rule: Nelson1, Index: 2}}, v)
}

func TestPChartVaryingSizes(t *testing.T) {
	// p̄ = (10+20)/(100+300) = 0.075; at n = 25: 3·sqrt(0.075·0.925/25) = 0.158035
	// -> LCL max(0, -0.083) = 0, UCL 0.233035
	ch, err := NewPChart([]Count{{10, 100}, {20, 300}})
	require.NoError(t, err)
	assertLimits(t, Limits{0, 0.075, 0.233035}, ch.Limits(25))
	// 6/25 = 0.24 is beyond the n = 25 limit, 0.24 at n = 400 (96/400) even more so;
	// 5/25 = 0.2 is inside.
	v, err := ch.Check([]Count{{6, 25}, {5, 25}}, Nelson1)
	require.NoError(t, err)
	assert.Equal(t, []int{0}, indices(v))
}

func TestNPChartLimits(t *testing.T) {
	// defects 5 3 4 8 in samples of 100: p̄ = 20/400 = 0.05, center n·p̄ = 5;
	// 3·sqrt(100·0.05·0.95) = 3·2.179449 = 6.538348 -> UCL 11.538348, LCL 0
	ch, err := NewNPChart([]Count{{5, 100}, {3, 100}, {4, 100}, {8, 100}})
	require.NoError(t, err)
	assertLimits(t, Limits{0, 5, 11.538348}, ch.Limits(100))
	_, err = NewNPChart([]Count{{5, 100}, {3, 90}})
	assert.ErrorIs(t, err, ErrInsufficientData, "np charts need one subgroup size")
	v, err := ch.Check([]Count{{12, 100}, {11, 100}}, NelsonRules)
	require.NoError(t, err)
	assert.Equal(t, []Violation{{Chart: NP, Rule: Nelson1, Index: 0}, {Chart: NP, Rule: Nelson5, Index: 1}}, v)
}

func TestCChartMontgomeryCircuitBoards(t *testing.T) {
	// Montgomery, Example 7.3: 26 samples of 100 printed circuit boards, 516 nonconformities.
	// c̄ = 516/26 = 19.846154; sqrt(c̄) = 4.454902, 3·sqrt(c̄) = 13.364707
	// -> UCL 33.210861, LCL 6.481447 (the book, rounding c̄ to 19.85: 33.22 and 6.48).
	ch, err := NewCChart(countsSumming(516, 26, 0))
	require.NoError(t, err)
	assertLimits(t, Limits{6.481447, 19.846154, 33.210861}, ch.Limits(0))
	v, err := ch.Check([]Count{{Defects: 39}, {Defects: 6}, {Defects: 20}}, Nelson1)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1}, indices(v))
}

func TestUChartLimits(t *testing.T) {
	// ū = (10+6+14+8)/(5+4+6+5) = 38/20 = 1.9
	// n = 5: 3·sqrt(1.9/5) = 1.849324 -> 0.050676, 3.749324
	// n = 4: 3·sqrt(1.9/4) = 2.067607 -> 0 (clipped), 3.967607
	ch, err := NewUChart([]Count{{10, 5}, {6, 4}, {14, 6}, {8, 5}})
	require.NoError(t, err)
	assertLimits(t, Limits{0.050676, 1.9, 3.749324}, ch.Limits(5))
	assertLimits(t, Limits{0, 1.9, 3.967607}, ch.Limits(4))
	// 19/5 = 3.8 > 3.749 (limit for n = 5) but 15/4 = 3.75 < 3.9676 (limit for n = 4)
	v, err := ch.Check([]Count{{19, 5}, {15, 4}}, Nelson1)
	require.NoError(t, err)
	assert.Equal(t, []int{0}, indices(v))
}

func TestAttributeChartErrors(t *testing.T) {
	_, err := NewPChart([]Count{{0, 10}, {0, 10}})
	assert.ErrorIs(t, err, ErrInsufficientData)
	_, err = NewPChart([]Count{{11, 10}, {-1, 10}, {1, 0}})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Len(t, ve.Problems, 3)
	_, err = NewCChart([]Count{{0, 0}, {0, 0}})
	assert.ErrorIs(t, err, ErrInsufficientData)
	_, err = NewUChart([]Count{{1, 1}})
	assert.ErrorIs(t, err, ErrInsufficientData)
	for _, ch := range []AttributeChart{{}, {Kind: P, Center: 0.1}, {Kind: NP, Center: 1, PBar: 0.1}, {Kind: C}} {
		_, err = ch.Check([]Count{{1, 10}}, Nelson1)
		assert.ErrorIs(t, err, ErrInsufficientData, "a chart the constructors did not make: %+v", ch)
	}
}

func spec(lsl, usl string) Spec {
	var s Spec
	if lsl != "" {
		s.LSL = decimal.NewNullDecimal(decimal.RequireFromString(lsl))
	}
	if usl != "" {
		s.USL = decimal.NewNullDecimal(decimal.RequireFromString(usl))
	}
	return s
}

func TestIndividualsCapability(t *testing.T) {
	values := []float64{10, 12, 11, 13, 14}
	// mean 12; σ_within = MR̄/d2 = 1.5/1.128 = 1.329787; overall s = sqrt(10/4) = 1.581139.
	tests := []struct {
		name             string
		spec             Spec
		cp, cpk, pp, ppk float64
		oneSided         bool
	}{
		// Cp = 12/(6·1.329787) = 1.504; Cpk = 6/(3·1.329787) = 1.504
		// Pp = 12/(6·1.581139) = 1.264911; Ppk = 6/(3·1.581139) = 1.264911
		{"centered", spec("6", "18"), 1.504, 1.504, 1.264911, 1.264911, false},
		// Cp = 9/(6·1.329787) = 1.128; Cpk = min(6, 3)/(3·1.329787) = 0.752
		// Pp = 9/(6·1.581139) = 0.948683; Ppk = 3/(3·1.581139) = 0.632456
		{"off center", spec("9", "18"), 1.128, 0.752, 0.948683, 0.632456, false},
		// upper limit only: Cpk = CPU = 6/3.989362 = 1.504; Ppk = 1.264911
		{"upper only", spec("", "18"), 0, 1.504, 0, 1.264911, true},
		// lower limit only: Cpk = CPL = (12-9)/3.989362 = 0.752
		{"lower only", spec("9", ""), 0, 0.752, 0, 0.632456, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := IndividualsCapability(values, tt.spec)
			require.NoError(t, err)
			assert.InDelta(t, 12, c.Mean, 1e-9)
			assert.InDelta(t, 1.329787, c.SigmaWithin, 1e-6)
			assert.InDelta(t, 1.581139, c.SigmaOverall, 1e-6)
			assert.InDelta(t, tt.cp, c.Cp, 1e-5)
			assert.InDelta(t, tt.cpk, c.Cpk, 1e-5)
			assert.InDelta(t, tt.pp, c.Pp, 1e-5)
			assert.InDelta(t, tt.ppk, c.Ppk, 1e-5)
			assert.Equal(t, tt.oneSided, c.OneSided)
		})
	}
	_, err := IndividualsCapability(values, Spec{})
	assert.ErrorIs(t, err, ErrInsufficientData)
	_, err = IndividualsCapability([]float64{3, 3, 3}, spec("1", "5"))
	assert.ErrorIs(t, err, ErrInsufficientData)
}

func TestSubgroupCapability(t *testing.T) {
	// All 15 values: sum 190, mean 12.666667. σ_within = R̄/d2 = 4.666667/2.326 = 2.006305.
	// Overall: Σx² = (100+121+144+169+196)+(121+144+169+196+225)+(121+144+144+169+289)
	//             = 730 + 855 + 867 = 2452; SS = 2452 - 190²/15 = 2452 - 2406.666667 = 45.333333
	//          s = sqrt(45.333333/14) = 1.799471
	// Spec 5..20: Cp = 15/(6·2.006305) = 1.246071; Cpk = (20-12.666667)/(3·2.006305) = 1.218381
	//             Pp = 15/(6·1.799471) = 1.389297; Ppk = 7.333333/(3·1.799471) = 1.358424
	c, err := SubgroupCapability(fiveByThree, spec("5", "20"))
	require.NoError(t, err)
	assert.Equal(t, 15, c.N)
	assert.InDelta(t, 2.006305, c.SigmaWithin, 1e-6)
	assert.InDelta(t, 1.799471, c.SigmaOverall, 1e-6)
	assert.InDelta(t, 1.246071, c.Cp, 1e-5)
	assert.InDelta(t, 1.218381, c.Cpk, 1e-5)
	assert.InDelta(t, 1.389297, c.Pp, 1e-5)
	assert.InDelta(t, 1.358424, c.Ppk, 1e-5)
}
