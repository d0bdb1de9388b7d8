package labor

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

// FuzzLedger applies arbitrary sequences of bookings and corrections. Invariants: no
// panic; a refused booking leaves the ledger unchanged; replaying the log reproduces the
// ledger; a timesheet's present time is breaks + idle + labor and labor is the sum of its
// slices.
func FuzzLedger(f *testing.F) {
	f.Add([]byte{0, 0, 0, 6, 5, 1, 6, 30, 2, 7, 10, 1, 2, 5, 0, 3, 15, 0, 1, 20, 0})
	f.Add([]byte{0, 0, 0, 6, 0, 0, 1, 60, 0, 8, 0, 2, 9, 0, 1})
	f.Add([]byte{0, 1, 0, 4, 0, 0, 6, 0, 3, 5, 0, 0, 8, 0, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		ops := []Operation{opA, opB, opC, {}}
		kinds := []Kind{ClockIn, ClockOut, BreakStart, BreakEnd, LogOn, LogOff, StartLabor, StopLabor}
		l := NewLedger("P1")
		now := day
		for i := 0; i+2 < len(data) && i < 300; i += 3 {
			a, b, c := data[i], data[i+1], data[i+2]
			now = now.Add(time.Duration(b%40) * time.Minute)
			r := Record{ID: fmt.Sprint("r", i), Person: "P1", At: now, Op: ops[c%4], Activity: Run, Weight: int(c % 5)}
			if c%4 == 3 {
				r.Activity, r.Reason = Indirect, "CLEAN"
			}
			if c&0x10 != 0 {
				r.WorkCenter = "CNC"
			}
			switch k := int(a % 10); {
			case k < len(kinds):
				r.Kind = kinds[k]
			default: // a correction of an earlier record: void (k=8) or move it (k=9)
				log := l.Records()
				if len(log) == 0 {
					continue
				}
				target := log[int(c)%len(log)]
				r = target
				r.ID = fmt.Sprint("r", i)
				r.Correction = &Correction{Of: target.ID, Reason: "fuzz", Actor: "sup", At: now}
				if k == 8 {
					r.Kind = Void
				} else {
					r.At = r.At.Add(-time.Duration(b%30) * time.Minute)
				}
			}
			before := l
			next, _, err := l.Apply(r)
			if err != nil {
				if !reflect.DeepEqual(before, next) || !reflect.DeepEqual(before, l) {
					t.Fatalf("refused %+v changed the ledger: %v", r, err)
				}
				continue
			}
			l = next
		}
		again, err := Replay("P1", l.Records())
		if err != nil || !reflect.DeepEqual(again, l) {
			t.Fatalf("replay differs: %v", err)
		}
		ts, err := l.Timesheet(day, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var sum time.Duration
		for _, s := range ts.Slices {
			sum += s.Time
			if s.Time < 0 || s.Time > s.To.Sub(s.From) {
				t.Fatalf("slice %+v has a share outside its span", s)
			}
		}
		if sum != ts.Labor || ts.Present != ts.Breaks+ts.Idle+ts.Labor {
			t.Fatalf("timesheet does not add up: %+v", ts)
		}
	})
}
