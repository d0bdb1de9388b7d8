package mqttdevice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/taktmes/takt/equipment"
)

// Limits on what a device may publish.
const (
	// MaxPayloadBytes is the largest MQTT payload DecodePayload reads.
	MaxPayloadBytes = 4 << 20
	// MaxSignalsPerPayload is the most signals one array payload may carry.
	MaxSignalsPerPayload = 10_000
)

// ErrInvalidPayload is returned (wrapped) for a payload that is not a signal or an array of
// signals, or whose elements are not valid signals.
var ErrInvalidPayload = errors.New("mqttdevice: invalid payload")

// PayloadError lists the elements of an array payload that are not valid signals, by
// index. DecodePayload still returns the valid ones.
type PayloadError struct {
	// Problems maps the element index to what is wrong with it, in index order.
	Problems []ElementProblem
}

// ElementProblem is one bad element of an array payload.
type ElementProblem struct {
	// Index is the element's position in the array (0 for a single-signal payload).
	Index int
	// Err says what is wrong (it wraps equipment.ErrInvalidSignal).
	Err error
}

// Error lists every bad element.
func (e *PayloadError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = fmt.Sprintf("[%d] %v", p.Index, p.Err)
	}
	return fmt.Sprintf("%v: %d bad signal(s): %s", ErrInvalidPayload, len(e.Problems), strings.Join(parts, "; "))
}

// Unwrap makes errors.Is(err, ErrInvalidPayload) and errors.Is(err,
// equipment.ErrInvalidSignal) true.
func (e *PayloadError) Unwrap() []error {
	return []error{ErrInvalidPayload, equipment.ErrInvalidSignal}
}

// DecodePayload reads the JSON payload of a signals message: one signal object in the
// layout of equipment.DecodeSignal, or an array of them. Each element is decoded strictly
// and validated (times become UTC). For an array, the valid signals are returned together
// with a *PayloadError naming each bad element; a payload that is not JSON, not an object
// or array, too large, or empty is an error wrapping ErrInvalidPayload with no signals.
func DecodePayload(payload []byte) ([]equipment.Signal, error) {
	if len(payload) > MaxPayloadBytes {
		return nil, fmt.Errorf("%w: %d bytes; the limit is %d — send smaller batches", ErrInvalidPayload, len(payload), MaxPayloadBytes)
	}
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: empty; send a signal object or an array of them", ErrInvalidPayload)
	}
	if trimmed[0] != '[' {
		s, err := equipment.DecodeSignal(trimmed)
		if err != nil {
			return nil, &PayloadError{Problems: []ElementProblem{{Index: 0, Err: err}}}
		}
		return []equipment.Signal{s}, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		return nil, fmt.Errorf("%w: not a JSON array of signals: %v", ErrInvalidPayload, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: the array is empty; send at least one signal", ErrInvalidPayload)
	}
	if len(raw) > MaxSignalsPerPayload {
		return nil, fmt.Errorf("%w: %d signals; at most %d per message", ErrInvalidPayload, len(raw), MaxSignalsPerPayload)
	}
	out := make([]equipment.Signal, 0, len(raw))
	var bad []ElementProblem
	for i, r := range raw {
		s, err := equipment.DecodeSignal(r)
		if err != nil {
			bad = append(bad, ElementProblem{Index: i, Err: err})
			continue
		}
		out = append(out, s)
	}
	if len(bad) > 0 {
		return out, &PayloadError{Problems: bad}
	}
	return out, nil
}

// Topic layout. Site and equipment ids are single topic levels: they must not be empty or
// contain '/', '+' or '#'.
const (
	// TopicRoot is the first level of every Takt topic.
	TopicRoot = "takt"
	// SignalsLevel ends the topic devices publish signals to: takt/<site>/<equipment>/signals.
	SignalsLevel = "signals"
	// CommandsLevel ends the topic device commands are published to:
	// takt/<site>/<equipment>/commands.
	CommandsLevel = "commands"
)

// SignalTopic returns the topic the equipment's device publishes signals to.
func SignalTopic(site, equipmentID string) (string, error) {
	return topic(site, equipmentID, SignalsLevel)
}

// CommandTopic returns the topic commands for the equipment are published to.
func CommandTopic(site, equipmentID string) (string, error) {
	return topic(site, equipmentID, CommandsLevel)
}

func topic(site, equipmentID, last string) (string, error) {
	for _, level := range []struct{ name, v string }{{"site", site}, {"equipment", equipmentID}} {
		if level.v == "" || strings.ContainsAny(level.v, "/+#") {
			return "", fmt.Errorf("%w: %s %q cannot be an MQTT topic level; use an id without '/', '+' and '#'", ErrInvalidTopic, level.name, level.v)
		}
	}
	return TopicRoot + "/" + site + "/" + equipmentID + "/" + last, nil
}

// ErrInvalidTopic is returned (wrapped) for a topic outside the documented layout.
var ErrInvalidTopic = errors.New("mqttdevice: invalid topic")

// parseSignalTopic returns the site and equipment of a signals topic.
func parseSignalTopic(t string) (site, equipmentID string, err error) {
	parts := strings.Split(t, "/")
	if len(parts) != 4 || parts[0] != TopicRoot || parts[3] != SignalsLevel || parts[1] == "" || parts[2] == "" {
		return "", "", fmt.Errorf("%w: %q; devices publish to takt/<site>/<equipment>/signals", ErrInvalidTopic, t)
	}
	return parts[1], parts[2], nil
}
