package mes

import (
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

// The events of every track-in and track-out (the engine's hottest commands) write their
// JSON themselves: byte for byte what encoding/json writes for them, without reflection.
// TestHotEventsEncodeAsEncodingJSON holds each of them to that, field by field.

// jsonAppender is an event payload that appends its own JSON encoding; false leaves it to
// encoding/json (a value it cannot write the same way, such as a time beyond year 9999).
type jsonAppender interface {
	appendJSON(b []byte) ([]byte, bool)
}

// encodeEvent returns the JSON of an event payload, appended to arena when the payload
// writes its own (the JSON is arena's last bytes, capped so that appending to it copies),
// and the arena to append the next to. Arena memory is never reused, so the JSON of every
// event of a command shares one allocation and each stays as it was written.
func encodeEvent(payload EventPayload, arena []byte) ([]byte, []byte, error) {
	if a, ok := payload.(jsonAppender); ok {
		if len(arena) == cap(arena) {
			arena = make([]byte, 0, 512)
		}
		if b, ok := a.appendJSON(arena); ok {
			return b[len(arena):len(b):len(b)], b, nil
		}
	}
	b, err := json.Marshal(payload)
	return b, arena, err
}

func (e LotTrackedIn) appendJSON(b []byte) ([]byte, bool) {
	b = jsonQuantity(append(appendOperationJSON(b, e.Lot, e.WorkOrder, e.Step, e.Equipment), `,"qty":`...), e.Qty)
	return append(b, '}'), true
}

func (e LotTrackedOut) appendJSON(b []byte) ([]byte, bool) {
	b = jsonQuantity(append(appendOperationJSON(b, e.Lot, e.WorkOrder, e.Step, e.Equipment), `,"good":`...), e.Good)
	if len(e.Scrap) > 0 {
		b = append(b, `,"scrap":[`...)
		for i, l := range e.Scrap {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonQuantity(append(b, `{"qty":`...), l.Qty)
			b = append(jsonString(append(b, `,"reason":`...), l.Reason), '}')
		}
		b = append(b, ']')
	}
	if e.Rework != (routing.ReworkLine{}) {
		b = jsonQuantity(append(b, `,"rework":{"qty":`...), e.Rework.Qty)
		b = jsonString(append(b, `,"to":`...), e.Rework.To)
		if e.Rework.Reason != "" {
			b = jsonString(append(b, `,"reason":`...), e.Rework.Reason)
		}
		b = append(b, '}')
	}
	return append(b, '}'), true
}

// appendOperationJSON opens the object of a track-in or track-out with the fields they share.
func appendOperationJSON(b []byte, lot, workOrder, step, equipment string) []byte {
	b = jsonString(append(b, `{"lot":`...), lot)
	b = jsonString(append(b, `,"work_order":`...), workOrder)
	b = jsonString(append(b, `,"step":`...), step)
	return jsonString(append(b, `,"equipment":`...), equipment)
}

func (e MachineRunStarted) appendJSON(b []byte) ([]byte, bool) { return appendRunJSON(b, e.ID, e.Run) }

func (e MachineRunStopped) appendJSON(b []byte) ([]byte, bool) { return appendRunJSON(b, e.ID, e.Run) }

func appendRunJSON(b []byte, id string, r labor.MachineRun) ([]byte, bool) {
	if !jsonTimeOK(r.From) || !jsonTimeOK(r.To) {
		return nil, false
	}
	b = jsonString(append(b, `{"id":`...), id)
	b = jsonString(append(b, `,"run":{"Equipment":`...), r.Equipment)
	b = jsonString(append(b, `,"WorkCenter":`...), r.WorkCenter)
	b = jsonString(append(b, `,"Op":{"WorkOrder":`...), r.Op.WorkOrder)
	b = jsonString(append(b, `,"Lot":`...), r.Op.Lot)
	b = jsonString(append(b, `,"Step":`...), r.Op.Step)
	b = jsonTime(append(b, `},"From":`...), r.From)
	b = jsonTime(append(b, `,"To":`...), r.To)
	return append(b, `}}`...), true
}

// jsonString appends s as encoding/json writes it: plain printable ASCII as it is, and any
// string with something to escape (quotes, control characters, <, >, &, non-ASCII) by
// encoding/json itself.
func jsonString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// jsonQuantity appends q as its text (units.Quantity.MarshalText) in a JSON string.
func jsonQuantity(b []byte, q units.Quantity) []byte { return jsonString(b, q.String()) }

// jsonTime appends t as time.Time.MarshalJSON writes it: RFC 3339 with nanoseconds. Check
// jsonTimeOK first.
func jsonTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// jsonTimeOK reports whether time.Time.MarshalJSON can write t: a year within 0–9999 and a
// zone offset of whole minutes under a day.
func jsonTimeOK(t time.Time) bool {
	_, offset := t.Zone()
	return t.Year() >= 0 && t.Year() <= 9999 && offset%60 == 0 && offset > -24*3600 && offset < 24*3600
}
