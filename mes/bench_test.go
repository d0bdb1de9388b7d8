package mes_test

import (
	"fmt"
	"testing"

	"github.com/taktmes/takt/mes"
)

// BenchmarkWorkOrderCommands measures one work-order command on the memory store (a
// priority change: load, check, save, event, audit).
func BenchmarkWorkOrderCommands(b *testing.B) {
	f := newPlant(&testing.T{})
	wo, err := f.plant.CreateWorkOrder(ctx, newOrder("4711"), erp)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := f.plant.SetWorkOrderPriority(ctx, wo.ID, i%100, planner); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateWorkOrder measures creating work orders with idempotency keys.
func BenchmarkCreateWorkOrder(b *testing.B) {
	f := newPlant(&testing.T{})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := f.plant.CreateWorkOrder(ctx, newOrder(fmt.Sprint(i)), erp, mes.IdempotencyKey(fmt.Sprint("k", i))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWorkOrderCycle measures the work-order command mix of the bench figure
// workorder.cmds_per_s.mem: create, release, start, two priority changes, complete, close.
func BenchmarkWorkOrderCycle(b *testing.B) {
	f := newPlant(&testing.T{})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		wo, err := f.plant.CreateWorkOrder(ctx, newOrder(fmt.Sprint(i)), erp)
		if err != nil {
			b.Fatal(err)
		}
		for _, step := range []func(string) error{
			func(id string) error { _, err := f.plant.ReleaseWorkOrder(ctx, id, planner); return err },
			func(id string) error { _, err := f.plant.StartWorkOrder(ctx, id, planner); return err },
			func(id string) error { _, err := f.plant.SetWorkOrderPriority(ctx, id, 3, planner); return err },
			func(id string) error { _, err := f.plant.SetWorkOrderPriority(ctx, id, 4, planner); return err },
			func(id string) error { _, err := f.plant.CompleteWorkOrder(ctx, id, planner); return err },
			func(id string) error { _, err := f.plant.CloseWorkOrder(ctx, id, planner); return err },
		} {
			if err := step(wo.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
}
