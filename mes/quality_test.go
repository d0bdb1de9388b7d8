package mes_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

var (
	supervisor = mes.By(mes.Actor{ID: "sue", Name: "Sue Supervisor", Kind: mes.Person, Roles: []string{"supervisor"}})
	quinnSigns = mes.SignedBy(mes.Credentials{SignerID: "quinn", Secret: "secret-quinn", Meaning: mes.Approval})
)

func dec(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }

// borePlan inspects the bore (10.000 ± 0.050 mm) of the first piece of every lot and holds
// the lot when it is out of spec.
func borePlan() quality.Plan {
	return quality.Plan{
		ID: "BORE",
		Characteristics: []quality.Characteristic{{Name: "bore", Kind: quality.Variable, Nominal: dec("10.000"),
			Spec: quality.Spec{LSL: dec("9.950"), USL: dec("10.050")}, Unit: "mm", Decimals: 3}},
		Sampling:  quality.SamplingPlan{Method: quality.FirstPiece},
		Reactions: []quality.Reaction{{Actions: []quality.Action{{Kind: quality.HoldLot}}}},
	}
}

// qualityPlant is a plant with roles and signatures, the pump routing "Q" (10 machine on
// CNC, 20 inspect with plan BORE on QC, 30 assemble on ASSY) and plan defined as BORE.
// Releasing holds needs an approval signature.
func qualityPlant(t *testing.T, plan quality.Plan) fixture {
	t.Helper()
	roles := mes.Roles{"admin": {"*"}, "planner": {"workorder.*", "lot.start"}, "erp": {"workorder.create"},
		"operator": {"lot.*", "inspection.record"}, "supervisor": {"nc.*", "hold.*"}, "qa": {"nc.disposition", "hold.release"}}
	v := verifier{
		"quinn": {ID: "quinn", Name: "Quinn QA", Roles: []string{"qa"}},
		"olga":  {ID: "olga", Name: "Olga Operator", Roles: []string{"operator"}},
	}
	f := newPlant(t, mes.WithAuthorizer(roles), mes.WithSignatureVerifier(v), mes.WithSignatureRequired("hold.release", mes.Approval))
	p := f.plant
	require.NoError(t, p.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "QC", Level: equipment.WorkCenter, Parent: "PLANT-1"},
		{ID: "ASSY", Level: equipment.WorkCenter, Parent: "PLANT-1"},
		{ID: "CNC-1", Level: equipment.WorkUnit, Parent: "CNC"},
	}, admin))
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	rt, err := routing.New("PUMP-100", "Q").
		Step("10", "Machine housing", routing.At("CNC")).
		Step("20", "Inspect bore", routing.At("QC"), routing.Inspect("BORE")).
		Step("30", "Assemble", routing.At("ASSY")).
		Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", rt, admin)
	require.NoError(t, err)
	_, err = p.DefineInspectionPlan(ctx, "PLANT-1", plan, admin)
	require.NoError(t, err)
	return f
}

// lotAtInspection starts a lot of qty for a new order, machines it at step 10 and tracks
// it in at step 20.
func lotAtInspection(t *testing.T, f fixture, number, qty string) mes.Lot {
	t.Helper()
	p := f.plant
	wo := releasedOrder(t, f, number)
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse(qty), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse(qty)}, operator)
	require.NoError(t, err)
	lot, err = p.TrackIn(ctx, lot.ID, "20", units.Quantity{}, operator)
	require.NoError(t, err)
	return lot
}

func bore(value, serial string) quality.Result {
	return quality.Result{Characteristic: "bore", Value: dec(value), Serial: serial}
}

// qualitySnapshot extends takeSnapshot with the quality records.
func qualitySnapshot(t *testing.T, f fixture) string {
	t.Helper()
	recs := map[string][]store.Record{}
	require.NoError(t, f.store.View(ctx, func(tx store.ReadTx) error {
		for _, kind := range []string{"inspection_plan", "inspection", "inspection_lot", "inspection_count", "spc_chart", "nonconformance", "machinerun"} {
			r, err := tx.List(ctx, store.Query{Kind: kind, Site: "PLANT-1"})
			if err != nil {
				return err
			}
			recs[kind] = r
		}
		return nil
	}))
	b, err := json.Marshal(recs)
	require.NoError(t, err)
	return takeSnapshot(t, f.store) + string(b)
}

func eventsOf[T mes.EventPayload](t *testing.T, p *mes.Plant) []T {
	t.Helper()
	evs, err := p.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	var out []T
	for _, e := range evs {
		if v, ok := any(e.Payload).(*T); ok {
			out = append(out, *v)
		}
	}
	return out
}

// The case of the issue: an out-of-spec measurement at step 20 holds the lot, a supervisor
// opens a non-conformance and it is dispositioned rework with a signature; the material
// goes back to step 10 and then passes. The audit trail shows every act with its signer.
func TestInspectionHoldDispositionReworkEndToEnd(t *testing.T) {
	f := qualityPlant(t, borePlan())
	p := f.plant
	lot := lotAtInspection(t, f, "4711", "10 ea")
	wo, err := p.WorkOrder(ctx, lot.WorkOrder)
	require.NoError(t, err)
	auditFrom := lastAuditSeq(t, p)

	// The first piece measures 10.081 mm: above the upper spec limit; the plan holds the lot.
	insp, err := p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10.081", "S1")}, operator)
	require.NoError(t, err)
	require.Len(t, insp.Evaluation.OutOfSpec, 1)
	assert.Equal(t, quality.AboveUSL, insp.Evaluation.OutOfSpec[0].Bound)
	require.Len(t, insp.Holds, 1)
	hold := insp.Holds[0]
	assert.Equal(t, quality.Target{Kind: quality.OnLot, ID: lot.ID}, hold.Target)
	assert.Contains(t, hold.Reason, "bore 10.081 above USL 10.05 (S1)")

	_, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("10 ea")}, operator)
	assert.ErrorIs(t, err, mes.ErrOnHold, "the held lot cannot be tracked out")
	assert.ErrorIs(t, err, quality.ErrOnHold)

	// A supervisor opens a non-conformance for the whole lot and QA dispositions rework.
	nc, err := p.OpenNonConformance(ctx, "PLANT-1", quality.NonConformance{What: "bore oversize on first piece", Lot: lot.ID, Step: "20",
		Qty: units.MustParse("10 ea"), DefectCodes: []quality.DefectCount{{Code: "BORE-OVERSIZE", Count: 1}}}, supervisor)
	require.NoError(t, err)
	assert.Equal(t, quality.NCOpen, nc.Status)
	nc, err = p.DispositionNonConformance(ctx, nc.ID, []quality.DispositionLine{{Kind: quality.Rework, Qty: units.MustParse("10 ea"), ToStep: "10"}},
		supervisor, mes.Reason("re-bore to size"), quinnSigns)
	require.NoError(t, err)
	assert.Equal(t, quality.NCDispositioned, nc.Status)
	assert.Equal(t, "quinn", nc.Disposition.By, "the signer is the one who decided")

	// The in-process quantity was split off into a rework lot queued at step 10.
	rework, err := p.Lot(ctx, lot.ID+"-R1")
	require.NoError(t, err)
	assert.Equal(t, lot.ID, rework.Parent)
	assert.Equal(t, "10 ea", rework.OnHand.String())
	assert.Equal(t, "10 ea", books(t, rework, "10").Waiting.String())
	parent, err := p.Lot(ctx, lot.ID)
	require.NoError(t, err)
	assert.Equal(t, "10 ea", books(t, parent, "20").Rework.String())

	// The rework lot goes back through step 10, passes inspection at step 20 and assembles.
	_, err = p.TrackIn(ctx, rework.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, rework.ID, "10", routing.Outcome{Good: units.MustParse("10 ea")}, operator)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, rework.ID, "20", units.Quantity{}, operator)
	require.NoError(t, err)
	insp, err = p.RecordInspection(ctx, rework.ID, "20", []quality.Result{bore("10.004", "S1")}, operator)
	require.NoError(t, err)
	assert.Empty(t, insp.Evaluation.OutOfSpec)
	assert.Empty(t, insp.Holds)
	_, err = p.TrackOut(ctx, rework.ID, "20", routing.Outcome{Good: units.MustParse("10 ea")}, operator)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, rework.ID, "30", units.Quantity{}, operator)
	require.NoError(t, err)
	rework, err = p.TrackOut(ctx, rework.ID, "30", routing.Outcome{Good: units.MustParse("10 ea")}, operator)
	require.NoError(t, err)
	assert.False(t, rework.Execution.Running())
	wo, err = p.WorkOrder(ctx, wo.ID)
	require.NoError(t, err)
	assert.Equal(t, "10 ea", wo.Produced.String())

	// The hold is released with QA's signature; the non-conformance is closed.
	_, err = p.ReleaseHold(ctx, hold.ID, supervisor, mes.Reason("reworked under NC"))
	require.ErrorIs(t, err, mes.ErrSignatureRequired)
	_, err = p.ReleaseHold(ctx, hold.ID, supervisor, mes.Reason("reworked under NC"), quinnSigns)
	require.NoError(t, err)
	_, err = p.CloseNonConformance(ctx, nc.ID, supervisor)
	require.NoError(t, err)

	trail, err := p.AuditTrail(ctx, auditFrom, 0)
	require.NoError(t, err)
	type act struct{ action, actor, signer, object string }
	var acts []act
	for _, r := range trail {
		a := act{action: r.Action, actor: r.Actor, object: r.Object}
		if len(r.Signatures) > 0 {
			a.signer = r.Signatures[0].SignerName + " (" + r.Signatures[0].Meaning + ")"
		}
		acts = append(acts, a)
	}
	assert.Contains(t, acts, act{"inspection.record", "olga", "", "inspection_lot/" + lot.ID + "/20"})
	assert.Contains(t, acts, act{"inspection.record", "olga", "", "hold/" + hold.ID})
	assert.Contains(t, acts, act{"nc.open", "sue", "", "nonconformance/" + nc.ID})
	assert.Contains(t, acts, act{"nc.disposition", "sue", "Quinn QA (approval)", "nonconformance/" + nc.ID})
	assert.Contains(t, acts, act{"nc.disposition", "sue", "Quinn QA (approval)", "lot/" + rework.ID}, "the rework lot's creation is signed too")
	assert.Contains(t, acts, act{"hold.release", "sue", "Quinn QA (approval)", "hold/" + hold.ID})
	assert.Contains(t, acts, act{"nc.close", "sue", "", "nonconformance/" + nc.ID})
	for _, r := range trail {
		if r.Action == "nc.disposition" || r.Action == "hold.release" {
			require.Len(t, r.Signatures, 1)
			assert.Equal(t, r.Content(), r.Signatures[0].Digest, "each signature is bound to its record")
		}
	}
	_, err = p.VerifyAudit(ctx)
	require.NoError(t, err)

	recorded := eventsOf[mes.InspectionRecorded](t, p)
	require.Len(t, recorded, 2)
	assert.Equal(t, []quality.Action{{Kind: quality.HoldLot}}, recorded[0].Actions)
	assert.Empty(t, recorded[1].Actions)
	disp := eventsOf[mes.NonConformanceDispositioned](t, p)
	require.Len(t, disp, 1)
	assert.Equal(t, "Quinn QA", disp[0].SignerName)
}

func lastAuditSeq(t *testing.T, p *mes.Plant) uint64 {
	t.Helper()
	trail, err := p.AuditTrail(ctx, 0, 0)
	require.NoError(t, err)
	return trail[len(trail)-1].Seq
}

func TestTrackOutRefusedWhileInspectionsMissing(t *testing.T) {
	plan := quality.Plan{ID: "BORE",
		Characteristics: []quality.Characteristic{
			{Name: "bore", Kind: quality.Variable, Spec: quality.Spec{LSL: dec("9.95"), USL: dec("10.05")}, Decimals: 3},
			{Name: "finish", Kind: quality.Attribute, DefectCodes: []string{"SCRATCH", "BURR"}},
		},
		Sampling: quality.SamplingPlan{Method: quality.EveryNthUnit, N: 5},
	}
	f := qualityPlant(t, plan)
	p := f.plant
	lot := lotAtInspection(t, f, "4711", "10 ea")
	_, err := p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10.001", "U0")}, operator)
	require.NoError(t, err)

	before := qualitySnapshot(t, f)
	_, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("10 ea")}, operator)
	require.ErrorIs(t, err, mes.ErrInspectionMissing)
	require.ErrorIs(t, err, quality.ErrInspectionMissing)
	var missing *quality.MissingError
	require.ErrorAs(t, err, &missing)
	assert.Equal(t, []quality.Missing{{Characteristic: "bore", Required: 2, Recorded: 1}, {Characteristic: "finish", Required: 2, Recorded: 0}}, missing.Missing)
	assert.Contains(t, err.Error(), "bore (1 of 2 recorded), finish (0 of 2 recorded)")
	assert.Equal(t, before, qualitySnapshot(t, f), "a refused track-out changes nothing")

	_, err = p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("9.998", "U5"),
		{Characteristic: "finish", Inspected: 1, Serial: "U0"}, {Characteristic: "finish", Inspected: 1, Serial: "U5"}}, operator)
	require.NoError(t, err)
	lot, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("10 ea")}, operator)
	require.NoError(t, err)
	assert.Equal(t, "10 ea", books(t, lot, "30").Waiting.String())
	evaluated := eventsOf[mes.InspectionEvaluated](t, p)
	require.Len(t, evaluated, 1)
	assert.Equal(t, "10 ea", evaluated[0].Evaluation.Accepted.String())
	assert.Equal(t, "0 ea", evaluated[0].Evaluation.Rejected.String())
}

func TestBadInspectionResultsRefusedWithNoChange(t *testing.T) {
	plan := borePlan()
	plan.Characteristics = append(plan.Characteristics, quality.Characteristic{Name: "finish", Kind: quality.Attribute, DefectCodes: []string{"SCRATCH"}})
	f := qualityPlant(t, plan)
	p := f.plant
	lot := lotAtInspection(t, f, "4711", "10 ea")
	before := qualitySnapshot(t, f)

	_, err := p.RecordInspection(ctx, lot.ID, "20", []quality.Result{
		bore("10.0011", "S1"),                         // finer than the gauge
		{Characteristic: "diameter", Value: dec("1")}, // not in the plan
		{Characteristic: "finish", Value: dec("1"), Inspected: 1, Defects: []quality.DefectCount{{Code: "DENT", Count: 1}}}, // value and unknown code
	}, operator)
	require.ErrorIs(t, err, mes.ErrInvalid)
	require.ErrorIs(t, err, quality.ErrInvalidResult)
	for _, want := range []string{"results[0]", "more than 3 decimal", "results[1]", `"diameter"`, "results[2]", "not a value", `"DENT"`} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Equal(t, before, qualitySnapshot(t, f))

	for name, tc := range map[string]struct {
		lot, step string
		results   []quality.Result
		want      error
	}{
		"no results":         {lot.ID, "20", nil, mes.ErrInvalid},
		"step without plan":  {lot.ID, "30", []quality.Result{bore("10", "")}, mes.ErrInvalid},
		"unknown lot":        {"ghost", "20", []quality.Result{bore("10", "")}, mes.ErrNotFound},
		"nothing at step 10": {lot.ID, "10", []quality.Result{bore("10", "")}, mes.ErrInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.RecordInspection(ctx, tc.lot, tc.step, tc.results, operator)
			assert.ErrorIs(t, err, tc.want)
			assert.Equal(t, before, qualitySnapshot(t, f))
		})
	}
	_, err = p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10", "")}, mes.By(mes.Actor{ID: "pat", Roles: []string{"planner"}}))
	assert.ErrorIs(t, err, mes.ErrUnauthorized)
}

func TestDefineInspectionPlanVersionsAndProblems(t *testing.T) {
	f := qualityPlant(t, borePlan())
	p := f.plant

	bad := quality.Plan{ID: "BAD", Characteristics: []quality.Characteristic{{Name: "x", Kind: quality.Variable, Spec: quality.Spec{LSL: dec("2"), USL: dec("1")}}},
		Sampling:  quality.SamplingPlan{Method: "sometimes"},
		Reactions: []quality.Reaction{{When: "char.y.max > 1", Actions: []quality.Action{{Kind: quality.HoldLot}}}}}
	_, err := p.DefineInspectionPlan(ctx, "PLANT-1", bad, admin)
	require.ErrorIs(t, err, mes.ErrInvalid)
	require.ErrorIs(t, err, quality.ErrInvalidPlan)
	for _, want := range []string{"characteristics[0].lsl", "sampling.method", "reactions[0].when"} {
		assert.Contains(t, err.Error(), want, "every problem is listed")
	}

	same, err := p.DefineInspectionPlan(ctx, "PLANT-1", borePlan(), admin)
	require.NoError(t, err)
	assert.Equal(t, 1, same.Version, "an unchanged plan is not a new version")

	// Lot A begins its inspection under version 1 (USL 10.050); version 2 tightens it.
	lotA := lotAtInspection(t, f, "4711", "5 ea")
	_, err = p.RecordInspection(ctx, lotA.ID, "20", []quality.Result{bore("10.040", "S1")}, operator)
	require.NoError(t, err)
	tight := borePlan()
	tight.Characteristics[0].USL = dec("10.030")
	v2, err := p.DefineInspectionPlan(ctx, "PLANT-1", tight, admin)
	require.NoError(t, err)
	assert.Equal(t, 2, v2.Version)
	v1, err := p.InspectionPlan(ctx, "PLANT-1", "BORE", 1)
	require.NoError(t, err)
	assert.Equal(t, "10.05", v1.Plan.Characteristics[0].USL.Decimal.String(), "version 1 stays as it was")

	_, err = p.TrackOut(ctx, lotA.ID, "20", routing.Outcome{Good: units.MustParse("5 ea")}, operator)
	require.NoError(t, err, "lot A is judged by version 1, which it began under")
	evaluated := eventsOf[mes.InspectionEvaluated](t, p)
	require.Len(t, evaluated, 1)
	assert.Equal(t, 1, evaluated[0].PlanVersion)
	assert.Empty(t, evaluated[0].Evaluation.OutOfSpec)

	lotB := lotAtInspection(t, f, "4712", "5 ea")
	insp, err := p.RecordInspection(ctx, lotB.ID, "20", []quality.Result{bore("10.040", "S1")}, operator)
	require.NoError(t, err)
	assert.Equal(t, 2, insp.PlanVersion)
	assert.Len(t, insp.Holds, 1, "under version 2 the same value is out of spec")
}

func TestDispositionNeedsSignature(t *testing.T) {
	f := qualityPlant(t, borePlan())
	p := f.plant
	lot := lotAtInspection(t, f, "4711", "10 ea")
	nc, err := p.OpenNonConformance(ctx, "PLANT-1", quality.NonConformance{What: "scratch", Lot: lot.ID, Step: "20", Qty: units.MustParse("2 ea")}, supervisor)
	require.NoError(t, err)
	scrap := []quality.DispositionLine{{Kind: quality.Scrap, Qty: units.MustParse("2 ea")}}

	for name, tc := range map[string]struct {
		opts []mes.CommandOption
		want error
	}{
		"no signature":       {nil, mes.ErrSignatureRequired},
		"wrong meaning":      {[]mes.CommandOption{mes.SignedBy(mes.Credentials{SignerID: "quinn", Secret: "secret-quinn", Meaning: mes.Review})}, mes.ErrSignatureRequired},
		"wrong password":     {[]mes.CommandOption{mes.SignedBy(mes.Credentials{SignerID: "quinn", Secret: "guess", Meaning: mes.Approval})}, mes.ErrSignatureInvalid},
		"signer lacks right": {[]mes.CommandOption{mes.SignedBy(mes.Credentials{SignerID: "olga", Secret: "secret-olga", Meaning: mes.Approval})}, mes.ErrSignatureInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			before := qualitySnapshot(t, f)
			_, err := p.DispositionNonConformance(ctx, nc.ID, scrap, append([]mes.CommandOption{supervisor, mes.Reason("deep scratch")}, tc.opts...)...)
			assert.ErrorIs(t, err, tc.want)
			assert.Equal(t, before, qualitySnapshot(t, f))
		})
	}

	before := qualitySnapshot(t, f)
	_, err = p.DispositionNonConformance(ctx, nc.ID, []quality.DispositionLine{{Kind: quality.Scrap, Qty: units.MustParse("1 ea")}}, supervisor, mes.Reason("x"), quinnSigns)
	assert.ErrorIs(t, err, mes.ErrInvalid, "the lines must cover the whole quantity")
	assert.Equal(t, before, qualitySnapshot(t, f))
	_, err = p.CloseNonConformance(ctx, nc.ID, supervisor)
	assert.ErrorIs(t, err, mes.ErrWrongState, "an open non-conformance is dispositioned before it closes")
}

func TestScrapDispositionMovesQuantity(t *testing.T) {
	f := qualityPlant(t, borePlan())
	p := f.plant
	lot := lotAtInspection(t, f, "4711", "10 ea")
	nc, err := p.OpenNonConformance(ctx, "PLANT-1", quality.NonConformance{What: "scratched housings", Lot: lot.ID, Step: "20", Qty: units.MustParse("4 ea")}, supervisor)
	require.NoError(t, err)
	_, err = p.DispositionNonConformance(ctx, nc.ID, []quality.DispositionLine{
		{Kind: quality.Scrap, Qty: units.MustParse("3 ea")},
		{Kind: quality.UseAsIs, Qty: units.MustParse("1 ea")},
	}, supervisor, mes.Reason("scratches too deep on 3"), quinnSigns)
	require.NoError(t, err)

	lot, err = p.Lot(ctx, lot.ID)
	require.NoError(t, err)
	assert.Equal(t, "7 ea", lot.OnHand.String(), "scrap leaves the lot")
	b := books(t, lot, "20")
	assert.Equal(t, "3 ea", b.Scrap.String())
	assert.Equal(t, "7 ea", b.InProcess.String())
	wo, err := p.WorkOrder(ctx, lot.WorkOrder)
	require.NoError(t, err)
	assert.Equal(t, "3 ea", wo.Scrapped.String())
	scrapped := eventsOf[mes.LotScrapped](t, p)
	require.Len(t, scrapped, 1)
	assert.Equal(t, "NC "+nc.ID+": scrap", scrapped[0].Reason)
	var edges []genealogy.Edge
	require.NoError(t, f.store.View(ctx, func(tx store.ReadTx) error {
		edges, err = tx.Outputs(ctx, genealogy.Node{Kind: genealogy.NodeLot, ID: lot.ID})
		return err
	}))
	assert.True(t, containsScrapEdge(edges), "the genealogy records the scrap: %+v", edges)

	// The rest of the lot passes inspection and moves on.
	_, err = p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10.010", "S4")}, operator)
	require.NoError(t, err)
	lot, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("7 ea")}, operator)
	require.NoError(t, err)
	assert.Equal(t, "7 ea", books(t, lot, "30").Waiting.String())
}

func containsScrapEdge(edges []genealogy.Edge) bool {
	for _, e := range edges {
		if e.Kind == genealogy.EdgeScrap {
			return true
		}
	}
	return false
}

func TestReworkOfWaitingLotMovesItBackAndInspectsAgain(t *testing.T) {
	f := qualityPlant(t, borePlan())
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("5 ea"), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("5 ea")}, operator)
	require.NoError(t, err)

	// Inspected while queued at step 20: out of spec, held.
	insp, err := p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("9.900", "S1")}, operator)
	require.NoError(t, err)
	require.Len(t, insp.Holds, 1)
	_, err = p.TrackIn(ctx, lot.ID, "20", units.Quantity{}, operator)
	require.ErrorIs(t, err, mes.ErrOnHold, "track-in sees the inspection hold")

	nc, err := p.OpenNonConformance(ctx, "PLANT-1", quality.NonConformance{What: "bore undersize", Lot: lot.ID, Step: "20", Qty: units.MustParse("5 ea")}, supervisor)
	require.NoError(t, err)
	_, err = p.DispositionNonConformance(ctx, nc.ID, []quality.DispositionLine{{Kind: quality.Rework, Qty: units.MustParse("5 ea"), ToStep: "10"}},
		supervisor, mes.Reason("re-machine"), quinnSigns)
	require.NoError(t, err)
	lot, err = p.Lot(ctx, lot.ID)
	require.NoError(t, err)
	assert.Equal(t, "5 ea", books(t, lot, "10").Waiting.String(), "the same lot went back to step 10")
	assert.Equal(t, "5 ea", books(t, lot, "20").MovedBack.String())
	results, err := p.Inspections(ctx, lot.ID, "20")
	require.NoError(t, err)
	assert.Empty(t, results, "the reworked lot is inspected afresh")

	_, err = p.ReleaseHold(ctx, insp.Holds[0].ID, supervisor, mes.Reason("reworked under NC "+nc.ID), quinnSigns)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: units.MustParse("5 ea")}, operator)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "20", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("5 ea")}, operator)
	require.ErrorIs(t, err, mes.ErrInspectionMissing, "the old result does not count for the new pass")
	_, err = p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10.000", "S1")}, operator)
	require.NoError(t, err)
	lot, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("5 ea")}, operator)
	require.NoError(t, err)
	assert.Equal(t, "5 ea", books(t, lot, "30").Waiting.String())
}

func TestReactionsOpenNonConformanceAndRework(t *testing.T) {
	plan := borePlan()
	plan.Sampling = quality.SamplingPlan{Method: quality.EveryUnit}
	plan.Reactions = []quality.Reaction{{Actions: []quality.Action{{Kind: quality.OpenNonConformance}, {Kind: quality.ReworkTo, ToStep: "10"}}}}
	f := qualityPlant(t, plan)
	p := f.plant
	lot := lotAtInspection(t, f, "4711", "3 ea")

	insp, err := p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10.000", "S1"), bore("10.060", "S2"), bore("10.010", "S3")}, operator, mes.On("QC"))
	require.NoError(t, err)
	require.Len(t, insp.NonConformances, 1)
	nc := insp.NonConformances[0]
	assert.Equal(t, "1 ea", nc.Qty.String(), "one unit is nonconforming")
	assert.Equal(t, "20", nc.Step)
	assert.Contains(t, nc.What, "bore 10.06 above USL 10.05 (S2)")
	assert.Equal(t, lot.ID+"-R1", insp.ReworkLot)
	rework, err := p.Lot(ctx, insp.ReworkLot)
	require.NoError(t, err)
	assert.Equal(t, "1 ea", books(t, rework, "10").Waiting.String())
	lot, err = p.Lot(ctx, lot.ID)
	require.NoError(t, err)
	assert.Equal(t, "2 ea", books(t, lot, "20").InProcess.String())

	// A re-measurement of S2 in spec replaces its finding and adds none, so nothing runs again.
	insp, err = p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10.000", "S2")}, operator)
	require.NoError(t, err)
	assert.Empty(t, insp.Actions)
	assert.Empty(t, insp.Evaluation.OutOfSpec)
	ncs, err := p.NonConformancesOfLot(ctx, "PLANT-1", lot.ID)
	require.NoError(t, err)
	assert.Len(t, ncs, 1)
}

func TestAcceptanceSamplingRejectsLot(t *testing.T) {
	plan := quality.Plan{ID: "BORE", Characteristics: []quality.Characteristic{{Name: "visual", Kind: quality.Attribute}},
		Sampling: quality.SamplingPlan{Method: quality.Acceptance, N: 3, C: 0}}
	f := qualityPlant(t, plan)
	p := f.plant
	lot := lotAtInspection(t, f, "4711", "10 ea")
	_, err := p.RecordInspection(ctx, lot.ID, "20", []quality.Result{{Characteristic: "visual", Inspected: 3, Rejected: 1}}, operator)
	require.NoError(t, err)

	before := qualitySnapshot(t, f)
	_, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("10 ea")}, operator)
	require.ErrorIs(t, err, mes.ErrLotRejected)
	assert.Equal(t, before, qualitySnapshot(t, f))

	// The review board screens the lot: 9 used as is, 1 scrapped.
	nc, err := p.OpenNonConformance(ctx, "PLANT-1", quality.NonConformance{What: "lot rejected by sampling", Lot: lot.ID, Step: "20", Qty: units.MustParse("10 ea")}, supervisor)
	require.NoError(t, err)
	_, err = p.DispositionNonConformance(ctx, nc.ID, []quality.DispositionLine{{Kind: quality.UseAsIs, Qty: units.MustParse("9 ea")}, {Kind: quality.Scrap, Qty: units.MustParse("1 ea")}},
		supervisor, mes.Reason("100% screening"), quinnSigns)
	require.NoError(t, err)
	lot, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("9 ea")}, operator)
	require.NoError(t, err)
	assert.Equal(t, "9 ea", books(t, lot, "30").Waiting.String())
	evaluated := eventsOf[mes.InspectionEvaluated](t, p)
	require.Len(t, evaluated, 1)
	assert.False(t, evaluated[0].Evaluation.LotAccepted)
	assert.Equal(t, "0 ea", evaluated[0].Evaluation.Accepted.String())
}

// baselineValues are ten bore measurements of a stable process.
var baselineValues = []string{"10.000", "10.002", "9.999", "10.001", "9.998", "10.000", "10.001", "9.999", "10.000", "10.000"}

func everyUnitPlan() quality.Plan {
	plan := borePlan()
	plan.Sampling = quality.SamplingPlan{Method: quality.EveryUnit}
	return plan
}

func recordBaseline(t *testing.T, f fixture) (mes.Lot, time.Time, time.Time) {
	t.Helper()
	lot := lotAtInspection(t, f, "4711", "10 ea")
	from := f.clock.Now()
	for i, v := range baselineValues {
		f.clock.Advance(time.Minute)
		_, err := f.plant.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore(v, "S"+string(rune('0'+i)))}, operator)
		require.NoError(t, err)
	}
	f.clock.Advance(time.Minute)
	return lot, from, f.clock.Now()
}

func floats(t *testing.T, ss []string) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = decimal.RequireFromString(s).InexactFloat64()
	}
	return out
}

func TestSPCViolationHoldsLotAndEquipment(t *testing.T) {
	f := qualityPlant(t, everyUnitPlan())
	p := f.plant
	_, from, to := recordBaseline(t, f)

	cfg := mes.ChartConfig{Characteristic: "bore", Rules: quality.WesternElectricRules, HoldLot: true, HoldEquipment: true}
	chart, err := p.ComputeControlLimits(ctx, "PLANT-1", cfg, from, to, admin)
	require.NoError(t, err)
	want, err := quality.NewIMRChart(floats(t, baselineValues))
	require.NoError(t, err)
	assert.Equal(t, want, chart.Limits)
	assert.Equal(t, 10, chart.BaselinePoints)

	lot := lotAtInspection(t, f, "4712", "3 ea")
	insp, err := p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10.001", "S1")}, operator)
	require.NoError(t, err)
	assert.Empty(t, insp.Violations, "a point inside the limits breaks no rule")

	// 10.020 is inside the specification but far beyond the upper control limit.
	require.Less(t, chart.Limits.X.UCL, 10.02)
	insp, err = p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10.020", "S2")}, operator)
	require.NoError(t, err)
	assert.Empty(t, insp.Evaluation.OutOfSpec)
	require.Len(t, insp.Violations, 1)
	assert.Equal(t, []quality.Violation{{Chart: quality.Individuals, Rule: quality.WesternElectric1, Index: 1}, {Chart: quality.MovingRange, Rule: quality.WesternElectric1, Index: 1}},
		insp.Violations[0].Violations)
	require.Len(t, insp.Holds, 2)
	assert.Equal(t, quality.Target{Kind: quality.OnLot, ID: lot.ID}, insp.Holds[0].Target)
	assert.Equal(t, quality.Target{Kind: quality.OnEquipment, ID: "QC"}, insp.Holds[1].Target)
	assert.Len(t, eventsOf[mes.SPCViolation](t, p), 1)

	_, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("3 ea")}, operator)
	assert.ErrorIs(t, err, mes.ErrOnHold)
	active, err := p.ActiveHolds(ctx, "PLANT-1")
	require.NoError(t, err)
	assert.Len(t, active, 2)

	_, err = p.SetControlLimits(ctx, "PLANT-1", mes.ChartConfig{Characteristic: "bore"}, quality.IMRChart{}, admin)
	require.ErrorIs(t, err, mes.ErrInvalid)
	assert.Contains(t, err.Error(), "rules")
	assert.Contains(t, err.Error(), "limits")
}

func TestCapabilityOverPeriod(t *testing.T) {
	f := qualityPlant(t, everyUnitPlan())
	_, from, to := recordBaseline(t, f)

	capa, err := f.plant.Capability(ctx, "PLANT-1", "bore", "", from, to)
	require.NoError(t, err)
	xs := floats(t, baselineValues)
	mean, mr, ss := 0.0, 0.0, 0.0
	for i, x := range xs {
		mean += x / float64(len(xs))
		if i > 0 {
			mr += math.Abs(x-xs[i-1]) / float64(len(xs)-1)
		}
	}
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	within, overall := mr/1.128, math.Sqrt(ss/float64(len(xs)-1))
	assert.Equal(t, 10, capa.N)
	assert.InDelta(t, 0.1/(6*within), capa.Cp, 1e-6)
	assert.InDelta(t, math.Min(10.05-mean, mean-9.95)/(3*within), capa.Cpk, 1e-6)
	assert.InDelta(t, 0.1/(6*overall), capa.Pp, 1e-6)
	assert.InDelta(t, math.Min(10.05-mean, mean-9.95)/(3*overall), capa.Ppk, 1e-6)

	_, err = f.plant.Capability(ctx, "PLANT-1", "bore", "", to, to.Add(time.Hour))
	assert.ErrorIs(t, err, quality.ErrInsufficientData)
	assert.True(t, errors.Is(err, mes.ErrInvalid))
}

func TestSkipLotSamplingCountsLotsOfThePlan(t *testing.T) {
	plan := borePlan()
	plan.Sampling = quality.SamplingPlan{Method: quality.EveryNthLot, N: 2}
	f := qualityPlant(t, plan)
	p := f.plant
	for i, tc := range []struct {
		number  string
		inspect bool
	}{{"4711", true}, {"4712", false}, {"4713", true}} {
		lot := lotAtInspection(t, f, tc.number, "4 ea")
		_, err := p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("4 ea")}, operator)
		if !tc.inspect {
			require.NoError(t, err, "lot %d is skipped", i)
			continue
		}
		require.ErrorIs(t, err, mes.ErrInspectionMissing, "lot %d is sampled", i)
		_, err = p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10.000", "S1")}, operator)
		require.NoError(t, err)
		_, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("4 ea")}, operator)
		require.NoError(t, err)
	}
}

// An existing lot hold does not stand in for the plan's hold-lot reaction: releasing the
// unrelated hold leaves the out-of-spec lot held.
func TestAnotherHoldDoesNotStandInForAnInspectionHold(t *testing.T) {
	f := qualityPlant(t, borePlan())
	p := f.plant
	lot := lotAtInspection(t, f, "4711", "10 ea")
	manual, err := p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnLot, ID: lot.ID}, "paperwork check", supervisor)
	require.NoError(t, err)
	insp, err := p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10.081", "S1")}, operator)
	require.NoError(t, err)
	require.Len(t, insp.Evaluation.OutOfSpec, 1)
	_, err = p.ReleaseHold(ctx, manual.ID, supervisor, mes.Reason("paperwork ok"), quinnSigns)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: units.MustParse("10 ea")}, operator)
	require.ErrorIs(t, err, mes.ErrOnHold, "out-of-spec lot must stay held after an unrelated hold is released")
}

// A serialised component whose lot is held is not assembled.
func TestHeldSerialsAreNotAssembled(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "MOTOR", Unit: "ea", Tracking: genealogy.TrackSerial, Kind: genealogy.KindComponent}, admin))
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "UNIT", Unit: "ea", Tracking: genealogy.TrackSerial, Kind: genealogy.KindProduct}, admin))
	_, err := p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "MOT-L1", Material: "MOTOR", Qty: qty("2 ea"), Supplier: "Volt", SupplierLot: "V-9"}, admin)
	require.NoError(t, err)
	_, err = p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "UNIT-L1", Material: "UNIT", Qty: qty("1 ea"), Supplier: "self", SupplierLot: "frame"}, admin)
	require.NoError(t, err)
	_, err = p.SerializeUnits(ctx, "MOT-L1", []string{"M-001"}, admin)
	require.NoError(t, err)
	_, err = p.SerializeUnits(ctx, "UNIT-L1", []string{"U-100"}, admin)
	require.NoError(t, err)
	_, err = p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnLot, ID: "MOT-L1"}, "motor lot suspect", admin)
	require.NoError(t, err)
	_, err = p.AssembleComponent(ctx, "U-100", "M-001", "30", units.Quantity{}, operator, mes.On("ASSY"))
	require.ErrorIs(t, err, mes.ErrOnHold, "a serial of a held lot must not be assembled")
}

// A supplier-lot hold on a material blocks ShipLot and ShipSerial of its units alike.
func TestShipSerialRespectsSupplierLotHolds(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "UNIT", Unit: "ea", Tracking: genealogy.TrackSerial, Kind: genealogy.KindProduct}, admin))
	_, err := p.ReceiveLot(ctx, mes.Receipt{Site: "PLANT-1", Lot: "UNIT-L1", Material: "UNIT", Qty: qty("2 ea"), Supplier: "OEM", SupplierLot: "OEM-5"}, admin)
	require.NoError(t, err)
	_, err = p.SerializeUnits(ctx, "UNIT-L1", []string{"U-100"}, admin)
	require.NoError(t, err)
	_, err = p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnMaterial, ID: "UNIT", SupplierLot: "OEM-5"}, "supplier recall", admin)
	require.NoError(t, err)
	_, err = p.ShipLot(ctx, "UNIT-L1", genealogy.Shipment{ID: "SH-1", Customer: "Initech"}, qty("1 ea"), admin)
	require.ErrorIs(t, err, mes.ErrOnHold, "ShipLot sees the supplier-lot hold")
	_, err = p.ShipSerial(ctx, "U-100", genealogy.Shipment{ID: "SH-2", Customer: "Initech"}, admin)
	require.ErrorIs(t, err, mes.ErrOnHold, "ShipSerial must see the supplier-lot hold too")
}

// A quarantined product material stops StartLot.
func TestNoLotStartsOfAHeldProduct(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	_, err := p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnMaterial, ID: "PUMP-100"}, "quarantine", admin)
	require.NoError(t, err)
	_, err = p.StartLot(ctx, wo.ID, qty("5 ea"), planner)
	require.ErrorIs(t, err, mes.ErrOnHold)
}

// A new out-of-spec unit recorded together with an in-spec re-measurement of an earlier
// bad unit gets its reaction (a non-conformance); the counts alone did not change.
func TestANewBadUnitReactsThoughAnotherIsGoodAgain(t *testing.T) {
	plan := borePlan()
	plan.Sampling = quality.SamplingPlan{Method: quality.EveryUnit}
	plan.Reactions = []quality.Reaction{{Actions: []quality.Action{{Kind: quality.OpenNonConformance}}}}
	f := qualityPlant(t, plan)
	p := f.plant
	lot := lotAtInspection(t, f, "4711", "3 ea")
	insp, err := p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10.060", "S1")}, operator)
	require.NoError(t, err)
	require.Len(t, insp.NonConformances, 1)
	insp, err = p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10.000", "S1"), bore("10.070", "S2")}, operator)
	require.NoError(t, err)
	require.Len(t, insp.Evaluation.OutOfSpec, 1)
	require.Equal(t, "S2", insp.Evaluation.OutOfSpec[0].Serial)
	require.Len(t, insp.NonConformances, 1, "S2 is a new nonconforming unit; the plan opens an NC for it")
}

// Acceptance sampling: a dispositioned NC from an earlier round does not let a lot that is
// rejected again in a later round through.
func TestARejectionIsNotCoveredByTheLastRoundsDisposition(t *testing.T) {
	plan := quality.Plan{ID: "BORE", Characteristics: []quality.Characteristic{{Name: "visual", Kind: quality.Attribute}},
		Sampling: quality.SamplingPlan{Method: quality.Acceptance, N: 3, C: 0}}
	f := qualityPlant(t, plan)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, qty("5 ea"), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("5 ea")}, operator)
	require.NoError(t, err)
	// Round 0: inspected while waiting at 20, rejected, dispositioned rework (same lot moves back).
	_, err = p.RecordInspection(ctx, lot.ID, "20", []quality.Result{{Characteristic: "visual", Inspected: 3, Rejected: 1}}, operator)
	require.NoError(t, err)
	nc, err := p.OpenNonConformance(ctx, "PLANT-1", quality.NonConformance{What: "rejected", Lot: lot.ID, Step: "20", Qty: qty("5 ea")}, supervisor)
	require.NoError(t, err)
	_, err = p.DispositionNonConformance(ctx, nc.ID, []quality.DispositionLine{{Kind: quality.Rework, Qty: qty("5 ea"), ToStep: "10"}},
		supervisor, mes.Reason("rework all"), quinnSigns)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "10", routing.Outcome{Good: qty("5 ea")}, operator)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "20", units.Quantity{}, operator)
	require.NoError(t, err)
	// Round 1: rejected again; no new NC.
	_, err = p.RecordInspection(ctx, lot.ID, "20", []quality.Result{{Characteristic: "visual", Inspected: 3, Rejected: 2}}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: qty("5 ea")}, operator)
	require.ErrorIs(t, err, mes.ErrLotRejected, "the new rejection has no disposition")
}

// Skip-lot sampling: a rework lot split off a sampled lot is sampled as its lot was, so it
// is inspected again (it got a fresh lot index and passed uninspected).
func TestAReworkLotIsSampledAsItsLotWas(t *testing.T) {
	plan := borePlan()
	plan.Sampling = quality.SamplingPlan{Method: quality.EveryNthLot, N: 2}
	plan.Reactions = []quality.Reaction{{Actions: []quality.Action{{Kind: quality.ReworkTo, ToStep: "10"}}}}
	f := qualityPlant(t, plan)
	p := f.plant
	lot := lotAtInspection(t, f, "4711", "1 ea") // lot index 0: sampled
	insp, err := p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10.081", "S1")}, operator)
	require.NoError(t, err)
	require.NotEmpty(t, insp.ReworkLot)
	rw := insp.ReworkLot
	_, err = p.TrackIn(ctx, rw, "10", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, rw, "10", routing.Outcome{Good: qty("1 ea")}, operator)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, rw, "20", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, rw, "20", routing.Outcome{Good: qty("1 ea")}, operator)
	require.ErrorIs(t, err, mes.ErrInspectionMissing, "reworked material must be inspected again")
}

// Acceptance sampling: a non-conformance dispositioned before the lot was rejected (a unit
// found bad while the sample still accepted the lot) is no decision on the rejection.
func TestARejectionIsNotCoveredByAnEarlierDispositionOfTheRound(t *testing.T) {
	plan := quality.Plan{ID: "BORE", Characteristics: []quality.Characteristic{{Name: "visual", Kind: quality.Attribute}},
		Sampling: quality.SamplingPlan{Method: quality.Acceptance, N: 3, C: 1}}
	f := qualityPlant(t, plan)
	p := f.plant
	lot := lotAtInspection(t, f, "4711", "10 ea")
	insp, err := p.RecordInspection(ctx, lot.ID, "20", []quality.Result{{Characteristic: "visual", Inspected: 1, Rejected: 1}}, operator)
	require.NoError(t, err)
	require.True(t, insp.Evaluation.LotAccepted, "1 nonconforming unit is within c = 1")
	nc, err := p.OpenNonConformance(ctx, "PLANT-1", quality.NonConformance{What: "scratch", Lot: lot.ID, Step: "20", Qty: qty("1 ea")}, supervisor)
	require.NoError(t, err)
	_, err = p.DispositionNonConformance(ctx, nc.ID, []quality.DispositionLine{{Kind: quality.UseAsIs, Qty: qty("1 ea")}},
		supervisor, mes.Reason("cosmetic"), quinnSigns)
	require.NoError(t, err)

	insp, err = p.RecordInspection(ctx, lot.ID, "20", []quality.Result{{Characteristic: "visual", Inspected: 2, Rejected: 1}}, operator)
	require.NoError(t, err)
	require.False(t, insp.Evaluation.LotAccepted, "2 nonconforming units reject the lot")
	before := qualitySnapshot(t, f)
	_, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: qty("10 ea")}, operator)
	require.ErrorIs(t, err, mes.ErrLotRejected, "the rejection has no disposition")
	assert.Equal(t, before, qualitySnapshot(t, f))
}

// A value no float64 holds (a keying error such as 1e400) is refused as bad data; with a
// control chart of the characteristic it failed as an internal error (+Inf in the chart).
func TestAValueBeyondAnyMeasurementIsRefused(t *testing.T) {
	f := qualityPlant(t, everyUnitPlan())
	p := f.plant
	_, from, to := recordBaseline(t, f)
	_, err := p.ComputeControlLimits(ctx, "PLANT-1", mes.ChartConfig{Characteristic: "bore", Rules: quality.WesternElectricRules}, from, to, admin)
	require.NoError(t, err)
	lot := lotAtInspection(t, f, "4712", "3 ea")
	before := qualitySnapshot(t, f)
	_, err = p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("1e400", "S1")}, operator)
	require.ErrorIs(t, err, mes.ErrInvalid)
	assert.ErrorIs(t, err, quality.ErrInvalidResult)
	assert.Equal(t, before, qualitySnapshot(t, f))
}

// The run rules measure zones in thirds of the distance from the center to the limits, on
// both sides; limits set by hand that are not symmetric are refused, since a point beyond
// the drawn lower limit broke no rule.
func TestHandSetLimitsAreSymmetric(t *testing.T) {
	f := qualityPlant(t, everyUnitPlan())
	p := f.plant
	cfg := mes.ChartConfig{Characteristic: "bore", Rules: quality.Nelson1}
	limits := quality.IMRChart{X: quality.Limits{LCL: 9.99, Center: 10, UCL: 10.03}, MR: quality.Limits{Center: 0.01, UCL: 0.0327}}
	before := qualitySnapshot(t, f)
	_, err := p.SetControlLimits(ctx, "PLANT-1", cfg, limits, admin)
	require.ErrorIs(t, err, mes.ErrInvalid, "9.985 is below the LCL 9.99 but only 1.5 sigma below the center")
	assert.Contains(t, err.Error(), "symmetric")
	assert.Equal(t, before, qualitySnapshot(t, f))

	limits.X.LCL = 9.97
	_, err = p.SetControlLimits(ctx, "PLANT-1", cfg, limits, admin)
	require.NoError(t, err)
	lot := lotAtInspection(t, f, "4712", "3 ea")
	insp, err := p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("9.965", "S1")}, operator)
	require.NoError(t, err)
	require.Len(t, insp.Violations, 1)
}

// Skip-lot sampling counts the lots of a plan at each step: a plan inspecting at two steps
// of a routing samples the first lot at both (the lot's index at its second step was the
// next of a counter shared by both steps, so that step skipped it).
func TestSkipLotSamplingCountsLotsAtEachStep(t *testing.T) {
	plan := borePlan()
	plan.Sampling = quality.SamplingPlan{Method: quality.EveryNthLot, N: 2}
	f := qualityPlant(t, plan)
	p := f.plant
	rt, err := routing.New("PUMP-100", "Q2").
		Step("10", "Machine housing", routing.At("CNC")).
		Step("20", "Inspect bore", routing.At("QC"), routing.Inspect("BORE")).
		Step("30", "Inspect bore again", routing.At("QC"), routing.Inspect("BORE")).
		Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, "PLANT-1", rt, admin)
	require.NoError(t, err)
	lot := lotAtInspection(t, f, "4711", "4 ea")
	_, err = p.RecordInspection(ctx, lot.ID, "20", []quality.Result{bore("10.000", "S1")}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "20", routing.Outcome{Good: qty("4 ea")}, operator)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "30", units.Quantity{}, operator)
	require.NoError(t, err)
	_, err = p.TrackOut(ctx, lot.ID, "30", routing.Outcome{Good: qty("4 ea")}, operator)
	require.ErrorIs(t, err, mes.ErrInspectionMissing, "the first lot at step 30 is sampled")
}
