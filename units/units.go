// Package units holds quantities of material: an exact decimal value with a unit of
// measure. Arithmetic refuses to mix units it cannot convert, so "3 kg + 2 ea" is an error,
// never a silent 5. Values are never float64; JSON round-trips exactly.
package units

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strings"
	"sync"

	"github.com/shopspring/decimal"
)

// Errors returned by this package; test for them with errors.Is.
var (
	// ErrUnknownUnit means a unit symbol is not in the unit table.
	ErrUnknownUnit = errors.New("units: unknown unit")
	// ErrMalformed means a quantity string is not "<number> <unit>".
	ErrMalformed = errors.New("units: malformed quantity")
	// ErrIncompatible means two quantities have units that cannot be converted into each other.
	ErrIncompatible = errors.New("units: incompatible units")
	// ErrNegative means a quantity is negative where that is not allowed.
	ErrNegative = errors.New("units: negative quantity")
	// ErrNotPositive means a quantity is zero or negative where it must be positive.
	ErrNotPositive = errors.New("units: quantity must be positive")
	// ErrInexact means a quantity has no exact equal in another unit (1 ea in dozen).
	ErrInexact = errors.New("units: no exact conversion")
)

// Dimension is what a unit measures. Only units of one dimension convert globally; crossing
// dimensions (ea to kg) needs a per-material conversion (see Conversions).
type Dimension string

// Dimensions of the built-in units.
const (
	Count  Dimension = "count"
	Mass   Dimension = "mass"
	Length Dimension = "length"
	Volume Dimension = "volume"
	Area   Dimension = "area"
	Time   Dimension = "time"
)

// Unit is a unit-of-measure symbol such as "ea", "kg" or "m".
type Unit string

type unitDef struct {
	sym    Unit
	dim    Dimension
	toBase decimal.Decimal // multiply a value in this unit by toBase to get the base unit
}

var (
	tableMu sync.RWMutex
	table   = map[Unit]*unitDef{} // entries are never changed, so a Quantity may point at one
)

func init() {
	for _, d := range []struct {
		u      Unit
		dim    Dimension
		factor string
	}{
		{"ea", Count, "1"}, {"pcs", Count, "1"}, {"dozen", Count, "12"},
		{"mg", Mass, "0.001"}, {"g", Mass, "1"}, {"kg", Mass, "1000"}, {"t", Mass, "1000000"}, {"lb", Mass, "453.59237"}, {"oz", Mass, "28.349523125"},
		{"mm", Length, "0.001"}, {"cm", Length, "0.01"}, {"m", Length, "1"}, {"km", Length, "1000"}, {"in", Length, "0.0254"}, {"ft", Length, "0.3048"},
		{"ml", Volume, "0.001"}, {"l", Volume, "1"}, {"m3", Volume, "1000"}, {"gal", Volume, "3.785411784"},
		{"mm2", Area, "0.000001"}, {"cm2", Area, "0.0001"}, {"m2", Area, "1"},
		{"s", Time, "1"}, {"min", Time, "60"}, {"h", Time, "3600"},
	} {
		table[d.u] = &unitDef{sym: d.u, dim: d.dim, toBase: decimal.RequireFromString(d.factor)}
	}
}

// Define adds a unit to the table, for example Define("roll", Count, decimal.NewFromInt(1))
// or Define("box", "box", decimal.NewFromInt(1)) for a unit of its own dimension. toBase is how
// many base units of the dimension one of the new unit is. Call it during start-up, before
// quantities in that unit are parsed. Redefining a unit with a different meaning is an error.
func Define(u Unit, dim Dimension, toBase decimal.Decimal) error {
	if !validSymbol(string(u)) {
		return fmt.Errorf("%w: %q is not a valid unit symbol (letters, digits, '_' or '%%', starting with a letter)", ErrMalformed, u)
	}
	if !toBase.IsPositive() {
		return fmt.Errorf("%w: factor %s for unit %q", ErrNotPositive, toBase, u)
	}
	tableMu.Lock()
	defer tableMu.Unlock()
	if old, ok := table[u]; ok {
		if old.dim == dim && old.toBase.Equal(toBase) {
			return nil
		}
		return fmt.Errorf("units: unit %q is already defined as %s %s", u, old.toBase, old.dim)
	}
	table[u] = &unitDef{sym: u, dim: dim, toBase: toBase}
	return nil
}

func validSymbol(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '_' || r == '%'):
		default:
			return false
		}
	}
	return true
}

func lookup(u Unit) (*unitDef, error) {
	tableMu.RLock()
	d, ok := table[u]
	tableMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q: known units are %s; add others with units.Define", ErrUnknownUnit, u, knownList())
	}
	return d, nil
}

// lookupText is lookup for a symbol that may be a slice of a caller's buffer: it neither
// copies nor keeps s.
func lookupText[T string | []byte](s T) (*unitDef, bool) {
	tableMu.RLock()
	d, ok := table[Unit(s)]
	tableMu.RUnlock()
	return d, ok
}

func knownList() string {
	tableMu.RLock()
	defer tableMu.RUnlock()
	names := make([]string, 0, len(table))
	for u := range table {
		names = append(names, string(u))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Known reports whether u is in the unit table.
func Known(u Unit) bool {
	_, err := lookup(u)
	return err == nil
}

// DimensionOf returns the dimension of a known unit.
func DimensionOf(u Unit) (Dimension, error) {
	d, err := lookup(u)
	return d.dim, err
}

// Quantity is an exact amount in a unit of measure. The zero Quantity is "nothing" with no
// unit; adding it to any quantity leaves that quantity unchanged.
//
// A Quantity holds the same coefficient and exponent as the decimal.Decimal it stands for
// (Value), so arithmetic keeps the exponents decimal gives: "10.50 kg" keeps two places and a
// sum has the places of its finer term. When the coefficient fits an int64 it is kept as one,
// and the common operations run on it without allocating; only larger coefficients are kept
// as a decimal.Decimal. Each value has exactly one form, so equal coefficients and exponents in
// the same unit give Quantities that are == and reflect.DeepEqual, however they were made.
//
// The unit is held as its entry in the unit table, which keeps a Quantity at four words on
// 64-bit platforms: quantities are copied often, and a fifth word made the engine's moves
// slower than the allocations this form saves.
type Quantity struct {
	coef int64            // the value is coef × 10^exp, unless wide is set
	wide *decimal.Decimal // the value when its coefficient does not fit an int64, else nil
	def  *unitDef         // the unit's entry in the table; nil, with a zero value, for no unit
	exp  int32
}

// fromDecimal returns d in unit def in its one form: small when d's coefficient fits an int64.
func fromDecimal(d decimal.Decimal, def *unitDef) Quantity {
	if c, ok := coefficient64(d); ok {
		return Quantity{coef: c, exp: d.Exponent(), def: def}
	}
	wide := d // escapes only here
	return Quantity{wide: &wide, def: def}
}

// coefficient64 returns d's coefficient when it fits an int64, without allocating.
func coefficient64(d decimal.Decimal) (int64, bool) {
	if d.NumDigits() > 19 {
		return 0, false
	}
	// Below 10^19 < 2^64 the truncated coefficient is |v| with v's sign applied, and it has
	// the sign of v exactly when v fits.
	c, s := d.CoefficientInt64(), d.Sign()
	return c, s == 0 || (s < 0) == (c < 0) && c != 0
}

// New returns value in unit u, or ErrUnknownUnit.
func New(value decimal.Decimal, u Unit) (Quantity, error) {
	def, err := lookup(u)
	if err != nil {
		return Quantity{}, err
	}
	return fromDecimal(value, def), nil
}

// FromInt returns n of unit u, or ErrUnknownUnit.
func FromInt(n int64, u Unit) (Quantity, error) {
	def, err := lookup(u)
	if err != nil {
		return Quantity{}, err
	}
	return Quantity{coef: n, def: def}, nil
}

// maxNumberText bounds the number of a quantity's text, so that reading one costs little;
// MarshalText refuses to write what Parse would refuse to read.
const maxNumberText = 1024

// Parse reads a quantity written as "<number> <unit>", for example "50 ea", "2.5 kg" or
// "-3 m". The number is read exactly (no float rounding).
func Parse(s string) (Quantity, error) {
	if q, ok := parseSmall(s); ok {
		return q, nil
	}
	fields := strings.Fields(s)
	if len(fields) != 2 {
		return Quantity{}, fmt.Errorf("%w %q: write a number, a space and a unit, for example \"50 ea\"", ErrMalformed, s)
	}
	if len(fields[0]) > maxNumberText {
		return Quantity{}, fmt.Errorf("%w %q: number has more than %d characters", ErrMalformed, s, maxNumberText)
	}
	if strings.ContainsAny(fields[0], "eE") {
		return Quantity{}, fmt.Errorf("%w %q: write the number in plain decimal notation, not with an exponent", ErrMalformed, s)
	}
	v, err := decimal.NewFromString(fields[0])
	if err != nil {
		return Quantity{}, fmt.Errorf("%w %q: %q is not a decimal number", ErrMalformed, s, fields[0])
	}
	q, err := New(v, Unit(fields[1]))
	if err != nil {
		return Quantity{}, fmt.Errorf("quantity %q: %w", s, err)
	}
	return q, nil
}

// parseSmall reads, without allocating, what Parse accepts in the common case: ASCII text, a
// number whose coefficient fits an int64, a known unit. It reports false for everything else
// (other text, errors), which the general code reads or rejects as it always has. It accepts
// the numbers decimal.NewFromString does: a sign, digits with at most one point, at least one
// digit.
func parseSmall[T string | []byte](s T) (Quantity, bool) {
	i, n := 0, len(s)
	field := func() T { // the next run of non-spaces, after spaces; empty when s has no more
		for i < n && asciiSpace(s[i]) {
			i++
		}
		start := i
		for i < n && !asciiSpace(s[i]) {
			i++
		}
		return s[start:i]
	}
	num, sym := field(), field()
	if len(field()) != 0 || len(num) == 0 || len(num) > 64 || len(sym) == 0 {
		return Quantity{}, false
	}
	const limit = 1 << 63 // the largest magnitude an int64 holds, as a negative number
	j, neg := 0, false
	if num[0] == '+' || num[0] == '-' {
		j, neg = 1, num[0] == '-'
	}
	var mag uint64
	digits, places, point := 0, 0, false
	for ; j < len(num); j++ {
		switch c := num[j]; {
		case c >= '0' && c <= '9':
			if mag > limit/10 {
				return Quantity{}, false
			}
			if mag = mag*10 + uint64(c-'0'); mag > limit {
				return Quantity{}, false
			}
			digits++
			if point {
				places++
			}
		case c == '.' && !point:
			point = true
		default: // a second point, a sign inside, an exponent, anything else
			return Quantity{}, false
		}
	}
	if exp := -int64(places); digits == 0 || !neg && mag == limit ||
		exp > int64(decimal.MaxDecodeExponent) || exp < -int64(decimal.MaxDecodeExponent) {
		return Quantity{}, false
	}
	def, ok := lookupText(sym)
	if !ok {
		return Quantity{}, false
	}
	c := int64(mag) // limit becomes math.MinInt64, and stays so when negated
	if neg {
		c = -c
	}
	return Quantity{coef: c, exp: int32(-places), def: def}, true
}

// asciiSpace reports whether b is one of the ASCII bytes strings.Fields splits at. A byte of a
// multi-byte character is never a space here: it stays inside a field, which is then neither
// a number nor a unit symbol (those are ASCII), and the general code, which knows Unicode
// spaces and the minus sign decimal accepts, reads the text.
func asciiSpace(b byte) bool {
	switch b {
	case '\t', '\n', '\v', '\f', '\r', ' ':
		return true
	}
	return false
}

// MustParse is Parse for quantities written in code; it panics on a malformed string, so use
// it only with constants.
func MustParse(s string) Quantity {
	q, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return q
}

// Value returns the decimal amount.
func (q Quantity) Value() decimal.Decimal {
	switch {
	case q.wide != nil:
		return *q.wide
	case q == Quantity{}:
		return decimal.Decimal{}
	}
	return decimal.New(q.coef, q.exp)
}

// Float64 returns the amount as the float64 nearest to it, as Value().InexactFloat64() does,
// without building a decimal: for facts handed to rules and other inexact uses.
func (q Quantity) Float64() float64 {
	const exact = 1 << 53 // integers up to this convert to float64 exactly
	if q.wide == nil && -exact < q.coef && q.coef < exact && -22 <= q.exp && q.exp <= 22 {
		// Both operands are exact (10^22 is the largest exact power of ten), so the one
		// rounding of the product or quotient gives the nearest float64, as decimal does.
		f, p := float64(q.coef), math.Pow10(int(max(q.exp, -q.exp)))
		if q.exp < 0 {
			return f / p
		}
		return f * p
	}
	return q.Value().InexactFloat64()
}

// Unit returns the unit of measure; empty for the zero Quantity.
func (q Quantity) Unit() Unit {
	if q.def == nil {
		return ""
	}
	return q.def.sym
}

func (q Quantity) sign() int {
	switch {
	case q.wide != nil:
		return q.wide.Sign()
	case q.coef < 0:
		return -1
	case q.coef > 0:
		return 1
	}
	return 0
}

// IsZero reports whether the amount is zero (in any unit).
func (q Quantity) IsZero() bool { return q.sign() == 0 }

// IsNegative reports whether the amount is below zero.
func (q Quantity) IsNegative() bool { return q.sign() < 0 }

// IsPositive reports whether the amount is above zero.
func (q Quantity) IsPositive() bool { return q.sign() > 0 }

// String returns "<value> <unit>", the form Parse reads.
func (q Quantity) String() string {
	var buf [128]byte
	return string(q.appendText(buf[:0]))
}

// appendText appends what String returns to b. Within 64 places either way a small value
// takes at most 84 bytes, which with a unit symbol (16 at most) fits String's buffer. The
// text does not depend on shopspring's formatting globals (see FormatDecimal).
func (q Quantity) appendText(b []byte) []byte {
	if q.wide == nil {
		b = appendSmall(b, q.coef, q.exp)
	} else {
		b = appendDecimal(b, *q.wide)
	}
	if q.def == nil {
		return b
	}
	b = append(b, ' ')
	return append(b, q.def.sym...)
}

// FormatDecimal returns d as quantities write their numbers: plain notation, no trailing
// zeros after the point ("2.5", "1500", "-0.25"). That is what decimal.Decimal.String writes
// with shopspring's default settings, but it does not change with those package globals
// (TrimTrailingZeros, UseScientificNotation), so text that is stored or hashed stays the same.
func FormatDecimal(d decimal.Decimal) string {
	return string(appendDecimal(nil, d))
}

// appendDecimal appends d as FormatDecimal writes it.
func appendDecimal(b []byte, d decimal.Decimal) []byte {
	c := d.Coefficient()
	if c.IsInt64() {
		return appendSmall(b, c.Int64(), d.Exponent())
	}
	if c.Sign() < 0 {
		b = append(b, '-')
	}
	return appendDigits(b, c.Abs(c).Append(nil, 10), d.Exponent())
}

// appendSmall appends c × 10^exp as FormatDecimal writes it.
func appendSmall(b []byte, c int64, exp int32) []byte {
	var buf [20]byte
	i, m := len(buf), uint64(c)
	if c < 0 {
		m = -m
		b = append(b, '-')
	}
	for {
		i--
		buf[i] = byte('0' + m%10)
		if m /= 10; m == 0 {
			break
		}
	}
	return appendDigits(b, buf[i:], exp)
}

// appendDigits appends digits × 10^exp, for digits of a non-negative number: plain
// notation, no trailing zeros after the point.
func appendDigits(b, digits []byte, exp int32) []byte {
	switch {
	case exp == 0 || len(digits) == 1 && digits[0] == '0':
		return append(b, digits...)
	case exp > 0:
		b = append(b, digits...)
		for range exp {
			b = append(b, '0')
		}
		return b
	}
	places := int(-exp)
	intPart, frac, zeros := digits, digits[:0], 0
	if len(digits) > places {
		intPart, frac = digits[:len(digits)-places], digits[len(digits)-places:]
	} else {
		intPart, frac, zeros = []byte{'0'}, digits, places-len(digits)
	}
	b = append(b, intPart...)
	if frac = bytes.TrimRight(frac, "0"); len(frac) == 0 {
		return b
	}
	b = append(b, '.')
	for range zeros {
		b = append(b, '0')
	}
	return append(b, frac...)
}

// InExactly is In for books that must balance: it refuses (ErrInexact) a conversion that
// does not end (1 ea is 0.0833… dozen), whose rounded rest would stay behind for ever.
func (q Quantity) InExactly(u Unit) (Quantity, error) {
	c, err := q.In(u)
	if err != nil || c.Unit() == q.Unit() || q.IsZero() {
		return c, err
	}
	if !inBase(c).Equal(inBase(q)) { // multiplications only: exact
		return Quantity{}, fmt.Errorf("%w: %s is %s only approximately; give it in %s", ErrInexact, q, c, u)
	}
	return c, nil
}

// inBase is q's value in the base unit of its dimension, exactly (a multiplication).
func inBase(q Quantity) decimal.Decimal {
	if q.def == nil {
		return q.Value()
	}
	return q.Value().Mul(q.def.toBase)
}

// In converts q to unit u within one dimension (g to kg). Crossing dimensions needs
// Conversions.Convert.
func (q Quantity) In(u Unit) (Quantity, error) {
	if q.Unit() == u {
		return q, nil
	}
	if q.def == nil { // only a zero has no unit
		return New(decimal.Zero, u)
	}
	from := q.def
	to, err := lookup(u)
	if err != nil {
		return Quantity{}, err
	}
	if from.dim != to.dim {
		return Quantity{}, fmt.Errorf("%w: cannot convert %s (%s) to %s (%s) without a material conversion", ErrIncompatible, q, from.dim, u, to.dim)
	}
	return fromDecimal(q.Value().Mul(from.toBase).Div(to.toBase), to), nil
}

// align expresses b in a's unit, in place; a zero without a unit takes the other's unit.
func align(a, b *Quantity) error {
	if a.def == b.def {
		return nil
	}
	return alignUnits(a, b)
}

func alignUnits(a, b *Quantity) error {
	switch {
	case a.def == nil && a.IsZero():
		*a = Quantity{def: b.def}
		return nil
	case b.def == nil && b.IsZero():
		*b = Quantity{def: a.def}
		return nil
	}
	c, err := b.In(a.Unit())
	if err != nil {
		return err
	}
	*b = c
	return nil
}

// Add returns q+o in q's unit; o is converted when its unit has the same dimension (In:
// rounded where the conversion does not end, so convert with InExactly first where the sum
// must be exact).
func (q Quantity) Add(o Quantity) (Quantity, error) {
	if err := align(&q, &o); err != nil {
		return Quantity{}, err
	}
	if q.wide == nil && o.wide == nil {
		if x, y, exp, ok := rescalePair(q.coef, q.exp, o.coef, o.exp); ok {
			if s := x + y; (s^x)&(s^y) >= 0 { // no overflow: s has the sign of x or of y
				return Quantity{coef: s, exp: exp, def: q.def}, nil
			}
		}
	}
	return fromDecimal(q.Value().Add(o.Value()), q.def), nil
}

// Sub returns q-o in q's unit; o is converted when its unit has the same dimension (In:
// rounded where the conversion does not end, see Add).
func (q Quantity) Sub(o Quantity) (Quantity, error) {
	if err := align(&q, &o); err != nil {
		return Quantity{}, err
	}
	if q.wide == nil && o.wide == nil {
		if x, y, exp, ok := rescalePair(q.coef, q.exp, o.coef, o.exp); ok {
			if d := x - y; (x^y)&(x^d) >= 0 { // no overflow: x and y share a sign, or d has x's
				return Quantity{coef: d, exp: exp, def: q.def}, nil
			}
		}
	}
	return fromDecimal(q.Value().Sub(o.Value()), q.def), nil
}

// rescalePair returns x × 10^ex and y × 10^ey as coefficients of the smaller of the two
// exponents, as decimal.RescalePair does, and false when one would overflow an int64.
func rescalePair(x int64, ex int32, y int64, ey int32) (int64, int64, int32, bool) {
	switch {
	case ex > ey:
		x, ok := scale(x, int64(ex)-int64(ey))
		return x, y, ey, ok
	case ex < ey:
		y, ok := scale(y, int64(ey)-int64(ex))
		return x, y, ex, ok
	}
	return x, y, ex, true
}

// scale returns c × 10^n for n > 0, and false when that overflows an int64.
func scale(c int64, n int64) (int64, bool) {
	if c == 0 {
		return 0, true
	}
	if n >= int64(len(pow10)) {
		return 0, false
	}
	p := pow10[n]
	if p > math.MaxInt64 || c > math.MaxInt64/int64(p) || c < math.MinInt64/int64(p) {
		return 0, false
	}
	return c * int64(p), true
}

// pow10 holds 10^0 to 10^19, every power of ten a uint64 holds.
var pow10 = func() (t [20]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// Cmp compares q and o: -1 if q < o, 0 if equal, +1 if q > o. Quantities in two units of one
// dimension are compared exactly, in the dimension's base unit.
func (q Quantity) Cmp(o Quantity) (int, error) {
	if q.def != o.def && q.def != nil && o.def != nil {
		if q.def.dim != o.def.dim {
			return 0, fmt.Errorf("%w: cannot compare %s (%s) with %s (%s) without a material conversion", ErrIncompatible, q, q.def.dim, o, o.def.dim)
		}
		return inBase(q).Cmp(inBase(o)), nil // exact, where converting one into the other's unit may round
	}
	if err := align(&q, &o); err != nil {
		return 0, err
	}
	if q.wide != nil || o.wide != nil {
		return q.Value().Cmp(o.Value()), nil
	}
	sq, so := q.sign(), o.sign()
	switch {
	case sq != so:
		return cmp(sq, so), nil
	case sq == 0:
		return 0, nil
	case q.exp == o.exp:
		return cmp(q.coef, o.coef), nil
	}
	// Both have the same sign: compare magnitudes, the one with the larger exponent scaled.
	c := 0
	if q.exp > o.exp {
		c = cmpScaled(magnitude(q.coef), int64(q.exp)-int64(o.exp), magnitude(o.coef))
	} else {
		c = -cmpScaled(magnitude(o.coef), int64(o.exp)-int64(q.exp), magnitude(q.coef))
	}
	return c * sq, nil
}

func magnitude(c int64) uint64 {
	if c < 0 {
		return -uint64(c)
	}
	return uint64(c)
}

// cmpScaled compares m × 10^n with k for m > 0 and n > 0, without overflowing.
func cmpScaled(m uint64, n int64, k uint64) int {
	if n >= int64(len(pow10)) {
		return 1 // at least 10^20, more than any uint64
	}
	hi, lo := bits.Mul64(m, pow10[n])
	if hi != 0 {
		return 1
	}
	return cmp(lo, k)
}

func cmp[T int | int64 | uint64](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// Equal reports whether q and o are the same amount (after conversion); quantities whose
// units cannot be compared are not equal.
func (q Quantity) Equal(o Quantity) bool {
	c, err := q.Cmp(o)
	return err == nil && c == 0
}

// Mul returns q scaled by f (a quantity per unit times a count, say).
func (q Quantity) Mul(f decimal.Decimal) Quantity {
	if c, ok := coefficient64(f); ok && q.wide == nil {
		exp := int64(q.exp) + int64(f.Exponent())
		hi, m := bits.Mul64(magnitude(q.coef), magnitude(c))
		neg := (q.coef < 0) != (c < 0)
		// decimal panics when the exponent overflows an int32: leave that to it
		if hi == 0 && exp >= math.MinInt32 && exp <= math.MaxInt32 && (m <= math.MaxInt64 || neg && m == 1<<63) {
			p := int64(m) // 1<<63 becomes math.MinInt64, and stays so when negated
			if neg {
				p = -p
			}
			return Quantity{coef: p, exp: int32(exp), def: q.def}
		}
	}
	return fromDecimal(q.Value().Mul(f), q.def)
}

// Neg returns -q.
func (q Quantity) Neg() Quantity {
	if q.wide == nil && q.coef != math.MinInt64 {
		q.coef = -q.coef
		return q
	}
	return fromDecimal(q.Value().Neg(), q.def)
}

// RequirePositive returns q, or an error naming what (for example "good quantity") when q
// is zero or negative.
func (q Quantity) RequirePositive(what string) error {
	if !q.IsPositive() {
		return fmt.Errorf("%w: %s is %s", ErrNotPositive, what, q)
	}
	return nil
}

// RequireNonNegative returns an error naming what when q is below zero.
func (q Quantity) RequireNonNegative(what string) error {
	if q.IsNegative() {
		return fmt.Errorf("%w: %s is %s", ErrNegative, what, q)
	}
	return nil
}

// MarshalText writes the form Parse reads, so JSON holds "50 ea" exactly.
func (q Quantity) MarshalText() ([]byte, error) {
	var buf [128]byte
	b := q.appendText(buf[:0])
	if n := bytes.IndexByte(b, ' '); n > maxNumberText {
		return nil, fmt.Errorf("%w: a quantity of %d digits; round it before it is stored", ErrMalformed, n)
	}
	return bytes.Clone(b), nil
}

// UnmarshalText reads the form MarshalText writes. An empty text or "0" is the zero Quantity.
func (q *Quantity) UnmarshalText(b []byte) error {
	if p, ok := parseSmall(b); ok {
		*q = p
		return nil
	}
	s := strings.TrimSpace(string(b))
	if s == "" || s == "0" {
		*q = Quantity{}
		return nil
	}
	p, err := Parse(s)
	if err != nil {
		return err
	}
	*q = p
	return nil
}
