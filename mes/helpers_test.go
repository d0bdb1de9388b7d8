package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

var ctx = context.Background()

var (
	planner  = mes.By(mes.Actor{ID: "pat", Name: "Pat Planner", Kind: mes.Person, Roles: []string{"planner"}})
	operator = mes.By(mes.Actor{ID: "olga", Name: "Olga Operator", Kind: mes.Person, Roles: []string{"operator"}})
	erp      = mes.By(mes.Actor{ID: "erp", Kind: mes.System, Roles: []string{"erp"}})
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// sequentialIDs returns deterministic ids "id-0001", "id-0002", ...
func sequentialIDs() func() string {
	var mu sync.Mutex
	n := 0
	return func() string { mu.Lock(); defer mu.Unlock(); n++; return fmt.Sprintf("id-%04d", n) }
}

type fixture struct {
	plant *mes.Plant
	store store.Store
	clock *fakeClock
}

// newPlant opens a plant on a fresh memory store with site PLANT-1, work center CNC and a
// one-step routing for PUMP-100.
func newPlant(t *testing.T, opts ...mes.Option) fixture {
	t.Helper()
	s := memstore.New()
	clock := newClock()
	p, err := mes.Open(ctx, s, append([]mes.Option{mes.WithClock(clock), mes.WithIDs(sequentialIDs())}, opts...)...)
	require.NoError(t, err)
	require.NoError(t, p.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "ACME", Level: equipment.Enterprise},
		{ID: "PLANT-1", Level: equipment.Site, Parent: "ACME"},
		{ID: "PLANT-2", Level: equipment.Site, Parent: "ACME"},
		{ID: "MACHINING", Level: equipment.Area, Parent: "PLANT-1"},
		{ID: "CNC", Level: equipment.WorkCenter, Parent: "MACHINING"},
	}, mes.By(mes.Actor{ID: "admin", Kind: mes.Person, Roles: []string{"admin"}})))
	rt, err := routing.New("PUMP-100", "0").Step("10", "Machine", routing.At("CNC")).Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", rt, mes.By(mes.Actor{ID: "admin", Kind: mes.Person, Roles: []string{"admin"}}))
	require.NoError(t, err)
	return fixture{plant: p, store: s, clock: clock}
}

func newOrder(number string) mes.NewWorkOrder {
	return mes.NewWorkOrder{Site: "PLANT-1", Number: number, Product: "PUMP-100", Qty: units.MustParse("50 ea"),
		Due: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Priority: 5}
}

// snapshot captures everything observable in a store, to show that a failed command
// changed nothing.
type snapshot struct {
	Events  []store.Event
	Audit   []store.AuditRecord
	Records map[string][]store.Record
}

func takeSnapshot(t *testing.T, s store.Store) string {
	t.Helper()
	var snap snapshot
	var err error
	snap.Events, err = s.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	snap.Audit, err = s.ReadAudit(ctx, 0, 0)
	require.NoError(t, err)
	snap.Records = map[string][]store.Record{}
	require.NoError(t, s.View(ctx, func(tx store.ReadTx) error {
		for _, kind := range []string{"workorder", "equipment", "idempotency", "checkpoint", "hold", "lot", "routing", "person", "qualification", "certification", "calendar", "labor", "machinerun", "serial"} {
			for _, site := range []string{"", "PLANT-1", "PLANT-2"} {
				recs, err := tx.List(ctx, store.Query{Kind: kind, Site: site})
				if err != nil {
					return err
				}
				snap.Records[kind+"@"+site] = recs
			}
		}
		return nil
	}))
	b, err := json.Marshal(snap)
	require.NoError(t, err)
	return string(b)
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
