package equipment

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Ratio is an OEE ratio. When it cannot be computed (nothing to divide by) Defined is false,
// Value is 0 and Note says why: a ratio is never NaN or infinite.
type Ratio struct {
	// Value is the ratio, 0.8881 for 88.81 %. It may exceed 1 for performance (see OEEReport).
	Value float64 `json:"value"`
	// Defined is false when the ratio has no meaning for the data.
	Defined bool `json:"defined"`
	// Note explains an undefined or unusual value.
	Note string `json:"note,omitempty"`
}

func ratio(num, den float64) Ratio { return Ratio{Value: num / den, Defined: true} }

func undefined(note string, args ...any) Ratio {
	return Ratio{Note: fmt.Sprintf(note, args...)}
}

// DowntimeLoss is unplanned non-running time of one state and reason.
type DowntimeLoss struct {
	// State is Idle, Down, Setup or Unknown.
	State MachineState `json:"state"`
	// Reason is the effective reason (corrections applied); empty when none was given.
	Reason string `json:"reason,omitempty"`
	// Duration is the time lost.
	Duration time.Duration `json:"duration"`
}

// Losses breaks planned busy time down into where it went. With FullyProductive =
// ideal cycle time × good parts:
//
//	PlannedBusy = Σ Downtime + SpeedLoss + QualityLoss + FullyProductive
type Losses struct {
	// Downtime is the unplanned non-running time by state and reason, largest first.
	Downtime []DowntimeLoss `json:"downtime,omitempty"`
	// Speed is run time minus the ideal time for all parts counted; negative when
	// performance exceeds 1.
	Speed time.Duration `json:"speed"`
	// Quality is the ideal time spent on rejected parts.
	Quality time.Duration `json:"quality"`
}

// OEEReport is OEE for a time window as ISO 22400-2 defines it:
//
//	PlannedBusy  = window − planned stops                 (PBT)
//	Availability = Run / PlannedBusy                      (APT / PBT)
//	Performance  = IdealCycleTime × (Good+Reject) / Run   (ideal time / APT)
//	Quality      = Good / (Good+Reject)
//	OEE          = Availability × Performance × Quality
//
// Planned stops are the spans passed to OEE together with the equipment's own PlannedStop
// intervals; their time, and parts counted during them, are left out of every ratio (the
// parts are reported in ExcludedGood and ExcludedReject). Idle, Down, Setup and Unknown time
// inside planned busy time is unplanned downtime.
//
// Edge cases: with no planned busy time Availability and OEE are undefined; with no running
// time Performance is undefined (Note says so when parts were counted anyway, a sign of
// missing state signals) and OEE is 0 if no part was counted, else undefined; with no
// parts Quality is undefined and OEE is 0. Performance above 1 is reported as measured, not
// capped: it means the ideal cycle time is slower than the machine or counts are wrong, and
// capping would hide that.
type OEEReport struct {
	// Window is the time the report covers (for an aggregate, from the earliest start to the
	// latest end of its parts).
	Window Span `json:"window"`
	// PlannedStop is the planned stop time inside the window.
	PlannedStop time.Duration `json:"planned_stop"`
	// PlannedBusy is the window minus planned stops.
	PlannedBusy time.Duration `json:"planned_busy"`
	// Run is the running time inside planned busy time.
	Run time.Duration `json:"run"`
	// IdealProduction is the ideal cycle time × parts counted (good and reject).
	IdealProduction time.Duration `json:"ideal_production"`
	// Good and Reject are the parts counted inside planned busy time.
	Good   int64 `json:"good"`
	Reject int64 `json:"reject"`
	// ExcludedGood and ExcludedReject are the parts counted during planned stops.
	ExcludedGood   int64 `json:"excluded_good,omitempty"`
	ExcludedReject int64 `json:"excluded_reject,omitempty"`
	// Availability, Performance, Quality and OEE are the ratios.
	Availability Ratio `json:"availability"`
	Performance  Ratio `json:"performance"`
	Quality      Ratio `json:"quality"`
	OEE          Ratio `json:"oee"`
	// Losses is the loss breakdown.
	Losses Losses `json:"losses"`
}

// OEE computes the OEE report of this equipment for window, with plannedStops (breaks,
// meals, planned maintenance from the shift calendar; they may overlap each other and
// extend beyond the window) and the equipment's ideal cycle time (Equipment.IdealCycleTime).
// The window should end no later than the present (see History).
func (t *Timeline) OEE(window Span, plannedStops []Span, idealCycleTime time.Duration) (OEEReport, error) {
	if idealCycleTime <= 0 {
		return OEEReport{}, fmt.Errorf("%w: got %s for %q; set Equipment.IdealCycleTime", ErrNoIdealCycleTime, idealCycleTime, t.equipment)
	}
	history, err := t.History(window)
	if err != nil {
		return OEEReport{}, err
	}
	planned := make([]Span, 0, len(plannedStops))
	for i, p := range plannedStops {
		if err := p.check(fmt.Sprintf("planned stop %d", i)); err != nil {
			return OEEReport{}, err
		}
		planned = append(planned, p)
	}
	for _, iv := range history {
		if iv.State == PlannedStop {
			planned = append(planned, iv.Span)
		}
	}
	planned = union(planned, window)

	r := OEEReport{Window: window}
	for _, p := range planned {
		r.PlannedStop += p.Duration()
	}
	r.PlannedBusy = window.Duration() - r.PlannedStop
	down := map[DowntimeLoss]time.Duration{}
	for _, iv := range history {
		if iv.State == PlannedStop {
			continue
		}
		busy := iv.Duration() - overlap(iv.Span, planned)
		if iv.State == Running {
			r.Run += busy
		} else if busy > 0 {
			down[DowntimeLoss{State: iv.State, Reason: iv.Reason}] += busy
		}
	}
	for k := t.firstCountFrom(window.Start); k < len(t.counts) && t.counts[k].At.Before(window.End); k++ {
		c := t.counts[k]
		if overlap(Span{c.At, c.At.Add(1)}, planned) > 0 {
			r.ExcludedGood += c.Good
			r.ExcludedReject += c.Reject
		} else {
			r.Good += c.Good
			r.Reject += c.Reject
		}
	}
	if r.IdealProduction, err = mulDuration(idealCycleTime, r.Good+r.Reject); err != nil {
		return OEEReport{}, err
	}
	if r.Losses.Quality, err = mulDuration(idealCycleTime, r.Reject); err != nil {
		return OEEReport{}, err
	}
	r.Losses.Downtime = sortedLosses(down)
	r.finish()
	return r, nil
}

// union clips spans to window and merges overlapping ones, sorted by start.
func union(spans []Span, window Span) []Span {
	var out []Span
	for _, s := range spans {
		s.Start, s.End = maxTime(s.Start, window.Start), minTime(s.End, window.End)
		if s.Start.Before(s.End) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Span) int { return a.Start.Compare(b.Start) })
	merged := out[:0]
	for _, s := range out {
		if n := len(merged); n > 0 && !s.Start.After(merged[n-1].End) {
			merged[n-1].End = maxTime(merged[n-1].End, s.End)
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// overlap returns how much of s lies inside the sorted, disjoint spans.
func overlap(s Span, spans []Span) time.Duration {
	i, _ := slices.BinarySearchFunc(spans, s.Start, func(p Span, at time.Time) int {
		if p.End.After(at) {
			return 1
		}
		return -1
	})
	var d time.Duration
	for ; i < len(spans) && spans[i].Start.Before(s.End); i++ {
		if o := minTime(s.End, spans[i].End).Sub(maxTime(s.Start, spans[i].Start)); o > 0 {
			d += o
		}
	}
	return d
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func mulDuration(d time.Duration, n int64) (time.Duration, error) {
	if n != 0 && int64(d) > math.MaxInt64/n {
		return 0, fmt.Errorf("%w: %d parts × %s does not fit in a duration; check the counts", ErrOverflow, n, d)
	}
	return d * time.Duration(n), nil
}

func sortedLosses(m map[DowntimeLoss]time.Duration) []DowntimeLoss {
	out := make([]DowntimeLoss, 0, len(m))
	for k, d := range m {
		k.Duration = d
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b DowntimeLoss) int {
		if n := cmp.Compare(b.Duration, a.Duration); n != 0 {
			return n
		}
		if n := strings.Compare(string(a.State), string(b.State)); n != 0 {
			return n
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	return out
}

// finish computes the ratios and speed loss from the sums.
func (r *OEEReport) finish() {
	total := r.Good + r.Reject
	r.Losses.Speed = r.Run - r.IdealProduction
	r.Availability, r.Performance, r.Quality, r.OEE = Ratio{}, Ratio{}, Ratio{}, Ratio{}
	if r.PlannedBusy > 0 {
		r.Availability = ratio(float64(r.Run), float64(r.PlannedBusy))
	} else {
		r.Availability = undefined("no planned busy time: the window is empty or entirely planned stops")
	}
	switch {
	case r.Run > 0:
		r.Performance = ratio(float64(r.IdealProduction), float64(r.Run))
		if r.Performance.Value > 1 {
			r.Performance.Note = "above 1: the machine beat its ideal cycle time; check IdealCycleTime and the counts"
		}
	case total > 0:
		r.Performance = undefined("%d parts counted with no running time; check that the device sends state signals", total)
	default:
		r.Performance = undefined("no running time")
	}
	if total > 0 {
		r.Quality = ratio(float64(r.Good), float64(total))
	} else {
		r.Quality = undefined("no parts counted")
	}
	switch {
	case !r.Availability.Defined:
		r.OEE = undefined("no planned busy time")
	case total == 0:
		r.OEE = Ratio{Value: 0, Defined: true, Note: "no parts counted"}
	case !r.Performance.Defined:
		r.OEE = undefined("%s", r.Performance.Note)
	default:
		r.OEE = Ratio{Value: r.Availability.Value * r.Performance.Value * r.Quality.Value, Defined: true}
	}
}

// AggregateOEE combines reports, for example of the work units of a work center over one
// shift, or of one equipment over several shifts. It sums times and counts and recomputes
// the ratios from the sums (it never averages ratios), so a machine counts in proportion
// to its planned busy time and output. Downtime losses of equal state and reason are
// added. Window becomes the span from the earliest start to the latest end.
func AggregateOEE(reports ...OEEReport) (OEEReport, error) {
	var r OEEReport
	down := map[DowntimeLoss]time.Duration{}
	for i, p := range reports {
		if i == 0 || p.Window.Start.Before(r.Window.Start) {
			r.Window.Start = p.Window.Start
		}
		if i == 0 || p.Window.End.After(r.Window.End) {
			r.Window.End = p.Window.End
		}
		ok := addChecked(&r.PlannedStop, p.PlannedStop) && addChecked(&r.PlannedBusy, p.PlannedBusy) &&
			addChecked(&r.Run, p.Run) && addChecked(&r.IdealProduction, p.IdealProduction) &&
			addChecked(&r.Losses.Quality, p.Losses.Quality) && addChecked(&r.Good, p.Good) &&
			addChecked(&r.Reject, p.Reject) && addChecked(&r.ExcludedGood, p.ExcludedGood) &&
			addChecked(&r.ExcludedReject, p.ExcludedReject)
		if !ok {
			return OEEReport{}, fmt.Errorf("%w: the sum of %d reports overflows; aggregate fewer", ErrOverflow, len(reports))
		}
		for _, d := range p.Losses.Downtime {
			down[DowntimeLoss{State: d.State, Reason: d.Reason}] += d.Duration
		}
	}
	r.Losses.Downtime = sortedLosses(down)
	r.finish()
	return r, nil
}

// addChecked adds add to *into and reports false, leaving *into unchanged, on overflow.
func addChecked[T ~int64](into *T, add T) bool {
	sum := *into + add
	if (add > 0 && sum < *into) || (add < 0 && sum > *into) {
		return false
	}
	*into = sum
	return true
}
