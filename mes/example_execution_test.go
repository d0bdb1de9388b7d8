package mes_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/execution"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

// An exception rule puts a held lot in front of quality with the input it needs: the task
// opens when the rules run after the hold, and resolves only with a disposition.
func ExamplePlant_RunExceptionRules() {
	ctx := context.Background()
	plant, _ := mes.Open(ctx, memstore.New())
	quinn := mes.By(mes.Actor{ID: "quinn", Kind: mes.Person, Roles: []string{"quality"}})
	worker := mes.By(mes.Actor{ID: "execution-worker", Kind: mes.System})
	_ = plant.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "PLANT-1", Level: equipment.Site}, {ID: "CNC", Level: equipment.WorkCenter, Parent: "PLANT-1"}}, quinn)
	_ = plant.DefineMaterial(ctx, genealogy.Material{ID: "P", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, quinn)
	rt, _ := routing.New("P", "A").Step("10", "Machine", routing.At("CNC")).Build()
	_, _ = plant.PublishRouting(ctx, "PLANT-1", rt, quinn)
	wo, _ := plant.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "PLANT-1", Number: "1", Product: "P", Qty: units.MustParse("5 ea")}, quinn)
	_, _ = plant.ReleaseWorkOrder(ctx, wo.ID, quinn)
	lot, _ := plant.StartLot(ctx, wo.ID, units.MustParse("5 ea"), quinn)

	err := plant.SaveExceptionRule(ctx, "PLANT-1", execution.RuleSpec{
		Name: "lot-held", Title: "held lot needs a disposition", Owner: "quality", Severity: execution.High,
		When: `event.type == "hold.placed" && hold.kind == "lot"`, Cause: `hold.id`, Clear: `!hold.active`,
		Inputs: []string{"disposition"},
	}, quinn)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = plant.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnLot, ID: lot.ID}, "suspect coolant", quinn)
	run, _ := plant.RunExceptionRules(ctx, worker)
	tasks, _ := plant.Tasks(ctx, "PLANT-1", execution.Open)
	fmt.Println("opened:", run.Opened, "|", tasks[0].Title, "| owner:", tasks[0].Owner.Role, "| lots:", tasks[0].Links.Lots)

	task, _ := plant.AcknowledgeTask(ctx, tasks[0].ID, quinn)
	_, err = plant.ResolveTask(ctx, task.ID, nil, quinn)
	var missing *execution.MissingInputsError
	fmt.Println("without inputs:", errors.As(err, &missing), missing.Missing)
	task, _ = plant.ResolveTask(ctx, task.ID, map[string]string{"disposition": "USE-AS-IS"}, quinn)
	fmt.Println(task.State, "by", task.ClosedBy, "with", task.Resolution["disposition"])
	// Output:
	// opened: 1 | held lot needs a disposition | owner: quality | lots: [PLANT-1-1-1]
	// without inputs: true [disposition]
	// resolved by quinn with USE-AS-IS
}
