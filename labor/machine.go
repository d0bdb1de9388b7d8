package labor

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// MachineRun is an interval in which a piece of equipment ran an operation, independent of
// any person (the machine may run while the operator is elsewhere). The engine derives runs
// from equipment signals. A zero To means the equipment still runs the operation.
type MachineRun struct {
	Equipment  string
	WorkCenter string
	Op         Operation
	From, To   time.Time
}

// MachineTime returns the machine time of the runs within [from, to), one or more slices per
// run. Equipment running several operations at once (a batch oven, a multi-spindle) has
// each instant split equally among them; different equipment never share time. It reports
// every malformed run at once: missing equipment or operation, To before From, and two
// runs of one operation on one equipment that overlap. A run that ends as it begins takes
// no time.
func MachineTime(runs []MachineRun, from, to time.Time) ([]Slice, error) {
	var ps problems
	if !from.Before(to) {
		ps.add("window", fmt.Sprintf("%s to %s", from, to), "pass from before to")
	}
	byEquipment := map[string][]run{}
	for i, m := range runs {
		at := fmt.Sprintf("runs[%d]", i)
		if m.Equipment == "" {
			ps.add(at+".Equipment", m.Equipment, "a machine run needs the equipment")
		}
		if m.Op.IsZero() {
			ps.add(at+".Op", m.Op, "a machine run needs the operation")
		}
		end := m.To
		if end.IsZero() {
			end = to
		}
		switch {
		case m.From.IsZero():
			ps.add(at+".From", m.From, "a machine run needs its start")
		case !m.To.IsZero() && m.To.Before(m.From):
			ps.add(at+".To", m.To, "must not be before From %s", m.From)
		case m.To.Equal(m.From):
			continue // a run that ended as it began (track-in and track-out at one instant) took no time
		}
		for j, o := range runs[:i] {
			oEnd := o.To
			if oEnd.IsZero() {
				oEnd = to
			}
			if o.Equipment == m.Equipment && o.Op == m.Op && m.From.Before(oEnd) && o.From.Before(end) {
				ps.add(at, m.Op, "overlaps runs[%d] of the same operation on equipment %q; merge them", j, m.Equipment)
			}
		}
		byEquipment[m.Equipment] = append(byEquipment[m.Equipment], run{
			tmpl:   Slice{Equipment: m.Equipment, WorkCenter: m.WorkCenter, Op: m.Op},
			weight: 1, from: m.From, to: end,
		})
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	window := Interval{From: from.UTC(), To: to.UTC()}
	var out []Slice
	for _, eq := range slices.Sorted(maps.Keys(byEquipment)) {
		out = append(out, sweep(window, []Interval{window}, nil, byEquipment[eq]).slices...)
	}
	return out, nil
}
