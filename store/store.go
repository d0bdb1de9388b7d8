// Package store is the driver interface behind Takt's engine: what a host implements to keep
// Takt's records in its own database. It is deliberately small. An implementation runs the
// conformance suite in package storetest from its own tests; the suite and these doc
// comments are the whole contract. Two implementations ship: memstore (in memory, the
// reference) and pgstore (PostgreSQL, its own module).
//
// The model: entity state lives in versioned records (a kind, an id and JSON data, plus
// unique keys and index entries for look-ups); every command appends domain events to one
// ordered, gap-free log and one sealed audit record to a hash chain; all of it commits
// atomically in one Update.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/taktmes/takt/genealogy"
)

// Errors a Store returns. Drivers wrap them (fmt.Errorf("...: %w", store.ErrConflict)) so
// callers test with errors.Is.
var (
	// ErrNotFound: no record with that kind and id, or key.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a Put carried a version that is no longer the record's current version
	// (someone else committed first), or created a record that already exists. The caller
	// may reload and retry.
	ErrConflict = errors.New("store: version conflict")
	// ErrDuplicateKey: a Put would give a unique key to a second record of the same kind.
	ErrDuplicateKey = errors.New("store: duplicate key")
	// ErrReadOnly: a write was attempted where only reads are allowed.
	ErrReadOnly = errors.New("store: read-only transaction")
	// ErrTooLong: a Put gave a record a kind, id, site, key or index entry longer than
	// MaxText bytes (Record.CheckText).
	ErrTooLong = errors.New("store: text too long")
	// ErrInvalidText: an audit record held text that is not valid UTF-8 or holds NUL
	// (AuditRecord.CheckText).
	ErrInvalidText = errors.New("store: text is not valid UTF-8 or holds NUL")
)

// MaxText is the longest kind, id, site, unique key, index name or index value a record may
// have, in bytes: stores index them, and indexes have limits (PostgreSQL's btree entries
// about 2.7 KB). Put refuses longer ones with ErrTooLong and the transaction goes on; a
// driver may refuse, the same way, an index entry whose parts together pass its limit.
const MaxText = 1024

// Store keeps Takt's records. Implementations must be safe for concurrent use by many
// goroutines (and, for shared databases, many processes).
type Store interface {
	// Update runs fn in a read-write transaction. If fn returns nil, everything it wrote
	// (records, events, audit records, genealogy edges) commits atomically; if fn returns an error or
	// panics, nothing is written (a panic is re-raised after the rollback). Update may
	// return ErrConflict when a concurrent transaction won; nothing is written then.
	// Updates must be serializable: the committed ones have the effect of running one
	// after another in commit order, so a record fn only read (a lot's holds: none) was
	// not changed by an Update that committed before it (a hold placed). Version checks
	// on Put alone protect only what fn writes.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction that sees only committed data.
	View(ctx context.Context, fn func(ReadTx) error) error
	// ReadEvents returns up to limit committed events with Position > after, in position
	// order (limit <= 0: all of them). A reader that continues from the last position it saw never misses an event:
	// positions are gap-free and an event never becomes visible after one with a higher
	// position.
	ReadEvents(ctx context.Context, after uint64, limit int) ([]Event, error)
	// Head returns the position of the last committed event (0 when the log is empty).
	Head(ctx context.Context) (uint64, error)
	// WaitEvents blocks until an event with Position > after is committed (it returns at
	// once if one already is), or ctx is done (it returns ctx.Err()).
	WaitEvents(ctx context.Context, after uint64) error
	// ReadAudit returns up to limit audit records with Seq > after, in sequence order
	// (limit <= 0: all of them).
	ReadAudit(ctx context.Context, after uint64, limit int) ([]AuditRecord, error)
	// Close releases the store's resources.
	Close() error
}

// ReadTx reads records inside a transaction.
type ReadTx interface {
	// Get returns the record of kind with id, or ErrNotFound.
	Get(ctx context.Context, kind, id string) (Record, error)
	// Lookup returns the record of kind that holds the unique key, or ErrNotFound.
	Lookup(ctx context.Context, kind, key string) (Record, error)
	// List returns the records of kind in site whose index name has value (an empty name
	// lists every record of kind in site), ordered by id, starting after the id `after`,
	// at most limit records (limit <= 0 means no limit).
	List(ctx context.Context, q Query) ([]Record, error)
	// Inputs and Outputs read the genealogy graph: the edges into and out of a node, in no
	// particular order. A store that can answer a whole trace in one query also implements
	// genealogy.Tracer on the Store.
	genealogy.Reader
}

// Tx reads and writes inside a read-write transaction. Reads see the transaction's own
// writes.
type Tx interface {
	ReadTx
	// Put creates or updates a record. rec.Version must be the version the caller read
	// (0 to create); a mismatch is ErrConflict, a unique key held by another record of the
	// kind is ErrDuplicateKey. The stored version becomes rec.Version+1, which Put returns.
	// Keys and Index replace the record's previous ones; text longer than MaxText is
	// ErrTooLong (see Record.CheckText), and changes nothing. The store may keep rec's Keys,
	// Index and Value: the caller must not change them afterwards (Data it may), and the
	// store never changes them, so a caller may pass the same slice or map again, or one a
	// read returned.
	Put(ctx context.Context, rec Record) (uint64, error)
	// AppendEvents adds events to the log; the store assigns their positions and seals them
	// into the event chain with SealEvent at commit, in position order. The store may keep
	// the events slice and each event's Data until Update returns: the caller must not
	// change them meanwhile, and may reuse their memory after Update (a store that needs
	// Data longer keeps a copy).
	AppendEvents(ctx context.Context, events ...Event) error
	// AppendAudit adds audit records; the store assigns their Seq and seals them into the
	// chain with Seal at commit, in commit order. The store may keep their Changes and
	// Signatures (the caller must not change them afterwards), and the recs slice until
	// Update returns (the caller may reuse its memory after Update).
	AppendAudit(ctx context.Context, recs ...AuditRecord) error
	// AddEdges adds genealogy edges (see genealogy.ValidateEdges for what is refused).
	// Edges are never changed or removed.
	AddEdges(ctx context.Context, edges ...genealogy.Edge) error
}

// Query selects records for ReadTx.List.
type Query struct {
	Kind  string
	Site  string // required: records are always scoped by site
	Index string // index name, e.g. "status"; empty lists all records of Kind in Site
	Value string // index value, e.g. "released"
	After string // continue after this id (for paging)
	Limit int    // at most this many; <= 0 means all
}

// Record is one versioned entity: a work order, a lot, a routing revision. A record a
// store returns is the caller's to read: Data is a copy, but Keys, Index and Value may be
// shared with the store and must not be changed.
type Record struct {
	Kind    string
	ID      string
	Site    string
	Version uint64
	// Keys are unique per kind, e.g. "number:PLANT-1/4711". Look them up with Lookup.
	Keys []string
	// Index holds name=value entries for List, e.g. {"status": "released"}.
	Index map[string]string
	// Data is the entity as JSON. Stores keep it verbatim.
	Data []byte
	// Value, when Data is nil, is the entity itself, which the caller promises never to
	// change again. A store that keeps records in memory may keep Value as it is and return
	// it from reads (readers must copy before changing it); a store that serialises stores
	// Encode's bytes and returns them as Data.
	Value any
}

// CheckText returns ErrTooLong, naming the field, when the record has a kind, id, site,
// unique key, index name or index value longer than MaxText bytes.
func (r Record) CheckText() error {
	for _, f := range [...]struct{ name, text string }{{"kind", r.Kind}, {"id", r.ID}, {"site", r.Site}} {
		if len(f.text) > MaxText {
			return fmt.Errorf("%w: the %s of a record is %d bytes long; at most %d", ErrTooLong, f.name, len(f.text), MaxText)
		}
	}
	for _, k := range r.Keys {
		if len(k) > MaxText {
			return fmt.Errorf("%w: a unique key of %s %q is %d bytes long; at most %d", ErrTooLong, r.Kind, r.ID, len(k), MaxText)
		}
	}
	for name, value := range r.Index {
		if len(name) > MaxText || len(value) > MaxText {
			return fmt.Errorf("%w: index entry %.40q of %s %q is longer than %d bytes", ErrTooLong, name, r.Kind, r.ID, MaxText)
		}
	}
	return nil
}

// Encode returns the record's JSON: Data, or Value encoded.
func (r Record) Encode() ([]byte, error) {
	if r.Data != nil || r.Value == nil {
		return r.Data, nil
	}
	return json.Marshal(r.Value)
}

// Event is one entry of the ordered event log (the outbox).
type Event struct {
	Position uint64 // assigned by the store at commit: 1, 2, 3, ... without gaps
	Type     string // e.g. "workorder.released"
	Site     string
	Subject  string // id of the object the event is about
	Time     time.Time
	Actor    string
	// Command is the idempotency key or id of the command that produced the event; a
	// consumer uses Position (or Command+Type) to de-duplicate.
	Command string
	Data    []byte // the typed event as JSON
	// PrevHash and Hash chain the log like the audit trail (SealEvent, assigned by the
	// store at commit), so a changed, removed or reordered event is detected
	// (EventChainVerifier).
	PrevHash string
	Hash     string
}
