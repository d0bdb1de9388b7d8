// Command bench measures the PostgreSQL store's performance figures and prints one line per
// figure, in the format of Takt's main bench program: a stable dotted name, the value and
// its unit, and where a baseline is measured in the same run, the baseline and the ratio
// value/baseline.
//
//	TAKT_POSTGRES_DSN=postgres://... go run ./bench              # every figure
//	TAKT_POSTGRES_DSN=postgres://... go run ./bench -only pg.cmds # the command figures
//	TAKT_POSTGRES_DSN=postgres://... go run ./bench -json         # a JSON array
//
// Every figure runs in a schema of its own, dropped at the end. The command figures need
// the pgbench program (PostgreSQL's client tools) for their baseline; it runs on a scratch
// database, takt_pgbench, which the program creates when missing.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taktmes/takt/internal/benchfmt"
)

// result is one measured figure.
type result = benchfmt.Result

// suite is a group of figures measured together; names lists them so -only can skip it.
type suite struct {
	names []string
	run   func(cfg config, report func(result))
}

// config is what every suite gets from the command line.
type config struct {
	dsn      string
	duration time.Duration // of each throughput run
	lots     int           // of the genealogy graph
}

var suites = []suite{
	{[]string{"pg.cmds_per_s.c1", "pg.cmds_per_s.c8"}, benchCommands},
	{[]string{"pg.trace_back_ms.1m", "pg.trace_back_nodewise_ms.1m"}, benchTrace},
}

func main() {
	p := benchfmt.NewPrinter(flag.CommandLine, os.Stdout)
	duration := flag.Duration("duration", 10*time.Second, "how long each throughput figure (and pgbench) runs")
	lots := flag.Int("lots", 1_000_000, "lots in the generated genealogy graph (the figure names say 1m)")
	flag.Parse()
	cfg := config{dsn: os.Getenv("TAKT_POSTGRES_DSN"), duration: *duration, lots: *lots}
	if cfg.dsn == "" {
		fmt.Fprintln(os.Stderr, "bench: set TAKT_POSTGRES_DSN=postgres://... to the database to measure")
		os.Exit(2)
	}
	for _, s := range suites {
		if p.Wanted(s.names...) {
			s.run(cfg, p.Report)
		}
	}
	if err := p.Done(); err != nil {
		fail(err)
	}
}

// dropOnFailure holds the drops of the scratch schemas in use, which fail runs before it
// exits.
var dropOnFailure []func()

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	for i := len(dropOnFailure) - 1; i >= 0; i-- {
		dropOnFailure[i]()
	}
	os.Exit(1)
}

func must(err error) {
	if err != nil {
		fail(err)
	}
}

// scratchSchema returns a new schema name and a function that drops it.
func scratchSchema(dsn, what string) (string, func()) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	schema := "takt_bench_" + what + "_" + hex.EncodeToString(b)
	drop := func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: dropping", schema+":", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			fmt.Fprintln(os.Stderr, "bench: dropping", schema+":", err)
		}
	}
	dropOnFailure = append(dropOnFailure, drop)
	return schema, drop
}
