// Package units holds quantities of material: an exact decimal value with a unit of
// measure. Arithmetic refuses to mix units it cannot convert, so "3 kg + 2 ea" is an error,
// never a silent 5. Values are never float64; JSON round-trips exactly.
package units

import (
	"errors"
	"fmt"
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
	dim    Dimension
	toBase decimal.Decimal // multiply a value in this unit by toBase to get the base unit
}

var (
	tableMu sync.RWMutex
	table   = map[Unit]unitDef{}
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
		table[d.u] = unitDef{dim: d.dim, toBase: decimal.RequireFromString(d.factor)}
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
	table[u] = unitDef{dim: dim, toBase: toBase}
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

func lookup(u Unit) (unitDef, error) {
	tableMu.RLock()
	d, ok := table[u]
	tableMu.RUnlock()
	if !ok {
		return unitDef{}, fmt.Errorf("%w %q: known units are %s; add others with units.Define", ErrUnknownUnit, u, knownList())
	}
	return d, nil
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
type Quantity struct {
	value decimal.Decimal
	unit  Unit
}

// New returns value in unit u, or ErrUnknownUnit.
func New(value decimal.Decimal, u Unit) (Quantity, error) {
	if _, err := lookup(u); err != nil {
		return Quantity{}, err
	}
	return Quantity{value: value, unit: u}, nil
}

// FromInt returns n of unit u, or ErrUnknownUnit.
func FromInt(n int64, u Unit) (Quantity, error) { return New(decimal.NewFromInt(n), u) }

// Parse reads a quantity written as "<number> <unit>", for example "50 ea", "2.5 kg" or
// "-3 m". The number is read exactly (no float rounding).
func Parse(s string) (Quantity, error) {
	fields := strings.Fields(s)
	if len(fields) != 2 {
		return Quantity{}, fmt.Errorf("%w %q: write a number, a space and a unit, for example \"50 ea\"", ErrMalformed, s)
	}
	if len(fields[0]) > 64 {
		return Quantity{}, fmt.Errorf("%w %q: number has more than 64 characters", ErrMalformed, s)
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
func (q Quantity) Value() decimal.Decimal { return q.value }

// Unit returns the unit of measure; empty for the zero Quantity.
func (q Quantity) Unit() Unit { return q.unit }

// IsZero reports whether the amount is zero (in any unit).
func (q Quantity) IsZero() bool { return q.value.IsZero() }

// IsNegative reports whether the amount is below zero.
func (q Quantity) IsNegative() bool { return q.value.IsNegative() }

// IsPositive reports whether the amount is above zero.
func (q Quantity) IsPositive() bool { return q.value.IsPositive() }

// String returns "<value> <unit>", the form Parse reads.
func (q Quantity) String() string {
	if q.unit == "" {
		return q.value.String()
	}
	return q.value.String() + " " + string(q.unit)
}

// In converts q to unit u within one dimension (g to kg). Crossing dimensions needs
// Conversions.Convert.
func (q Quantity) In(u Unit) (Quantity, error) {
	if q.unit == u {
		return q, nil
	}
	if q.unit == "" && q.value.IsZero() {
		return New(decimal.Zero, u)
	}
	from, err := lookup(q.unit)
	if err != nil {
		return Quantity{}, err
	}
	to, err := lookup(u)
	if err != nil {
		return Quantity{}, err
	}
	if from.dim != to.dim {
		return Quantity{}, fmt.Errorf("%w: cannot convert %s (%s) to %s (%s) without a material conversion", ErrIncompatible, q, from.dim, u, to.dim)
	}
	return Quantity{value: q.value.Mul(from.toBase).Div(to.toBase), unit: u}, nil
}

// align returns o expressed in q's unit.
func (q Quantity) align(o Quantity) (Quantity, Quantity, error) {
	switch {
	case q.unit == o.unit:
		return q, o, nil
	case q.unit == "" && q.value.IsZero():
		return Quantity{unit: o.unit}, o, nil
	case o.unit == "" && o.value.IsZero():
		return q, Quantity{unit: q.unit}, nil
	}
	oc, err := o.In(q.unit)
	if err != nil {
		return Quantity{}, Quantity{}, err
	}
	return q, oc, nil
}

// Add returns q+o in q's unit; o is converted when its unit has the same dimension.
func (q Quantity) Add(o Quantity) (Quantity, error) {
	a, b, err := q.align(o)
	if err != nil {
		return Quantity{}, err
	}
	return Quantity{value: a.value.Add(b.value), unit: a.unit}, nil
}

// Sub returns q-o in q's unit; o is converted when its unit has the same dimension.
func (q Quantity) Sub(o Quantity) (Quantity, error) {
	a, b, err := q.align(o)
	if err != nil {
		return Quantity{}, err
	}
	return Quantity{value: a.value.Sub(b.value), unit: a.unit}, nil
}

// Cmp compares q and o: -1 if q < o, 0 if equal, +1 if q > o.
func (q Quantity) Cmp(o Quantity) (int, error) {
	a, b, err := q.align(o)
	if err != nil {
		return 0, err
	}
	return a.value.Cmp(b.value), nil
}

// Equal reports whether q and o are the same amount (after conversion); quantities whose
// units cannot be compared are not equal.
func (q Quantity) Equal(o Quantity) bool {
	c, err := q.Cmp(o)
	return err == nil && c == 0
}

// Mul returns q scaled by f (a quantity per unit times a count, say).
func (q Quantity) Mul(f decimal.Decimal) Quantity {
	return Quantity{value: q.value.Mul(f), unit: q.unit}
}

// Neg returns -q.
func (q Quantity) Neg() Quantity { return Quantity{value: q.value.Neg(), unit: q.unit} }

// RequirePositive returns q, or an error naming what (for example "good quantity") when q
// is zero or negative.
func (q Quantity) RequirePositive(what string) error {
	if !q.value.IsPositive() {
		return fmt.Errorf("%w: %s is %s", ErrNotPositive, what, q)
	}
	return nil
}

// RequireNonNegative returns an error naming what when q is below zero.
func (q Quantity) RequireNonNegative(what string) error {
	if q.value.IsNegative() {
		return fmt.Errorf("%w: %s is %s", ErrNegative, what, q)
	}
	return nil
}

// MarshalText writes the form Parse reads, so JSON holds "50 ea" exactly.
func (q Quantity) MarshalText() ([]byte, error) { return []byte(q.String()), nil }

// UnmarshalText reads the form MarshalText writes. An empty text or "0" is the zero Quantity.
func (q *Quantity) UnmarshalText(b []byte) error {
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
