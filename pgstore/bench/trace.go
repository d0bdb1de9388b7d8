package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/genealogy/genealogytest"
	"github.com/taktmes/takt/pgstore"
	"github.com/taktmes/takt/store"
)

// handWritten is the baseline: the recursive query a person would write for a backward
// trace on the store's edges table, its rows scanned and nothing more. The store's own
// trace also builds and checks the genealogy.Trace.
const handWritten = `WITH RECURSIVE up(kind, id) AS (
    VALUES ($1::smallint, $2::text COLLATE "C")
    UNION
    SELECT e.from_kind, e.from_id FROM edges e JOIN up ON e.to_kind = up.kind AND e.to_id = up.id
    WHERE e.from_kind <> 0
)
SELECT e.seq, e.kind, e.from_kind, e.from_id, e.to_kind, e.to_id, e.qty, e.work_order, e.step, e.equipment, e.operator, e.reason, e.at, e.at_ns
FROM up JOIN edges e ON e.to_kind = up.kind AND e.to_id = up.id
ORDER BY e.seq`

// benchTrace loads a generated plant history of cfg.lots lots (genealogytest, seed 1, about
// three edges a lot) with COPY, then traces random finished lots backward: with the
// store's one-query Tracer, with the hand-written query, and node by node through Inputs.
// It reports the medians over 1,000 traces (200 node by node) in milliseconds.
func benchTrace(cfg config, report func(result)) {
	ctx := context.Background()
	schema, drop := scratchSchema(cfg.dsn, "trace")
	defer drop()
	s, err := pgstore.Open(ctx, cfg.dsn, pgstore.WithSchema(schema))
	must(err)
	defer s.Close()

	start := time.Now()
	var h genealogytest.History
	n, err := s.ImportEdges(ctx, func(yield func(genealogy.Edge) bool) {
		stopped := false
		h = genealogytest.Generate(1, cfg.lots, func(e genealogy.Edge) {
			if !stopped {
				stopped = !yield(e)
			}
		})
	})
	must(err)
	conn, err := pgx.Connect(ctx, cfg.dsn)
	must(err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "ANALYZE "+pgx.Identifier{schema, "edges"}.Sanitize())
	must(err)
	_, err = conn.Exec(ctx, "SET search_path TO "+pgx.Identifier{schema}.Sanitize())
	must(err)
	fmt.Fprintf(os.Stderr, "pg trace: loaded %d lots, %d edges with COPY in %s\n", h.Lots, n, time.Since(start).Round(time.Second))

	rng := rand.New(rand.NewPCG(2, 3))
	lots := make([]genealogy.Node, 1000)
	for i := range lots {
		lots[i] = h.Finished[rng.IntN(len(h.Finished))]
	}
	for _, lot := range lots { // the same pages in cache for every contender
		scanHandWritten(ctx, conn, lot)
	}
	var mine, base, nodewise []time.Duration
	nodes := 0
	for i, lot := range lots {
		traceMine := func() {
			d, tr := timed(func() genealogy.Trace {
				tr, err := s.TraceBackward(ctx, lot, genealogy.TraceOptions{})
				must(err)
				return tr
			})
			mine, nodes = append(mine, d), nodes+len(tr.Nodes)
		}
		traceBase := func() {
			d, _ := timed(func() genealogy.Trace {
				scanHandWritten(ctx, conn, lot)
				return genealogy.Trace{}
			})
			base = append(base, d)
		}
		if i%2 == 0 { // neither always goes first
			traceMine()
			traceBase()
		} else {
			traceBase()
			traceMine()
		}
		if i%5 == 0 { // node by node is slow: a sample is enough
			d, _ := timed(func() genealogy.Trace {
				var tr genealogy.Trace
				must(s.View(ctx, func(tx store.ReadTx) error {
					var err error
					tr, err = genealogy.Walk(ctx, tx, lot, genealogy.Backward, genealogy.TraceOptions{})
					return err
				}))
				return tr
			})
			nodewise = append(nodewise, d)
		}
	}
	fmt.Fprintf(os.Stderr, "pg trace: %d backward traces, mean answer %.1f nodes\n", len(lots), float64(nodes)/float64(len(lots)))
	suffix := fmt.Sprintf("%dk", cfg.lots/1000)
	if cfg.lots%1_000_000 == 0 {
		suffix = fmt.Sprintf("%dm", cfg.lots/1_000_000)
	}
	report(result{Name: "pg.trace_back_ms." + suffix, Value: median(mine), Unit: "ms"}.WithBaseline(median(base)))
	report(result{Name: "pg.trace_back_nodewise_ms." + suffix, Value: median(nodewise), Unit: "ms"}.WithBaseline(median(mine)))
}

// scanHandWritten runs the baseline query for lot and scans every row.
func scanHandWritten(ctx context.Context, conn *pgx.Conn, lot genealogy.Node) {
	rows, err := conn.Query(ctx, handWritten, int16(lot.Kind), lot.ID)
	must(err)
	var seq int64
	var kind, fromKind, toKind, ns int16
	var fromID, toID, qty, wo, step, eq, op, reason string
	var at time.Time
	_, err = pgx.ForEachRow(rows, []any{&seq, &kind, &fromKind, &fromID, &toKind, &toID, &qty, &wo, &step, &eq, &op, &reason, &at, &ns}, func() error { return nil })
	must(err)
}

func timed(f func() genealogy.Trace) (time.Duration, genealogy.Trace) {
	start := time.Now()
	t := f()
	return time.Since(start), t
}

func median(d []time.Duration) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[len(s)/2].Microseconds()) / 1000
}
