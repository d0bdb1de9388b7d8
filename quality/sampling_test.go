package quality

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSamplingRequiredAndSampleSize(t *testing.T) {
	tests := []struct {
		name     string
		plan     SamplingPlan
		lotIndex int
		lotSize  int
		want     []int // unit indices below lotSize that need inspection
	}{
		{"every unit", SamplingPlan{Method: EveryUnit}, 3, 4, []int{0, 1, 2, 3}},
		{"first piece", SamplingPlan{Method: FirstPiece}, 7, 5, []int{0}},
		{"every 3rd unit", SamplingPlan{Method: EveryNthUnit, N: 3}, 0, 8, []int{0, 3, 6}},
		{"every 2nd lot, selected", SamplingPlan{Method: EveryNthLot, N: 2}, 4, 5, []int{0}},
		{"every 2nd lot, skipped", SamplingPlan{Method: EveryNthLot, N: 2}, 3, 5, nil},
		{"acceptance n=3", SamplingPlan{Method: Acceptance, N: 3, C: 0}, 0, 10, []int{0, 1, 2}},
		{"acceptance lot smaller than n", SamplingPlan{Method: Acceptance, N: 8, C: 1}, 0, 5, []int{0, 1, 2, 3, 4}},
		{"empty lot", SamplingPlan{Method: EveryUnit}, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.plan.Validate())
			var got []int
			for u := 0; u < tt.lotSize; u++ {
				if tt.plan.Required(tt.lotIndex, u) {
					got = append(got, u)
				}
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, len(tt.want), tt.plan.SampleSize(tt.lotIndex, tt.lotSize))
			assert.False(t, tt.plan.Required(-1, 0))
			assert.False(t, tt.plan.Required(0, -1))
		})
	}
}

func TestSamplingValidateListsEveryProblem(t *testing.T) {
	for _, p := range []SamplingPlan{
		{},
		{Method: "sometimes"},
		{Method: EveryUnit, N: 2},
		{Method: EveryNthUnit},
		{Method: EveryNthLot, N: 2, C: 1},
		{Method: Acceptance, N: 5, C: 5},
		{Method: Acceptance, N: 0, C: -1},
	} {
		assert.ErrorIs(t, p.Validate(), ErrInvalidSampling, "%+v", p)
	}
	var ve *ValidationError
	require.ErrorAs(t, SamplingPlan{Method: Acceptance, N: 0, C: -1}.Validate(), &ve)
	assert.Len(t, ve.Problems, 2)
}

// binomialSum computes P(X <= c), X ~ Binomial(n, p), with exact binomial coefficients
// from math/big and a plain sum: an independent check of ProbAccept.
func binomialSum(n, c int, p float64) float64 {
	sum := 0.0
	for k := 0; k <= c; k++ {
		coef, _ := new(big.Float).SetInt(new(big.Int).Binomial(int64(n), int64(k))).Float64()
		sum += coef * math.Pow(p, float64(k)) * math.Pow(1-p, float64(n-k))
	}
	return sum
}

// hypergeometricSum computes P(X <= c) for a sample of n from N units holding D defectives.
func hypergeometricSum(N, n, c, D int) float64 {
	total := new(big.Int).Binomial(int64(N), int64(n))
	num := new(big.Int)
	for k := 0; k <= c && k <= D; k++ {
		if n-k > N-D || n-k < 0 {
			continue
		}
		term := new(big.Int).Binomial(int64(D), int64(k))
		term.Mul(term, new(big.Int).Binomial(int64(N-D), int64(n-k)))
		num.Add(num, term)
	}
	r, _ := new(big.Rat).SetFrac(num, total).Float64()
	return r
}

func TestProbAcceptBinomial(t *testing.T) {
	plan := SamplingPlan{Method: Acceptance, N: 50, C: 1}
	// 0.98^50 + 50·0.02·0.98^49 = 0.364170 + 0.371602 = 0.735771
	pa, err := plan.ProbAccept(0.02)
	require.NoError(t, err)
	assert.InDelta(t, 0.7358, pa, 0.00005)

	for _, tc := range []struct{ n, c int }{{50, 1}, {89, 2}, {125, 3}, {13, 0}, {200, 10}} {
		plan := SamplingPlan{Method: Acceptance, N: tc.n, C: tc.c}
		for _, p := range []float64{0, 0.001, 0.01, 0.02, 0.05, 0.1, 0.3, 0.5, 0.9, 1} {
			got, err := plan.ProbAccept(p)
			require.NoError(t, err)
			assert.InDelta(t, binomialSum(tc.n, tc.c, p), got, 1e-9, "n=%d c=%d p=%v", tc.n, tc.c, p)
		}
	}
}

func TestProbAcceptLotHypergeometric(t *testing.T) {
	plan := SamplingPlan{Method: Acceptance, N: 50, C: 1}
	for _, tc := range []struct{ lot, defectives int }{{500, 0}, {500, 10}, {500, 25}, {50, 1}, {50, 2}, {1000, 20}, {60, 60}} {
		got, err := plan.ProbAcceptLot(tc.lot, tc.defectives)
		require.NoError(t, err)
		assert.InDelta(t, hypergeometricSum(tc.lot, 50, 1, tc.defectives), got, 1e-9, "%+v", tc)
	}
	// A large lot approaches the binomial: N = 100000, D = 2000 (p = 0.02).
	big, err := plan.ProbAcceptLot(100000, 2000)
	require.NoError(t, err)
	assert.InDelta(t, 0.7358, big, 0.001)

	_, err = plan.ProbAcceptLot(40, 1)
	assert.ErrorIs(t, err, ErrInvalidSampling, "lot smaller than the sample")
	_, err = plan.ProbAcceptLot(100, 101)
	assert.ErrorIs(t, err, ErrInvalidSampling)
}

func TestOCCurve(t *testing.T) {
	plan := SamplingPlan{Method: Acceptance, N: 50, C: 1}
	ps := []float64{0, 0.01, 0.02, 0.05, 0.1}
	curve, err := plan.OCCurve(0, ps)
	require.NoError(t, err)
	require.Len(t, curve, len(ps))
	assert.Equal(t, 1.0, curve[0].ProbAcc)
	for i := 1; i < len(curve); i++ {
		assert.Less(t, curve[i].ProbAcc, curve[i-1].ProbAcc, "the OC curve falls as p rises")
		assert.InDelta(t, binomialSum(50, 1, ps[i]), curve[i].ProbAcc, 1e-9)
		assert.InDelta(t, 50*ps[i], curve[i].Expected, 1e-12)
	}
	finite, err := plan.OCCurve(500, []float64{0.02})
	require.NoError(t, err)
	assert.InDelta(t, hypergeometricSum(500, 50, 1, 10), finite[0].ProbAcc, 1e-9)

	_, err = plan.OCCurve(0, []float64{-0.1})
	assert.ErrorIs(t, err, ErrInvalidSampling)
	_, err = plan.OCCurve(500, []float64{math.NaN()})
	assert.ErrorIs(t, err, ErrInvalidSampling)
	_, err = SamplingPlan{Method: EveryUnit}.OCCurve(0, ps)
	assert.ErrorIs(t, err, ErrInvalidSampling, "only acceptance plans have an OC curve")
}
