package relay_test

import (
	"context"
	"fmt"
	"time"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/relay"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

// printer is the smallest Publisher: it prints each event as a CloudEvent and
// acknowledges the batch. After the last event it cancels the relay.
type printer struct {
	last   uint64
	cancel context.CancelFunc
}

func (p *printer) Publish(_ context.Context, batch []mes.Event) error {
	for _, e := range batch {
		ce, err := relay.CloudEvent(e, "urn:takt:example")
		if err != nil {
			return err
		}
		fmt.Println(string(ce))
		if e.Position == p.last {
			p.cancel()
		}
	}
	return nil
}

func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	clock := fixedClock{}
	plant, _ := mes.Open(ctx, memstore.New(), mes.WithClock(clock), mes.WithIDs(func() string { return "wo-1" }))
	erp := mes.By(mes.Actor{ID: "erp", Kind: mes.System})
	_ = plant.DefineEquipment(ctx, []equipment.Equipment{{ID: "PLANT-1", Level: equipment.Site}}, erp)
	wo, _ := plant.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "PLANT-1", Number: "4711", Product: "PUMP-100", Qty: units.MustParse("50 ea")}, erp)
	_, _ = plant.SetWorkOrderPriority(ctx, wo.ID, 7, erp)

	err := relay.Run(ctx, plant, "printer", &printer{last: 3, cancel: cancel}, relay.WithBackoff(time.Second, time.Minute))
	fmt.Println(err)
	// Output:
}
