package erp_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/erp"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

// fixedClock is an example's clock.
type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

// examplePlant is a plant with site PLANT-1 and work centers CNC and ASSY.
func examplePlant() (*mes.Plant, *fixedClock) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)}
	plant, err := mes.Open(ctx, memstore.New(), mes.WithClock(clock))
	if err == nil {
		err = plant.DefineEquipment(ctx, []equipment.Equipment{
			{ID: "PLANT-1", Level: equipment.Site},
			{ID: "CNC", Level: equipment.WorkCenter, Parent: "PLANT-1"},
			{ID: "ASSY", Level: equipment.WorkCenter, Parent: "PLANT-1"},
		}, mes.By(mes.Actor{ID: "admin", Kind: mes.Person}))
	}
	if err != nil {
		panic(err)
	}
	return plant, clock
}

// Importing B2MML documents from the ERP: material definitions and a received lot, a
// routing, and a released production order. A second import of the same document
// changes nothing; a document with errors is rejected whole, every problem listed.
func Example_import() {
	ctx := context.Background()
	plant, _ := examplePlant()
	opts := erp.Options{Site: "PLANT-1", Actor: mes.Actor{ID: "erp", Kind: mes.System}}

	for _, name := range []string{"materials.xml", "routing.xml", "schedule.xml"} {
		f, _ := os.Open("testdata/" + name)
		res, err := erp.ImportB2MML(ctx, plant, f, opts)
		f.Close()
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, a := range res.Applied {
			fmt.Println(a.Command, a.ID)
		}
	}
	f, _ := os.Open("testdata/schedule.xml")
	res, _ := erp.ImportB2MML(ctx, plant, f, opts)
	f.Close()
	fmt.Println("again:", len(res.Applied), "applied,", len(res.Unchanged), "unchanged")

	_, err := erp.ImportJSON(ctx, plant, strings.NewReader(`{"orders": [
		{"id": "4712", "product": "PUMP-100", "qty": "12 kg"},
		{"id": "4713", "product": "PUMP-200", "qty": "5 ea", "due": "tomorrow"}]}`), opts)
	if ve, ok := err.(*erp.ValidationError); ok {
		for _, p := range ve.Problems {
			fmt.Printf("%s %q\n", p.Path, p.Value)
		}
	}
	// Output:
	// material.define PUMP-100
	// material.define SEAL-KIT
	// lot.receive SK-1
	// routing.publish PUMP-100-RT@A
	// workorder.create 4711
	// workorder.release 4711
	// again: 0 applied, 1 unchanged
	// /orders/0/qty "12 kg"
	// /orders/1/product "PUMP-200"
	// /orders/1/due "tomorrow"
}

// Exporting production performance from a checkpoint: the confirmations since the last
// export, sent to the ERP, then the checkpoint moves on.
func Example_export() {
	ctx := context.Background()
	plant, clock := examplePlant()
	opts := erp.Options{Site: "PLANT-1", Actor: mes.Actor{ID: "erp", Kind: mes.System}}
	for _, name := range []string{"materials.xml", "routing.xml", "schedule.xml"} {
		f, _ := os.Open("testdata/" + name)
		if _, err := erp.ImportB2MML(ctx, plant, f, opts); err != nil {
			panic(err)
		}
		f.Close()
	}
	op := mes.By(mes.Actor{ID: "olga", Kind: mes.Person})
	wo, _ := plant.WorkOrderByNumber(ctx, "PLANT-1", "4711")
	lot, _ := plant.StartLot(ctx, wo.ID, units.MustParse("10 ea"), op)
	for _, step := range []string{"10", "20"} {
		_, _ = plant.TrackIn(ctx, lot.ID, step, units.Quantity{}, op)
		clock.t = clock.t.Add(10 * time.Minute)
		_, _ = plant.TrackOut(ctx, lot.ID, step, routing.Outcome{Good: units.MustParse("10 ea")}, op)
	}

	checkpoint, _ := plant.Checkpoint(ctx, "erp")
	perf, err := erp.Export(ctx, plant, checkpoint, erp.ExportOptions{Site: "PLANT-1"})
	if err != nil {
		panic(err)
	}
	for _, r := range perf.Responses {
		for _, s := range r.Segments {
			fmt.Println(r.Request, s.ID, s.Type, s.Operation, len(s.Materials), len(s.Equipment))
		}
	}
	// send perf to the ERP (perf.WriteB2MML(w) or JSON), then:
	_ = plant.SaveCheckpoint(ctx, "erp", perf.To)
	// Output:
	// 4711 takt-15 operation 10 0 0
	// 4711 takt-16 machine 10 0 1
	// 4711 takt-20 consumption 20 1 0
	// 4711 takt-21 operation 20 0 0
	// 4711 takt-22 completion  1 0
	// 4711 takt-24 machine 20 0 1
}
