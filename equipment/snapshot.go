package equipment

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// timelineJSON is the persisted form of a Timeline.
type timelineJSON struct {
	Equipment   string       `json:"equipment"`
	Sources     []sourceJSON `json:"sources,omitempty"`
	Changes     []change     `json:"changes,omitempty"`
	Counts      []countAt    `json:"counts,omitempty"`
	Corrections []Correction `json:"corrections,omitempty"`
	Alarms      []alarmAt    `json:"alarms,omitempty"`
}

// sourceJSON is the de-duplication memory of one source.
type sourceJSON struct {
	Source string   `json:"source"`
	High   uint64   `json:"high"`
	Seen   []uint64 `json:"seen"`
}

// MarshalJSON writes the whole timeline (history, counts, corrections, alarms and the
// de-duplication memory) so the engine can persist it and restore it with UnmarshalJSON.
// The output is canonical: equal timelines marshal to equal bytes.
func (t *Timeline) MarshalJSON() ([]byte, error) {
	doc := timelineJSON{Equipment: t.equipment, Changes: t.changes, Counts: t.counts, Corrections: t.corrections}
	for src, w := range t.sources {
		doc.Sources = append(doc.Sources, sourceJSON{Source: src, High: w.high, Seen: w.bits[:]})
	}
	slices.SortFunc(doc.Sources, func(a, b sourceJSON) int { return strings.Compare(a.Source, b.Source) })
	for _, a := range t.alarms {
		doc.Alarms = append(doc.Alarms, a)
	}
	slices.SortFunc(doc.Alarms, func(a, b alarmAt) int { return strings.Compare(a.Code, b.Code) })
	return json.Marshal(doc)
}

// UnmarshalJSON restores a timeline written by MarshalJSON, replacing t. A document that is
// not a valid timeline is an error (ErrInvalidSnapshot) and leaves t unchanged.
func (t *Timeline) UnmarshalJSON(data []byte) error {
	var doc timelineJSON
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidSnapshot, err)
	}
	bad := func(what string, i int, why string) error {
		return fmt.Errorf("%w: %s[%d] %s; restore from a document written by MarshalJSON", ErrInvalidSnapshot, what, i, why)
	}
	if doc.Equipment == "" {
		return fmt.Errorf("%w: equipment is empty", ErrInvalidSnapshot)
	}
	n := NewTimeline(doc.Equipment)
	for i, s := range doc.Sources {
		if s.Source == "" || len(s.Seen) != dedupWords || n.sources[s.Source] != nil {
			return bad("sources", i, fmt.Sprintf("needs a unique source and %d seen words", dedupWords))
		}
		w := &seqWindow{high: s.High}
		copy(w.bits[:], s.Seen)
		n.sources[s.Source] = w
	}
	for i, c := range doc.Changes {
		if !c.State.reportable() || c.At.IsZero() {
			return bad("changes", i, "has an unknown state or no time")
		}
		c.At = c.At.UTC()
		n.addChange(c)
	}
	for i, c := range doc.Counts {
		if c.Good < 0 || c.Reject < 0 || c.At.IsZero() {
			return bad("counts", i, "has a negative count or no time")
		}
		c.At = c.At.UTC()
		n.addCount(c)
	}
	for i, c := range doc.Corrections {
		if c.Reason == "" || c.By == "" || c.At.IsZero() {
			return bad("corrections", i, "lacks reason, by or at")
		}
		c.Interval, c.At = c.Interval.UTC(), c.At.UTC()
		n.corrections = append(n.corrections, c)
	}
	for i, a := range doc.Alarms {
		if a.Code == "" || n.alarms[a.Code].Code != "" {
			return bad("alarms", i, "needs a unique code")
		}
		a.At = a.At.UTC()
		n.alarms[a.Code] = a
	}
	*t = *n
	return nil
}
