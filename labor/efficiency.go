package labor

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/taktmes/takt/units"
)

// StandardTime is the standard time of an operation from routing data: setup plus run time
// per unit times the quantity (run per one of qty's units). It rounds to the nanosecond and
// refuses negative inputs and results too large for a time.Duration.
func StandardTime(setup, runPerUnit time.Duration, qty units.Quantity) (time.Duration, error) {
	var ps problems
	if setup < 0 {
		ps.add("setup", setup, "cannot be negative")
	}
	if runPerUnit < 0 {
		ps.add("runPerUnit", runPerUnit, "cannot be negative")
	}
	if qty.IsNegative() {
		ps.add("qty", qty, "cannot be negative")
	}
	if err := ps.err(); err != nil {
		return 0, err
	}
	run := decimal.NewFromInt(int64(runPerUnit)).Mul(qty.Value()).Round(0)
	total := run.Add(decimal.NewFromInt(int64(setup)))
	if total.GreaterThan(decimal.NewFromInt(math.MaxInt64)) {
		return 0, fmt.Errorf("%w: standard time %s + %s × %s exceeds %s; check the routing data", ErrInvalid, setup, runPerUnit, qty, time.Duration(math.MaxInt64))
	}
	return time.Duration(total.IntPart()), nil
}

// Dimension is what Efficiencies groups by.
type Dimension int

// Dimensions.
const (
	ByOperation  Dimension = iota // key: Operation.String()
	ByWorkOrder                   // key: the work order
	ByWorkCenter                  // key: the work center labor was booked at
	ByPerson                      // key: the person (machine time is not attributed to people)
)

// Performance is actual against standard time for one key of a Dimension.
type Performance struct {
	Key      string
	Standard time.Duration // standard time earned
	Actual   time.Duration // direct (setup and run) labor time booked
	Machine  time.Duration // machine time
}

// Efficiency is Standard / Actual rounded to 4 decimal places (1.25 = 125 %), and false when
// no labor was booked.
func (p Performance) Efficiency() (decimal.Decimal, bool) {
	if p.Actual <= 0 {
		return decimal.Zero, false
	}
	return decimal.NewFromInt(int64(p.Standard)).DivRound(decimal.NewFromInt(int64(p.Actual)), 4), true
}

func (d Dimension) key(s Slice) string {
	switch d {
	case ByWorkOrder:
		return s.Op.WorkOrder
	case ByWorkCenter:
		return s.WorkCenter
	case ByPerson:
		return s.Person
	default:
		return s.Op.String()
	}
}

// Efficiencies compares actual with standard time, grouped by the dimension, sorted by key.
// standards holds each operation's standard time (see StandardTime). Actual counts direct
// labor only (Setup and Run); indirect labor is not measured against standards. By work
// center and by person, an operation's standard is shared among the groups in proportion to
// the direct labor each booked on it; the standard of an operation nobody booked direct labor
// on goes to the empty key there.
func Efficiencies(by Dimension, standards map[Operation]time.Duration, labor, machine []Slice) []Performance {
	perf := map[string]*Performance{}
	get := func(k string) *Performance {
		if perf[k] == nil {
			perf[k] = &Performance{Key: k}
		}
		return perf[k]
	}
	direct := map[Operation]map[string]time.Duration{} // op -> key -> direct labor
	for _, s := range labor {
		if s.Activity != Setup && s.Activity != Run {
			continue
		}
		k := by.key(s)
		get(k).Actual += s.Time
		if direct[s.Op] == nil {
			direct[s.Op] = map[string]time.Duration{}
		}
		direct[s.Op][k] += s.Time
	}
	for _, s := range machine {
		if by != ByPerson {
			get(by.key(s)).Machine += s.Time
		}
	}
	for _, op := range slices.SortedFunc(maps.Keys(standards), func(a, b Operation) int {
		return strings.Compare(a.String(), b.String())
	}) {
		std := standards[op]
		if by == ByOperation || by == ByWorkOrder {
			get(by.key(Slice{Op: op})).Standard += std
			continue
		}
		var keys []string // who worked on the operation for more than no time
		var weights []uint64
		for _, k := range slices.Sorted(maps.Keys(direct[op])) {
			if w := direct[op][k]; w > 0 {
				keys, weights = append(keys, k), append(weights, uint64(w))
			}
		}
		if len(keys) == 0 || std < 0 {
			get("").Standard += std
			continue
		}
		for i, part := range share(std, weights) {
			get(keys[i]).Standard += part
		}
	}
	out := make([]Performance, 0, len(perf))
	for _, k := range slices.Sorted(maps.Keys(perf)) {
		out = append(out, *perf[k])
	}
	return out
}

// Costing holds the decimal rates that turn time into money.
type Costing struct {
	LaborRate    map[string]decimal.Decimal // person ID -> rate per labor hour
	OverheadRate decimal.Decimal            // rate per labor hour, applied to all labor
	MachineRate  map[string]decimal.Decimal // equipment ID -> rate per machine hour
}

// Cost is money spent, by kind, in the currency of the rates.
type Cost struct {
	Labor    decimal.Decimal
	Overhead decimal.Decimal
	Machine  decimal.Decimal
}

// Total is Labor + Overhead + Machine.
func (c Cost) Total() decimal.Decimal { return c.Labor.Add(c.Overhead).Add(c.Machine) }

// moneyPlaces is the precision costs are rounded to; round to the currency at the end.
const moneyPlaces = 6

var nsPerHour = decimal.NewFromInt(int64(time.Hour))

// Cost prices labor and machine slices (pass those of the scope to cost, a work order, say):
// each person's labor time at their labor rate plus all labor at the overhead rate, each
// equipment's machine time at its machine rate. Time is summed exactly per person and
// equipment, then priced and rounded to 6 decimal places. It reports every person and
// equipment that has time but no rate (a missing rate is never a silent zero).
func (c Costing) Cost(labor, machine []Slice) (Cost, error) {
	var ps problems
	price := func(path string, rates map[string]decimal.Decimal, times map[string]time.Duration) decimal.Decimal {
		sum := decimal.Zero
		for _, id := range slices.Sorted(maps.Keys(times)) {
			rate, ok := rates[id]
			if !ok {
				ps.add(fmt.Sprintf("%s[%q]", path, id), times[id], "has booked time but no rate; add the rate")
				continue
			}
			sum = sum.Add(hours(times[id], rate))
		}
		return sum
	}
	byPerson, byEquipment := map[string]time.Duration{}, map[string]time.Duration{}
	var all time.Duration
	for _, s := range labor {
		byPerson[s.Person] += s.Time
		all += s.Time
	}
	for _, s := range machine {
		byEquipment[s.Equipment] += s.Time
	}
	cost := Cost{
		Labor:    price("LaborRate", c.LaborRate, byPerson),
		Overhead: hours(all, c.OverheadRate),
		Machine:  price("MachineRate", c.MachineRate, byEquipment),
	}
	if err := ps.err(); err != nil {
		return Cost{}, err
	}
	return cost, nil
}

func hours(d time.Duration, rate decimal.Decimal) decimal.Decimal {
	return decimal.NewFromInt(int64(d)).Mul(rate).DivRound(nsPerHour, moneyPlaces)
}
