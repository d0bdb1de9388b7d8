package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// querier is what reads need: a pgx transaction, or the pool for one-statement reads.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// readTx is the store.ReadTx of View, and the reading half of writeTx.
type readTx struct {
	q querier
	// failed is the first database error: PostgreSQL aborts a transaction at its first
	// failed statement, so every later call returns it.
	failed error
}

// fail records err as the transaction's failure and returns it mapped.
func (t *readTx) fail(doing string, err error) error {
	if t.failed == nil {
		t.failed = mapErr(doing, err)
	}
	return t.failed
}

const recordColumns = "kind, id, site, version, keys, index_names, index_values, data"

func scanRecord(row pgx.Row) (store.Record, error) {
	var r store.Record
	var names, values []string
	if err := row.Scan(&r.Kind, &r.ID, &r.Site, &r.Version, &r.Keys, &names, &values, &r.Data); err != nil {
		return store.Record{}, err
	}
	if len(r.Keys) == 0 {
		r.Keys = nil
	}
	if len(names) > 0 {
		r.Index = make(map[string]string, len(names))
		for i, n := range names {
			r.Index[n] = values[i]
		}
	}
	return r, nil
}

func (t *readTx) Get(ctx context.Context, kind, id string) (store.Record, error) {
	if t.failed != nil {
		return store.Record{}, t.failed
	}
	if hasNUL(kind, id) { // no record has one, and asking PostgreSQL would fail the transaction
		return store.Record{}, fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
	}
	r, err := scanRecord(t.q.QueryRow(ctx, "SELECT "+recordColumns+" FROM records WHERE kind = $1 AND id = $2", kind, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Record{}, fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
	}
	if err != nil {
		return store.Record{}, t.fail(fmt.Sprintf("reading %s %q", kind, id), err)
	}
	return r, nil
}

func (t *readTx) Lookup(ctx context.Context, kind, key string) (store.Record, error) {
	if t.failed != nil {
		return store.Record{}, t.failed
	}
	if hasNUL(kind, key) {
		return store.Record{}, fmt.Errorf("%s with key %q: %w", kind, key, store.ErrNotFound)
	}
	r, err := scanRecord(t.q.QueryRow(ctx, `SELECT r.kind, r.id, r.site, r.version, r.keys, r.index_names, r.index_values, r.data
FROM record_keys k JOIN records r ON r.kind = k.kind AND r.id = k.id
WHERE k.kind = $1 AND k.key = $2`, kind, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Record{}, fmt.Errorf("%s with key %q: %w", kind, key, store.ErrNotFound)
	}
	if err != nil {
		return store.Record{}, t.fail(fmt.Sprintf("looking up %s with key %q", kind, key), err)
	}
	return r, nil
}

func (t *readTx) List(ctx context.Context, q store.Query) ([]store.Record, error) {
	if t.failed != nil {
		return nil, t.failed
	}
	if hasNUL(q.Kind, q.Site, q.Index, q.Value, q.After) {
		return nil, nil
	}
	var limit *int64
	if q.Limit > 0 {
		l := int64(q.Limit)
		limit = &l
	}
	var rows pgx.Rows
	var err error
	if q.Index == "" {
		rows, err = t.q.Query(ctx, "SELECT "+recordColumns+` FROM records
WHERE kind = $1 AND site = $2 AND id > $3 ORDER BY id LIMIT $4`, q.Kind, q.Site, q.After, limit)
	} else {
		rows, err = t.q.Query(ctx, `SELECT r.kind, r.id, r.site, r.version, r.keys, r.index_names, r.index_values, r.data
FROM record_index x JOIN records r ON r.kind = x.kind AND r.id = x.id
WHERE x.kind = $1 AND x.site = $2 AND x.name = $3 AND x.value = $4 AND x.id > $5
ORDER BY x.id LIMIT $6`, q.Kind, q.Site, q.Index, q.Value, q.After, limit)
	}
	if err != nil {
		return nil, t.fail("listing "+q.Kind, err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Record, error) { return scanRecord(row) })
	if err != nil {
		return nil, t.fail("listing "+q.Kind, err)
	}
	return recs, nil
}

// Edge columns in the order scanEdge reads them.
const edgeSelect = "seq, kind, from_kind, from_id, to_kind, to_id, qty, work_order, step, equipment, operator, reason, at, at_ns"

// quantities parses the quantities of the edges of one query, each distinct text once:
// edges repeat a few quantities, and parsing is most of the cost of reading an edge.
type quantities map[string]units.Quantity

// scanEdge reads one edges row and returns its seq and the edge.
func (qs quantities) scanEdge(row pgx.CollectableRow) (seqEdge, error) {
	var e genealogy.Edge
	var seq int64
	var kind, fromKind, toKind, atNS int16
	var qty string
	var at time.Time
	if err := row.Scan(&seq, &kind, &fromKind, &e.From.ID, &toKind, &e.To.ID, &qty, &e.WorkOrder, &e.Step, &e.Equipment, &e.Operator, &e.Reason, &at, &atNS); err != nil {
		return seqEdge{}, err
	}
	e.Kind, e.From.Kind, e.To.Kind = genealogy.EdgeKind(kind), genealogy.NodeKind(fromKind), genealogy.NodeKind(toKind)
	q, ok := qs[qty]
	if !ok {
		if err := q.UnmarshalText([]byte(qty)); err != nil {
			return seqEdge{}, fmt.Errorf("edge %d has quantity %q: %w", seq, qty, err)
		}
		qs[qty] = q
	}
	e.Qty = q
	e.At = joinTime(at, atNS)
	return seqEdge{seq: seq, edge: e}, nil
}

// seqEdge is an edge with its position in the edges table.
type seqEdge struct {
	seq  int64
	edge genealogy.Edge
}

// edgesOf returns the edges whose end (to_ or from_) is n, in the order they were added.
func (t *readTx) edgesOf(ctx context.Context, end string, n genealogy.Node) ([]genealogy.Edge, error) {
	if t.failed != nil {
		return nil, t.failed
	}
	if n.IsZero() {
		return nil, nil
	}
	rows, err := t.q.Query(ctx, "SELECT "+edgeSelect+" FROM edges WHERE "+end+"_kind = $1 AND "+end+"_id = $2 ORDER BY seq", int16(n.Kind), n.ID)
	if err != nil {
		return nil, t.fail("reading the edges of "+n.String(), err)
	}
	got, err := pgx.CollectRows(rows, quantities{}.scanEdge)
	if err != nil {
		return nil, t.fail("reading the edges of "+n.String(), err)
	}
	out := make([]genealogy.Edge, len(got))
	for i, g := range got {
		out[i] = g.edge
	}
	return out, nil
}

// Inputs implements genealogy.Reader: the edges into n, in the order they were added.
func (t *readTx) Inputs(ctx context.Context, n genealogy.Node) ([]genealogy.Edge, error) {
	return t.edgesOf(ctx, "to", n)
}

// Outputs implements genealogy.Reader: the edges out of n, in the order they were added.
func (t *readTx) Outputs(ctx context.Context, n genealogy.Node) ([]genealogy.Edge, error) {
	return t.edgesOf(ctx, "from", n)
}

// TraceBackward implements genealogy.Tracer inside the transaction: one recursive query.
func (t *readTx) TraceBackward(ctx context.Context, from genealogy.Node, opts genealogy.TraceOptions) (genealogy.Trace, error) {
	return t.trace(ctx, from, genealogy.Backward, opts)
}

// TraceForward implements genealogy.Tracer inside the transaction: one recursive query.
func (t *readTx) TraceForward(ctx context.Context, from genealogy.Node, opts genealogy.TraceOptions) (genealogy.Trace, error) {
	return t.trace(ctx, from, genealogy.Forward, opts)
}

func (t *readTx) trace(ctx context.Context, from genealogy.Node, dir genealogy.Direction, opts genealogy.TraceOptions) (genealogy.Trace, error) {
	if t.failed != nil {
		return genealogy.Trace{}, t.failed
	}
	tr, err := trace(ctx, t.q, from, dir, opts)
	var qe *queryError
	if errors.As(err, &qe) {
		return genealogy.Trace{}, t.fail(qe.doing, qe.err)
	}
	return tr, err
}

// writeTx is the store.Tx of Update, on a connection in a transaction Update began. Record
// writes and edges are executed at once; events and audit records wait for the commit.
type writeTx struct {
	readTx
	conn   *pgxpool.Conn
	s      *Store
	head   logHead // read with the log_head lock at the start (lockHeadSQL)
	events []store.Event
	audit  []store.AuditRecord
}

// logHead is the log_head row: the last event position and the heads of the two chains.
type logHead struct {
	pos, seq             uint64
	eventHash, auditHash string
}

// putSQL writes a record with its keys and index entries in one statement, and reports
// what stopped it when it did not:
//
//	$1 kind, $2 id, $3 site, $4 expected version (0: create), $5 keys,
//	$6 index names, $7 index values (same length), $8 data
//
// The row is written only if the version matches and no other record of the kind holds
// one of the keys (taken); the keys and index entries follow only a written row. It
// returns the new version (NULL when nothing was written), the keys held by others and
// the current version. A key that another transaction takes concurrently is caught by the
// record_keys primary key (a unique violation).
const putSQL = `WITH want AS (
    SELECT DISTINCT k FROM unnest($5::text[]) AS k
), taken AS (
    SELECT array_agg(key ORDER BY key) AS keys FROM record_keys
    WHERE kind = $1::text AND key IN (SELECT k FROM want) AND id <> $2::text
), upd AS (
    UPDATE records SET site = $3, version = version + 1, keys = $5, index_names = $6, index_values = $7, data = $8
    WHERE kind = $1 AND id = $2 AND version = $4::bigint AND $4::bigint > 0 AND (SELECT keys FROM taken) IS NULL
    RETURNING version
), crt AS (
    INSERT INTO records (kind, id, site, version, keys, index_names, index_values, data)
    SELECT $1, $2, $3, 1, $5, $6, $7, $8::bytea WHERE $4::bigint = 0 AND (SELECT keys FROM taken) IS NULL
    ON CONFLICT (kind, id) DO NOTHING
    RETURNING version
), written AS (
    SELECT version FROM upd UNION ALL SELECT version FROM crt
), add_keys AS (
    INSERT INTO record_keys (kind, key, id)
    SELECT $1, k, $2 FROM want, written
    WHERE NOT EXISTS (SELECT 1 FROM record_keys WHERE kind = $1 AND key = k AND id = $2)
), drop_keys AS (
    DELETE FROM record_keys
    WHERE kind = $1 AND id = $2 AND key NOT IN (SELECT k FROM want) AND EXISTS (SELECT 1 FROM written)
), new_index AS (
    SELECT $3::text AS site, name, value FROM unnest($6::text[], $7::text[]) AS u(name, value)
), add_index AS (
    INSERT INTO record_index (kind, site, name, value, id)
    SELECT $1, site, name, value, $2 FROM new_index, written
    ON CONFLICT DO NOTHING
), drop_index AS (
    DELETE FROM record_index
    WHERE kind = $1 AND id = $2 AND (site, name, value) NOT IN (SELECT site, name, value FROM new_index)
      AND EXISTS (SELECT 1 FROM written)
)
SELECT (SELECT version FROM written), (SELECT keys FROM taken),
       COALESCE((SELECT version FROM records WHERE kind = $1 AND id = $2), 0)`

func (t *writeTx) Put(ctx context.Context, rec store.Record) (uint64, error) {
	if t.failed != nil {
		return 0, t.failed
	}
	if rec.Kind == "" || rec.ID == "" {
		return 0, fmt.Errorf("pgstore: record needs a kind and an id (got %q/%q)", rec.Kind, rec.ID)
	}
	if err := rec.CheckText(); err != nil { // checked here, before the database aborts the transaction
		return 0, fmt.Errorf("pgstore: %w", err)
	}
	if n := len(rec.Kind) + len(rec.Site) + len(rec.ID); n > maxIndexEntry { // records_by_site holds the three in one btree entry
		return 0, fmt.Errorf("pgstore: %w: the kind, site and id of %.40q take %d bytes together; at most %d", store.ErrTooLong, rec.ID, n, maxIndexEntry)
	}
	for name, value := range rec.Index { // record_index's primary key holds all five in one btree entry
		if n := len(rec.Kind) + len(rec.Site) + len(name) + len(value) + len(rec.ID); n > maxIndexEntry {
			return 0, fmt.Errorf("pgstore: %w: index entry %.40q of %s %q takes %d bytes with the record's kind, site and id; at most %d", store.ErrTooLong, name, rec.Kind, rec.ID, n, maxIndexEntry)
		}
	}
	data, err := rec.Encode()
	if err != nil {
		return 0, fmt.Errorf("pgstore: encoding %s %q as JSON: %w", rec.Kind, rec.ID, err)
	}
	keys := append([]string{}, rec.Keys...)
	names := make([]string, 0, len(rec.Index))
	for n := range rec.Index {
		names = append(names, n)
	}
	sort.Strings(names)
	values := make([]string, len(names))
	for i, n := range names {
		values[i] = rec.Index[n]
	}
	var written *int64
	var taken []string
	var current uint64
	err = t.q.QueryRow(ctx, putSQL, rec.Kind, rec.ID, rec.Site, rec.Version, keys, names, values, data).Scan(&written, &taken, &current)
	if err != nil {
		return 0, t.fail(fmt.Sprintf("writing %s %q", rec.Kind, rec.ID), err)
	}
	switch {
	case written != nil:
		return uint64(*written), nil
	case current != rec.Version:
		return 0, fmt.Errorf("%s %q: put with version %d, current is %d: %w", rec.Kind, rec.ID, rec.Version, current, store.ErrConflict)
	case len(taken) > 0:
		return 0, fmt.Errorf("%s %q: keys %q are held by other records of the kind: %w", rec.Kind, rec.ID, taken, store.ErrDuplicateKey)
	}
	return 0, fmt.Errorf("%s %q: put with version %d lost to a concurrent write: %w", rec.Kind, rec.ID, rec.Version, store.ErrConflict)
}

func (t *writeTx) AppendEvents(ctx context.Context, events ...store.Event) error {
	if t.failed != nil {
		return t.failed
	}
	for _, e := range events {
		e.Position = 0
		e.Data = append([]byte(nil), e.Data...)
		t.events = append(t.events, e)
	}
	return nil
}

func (t *writeTx) AppendAudit(ctx context.Context, recs ...store.AuditRecord) error {
	if t.failed != nil {
		return t.failed
	}
	for _, rec := range recs {
		rec.Changes = append([]store.Change(nil), rec.Changes...)
		rec.Signatures = append([]store.Signature(nil), rec.Signatures...)
		t.audit = append(t.audit, rec)
	}
	return nil
}

func (t *writeTx) AddEdges(ctx context.Context, edges ...genealogy.Edge) error {
	if t.failed != nil {
		return t.failed
	}
	if len(edges) == 0 {
		return nil
	}
	if err := genealogy.ValidateEdges(edges...); err != nil {
		return err
	}
	c := newEdgeColumns(len(edges))
	for _, e := range edges {
		c.add(e)
	}
	_, err := t.q.Exec(ctx, `INSERT INTO edges (kind, from_kind, from_id, to_kind, to_id, qty, work_order, step, equipment, operator, reason, at, at_ns)
SELECT * FROM unnest($1::smallint[], $2::smallint[], $3::text[], $4::smallint[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::smallint[])`, c.args()...)
	if err != nil {
		return t.fail(fmt.Sprintf("adding %d genealogy edges", len(edges)), err)
	}
	return nil
}

// edgeColumns holds edges column by column, as the edges table and unnest want them.
type edgeColumns struct {
	kind, fromKind, toKind, atNS                                    []int16
	fromID, toID, qty, workOrder, step, equipment, operator, reason []string
	at                                                              []time.Time
}

func newEdgeColumns(n int) *edgeColumns {
	return &edgeColumns{
		kind: make([]int16, 0, n), fromKind: make([]int16, 0, n), toKind: make([]int16, 0, n), atNS: make([]int16, 0, n),
		fromID: make([]string, 0, n), toID: make([]string, 0, n), qty: make([]string, 0, n), workOrder: make([]string, 0, n),
		step: make([]string, 0, n), equipment: make([]string, 0, n), operator: make([]string, 0, n), reason: make([]string, 0, n),
		at: make([]time.Time, 0, n),
	}
}

func (c *edgeColumns) add(e genealogy.Edge) {
	at, ns := splitTime(e.At)
	c.kind = append(c.kind, int16(e.Kind))
	c.fromKind = append(c.fromKind, int16(e.From.Kind))
	c.fromID = append(c.fromID, e.From.ID)
	c.toKind = append(c.toKind, int16(e.To.Kind))
	c.toID = append(c.toID, e.To.ID)
	c.qty = append(c.qty, e.Qty.String())
	c.workOrder = append(c.workOrder, e.WorkOrder)
	c.step = append(c.step, e.Step)
	c.equipment = append(c.equipment, e.Equipment)
	c.operator = append(c.operator, e.Operator)
	c.reason = append(c.reason, e.Reason)
	c.at = append(c.at, at)
	c.atNS = append(c.atNS, ns)
}

func (c *edgeColumns) args() []any {
	return []any{c.kind, c.fromKind, c.fromID, c.toKind, c.toID, c.qty, c.workOrder, c.step, c.equipment, c.operator, c.reason, c.at, c.atNS}
}

// splitTime returns t in UTC truncated to the microsecond (what timestamptz holds) and the
// nanoseconds below it; joinTime puts them back together exactly.
func splitTime(t time.Time) (time.Time, int16) {
	t = t.UTC()
	us := t.Truncate(time.Microsecond)
	return us, int16(t.Sub(us))
}

func joinTime(us time.Time, ns int16) time.Time {
	return us.UTC().Add(time.Duration(ns))
}

// hasNUL reports whether any of ss holds a NUL byte, which no stored text can (PostgreSQL
// refuses it).
func hasNUL(ss ...string) bool {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return true
		}
	}
	return false
}

// maxIndexEntry bounds the text of a record_index row (kind, site, name, value, id) and of
// a records_by_site row (kind, site, id) below PostgreSQL's btree entry limit (2704 bytes
// with its headers).
const maxIndexEntry = 2600
