package reliability

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/store/memstore"
)

var flagHistories = flag.Int("histories", 20, "concurrent histories each linearizability test checks per store (a quarter of them on PostgreSQL)")

const (
	clients      = 4
	opsPerClient = 12
)

// recorder collects a concurrent history for porcupine.
type recorder struct {
	mu    sync.Mutex
	start time.Time
	ops   []porcupine.Operation
}

func (r *recorder) now() int64 { return time.Since(r.start).Nanoseconds() }

func (r *recorder) add(client int, in, out any, call, ret int64) {
	r.mu.Lock()
	r.ops = append(r.ops, porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret})
	r.mu.Unlock()
}

// runHistory runs clients goroutines, each issuing opsPerClient operations of op, and
// returns the history.
func runHistory(seed uint64, op func(client int, rnd *rand.Rand, rec *recorder)) []porcupine.Operation {
	rec := &recorder{start: time.Now()}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, uint64(c)))
			for range opsPerClient {
				op(c, rnd, rec)
			}
		}()
	}
	wg.Wait()
	return rec.ops
}

// checkHistory fails the test when history is not linearizable under model, saving a
// visualisation.
func checkHistory(t *testing.T, name string, model porcupine.Model, history []porcupine.Operation) {
	t.Helper()
	res, info := porcupine.CheckOperationsVerbose(model, history, 30*time.Second)
	switch res {
	case porcupine.Ok:
	case porcupine.Illegal:
		path := filepath.Join(os.TempDir(), fmt.Sprintf("takt-%s-%d.html", name, time.Now().UnixNano()))
		_ = porcupine.VisualizePath(model, info, path)
		t.Fatalf("%s: history of %d operations is not linearizable; visualisation in %s", name, len(history), path)
	default:
		t.Fatalf("%s: linearizability check timed out on %d operations", name, len(history))
	}
}

// stores runs fn on the memory store and, when TAKT_POSTGRES_DSN is set, on PostgreSQL.
func stores(t *testing.T, fn func(t *testing.T, s store.Store, histories int)) {
	t.Run("memory", func(t *testing.T) { fn(t, memstore.New(), *flagHistories) })
	t.Run("postgres", func(t *testing.T) { fn(t, openPG(t, newSchema(t)), max(2, *flagHistories/4)) })
}

// priorityOp is a SetWorkOrderPriority (Write) or a read of the order.
type priorityOp struct {
	Write bool
	Value int
}

type priorityOut struct {
	Value int
	Err   bool // refused (a conflict after all retries): nothing changed
}

// priorityModel: an order's priority is a register.
var priorityModel = porcupine.Model{
	Init: func() any { return 0 },
	Step: func(state, input, output any) (bool, any) {
		in, out, st := input.(priorityOp), output.(priorityOut), state.(int)
		switch {
		case in.Write && out.Err:
			return true, st
		case in.Write:
			return out.Value == in.Value, in.Value
		}
		return !out.Err && out.Value == st, st
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(priorityOp), output.(priorityOut)
		if in.Write {
			return fmt.Sprintf("set(%d) -> %v", in.Value, out)
		}
		return fmt.Sprintf("get() -> %d", out.Value)
	},
}

// TestLinearizablePriority: concurrent priority changes and reads of one work order.
func TestLinearizablePriority(t *testing.T) {
	stores(t, func(t *testing.T, s store.Store, histories int) {
		ctx := context.Background()
		p := openPlant(t, s, newClock(), "id-")
		require.NoError(t, setupPlant(ctx, p))
		var conflicts atomic.Int64
		for h := range histories {
			wo, err := p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: site, Number: fmt.Sprintf("LIN-%d", h), Product: product, Qty: ea(10)}, mes.By(admin))
			require.NoError(t, err)
			history := runHistory(uint64(h), func(client int, rnd *rand.Rand, rec *recorder) {
				in := priorityOp{Write: rnd.IntN(2) == 0, Value: 1 + rnd.IntN(50)}
				call := rec.now()
				var got mes.WorkOrder
				var err error
				if in.Write {
					got, err = p.SetWorkOrderPriority(ctx, wo.ID, in.Value, mes.By(admin))
				} else {
					got, err = p.WorkOrder(ctx, wo.ID)
				}
				ret := rec.now()
				if errors.Is(err, mes.ErrConflict) {
					conflicts.Add(1)
				} else if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
				rec.add(client, in, priorityOut{Value: got.Priority, Err: err != nil}, call, ret)
			})
			// The order was created with priority 0; the model starts there.
			checkHistory(t, "priority", priorityModel, history)
		}
		t.Logf("%d histories of %d operations linearizable (%d conflicts after retries)", histories, clients*opsPerClient, conflicts.Load())
	})
}

// lotOp is a partial track-in, a partial track-out (good) or a read of one lot at step 10.
type lotOp struct {
	Kind string // "in", "out", "read"
	Qty  int64
}

type lotState struct{ Waiting, InProcess, Good int64 }

type lotOut struct {
	State    lotState // after the command (or read)
	Err      bool
	Conflict bool
}

// lotModel: the books of one step. A refusal must be justified by the state: a track-in
// fails only when less than its quantity waits, a track-out only when less is in process.
var lotModel = porcupine.Model{
	Init: func() any { return lotState{Waiting: 40} },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(lotState), input.(lotOp), output.(lotOut)
		if out.Conflict {
			return true, st
		}
		next := st
		switch in.Kind {
		case "in":
			if out.Err {
				return st.Waiting < in.Qty, st
			}
			next.Waiting, next.InProcess = st.Waiting-in.Qty, st.InProcess+in.Qty
		case "out":
			if out.Err {
				return st.InProcess < in.Qty, st
			}
			next.InProcess, next.Good = st.InProcess-in.Qty, st.Good+in.Qty
		}
		if next.Waiting < 0 || next.InProcess < 0 {
			return false, st
		}
		return out.State == next, next
	},
	DescribeOperation: func(input, output any) string {
		return fmt.Sprintf("%v -> %+v", input, output)
	},
}

// TestLinearizableLotQuantities: partial track-ins and track-outs of one lot at one step
// from several goroutines, with reads: the books behave as one serial sequence, and no
// quantity is lost or counted twice.
func TestLinearizableLotQuantities(t *testing.T) {
	stores(t, func(t *testing.T, s store.Store, histories int) {
		ctx := context.Background()
		p := openPlant(t, s, newClock(), "id-")
		require.NoError(t, setupPlant(ctx, p))
		by := mes.By(admin)
		var refused, conflicts atomic.Int64
		for h := range histories {
			lot := startedLot(t, p, fmt.Sprintf("LOT-%d", h), 40)
			books := func(l mes.Lot) lotState {
				b := stepQty(l, "10")
				return lotState{b.Waiting.Value().IntPart(), b.InProcess.Value().IntPart(), b.Good.Value().IntPart()}
			}
			history := runHistory(uint64(h), func(client int, rnd *rand.Rand, rec *recorder) {
				in := lotOp{Kind: []string{"in", "out", "read"}[rnd.IntN(3)], Qty: 1 + rnd.Int64N(6)}
				call := rec.now()
				var l mes.Lot
				var err error
				switch in.Kind {
				case "in":
					l, err = p.TrackIn(ctx, lot.ID, "10", ea(in.Qty), by)
				case "out":
					l, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: ea(in.Qty)}, by)
				default:
					l, err = p.Lot(ctx, lot.ID)
				}
				ret := rec.now()
				out := lotOut{Err: err != nil, Conflict: errors.Is(err, mes.ErrConflict)}
				if out.Conflict {
					conflicts.Add(1)
				} else if out.Err {
					refused.Add(1)
				}
				if err == nil {
					out.State = books(l)
				}
				rec.add(client, in, out, call, ret)
			})
			checkHistory(t, "lot", lotModel, history)
		}
		t.Logf("%d histories of %d operations linearizable (%d refusals for lack of quantity, %d conflicts after retries)",
			histories, clients*opsPerClient, refused.Load(), conflicts.Load())
	})
}

// TestLinearizabilityModelsRejectAnomalies shows that the checks can fail: a lost update
// (a read that misses a write completed before it began) and quantity tracked in twice
// are not linearizable under the models.
func TestLinearizabilityModelsRejectAnomalies(t *testing.T) {
	lost := []porcupine.Operation{
		{ClientId: 0, Input: priorityOp{Write: true, Value: 7}, Output: priorityOut{Value: 7}, Call: 0, Return: 10},
		{ClientId: 1, Input: priorityOp{}, Output: priorityOut{Value: 0}, Call: 20, Return: 30},
	}
	require.False(t, porcupine.CheckOperations(priorityModel, lost))
	twice := []porcupine.Operation{
		{ClientId: 0, Input: lotOp{Kind: "in", Qty: 30}, Output: lotOut{State: lotState{Waiting: 10, InProcess: 30}}, Call: 0, Return: 10},
		{ClientId: 1, Input: lotOp{Kind: "in", Qty: 30}, Output: lotOut{State: lotState{Waiting: 10, InProcess: 30}}, Call: 5, Return: 15},
	}
	require.False(t, porcupine.CheckOperations(lotModel, twice))
	refused := []porcupine.Operation{ // a refusal the state does not justify
		{ClientId: 0, Input: lotOp{Kind: "in", Qty: 5}, Output: lotOut{Err: true}, Call: 0, Return: 10},
	}
	require.False(t, porcupine.CheckOperations(lotModel, refused))
}
