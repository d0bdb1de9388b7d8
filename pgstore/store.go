// Package pgstore is the PostgreSQL store.Store: Takt's production backend, correct with many
// processes sharing one database. It uses pgx v5 with a connection pool; its schema is
// embedded and migrated by Open.
//
//	s, err := pgstore.Open(ctx, "postgres://takt@db:5432/plant", pgstore.WithSchema("takt"))
//	plant, err := mes.Open(ctx, s)
//
// How it keeps the store contract:
//
//   - Update transactions are serializable: each begins by locking the single log_head
//     row (a process's own Updates queue for it in the Store first), so the Updates of
//     all processes run one at a time, and at READ COMMITTED each reads everything
//     committed before it. What a command only reads (the holds on a lot it tracks in)
//     cannot change under it before it commits.
//   - Records carry optimistic versions: a Put is one statement that writes the row only
//     WHERE version = the caller's version (or inserts it when the version is 0), together
//     with its unique keys and index entries. Zero rows written is store.ErrConflict.
//   - Events and audit records are held by the transaction until commit. They are sealed
//     (store.Seal) after the event position and chain heads read with the lock, and
//     inserted with the moved heads and the COMMIT in one round trip: positions are
//     gap-free and become visible in order, and the chain is sealed in commit order.
//   - WaitEvents listens on a dedicated connection (LISTEN/NOTIFY; the committing
//     transaction notifies) and re-checks every few seconds, so a lost notification delays a
//     waiter but never hangs it.
//   - The Store and its transactions implement genealogy.Tracer: a trace is one recursive
//     query, and its answer is what genealogy.Walk gives over the same edges.
//
// Each store lives in one PostgreSQL schema (WithSchema, or the connection's current schema).
package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taktmes/takt/store"
)

// ErrClosed is returned by a Store after Close.
var ErrClosed = errors.New("pgstore: store is closed")

// Option configures Open.
type Option func(*options)

type options struct {
	schema           string
	allowDestructive bool
	recheck          time.Duration
}

// WithSchema keeps the store in the PostgreSQL schema name, creating it if needed; Open
// refuses a name longer than 63 bytes. Stores in different schemas of one database are
// independent. Without it the store uses the
// connection's current schema (normally public).
func WithSchema(name string) Option { return func(o *options) { o.schema = name } }

// AllowDestructiveMigrations lets Open apply migrations that drop or rewrite data (their
// first line is "-- takt:destructive <why>"). Without it Open refuses them with an error
// naming the migration, so an upgrade never destroys data by surprise. Back up first.
func AllowDestructiveMigrations() Option { return func(o *options) { o.allowDestructive = true } }

// defaultRecheck is how often a waiter in WaitEvents looks at the log without a
// notification, in case one was lost (a listener reconnecting, say).
const defaultRecheck = 3 * time.Second

// Store is the PostgreSQL store. It is safe for concurrent use, and any number of Stores in
// any number of processes may share one schema.
type Store struct {
	pool    *pgxpool.Pool
	schema  string
	channel string // NOTIFY channel of this schema
	recheck time.Duration
	// writer admits one Update of this Store at a time to the log_head lock (beginSQL):
	// the others wait here, without a connection, rather than queue on the row.
	writer chan struct{}

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced when the listener hears of new events
	closed    bool
	listening bool               // the listener goroutine was started
	listenCtx context.Context    // the listener's; cancelled by Close
	stop      context.CancelFunc // cancels listenCtx
	stopped   chan struct{}      // closed when the listener has exited
}

// Open connects to the database at dsn (a postgres:// URL or key=value string; pool
// settings such as pool_max_conns go in it), brings the schema up to date and returns the
// store. Several processes may open the same database at once: migrations run under an
// advisory lock, once.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := options{recheck: defaultRecheck}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading the connection string: %w", err)
	}
	if len(o.schema) > maxName {
		return nil, fmt.Errorf("pgstore: schema name %.40q... is %d bytes long; PostgreSQL keeps at most %d bytes of a name (it would cut it, and stores whose names differ after that would share one schema)", o.schema, len(o.schema), maxName)
	}
	if o.schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{o.schema}.Sanitize()
	} else {
		conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
		if err != nil {
			return nil, fmt.Errorf("pgstore: connecting to PostgreSQL: %w", err)
		}
		var current *string
		err = conn.QueryRow(ctx, "SELECT current_schema()").Scan(&current)
		conn.Close(ctx)
		if err != nil {
			return nil, fmt.Errorf("pgstore: reading the current schema: %w", err)
		}
		if current == nil {
			return nil, fmt.Errorf("pgstore: the connection's search_path names no existing schema; create one or use pgstore.WithSchema(name)")
		}
		o.schema = *current
	}
	migs, err := parseMigrations(embedded, "migrations")
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, cfg.ConnConfig, o.schema, migs, o.allowDestructive); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: opening the connection pool: %w", err)
	}
	listenCtx, stop := context.WithCancel(context.Background())
	return &Store{
		pool:      pool,
		schema:    o.schema,
		channel:   eventChannel(o.schema),
		recheck:   o.recheck,
		writer:    make(chan struct{}, 1),
		changed:   make(chan struct{}),
		listenCtx: listenCtx,
		stop:      stop,
		stopped:   make(chan struct{}),
	}, nil
}

// Schema returns the PostgreSQL schema the store lives in.
func (s *Store) Schema() string { return s.schema }

// Close stops the listener and closes the pool. Waiters in WaitEvents return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.changed)
	listening := s.listening
	s.mu.Unlock()
	s.stop()
	if listening {
		<-s.stopped
	}
	s.pool.Close()
	return nil
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// beginSQL starts an Update: a READ COMMITTED transaction that first takes the log_head row
// lock (lockHeadSQL, in the same round trip). Updates of every process therefore run one at a time, each
// after the previous one committed, and since every statement of READ COMMITTED reads what
// was committed before it began, each reads everything its predecessors wrote: Updates are
// serializable. A version check alone protects only what a command writes: a command that
// read a record (no hold on a lot, say) would otherwise commit after another command
// changed it (placed the hold).
const beginSQL = "BEGIN ISOLATION LEVEL READ COMMITTED"

// lockHeadSQL is beginSQL's lock: it also reads the heads the transaction's commit appends
// its events and audit records after.
const lockHeadSQL = "SELECT event_pos, event_hash, audit_seq, audit_hash FROM log_head FOR UPDATE"

// Update implements store.Store. It runs fn serialised with every other Update on the schema
// (beginSQL). fn's record writes and edges go to the database as it makes them; its events
// and audit records are written at commit, with the COMMIT in the same round trip as the
// last of them (see the package documentation). A failed SQL statement aborts the
// PostgreSQL transaction: every later call in fn returns that error and Update returns it.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if s.isClosed() {
		return ErrClosed
	}
	select {
	case s.writer <- struct{}{}:
		defer func() { <-s.writer }()
	case <-ctx.Done():
		return ctx.Err()
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.poolErr("taking a connection", err)
	}
	// Rolls back on every way out but a commit, a panic in fn included (it then goes on to
	// the caller). The pool drops a connection left in a transaction.
	defer func() {
		if conn.Conn().PgConn().TxStatus() != 'I' {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		conn.Release()
	}()
	t := &writeTx{readTx: readTx{q: conn}, conn: conn, s: s}
	b := &pgx.Batch{}
	b.Queue(beginSQL)
	b.Queue(lockHeadSQL).QueryRow(func(row pgx.Row) error {
		return row.Scan(&t.head.pos, &t.head.eventHash, &t.head.seq, &t.head.auditHash)
	})
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return mapErr("starting a transaction", err)
	}
	if err := fn(t); err != nil {
		return err
	}
	if t.failed != nil {
		return t.failed
	}
	return t.commit(ctx)
}

// View implements store.Store. fn sees one snapshot of committed data (REPEATABLE READ,
// READ ONLY).
func (s *Store) View(ctx context.Context, fn func(store.ReadTx) error) error {
	if s.isClosed() {
		return ErrClosed
	}
	pgtx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return s.poolErr("starting a read-only transaction", err)
	}
	defer func() { _ = pgtx.Rollback(context.WithoutCancel(ctx)) }()
	t := &readTx{q: pgtx}
	if err := fn(t); err != nil {
		return err
	}
	return t.failed
}

// PostgreSQL error codes the store maps to store errors.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// mapErr wraps a database error with what the store was doing, mapping the failures a
// caller should retry to store.ErrConflict and a unique violation to store.ErrDuplicateKey.
// poolErr is mapErr for a call on the pool: ErrClosed when the store was closed meanwhile
// (the pool then fails its calls in words of its own).
func (s *Store) poolErr(doing string, err error) error {
	if s.isClosed() {
		return ErrClosed
	}
	return mapErr(doing, err)
}

func mapErr(doing string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeSerializationFailure, codeDeadlockDetected:
			return fmt.Errorf("pgstore: %s: %w (a concurrent transaction won: %s; retry)", doing, store.ErrConflict, pgErr.Message)
		case codeUniqueViolation:
			return fmt.Errorf("pgstore: %s: %w (%s)", doing, store.ErrDuplicateKey, pgErr.Detail)
		}
	}
	return fmt.Errorf("pgstore: %s: %w", doing, err)
}

// maxName is the longest name PostgreSQL keeps, in bytes (NAMEDATALEN - 1); it cuts longer
// ones.
const maxName = 63

// eventChannel names the notification channel of a schema's event log: "takt_events/" and
// the schema, or for a schema too long for a channel name (maxName), its hash.
func eventChannel(schema string) string {
	if c := "takt_events/" + schema; len(c) <= maxName {
		return c
	}
	sum := sha256.Sum256([]byte(schema))
	return "takt_events/" + hex.EncodeToString(sum[:16])
}
