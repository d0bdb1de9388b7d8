package execution

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// RecordKind says what a Record reports.
type RecordKind string

// Record kinds, and the fields each uses besides Kind, Time and Shift.
const (
	OrderReleased   RecordKind = "order_released"   // WorkOrder, Product, Due
	OrderCompleted  RecordKind = "order_completed"  // WorkOrder, Product, Due
	PriorityChanged RecordKind = "priority_changed" // WorkOrder, Product, From, To
	LotStarted      RecordKind = "lot_started"      // Lot, WorkOrder, Product, Rework
	TrackedIn       RecordKind = "tracked_in"       // Lot, Step, WorkCenter, Product, SetupFamily
	TrackedOut      RecordKind = "tracked_out"      // Lot, Step, WorkCenter, Product, Good, Scrap, Reworked
	Scrapped        RecordKind = "scrapped"         // Lot, Step, WorkCenter, Product, Qty, Reason
	StepCompleted   RecordKind = "step_completed"   // Lot, Step, WorkCenter, Product
	LotCompleted    RecordKind = "lot_completed"    // Lot, Product
)

// Record is one fact of execution history, as the engine adapts it from its events.
// Quantities are numbers in the product's unit.
type Record struct {
	Kind       RecordKind
	Time       time.Time
	WorkCenter string
	Product    string
	Shift      string // the shift the record's time falls in; "" outside shifts
	WorkOrder  string
	Lot        string
	Step       string
	Due        time.Time // order records: the order's due date
	From, To   int       // PriorityChanged: the priority before and after (1 is the most urgent)
	// SetupFamily is the setup family of the operation tracked in.
	SetupFamily string
	Good        decimal.Decimal // TrackedOut
	Scrap       decimal.Decimal // TrackedOut: all reasons
	Reworked    decimal.Decimal // TrackedOut: split off to rework
	Qty         decimal.Decimal // Scrapped
	Reason      string          // Scrapped: the scrap reason code
	// Rework marks a lot started on a rework path (LotStarted): none of its processing is
	// first pass.
	Rework bool
}

// Dimension is a way to group KPIs.
type Dimension string

// Dimensions.
const (
	ByWorkCenter Dimension = "work_center"
	ByProduct    Dimension = "product"
	ByShift      Dimension = "shift"
)

// Window is the half-open span [From, To) KPIs are computed over.
type Window struct {
	From, To time.Time
}

// Group is the key of one set of KPIs: the dimensions not grouped by are "".
type Group struct {
	WorkCenter string
	Product    string
	Shift      string
}

// Stat summarises durations: how many, their mean and their maximum.
type Stat struct {
	Count int
	Mean  time.Duration
	Max   time.Duration
	sum   time.Duration
}

func (s *Stat) add(d time.Duration) {
	s.Count++
	s.sum += d
	s.Max = max(s.Max, d)
	s.Mean = s.sum / time.Duration(s.Count)
}

// KPIs are the execution KPIs of one group over a window. A record counts in the window when
// its Time is in [From, To); records before From still give the state (when a lot started,
// was released or became ready). Records whose kind lacks a grouped dimension (an order
// completion has no work center) fall in the group where that dimension is "".
type KPIs struct {
	Group
	// QueueTime: for each (lot, step) tracked in for the first time in the window, the
	// track-in time minus the time the lot became ready for the step — its start
	// (LotStarted), or else the completion of its previous operation (StepCompleted).
	// Grouped by the track-in's work center, product and shift.
	QueueTime Stat
	// WaitBetweenSteps: for each lot completed in the window, its lead time (LotCompleted
	// minus LotStarted) minus its processing time (the sum over its steps of the last
	// track-out or completion minus the first track-in). Grouped by product and the
	// completion's shift.
	WaitBetweenSteps Stat
	// LeadTime: for each work order completed in the window, OrderCompleted minus
	// OrderReleased. Grouped by product and the completion's shift.
	LeadTime Stat
	// Completed is the number of work orders completed in the window; OnTime those completed
	// at or before their due date (orders without a due date are on time).
	Completed, OnTime int
	// ScheduleAdherence = OnTime / Completed (0 when nothing completed).
	ScheduleAdherence float64
	// WIP is the work in process at the end of the window: with ByWorkCenter, each (lot, step)
	// of a lot not completed, tracked in at the work center and not completed there by To;
	// otherwise each lot started and not completed by To. WIPAge: To minus the time the lot
	// became ready for the step (per step) or started (per lot).
	WIP    int
	WIPAge Stat
	// Processed = Σ (Good + Scrap + Reworked) of the track-outs in the window; FirstPass is
	// the same sum over track-outs of lots not on a rework path and FirstPassGood their Good.
	Processed, FirstPass, FirstPassGood, FirstPassReworked decimal.Decimal
	// FirstPassYield = FirstPassGood / FirstPass; ReworkRate = FirstPassReworked / FirstPass
	// (0 when FirstPass is 0).
	FirstPassYield, ReworkRate float64
	// ScrapByReason: Σ Qty of the Scrapped records in the window by reason;
	// ScrapRate[reason] = ScrapByReason[reason] / Processed (0 when Processed is 0).
	ScrapByReason map[string]decimal.Decimal
	ScrapRate     map[string]float64
	// Changeovers: track-ins in the window whose setup family differs from that of the
	// previous track-in at the same work center (the first track-in seen at a work center,
	// and operations without a setup family, are not changeovers).
	Changeovers int
	// Expedites: priority changes in the window that made a released work order more urgent
	// (To < From, 1 being the most urgent).
	Expedites int
}

type lotStep struct{ lot, step string }

// Compute computes the KPIs of records over w, grouped by the dimensions given (none: one
// group for everything). Records need not be sorted (they are, stably, by time). Groups are
// returned sorted by work center, product and shift; a group appears when at least one
// record of the window or one WIP item falls in it.
func Compute(records []Record, w Window, by ...Dimension) ([]KPIs, error) {
	if !w.From.Before(w.To) {
		return nil, &ValidationError{What: "window", Problems: []Problem{{Field: "window", Value: fmt.Sprintf("%s to %s", w.From, w.To), Reason: "From must be before To"}}}
	}
	for i, d := range by {
		if d != ByWorkCenter && d != ByProduct && d != ByShift {
			return nil, &ValidationError{What: "grouping", Problems: []Problem{{Field: fmt.Sprintf("by[%d]", i), Value: string(d), Reason: "use work_center, product or shift"}}}
		}
	}
	recs := slices.Clone(records)
	slices.SortStableFunc(recs, func(a, b Record) int { return a.Time.Compare(b.Time) })
	k := &kpiState{by: by, groups: map[Group]*KPIs{}, window: w,
		ready: map[string]time.Time{}, started: map[string]time.Time{}, rework: map[string]bool{}, released: map[string]time.Time{},
		firstIn: map[lotStep]time.Time{}, lastOut: map[lotStep]time.Time{}, stepWC: map[lotStep]string{}, stepReady: map[lotStep]time.Time{},
		family: map[string]string{}, product: map[string]string{}, steps: map[string][]lotStep{}}
	for i := range recs {
		if recs[i].Time.Before(w.To) {
			k.add(&recs[i])
		}
	}
	k.wip()
	out := make([]KPIs, 0, len(k.groups))
	for _, g := range k.groups {
		g.finish()
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b KPIs) int {
		return cmp.Or(cmp.Compare(a.WorkCenter, b.WorkCenter), cmp.Compare(a.Product, b.Product), cmp.Compare(a.Shift, b.Shift))
	})
	return out, nil
}

type kpiState struct {
	by     []Dimension
	window Window
	groups map[Group]*KPIs
	// per lot
	ready   map[string]time.Time // when the lot became ready for its next step
	started map[string]time.Time
	rework  map[string]bool
	product map[string]string
	steps   map[string][]lotStep // the steps tracked in, in order
	// per work order
	released map[string]time.Time
	// per (lot, step)
	firstIn, lastOut, stepReady map[lotStep]time.Time
	stepWC                      map[lotStep]string
	// per work center: the setup family of the last track-in
	family map[string]string
}

// group returns the KPIs of the group of a record with these dimensions.
func (k *kpiState) group(wc, product, shift string) *KPIs {
	var g Group
	for _, d := range k.by {
		switch d {
		case ByWorkCenter:
			g.WorkCenter = wc
		case ByProduct:
			g.Product = product
		case ByShift:
			g.Shift = shift
		}
	}
	if k.groups[g] == nil {
		k.groups[g] = &KPIs{Group: g, Processed: decimal.Zero, FirstPass: decimal.Zero, FirstPassGood: decimal.Zero,
			FirstPassReworked: decimal.Zero, ScrapByReason: map[string]decimal.Decimal{}, ScrapRate: map[string]float64{}}
	}
	return k.groups[g]
}

func (k *kpiState) add(r *Record) {
	in := !r.Time.Before(k.window.From)
	ls := lotStep{r.Lot, r.Step}
	if r.Product != "" && r.Lot != "" {
		k.product[r.Lot] = r.Product
	}
	switch r.Kind {
	case OrderReleased:
		k.released[r.WorkOrder] = r.Time
	case OrderCompleted:
		if !in {
			return
		}
		g := k.group("", r.Product, r.Shift)
		g.Completed++
		if r.Due.IsZero() || !r.Time.After(r.Due) {
			g.OnTime++
		}
		if rel, ok := k.released[r.WorkOrder]; ok {
			g.LeadTime.add(r.Time.Sub(rel))
		}
	case PriorityChanged:
		if _, ok := k.released[r.WorkOrder]; ok && in && r.To < r.From {
			k.group("", r.Product, r.Shift).Expedites++
		}
	case LotStarted:
		k.started[r.Lot], k.ready[r.Lot], k.rework[r.Lot] = r.Time, r.Time, r.Rework
	case TrackedIn:
		k.stepWC[ls] = r.WorkCenter
		if _, seen := k.firstIn[ls]; !seen {
			k.firstIn[ls] = r.Time
			k.steps[r.Lot] = append(k.steps[r.Lot], ls)
			ready, ok := k.ready[r.Lot]
			k.stepReady[ls] = r.Time
			if ok {
				k.stepReady[ls] = ready
			}
			if ok && in {
				k.group(r.WorkCenter, r.Product, r.Shift).QueueTime.add(r.Time.Sub(ready))
			}
		}
		prev, seen := k.family[r.WorkCenter]
		if r.SetupFamily != "" {
			if seen && prev != r.SetupFamily && in {
				k.group(r.WorkCenter, r.Product, r.Shift).Changeovers++
			}
			k.family[r.WorkCenter] = r.SetupFamily
		}
	case TrackedOut:
		k.lastOut[ls] = r.Time
		if !in {
			return
		}
		g := k.group(r.WorkCenter, r.Product, r.Shift)
		total := r.Good.Add(r.Scrap).Add(r.Reworked)
		g.Processed = g.Processed.Add(total)
		if !k.rework[r.Lot] {
			g.FirstPass = g.FirstPass.Add(total)
			g.FirstPassGood = g.FirstPassGood.Add(r.Good)
			g.FirstPassReworked = g.FirstPassReworked.Add(r.Reworked)
		}
	case Scrapped:
		if in {
			g := k.group(r.WorkCenter, r.Product, r.Shift)
			g.ScrapByReason[r.Reason] = g.ScrapByReason[r.Reason].Add(r.Qty)
		}
	case StepCompleted:
		k.lastOut[ls] = r.Time
		k.ready[r.Lot] = r.Time
		if _, ok := k.stepWC[ls]; !ok {
			k.stepWC[ls] = r.WorkCenter
		}
		k.stepReady[ls] = time.Time{} // done: no longer in WIP
	case LotCompleted:
		start, ok := k.started[r.Lot]
		if ok && in {
			var processing time.Duration
			for _, s := range k.steps[r.Lot] {
				processing += max(k.lastOut[s].Sub(k.firstIn[s]), 0)
			}
			k.group("", r.Product, r.Shift).WaitBetweenSteps.add(max(r.Time.Sub(start)-processing, 0))
		}
		delete(k.started, r.Lot)
	}
}

// wip counts the work in process at the window's end.
func (k *kpiState) wip() {
	byWC := slices.Contains(k.by, ByWorkCenter)
	if !byWC {
		for lot, start := range k.started {
			g := k.group("", k.product[lot], "")
			g.WIP++
			g.WIPAge.add(k.window.To.Sub(start))
		}
		return
	}
	for s, ready := range k.stepReady {
		if ready.IsZero() {
			continue
		}
		if _, open := k.started[s.lot]; !open {
			continue
		}
		g := k.group(k.stepWC[s], k.product[s.lot], "")
		g.WIP++
		g.WIPAge.add(k.window.To.Sub(ready))
	}
}

func (g *KPIs) finish() {
	ratio := func(a, b decimal.Decimal) float64 {
		if b.IsZero() {
			return 0
		}
		return a.Div(b).InexactFloat64()
	}
	if g.Completed > 0 {
		g.ScheduleAdherence = float64(g.OnTime) / float64(g.Completed)
	}
	g.FirstPassYield = ratio(g.FirstPassGood, g.FirstPass)
	g.ReworkRate = ratio(g.FirstPassReworked, g.FirstPass)
	for reason, q := range g.ScrapByReason {
		g.ScrapRate[reason] = ratio(q, g.Processed)
	}
}
