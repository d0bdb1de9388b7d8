package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var embedded embed.FS

// ErrMigration is wrapped by Open's error when the schema cannot be brought up to date.
var ErrMigration = errors.New("pgstore: migration")

// destructiveMarker starts the first line of a migration that drops or rewrites data. Open
// applies such a migration only with AllowDestructiveMigrations.
const destructiveMarker = "-- takt:destructive"

// migration is one versioned SQL file, named NNNN_what.sql.
type migration struct {
	version     int
	name        string
	sql         string
	destructive string // why it is destructive; empty when it is not
}

var migrationName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// parseMigrations reads the *.sql files of dir in fsys, in version order.
func parseMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %v", ErrMigration, dir, err)
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("%w: file %q is not named NNNN_what.sql (four digits, lower-case words)", ErrMigration, e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if other, dup := seen[v]; dup || v == 0 {
			return nil, fmt.Errorf("%w: %s and %q share version %d (versions start at 0001 and are unique)", ErrMigration, e.Name(), other, v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("%w: reading %s: %v", ErrMigration, e.Name(), err)
		}
		mig := migration{version: v, name: e.Name(), sql: string(b)}
		first, _, _ := strings.Cut(mig.sql, "\n")
		if rest, ok := strings.CutPrefix(strings.TrimSpace(first), destructiveMarker); ok {
			mig.destructive = strings.TrimSpace(rest)
			if mig.destructive == "" {
				mig.destructive = "it drops or rewrites data"
			}
		}
		out = append(out, mig)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate brings schema up to date with migs on its own connection. It holds a session
// advisory lock named after the schema, so processes opening the store at once apply each
// migration exactly once; closing the connection releases the lock whatever happens.
func migrate(ctx context.Context, cfg *pgx.ConnConfig, schema string, migs []migration, allowDestructive bool) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("pgstore: connecting to PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended($1, 0))", "takt.pgstore/"+schema); err != nil {
		return fmt.Errorf("%w: taking the migration lock: %v", ErrMigration, err)
	}
	setup := fmt.Sprintf(`CREATE SCHEMA IF NOT EXISTS %[1]s;
CREATE TABLE IF NOT EXISTS %[1]s.schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`, pgx.Identifier{schema}.Sanitize())
	if _, err := conn.Exec(ctx, setup); err != nil {
		return fmt.Errorf("%w: creating schema %q and its schema_migrations table: %v", ErrMigration, schema, err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("%w: reading schema_migrations: %v", ErrMigration, err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("%w: reading schema_migrations: %v", ErrMigration, err)
	}
	for _, v := range versions {
		applied[int(v)] = true
	}
	for _, m := range migs {
		if applied[m.version] {
			continue
		}
		if m.destructive != "" && !allowDestructive {
			return fmt.Errorf("%w: %s is destructive (%s); back up the database, then open the store with pgstore.AllowDestructiveMigrations() to apply it", ErrMigration, m.name, m.destructive)
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("%w: applying %s to schema %q: %v", ErrMigration, m.name, schema, err)
		}
	}
	return nil
}
