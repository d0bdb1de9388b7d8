package units

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests look inside Quantity: they check that a value is held small exactly when its
// coefficient fits an int64, and that every operation gives what decimal.Decimal gives.

// sameAs fails unless q is the decimal d in unit u, held in its one form, with the exponent
// decimal gives and the string decimal prints.
func sameAs(t *testing.T, what string, q Quantity, d decimal.Decimal, u Unit) {
	t.Helper()
	if q.wide != nil && q.wide.Coefficient().IsInt64() {
		t.Fatalf("%s: %s is held as a decimal but its coefficient fits an int64", what, q)
	}
	v := q.Value()
	if v.Exponent() != d.Exponent() || v.Coefficient().Cmp(d.Coefficient()) != 0 {
		t.Fatalf("%s: %s × 10^%d, decimal gives %s × 10^%d", what, v.Coefficient(), v.Exponent(), d.Coefficient(), d.Exponent())
	}
	want := d.String()
	if f := FormatDecimal(d); f != want {
		t.Fatalf("%s: FormatDecimal %q, decimal gives %q", what, f, want)
	}
	if u != "" {
		want += " " + string(u)
	}
	if q.Unit() != u || q.String() != want {
		t.Fatalf("%s: %q in %q, decimal gives %q", what, q.String(), q.Unit(), want)
	}
	if text, _ := q.MarshalText(); string(text) != want {
		t.Fatalf("%s: MarshalText %q, want %q", what, text, want)
	}
	if f := q.Float64(); f != d.InexactFloat64() {
		t.Fatalf("%s: Float64 %v, decimal gives %v", what, f, d.InexactFloat64())
	}
	if q.IsZero() != (d.Sign() == 0) || q.IsPositive() != (d.Sign() > 0) || q.IsNegative() != (d.Sign() < 0) {
		t.Fatalf("%s: signs of %s disagree with decimal's %d", what, q, d.Sign())
	}
	if (q.RequirePositive("x") == nil) != (d.Sign() > 0) || (q.RequireNonNegative("x") == nil) != (d.Sign() >= 0) {
		t.Fatalf("%s: sign checks of %s disagree with decimal's %d", what, q, d.Sign())
	}
}

func mustNew(t *testing.T, d decimal.Decimal, u Unit) Quantity {
	t.Helper()
	q, err := New(d, u)
	require.NoError(t, err)
	return q
}

func TestCanonicalForm(t *testing.T) {
	dec := decimal.RequireFromString
	mustInt := func(n int64, u Unit) Quantity {
		q, err := FromInt(n, u)
		require.NoError(t, err)
		return q
	}
	sum := func(a, b string) Quantity {
		q, err := MustParse(a).Add(MustParse(b))
		require.NoError(t, err)
		return q
	}
	diff := func(a, b string) Quantity {
		q, err := MustParse(a).Sub(MustParse(b))
		require.NoError(t, err)
		return q
	}
	in := func(s string, u Unit) Quantity {
		q, err := MustParse(s).In(u)
		require.NoError(t, err)
		return q
	}
	text := func(s string) Quantity {
		var q Quantity
		require.NoError(t, q.UnmarshalText([]byte(s)))
		return q
	}
	for _, c := range []struct {
		name string
		same []Quantity
	}{
		{"ten", []Quantity{MustParse("10 ea"), mustInt(10, "ea"), mustNew(t, decimal.NewFromInt(10), "ea"),
			mustNew(t, dec("10"), "ea"), sum("4 ea", "6 ea"), diff("13 ea", "3 ea"), MustParse("-10 ea").Neg(),
			MustParse("2 ea").Mul(decimal.NewFromInt(5)), text("  10 ea ")}},
		{"converted", []Quantity{in("10 pcs", "ea"), MustParse("10.0000000000000000 ea"), mustNew(t, decimal.New(1e17, -16), "ea")}},
		{"two places", []Quantity{MustParse("10.50 kg"), mustNew(t, decimal.New(1050, -2), "kg"), sum("10 kg", "0.50 kg"),
			diff("11.00 kg", "0.5 kg"), text("10.50 kg")}},
		{"zero", []Quantity{MustParse("0 ea"), mustInt(0, "ea"), mustNew(t, decimal.Zero, "ea"), diff("5 ea", "5 ea"),
			MustParse("0 ea").Neg(), sum("0 ea", "0 ea"), in("0 ea", "ea"), func() Quantity { q, _ := Quantity{}.In("ea"); return q }()}},
		{"nothing", []Quantity{{}, func() Quantity { q, _ := Quantity{}.Add(Quantity{}); return q }(), Quantity{}.Neg(), text("0"), text("")}},
		{"the smallest int64", []Quantity{MustParse("-9223372036854775808 ea"), mustInt(math.MinInt64, "ea"),
			diff("-9223372036854775807 ea", "1 ea"), MustParse("9223372036854775808 ea").Neg()}},
		{"back from wide", []Quantity{MustParse("1 ea"), diff("9223372036854775808 ea", "9223372036854775807 ea"),
			sum("100000000000000000000 ea", "-99999999999999999999 ea")}},
		{"positive exponent", []Quantity{mustNew(t, decimal.New(5, 3), "g"), MustParse("5 g").Mul(decimal.New(1, 3)).Neg().Neg()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for i, q := range c.same[1:] {
				assert.Equal(t, c.same[0], q, "way %d", i+1) // reflect.DeepEqual, as tests across the repo compare
				assert.True(t, c.same[0] == q, "way %d: %#v", i+1, q)
			}
		})
	}
	assert.Equal(t, decimal.Decimal{}, Quantity{}.Value(), "the zero Quantity's value is decimal.Zero itself")
	assert.Equal(t, decimal.NewFromInt(10), MustParse("10 ea").Value())
	assert.Equal(t, "10.5 kg", MustParse("10.50 kg").String())
	assert.Equal(t, int32(-2), MustParse("10.50 kg").Value().Exponent(), "the places written are kept, as decimal keeps them")
}

func TestOverflowFallsBackToDecimal(t *testing.T) {
	const max, min = "9223372036854775807", "-9223372036854775808"
	type op func(a, b Quantity) (Quantity, error)
	add := op(Quantity.Add)
	sub := op(Quantity.Sub)
	for _, c := range []struct {
		a, b string
		op   op
		ref  func(a, b decimal.Decimal) decimal.Decimal
		want string
		wide bool
	}{
		{max, "1", add, decimal.Decimal.Add, "9223372036854775808", true},
		{min, "-1", add, decimal.Decimal.Add, "-9223372036854775809", true},
		{min, "1", sub, decimal.Decimal.Sub, "-9223372036854775809", true},
		{max, "-1", sub, decimal.Decimal.Sub, "9223372036854775808", true},
		{max, min, add, decimal.Decimal.Add, "-1", false},
		{max, min, sub, decimal.Decimal.Sub, "18446744073709551615", true},
		{max, "0.1", add, decimal.Decimal.Add, "9223372036854775807.1", true},                  // aligning max to one place overflows
		{"922337203685477580", "0.7", add, decimal.Decimal.Add, "922337203685477580.7", false}, // aligning fits, just
		{"922337203685477580", "0.8", add, decimal.Decimal.Add, "922337203685477580.8", true},  // the sum does not
		{"-922337203685477580", "0.8", sub, decimal.Decimal.Sub, "-922337203685477580.8", false},
		{"1", "0.0000000000000000001", add, decimal.Decimal.Add, "1.0000000000000000001", true}, // 10^19 overflows
		{"0", "0.0000000000000000000000000000001", add, decimal.Decimal.Add, "0.0000000000000000000000000000001", false},
		{"10000000000000000000", "-9999999999999999999", add, decimal.Decimal.Add, "1", false}, // wide back to small
		{"5", "0.00", sub, decimal.Decimal.Sub, "5", false},
	} {
		t.Run(c.a+" "+c.b, func(t *testing.T) {
			a, b := MustParse(c.a+" ea"), MustParse(c.b+" ea")
			got, err := c.op(a, b)
			require.NoError(t, err)
			want := c.ref(decimal.RequireFromString(c.a), decimal.RequireFromString(c.b))
			sameAs(t, "result", got, want, "ea")
			assert.Equal(t, c.want+" ea", got.String())
			assert.Equal(t, c.wide, got.wide != nil, "held as a decimal")
		})
	}

	t.Run("compare across the int64 range", func(t *testing.T) {
		for _, c := range []struct {
			a, b string
			want int
		}{
			{max, "922337203685477580.7", 1},
			{max, "9223372036854775807.0000000000000000001", -1},
			{"0.0000000000000000001", "1", -1},
			{"1", "0.00000000000000000000000000000000000001", 1},
			{"-1", "-0.00000000000000000000000000000000000001", -1},
			{"92233720368547758.08", "922337203685477580.8", -1},
			{"-922337203685477580.8", min, 1},
			{"0.00", "0", 0},
			{"-0.5", "0.50", -1},
			{"18446744073709551616", "18446744073709551615.9", 1},
		} {
			a, b := MustParse(c.a+" ea"), MustParse(c.b+" ea")
			got, err := a.Cmp(b)
			require.NoError(t, err)
			assert.Equal(t, c.want, got, "%s vs %s", c.a, c.b)
			assert.Equal(t, decimal.RequireFromString(c.a).Cmp(decimal.RequireFromString(c.b)), got, "decimal agrees")
			back, err := b.Cmp(a)
			require.NoError(t, err)
			assert.Equal(t, -c.want, back)
		}
	})

	t.Run("multiplying", func(t *testing.T) {
		for _, c := range []struct {
			a, f string
			want string
			wide bool
		}{
			{max, "1", max, false},
			{max, "2", "18446744073709551614", true},
			{min, "1", min, false},
			{min, "-1", "9223372036854775808", true},
			{"-4611686018427387904", "2", min, false},
			{"4611686018427387904", "-2", min, false},
			{"4611686018427387904", "2", "9223372036854775808", true},
			{"0.000", "-7.5", "0", false},
			{"1.5", "0.25", "0.375", false},
			{"3037000499.97605", "3037000499.97605", "9223372036854777676.0505736025", true},
			{"12345678901234567890", "0.1", "1234567890123456789", true}, // decimal keeps the 21-digit coefficient
			{"12345678901234567890", "0", "0", false},
		} {
			f := decimal.RequireFromString(c.f)
			got := MustParse(c.a + " ea").Mul(f)
			sameAs(t, c.a+" × "+c.f, got, decimal.RequireFromString(c.a).Mul(f), "ea")
			assert.Equal(t, c.want+" ea", got.String())
			assert.Equal(t, c.wide, got.wide != nil, "%s × %s held as a decimal", c.a, c.f)
		}
		huge := mustNew(t, decimal.New(5, math.MaxInt32), "ea")
		assert.Panics(t, func() { huge.Mul(decimal.New(1, 1)) }, "an exponent beyond int32 panics in decimal, as before")
	})

	t.Run("negating the smallest int64", func(t *testing.T) {
		q := MustParse(min + " ea").Neg()
		sameAs(t, "-min", q, decimal.RequireFromString("9223372036854775808"), "ea")
		assert.NotNil(t, q.wide)
		sameAs(t, "-(-min)", q.Neg(), decimal.RequireFromString(min), "ea")
	})

	t.Run("exponents far apart", func(t *testing.T) {
		far := mustNew(t, decimal.New(7, 300), "ea")
		tiny := mustNew(t, decimal.New(3, -300), "ea")
		got, err := far.Add(tiny)
		require.NoError(t, err)
		sameAs(t, "far+tiny", got, decimal.New(7, 300).Add(decimal.New(3, -300)), "ea")
		c, err := tiny.Cmp(far)
		require.NoError(t, err)
		assert.Equal(t, -1, c)
		zero, err := mustNew(t, decimal.New(0, -300), "ea").Add(MustParse("2 ea"))
		require.NoError(t, err)
		sameAs(t, "0e-300+2", zero, decimal.New(0, -300).Add(decimal.NewFromInt(2)), "ea")
	})
}

func TestTextIgnoresDecimalSettings(t *testing.T) {
	small, big := MustParse("10.50 kg"), mustNew(t, decimal.New(12, 3), "g")
	wide := MustParse("-12345678901234567890.1200 g")
	defer func(trim, sci, quotes bool) {
		decimal.TrimTrailingZeros, decimal.UseScientificNotation, decimal.MarshalJSONWithoutQuotes = trim, sci, quotes
	}(decimal.TrimTrailingZeros, decimal.UseScientificNotation, decimal.MarshalJSONWithoutQuotes)
	decimal.TrimTrailingZeros, decimal.UseScientificNotation, decimal.MarshalJSONWithoutQuotes = false, true, true
	for q, want := range map[Quantity]string{small: "10.5 kg", big: "12000 g", wide: "-12345678901234567890.12 g"} {
		assert.Equal(t, want, q.String())
		text, err := q.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, want, string(text))
	}
	assert.Equal(t, "-0.012", FormatDecimal(decimal.New(-1200, -5)))
	assert.Equal(t, "0", FormatDecimal(decimal.New(0, -3)))
}

func TestSmallValuesDoNotAllocate(t *testing.T) {
	a, b, zero := MustParse("95.5 kg"), MustParse("10 kg"), Quantity{}
	text, three := []byte("95.5 kg"), decimal.NewFromInt(3)
	var sink Quantity
	var sinkText string
	for name, f := range map[string]func(){
		"Add":                func() { sink, _ = a.Add(b) },
		"Sub":                func() { sink, _ = a.Sub(b) },
		"Add zero":           func() { sink, _ = zero.Add(b) },
		"Cmp":                func() { _, _ = a.Cmp(b) },
		"Equal":              func() { _ = a.Equal(b) },
		"signs":              func() { _ = a.IsZero() || a.IsPositive() || a.IsNegative() },
		"Neg":                func() { sink = a.Neg() },
		"Mul":                func() { sink = a.Mul(three) },
		"Parse":              func() { sink, _ = Parse("95.5 kg") },
		"UnmarshalText":      func() { _ = sink.UnmarshalText(text) },
		"RequirePositive":    func() { _ = a.RequirePositive("good") },
		"RequireNonNegative": func() { _ = a.RequireNonNegative("scrap") },
	} {
		assert.Zero(t, testing.AllocsPerRun(100, f), name)
	}
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { sinkText = a.String() }), "String: the string itself")
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _, _ = a.MarshalText() }), "MarshalText: the text itself")
	assert.Equal(t, "95.5 kg", sinkText)
}

func TestUnmarshalTextDoesNotKeepItsInput(t *testing.T) {
	buf := []byte("12.5 kg")
	var q Quantity
	require.NoError(t, q.UnmarshalText(buf))
	copy(buf, "99.9 gg")
	assert.Equal(t, "12.5 kg", q.String())
	assert.Equal(t, Unit("kg"), q.Unit())
}

// refParse is Parse as it was before the small form: strings.Fields, then decimal.
func refParse(s string) (decimal.Decimal, Unit, bool) {
	f := strings.Fields(s)
	if len(f) != 2 || len(f[0]) > maxNumberText || strings.ContainsAny(f[0], "eE") || !Known(Unit(f[1])) {
		return decimal.Decimal{}, "", false
	}
	d, err := decimal.NewFromString(f[0])
	return d, Unit(f[1]), err == nil
}

// FuzzParseMatchesDecimal checks Parse and UnmarshalText, fast path and all, against reading
// the text with strings.Fields and decimal.NewFromString.
func FuzzParseMatchesDecimal(f *testing.F) {
	for _, s := range []string{"50 ea", "2.5 kg", "-3 m", "+.5 g", "5. g", ".5 g", "- g", ". g", "-. g", ".-5 g", "1.2.3 g",
		"9223372036854775807 ea", "-9223372036854775808 ea", "9223372036854775808 ea", "-9223372036854775809 ea",
		"00000000000000000000000000000000000001 ea", "0.0000000000000000000000000000000000000000000000000000000000001 g",
		"\u22125 ea", "5\u00a0ea", "5 ea\u00a0", "5\u2003ea", "5 e\u0301a", "1e3 ea", "0x10 ea", "0", " 0 ", "", "5 ea x", "\t5\n\vea\f\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		d, u, ok := refParse(s)
		if ok != (err == nil) {
			t.Fatalf("Parse(%q): error %v, the reference reads it: %v", s, err, ok)
		}
		if ok {
			sameAs(t, "Parse("+s+")", q, d, u)
			if want := mustNew(t, d, u); !reflect.DeepEqual(q, want) {
				t.Fatalf("Parse(%q) = %#v, New gives %#v", s, q, want)
			}
		}
		var back Quantity
		err = back.UnmarshalText([]byte(s))
		if trimmed := strings.TrimSpace(s); trimmed == "" || trimmed == "0" {
			if err != nil || back != (Quantity{}) {
				t.Fatalf("UnmarshalText(%q) = %#v, %v; want the zero Quantity", s, back, err)
			}
			return
		}
		if ok != (err == nil) || ok && !reflect.DeepEqual(back, q) {
			t.Fatalf("UnmarshalText(%q) = %#v, %v; Parse gives %#v", s, back, err, q)
		}
	})
}

// fuzzDecimal reads a decimal for FuzzArithmetic, exponent notation included (Parse refuses
// it, but New takes such values), within bounds that keep decimal's own work small.
func fuzzDecimal(s string) (decimal.Decimal, bool) {
	if len(s) > 80 {
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(s)
	if err != nil || d.Exponent() > 300 || d.Exponent() < -300 {
		return decimal.Decimal{}, false
	}
	return d, true
}

// FuzzArithmetic checks every operation on two quantities against the same computation in
// decimal.Decimal, which is what Quantity used throughout before it held small values as
// int64s.
func FuzzArithmetic(f *testing.F) {
	seeds := []string{"0", "1", "-1", "10.50", "0.1", "-0.00", "95.5", "1e3", "-7e-3", "5e18", "1e19",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
		"922337203685477580.7", "-922337203685477580.8", "0.9223372036854775807", "0.0000000000000000001",
		"0.000000000000000000000000000000000000000000000000000000000000000000001", "1e-64", "1e64", "-3e65", "1e-65",
		"12345678901234567890.123456789", "99999999999999999999", "18446744073709551615", "18446744073709551616"}
	for i, a := range seeds {
		f.Add(a, seeds[(i*7+3)%len(seeds)])
		f.Add(a, a)
	}
	f.Fuzz(func(t *testing.T, as, bs string) {
		da, ok := fuzzDecimal(as)
		if !ok {
			return
		}
		db, ok := fuzzDecimal(bs)
		if !ok {
			return
		}
		a, b := mustNew(t, da, "kg"), mustNew(t, db, "kg")
		sameAs(t, "a", a, da, "kg")
		sameAs(t, "b", b, db, "kg")

		sum, err := a.Add(b)
		require.NoError(t, err)
		sameAs(t, "a+b", sum, da.Add(db), "kg")
		diff, err := a.Sub(b)
		require.NoError(t, err)
		sameAs(t, "a-b", diff, da.Sub(db), "kg")
		sameAs(t, "-a", a.Neg(), da.Neg(), "kg")
		sameAs(t, "a×b", a.Mul(db), da.Mul(db), "kg")
		c, err := a.Cmp(b)
		require.NoError(t, err)
		if c != da.Cmp(db) || a.Equal(b) != da.Equal(db) {
			t.Fatalf("Cmp(%s, %s) = %d, Equal %v; decimal gives %d", a, b, c, a.Equal(b), da.Cmp(db))
		}

		var zero Quantity // "nothing": adding it changes nothing, and it takes the other's unit
		fromZero, err := zero.Add(a)
		require.NoError(t, err)
		sameAs(t, "0+a", fromZero, decimal.Zero.Add(da), "kg")
		minusZero, err := a.Sub(zero)
		require.NoError(t, err)
		sameAs(t, "a-0", minusZero, da.Sub(decimal.Zero), "kg")
		c, err = zero.Cmp(a)
		require.NoError(t, err)
		if c != decimal.Zero.Cmp(da) {
			t.Fatalf("Cmp(0, %s) = %d", a, c)
		}
		sameAs(t, "0×b", zero.Mul(db), decimal.Zero.Mul(db), "")

		// Text round trip: what MarshalText writes reads back to the value decimal reads
		// from decimal's own string; what Parse would refuse (a number longer than
		// maxNumberText) MarshalText refuses to write.
		text, err := a.MarshalText()
		if err != nil {
			require.Greater(t, len(a.String()), maxNumberText, "%s refused: %v", a, err)
			return
		}
		var back Quantity
		require.NoError(t, back.UnmarshalText(text), "%s", text)
		d, u, ok := refParse(string(text))
		require.True(t, ok, "%s", text)
		sameAs(t, "text of a", back, d, u)
		if !back.Equal(a) {
			t.Fatalf("%s reads back as %s", a, back)
		}
	})
}
