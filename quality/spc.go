package quality

import (
	"fmt"
	"math"
)

// ChartKind names a control chart. It is a small integer so that violations hold no
// pointers (a scan over millions of points stays cheap); it reads and writes as text ("I",
// "MR", "Xbar", "R", "S", "p", "np", "c", "u").
type ChartKind uint8

// Control charts.
const (
	Individuals ChartKind = iota + 1
	MovingRange
	XBar
	Range
	StdDev
	P
	NP
	C
	U
)

var chartNames = [...]string{"", "I", "MR", "Xbar", "R", "S", "p", "np", "c", "u"}

// String returns the chart's short name, or "" for the zero ChartKind.
func (k ChartKind) String() string {
	if int(k) < len(chartNames) {
		return chartNames[k]
	}
	return fmt.Sprintf("ChartKind(%d)", uint8(k))
}

// MarshalText writes the short name.
func (k ChartKind) MarshalText() ([]byte, error) {
	if int(k) >= len(chartNames) {
		return nil, fmt.Errorf("%w: unknown chart kind %d", ErrInvalidChart, uint8(k))
	}
	return []byte(chartNames[k]), nil
}

// UnmarshalText reads a short name written by MarshalText.
func (k *ChartKind) UnmarshalText(b []byte) error {
	for i, n := range chartNames {
		if n == string(b) {
			*k = ChartKind(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown chart kind %q; use I, MR, Xbar, R, S, p, np, c or u", ErrInvalidChart, b)
}

// Limits are the control limits and center line of a chart.
type Limits struct {
	LCL    float64 `json:"lcl"`
	Center float64 `json:"center"`
	UCL    float64 `json:"ucl"`
}

// sigma is the width of one zone: a third of the distance from the center to the upper
// limit, so that "beyond 3 sigma" means exactly "beyond the drawn upper or lower limit"
// (lower limits clipped at zero aside).
func (l Limits) sigma() float64 { return (l.UCL - l.Center) / 3 }

// IMRChart is an individuals and moving-range chart (subgroups of one; moving ranges of
// two consecutive points).
type IMRChart struct {
	X  Limits `json:"x"`  // individuals: X̄ ± E2·MR̄
	MR Limits `json:"mr"` // moving ranges: 0, MR̄, D4·MR̄
	// Sigma is the within (short-term) standard deviation estimate MR̄/d2.
	Sigma float64 `json:"sigma"`
}

// NewIMRChart computes I-MR control limits from a baseline period of individual values.
func NewIMRChart(baseline []float64) (IMRChart, error) {
	if err := finite(baseline, "baseline"); err != nil {
		return IMRChart{}, err
	}
	if len(baseline) < 2 {
		return IMRChart{}, fmt.Errorf("%w: an I-MR baseline needs at least 2 values, got %d", ErrInsufficientData, len(baseline))
	}
	mean, mrBar := meanAndMR(baseline)
	if mrBar == 0 {
		return IMRChart{}, fmt.Errorf("%w: every baseline value is equal, so the moving range is 0 and there is no spread to set limits from", ErrInsufficientData)
	}
	k := constants[0]
	return IMRChart{
		X:     Limits{LCL: mean - k.E2*mrBar, Center: mean, UCL: mean + k.E2*mrBar},
		MR:    Limits{LCL: 0, Center: mrBar, UCL: k.D4 * mrBar},
		Sigma: mrBar / k.D2,
	}, nil
}

// Check applies rules to the individuals and "beyond limits" (Nelson1 / WesternElectric1,
// where selected) to the moving ranges, in one pass. Violation indices are positions in
// values; a moving range at index i is |values[i]-values[i-1]|.
func (c IMRChart) Check(values []float64, rules Rule) []Violation {
	var out []Violation
	s := newScanner(rules, Individuals, &out)
	sig := c.X.sigma()
	for i, x := range values {
		s.step(i, (x-c.X.Center)/sig)
		if i > 0 && math.Abs(x-values[i-1]) > c.MR.UCL {
			out = appendBeyond(out, rules, MovingRange, i)
		}
	}
	return out
}

// XBarChart is an X̄-R or X̄-S chart for subgroups of N values.
type XBarChart struct {
	N int `json:"n"`
	// Spread says whether the dispersion chart is Range (X̄-R) or StdDev (X̄-S).
	Spread ChartKind `json:"spread"`
	X      Limits    `json:"x"`     // subgroup means
	Disp   Limits    `json:"disp"`  // subgroup ranges or standard deviations
	Sigma  float64   `json:"sigma"` // within standard deviation: R̄/d2 or S̄/c4
}

// NewXBarRChart computes X̄-R limits from baseline subgroups of equal size 2 to 25:
// X̿ ± A2·R̄ and D3·R̄, R̄, D4·R̄.
func NewXBarRChart(baseline [][]float64) (XBarChart, error) {
	return newXBarChart(baseline, Range)
}

// NewXBarSChart computes X̄-S limits from baseline subgroups of equal size 2 to 25:
// X̿ ± A3·S̄ and B3·S̄, S̄, B4·S̄.
func NewXBarSChart(baseline [][]float64) (XBarChart, error) {
	return newXBarChart(baseline, StdDev)
}

func newXBarChart(baseline [][]float64, spread ChartKind) (XBarChart, error) {
	if len(baseline) < 2 {
		return XBarChart{}, fmt.Errorf("%w: a baseline needs at least 2 subgroups, got %d", ErrInsufficientData, len(baseline))
	}
	n := len(baseline[0])
	k, err := ConstantsFor(n)
	if err != nil {
		return XBarChart{}, err
	}
	if err := checkSubgroups(baseline, n); err != nil {
		return XBarChart{}, err
	}
	var sumMean, sumDisp float64
	for _, g := range baseline {
		m, d := subgroupStats(g, spread)
		sumMean += m
		sumDisp += d
	}
	xbb := sumMean / float64(len(baseline))
	dBar := sumDisp / float64(len(baseline))
	if dBar == 0 {
		return XBarChart{}, fmt.Errorf("%w: every baseline subgroup has zero spread; there is no variation to set limits from", ErrInsufficientData)
	}
	ch := XBarChart{N: n, Spread: spread}
	if spread == Range {
		ch.X = Limits{LCL: xbb - k.A2*dBar, Center: xbb, UCL: xbb + k.A2*dBar}
		ch.Disp = Limits{LCL: k.D3 * dBar, Center: dBar, UCL: k.D4 * dBar}
		ch.Sigma = dBar / k.D2
	} else {
		ch.X = Limits{LCL: xbb - k.A3*dBar, Center: xbb, UCL: xbb + k.A3*dBar}
		ch.Disp = Limits{LCL: k.B3 * dBar, Center: dBar, UCL: k.B4 * dBar}
		ch.Sigma = dBar / k.C4
	}
	return ch, nil
}

// Check applies rules to the subgroup means and "beyond limits" (Nelson1 /
// WesternElectric1, where selected) to the ranges or standard deviations, in one pass.
// Every subgroup must have N values.
func (c XBarChart) Check(subgroups [][]float64, rules Rule) ([]Violation, error) {
	if _, err := ConstantsFor(c.N); err != nil { // a chart not made by NewXBarRChart or NewXBarSChart
		return nil, fmt.Errorf("chart of %w", err)
	}
	if err := checkSubgroups(subgroups, c.N); err != nil {
		return nil, err
	}
	var out []Violation
	s := newScanner(rules, XBar, &out)
	sig := c.X.sigma()
	for i, g := range subgroups {
		m, d := subgroupStats(g, c.Spread)
		s.step(i, (m-c.X.Center)/sig)
		if d > c.Disp.UCL || d < c.Disp.LCL {
			out = appendBeyond(out, rules, c.Spread, i)
		}
	}
	return out, nil
}

// Count is one subgroup of an attribute chart: Defects nonconforming units (p, np charts)
// or defects (c, u charts) found in Size inspected units.
type Count struct {
	Defects int `json:"defects"`
	Size    int `json:"size"`
}

// AttributeChart is a p, np, c or u chart.
type AttributeChart struct {
	Kind ChartKind `json:"kind"`
	// Center is p̄ (p), n·p̄ (np), c̄ (c) or ū (u).
	Center float64 `json:"center"`
	// N is the constant subgroup size of an np chart (0 for the others).
	N int `json:"n,omitempty"`
	// PBar is p̄ for p and np charts.
	PBar float64 `json:"p_bar,omitempty"`
}

// NewPChart computes a p chart (fraction nonconforming; subgroup sizes may differ) from a
// baseline: p̄ = Σdefects/Σsize, limits p̄ ± 3·sqrt(p̄(1-p̄)/n).
func NewPChart(baseline []Count) (AttributeChart, error) { return newAttributeChart(P, baseline) }

// NewNPChart computes an np chart (number nonconforming; one subgroup size n) from a
// baseline: n·p̄ ± 3·sqrt(n·p̄(1-p̄)).
func NewNPChart(baseline []Count) (AttributeChart, error) { return newAttributeChart(NP, baseline) }

// NewCChart computes a c chart (defects per subgroup of constant opportunity) from a
// baseline: c̄ ± 3·sqrt(c̄). Size is ignored.
func NewCChart(baseline []Count) (AttributeChart, error) { return newAttributeChart(C, baseline) }

// NewUChart computes a u chart (defects per unit; sizes may differ) from a baseline:
// ū = Σdefects/Σsize, limits ū ± 3·sqrt(ū/n).
func NewUChart(baseline []Count) (AttributeChart, error) { return newAttributeChart(U, baseline) }

func newAttributeChart(kind ChartKind, baseline []Count) (AttributeChart, error) {
	if len(baseline) < 2 {
		return AttributeChart{}, fmt.Errorf("%w: a %s-chart baseline needs at least 2 subgroups, got %d", ErrInsufficientData, kind, len(baseline))
	}
	ch := AttributeChart{Kind: kind}
	if kind == NP {
		ch.N = baseline[0].Size
	}
	if err := ch.checkCounts(baseline); err != nil {
		return AttributeChart{}, err
	}
	var d, n float64
	for _, c := range baseline {
		d += float64(c.Defects)
		n += float64(c.Size)
	}
	switch kind {
	case P, NP:
		ch.PBar = d / n
		ch.Center = ch.PBar
		if kind == NP {
			ch.Center = float64(ch.N) * ch.PBar
		}
		if ch.PBar == 0 || ch.PBar == 1 {
			return AttributeChart{}, fmt.Errorf("%w: the baseline fraction nonconforming is %v; limits need some conforming and some nonconforming units", ErrInsufficientData, ch.PBar)
		}
	case C:
		ch.Center = d / float64(len(baseline))
	case U:
		ch.Center = d / n
	}
	if ch.Center == 0 {
		return AttributeChart{}, fmt.Errorf("%w: the baseline has no defects; limits need some", ErrInsufficientData)
	}
	return ch, nil
}

func (ch AttributeChart) checkCounts(counts []Count) error {
	var ps problems
	for i, c := range counts {
		path := fmt.Sprintf("counts[%d]", i)
		needSize := ch.Kind != C
		switch {
		case c.Defects < 0:
			ps.add(path+".defects", fmt.Sprint(c.Defects), "must not be negative")
		case needSize && c.Size < 1:
			ps.add(path+".size", fmt.Sprint(c.Size), "a subgroup inspects at least 1 unit")
		case (ch.Kind == P || ch.Kind == NP) && c.Defects > c.Size:
			ps.add(path+".defects", fmt.Sprint(c.Defects), "more nonconforming units than inspected (%d)", c.Size)
		case ch.Kind == NP && c.Size != ch.N:
			ps.add(path+".size", fmt.Sprint(c.Size), "an np chart needs one subgroup size (%d); use a p chart for varying sizes", ch.N)
		}
	}
	return ps.err(ErrInsufficientData)
}

// checkLimits refuses a chart that NewPChart, NewNPChart, NewCChart or NewUChart did not
// make, such as the zero value: its limits would have no spread to measure points by.
func (ch AttributeChart) checkLimits() error {
	ok := ch.Center > 0 && !math.IsInf(ch.Center, 0)
	switch ch.Kind {
	case P, NP:
		ok = ok && ch.PBar > 0 && ch.PBar < 1 && (ch.Kind == P || ch.N > 0)
	case C, U:
	default:
		ok = false
	}
	if !ok {
		return fmt.Errorf("%w: the %q chart has no limits to check against (center %v, p̄ %v, n %d); make it with NewPChart, NewNPChart, NewCChart or NewUChart", ErrInsufficientData, ch.Kind, ch.Center, ch.PBar, ch.N)
	}
	return nil
}

// Limits returns the control limits for a subgroup of size units (size is ignored by c
// and np charts). Lower limits below zero are clipped to zero.
func (ch AttributeChart) Limits(size int) Limits {
	var sd float64
	switch ch.Kind {
	case P:
		sd = math.Sqrt(ch.PBar * (1 - ch.PBar) / float64(size))
	case NP:
		sd = math.Sqrt(ch.Center * (1 - ch.PBar))
	case C:
		sd = math.Sqrt(ch.Center)
	case U:
		sd = math.Sqrt(ch.Center / float64(size))
	}
	return Limits{LCL: math.Max(0, ch.Center-3*sd), Center: ch.Center, UCL: ch.Center + 3*sd}
}

// Point returns the plotted value of a subgroup: the fraction (p), count (np, c) or rate
// per unit (u).
func (ch AttributeChart) Point(c Count) float64 {
	if ch.Kind == P || ch.Kind == U {
		return float64(c.Defects) / float64(c.Size)
	}
	return float64(c.Defects)
}

// Check applies rules to the subgroups in one pass, each point against the limits for its
// own subgroup size.
func (ch AttributeChart) Check(counts []Count, rules Rule) ([]Violation, error) {
	if err := ch.checkLimits(); err != nil {
		return nil, err
	}
	if err := ch.checkCounts(counts); err != nil {
		return nil, err
	}
	var out []Violation
	s := newScanner(rules, ch.Kind, &out)
	for i, c := range counts {
		l := ch.Limits(c.Size)
		s.step(i, (ch.Point(c)-l.Center)/l.sigma())
	}
	return out, nil
}

func finite(xs []float64, what string) error {
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%w: %s[%d] is %v; give finite numbers", ErrInsufficientData, what, i, x)
		}
	}
	return nil
}

func checkSubgroups(groups [][]float64, n int) error {
	var ps problems
	for i, g := range groups {
		if len(g) != n {
			ps.add(fmt.Sprintf("subgroups[%d]", i), fmt.Sprint(len(g)), "has %d values; every subgroup needs %d", len(g), n)
		}
		for j, x := range g {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				ps.add(fmt.Sprintf("subgroups[%d][%d]", i, j), fmt.Sprint(x), "not a finite number")
			}
		}
	}
	return ps.err(ErrInsufficientData)
}

// meanAndMR returns the mean and the average moving range of two of xs (len >= 2).
func meanAndMR(xs []float64) (mean, mrBar float64) {
	sum, mr := xs[0], 0.0
	for i := 1; i < len(xs); i++ {
		sum += xs[i]
		mr += math.Abs(xs[i] - xs[i-1])
	}
	return sum / float64(len(xs)), mr / float64(len(xs)-1)
}

// subgroupStats returns the mean and the range or sample standard deviation of g.
func subgroupStats(g []float64, spread ChartKind) (mean, disp float64) {
	lo, hi, sum := g[0], g[0], 0.0
	for _, x := range g {
		sum += x
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	mean = sum / float64(len(g))
	if spread == Range {
		return mean, hi - lo
	}
	return mean, stdDev(g, mean)
}

// stdDev is the sample standard deviation (n-1 denominator) around mean.
func stdDev(xs []float64, mean float64) float64 {
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}
