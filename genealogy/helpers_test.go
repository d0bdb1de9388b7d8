package genealogy_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/units"
)

var (
	t0      = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	resin   = genealogy.Material{ID: "RESIN", Name: "Resin", Unit: "kg", Tracking: genealogy.TrackLot, Kind: genealogy.KindRaw}
	housing = genealogy.Material{ID: "HOUSING", Name: "Housing", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindIntermediate}
	pump    = genealogy.Material{ID: "PUMP", Name: "Pump", Unit: "ea", Tracking: genealogy.TrackSerial, Kind: genealogy.KindProduct}
)

func q(s string) units.Quantity { return units.MustParse(s) }

func opAt(minutes int) genealogy.Op {
	return genealogy.Op{WorkOrder: "WO-1", Step: "10", Equipment: "CNC-1", Operator: "ann", At: t0.Add(time.Duration(minutes) * time.Minute)}
}

// world applies Changes the way the engine persists them and reads them back as a Reader
// that scans every edge (the simplest possible store).
type world struct {
	t       testing.TB
	lots    map[string]genealogy.Lot
	serials map[string]genealogy.Serial
	edges   []genealogy.Edge
}

func newWorld(t testing.TB) *world {
	return &world{t: t, lots: map[string]genealogy.Lot{}, serials: map[string]genealogy.Serial{}}
}

func (w *world) apply(ch genealogy.Change) {
	for _, l := range ch.Lots {
		w.lots[l.ID] = l
	}
	for _, s := range ch.Serials {
		w.serials[s.ID] = s
	}
	w.edges = append(w.edges, ch.Edges...)
}

func (w *world) must(ch genealogy.Change, err error) genealogy.Change {
	w.t.Helper()
	require.NoError(w.t, err)
	w.apply(ch)
	return ch
}

func (w *world) Inputs(_ context.Context, n genealogy.Node) ([]genealogy.Edge, error) {
	var out []genealogy.Edge
	for _, e := range w.edges {
		if e.To == n {
			out = append(out, e)
		}
	}
	return out, nil
}

func (w *world) Outputs(_ context.Context, n genealogy.Node) ([]genealogy.Edge, error) {
	var out []genealogy.Edge
	for _, e := range w.edges {
		if e.From == n {
			out = append(out, e)
		}
	}
	return out, nil
}

// checkBalances asserts every lot's on hand equals what its edges account for.
func (w *world) checkBalances(t testing.TB) {
	t.Helper()
	for id, l := range w.lots {
		b, err := genealogy.Balance(id, l.OnHand.Unit(), w.edges)
		require.NoError(t, err)
		require.True(t, b.Equal(l.OnHand), "lot %s: on hand %s, edges say %s", id, l.OnHand, b)
		require.False(t, l.OnHand.IsNegative(), "lot %s negative", id)
	}
}

func (w *world) index(t testing.TB) *genealogy.Index {
	t.Helper()
	idx := &genealogy.Index{}
	require.NoError(t, idx.Append(w.edges...))
	return idx
}

// receive is a shortcut for a received lot.
func (w *world) receive(t testing.TB, m genealogy.Material, id, qty string) genealogy.Lot {
	t.Helper()
	ch := w.must(genealogy.Receive(m, genealogy.Lot{ID: id, Supplier: "ACME", SupplierLot: "B-" + id}, q(qty), opAt(0)))
	return ch.Lots[0]
}

func (w *world) produce(t testing.TB, m genealogy.Material, id, qty string) genealogy.Lot {
	t.Helper()
	ch := w.must(genealogy.Produce(m, genealogy.Lot{ID: id}, q(qty), opAt(1)))
	return ch.Lots[0]
}

func (w *world) consume(t testing.TB, from, into, qty string) {
	t.Helper()
	w.must(genealogy.Consume(w.lots[from], w.lots[into], q(qty), opAt(2)))
}
