package main

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

func init() {
	register([]string{"workorder.cmds_per_s.mem", "workorder.cmds_per_s.mem.parallel"}, benchWorkOrders)
}

var benchActor = mes.By(mes.Actor{ID: "bench", Kind: mes.System})

// openBenchPlant opens a plant on a fresh memory store with site S1, work center WC and a
// 10-step routing for product P.
func openBenchPlant() *mes.Plant {
	ctx := context.Background()
	p, err := mes.Open(ctx, memstore.New())
	must(err)
	must(p.DefineEquipment(ctx, []equipment.Equipment{{ID: "S1", Level: equipment.Site}, {ID: "WC", Level: equipment.WorkCenter, Parent: "S1"}}, benchActor))
	must(p.DefineMaterial(ctx, genealogy.Material{ID: "P", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, benchActor))
	b := routing.New("P", "A")
	for i := 1; i <= 10; i++ {
		b = b.Step(fmt.Sprint(i*10), "op", routing.At("WC"), routing.Run(time.Second))
	}
	rt, err := b.Build()
	must(err)
	_, err = p.PublishRouting(ctx, "S1", rt, benchActor)
	must(err)
	return p
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// workOrderCycle runs create, release, start, two priority changes, complete, close: 7
// commands.
func workOrderCycle(ctx context.Context, p *mes.Plant, number string) {
	wo, err := p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "S1", Number: number, Product: "P", Qty: units.MustParse("10 ea")}, benchActor)
	must(err)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, benchActor)
	must(err)
	_, err = p.StartWorkOrder(ctx, wo.ID, benchActor)
	must(err)
	_, err = p.SetWorkOrderPriority(ctx, wo.ID, 3, benchActor)
	must(err)
	_, err = p.SetWorkOrderPriority(ctx, wo.ID, 4, benchActor)
	must(err)
	_, err = p.CompleteWorkOrder(ctx, wo.ID, benchActor)
	must(err)
	_, err = p.CloseWorkOrder(ctx, wo.ID, benchActor)
	must(err)
}

const commandsPerCycle = 7

func benchWorkOrders(report func(result)) {
	ctx := context.Background()
	const cycles = 30000
	p := openBenchPlant()
	start := time.Now()
	for i := 0; i < cycles; i++ {
		workOrderCycle(ctx, p, fmt.Sprint(i))
	}
	single := float64(cycles*commandsPerCycle) / time.Since(start).Seconds()
	report(result{Name: "workorder.cmds_per_s.mem", Value: single, Unit: "cmds/s"})

	p = openBenchPlant()
	workers := runtime.GOMAXPROCS(0)
	var next atomic.Int64
	var wg sync.WaitGroup
	start = time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= cycles; i = next.Add(1) {
				workOrderCycle(ctx, p, fmt.Sprint(i))
			}
		}()
	}
	wg.Wait()
	parallel := float64(cycles*commandsPerCycle) / time.Since(start).Seconds()
	report(result{Name: "workorder.cmds_per_s.mem.parallel", Value: parallel, Unit: "cmds/s"}.WithBaseline(single))
}
