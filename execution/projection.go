package execution

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Interval is the half-open span [From, To).
type Interval struct {
	From, To time.Time
}

// Calendar gives the working time of a plant: the working intervals overlapping [from, to),
// in any order (they are sorted and clipped). A shift calendar adapts to it by returning
// each shift minus its breaks.
type Calendar interface {
	WorkingTime(from, to time.Time) ([]Interval, error)
}

// CalendarFunc adapts a function to Calendar.
type CalendarFunc func(from, to time.Time) ([]Interval, error)

// WorkingTime implements Calendar.
func (f CalendarFunc) WorkingTime(from, to time.Time) ([]Interval, error) { return f(from, to) }

// maxSearch is how far AddWorking looks for working time before giving up.
const maxSearch = 400 * 24 * time.Hour

// AddWorking returns the instant at which d of working time has passed after t: only the
// calendar's working intervals count. A nil calendar counts every hour (24/7). d of zero
// returns t. It fails with ErrNoWorkingTime when the calendar has too little working time
// within 400 days.
func AddWorking(cal Calendar, t time.Time, d time.Duration) (time.Time, error) {
	if d <= 0 {
		return t, nil
	}
	if cal == nil {
		return t.Add(d), nil
	}
	const chunk = 7 * 24 * time.Hour
	for from := t; from.Sub(t) < maxSearch; from = from.Add(chunk) {
		ivs, err := cal.WorkingTime(from, from.Add(chunk))
		if err != nil {
			return time.Time{}, err
		}
		slices.SortFunc(ivs, func(a, b Interval) int { return a.From.Compare(b.From) })
		cursor := from // working time before cursor is counted already
		for _, iv := range ivs {
			start, end := later(iv.From, cursor), earlier(iv.To, from.Add(chunk))
			if !start.Before(end) {
				continue
			}
			if end.Sub(start) >= d {
				return start.Add(d), nil
			}
			d -= end.Sub(start)
			cursor = end
		}
	}
	return time.Time{}, fmt.Errorf("%w: the calendar has less working time than needed within %d days of %s; check the shift calendar", ErrNoWorkingTime, int(maxSearch.Hours()/24), t.Format(time.RFC3339))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Operation is a remaining operation of a work order, in routing order.
type Operation struct {
	Step       string
	WorkCenter string
	Setup      time.Duration // standard setup time, once per operation
	RunPerUnit time.Duration // standard run time per unit
	// Quantity is the quantity still to process at the step (0: nothing left; the
	// operation then takes no time).
	Quantity decimal.Decimal
}

// Work is the operation's standard time: Setup + RunPerUnit × Quantity, or 0 when Quantity
// is 0. Fractions of a second of the run are rounded up. A time too long for a
// time.Duration (about 292 years; Project refuses it) is the longest Duration.
func (o Operation) Work() time.Duration {
	w, _ := o.work()
	return w
}

// work is Work, and whether it fits in a time.Duration.
func (o Operation) work() (time.Duration, bool) {
	if !o.Quantity.IsPositive() {
		return 0, true
	}
	second := decimal.NewFromInt(int64(time.Second))
	run := decimal.NewFromInt(int64(o.RunPerUnit)).Mul(o.Quantity).Div(second).Ceil().Mul(second)
	total := run.Add(decimal.NewFromInt(int64(o.Setup)))
	if total.GreaterThan(decimal.NewFromInt(math.MaxInt64)) {
		return math.MaxInt64, false
	}
	return time.Duration(total.IntPart()), true
}

// Planned is one operation as projected.
type Planned struct {
	Step       string
	WorkCenter string
	Ahead      time.Duration // work queued ahead at the work center
	Work       time.Duration // the operation's standard time
	Start      time.Time
	Finish     time.Time
}

// Projection is when a work order's remaining operations are projected to run.
type Projection struct {
	From   time.Time // when the projection was made
	Finish time.Time // the projected completion
	Steps  []Planned
}

// Late returns how much later than due the projection finishes: positive when late,
// negative when early, 0 when due is zero (no due date).
func (p Projection) Late(due time.Time) time.Duration {
	if due.IsZero() {
		return 0
	}
	return p.Finish.Sub(due)
}

// Crosses reports whether the projected completion is after due (never for a zero due).
func (p Projection) Crosses(due time.Time) bool { return p.Late(due) > 0 }

// Project schedules the remaining operations of a work order from now, one after the other,
// behind the work queued ahead of each at its work center (ahead, by work center), counting
// only the calendar's working time (nil: 24/7). With W(t, d) = AddWorking(cal, t, d):
//
//	start(i)  = max(finish(i-1), W(now, ahead[workCenter(i)]))   finish(-1) = now
//	finish(i) = W(start(i), work(i))                              work = Setup + RunPerUnit × Quantity
//	completion = finish(last)  (now when nothing remains)
//
// The work ahead drains from now, in parallel with the order's earlier operations; each work
// center runs one job at a time. Problems with the operations (negative times or
// quantities) are all reported in one *ValidationError.
func Project(now time.Time, ops []Operation, ahead map[string]time.Duration, cal Calendar) (Projection, error) {
	v := &ValidationError{What: "operations"}
	for i, o := range ops {
		if o.Setup < 0 || o.RunPerUnit < 0 {
			v.Problems = append(v.Problems, Problem{Field: fmt.Sprintf("operations[%d]", i), Value: o.Step, Reason: "standard times must not be negative"})
		}
		if o.Quantity.IsNegative() {
			v.Problems = append(v.Problems, Problem{Field: fmt.Sprintf("operations[%d].quantity", i), Value: o.Quantity.String(), Reason: "must not be negative"})
		}
		if _, ok := o.work(); !ok {
			v.Problems = append(v.Problems, Problem{Field: fmt.Sprintf("operations[%d].quantity", i), Value: o.Quantity.String(),
				Reason: fmt.Sprintf("%s per unit for this quantity is longer than a duration holds (about 292 years); check the quantity and the run time", o.RunPerUnit)})
		}
		if ahead[o.WorkCenter] < 0 {
			v.Problems = append(v.Problems, Problem{Field: "ahead." + o.WorkCenter, Value: ahead[o.WorkCenter].String(), Reason: "must not be negative"})
		}
	}
	if len(v.Problems) > 0 {
		return Projection{}, v
	}
	p := Projection{From: now, Finish: now, Steps: make([]Planned, 0, len(ops))}
	for _, o := range ops {
		free, err := AddWorking(cal, now, ahead[o.WorkCenter])
		if err != nil {
			return Projection{}, err
		}
		pl := Planned{Step: o.Step, WorkCenter: o.WorkCenter, Ahead: ahead[o.WorkCenter], Work: o.Work(), Start: later(p.Finish, free)}
		if pl.Finish, err = AddWorking(cal, pl.Start, pl.Work); err != nil {
			return Projection{}, err
		}
		p.Steps = append(p.Steps, pl)
		p.Finish = pl.Finish
	}
	return p, nil
}
