package labor

import (
	"fmt"
	"testing"
	"time"
)

// shiftRecords is a busy 8-hour shift: clock-in, a break, and 60 jobs of 20 minutes
// started every 8 minutes, so two or three run at once.
func shiftRecords() []Record {
	rs := []Record{{ID: "in", Person: "P1", Kind: ClockIn, At: at(6, 0)}}
	var stops []Record
	for i := range 60 {
		op := Operation{WorkOrder: fmt.Sprint("WO-", i), Lot: "L", Step: "10"}
		start := at(6, 0).Add(time.Duration(i) * 8 * time.Minute)
		for len(stops) > 0 && !stops[0].At.After(start) {
			rs, stops = append(rs, stops[0]), stops[1:]
		}
		rs = append(rs, Record{ID: fmt.Sprint("s", i), Person: "P1", Kind: StartLabor, At: start, Op: op, Activity: Run})
		stops = append(stops, Record{ID: fmt.Sprint("e", i), Person: "P1", Kind: StopLabor, At: start.Add(20 * time.Minute), Op: op})
	}
	rs = append(rs, stops...)
	return append(rs, Record{ID: "out", Person: "P1", Kind: ClockOut, At: at(14, 30)})
}

func BenchmarkReplayShift(b *testing.B) {
	rs := shiftRecords()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Replay("P1", rs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rs)), "records/op")
}

func BenchmarkApply(b *testing.B) {
	rs := shiftRecords()
	l, err := Replay("P1", rs[:len(rs)-1])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := l.Apply(rs[len(rs)-1]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTimesheetShift(b *testing.B) {
	l, err := Replay("P1", shiftRecords())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Timesheet(at(0, 0), at(23, 0)); err != nil {
			b.Fatal(err)
		}
	}
}
