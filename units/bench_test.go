package units_test

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/units"
)

// Sinks keep the compiler from discarding the benchmarked calls.
var (
	sinkQ   units.Quantity
	sinkS   string
	sinkB   []byte
	sinkI   int
	sinkErr error
	sinkD   decimal.Decimal
)

// BenchmarkAddSubString measures the quantity operations of a track-in and track-out: quantities
// like "95.5 kg" and "10 ea" that fit the small form, added, subtracted, compared, printed and
// read back.
func BenchmarkAddSubString(b *testing.B) {
	kg, ten, half := units.MustParse("95.5 kg"), units.MustParse("10 kg"), units.MustParse("0.25 kg")
	b.Run("Add", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkQ, sinkErr = kg.Add(half)
		}
	})
	b.Run("Sub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkQ, sinkErr = kg.Sub(ten)
		}
	})
	b.Run("Cmp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkI, sinkErr = kg.Cmp(half)
		}
	})
	b.Run("String", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkS = kg.String()
		}
	})
	b.Run("MarshalText", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkB, sinkErr = kg.MarshalText()
		}
	})
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkQ, sinkErr = units.Parse("95.5 kg")
		}
	})
	text := []byte("95.5 kg")
	b.Run("UnmarshalText", func(b *testing.B) {
		b.ReportAllocs()
		var q units.Quantity
		for b.Loop() {
			sinkErr = q.UnmarshalText(text)
		}
		sinkQ = q
	})
	b.Run("Value", func(b *testing.B) {
		// built from the small form, so a decimal that is kept costs allocations where the
		// held one used to be returned as it was
		b.ReportAllocs()
		for b.Loop() {
			sinkD = kg.Value()
		}
	})
	wide, grams := units.MustParse("12345678901234567890.5 kg"), units.MustParse("250 g")
	b.Run("AddWide", func(b *testing.B) {
		// a coefficient beyond int64: the decimal path, with the small operand made a decimal
		b.ReportAllocs()
		for b.Loop() {
			sinkQ, sinkErr = wide.Add(half)
		}
	})
	b.Run("AddConverted", func(b *testing.B) {
		// grams into kilograms: the conversion goes through decimal, the sum does not
		b.ReportAllocs()
		for b.Loop() {
			sinkQ, sinkErr = kg.Add(grams)
		}
	})
	b.Run("TrackOut", func(b *testing.B) {
		// what a track-out does with its books: good and scrap out of what is in process,
		// checks on both, and the new balance printed for the audit record
		b.ReportAllocs()
		inProcess, good, scrap := units.MustParse("50 ea"), units.MustParse("48 ea"), units.MustParse("2 ea")
		for b.Loop() {
			rest, _ := inProcess.Sub(good)
			rest, _ = rest.Sub(scrap)
			sinkErr = good.RequireNonNegative("good")
			sinkErr = scrap.RequireNonNegative("scrap")
			if c, _ := rest.Cmp(units.Quantity{}); c != 0 || !rest.IsZero() {
				b.Fatal(rest)
			}
			sinkS = rest.String()
		}
	})
}
