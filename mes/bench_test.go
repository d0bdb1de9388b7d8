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
