package mqttdevice

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/equipment"
)

const (
	countJSON = `{"source":"plc-7","seq":1042,"at":"2025-03-02T07:15:04.25+01:00","equipment":"CNC-2","kind":"count","count":{"good":3,"reject":1}}`
	stateJSON = `{"source":"plc-7","seq":1043,"at":"2025-03-02T06:15:09Z","equipment":"CNC-2","kind":"state","state":{"state":"down","reason":"E-STOP"}}`
	badJSON   = `{"source":"plc-7","seq":0,"at":"2025-03-02T06:15:09Z","equipment":"CNC-2","kind":"count","count":{"good":-1,"reject":0}}`
)

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		seqs    []uint64
		err     error
		bad     []int
	}{
		{"single signal", countJSON, []uint64{1042}, nil, nil},
		{"array", "[" + countJSON + "," + stateJSON + "]", []uint64{1042, 1043}, nil, nil},
		{"array with a bad element keeps the good ones", "[" + countJSON + "," + badJSON + "," + stateJSON + "]", []uint64{1042, 1043}, equipment.ErrInvalidSignal, []int{1}},
		{"bad single signal", badJSON, nil, equipment.ErrInvalidSignal, []int{0}},
		{"unknown field", `{"source":"a","seq":1,"at":"2025-03-02T06:15:09Z","equipment":"E","kind":"count","count":{"good":1},"extra":1}`, nil, ErrInvalidPayload, []int{0}},
		{"empty", "  ", nil, ErrInvalidPayload, nil},
		{"empty array", "[]", nil, ErrInvalidPayload, nil},
		{"not JSON", "[1,", nil, ErrInvalidPayload, nil},
		{"a number", "42", nil, ErrInvalidPayload, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigs, err := DecodePayload([]byte(tt.payload))
			var seqs []uint64
			for _, s := range sigs {
				seqs = append(seqs, s.Seq)
				assert.Equal(t, time.UTC, s.At.Location())
			}
			assert.Equal(t, tt.seqs, seqs)
			if tt.err == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.err)
			var pe *PayloadError
			if tt.bad == nil {
				assert.False(t, errors.As(err, &pe))
				return
			}
			require.ErrorAs(t, err, &pe)
			var idx []int
			for _, p := range pe.Problems {
				idx = append(idx, p.Index)
			}
			assert.Equal(t, tt.bad, idx)
		})
	}
	sigs, err := DecodePayload([]byte(countJSON))
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 3, 2, 6, 15, 4, 250_000_000, time.UTC), sigs[0].At)
}

func TestTopics(t *testing.T) {
	got, err := SignalTopic("PLANT-1", "CNC-2")
	require.NoError(t, err)
	assert.Equal(t, "takt/PLANT-1/CNC-2/signals", got)
	got, err = CommandTopic("PLANT-1", "CNC-2")
	require.NoError(t, err)
	assert.Equal(t, "takt/PLANT-1/CNC-2/commands", got)
	for _, bad := range [][2]string{{"", "E"}, {"S", ""}, {"S/1", "E"}, {"S", "E+"}, {"S", "#"}} {
		_, err := CommandTopic(bad[0], bad[1])
		assert.ErrorIs(t, err, ErrInvalidTopic, bad)
	}
	site, eq, err := parseSignalTopic("takt/PLANT-1/CNC-2/signals")
	require.NoError(t, err)
	assert.Equal(t, [2]string{"PLANT-1", "CNC-2"}, [2]string{site, eq})
	for _, bad := range []string{"takt/PLANT-1/CNC-2/commands", "takt/PLANT-1/signals", "x/P/E/signals", "takt//E/signals"} {
		_, _, err := parseSignalTopic(bad)
		assert.ErrorIs(t, err, ErrInvalidTopic, bad)
	}
}

// acks records the messages a buffer acknowledges, by name, in order.
type acks []string

func (a *acks) of(name string) func() { return func() { *a = append(*a, name) } }

func TestBufferDropsTheOldestWhenFull(t *testing.T) {
	b := newBuffer(3)
	var acked acks
	sig := func(seq uint64) equipment.Signal { return equipment.Signal{Seq: seq} }
	assert.Equal(t, 0, b.add([]equipment.Signal{sig(1), sig(2)}, acked.of("m1")))
	batch, first := b.peek(10)
	assert.Len(t, batch, 2)
	assert.Equal(t, uint64(0), first)
	// While the batch is in flight, more arrive and the oldest are dropped: their message
	// is acknowledged.
	assert.Equal(t, 2, b.add([]equipment.Signal{sig(3), sig(4), sig(5)}, acked.of("m2")))
	assert.Equal(t, acks{"m1"}, acked)
	b.remove(first + uint64(len(batch))) // the batch was dropped already: nothing else goes
	rest, _ := b.peek(10)
	assert.Equal(t, []equipment.Signal{sig(3), sig(4), sig(5)}, rest)
	buffered, unacked, dropped := b.stats()
	assert.Equal(t, [2]int{3, 1}, [2]int{buffered, unacked})
	assert.Equal(t, uint64(2), dropped)
	_, first = b.peek(2)
	b.remove(first + 2)
	rest, _ = b.peek(10)
	assert.Equal(t, []equipment.Signal{sig(5)}, rest)
	assert.Equal(t, acks{"m1"}, acked, "m2 still has a signal waiting")
	b.remove(first + 3)
	assert.Equal(t, acks{"m1", "m2"}, acked)
}

func TestBufferAcknowledgesInTheOrderReceivedOnceTheSignalsHaveLeft(t *testing.T) {
	b := newBuffer(10)
	var acked acks
	sig := func(seq uint64) equipment.Signal { return equipment.Signal{Seq: seq} }
	b.add(nil, acked.of("empty-first"))
	assert.Equal(t, acks{"empty-first"}, acked, "a message without signals, nothing before it: at once")
	b.add([]equipment.Signal{sig(1), sig(2)}, acked.of("a"))
	b.add(nil, acked.of("empty"))
	b.add([]equipment.Signal{sig(3)}, acked.of("b"))
	assert.Equal(t, acks{"empty-first"}, acked)
	_, unacked, _ := b.stats()
	assert.Equal(t, 3, unacked)

	_, first := b.peek(1)
	b.remove(first + 1) // half of a
	assert.Equal(t, acks{"empty-first"}, acked)
	b.remove(first + 2) // all of a, and the message without signals after it
	assert.Equal(t, acks{"empty-first", "a", "empty"}, acked)
	b.remove(first + 3)
	assert.Equal(t, acks{"empty-first", "a", "empty", "b"}, acked)
	buffered, unacked, _ := b.stats()
	assert.Equal(t, [2]int{0, 0}, [2]int{buffered, unacked})
}

func FuzzDecodePayload(f *testing.F) {
	for _, seed := range []string{
		countJSON, stateJSON, badJSON, "[" + countJSON + "," + stateJSON + "]", "[" + countJSON + "," + badJSON + "]",
		"[]", "", "null", "[null]", `[{}]`, `{"kind":"measurement","measurement":{"tag":"t","value":"1e400"}}`,
		`[{"source":"s","seq":1,"at":"2025-03-02T06:15:09Z","equipment":"E","kind":"alarm","alarm":{"code":"A","active":true}}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sigs, err := DecodePayload(data)
		if err == nil && len(sigs) == 0 {
			t.Fatal("no error and no signals")
		}
		if err != nil && !errors.Is(err, ErrInvalidPayload) {
			t.Fatalf("error does not wrap ErrInvalidPayload: %v", err)
		}
		var pe *PayloadError
		if len(sigs) > 0 && err != nil && !errors.As(err, &pe) {
			t.Fatalf("signals returned with a non-element error: %v", err)
		}
		for _, s := range sigs {
			if verr := s.Validate(); verr != nil {
				t.Fatalf("invalid signal returned: %v", verr)
			}
			if s.At.Location() != time.UTC {
				t.Fatalf("time not in UTC: %v", s.At)
			}
			// A decoded signal survives a round trip unchanged.
			b, merr := json.Marshal(s)
			if merr != nil {
				t.Fatal(merr)
			}
			again, derr := equipment.DecodeSignal(b)
			if derr != nil {
				t.Fatalf("re-decoding %s: %v", b, derr)
			}
			b2, _ := json.Marshal(again)
			if string(b) != string(b2) {
				t.Fatalf("round trip changed the signal: %s != %s", b, b2)
			}
		}
	})
}
