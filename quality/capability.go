package quality

import (
	"fmt"
	"math"
)

// Capability is a process-capability study against a specification.
type Capability struct {
	N            int     `json:"n"`             // values studied
	Mean         float64 `json:"mean"`          // mean of all values
	SigmaWithin  float64 `json:"sigma_within"`  // short-term sigma: MR̄/d2 or R̄/d2
	SigmaOverall float64 `json:"sigma_overall"` // long-term sigma: sample standard deviation
	// Cp and Pp compare the specification width with 6 sigma (within, overall); they need
	// both limits and are 0 when OneSided.
	Cp float64 `json:"cp"`
	Pp float64 `json:"pp"`
	// Cpk and Ppk are the distance from the mean to the nearer limit over 3 sigma.
	Cpk      float64 `json:"cpk"`
	Ppk      float64 `json:"ppk"`
	OneSided bool    `json:"one_sided"`
}

// IndividualsCapability studies individual values: within sigma from the average moving
// range (MR̄/d2, d2 = 1.128), overall sigma from the sample standard deviation.
func IndividualsCapability(values []float64, spec Spec) (Capability, error) {
	if err := finite(values, "values"); err != nil {
		return Capability{}, err
	}
	if len(values) < 2 {
		return Capability{}, fmt.Errorf("%w: capability needs at least 2 values, got %d", ErrInsufficientData, len(values))
	}
	_, mrBar := meanAndMR(values)
	return capability(values, mrBar/constants[0].D2, spec)
}

// SubgroupCapability studies subgroups of equal size 2 to 25: within sigma from the
// average range (R̄/d2), overall sigma from the sample standard deviation of all values.
func SubgroupCapability(subgroups [][]float64, spec Spec) (Capability, error) {
	if len(subgroups) < 1 {
		return Capability{}, fmt.Errorf("%w: capability needs at least 1 subgroup", ErrInsufficientData)
	}
	k, err := ConstantsFor(len(subgroups[0]))
	if err != nil {
		return Capability{}, err
	}
	if err := checkSubgroups(subgroups, k.N); err != nil {
		return Capability{}, err
	}
	all := make([]float64, 0, len(subgroups)*k.N)
	rSum := 0.0
	for _, g := range subgroups {
		_, r := subgroupStats(g, Range)
		rSum += r
		all = append(all, g...)
	}
	return capability(all, rSum/float64(len(subgroups))/k.D2, spec)
}

func capability(values []float64, within float64, spec Spec) (Capability, error) {
	if !spec.LSL.Valid && !spec.USL.Valid {
		return Capability{}, fmt.Errorf("%w: capability needs at least one specification limit", ErrInsufficientData)
	}
	sum := 0.0
	for _, x := range values {
		sum += x
	}
	c := Capability{N: len(values), Mean: sum / float64(len(values)), SigmaWithin: within}
	c.SigmaOverall = stdDev(values, c.Mean)
	if c.SigmaWithin == 0 || c.SigmaOverall == 0 {
		return Capability{}, fmt.Errorf("%w: the values have no spread, so capability is undefined", ErrInsufficientData)
	}
	lsl, usl := spec.LSL.Decimal.InexactFloat64(), spec.USL.Decimal.InexactFloat64()
	// index returns the two-sided ratio and the nearer-limit ratio for one sigma.
	index := func(sigma float64) (float64, float64) {
		k := math.Inf(1)
		if spec.USL.Valid {
			k = (usl - c.Mean) / (3 * sigma)
		}
		if spec.LSL.Valid {
			k = math.Min(k, (c.Mean-lsl)/(3*sigma))
		}
		if spec.LSL.Valid && spec.USL.Valid {
			return (usl - lsl) / (6 * sigma), k
		}
		return 0, k
	}
	c.OneSided = !(spec.LSL.Valid && spec.USL.Valid)
	c.Cp, c.Cpk = index(c.SigmaWithin)
	c.Pp, c.Ppk = index(c.SigmaOverall)
	return c, nil
}
