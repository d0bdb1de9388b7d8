package pgstore

import (
	"context"
	"fmt"
	"iter"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/taktmes/takt/genealogy"
)

// Trace queries. Each collects the nodes reachable from the root with a recursive CTE
// (UNION drops nodes it has already produced, so a cycle ends the recursion), then returns
// every edge of those nodes in the order the edges were added. The depth-limited form
// carries each node's distance and reaches one level past MaxDepth, which is what Walk
// reads to tell whether the limit truncated the trace; a node reached at two depths
// brings its edges twice and trace keeps one of each. %[1]s is the end a walk arrives
// from ("to" backward), %[2]s the end it goes to.
const (
	traceSQL = `WITH RECURSIVE reach(kind, id) AS (
    VALUES ($1::smallint, $2::text COLLATE "C")
    UNION
    SELECT e.%[2]s_kind, e.%[2]s_id FROM edges e JOIN reach r ON e.%[1]s_kind = r.kind AND e.%[1]s_id = r.id
    WHERE e.%[2]s_kind <> 0
)
SELECT e.seq, e.kind, e.from_kind, e.from_id, e.to_kind, e.to_id, e.qty, e.work_order, e.step, e.equipment, e.operator, e.reason, e.at, e.at_ns
FROM reach r JOIN edges e ON e.%[1]s_kind = r.kind AND e.%[1]s_id = r.id
ORDER BY e.seq`
	traceDepthSQL = `WITH RECURSIVE reach(kind, id, depth) AS (
    VALUES ($1::smallint, $2::text COLLATE "C", 0)
    UNION
    SELECT e.%[2]s_kind, e.%[2]s_id, r.depth + 1 FROM edges e JOIN reach r ON e.%[1]s_kind = r.kind AND e.%[1]s_id = r.id
    WHERE e.%[2]s_kind <> 0 AND r.depth < $3
)
SELECT e.seq, e.kind, e.from_kind, e.from_id, e.to_kind, e.to_id, e.qty, e.work_order, e.step, e.equipment, e.operator, e.reason, e.at, e.at_ns
FROM reach r JOIN edges e ON e.%[1]s_kind = r.kind AND e.%[1]s_id = r.id
ORDER BY e.seq`
)

var (
	traceBackwardSQL      = fmt.Sprintf(traceSQL, "to", "from")
	traceForwardSQL       = fmt.Sprintf(traceSQL, "from", "to")
	traceBackwardDepthSQL = fmt.Sprintf(traceDepthSQL, "to", "from")
	traceForwardDepthSQL  = fmt.Sprintf(traceDepthSQL, "from", "to")
)

// TraceBackward implements genealogy.Tracer: everything that went into from, in one query.
func (s *Store) TraceBackward(ctx context.Context, from genealogy.Node, opts genealogy.TraceOptions) (genealogy.Trace, error) {
	return s.trace(ctx, from, genealogy.Backward, opts)
}

// TraceForward implements genealogy.Tracer: everything from went into, in one query.
func (s *Store) TraceForward(ctx context.Context, from genealogy.Node, opts genealogy.TraceOptions) (genealogy.Trace, error) {
	return s.trace(ctx, from, genealogy.Forward, opts)
}

func (s *Store) trace(ctx context.Context, from genealogy.Node, dir genealogy.Direction, opts genealogy.TraceOptions) (genealogy.Trace, error) {
	if s.isClosed() {
		return genealogy.Trace{}, ErrClosed
	}
	t, err := trace(ctx, s.pool, from, dir, opts)
	if qe, ok := err.(*queryError); ok {
		return genealogy.Trace{}, mapErr(qe.doing, qe.err)
	}
	return t, err
}

// queryError is a database error of trace, which its callers map (and a transaction
// records as its failure).
type queryError struct {
	doing string
	err   error
}

func (e *queryError) Error() string { return e.doing + ": " + e.err.Error() }

// trace reads the edges reachable from root with one recursive query and builds the trace
// from them with genealogy.Walk, so the answer is the reference's by construction.
// depthLimit is a trace's MaxDepth as the query's integer column holds it: a limit beyond
// its range limits nothing a graph can have.
func depthLimit(d int) int32 { return int32(min(d, math.MaxInt32)) }

func trace(ctx context.Context, q querier, root genealogy.Node, dir genealogy.Direction, opts genealogy.TraceOptions) (genealogy.Trace, error) {
	if root.IsZero() || root.ID == "" || root.Kind < genealogy.NodeLot || root.Kind > genealogy.NodeSupplierLot ||
		opts.MaxDepth < 0 || (dir != genealogy.Backward && dir != genealogy.Forward) {
		return genealogy.Walk(ctx, nearEdges(nil), root, dir, opts) // Walk explains what is wrong
	}
	sql, args := traceBackwardSQL, []any{int16(root.Kind), root.ID}
	switch {
	case dir == genealogy.Forward && opts.MaxDepth > 0:
		sql, args = traceForwardDepthSQL, append(args, depthLimit(opts.MaxDepth))
	case dir == genealogy.Forward:
		sql = traceForwardSQL
	case opts.MaxDepth > 0:
		sql, args = traceBackwardDepthSQL, append(args, depthLimit(opts.MaxDepth))
	}
	doing := fmt.Sprintf("tracing %s %s", dir, root)
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return genealogy.Trace{}, &queryError{doing, err}
	}
	got, err := pgx.CollectRows(rows, quantities{}.scanEdge)
	if err != nil {
		return genealogy.Trace{}, &queryError{doing, err}
	}
	byNear := nearEdges{}
	for i, g := range got {
		if i > 0 && got[i-1].seq == g.seq {
			continue // the same edge reached at another depth
		}
		near := g.edge.To
		if dir == genealogy.Forward {
			near = g.edge.From
		}
		byNear[near] = append(byNear[near], g.edge)
	}
	return genealogy.Walk(ctx, byNear, root, dir, opts)
}

// nearEdges holds fetched edges by the end a walk arrives from (To going backward, From
// going forward), in the order they were added. It is the genealogy.Reader Walk reads; it
// answers Inputs and Outputs alike because a walk asks only one of them.
type nearEdges map[genealogy.Node][]genealogy.Edge

func (m nearEdges) Inputs(ctx context.Context, n genealogy.Node) ([]genealogy.Edge, error) {
	return m[n], nil
}

func (m nearEdges) Outputs(ctx context.Context, n genealogy.Node) ([]genealogy.Edge, error) {
	return m[n], nil
}

// ImportEdges adds edges with COPY, the fast path for loading an existing genealogy (from
// the system Takt replaces, say) outside any command: no events, no audit records. Edges
// are checked as AddEdges checks them. It returns how many edges it added; on an error it
// adds none.
func (s *Store) ImportEdges(ctx context.Context, edges iter.Seq[genealogy.Edge]) (int64, error) {
	if s.isClosed() {
		return 0, ErrClosed
	}
	next, stop := iter.Pull(edges)
	defer stop()
	n, err := s.pool.CopyFrom(ctx, pgx.Identifier{"edges"},
		[]string{"kind", "from_kind", "from_id", "to_kind", "to_id", "qty", "work_order", "step", "equipment", "operator", "reason", "at", "at_ns"},
		pgx.CopyFromFunc(func() ([]any, error) {
			e, ok := next()
			if !ok {
				return nil, nil
			}
			if err := genealogy.ValidateEdges(e); err != nil {
				return nil, err
			}
			at, ns := splitTime(e.At)
			return []any{int16(e.Kind), int16(e.From.Kind), e.From.ID, int16(e.To.Kind), e.To.ID, e.Qty.String(),
				e.WorkOrder, e.Step, e.Equipment, e.Operator, e.Reason, at, ns}, nil
		}))
	if err != nil {
		return 0, mapErr("importing genealogy edges", err)
	}
	return n, nil
}
