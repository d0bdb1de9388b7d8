package main

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

func init() {
	register([]string{"devices.signals_per_s.mem", "devices.signals_per_s.mem.batch1"}, benchDevices)
}

// devicePlant opens a plant on a fresh memory store with work unit M1 below work center WC
// of site S1 and a lot tracked in on M1, so counts are booked on an operation.
func devicePlant() *mes.Plant {
	ctx := context.Background()
	p, err := mes.Open(ctx, memstore.New())
	must(err)
	must(p.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "S1", Level: equipment.Site},
		{ID: "WC", Level: equipment.WorkCenter, Parent: "S1"},
		{ID: "M1", Level: equipment.WorkUnit, Parent: "WC", IdealCycleTime: time.Second},
	}, benchActor))
	must(p.DefineMaterial(ctx, genealogy.Material{ID: "P", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, benchActor))
	rt, err := routing.New("P", "1").Step("10", "Press", routing.At("WC"), routing.Param("force", "40kN")).Build()
	must(err)
	_, err = p.PublishRouting(ctx, "S1", rt, benchActor)
	must(err)
	wo, err := p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "S1", Number: "1", Product: "P", Qty: units.MustParse("1000000 ea")}, benchActor)
	must(err)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, benchActor)
	must(err)
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("1000000 ea"), benchActor)
	must(err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, benchActor, mes.On("M1"))
	must(err)
	return p
}

// machineSignals is a machine's stream: a count every second, a state change every 50
// signals and a measurement every 100, starting at the plant clock's time (the lot was
// tracked in just before).
func machineSignals(n int) []equipment.Signal {
	out := make([]equipment.Signal, n)
	t0 := time.Now().UTC()
	for i := range out {
		s := equipment.Signal{Source: "plc-M1", Seq: uint64(i + 1), At: t0.Add(time.Duration(i) * time.Second), Equipment: "M1"}
		switch {
		case i%50 == 0:
			st := equipment.Running
			if i%100 == 50 {
				st = equipment.Down
			}
			s.Kind, s.State = equipment.KindState, &equipment.StateChange{State: st, Reason: "R"}
		case i%100 == 1:
			s.Kind, s.Measurement = equipment.KindMeasurement, &equipment.Measurement{Tag: "temp", Value: decimal.New(615, -1), Unit: "degC"}
		default:
			s.Kind, s.Count = equipment.KindCount, &equipment.Count{Good: 1}
		}
		out[i] = s
	}
	return out
}

// ingestRate ingests n signals in batches of size through the engine and returns
// signals per second.
func ingestRate(n, size int) float64 {
	ctx := context.Background()
	p := devicePlant()
	sigs := machineSignals(n)
	device := mes.By(mes.Actor{ID: "plc-M1", Kind: mes.Device})
	start := time.Now()
	for i := 0; i < n; i += size {
		res, err := p.IngestSignals(ctx, sigs[i:min(i+size, n)], device)
		must(err)
		if res[0].Outcome != equipment.Applied {
			panic(fmt.Sprintf("signal %d: %s", i, res[0].Outcome))
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

func benchDevices(report func(result)) {
	const batch = 100
	report(result{Name: "devices.signals_per_s.mem", Value: ingestRate(300_000, batch), Unit: fmt.Sprintf("signals/s (batch %d)", batch)}.WithBaseline(200_000))
	report(result{Name: "devices.signals_per_s.mem.batch1", Value: ingestRate(30_000, 1), Unit: "signals/s (batch 1)"})
}
