package units

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/shopspring/decimal"
)

// Conversions holds per-material conversions across dimensions, such as "1 ea of SEAL-KIT
// weighs 0.12 kg". Within a dimension (g and kg) the global table already converts. The zero
// value is ready to use and safe for concurrent use.
type Conversions struct {
	mu    sync.RWMutex
	rates map[convKey]decimal.Decimal
}

type convKey struct {
	material string
	from, to Unit
}

// Set records that one `from` of material equals factor `to`, for example
// Set("SEAL-KIT", "ea", "kg", decimal.RequireFromString("0.12")). The reverse direction
// divides by the factor, so 0.6 kg is exactly 5 ea.
func (c *Conversions) Set(material string, from, to Unit, factor decimal.Decimal) error {
	if material == "" {
		return fmt.Errorf("units: conversion needs a material id")
	}
	if _, err := lookup(from); err != nil {
		return err
	}
	if _, err := lookup(to); err != nil {
		return err
	}
	if !factor.IsPositive() {
		return fmt.Errorf("%w: conversion factor %s for %s %s->%s", ErrNotPositive, factor, material, from, to)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rates == nil {
		c.rates = map[convKey]decimal.Decimal{}
	}
	c.rates[convKey{material, from, to}] = factor
	return nil
}

// Convert expresses q (a quantity of material) in unit to: within a dimension by the global
// table, across dimensions by a conversion Set for that material (the units on either side
// may differ from the ones Set was given within their dimensions: g to ea works when kg to ea
// is known).
func (c *Conversions) Convert(material string, q Quantity, to Unit) (Quantity, error) {
	if r, err := q.In(to); err == nil {
		return r, nil
	}
	fromDim, err := DimensionOf(q.Unit())
	if err != nil {
		return Quantity{}, err
	}
	toDim, err := DimensionOf(to)
	if err != nil {
		return Quantity{}, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	// One answer for the same question, whatever the map's order: the rates set in these very
	// units first, then the forward ones, then by unit.
	keys := slices.SortedFunc(maps.Keys(c.rates), func(a, b convKey) int {
		rank := func(k convKey) int {
			switch {
			case k.from == q.Unit() && k.to == to:
				return 0
			case k.from == to && k.to == q.Unit():
				return 1
			}
			return 2
		}
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(string(a.from)+"\x00"+string(a.to), string(b.from)+"\x00"+string(b.to))
	})
	for _, k := range keys {
		f := c.rates[k]
		if k.material != material {
			continue
		}
		kd1, _ := DimensionOf(k.from)
		kd2, _ := DimensionOf(k.to)
		switch {
		case kd1 == fromDim && kd2 == toDim:
			if inFrom, err := q.In(k.from); err == nil {
				return newIn(inFrom.Value().Mul(f), k.to, to)
			}
		case kd1 == toDim && kd2 == fromDim:
			if inTo, err := q.In(k.to); err == nil {
				return newIn(inTo.Value().Div(f), k.from, to)
			}
		}
	}
	return Quantity{}, fmt.Errorf("%w: no conversion from %s to %s is set for material %q", ErrIncompatible, q.Unit(), to, material)
}

// newIn returns value, a quantity in unit u, converted to unit to.
func newIn(value decimal.Decimal, u, to Unit) (Quantity, error) {
	q, err := New(value, u)
	if err != nil {
		return Quantity{}, err
	}
	return q.In(to)
}
