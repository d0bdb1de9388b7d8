package pgstore

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// hookStore runs a hook after every Get, List and Put of its transactions, so a test can
// stop a command at a chosen point while another process's command goes on. A hook is given
// the transaction (see backendPID).
type hookStore struct {
	*Store
	afterGet  func(tx store.Tx, kind, id string)
	afterList func(tx store.Tx, q store.Query)
	afterPut  func(tx store.Tx, kind, id string)
}

func (h hookStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return h.Store.Update(ctx, func(tx store.Tx) error { return fn(hookTx{tx, h}) })
}

type hookTx struct {
	store.Tx
	h hookStore
}

func (t hookTx) Get(ctx context.Context, kind, id string) (store.Record, error) {
	r, err := t.Tx.Get(ctx, kind, id)
	if t.h.afterGet != nil {
		t.h.afterGet(t.Tx, kind, id)
	}
	return r, err
}

func (t hookTx) List(ctx context.Context, q store.Query) ([]store.Record, error) {
	recs, err := t.Tx.List(ctx, q)
	if t.h.afterList != nil {
		t.h.afterList(t.Tx, q)
	}
	return recs, err
}

func (t hookTx) Put(ctx context.Context, rec store.Record) (uint64, error) {
	v, err := t.Tx.Put(ctx, rec)
	if t.h.afterPut != nil {
		t.h.afterPut(t.Tx, rec.Kind, rec.ID)
	}
	return v, err
}

// TestKeyedRetryRacingTheFirstAttempt: a sender retries a command with its idempotency key
// while the first attempt, in another process, is still running. The retry found no
// record of the key, then the first attempt ran. Either the first committed meanwhile (a
// store whose writers run side by side) and the retry must answer with its result (it
// failed with the error the command gives on changed state: a duplicate number, a work
// order no longer in the state to release), or the first waits for the retry (pgstore runs
// Updates one at a time) and answers with the retry's: the two answers are the same.
func TestKeyedRetryRacingTheFirstAttempt(t *testing.T) {
	newWO := mes.NewWorkOrder{Site: "S1", Number: "4711", Product: "P", Qty: units.MustParse("50 ea")}
	tests := []struct {
		name    string
		prepare func(t *testing.T, p *mes.Plant) string // returns the work order released, if any
		command func(p *mes.Plant, woID string) (mes.WorkOrder, error)
	}{
		{"create", func(*testing.T, *mes.Plant) string { return "" }, func(p *mes.Plant, _ string) (mes.WorkOrder, error) {
			return p.CreateWorkOrder(context.Background(), newWO, planner, mes.IdempotencyKey("erp-4711"))
		}},
		{"release", func(t *testing.T, p *mes.Plant) string {
			wo, err := p.CreateWorkOrder(context.Background(), newWO, planner)
			require.NoError(t, err)
			return wo.ID
		}, func(p *mes.Plant, id string) (mes.WorkOrder, error) {
			return p.ReleaseWorkOrder(context.Background(), id, planner, mes.IdempotencyKey("release-4711"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			first, s := openPlant(t)
			woID := tc.prepare(t, first)
			var want mes.WorkOrder
			var firstErr error
			firstDone := make(chan struct{})
			hooked := false
			retrying := hookStore{Store: openSchema(t, s.Schema()), afterGet: func(tx store.Tx, kind, _ string) {
				if kind == "idempotency" && !hooked { // the retry found no record of its key: now the first attempt runs
					hooked = true
					go func() {
						defer close(firstDone)
						want, firstErr = tc.command(first, woID)
					}()
					select {
					case <-firstDone:
					case <-blockedBy(ctx, t, s, backendPID(tx)):
					}
				}
			}}
			retry, err := mes.Open(ctx, retrying)
			require.NoError(t, err)
			got, err := tc.command(retry, woID)
			<-firstDone
			require.NoError(t, firstErr)
			require.NoError(t, err, "the retry of an applied command returns its result")
			assert.Equal(t, want.ID, got.ID)
			assert.Equal(t, want.Version, got.Version)
		})
	}
}

// TestKeyedRetryWaitingForTheFirstAttempt: as TestKeyedRetryRacingTheFirstAttempt, but
// the first attempt writes the work order and holds its number uncommitted while the
// retry runs; the first commits once the retry waits for the number, and the retry's write
// fails with a unique violation, which aborts its transaction. (On pgstore the first
// waits for the retry instead, which then runs as if alone.) The retry still answers with
// the first result.
func TestKeyedRetryWaitingForTheFirstAttempt(t *testing.T) {
	ctx := context.Background()
	newWO := mes.NewWorkOrder{Site: "S1", Number: "4711", Product: "P", Qty: units.MustParse("50 ea")}
	_, s := openPlant(t)
	wrote, commit := make(chan uint32, 1), make(chan struct{})
	first, err := mes.Open(ctx, hookStore{Store: openSchema(t, s.Schema()), afterPut: func(tx store.Tx, kind, _ string) {
		if kind == "idempotency" { // its last write: it holds the number until it commits
			wrote <- backendPID(tx)
			<-commit
		}
	}})
	require.NoError(t, err)
	type result struct {
		wo  mes.WorkOrder
		err error
	}
	firstDone := make(chan result, 1)
	started := false
	retry, err := mes.Open(ctx, hookStore{Store: openSchema(t, s.Schema()), afterGet: func(tx store.Tx, kind, _ string) {
		if kind != "idempotency" || started {
			return
		}
		started = true
		go func() {
			wo, err := first.CreateWorkOrder(ctx, newWO, planner, mes.IdempotencyKey("erp-4711"))
			firstDone <- result{wo, err}
		}()
		select {
		case pid := <-wrote:
			go func() { // the first commits once the retry waits for the number it holds
				<-blockedBy(ctx, t, s, pid)
				close(commit)
			}()
		case <-blockedBy(ctx, t, s, backendPID(tx)): // the first waits for the retry
			close(commit)
		}
	}})
	require.NoError(t, err)
	got, err := retry.CreateWorkOrder(ctx, newWO, planner, mes.IdempotencyKey("erp-4711"))
	want := <-firstDone
	require.NoError(t, want.err)
	require.NoError(t, err, "the retry of an applied command returns its result")
	assert.Equal(t, want.wo.ID, got.ID)
}
