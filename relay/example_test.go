package relay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/relay"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

// printer is the smallest Publisher: it prints each event's CloudEvents id and type and
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
		var attrs struct{ ID, Type string }
		if err := json.Unmarshal(ce, &attrs); err != nil {
			return err
		}
		fmt.Println(attrs.ID, attrs.Type)
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
	// 1 io.takt.equipment.defined
	// 2 io.takt.workorder.created
	// 3 io.takt.workorder.priority_changed
	// context canceled
}

func ExampleCloudEvent() {
	e := mes.Event{Position: 3, Type: "workorder.priority_changed", Site: "PLANT-1", Subject: "wo-1", Actor: "erp",
		Time: time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC), Data: json.RawMessage(`{"ID":"wo-1","Number":"4711","From":0,"To":7}`)}
	ce, err := relay.CloudEvent(e, "urn:takt:plant-a")
	fmt.Println(string(ce), err)
	// Output:
	// {"specversion":"1.0","id":"3","source":"urn:takt:plant-a","type":"io.takt.workorder.priority_changed","subject":"wo-1","time":"2026-11-23T06:00:00Z","datacontenttype":"application/json","taktsite":"PLANT-1","taktactor":"erp","data":{"ID":"wo-1","Number":"4711","From":0,"To":7}} <nil>
}
