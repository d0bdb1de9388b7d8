package mes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"sync"
	"time"

	"github.com/taktmes/takt/store"
)

// Event is one entry of the plant's ordered event log: the outbox that feeds the ERP,
// dashboards and message buses, at least once. Position is gap-free and increasing; a
// consumer that checkpoints the last position it handled and resumes from it sees every
// event.
type Event struct {
	Position uint64          `json:"position"`
	Type     string          `json:"type"`
	Site     string          `json:"site"`
	Subject  string          `json:"subject"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`
	Command  string          `json:"command,omitempty"`
	Data     json.RawMessage `json:"data"`
	// Hash seals the event into the log's hash chain (see VerifyEvents).
	Hash string `json:"hash"`
	// Payload is the decoded typed event (for example *WorkOrderReleased), or nil for a type
	// this version of Takt does not know.
	Payload EventPayload `json:"-"`
}

var (
	eventTypesMu sync.RWMutex
	eventTypes   = map[string]reflect.Type{}
)

// registerEvent makes ReadEvents decode events of the payload's type.
func registerEvent(payloads ...EventPayload) {
	eventTypesMu.Lock()
	defer eventTypesMu.Unlock()
	for _, p := range payloads {
		eventTypes[p.EventType()] = reflect.TypeOf(p).Elem()
	}
}

// decodeEvent returns the engine's view of a stored event, with its decoded payload when
// payload is true.
func decodeEvent(e store.Event, payload bool) Event {
	out := Event{Position: e.Position, Type: e.Type, Site: e.Site, Subject: e.Subject, Time: e.Time.UTC(), Actor: e.Actor, Command: e.Command, Data: e.Data, Hash: e.Hash}
	if !payload {
		return out
	}
	eventTypesMu.RLock()
	t, ok := eventTypes[e.Type]
	eventTypesMu.RUnlock()
	if ok {
		v := reflect.New(t)
		if json.Unmarshal(e.Data, v.Interface()) == nil {
			out.Payload = v.Interface().(EventPayload)
		}
	}
	return out
}

// ReadEvents returns up to limit events after position after (0 reads from the start).
func (p *Plant) ReadEvents(ctx context.Context, after uint64, limit int) ([]Event, error) {
	return p.readEvents(ctx, after, limit, true)
}

// readEvents is ReadEvents; without payloads, Event.Payload stays nil for readers that
// decode what they need of Data themselves.
func (p *Plant) readEvents(ctx context.Context, after uint64, limit int, payloads bool) ([]Event, error) {
	evs, err := p.store.ReadEvents(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Event, len(evs))
	for i, e := range evs {
		out[i] = decodeEvent(e, payloads)
	}
	return out, nil
}

// Events follows the event log from position after: it yields every committed event in
// order and then waits for new ones without polling, until ctx is done (then it yields
// ctx.Err() once and stops) or the consumer stops ranging.
//
//	for ev, err := range plant.Events(ctx, checkpoint) {
//		if err != nil { return err }
//		send(ev)
//		plant.SaveCheckpoint(ctx, "erp-feed", ev.Position)
//	}
func (p *Plant) Events(ctx context.Context, after uint64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for {
			if err := p.store.WaitEvents(ctx, after); err != nil {
				yield(Event{}, err)
				return
			}
			evs, err := p.ReadEvents(ctx, after, 512)
			if err != nil {
				yield(Event{}, err)
				return
			}
			for _, e := range evs {
				if !yield(e, nil) {
					return
				}
				after = e.Position
			}
		}
	}
}

const checkpointKind = "checkpoint"

type checkpoint struct {
	Position uint64 `json:"position"`
}

// Checkpoint returns the last position consumer saved, or 0.
func (p *Plant) Checkpoint(ctx context.Context, consumer string) (uint64, error) {
	var cp checkpoint
	err := p.view(ctx, func(tx store.ReadTx) error {
		_, err := load(ctx, tx, checkpointKind, consumer, &cp)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	return cp.Position, err
}

// SaveCheckpoint records that consumer has handled every event up to position. A
// checkpoint never moves backwards.
func (p *Plant) SaveCheckpoint(ctx context.Context, consumer string, position uint64) error {
	if consumer == "" {
		return fmt.Errorf("%w: SaveCheckpoint needs a consumer name", ErrInvalid)
	}
	for attempt := 0; ; attempt++ {
		err := p.store.Update(ctx, func(tx store.Tx) error {
			var cp checkpoint
			version, err := load(ctx, tx, checkpointKind, consumer, &cp)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if position <= cp.Position && version > 0 {
				return nil
			}
			_, err = tx.Put(ctx, store.Record{Kind: checkpointKind, ID: consumer, Version: version, Value: &checkpoint{Position: position}})
			return err
		})
		if errors.Is(err, store.ErrConflict) && attempt < p.retries {
			continue
		}
		return storeErr(err)
	}
}
