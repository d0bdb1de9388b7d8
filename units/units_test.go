package units_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/units"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in, want string
		err      error
	}{
		{"50 ea", "50 ea", nil},
		{"2.5 kg", "2.5 kg", nil},
		{"-3 m", "-3 m", nil},
		{"  0.000001   g ", "0.000001 g", nil},
		{"12345678901234567890.123456789 ea", "12345678901234567890.123456789 ea", nil},
		{"50", "", units.ErrMalformed},
		{"50 ea extra", "", units.ErrMalformed},
		{"fifty ea", "", units.ErrMalformed},
		{"1e3 ea", "", units.ErrMalformed},
		{"5 parsecs", "", units.ErrUnknownUnit},
		{"", "", units.ErrMalformed},
	} {
		t.Run(c.in, func(t *testing.T) {
			q, err := units.Parse(c.in)
			if c.err != nil {
				require.ErrorIs(t, err, c.err)
				assert.Contains(t, err.Error(), fmt.Sprintf("%q", c.in), "the error names the value")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, q.String())
		})
	}
}

func TestArithmeticConvertsWithinADimension(t *testing.T) {
	kg := units.MustParse("1.5 kg")
	sum, err := kg.Add(units.MustParse("250 g"))
	require.NoError(t, err)
	assert.Equal(t, "1.75 kg", sum.String())
	diff, err := kg.Sub(units.MustParse("1500 g"))
	require.NoError(t, err)
	assert.True(t, diff.IsZero())
	c, err := units.MustParse("1 m").Cmp(units.MustParse("999 mm"))
	require.NoError(t, err)
	assert.Equal(t, 1, c)
	assert.True(t, units.MustParse("1 dozen").Equal(units.MustParse("12 ea")))
	in, err := units.MustParse("2 h").In("min")
	require.NoError(t, err)
	assert.Equal(t, "120 min", in.String())
}

func TestArithmeticRefusesMixedDimensions(t *testing.T) {
	_, err := units.MustParse("3 kg").Add(units.MustParse("2 ea"))
	require.ErrorIs(t, err, units.ErrIncompatible)
	assert.Contains(t, err.Error(), "2 ea")
	_, err = units.MustParse("3 kg").Cmp(units.MustParse("2 m"))
	assert.ErrorIs(t, err, units.ErrIncompatible)
	assert.False(t, units.MustParse("3 kg").Equal(units.MustParse("3 ea")))
}

func TestInExactlyRefusesConversionsThatDoNotEnd(t *testing.T) {
	q, err := units.MustParse("3 ea").InExactly("dozen")
	require.NoError(t, err)
	assert.Equal(t, "0.25 dozen", q.String())
	q, err = units.MustParse("1500 g").InExactly("kg")
	require.NoError(t, err)
	assert.Equal(t, "1.5 kg", q.String())
	_, err = units.MustParse("1 ea").InExactly("dozen")
	require.ErrorIs(t, err, units.ErrInexact, "0.0833… dozen, rounded, would leave a rest behind")
	_, err = units.MustParse("1 ea").InExactly("kg")
	require.ErrorIs(t, err, units.ErrIncompatible)
	_, err = units.MustParse("0.01 kg").InExactly("lb")
	require.ErrorIs(t, err, units.ErrInexact, "0.0220462262184878 lb is 10.000000000000019 g: converting back rounds the error away")
}

func TestConvertGivesOneAnswer(t *testing.T) {
	var c units.Conversions
	require.NoError(t, c.Set("M", "ea", "kg", decimal.RequireFromString("0.3")))
	require.NoError(t, c.Set("M", "dozen", "kg", decimal.RequireFromString("3.6")))
	first, err := c.Convert("M", units.MustParse("1 kg"), "ea")
	require.NoError(t, err)
	for range 200 { // map order changes from run to run
		q, err := c.Convert("M", units.MustParse("1 kg"), "ea")
		require.NoError(t, err)
		require.Equal(t, first.String(), q.String())
	}
}

func TestComparisonsAcrossUnitsAreExact(t *testing.T) {
	a, b := units.MustParse("1 ea"), units.MustParse("0.0833333333333333 dozen")
	assert.False(t, a.Equal(b), "0.9999999999999996 ea")
	assert.False(t, b.Equal(a), "either way round")
	assert.True(t, units.MustParse("1 kg").Equal(units.MustParse("1000 g")))
	assert.True(t, units.MustParse("1000 g").Equal(units.MustParse("1 kg")))
	c, err := a.Cmp(b)
	require.NoError(t, err)
	assert.Equal(t, 1, c)
	c, err = b.Cmp(a)
	require.NoError(t, err)
	assert.Equal(t, -1, c)
	_, err = a.Cmp(units.MustParse("1 kg"))
	require.ErrorIs(t, err, units.ErrIncompatible)
}

func TestZeroQuantityIsIdentity(t *testing.T) {
	var zero units.Quantity
	sum, err := zero.Add(units.MustParse("4 ea"))
	require.NoError(t, err)
	assert.Equal(t, "4 ea", sum.String())
	sum, err = units.MustParse("4 ea").Sub(zero)
	require.NoError(t, err)
	assert.Equal(t, "4 ea", sum.String())
}

func TestExactDecimals(t *testing.T) {
	a := units.MustParse("0.1 kg")
	sum := a
	for i := 0; i < 9; i++ {
		var err error
		sum, err = sum.Add(a)
		require.NoError(t, err)
	}
	assert.Equal(t, "1 kg", sum.String(), "no float rounding: ten times 0.1 is exactly 1")
	assert.Equal(t, "0.3 kg", a.Mul(decimal.NewFromInt(3)).String())
}

func TestSignChecks(t *testing.T) {
	require.NoError(t, units.MustParse("1 ea").RequirePositive("good quantity"))
	err := units.MustParse("0 ea").RequirePositive("good quantity")
	require.ErrorIs(t, err, units.ErrNotPositive)
	assert.Contains(t, err.Error(), "good quantity is 0 ea")
	err = units.MustParse("-1 ea").RequireNonNegative("scrap")
	assert.ErrorIs(t, err, units.ErrNegative)
	assert.NoError(t, units.MustParse("0 ea").RequireNonNegative("scrap"))
}

func TestJSONRoundTripIsExact(t *testing.T) {
	type doc struct {
		Q units.Quantity `json:"q"`
	}
	in := doc{Q: units.MustParse("0.1234567890123456789 kg")}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.JSONEq(t, `{"q":"0.1234567890123456789 kg"}`, string(b))
	var out doc
	require.NoError(t, json.Unmarshal(b, &out))
	assert.True(t, in.Q.Equal(out.Q))
	assert.Equal(t, in.Q.String(), out.Q.String())
	err = json.Unmarshal([]byte(`{"q":"5 furlongs"}`), &out)
	assert.ErrorIs(t, err, units.ErrUnknownUnit)
	err = json.Unmarshal([]byte(`{"q":5}`), &out)
	assert.Error(t, err, "a bare number has no unit")
}

func TestDefineAndMaterialConversions(t *testing.T) {
	require.NoError(t, units.Define("roll", units.Count, decimal.NewFromInt(1)))
	require.NoError(t, units.Define("roll", units.Count, decimal.NewFromInt(1)), "the same definition again is fine")
	assert.Error(t, units.Define("roll", units.Mass, decimal.NewFromInt(1)), "a different meaning is refused")
	assert.ErrorIs(t, units.Define("9bad", units.Count, decimal.NewFromInt(1)), units.ErrMalformed)
	assert.ErrorIs(t, units.Define("box", "box", decimal.Zero), units.ErrNotPositive)
	assert.True(t, units.Known("roll"))

	var conv units.Conversions
	require.NoError(t, conv.Set("SEAL-KIT", "ea", "kg", decimal.RequireFromString("0.12")))
	kg, err := conv.Convert("SEAL-KIT", units.MustParse("50 ea"), "g")
	require.NoError(t, err)
	assert.Equal(t, "6000 g", kg.String())
	ea, err := conv.Convert("SEAL-KIT", units.MustParse("0.6 kg"), "ea")
	require.NoError(t, err)
	assert.True(t, ea.Equal(units.MustParse("5 ea")), ea.String())
	_, err = conv.Convert("OTHER", units.MustParse("50 ea"), "kg")
	assert.ErrorIs(t, err, units.ErrIncompatible)
	assert.Error(t, conv.Set("SEAL-KIT", "ea", "kg", decimal.Zero))
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"50 ea", "2.5 kg", "-3 m", "1e3 ea", "", " ", "0 g", "999999999999999999999999.5 t", "1.5 dozen"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := units.Parse(s)
		if err != nil {
			return
		}
		again, err := units.Parse(q.String())
		if err != nil {
			t.Fatalf("%q parsed to %s which does not parse: %v", s, q, err)
		}
		if !again.Equal(q) || again.Unit() != q.Unit() {
			t.Fatalf("round trip %q -> %s -> %s", s, q, again)
		}
		b, err := json.Marshal(q)
		if err != nil {
			t.Fatal(err)
		}
		var back units.Quantity
		if err := json.Unmarshal(b, &back); err != nil || !back.Equal(q) {
			t.Fatalf("JSON round trip of %s: %s, %v", q, b, err)
		}
	})
}

func ExampleParse() {
	q, _ := units.Parse("1.5 kg")
	total, _ := q.Add(units.MustParse("250 g"))
	_, err := q.Add(units.MustParse("2 ea"))
	fmt.Println(total)
	fmt.Println(err != nil)
	// Output:
	// 1.75 kg
	// true
}
