package relay

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/taktmes/takt/mes"
)

// ErrInvalid reports an argument the relay cannot work with; the message says which and
// how to fix it.
var ErrInvalid = errors.New("relay: invalid argument")

// TypePrefix precedes the event type in the CloudEvents type attribute:
// "workorder.released" becomes "io.takt.workorder.released".
const TypePrefix = "io.takt."

// cloudEvent holds the CloudEvents 1.0 attributes of one event; CloudEvent appends data.
type cloudEvent struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject,omitempty"`
	Time            string `json:"time"`
	DataContentType string `json:"datacontenttype"`
	Site            string `json:"taktsite,omitempty"`
	Actor           string `json:"taktactor,omitempty"`
}

// ID returns the CloudEvents id of e: its position in decimal. Positions are unique within
// an event log, so (source, ID) identifies the event everywhere.
func ID(e mes.Event) string { return strconv.FormatUint(e.Position, 10) }

// CloudEvent returns e as a CloudEvents 1.0 JSON document (structured content mode):
// specversion "1.0", id (see ID), source, type ("io.takt." + the event type), subject
// (the id of the object the event is about), time (RFC 3339, UTC), datacontenttype
// "application/json", the extension attributes taktsite and taktactor (omitted when
// empty), and the event's payload as data. source names the event log, for example
// "urn:takt:plant-a"; it must not be empty.
func CloudEvent(e mes.Event, source string) ([]byte, error) {
	var problems []string
	if source == "" {
		problems = append(problems, `source is empty; name the event log, for example "urn:takt:plant-a"`)
	}
	if e.Type == "" {
		problems = append(problems, fmt.Sprintf("event at position %d has no type", e.Position))
	}
	if e.Position == 0 {
		problems = append(problems, "event has position 0; publish events read from the plant's log")
	}
	if len(e.Data) > 0 && !json.Valid(e.Data) {
		problems = append(problems, fmt.Sprintf("event at position %d has data that is not valid JSON", e.Position))
	}
	if len(problems) > 0 {
		return nil, invalid(problems)
	}
	head, err := json.Marshal(cloudEvent{
		SpecVersion: "1.0", ID: ID(e), Source: source, Type: TypePrefix + e.Type, Subject: e.Subject,
		Time: e.Time.UTC().Format(time.RFC3339Nano), DataContentType: "application/json",
		Site: e.Site, Actor: e.Actor,
	})
	if err != nil || len(e.Data) == 0 {
		return head, err
	}
	// The data was validated above; splice it in verbatim rather than have json.Marshal
	// validate and compact it again.
	out := make([]byte, 0, len(head)+len(`,"data":`)+len(e.Data))
	out = append(out, head[:len(head)-1]...)
	out = append(out, `,"data":`...)
	out = append(out, e.Data...)
	return append(out, '}'), nil
}

// invalid joins every problem found into one ErrInvalid error.
func invalid(problems []string) error {
	return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
}
