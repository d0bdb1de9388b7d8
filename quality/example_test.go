package quality_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/units"
)

// An individuals chart from a baseline period, then new points checked against all Nelson
// rules in one pass.
func ExampleIMRChart_Check() {
	baseline := []float64{10.02, 9.98, 10.01, 9.99, 10.03, 9.97, 10.00, 10.02, 9.98, 10.00}
	chart, err := quality.NewIMRChart(baseline)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("I chart: LCL %.4f  CL %.4f  UCL %.4f\n", chart.X.LCL, chart.X.Center, chart.X.UCL)
	fmt.Printf("MR chart: UCL %.4f\n", chart.MR.UCL)

	// MR̄ = 0.30/9 = 0.0333, so UCL = 10 + 2.660·0.0333 and one sigma is 0.0296.
	// The tool wears: the diameter drifts upwards.
	drift := []float64{10.00, 10.01, 10.02, 10.03, 10.04, 10.05, 10.09}
	for _, v := range chart.Check(drift, quality.NelsonRules) {
		fmt.Printf("%s point %d breaks %s\n", v.Chart, v.Index, v.Rule)
	}
	// Output:
	// I chart: LCL 9.9113  CL 10.0000  UCL 10.0887
	// MR chart: UCL 0.1089
	// I point 5 breaks nelson-3
	// I point 6 breaks nelson-1
	// I point 6 breaks nelson-3
	// I point 6 breaks nelson-6
}

// The operating-characteristic curve of the sampling plan n = 50, c = 1.
func ExampleSamplingPlan_OCCurve() {
	plan := quality.SamplingPlan{Method: quality.Acceptance, N: 50, C: 1}
	curve, err := plan.OCCurve(0, []float64{0.005, 0.01, 0.02, 0.05, 0.1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, pt := range curve {
		fmt.Printf("p=%.3f  Pa=%.4f\n", pt.P, pt.ProbAcc)
	}
	// A lot of 200 with 4 defectives (p = 0.02), sampled without replacement:
	pa, _ := plan.ProbAcceptLot(200, 4)
	fmt.Printf("N=200 D=4  Pa=%.4f\n", pa)
	// Output:
	// p=0.005  Pa=0.9739
	// p=0.010  Pa=0.9106
	// p=0.020  Pa=0.7358
	// p=0.050  Pa=0.2794
	// p=0.100  Pa=0.0338
	// N=200 D=4  Pa=0.7394
}

// An inspection plan at step 20: the engine evaluates the recorded results, blocks
// track-out while results are missing, and executes the reaction actions.
func ExampleCompile() {
	plan, err := quality.Compile(quality.Plan{
		ID: "BORE-PLAN",
		Characteristics: []quality.Characteristic{{
			Name: "bore", Kind: quality.Variable, Unit: "mm", Decimals: 3,
			Nominal: decimal.NewNullDecimal(decimal.RequireFromString("10.000")),
			Spec: quality.Spec{
				LSL: decimal.NewNullDecimal(decimal.RequireFromString("9.950")),
				USL: decimal.NewNullDecimal(decimal.RequireFromString("10.050")),
			},
		}},
		Sampling: quality.SamplingPlan{Method: quality.FirstPiece},
		Reactions: []quality.Reaction{
			{Actions: []quality.Action{{Kind: quality.HoldLot}, {Kind: quality.OpenNonConformance}}},
			{When: `char.bore.max > 10.1`, Actions: []quality.Action{{Kind: quality.ReworkTo, ToStep: "10"}}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2025, 3, 4, 8, 0, 0, 0, time.UTC)
	lot := units.MustParse("20 ea")

	_, err = plan.Evaluate(0, lot, nil)
	fmt.Println(errors.Is(err, quality.ErrInspectionMissing), err)

	bore := quality.Result{Characteristic: "bore", Value: decimal.NewNullDecimal(decimal.RequireFromString("10.062")),
		Serial: "S1", Lot: "L-1", Step: "20", Equipment: "CMM-1", By: "op1", At: at}
	ev, err := plan.Evaluate(0, lot, []quality.Result{bore})
	fmt.Println(err)
	for _, f := range ev.OutOfSpec {
		fmt.Println(f.Characteristic, f.Value.Decimal, f.Bound, f.Limit.Decimal)
	}
	fmt.Println("actions:", ev.Actions)
	fmt.Println("accepted", ev.Accepted, "rejected", ev.Rejected)
	// Output:
	// true quality: required inspection missing: plan "BORE-PLAN" still needs bore (0 of 1 recorded); record these results before track-out
	// <nil>
	// bore 10.062 above-usl 10.05
	// actions: [{hold-lot } {open-nc }]
	// accepted 19 ea rejected 1 ea
}

// An out-of-spec lot is held, a non-conformance is dispositioned rework with a signature,
// and the hold is released after the rework passes.
func ExampleNonConformance_ApplyDisposition() {
	at := time.Date(2025, 3, 4, 8, 0, 0, 0, time.UTC)
	hold, _ := quality.NewHold("H-1", quality.Target{Kind: quality.OnLot, ID: "L-1"}, "bore above USL at step 20", "system", at)
	holds := []quality.Hold{hold}
	fmt.Println(quality.CheckHolds(holds, quality.Subject{Lot: "L-1", Equipment: "CNC-2"}))

	nc, err := quality.OpenNC(quality.NonConformance{ID: "NC-1", What: "bore 10.062 mm > USL 10.050 mm",
		Lot: "L-1", Step: "20", Qty: units.MustParse("20 ea")}, "supervisor", at.Add(5*time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	nc, orders, err := nc.ApplyDisposition(quality.Disposition{
		Lines:  []quality.DispositionLine{{Kind: quality.Rework, Qty: units.MustParse("20 ea"), ToStep: "10"}},
		Reason: "re-bore within allowance", By: "supervisor", At: at.Add(10 * time.Minute),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(nc.Status, "signature required:", quality.DispositionSignature)
	for _, o := range orders {
		fmt.Printf("engine: %s %s of lot %s from step %s to step %s\n", o.Kind, o.Qty, o.Lot, o.Step, o.ToStep)
	}

	holds[0], _ = hold.Release("quality-manager", "reworked lot passed inspection", at.Add(2*time.Hour))
	fmt.Println(quality.CheckHolds(holds, quality.Subject{Lot: "L-1"}), "signature required:", quality.ReleaseSignature)
	// Output:
	// quality: on hold: blocked by H-1 on lot L-1 (bore above USL at step 20, placed by system); release the hold(s) first
	// dispositioned signature required: approval
	// engine: rework 20 ea of lot L-1 from step 20 to step 10
	// <nil> signature required: approval
}
