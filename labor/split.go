package labor

import (
	"math/bits"
	"slices"
	"time"
)

// Slice is a share of time booked to one operation: during [From, To) the operation
// accrued Time, which is less than To minus From when other operations ran at the same
// time (the span was split among them) or a break interrupted the span. Labor slices name
// a Person; machine slices name Equipment.
type Slice struct {
	Person     string
	Equipment  string
	WorkCenter string
	Op         Operation
	Activity   Activity
	Reason     string
	From, To   time.Time
	Time       time.Duration
}

// run is one operation's open span with its share weight; sweep splits time among runs.
type run struct {
	tmpl     Slice // the fields that identify the run; From, To and Time are set by sweep
	weight   uint64
	from, to time.Time
	start    string // a labor run's StartLabor record
}

// tally is what sweep measured in a window.
type tally struct {
	present, breaks, idle time.Duration
	slices                []Slice
}

// sweep walks the window in segments between consecutive boundaries of presence, breaks and
// runs. In each segment it counts presence; time on break counts as break only; the rest is
// split among the runs active then by weight, or counted idle when none is.
func sweep(window Interval, presence, breaks []Interval, runs []run) tally {
	cuts := []time.Time{window.From, window.To}
	addCut := func(t time.Time) {
		if t.After(window.From) && t.Before(window.To) {
			cuts = append(cuts, t)
		}
	}
	for _, iv := range slices.Concat(presence, breaks) {
		addCut(iv.From)
		addCut(iv.To)
	}
	for _, r := range runs {
		addCut(r.from)
		addCut(r.to)
	}
	slices.SortFunc(cuts, time.Time.Compare)
	cuts = slices.CompactFunc(cuts, time.Time.Equal)

	var t tally
	last := make([]int, len(runs)) // index+1 in t.slices of each run's latest slice
	var active []int
	var weights []uint64
	for i := 0; i+1 < len(cuts); i++ {
		a, b := cuts[i], cuts[i+1]
		d := b.Sub(a)
		if !covers(presence, a) {
			continue
		}
		t.present += d
		if covers(breaks, a) {
			t.breaks += d
			continue
		}
		active, weights = active[:0], weights[:0]
		for j, r := range runs {
			if !a.Before(r.from) && a.Before(r.to) {
				active = append(active, j)
				weights = append(weights, r.weight)
			}
		}
		if len(active) == 0 {
			t.idle += d
			continue
		}
		for k, part := range share(d, weights) {
			j := active[k]
			if n := last[j]; n > 0 && t.slices[n-1].To.Equal(a) {
				t.slices[n-1].To = b
				t.slices[n-1].Time += part
				continue
			}
			s := runs[j].tmpl
			s.From, s.To, s.Time = a, b, part
			t.slices = append(t.slices, s)
			last[j] = len(t.slices)
		}
	}
	return t
}

// covers reports whether an interval contains t.
func covers(ivs []Interval, t time.Time) bool {
	for _, iv := range ivs {
		if !t.Before(iv.From) && t.Before(iv.To) {
			return true
		}
	}
	return false
}

// share divides d among positive weights in proportion, exactly: every part is rounded down
// to the nanosecond and the nanoseconds left over go one each to the first parts, so the
// parts always add up to d.
func share(d time.Duration, weights []uint64) []time.Duration {
	var total uint64
	for _, w := range weights {
		total += w
	}
	parts := make([]time.Duration, len(weights))
	left := d
	for i, w := range weights {
		hi, lo := bits.Mul64(uint64(d), w)
		q, _ := bits.Div64(hi, lo, total) // hi < total because w <= total
		parts[i] = time.Duration(q)
		left -= parts[i]
	}
	for i := 0; left > 0; i++ {
		parts[i]++
		left--
	}
	return parts
}
