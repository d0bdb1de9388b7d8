package pgstore

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMigrations(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []string // names in order
		destroy []string // their destructive reasons
		err     string
	}{
		{"ordered-by-version", fstest.MapFS{
			"m/0002_b.sql": {Data: []byte("CREATE TABLE b ();")},
			"m/0001_a.sql": {Data: []byte("CREATE TABLE a ();")},
		}, []string{"0001_a.sql", "0002_b.sql"}, []string{"", ""}, ""},
		{"destructive-marker", fstest.MapFS{
			"m/0001_a.sql":    {Data: []byte("CREATE TABLE a ();")},
			"m/0002_drop.sql": {Data: []byte("-- takt:destructive drops table a\nDROP TABLE a;")},
			"m/0003_bare.sql": {Data: []byte("  -- takt:destructive\nDELETE FROM b;")},
		}, []string{"0001_a.sql", "0002_drop.sql", "0003_bare.sql"}, []string{"", "drops table a", "it drops or rewrites data"}, ""},
		{"marker-only-on-first-line", fstest.MapFS{
			"m/0001_a.sql": {Data: []byte("CREATE TABLE a ();\n-- takt:destructive no")},
		}, []string{"0001_a.sql"}, []string{""}, ""},
		{"bad-name", fstest.MapFS{"m/1_a.sql": {Data: []byte("")}}, nil, nil, `"1_a.sql" is not named NNNN_what.sql`},
		{"duplicate-version", fstest.MapFS{
			"m/0001_a.sql": {Data: []byte("")},
			"m/0001_b.sql": {Data: []byte("")},
		}, nil, nil, "share version 1"},
		{"version-zero", fstest.MapFS{"m/0000_a.sql": {Data: []byte("")}}, nil, nil, "versions start at 0001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			migs, err := parseMigrations(tc.files, "m")
			if tc.err != "" {
				require.ErrorIs(t, err, ErrMigration)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			var names, reasons []string
			for _, m := range migs {
				names, reasons = append(names, m.name), append(reasons, m.destructive)
			}
			assert.Equal(t, tc.want, names)
			assert.Equal(t, tc.destroy, reasons)
		})
	}
}

func TestEmbeddedMigrationsParse(t *testing.T) {
	migs, err := parseMigrations(embedded, "migrations")
	require.NoError(t, err)
	require.NotEmpty(t, migs)
	for _, m := range migs {
		assert.Empty(t, m.destructive, "%s: shipped migrations so far add only", m.name)
	}
}

func FuzzParseMigrations(f *testing.F) {
	f.Add("0001_init.sql", "CREATE TABLE a ();")
	f.Add("0002_drop.sql", "-- takt:destructive drops a\nDROP TABLE a;")
	f.Add("12_x.sql", "")
	f.Fuzz(func(t *testing.T, name, body string) {
		if name == "" || strings.ContainsAny(name, "/\\") || name == "." || name == ".." {
			return
		}
		migs, err := parseMigrations(fstest.MapFS{"m/" + name: {Data: []byte(body)}}, "m")
		if err != nil {
			assert.ErrorIs(t, err, ErrMigration)
			return
		}
		require.Len(t, migs, 1)
		first, _, _ := strings.Cut(body, "\n")
		assert.Equal(t, strings.HasPrefix(strings.TrimSpace(first), destructiveMarker), migs[0].destructive != "")
		assert.Positive(t, migs[0].version)
	})
}

// TestConcurrentOpen opens one fresh schema from many goroutines at once (each its own
// connection, as separate processes would): every Open succeeds and each migration is
// applied once.
func TestConcurrentOpen(t *testing.T) {
	schema := newSchema(t)
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			openSchema(t, schema)
		}()
	}
	wg.Wait()
	s := openSchema(t, schema)
	var applied int
	require.NoError(t, s.pool.QueryRow(context.Background(), "SELECT count(*) FROM schema_migrations").Scan(&applied))
	migs, err := parseMigrations(embedded, "migrations")
	require.NoError(t, err)
	assert.Equal(t, len(migs), applied)
}

// TestDestructiveMigrationNeedsFlag: a destructive migration stops the upgrade, with an
// error that names it and the option, until the flag is given; the data is untouched.
func TestDestructiveMigrationNeedsFlag(t *testing.T) {
	schema := newSchema(t)
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(testDSN(t))
	require.NoError(t, err)
	cfg.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	migs, err := parseMigrations(fstest.MapFS{
		"m/0001_a.sql":    {Data: []byte("CREATE TABLE a (x int); INSERT INTO a VALUES (1);")},
		"m/0002_drop.sql": {Data: []byte("-- takt:destructive drops table a\nDROP TABLE a;")},
	}, "m")
	require.NoError(t, err)

	err = migrate(ctx, cfg, schema, migs, false)
	require.ErrorIs(t, err, ErrMigration)
	assert.Contains(t, err.Error(), "0002_drop.sql is destructive (drops table a)")
	assert.Contains(t, err.Error(), "AllowDestructiveMigrations")
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var x int
	require.NoError(t, conn.QueryRow(ctx, "SELECT x FROM a").Scan(&x), "the first migration applied, the second did not")

	require.NoError(t, migrate(ctx, cfg, schema, migs, true))
	var left bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT to_regclass('a') IS NOT NULL").Scan(&left))
	assert.False(t, left, "the destructive migration ran with the flag")
}

// TestReopenKeepsData: opening an up-to-date schema again applies nothing and loses
// nothing.
func TestReopenKeepsData(t *testing.T) {
	schema := newSchema(t)
	ctx := context.Background()
	s := openSchema(t, schema)
	put(t, s, "wo", "1", `{"a": 1,  "b":[2]}`)
	require.NoError(t, s.Close())
	again := openSchema(t, schema)
	rec := get(t, again, "wo", "1")
	assert.Equal(t, `{"a": 1,  "b":[2]}`, string(rec.Data), "data is kept byte for byte")
	_ = ctx
}
