package memstore_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return memstore.New() })
}

// versionBlind is a deliberately broken store: it ignores the caller's version, so two
// writers can both succeed and one update is lost.
type versionBlind struct{ *memstore.Store }

func (s versionBlind) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(blindTx{tx}) })
}

type blindTx struct{ store.Tx }

func (t blindTx) Put(ctx context.Context, rec store.Record) (uint64, error) {
	if cur, err := t.Get(ctx, rec.Kind, rec.ID); err == nil {
		rec.Version = cur.Version
	} else {
		rec.Version = 0
	}
	return t.Tx.Put(ctx, rec)
}

// TestBrokenStoreConformance runs the suite on the broken store. It only runs inside
// TestSuiteCatchesBrokenStore, which expects it to fail.
func TestBrokenStoreConformance(t *testing.T) {
	if os.Getenv("TAKT_RUN_BROKEN_STORE") != "1" {
		t.Skip("run by TestSuiteCatchesBrokenStore")
	}
	storetest.Run(t, func(t *testing.T) store.Store { return versionBlind{memstore.New()} })
}

// TestSuiteCatchesBrokenStore shows the suite can fail: a store that ignores versions does
// not pass it.
func TestSuiteCatchesBrokenStore(t *testing.T) {
	if testing.Short() {
		t.Skip("re-runs the test binary")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestBrokenStoreConformance$", "-test.v")
	cmd.Env = append(os.Environ(), "TAKT_RUN_BROKEN_STORE=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the suite must fail on a store that ignores versions:\n%s", out)
	assert.Contains(t, string(out), "--- FAIL: TestBrokenStoreConformance/versions/stale-version-conflicts")
	assert.Contains(t, string(out), "--- FAIL: TestBrokenStoreConformance/versions/create-over-existing-conflicts")
}

func TestHistoryIsGoneAfterClose(t *testing.T) {
	s := memstore.New()
	ctx := context.Background()
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		if err := tx.AppendEvents(ctx, store.Event{Type: "a", Subject: "1", Data: []byte(`{}`)}); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, store.AuditRecord{Actor: "x", Object: "wo/1"})
	}))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "closing twice is harmless")
	_, err := s.ReadEvents(ctx, 0, 0)
	assert.Error(t, err, "the log's memory is released: reading it is an error, not a crash")
	_, err = s.ReadAudit(ctx, 0, 0)
	assert.Error(t, err)
}
