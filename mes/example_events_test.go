package mes_test

import (
	"context"
	"fmt"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/store/memstore"
)

// A feed to the ERP follows the event log and saves its position after each event it has
// handed on; after a restart it resumes from the checkpoint, so nothing is lost and only
// what was not yet acknowledged is sent again.
func ExamplePlant_Events() {
	ctx := context.Background()
	plant, _ := mes.Open(ctx, memstore.New())
	by := mes.By(mes.Actor{ID: "pat", Kind: mes.Person})
	_ = plant.DefineEquipment(ctx, []equipment.Equipment{{ID: "PLANT-1", Level: equipment.Site}}, by)
	_ = plant.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, by)

	feed := func(stopAt string) {
		from, _ := plant.Checkpoint(ctx, "erp-feed")
		for ev, err := range plant.Events(ctx, from) { // waits for new events until ctx ends
			if err != nil {
				fmt.Println(err)
				return
			}
			fmt.Println("sent", ev.Position, ev.Type)
			_ = plant.SaveCheckpoint(ctx, "erp-feed", ev.Position)
			if ev.Type == stopAt {
				return
			}
		}
	}
	feed("material.defined")
	_ = plant.DefineMaterial(ctx, genealogy.Material{ID: "SEAL-KIT", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindComponent}, by)
	feed("material.defined") // a restarted feed: resumes after the checkpoint
	// Output:
	// sent 1 equipment.defined
	// sent 2 material.defined
	// sent 3 material.defined
}
