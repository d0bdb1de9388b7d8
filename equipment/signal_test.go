package equipment

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2025, 3, 3, 6, 0, 0, 0, time.UTC)

func countSig(src string, seq uint64, at time.Time, good, reject int64) Signal {
	return Signal{Source: src, Seq: seq, At: at, Equipment: "CNC-1", Kind: KindCount, Count: &Count{Good: good, Reject: reject}}
}

func stateSig(src string, seq uint64, at time.Time, st MachineState, reason string) Signal {
	return Signal{Source: src, Seq: seq, At: at, Equipment: "CNC-1", Kind: KindState, State: &StateChange{State: st, Reason: reason}}
}

func TestSignalValidate(t *testing.T) {
	ok := countSig("plc", 1, t0, 1, 0)
	for _, tc := range []struct {
		name  string
		edit  func(*Signal)
		paths []string // every problem path expected, in order
	}{
		{"valid count", func(*Signal) {}, nil},
		{"valid state", func(s *Signal) { *s = stateSig("plc", 2, t0, Down, "E-STOP") }, nil},
		{"valid measurement", func(s *Signal) {
			s.Kind, s.Count = KindMeasurement, nil
			s.Measurement = &Measurement{Tag: "temp", Value: decimal.RequireFromString("61.5"), Unit: "degC"}
		}, nil},
		{"valid alarm", func(s *Signal) { s.Kind, s.Count, s.Alarm = KindAlarm, nil, &Alarm{Code: "A1"} }, nil},
		{"zero counts are a valid no-op", func(s *Signal) { s.Count = &Count{} }, nil},
		{"empty envelope", func(s *Signal) { *s = Signal{} }, []string{"source", "equipment", "seq", "at", "kind"}},
		{"missing payload", func(s *Signal) { s.Count = nil }, []string{"count"}},
		{"two payloads", func(s *Signal) { s.State = &StateChange{State: Running} }, []string{"state"}},
		{"wrong payload", func(s *Signal) { s.Kind = KindAlarm }, []string{"count", "alarm"}},
		{"negative and huge counts", func(s *Signal) { s.Count = &Count{Good: -1, Reject: MaxCountIncrement + 1} }, []string{"count.good", "count.reject"}},
		{"unknown state", func(s *Signal) { *s = stateSig("plc", 1, t0, Unknown, strings.Repeat("r", MaxTextLen+1)) }, []string{"state.state", "state.reason"}},
		{"bad measurement", func(s *Signal) {
			s.Kind, s.Count = KindMeasurement, nil
			s.Measurement = &Measurement{Value: decimal.New(1, 1000)}
		}, []string{"measurement.tag", "measurement.value"}},
		{"bad alarm", func(s *Signal) { s.Kind, s.Count, s.Alarm = KindAlarm, nil, &Alarm{} }, []string{"alarm.code"}},
		{"year beyond RFC 3339", func(s *Signal) { s.At = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{"at"}},
		{"long ids", func(s *Signal) { s.Source = strings.Repeat("s", 300); s.Equipment = strings.Repeat("e", 300) }, []string{"source", "equipment"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			c := *ok.Count
			s.Count = &c
			tc.edit(&s)
			err := s.Validate()
			if tc.paths == nil {
				assert.NoError(t, err)
				return
			}
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.ErrorIs(t, err, ErrInvalidSignal)
			var paths []string
			for _, p := range ve.Problems {
				paths = append(paths, p.Path)
				assert.NotEmpty(t, p.Reason)
			}
			assert.Equal(t, tc.paths, paths, err.Error())
		})
	}
}

func TestDecodeSignal(t *testing.T) {
	s, err := DecodeSignal([]byte(`{"source":"plc-7","seq":1042,"at":"2025-03-03T08:15:04.25+02:00","equipment":"CNC-1",
		"kind":"measurement","measurement":{"tag":"spindle.temp","value":61.50,"unit":"degC"}}`))
	require.NoError(t, err)
	assert.Equal(t, time.UTC, s.At.Location())
	assert.True(t, s.At.Equal(t0.Add(15*time.Minute+4250*time.Millisecond)))
	assert.Equal(t, "61.5", s.Measurement.Value.String())

	round, err := json.Marshal(s)
	require.NoError(t, err)
	again, err := DecodeSignal(round)
	require.NoError(t, err)
	assert.True(t, s.Measurement.Value.Equal(again.Measurement.Value))
	again.Measurement.Value = s.Measurement.Value // same number, possibly another scale
	assert.Equal(t, s, again)

	for _, bad := range []string{
		``, `null`, `[]`, `{"source":"a"`,
		`{"source":"a","seq":1,"at":"2025-03-03T06:00:00Z","equipment":"E","kind":"count","count":{"good":1}} {}`,
		`{"source":"a","seq":1,"at":"2025-03-03T06:00:00Z","equipment":"E","kind":"count","count":{"good":1},"sequence":2}`,
		`{"source":"a","seq":1,"at":"2025-03-03T06:00:00Z","equipment":"E","kind":"count","count":{"good":1.5}}`,
		`{"source":"a","seq":-1,"at":"2025-03-03T06:00:00Z","equipment":"E","kind":"count","count":{"good":1}}`,
		`{"source":"a","seq":1,"at":"yesterday","equipment":"E","kind":"count","count":{"good":1}}`,
		`{"source":"a","seq":1,"at":"2025-03-03T06:00:00Z","equipment":"E","kind":"state","state":{"state":"sleeping"}}`,
		`{"source":"a","seq":1,"at":"2025-03-03T06:00:00Z","equipment":"E","kind":"measurement","measurement":{"tag":"t","value":"1e999"}}`,
		`{"source":"a","seq":1,"at":"2025-03-03T06:00:00Z","equipment":"E","kind":"count","count":{"good":1}}` + strings.Repeat(" ", MaxSignalBytes),
	} {
		_, err := DecodeSignal([]byte(bad))
		assert.ErrorIs(t, err, ErrInvalidSignal, bad)
	}
}

func FuzzDecodeSignal(f *testing.F) {
	for _, seed := range []string{
		`{"source":"plc-7","seq":1042,"at":"2025-03-02T06:15:04.25Z","equipment":"CNC-2","kind":"count","count":{"good":3,"reject":1}}`,
		`{"source":"plc-7","seq":1043,"at":"2025-03-02T06:15:09Z","equipment":"CNC-2","kind":"state","state":{"state":"down","reason":"E-STOP"}}`,
		`{"source":"plc-7","seq":1044,"at":"2025-03-02T06:15:09+01:00","equipment":"CNC-2","kind":"measurement","measurement":{"tag":"spindle.temp","value":"61.5","unit":"degC"}}`,
		`{"source":"plc-7","seq":1045,"at":"2025-03-02T06:15:09Z","equipment":"CNC-2","kind":"alarm","alarm":{"code":"A17","text":"Coolant low","active":true}}`,
		`{"source":"","seq":0,"kind":"count","count":{"good":-3},"state":{"state":"unknown"}}`,
		`{"measurement":{"value":"1e-99999999999"}}`,
		`{}`, `[`, `"x"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeSignal(data)
		if err != nil {
			assert.ErrorIs(t, err, ErrInvalidSignal)
			return
		}
		// A decoded signal is valid, in UTC, applies to its own timeline, and round-trips.
		require.NoError(t, s.Validate())
		assert.Equal(t, time.UTC, s.At.Location())
		tl := NewTimeline(s.Equipment)
		o, err := tl.Apply(s)
		require.NoError(t, err)
		assert.Equal(t, Applied, o)
		o, err = tl.Apply(s)
		require.NoError(t, err)
		assert.Equal(t, Duplicate, o)
		out, err := json.Marshal(s)
		require.NoError(t, err)
		again, err := DecodeSignal(out)
		require.NoError(t, err)
		assert.True(t, s.At.Equal(again.At))
		assert.Equal(t, s.Seq, again.Seq)
		assert.Equal(t, s.Kind, again.Kind)
	})
}
