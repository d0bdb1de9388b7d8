package mes_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

// BenchmarkTrackPair measures one track-in + track-out pair of 10 ea on a 10-step routing.
func BenchmarkTrackPair(b *testing.B) {
	t := &testing.T{}
	f := newPlant(t)
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "P", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	rb := routing.New("P", "A")
	for i := 1; i <= 10; i++ {
		rb = rb.Step(fmt.Sprint(i*10), "op", routing.At("CNC"), routing.Run(time.Second))
	}
	rt, err := rb.Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", rt, admin)
	require.NoError(t, err)
	in := newOrder("WO")
	in.Product, in.Qty = "P", units.MustParse("100000000 ea")
	wo, err := p.CreateWorkOrder(ctx, in, erp)
	require.NoError(t, err)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	ten := units.MustParse("10 ea")
	var lot mes.Lot
	step := 100
	b.ReportAllocs()
	for b.Loop() {
		if step == 100 {
			lot, err = p.StartLot(ctx, wo.ID, units.MustParse("100 ea"), planner)
			if err != nil {
				b.Fatal(err)
			}
			step = 0
		}
		s := rt.Steps[step/10].ID
		if _, err := p.TrackIn(ctx, lot.ID, s, ten, operator); err != nil {
			b.Fatal(err)
		}
		if _, err := p.TrackOut(ctx, lot.ID, s, routing.Outcome{Good: ten}, operator); err != nil {
			b.Fatal(err)
		}
		step++
	}
}
