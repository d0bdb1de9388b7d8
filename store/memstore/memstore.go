// Package memstore is the in-memory Store: the embedded default and the reference
// implementation of the store contract. Writers are serialised by one lock, so its
// transactions are serialisable; readers run concurrently with each other.
package memstore

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/store"
)

// Store keeps records, events and audit records in memory. The zero value is not usable;
// call New.
type Store struct {
	mu      sync.RWMutex
	records map[string]map[string]store.Record // kind -> id -> record (by value: no object of its own)
	keys    map[string]map[string]string       // kind -> unique key -> id
	index   map[indexKey]*idSet                // (kind, site, name, value) -> ids
	events  log                                // codec.event
	audit   log                                // codec.audit
	// eventHead and auditHead are the hashes of the last entries of the two chains.
	eventHead, auditHead store.Hash
	codec                codec // encodes the log entries
	graph                genealogy.Index
	// changed is closed and replaced at a commit that adds events when watched: a reader
	// waits for it.
	changed chan struct{}
	watched atomic.Bool
	closed  bool
	// spare is the transaction of the last commit, reused by the next Update; writeSpace
	// holds the writes of a typical write transaction (one at a time), so that they
	// allocate nothing.
	spare      *tx
	writeSpace [fewWrites]store.Record
}

type indexKey struct{ kind, site, name, value string }

// New returns an empty store. Close releases the memory of its history; a store dropped
// without Close releases it when the garbage collector finds it unreachable.
func New() *Store {
	s := &Store{
		records: map[string]map[string]store.Record{},
		keys:    map[string]map[string]string{},
		index:   map[indexKey]*idSet{},
		changed: make(chan struct{}),
		events:  log{chunks: &chunks{}},
		audit:   log{chunks: &chunks{}},
	}
	runtime.AddCleanup(s, func(cs [2]*chunks) { cs[0].free(); cs[1].free() }, [2]*chunks{s.events.chunks, s.audit.chunks})
	return s
}

var errClosed = fmt.Errorf("memstore: store is closed")

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	t := s.spare
	if t == nil {
		t = new(tx)
	}
	s.spare = nil // a transaction that fails or panics is not reused
	*t = tx{s: s}
	t.writes = s.writeSpace[:0]
	if err := fn(t); err != nil { // a panic unwinds past here and nothing was applied
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.commit(t)
	*t = tx{} // keeps nothing reachable while it waits
	s.spare, s.writeSpace = t, [fewWrites]store.Record{}
	return nil
}

// View implements store.Store.
func (s *Store) View(ctx context.Context, fn func(store.ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errClosed
	}
	return fn(&tx{s: s, readOnly: true})
}

// ReadEvents implements store.Store.
func (s *Store) ReadEvents(ctx context.Context, after uint64, limit int) ([]store.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	raw, prev := s.events.read(after, limit)
	if len(raw) == 0 {
		return nil, nil
	}
	out := make([]store.Event, len(raw))
	for i, b := range raw {
		out[i] = decodeEvent(b, after+uint64(i)+1, prev)
		prev = out[i].Hash
	}
	return out, nil
}

// Head implements store.Store.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return uint64(s.events.len()), nil
}

// WaitEvents implements store.Store.
func (s *Store) WaitEvents(ctx context.Context, after uint64) error {
	for {
		s.mu.RLock()
		s.watched.Store(true) // before reading the length: a commit after it sees it
		n, ch, closed := uint64(s.events.len()), s.changed, s.closed
		s.mu.RUnlock()
		if closed {
			return errClosed
		}
		if n > after {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// ReadAudit implements store.Store.
func (s *Store) ReadAudit(ctx context.Context, after uint64, limit int) ([]store.AuditRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	raw, prev := s.audit.read(after, limit)
	if len(raw) == 0 {
		return nil, nil
	}
	out := make([]store.AuditRecord, len(raw))
	for i, b := range raw {
		out[i] = decodeAudit(b, after+uint64(i)+1, prev)
		prev = out[i].Hash
	}
	return out, nil
}

// Close implements store.Store. It releases the memory of the history: waiters in
// WaitEvents, and reads of events and audit records, return an error afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.changed)
		s.events.chunks.free()
		s.audit.chunks.free()
	}
	return nil
}

func (s *Store) commit(t *tx) {
	for i := range t.writes {
		rec := &t.writes[i]
		byID := s.records[rec.Kind]
		if byID == nil {
			byID = map[string]store.Record{}
			s.records[rec.Kind] = byID
		}
		old, existed := byID[rec.ID]
		reindex := !existed || old.Site != rec.Site || !slices.Equal(old.Keys, rec.Keys) || !sameIndex(old.Index, rec.Index)
		if existed && reindex {
			s.unindex(&old)
		}
		byID[rec.ID] = *rec
		if reindex {
			s.indexRecord(rec)
		}
	}
	for i := range t.events {
		n := s.events.len()
		s.eventHead = store.EventHash(&t.events[i], uint64(n)+1, head(&s.eventHead, n))
		s.events.append(s.codec.event(&t.events[i], s.eventHead))
	}
	for i := range t.audit {
		n := s.audit.len()
		s.auditHead = store.AuditHash(&t.audit[i], uint64(n)+1, head(&s.auditHead, n))
		s.audit.append(s.codec.audit(&t.audit[i], s.auditHead))
	}
	if err := s.graph.Append(t.edges...); err != nil {
		panic(fmt.Sprintf("memstore: edges validated in AddEdges failed to append: %v", err))
	}
	if len(t.events) > 0 && s.watched.Swap(false) {
		close(s.changed)
		s.changed = make(chan struct{})
	}
}

// sameIndex reports whether two index maps hold the same entries. Engines often save a
// record with the very map of its last save, which needs no comparing.
func sameIndex(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	return len(a) == 0 || reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer() || maps.Equal(a, b)
}

// head returns the hash of a chain's last entry, h, or nil when the chain has no entries.
func head(h *store.Hash, entries int) *store.Hash {
	if entries == 0 {
		return nil
	}
	return h
}

func (s *Store) unindex(r *store.Record) {
	for _, k := range r.Keys {
		if s.keys[r.Kind][k] == r.ID { // another record of this commit may have taken it
			delete(s.keys[r.Kind], k)
		}
	}
	for name, value := range r.Index {
		if ids := s.index[indexKey{r.Kind, r.Site, name, value}]; ids != nil {
			ids.remove(r.ID)
		}
	}
}

func (s *Store) indexRecord(r *store.Record) {
	if len(r.Keys) > 0 && s.keys[r.Kind] == nil {
		s.keys[r.Kind] = map[string]string{}
	}
	for _, k := range r.Keys {
		s.keys[r.Kind][k] = r.ID
	}
	for name, value := range r.Index {
		ik := indexKey{r.Kind, r.Site, name, value}
		ids := s.index[ik]
		if ids == nil {
			ids = &idSet{}
			s.index[ik] = ids
		}
		ids.add(r.ID)
	}
}

// TraceBackward implements genealogy.Tracer over the committed graph.
func (s *Store) TraceBackward(ctx context.Context, from genealogy.Node, opts genealogy.TraceOptions) (genealogy.Trace, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.graph.TraceBackward(ctx, from, opts)
}

// TraceForward implements genealogy.Tracer over the committed graph.
func (s *Store) TraceForward(ctx context.Context, from genealogy.Node, opts genealogy.TraceOptions) (genealogy.Trace, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.graph.TraceForward(ctx, from, opts)
}

// EdgesAt implements genealogy.EquipmentLog over the committed graph.
func (s *Store) EdgesAt(ctx context.Context, equipment string, from, to time.Time) ([]genealogy.Edge, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.graph.EdgesAt(ctx, equipment, from, to)
}

type recKey struct{ kind, id string }

// tx is a transaction: writes are buffered until commit; reads see them first.
type tx struct {
	s        *Store
	readOnly bool
	writes   []store.Record // in the order of their first Put, one per record
	// written indexes writes by kind and id once a transaction writes more than a few
	// records; below that a scan is faster.
	written map[recKey]int
	// keyed indexes, with written, the writes by kind and unique key: the write that last
	// took the key (it may have dropped it since).
	keyed  map[recKey]int
	events []store.Event
	audit  []store.AuditRecord
	edges  []genealogy.Edge
}

// fewWrites is how many records a transaction writes before it indexes them.
const fewWrites = 8

// write returns the position of the transaction's write of kind/id, or -1.
func (t *tx) write(kind, id string) int {
	if t.written != nil {
		if i, ok := t.written[recKey{kind, id}]; ok {
			return i
		}
		return -1
	}
	for i := range t.writes {
		if r := &t.writes[i]; r.ID == id && r.Kind == kind {
			return i
		}
	}
	return -1
}

// current returns the record of kind with id as the transaction sees it.
func (t *tx) current(kind, id string) (store.Record, bool) {
	if i := t.write(kind, id); i >= 0 {
		return t.writes[i], true
	}
	r, ok := t.s.records[kind][id]
	return r, ok
}

// cloneRecord copies what a reader may change: Data. Keys, Index and Value are read-only
// for readers by the store contract and shared.
func cloneRecord(r store.Record) store.Record {
	r.Data = slices.Clone(r.Data)
	return r
}

func (t *tx) Get(ctx context.Context, kind, id string) (store.Record, error) {
	if r, ok := t.current(kind, id); ok {
		return cloneRecord(r), nil
	}
	return store.Record{}, &notFound{kind: kind, id: id}
}

// notFound is the error of a missing record; it is formatted only when read, because
// engines ask for records that may not exist as a matter of course.
type notFound struct{ kind, id, key string }

func (e *notFound) Error() string {
	if e.key != "" {
		return fmt.Sprintf("%s with key %q: %v", e.kind, e.key, store.ErrNotFound)
	}
	return fmt.Sprintf("%s %q: %v", e.kind, e.id, store.ErrNotFound)
}

func (e *notFound) Unwrap() error { return store.ErrNotFound }

func (t *tx) Lookup(ctx context.Context, kind, key string) (store.Record, error) {
	// The transaction's own writes take precedence over committed keys.
	if t.keyed != nil {
		if i, ok := t.keyed[recKey{kind, key}]; ok && slices.Contains(t.writes[i].Keys, key) {
			return cloneRecord(t.writes[i]), nil
		}
	} else {
		for _, r := range t.writes {
			if r.Kind == kind && slices.Contains(r.Keys, key) {
				return cloneRecord(r), nil
			}
		}
	}
	if id, ok := t.s.keys[kind][key]; ok {
		if r, ok := t.current(kind, id); ok && slices.Contains(r.Keys, key) {
			return cloneRecord(r), nil
		}
	}
	return store.Record{}, &notFound{kind: kind, key: key}
}

func (t *tx) List(ctx context.Context, q store.Query) ([]store.Record, error) {
	var ids []string
	if q.Index == "" {
		for id, r := range t.s.records[q.Kind] {
			if r.Site == q.Site && id > q.After {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
	} else if set := t.s.index[indexKey{q.Kind, q.Site, q.Index, q.Value}]; set != nil {
		ids = set.after(q.After)
	}
	for _, r := range t.writes { // the transaction's own writes may add or remove matches
		if r.Kind != q.Kind || r.ID <= q.After {
			continue
		}
		i, listed := slices.BinarySearch(ids, r.ID)
		switch matches := r.Site == q.Site && (q.Index == "" || hasEntry(r.Index, q.Index, q.Value)); {
		case matches && !listed:
			ids = slices.Insert(ids, i, r.ID)
		case !matches && listed:
			ids = slices.Delete(ids, i, i+1)
		}
	}
	if q.Limit > 0 && len(ids) > q.Limit {
		ids = ids[:q.Limit]
	}
	out := make([]store.Record, len(ids))
	for i, id := range ids {
		r, _ := t.current(q.Kind, id)
		out[i] = cloneRecord(r)
	}
	return out, nil
}

// hasEntry reports whether index holds name with value (an empty value too, but not a
// missing name).
func hasEntry(index map[string]string, name, value string) bool {
	v, ok := index[name]
	return ok && v == value
}

func (t *tx) Put(ctx context.Context, rec store.Record) (uint64, error) {
	if t.readOnly {
		return 0, store.ErrReadOnly
	}
	if rec.Kind == "" || rec.ID == "" {
		return 0, fmt.Errorf("memstore: record needs a kind and an id (got %q/%q)", rec.Kind, rec.ID)
	}
	if err := rec.CheckText(); err != nil {
		return 0, fmt.Errorf("memstore: %w", err)
	}
	i := t.write(rec.Kind, rec.ID)
	var curVersion uint64
	if i >= 0 {
		curVersion = t.writes[i].Version
	} else if cur, ok := t.s.records[rec.Kind][rec.ID]; ok {
		curVersion = cur.Version
	}
	if rec.Version != curVersion {
		return 0, fmt.Errorf("%s %q: put with version %d, current is %d: %w", rec.Kind, rec.ID, rec.Version, curVersion, store.ErrConflict)
	}
	for _, key := range rec.Keys {
		if owner, err := t.Lookup(ctx, rec.Kind, key); err == nil && owner.ID != rec.ID {
			return 0, fmt.Errorf("%s %q: key %q is held by %q: %w", rec.Kind, rec.ID, key, owner.ID, store.ErrDuplicateKey)
		}
	}
	c := rec // Keys, Index and Value are the store's now (see store.Tx.Put); Data is copied
	c.Data = slices.Clone(rec.Data)
	c.Version = curVersion + 1
	if i < 0 {
		i = len(t.writes)
		t.writes = append(t.writes, c)
	} else {
		t.writes[i] = c
	}
	switch {
	case t.written != nil:
		t.written[recKey{c.Kind, c.ID}] = i
		for _, key := range c.Keys {
			t.keyed[recKey{c.Kind, key}] = i
		}
	case len(t.writes) > fewWrites:
		t.written, t.keyed = make(map[recKey]int, 2*fewWrites), map[recKey]int{}
		for j, r := range t.writes {
			t.written[recKey{r.Kind, r.ID}] = j
			for _, key := range r.Keys {
				t.keyed[recKey{r.Kind, key}] = j
			}
		}
	}
	return c.Version, nil
}

func (t *tx) AppendEvents(ctx context.Context, events ...store.Event) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	if t.events == nil { // the events and their Data are the store's now (see store.Tx.AppendEvents)
		t.events = events[:len(events):len(events)]
	} else {
		t.events = append(t.events, events...)
	}
	return nil
}

func (t *tx) AppendAudit(ctx context.Context, recs ...store.AuditRecord) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	if t.audit == nil { // the records are the store's now (see store.Tx.AppendAudit)
		t.audit = recs[:len(recs):len(recs)]
	} else {
		t.audit = append(t.audit, recs...)
	}
	return nil
}

func (t *tx) AddEdges(ctx context.Context, edges ...genealogy.Edge) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	if err := genealogy.ValidateEdges(edges...); err != nil {
		return err
	}
	t.edges = append(t.edges, edges...)
	return nil
}

// Inputs implements genealogy.Reader, seeing the transaction's own edges.
func (t *tx) Inputs(ctx context.Context, n genealogy.Node) ([]genealogy.Edge, error) {
	out, err := t.s.graph.Inputs(ctx, n)
	for _, e := range t.edges {
		if e.To == n {
			out = append(out, e)
		}
	}
	return out, err
}

// Outputs implements genealogy.Reader, seeing the transaction's own edges.
func (t *tx) Outputs(ctx context.Context, n genealogy.Node) ([]genealogy.Edge, error) {
	out, err := t.s.graph.Outputs(ctx, n)
	for _, e := range t.edges {
		if e.From == n {
			out = append(out, e)
		}
	}
	return out, err
}

// TraceBackward implements genealogy.Tracer inside a transaction: one walk of the index
// (the transaction already holds the store's lock), or node by node when the transaction
// has added edges of its own.
func (t *tx) TraceBackward(ctx context.Context, from genealogy.Node, opts genealogy.TraceOptions) (genealogy.Trace, error) {
	if len(t.edges) > 0 {
		return genealogy.Walk(ctx, readerOnly{t}, from, genealogy.Backward, opts)
	}
	return t.s.graph.TraceBackward(ctx, from, opts)
}

// TraceForward implements genealogy.Tracer inside a transaction; see TraceBackward.
func (t *tx) TraceForward(ctx context.Context, from genealogy.Node, opts genealogy.TraceOptions) (genealogy.Trace, error) {
	if len(t.edges) > 0 {
		return genealogy.Walk(ctx, readerOnly{t}, from, genealogy.Forward, opts)
	}
	return t.s.graph.TraceForward(ctx, from, opts)
}

// readerOnly hides a transaction's Tracer so Walk reads it node by node.
type readerOnly struct{ genealogy.Reader }
