package erp_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/erp"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/store/memstore"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var ctx = context.Background()

var (
	erpActor = mes.Actor{ID: "erp", Kind: mes.System}
	admin    = mes.By(mes.Actor{ID: "admin", Kind: mes.Person})
	opts     = erp.Options{Site: "PLANT-1", Actor: erpActor}
)

// clock is a clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	plant *mes.Plant
	clock *clock
}

// newPlant opens a plant with a fixed clock and sequential ids, and the equipment the
// test documents refer to: site PLANT-1 with work centers CNC (unit CNC-1) and ASSY.
func newPlant(t testing.TB) fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)}
	n := 0
	var mu sync.Mutex
	ids := func() string { mu.Lock(); defer mu.Unlock(); n++; return fmt.Sprintf("id-%04d", n) }
	p, err := mes.Open(ctx, memstore.New(), mes.WithClock(c), mes.WithIDs(ids))
	require.NoError(t, err)
	require.NoError(t, p.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "ACME", Level: equipment.Enterprise},
		{ID: "PLANT-1", Level: equipment.Site, Parent: "ACME"},
		{ID: "PLANT-2", Level: equipment.Site, Parent: "ACME"},
		{ID: "CNC", Level: equipment.WorkCenter, Parent: "PLANT-1"},
		{ID: "CNC-1", Level: equipment.WorkUnit, Parent: "CNC"},
		{ID: "ASSY", Level: equipment.WorkCenter, Parent: "PLANT-1"},
		{ID: "PAINT", Level: equipment.WorkCenter, Parent: "PLANT-2"},
	}, admin))
	return fixture{plant: p, clock: c}
}

func open(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func importFile(t testing.TB, p *mes.Plant, name string) erp.Result {
	t.Helper()
	res, err := erp.ImportB2MML(ctx, p, open(t, name), opts)
	require.NoError(t, err)
	return res
}

// state is what a rejected import must leave unchanged.
type state struct {
	events     int
	workOrders []mes.WorkOrder
}

func stateOf(t testing.TB, p *mes.Plant) state {
	t.Helper()
	evs, err := p.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	wos, err := p.WorkOrders(ctx, "PLANT-1", "")
	require.NoError(t, err)
	return state{events: len(evs), workOrders: wos}
}

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./erp -update to create the golden file")
	require.Equal(t, string(want), string(got))
}
