package mes

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/taktmes/takt/execution"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

// The events of every track-in and track-out (the engine's hottest commands), and those the
// exception rules commit by the hundred, write their JSON themselves: byte for byte what
// encoding/json writes for them, without reflection. TestHotEventsEncodeAsEncodingJSON and
// FuzzHotEventJSON hold each of them to that, field by field.

// hotEvent is an event payload that appends its own JSON encoding; false leaves it to
// encoding/json (a value it cannot write the same way, such as a time beyond year 9999).
type hotEvent interface {
	EventPayload
	appendJSON(b []byte) ([]byte, bool)
}

// encodeHot returns the JSON of a hot event, appended to arena when the event writes its
// own (the JSON is arena's last bytes, capped so that appending to it copies), and the
// arena to append the next to. An arena nearly full is replaced (one that an event
// outgrows is copied by append), never overwritten, so the JSON of a command's events
// shares one allocation or a few, and each stays as it was written until the command ends
// (see command.free). The event is passed by value, as its type: it takes no memory of its
// own.
func encodeHot[P hotEvent](payload P, arena []byte) ([]byte, []byte, error) {
	if spare := cap(arena) - len(arena); spare < 256 || spare < cap(arena)/8 {
		arena = make([]byte, 0, min(max(512, 2*cap(arena)), maxArena))
	}
	if b, ok := payload.appendJSON(arena); ok {
		return b[len(arena):len(b):len(b)], b, nil
	}
	b, err := json.Marshal(payload)
	return b, arena, err
}

// maxArena is the size of the largest arena a command keeps for the next.
const maxArena = 8 << 10

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

// The events of the exception rules' commits (RunExceptionRules writes hundreds per call)
// write their JSON themselves too.

func (e TaskOpened) appendJSON(b []byte) ([]byte, bool) {
	b, ok := appendTaskJSON(append(b, `{"task":`...), &e.Task)
	return append(b, '}'), ok
}

func (e TaskUpdated) appendJSON(b []byte) ([]byte, bool) {
	b, ok := appendTaskJSON(append(b, `{"task":`...), &e.Task)
	b = jsonString(append(b, `,"change":`...), e.Change)
	return append(b, '}'), ok
}

func (e TaskResolved) appendJSON(b []byte) ([]byte, bool) {
	b, ok := appendTaskJSON(append(b, `{"task":`...), &e.Task)
	b = strconv.AppendBool(append(b, `,"auto":`...), e.Auto)
	return append(b, '}'), ok
}

func (e CompletionProjected) appendJSON(b []byte) ([]byte, bool) {
	if !jsonTimeOK(e.Projected) || !jsonTimeOK(e.Due) {
		return nil, false
	}
	b = appendProjectionJSON(b, e.WorkOrder, e.Number, e.Projected, e.Due)
	return append(b, '}'), true
}

func (e DueDateAtRisk) appendJSON(b []byte) ([]byte, bool) {
	if !jsonTimeOK(e.Projected) || !jsonTimeOK(e.Due) {
		return nil, false
	}
	b = appendProjectionJSON(b, e.WorkOrder, e.Number, e.Projected, e.Due)
	b = strconv.AppendInt(append(b, `,"late":`...), int64(e.Late), 10)
	return append(b, '}'), true
}

// appendProjectionJSON opens the object of a projection event with the fields they share.
func appendProjectionJSON(b []byte, workOrder, number string, projected, due time.Time) []byte {
	b = jsonString(append(b, `{"work_order":`...), workOrder)
	b = jsonString(append(b, `,"number":`...), number)
	b = jsonTime(append(b, `,"projected":`...), projected)
	return jsonTime(append(b, `,"due":`...), due)
}

// appendTaskJSON appends t as encoding/json writes an execution.Task; false when a time
// cannot be written so.
func appendTaskJSON(b []byte, t *execution.Task) ([]byte, bool) {
	for _, at := range [...]time.Time{t.LevelSince, t.OpenedAt, t.DueAt, t.AcknowledgedAt, t.StartedAt, t.ClosedAt, t.LastFiredAt} {
		if !jsonTimeOK(at) {
			return b, false
		}
	}
	b = jsonString(append(b, `{"id":`...), t.ID)
	b = jsonString(append(b, `,"site":`...), t.Site)
	b = jsonString(append(b, `,"rule":`...), t.Rule)
	b = jsonString(append(b, `,"cause":`...), t.Cause)
	b = jsonString(append(b, `,"title":`...), t.Title)
	b = jsonString(append(b, `,"severity":`...), string(t.Severity))
	b = jsonString(append(b, `,"state":`...), string(t.State))
	b = jsonString(append(b, `,"owner":{"role":`...), t.Owner.Role)
	if t.Owner.Person != "" {
		b = jsonString(append(b, `,"person":`...), t.Owner.Person)
	}
	b = append(b, '}')
	if len(t.Inputs) > 0 {
		b = jsonStrings(append(b, `,"inputs":`...), t.Inputs)
	}
	if len(t.Resolution) > 0 {
		b = append(b, `,"resolution":{`...)
		for i, k := range slices.Sorted(maps.Keys(t.Resolution)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonString(append(jsonString(b, k), ':'), t.Resolution[k])
		}
		b = append(b, '}')
	}
	if t.Note != "" {
		b = jsonString(append(b, `,"note":`...), t.Note)
	}
	b = append(b, `,"links":{`...)
	sep := ""
	for _, l := range [...]struct {
		key string
		ids []string
	}{{`"lots":`, t.Links.Lots}, {`"work_orders":`, t.Links.WorkOrders}, {`"equipment":`, t.Links.Equipment}} {
		if len(l.ids) > 0 {
			b = jsonStrings(append(append(b, sep...), l.key...), l.ids)
			sep = ","
		}
	}
	b = append(b, '}')
	if len(t.Escalation) > 0 {
		b = append(b, `,"escalation":[`...)
		for i, s := range t.Escalation {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonString(append(b, `{"role":`...), s.Role)
			b = append(strconv.AppendInt(append(b, `,"after":`...), int64(s.After), 10), '}')
		}
		b = append(b, ']')
	}
	b = strconv.AppendInt(append(b, `,"level":`...), int64(t.Level), 10)
	b = jsonTime(append(b, `,"level_since":`...), t.LevelSince)
	b = jsonTime(append(b, `,"opened_at":`...), t.OpenedAt)
	for _, f := range [...]struct {
		name string
		at   time.Time
	}{{`,"due_at":`, t.DueAt}, {`,"acknowledged_at":`, t.AcknowledgedAt}, {`,"started_at":`, t.StartedAt}, {`,"closed_at":`, t.ClosedAt}} {
		if !f.at.IsZero() {
			b = jsonTime(append(b, f.name...), f.at)
		}
	}
	if t.ClosedBy != "" {
		b = jsonString(append(b, `,"closed_by":`...), t.ClosedBy)
	}
	b = strconv.AppendInt(append(b, `,"occurrences":`...), int64(t.Occurrences), 10)
	b = jsonTime(append(b, `,"last_fired_at":`...), t.LastFiredAt)
	return append(b, '}'), true
}

// jsonStrings appends ss as a JSON array of strings.
func jsonStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonString(b, s)
	}
	return append(b, ']')
}
