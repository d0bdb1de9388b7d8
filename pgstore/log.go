package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taktmes/takt/store"
)

const eventsSQL = `INSERT INTO events (position, type, site, subject, time, time_ns, actor, command, data, prev_hash, hash)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::smallint[], $7::text[], $8::text[], $9::bytea[], $10::text[], $11::text[])`

const auditSQL = `INSERT INTO audit (seq, time, time_ns, actor, actor_kind, action, site, object, "where", reason, command, changes, signatures, prev_hash, hash)
SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::smallint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::text[], $10::text[], $11::text[], $12::jsonb[], $13::jsonb[], $14::text[], $15::text[])`

// commit writes the transaction's events and audit records as its last statements, after
// the log heads it read with the log_head lock at its start (lockHeadSQL), and commits,
// which releases the lock: one round trip inserts them, moves the heads, queues the
// notification and commits. A transaction that appends nothing just commits.
func (t *writeTx) commit(ctx context.Context) error {
	b := &pgx.Batch{}
	if len(t.events) > 0 || len(t.audit) > 0 {
		h := t.head
		if len(t.events) > 0 {
			b.Queue(eventsSQL, sealEvents(t.events, h.pos, h.eventHash)...)
			h.pos += uint64(len(t.events))
			h.eventHash = t.events[len(t.events)-1].Hash
			b.Queue("SELECT pg_notify($1, '')", t.s.channel)
		}
		if len(t.audit) > 0 {
			cols, err := sealAudit(t.audit, h.seq, h.auditHash)
			if err != nil {
				return err
			}
			b.Queue(auditSQL, cols...)
			last := t.audit[len(t.audit)-1]
			h.seq, h.auditHash = last.Seq, last.Hash
		}
		b.Queue("UPDATE log_head SET event_pos = $1, event_hash = $2, audit_seq = $3, audit_hash = $4", h.pos, h.eventHash, h.seq, h.auditHash)
	}
	b.Queue("COMMIT")
	if err := t.conn.SendBatch(ctx, b).Close(); err != nil {
		return mapErr("committing", err)
	}
	return nil
}

// sealEvents seals evs in order after position base with hash, and returns them as the
// columns of eventsSQL.
func sealEvents(evs []store.Event, base uint64, hash string) []any {
	n := len(evs)
	positions, nanos, times := make([]int64, n), make([]int16, n), make([]time.Time, n)
	types, sites, subjects, actors, commands := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	data, prevs, hashes := make([][]byte, n), make([]string, n), make([]string, n)
	for i := range evs {
		e := &evs[i]
		store.SealEvent(e, base+uint64(i)+1, hash)
		hash = e.Hash
		positions[i] = int64(e.Position)
		types[i], sites[i], subjects[i], actors[i], commands[i], data[i] = e.Type, e.Site, e.Subject, e.Actor, e.Command, e.Data
		times[i], nanos[i] = splitTime(e.Time)
		prevs[i], hashes[i] = e.PrevHash, e.Hash
	}
	return []any{positions, types, sites, subjects, times, nanos, actors, commands, data, prevs, hashes}
}

// sealAudit seals recs in order after the record seq with hash, and returns them as the
// columns of auditSQL.
func sealAudit(recs []store.AuditRecord, seq uint64, hash string) ([]any, error) {
	n := len(recs)
	seqs, times, nanos := make([]int64, n), make([]time.Time, n), make([]int16, n)
	actors, kinds, actions, sites, objects := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	wheres, reasons, commands, prevs, hashes := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	changes, signatures := make([]*string, n), make([]*string, n)
	for i := range recs {
		r := &recs[i]
		seq++
		store.Seal(r, seq, hash)
		hash = r.Hash
		seqs[i] = int64(r.Seq)
		times[i], nanos[i] = splitTime(r.Time)
		actors[i], kinds[i], actions[i], sites[i], objects[i] = r.Actor, r.ActorKind, r.Action, r.Site, r.Object
		wheres[i], reasons[i], commands[i], prevs[i], hashes[i] = r.Where, r.Reason, r.Command, r.PrevHash, r.Hash
		if err := r.CheckText(); err != nil { // JSON would store U+FFFD, and the record would fail its hash
			return nil, fmt.Errorf("pgstore: %w", err)
		}
		var err error
		if changes[i], err = jsonOrNil(r.Changes, len(r.Changes)); err != nil {
			return nil, err
		}
		if signatures[i], err = jsonOrNil(utcSignatures(r.Signatures), len(r.Signatures)); err != nil {
			return nil, err
		}
	}
	return []any{seqs, times, nanos, actors, kinds, actions, sites, objects, wheres, reasons, commands, changes, signatures, prevs, hashes}, nil
}

// utcSignatures returns sigs with their times in UTC: JSON writes a time in RFC 3339, whose
// zone offsets are whole minutes, so a time in a zone of odd seconds (local mean time) would
// come back as another instant and no longer match the record's hash.
func utcSignatures(sigs []store.Signature) []store.Signature {
	out := make([]store.Signature, len(sigs))
	for i, sg := range sigs {
		sg.Time = sg.Time.UTC()
		out[i] = sg
	}
	return out
}

func jsonOrNil(v any, n int) (*string, error) {
	if n == 0 {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("pgstore: encoding an audit record: %w", err)
	}
	s := string(b)
	return &s, nil
}

// ReadEvents implements store.Store. limit <= 0 reads every event after after.
func (s *Store) ReadEvents(ctx context.Context, after uint64, limit int) ([]store.Event, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	rows, err := s.pool.Query(ctx, `SELECT position, type, site, subject, time, time_ns, actor, command, data, prev_hash, hash
FROM events WHERE position > $1 ORDER BY position LIMIT $2`, after, limitArg(limit))
	if err != nil {
		return nil, s.poolErr("reading events", err)
	}
	evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Event, error) {
		var e store.Event
		var ns int16
		err := row.Scan(&e.Position, &e.Type, &e.Site, &e.Subject, &e.Time, &ns, &e.Actor, &e.Command, &e.Data, &e.PrevHash, &e.Hash)
		e.Time = joinTime(e.Time, ns)
		return e, err
	})
	if err != nil {
		return nil, mapErr("reading events", err)
	}
	return evs, nil
}

// ReadAudit implements store.Store. limit <= 0 reads every record after after.
func (s *Store) ReadAudit(ctx context.Context, after uint64, limit int) ([]store.AuditRecord, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, time, time_ns, actor, actor_kind, action, site, object, "where", reason, command,
    changes, signatures, prev_hash, hash
FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limitArg(limit))
	if err != nil {
		return nil, s.poolErr("reading audit records", err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.AuditRecord, error) {
		var r store.AuditRecord
		var ns int16
		err := row.Scan(&r.Seq, &r.Time, &ns, &r.Actor, &r.ActorKind, &r.Action, &r.Site, &r.Object, &r.Where, &r.Reason, &r.Command,
			&r.Changes, &r.Signatures, &r.PrevHash, &r.Hash)
		r.Time = joinTime(r.Time, ns)
		return r, err
	})
	if err != nil {
		return nil, mapErr("reading audit records", err)
	}
	return recs, nil
}

func limitArg(limit int) *int64 {
	if limit <= 0 {
		return nil
	}
	l := int64(limit)
	return &l
}

// Head implements store.Store.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if s.isClosed() {
		return 0, ErrClosed
	}
	var last uint64
	if err := s.pool.QueryRow(ctx, "SELECT event_pos FROM log_head").Scan(&last); err != nil {
		return 0, s.poolErr("reading the event log position", err)
	}
	return last, nil
}

// WaitEvents implements store.Store. It waits for a notification from a committing
// transaction, and looks at the log every few seconds in case one was lost.
func (s *Store) WaitEvents(ctx context.Context, after uint64) error {
	s.startListener()
	for {
		s.mu.Lock()
		ch, closed := s.changed, s.closed
		s.mu.Unlock()
		if closed {
			return ErrClosed
		}
		last, err := s.Head(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if last > after {
			return nil
		}
		timer := time.NewTimer(s.recheck)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-ch:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// wake tells every waiter to look at the log again.
func (s *Store) wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		close(s.changed)
		s.changed = make(chan struct{})
	}
}

// startListener starts, once, the goroutine that LISTENs on the store's channel.
func (s *Store) startListener() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listening || s.closed {
		return
	}
	s.listening = true
	go s.listen()
}

// listen holds a dedicated connection LISTENing on the store's channel and wakes waiters at
// each notification. When the connection fails it reconnects, and wakes the waiters, since
// notifications may have been lost meanwhile; it stops when the store closes.
func (s *Store) listen() {
	defer close(s.stopped)
	ctx := s.listenCtx
	cfg := s.pool.Config().ConnConfig
	const firstBackoff = 100 * time.Millisecond
	for backoff := firstBackoff; ctx.Err() == nil; {
		// An error ends the connection; the waiters' periodic re-check covers the time
		// until the next one.
		if connected, _ := s.listenOnce(ctx, cfg); connected {
			backoff = firstBackoff
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// listenOnce listens on one connection until it fails; connected says whether LISTEN
// succeeded.
func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig) (connected bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return false, err
	}
	s.wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		s.wake()
	}
}
