package quality

import (
	"fmt"
	"math"
)

// Method is how a sampling plan chooses the units to inspect.
type Method string

// Sampling methods.
const (
	// EveryUnit inspects every unit of every lot.
	EveryUnit Method = "every-unit"
	// FirstPiece inspects the first unit of every lot at the step.
	FirstPiece Method = "first-piece"
	// EveryNthUnit inspects units 0, N, 2N, ... of every lot (the first unit always).
	EveryNthUnit Method = "every-nth-unit"
	// EveryNthLot inspects the first unit of lots 0, N, 2N, ... (skip-lot sampling).
	EveryNthLot Method = "every-nth-lot"
	// Acceptance is attribute acceptance sampling: inspect a random sample of N units of
	// the lot and accept the lot when at most C of them are nonconforming.
	Acceptance Method = "acceptance"
)

// SamplingPlan says which units of which lots need inspection.
type SamplingPlan struct {
	Method Method `json:"method"`
	// N is the interval for EveryNthUnit and EveryNthLot, and the sample size for Acceptance.
	N int `json:"n,omitempty"`
	// C is the acceptance number for Acceptance: the most nonconforming units in the sample
	// for which the lot is accepted.
	C int `json:"c,omitempty"`
}

func (s SamplingPlan) validate(ps *problems, path string) {
	switch s.Method {
	case EveryUnit, FirstPiece:
		if s.N != 0 || s.C != 0 {
			ps.add(path, string(s.Method), "n and c apply only to every-nth-unit, every-nth-lot and acceptance; leave them 0")
		}
	case EveryNthUnit, EveryNthLot:
		if s.N < 1 {
			ps.add(path+".n", fmt.Sprint(s.N), "the interval must be at least 1 (1 means every unit or lot)")
		}
		if s.C != 0 {
			ps.add(path+".c", fmt.Sprint(s.C), "c applies only to acceptance sampling; leave it 0")
		}
	case Acceptance:
		if s.N < 1 {
			ps.add(path+".n", fmt.Sprint(s.N), "the sample size must be at least 1")
		}
		if s.C < 0 || (s.N >= 1 && s.C >= s.N) {
			ps.add(path+".c", fmt.Sprint(s.C), "the acceptance number must be between 0 and n-1")
		}
	default:
		ps.add(path+".method", string(s.Method), "unknown sampling method; use every-unit, first-piece, every-nth-unit, every-nth-lot or acceptance")
	}
}

// Validate reports every problem with the sampling parameters as a *ValidationError
// matching ErrInvalidSampling.
func (s SamplingPlan) Validate() error {
	var ps problems
	s.validate(&ps, "sampling")
	return ps.err(ErrInvalidSampling)
}

// Required reports whether unit unitIndex (0-based, in the order the units are processed
// or, for Acceptance, drawn into the sample) of the lot with lotIndex (0-based count of
// lots of this plan at this step) needs inspection. Negative indices and an invalid plan
// need nothing.
func (s SamplingPlan) Required(lotIndex, unitIndex int) bool {
	if lotIndex < 0 || unitIndex < 0 {
		return false
	}
	switch s.Method {
	case EveryUnit:
		return true
	case FirstPiece:
		return unitIndex == 0
	case EveryNthUnit:
		return s.N >= 1 && unitIndex%s.N == 0
	case EveryNthLot:
		return s.N >= 1 && lotIndex%s.N == 0 && unitIndex == 0
	case Acceptance:
		return unitIndex < s.N
	}
	return false
}

// SampleSize returns how many units of a lot of lotSize units need inspection: the number
// of unit indices below lotSize for which Required is true.
func (s SamplingPlan) SampleSize(lotIndex, lotSize int) int {
	if lotIndex < 0 || lotSize <= 0 {
		return 0
	}
	switch s.Method {
	case EveryUnit:
		return lotSize
	case FirstPiece:
		return 1
	case EveryNthUnit:
		if s.N >= 1 {
			return (lotSize + s.N - 1) / s.N
		}
	case EveryNthLot:
		if s.N >= 1 && lotIndex%s.N == 0 {
			return 1
		}
	case Acceptance:
		return min(s.N, lotSize)
	}
	return 0
}

func (s SamplingPlan) requireAcceptance() error {
	if s.Method != Acceptance {
		return fmt.Errorf("%w: the operating characteristic needs an acceptance sampling plan (n, c); this plan uses %q", ErrInvalidSampling, s.Method)
	}
	return s.Validate()
}

// ProbAccept returns the probability that the acceptance plan (n, c) accepts a lot whose
// fraction nonconforming is p, from the binomial distribution (an infinite lot, or
// sampling with replacement): P(X <= c) with X ~ Binomial(n, p).
func (s SamplingPlan) ProbAccept(p float64) (float64, error) {
	if err := s.requireAcceptance(); err != nil {
		return 0, err
	}
	if !(p >= 0 && p <= 1) {
		return 0, fmt.Errorf("%w: defect rate %v must be between 0 and 1", ErrInvalidSampling, p)
	}
	switch p {
	case 0:
		return 1, nil
	case 1:
		return 0, nil // c < n, so n defectives always exceed c
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	sum := 0.0
	for k := 0; k <= s.C; k++ {
		sum += math.Exp(lchoose(s.N, k) + float64(k)*lp + float64(s.N-k)*lq)
	}
	return math.Min(sum, 1), nil
}

// ProbAcceptLot returns the probability that the acceptance plan (n, c) accepts a finite
// lot of lotSize units of which defectives are nonconforming, from the hypergeometric
// distribution (sampling without replacement).
func (s SamplingPlan) ProbAcceptLot(lotSize, defectives int) (float64, error) {
	if err := s.requireAcceptance(); err != nil {
		return 0, err
	}
	if lotSize < s.N {
		return 0, fmt.Errorf("%w: lot size %d is smaller than the sample size %d", ErrInvalidSampling, lotSize, s.N)
	}
	if defectives < 0 || defectives > lotSize {
		return 0, fmt.Errorf("%w: %d defectives must be between 0 and the lot size %d", ErrInvalidSampling, defectives, lotSize)
	}
	total := lchoose(lotSize, s.N)
	sum := 0.0
	for k := max(0, s.N-(lotSize-defectives)); k <= min(s.C, defectives); k++ {
		sum += math.Exp(lchoose(defectives, k) + lchoose(lotSize-defectives, s.N-k) - total)
	}
	return math.Min(sum, 1), nil
}

// OCPoint is one point of an operating-characteristic curve.
type OCPoint struct {
	P        float64 `json:"p"`        // fraction nonconforming in the lot
	ProbAcc  float64 `json:"prob_acc"` // probability of accepting the lot
	Expected float64 `json:"expected"` // expected nonconforming units in the sample, n*p
}

// OCCurve returns the operating-characteristic curve of the acceptance plan at the defect
// rates ps. With lotSize 0 it uses the binomial distribution (ProbAccept); otherwise the
// hypergeometric for a lot of lotSize units holding round(p*lotSize) defectives
// (ProbAcceptLot).
func (s SamplingPlan) OCCurve(lotSize int, ps []float64) ([]OCPoint, error) {
	out := make([]OCPoint, 0, len(ps))
	for _, p := range ps {
		var pa float64
		var err error
		if lotSize == 0 {
			pa, err = s.ProbAccept(p)
		} else if !(p >= 0 && p <= 1) {
			err = fmt.Errorf("%w: defect rate %v must be between 0 and 1", ErrInvalidSampling, p)
		} else {
			pa, err = s.ProbAcceptLot(lotSize, int(math.Round(p*float64(lotSize))))
		}
		if err != nil {
			return nil, err
		}
		out = append(out, OCPoint{P: p, ProbAcc: pa, Expected: float64(s.N) * p})
	}
	return out, nil
}

// lchoose returns ln C(n, k) for 0 <= k <= n.
func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}
