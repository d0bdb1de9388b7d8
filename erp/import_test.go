package erp_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/erp"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/units"
)

func TestImportB2MMLCreatesEverything(t *testing.T) {
	f := newPlant(t)
	p := f.plant
	res := importFile(t, p, "materials.xml")
	assert.Equal(t, []string{"material.define", "material.define", "lot.receive"}, commands(res.Applied))
	res = importFile(t, p, "routing.xml")
	assert.Equal(t, []string{"routing.publish"}, commands(res.Applied))
	assert.Equal(t, "erp/OperationsDefinition/PUMP-100-RT/A", res.Applied[0].Key)
	res = importFile(t, p, "schedule.xml")
	assert.Equal(t, []string{"workorder.create", "workorder.release"}, commands(res.Applied))
	assert.Equal(t, "erp/ProductionRequest/4711/1/create", res.Applied[0].Key)

	wo, err := p.WorkOrderByNumber(ctx, "PLANT-1", "4711")
	require.NoError(t, err)
	assert.Equal(t, "4711", wo.ExternalID)
	assert.Equal(t, mes.StatusReleased, wo.Status)
	assert.Equal(t, "PUMP-100-RT", wo.Routing)
	assert.Equal(t, "10 ea", wo.Qty.String())
	assert.Equal(t, "2026-12-01T16:00:00Z", wo.Due.Format("2006-01-02T15:04:05Z07:00"))
	assert.Equal(t, 5, wo.Priority)

	rt, err := p.Routing(ctx, "PLANT-1", "PUMP-100-RT", "A")
	require.NoError(t, err)
	require.Len(t, rt.Steps, 2)
	assert.Equal(t, "CNC", rt.Steps[0].WorkCenter)
	assert.Equal(t, "1m30s", rt.Steps[0].RunPerUnit.String())
	require.Len(t, rt.Steps[1].Materials, 1)
	assert.True(t, rt.Steps[1].Materials[0].Backflush)
	assert.True(t, rt.Steps[1].Materials[0].LotTracked)

	lot, err := p.Lot(ctx, "SK-1")
	require.NoError(t, err)
	assert.Equal(t, "30 ea", lot.OnHand.String())
	assert.Equal(t, "A-77", lot.SupplierLot)
	assert.Equal(t, "2028-06-30", lot.Expiry.Format("2006-01-02"))
}

func TestImportJSONMatchesB2MML(t *testing.T) {
	f := newPlant(t)
	res, err := erp.ImportJSON(ctx, f.plant, open(t, "import.json"), opts)
	require.NoError(t, err)
	assert.Equal(t, []string{"material.define", "material.define", "routing.publish", "lot.receive", "workorder.create", "workorder.release"}, commands(res.Applied))

	// The same objects sent as B2MML are found unchanged: the content is the same.
	before := stateOf(t, f.plant)
	for _, name := range []string{"materials.xml", "routing.xml", "schedule.xml"} {
		res := importFile(t, f.plant, name)
		assert.Empty(t, res.Applied, name)
		assert.NotEmpty(t, res.Unchanged, name)
	}
	assert.Equal(t, before, stateOf(t, f.plant))
}

func TestImportIsIdempotent(t *testing.T) {
	f := newPlant(t)
	for _, name := range []string{"materials.xml", "routing.xml", "schedule.xml"} {
		importFile(t, f.plant, name)
	}
	before := stateOf(t, f.plant)
	for _, name := range []string{"materials.xml", "routing.xml", "schedule.xml"} {
		res := importFile(t, f.plant, name)
		assert.Empty(t, res.Applied, "a second import of %s changes nothing", name)
	}
	assert.Equal(t, before, stateOf(t, f.plant))
}

func TestImportRejectsWholeDocumentListingEveryProblem(t *testing.T) {
	f := newPlant(t)
	importFile(t, f.plant, "materials.xml") // PUMP-100 is defined, but no routing: release fails
	before := stateOf(t, f.plant)

	_, err := erp.ImportB2MML(ctx, f.plant, open(t, "invalid_schedule.xml"), opts)
	require.ErrorIs(t, err, erp.ErrInvalid)
	var ve *erp.ValidationError
	require.ErrorAs(t, err, &ve)
	got := map[string]string{}
	for _, p := range ve.Problems {
		got[p.Path] = p.Value
	}
	const pr = "/ProductionSchedule/ProductionRequest"
	assert.Equal(t, map[string]string{
		pr + "[2]/Priority":                                                      "urgent",
		pr + "[2]/SegmentRequirement[1]/LatestEndTime":                           "next week",
		pr + "[2]/SegmentRequirement[1]/MaterialProducedRequirement[1]/Quantity": "ten ea",
		pr + "[3]/ID": "5001",
		pr + "[3]/SegmentRequirement[1]/MaterialProducedRequirement[1]/MaterialDefinitionID": "NO-SUCH-PART",
	}, got, "every problem, each with its element path: %v", err)
	assert.Equal(t, before, stateOf(t, f.plant), "nothing was imported")
}

func TestImportRejectsReferencesTheRoutingNeeds(t *testing.T) {
	f := newPlant(t)
	doc := strings.NewReader(`{"routings": [{"id": "R", "revision": "1", "product": "PUMP-100", "operations": [
		{"id": "10", "work_center": "PAINT", "run_per_unit": "90 seconds"},
		{"id": "20", "work_center": "NOWHERE", "components": [{"material": "SEAL-KIT", "per_unit": "1 kg"}]},
		{"id": "20"}]}],
	  "materials": [{"id": "SEAL-KIT", "unit": "ea"}, {"id": "SEAL-KIT", "unit": "parsec"}]}`)
	before := stateOf(t, f.plant)
	_, err := erp.ImportJSON(ctx, f.plant, doc, opts)
	var ve *erp.ValidationError
	require.ErrorAs(t, err, &ve)
	paths := map[string]bool{}
	for _, p := range ve.Problems {
		paths[p.Path] = true
	}
	for _, want := range []string{
		"/materials/1/id",                                // duplicate
		"/materials/1/unit",                              // unknown unit
		"/routings/0/product",                            // not defined
		"/routings/0/operations/0/work_center",           // in another site
		"/routings/0/operations/0/run_per_unit",          // not ISO 8601
		"/routings/0/operations/1/work_center",           // not defined
		"/routings/0/operations/1/components/0/per_unit", // kg for a material counted in ea
	} {
		assert.True(t, paths[want], "missing problem at %s in %v", want, err)
	}
	assert.Equal(t, before, stateOf(t, f.plant))
}

func TestImportChangedRevision(t *testing.T) {
	f := newPlant(t)
	for _, name := range []string{"materials.xml", "routing.xml", "schedule.xml"} {
		importFile(t, f.plant, name)
	}
	schedule := func(version, qty, priority string) string {
		return `<ProductionSchedule xmlns="http://www.mesa.org/xml/B2MML"><ProductionRequest><ID>4711</ID>
			<Version>` + version + `</Version><Priority>` + priority + `</Priority><SegmentRequirement>
			<LatestEndTime>2026-12-01T16:00:00Z</LatestEndTime><MaterialProducedRequirement>
			<MaterialDefinitionID>PUMP-100</MaterialDefinitionID><Quantity><QuantityString>` + qty + `</QuantityString>
			<UnitOfMeasure>ea</UnitOfMeasure></Quantity></MaterialProducedRequirement></SegmentRequirement>
			</ProductionRequest></ProductionSchedule>`
	}
	before := stateOf(t, f.plant)
	_, err := erp.ImportB2MML(ctx, f.plant, strings.NewReader(schedule("2", "12 kg", "5")), opts)
	require.ErrorIs(t, err, erp.ErrInvalid, "a quantity in another unit is refused")
	assert.Equal(t, before, stateOf(t, f.plant))

	res, err := erp.ImportB2MML(ctx, f.plant, strings.NewReader(schedule("2", "12", "5")), opts)
	require.NoError(t, err, "a changed quantity is applied to the open order")
	assert.Equal(t, []string{"workorder.reschedule"}, commands(res.Applied))
	wo, err := f.plant.WorkOrderByNumber(ctx, "PLANT-1", "4711")
	require.NoError(t, err)
	assert.Equal(t, "12 ea", wo.Qty.String())

	res, err = erp.ImportB2MML(ctx, f.plant, strings.NewReader(schedule("3", "12", "9")), opts)
	require.NoError(t, err, "a changed priority is applied")
	assert.Equal(t, []string{"workorder.set_priority"}, commands(res.Applied))
	wo, err = f.plant.WorkOrderByNumber(ctx, "PLANT-1", "4711")
	require.NoError(t, err)
	assert.Equal(t, 9, wo.Priority)
}

// TestImportResumesAfterAFailedCommand: a command that fails after validation (simulated
// by an authorizer refusing lot receipts) leaves the commands before it applied; importing
// the same document again finishes the job without repeating them.
func TestImportResumesAfterAFailedCommand(t *testing.T) {
	f := newPlant(t)
	refuse := true
	p, err := mes.Open(ctx, f.plant.Store(), mes.WithClock(f.clock), mes.WithAuthorizer(authorizerFunc(func(r mes.AuthRequest) error {
		if refuse && r.Action == "lot.receive" {
			return errors.Join(mes.ErrUnauthorized, errors.New("receipts are closed"))
		}
		return nil
	})))
	require.NoError(t, err)
	_, err = erp.ImportB2MML(ctx, p, open(t, "materials.xml"), opts)
	var ie *erp.IncompleteError
	require.ErrorAs(t, err, &ie)
	require.ErrorIs(t, err, erp.ErrIncomplete)
	require.ErrorIs(t, err, mes.ErrUnauthorized)
	assert.Equal(t, []string{"material.define", "material.define"}, commands(ie.Applied))
	assert.Equal(t, "SK-1", ie.Failed.ID)

	refuse = false
	res, err := erp.ImportB2MML(ctx, p, open(t, "materials.xml"), opts)
	require.NoError(t, err)
	assert.Equal(t, []string{"lot.receive"}, commands(res.Applied))
	assert.Len(t, res.Unchanged, 2)
	lot, err := p.Lot(ctx, "SK-1")
	require.NoError(t, err)
	assert.True(t, lot.OnHand.Equal(units.MustParse("30 ea")))
}

func TestParseB2MMLRefusesAbuse(t *testing.T) {
	deep := strings.Repeat("<a>", erp.MaxDepth+1) + strings.Repeat("</a>", erp.MaxDepth+1)
	for name, doc := range map[string]string{
		"doctype":   `<?xml version="1.0"?><!DOCTYPE ProductionSchedule [<!ENTITY x SYSTEM "file:///etc/passwd">]><ProductionSchedule><ID>&x;</ID></ProductionSchedule>`,
		"entity":    `<ProductionSchedule><ID>&x;</ID></ProductionSchedule>`,
		"deep":      `<ProductionSchedule>` + deep + `</ProductionSchedule>`,
		"namespace": `<ProductionSchedule xmlns="urn:other"/>`,
		"unknown":   `<WorkSchedule xmlns="http://www.mesa.org/xml/B2MML"/>`,
		"broken":    `<ProductionSchedule><ID>1</ProductionSchedule>`,
		"empty":     ``,
		"huge":      `<ProductionSchedule><ID>` + strings.Repeat("x", erp.MaxDocumentSize) + `</ID></ProductionSchedule>`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := erp.ParseB2MML(strings.NewReader(doc))
			var ve *erp.ValidationError
			require.ErrorAs(t, err, &ve)
			require.NotEmpty(t, ve.Problems)
		})
	}
}

func TestParseJSONReportsTypeErrorsWithTheirPath(t *testing.T) {
	_, err := erp.ParseJSON(strings.NewReader(`{"orders": [{"id": "1"}, {"id": "2", "priority": "high"}]}`))
	var ve *erp.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "/orders/1/priority", ve.Problems[0].Path)

	_, err = erp.ParseJSON(strings.NewReader(`{"order": []}`))
	require.ErrorIs(t, err, erp.ErrInvalid, "a misspelt field is a problem")
}

func commands(as []erp.Action) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.Command)
	}
	return out
}

type authorizerFunc func(mes.AuthRequest) error

func (f authorizerFunc) Authorize(_ context.Context, r mes.AuthRequest) error { return f(r) }

// A lot without a supplier is refused by validation, before anything is written (the
// material was defined, then the receipt failed: the document was half applied).
func TestImportRefusesALotTheReceiptWouldRefuse(t *testing.T) {
	f := newPlant(t)
	doc := `{"materials": [{"id": "BOLT", "unit": "ea"}],
	         "lots": [{"id": "B-1", "material": "BOLT", "qty": "5 ea"}]}`
	_, err := erp.ImportJSON(ctx, f.plant, strings.NewReader(doc), opts)
	var ve *erp.ValidationError
	assert.True(t, errors.As(err, &ve), "want a *ValidationError, got %T: %v", err, err)
	_, merr := f.plant.Material(ctx, "BOLT")
	assert.ErrorIs(t, merr, mes.ErrNotFound, "a rejected document must change nothing")
}

// A run time per unit in nine-digit decimal hours reads right (it overflowed).
func TestImportDecimalHoursOfNineDigits(t *testing.T) {
	f := newPlant(t)
	doc := `{"materials": [{"id": "P", "unit": "ea", "kind": "product"}],
	         "routings": [{"id": "R", "revision": "1", "product": "P",
	           "operations": [{"id": "10", "work_center": "CNC", "run_per_unit": "PT0.041666667H"}]}]}`
	_, err := erp.ImportJSON(ctx, f.plant, strings.NewReader(doc), opts)
	require.NoError(t, err)
	rt, err := f.plant.Routing(ctx, "PLANT-1", "R", "1")
	require.NoError(t, err)
	assert.InDelta(t, float64(150*time.Second), float64(rt.Steps[0].RunPerUnit), float64(time.Millisecond), "0.041666667 h is 150 s, got %s", rt.Steps[0].RunPerUnit)
}

// TestReimportAfterASplitKeepsTheSplit: the ERP's order of 10 split in Takt into 6 and 4
// came back unchanged, and the import rescheduled the 6 back to 10 (14 planned for 10
// ordered); a changed ERP quantity changes what the order kept.
func TestReimportAfterASplitKeepsTheSplit(t *testing.T) {
	f, wo, _, _ := splitOrder(t)
	p := f.plant
	res := importFile(t, p, "schedule.xml")
	assert.Empty(t, res.Applied)
	got, err := p.WorkOrder(ctx, wo.ID)
	require.NoError(t, err)
	assert.Equal(t, "6 ea", got.Qty.String())

	doc, err := os.ReadFile(filepath.Join("testdata", "schedule.xml"))
	require.NoError(t, err)
	more := strings.NewReplacer("<Version>1</Version>", "<Version>2</Version>", "<QuantityString>10<", "<QuantityString>12<").Replace(string(doc))
	_, err = erp.ImportB2MML(ctx, p, strings.NewReader(more), opts)
	require.NoError(t, err)
	got, err = p.WorkOrder(ctx, wo.ID)
	require.NoError(t, err)
	assert.Equal(t, "8 ea", got.Qty.String(), "12 ordered, 4 of them split off")
}
