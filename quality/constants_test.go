package quality

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// d3 is the standard deviation of the range of n standard normals (n = 2..25), from the
// same published tables; the D3/D4 columns must agree with D3,D4 = max(0, 1 ∓ 3·d3/d2).
var d3 = [...]float64{0.853, 0.888, 0.880, 0.864, 0.848, 0.833, 0.820, 0.808, 0.797, 0.787, 0.778, 0.770,
	0.763, 0.756, 0.750, 0.744, 0.739, 0.734, 0.729, 0.724, 0.720, 0.716, 0.712, 0.708}

// expectedRange integrates E[range of n standard normals] = ∫ 1 - Φ(x)^n - (1-Φ(x))^n dx.
func expectedRange(n int) float64 {
	const h = 0.001
	sum := 0.0
	for x := -10.0; x <= 10; x += h {
		phi := 0.5 * math.Erfc(-x/math.Sqrt2)
		sum += (1 - math.Pow(phi, float64(n)) - math.Pow(1-phi, float64(n))) * h
	}
	return sum
}

func TestConstantsAgreeWithTheirDefinitions(t *testing.T) {
	for n := 2; n <= 25; n++ {
		k, err := ConstantsFor(n)
		require.NoError(t, err)
		require.Equal(t, n, k.N)
		rn := math.Sqrt(float64(n))
		lg1, _ := math.Lgamma(float64(n) / 2)
		lg2, _ := math.Lgamma(float64(n-1) / 2)
		c4 := math.Sqrt(2/float64(n-1)) * math.Exp(lg1-lg2)
		spread := 3 * math.Sqrt(1-c4*c4) / c4
		assert.InDelta(t, expectedRange(n), k.D2, 0.0006, "d2(%d)", n)
		assert.InDelta(t, c4, k.C4, 0.00006, "c4(%d)", n)
		assert.InDelta(t, 3/(k.D2*rn), k.A2, 0.0015, "A2(%d)", n)
		assert.InDelta(t, 3/(c4*rn), k.A3, 0.0015, "A3(%d)", n)
		assert.InDelta(t, math.Max(0, 1-spread), k.B3, 0.0015, "B3(%d)", n)
		assert.InDelta(t, 1+spread, k.B4, 0.0015, "B4(%d)", n)
		assert.InDelta(t, math.Max(0, 1-3*d3[n-2]/k.D2), k.D3, 0.0015, "D3(%d)", n)
		// d3 is itself rounded to 3 places (d3(2) = 0.8525), hence the wider tolerance.
		assert.InDelta(t, 1+3*d3[n-2]/k.D2, k.D4, 0.002, "D4(%d)", n)
		assert.InDelta(t, 3/k.D2, k.E2, 0.0005, "E2(%d)", n)
	}
	// The values every SPC text prints for n = 5.
	k, _ := ConstantsFor(5)
	assert.Equal(t, Constants{N: 5, A2: 0.577, A3: 1.427, B3: 0, B4: 2.089, C4: 0.9400, D2: 2.326, D3: 0, D4: 2.114, E2: 1.290}, k)
}

func TestConstantsOutOfRange(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 26} {
		_, err := ConstantsFor(n)
		assert.ErrorIs(t, err, ErrInsufficientData, "n=%d", n)
	}
}
