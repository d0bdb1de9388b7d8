package equipment

import (
	"testing"
	"time"
)

// benchStream returns n in-order signals from one source: 9 counts to 1 state change.
func benchStream(n int) []Signal {
	out := make([]Signal, n)
	for i := range out {
		at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		if i%10 == 0 {
			st := Running
			if i%20 == 0 {
				st = Idle
			}
			out[i] = stateSig("plc", uint64(i+1), at, st, "")
		} else {
			out[i] = countSig("plc", uint64(i+1), at, 1, 0)
		}
	}
	return out
}

// BenchmarkTimelineApply measures Apply on realistic streams. The timeline is pruned every
// len(stream) signals, as a host bounding memory would, and the stream is shifted in time
// and seq each round so every signal is new.
func BenchmarkTimelineApply(b *testing.B) {
	const n = 1 << 14
	for _, bc := range []struct {
		name    string
		reorder func([]Signal)
	}{
		{"in_order", func([]Signal) {}},
		// Every block of 64 signals arrives reversed: each is late by up to 63 places.
		{"late_64", func(s []Signal) {
			for i := 0; i+64 <= len(s); i += 64 {
				for l, r := i, i+63; l < r; l, r = l+1, r-1 {
					s[l], s[r] = s[r], s[l]
				}
			}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			base := benchStream(n)
			bc.reorder(base)
			stream := make([]Signal, n)
			copy(stream, base)
			tl := NewTimeline("CNC-1")
			span := time.Duration(n) * 100 * time.Millisecond
			round := 0
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == n {
					round++
					i = 0
					for k := range stream {
						stream[k].Seq = base[k].Seq + uint64(round*n)
						stream[k].At = base[k].At.Add(time.Duration(round) * span)
					}
					tl.Prune(stream[0].At.Add(-span))
				}
				if o, err := tl.Apply(stream[i]); err != nil || o != Applied {
					b.Fatal(o, err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signals/s")
		})
	}
	b.Run("duplicate", func(b *testing.B) {
		stream := benchStream(n)
		tl := NewTimeline("CNC-1")
		for _, s := range stream {
			_, _ = tl.Apply(s)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if o, _ := tl.Apply(stream[i%n]); o == Applied {
				b.Fatal("not a duplicate")
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signals/s")
	})
}

// BenchmarkOEEShift measures one shift's OEE over a timeline of 8 h of signals at 10/s.
func BenchmarkOEEShift(b *testing.B) {
	stream := benchStream(8 * 3600 * 10)
	tl := NewTimeline("CNC-1")
	for _, s := range stream {
		_, _ = tl.Apply(s)
	}
	shift := Span{t0, t0.Add(8 * time.Hour)}
	breaks := []Span{{t0.Add(2 * time.Hour), t0.Add(2*time.Hour + 15*time.Minute)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tl.OEE(shift, breaks, 50*time.Millisecond); err != nil {
			b.Fatal(err)
		}
	}
}
