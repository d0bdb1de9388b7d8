package quality

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/taktmes/takt/units"
)

// DefectCount is how many defects of one code a result found.
type DefectCount struct {
	Code  string `json:"code"`
	Count int    `json:"count"`
}

// Result is one recorded inspection result. A Variable result carries Value; an Attribute
// result carries Inspected (units judged, at least 1), Rejected (of those, nonconforming)
// and the Defects found.
//
// Serial identifies the unit (a serial number, or a sample number such as "S3" for
// unserialised lots). Results of one unit share it, so a unit failing two characteristics
// counts once, and a later result (by At) for the same characteristic and unit replaces an
// earlier one (a re-measurement). Results without Serial each count as a unit of their own.
type Result struct {
	Characteristic string              `json:"characteristic"`
	Value          decimal.NullDecimal `json:"value"`
	Inspected      int                 `json:"inspected,omitempty"`
	Rejected       int                 `json:"rejected,omitempty"`
	Defects        []DefectCount       `json:"defects,omitempty"`
	Serial         string              `json:"serial,omitempty"`
	Lot            string              `json:"lot,omitempty"`
	Step           string              `json:"step,omitempty"`
	Equipment      string              `json:"equipment,omitempty"`
	By             string              `json:"by"`
	At             time.Time           `json:"at"`
}

// CheckResult reports every problem with one result against the plan, as a
// *ValidationError matching ErrInvalidResult. The engine calls it when a result is recorded
// so bad data is refused at entry.
func (cp *CompiledPlan) CheckResult(r Result) error {
	var ps problems
	cp.checkResult(&ps, "result", r)
	return ps.err(ErrInvalidResult)
}

func (cp *CompiledPlan) checkResult(ps *problems, path string, r Result) {
	if strings.TrimSpace(r.By) == "" {
		ps.add(path+".by", r.By, "a result needs the person who recorded it")
	}
	if r.At.IsZero() {
		ps.add(path+".at", "", "a result needs the time it was recorded")
	}
	i, ok := cp.byKey[r.Characteristic]
	if !ok {
		ps.add(path+".characteristic", r.Characteristic, "not a characteristic of plan %q", cp.plan.ID)
		return
	}
	c := cp.plan.Characteristics[i]
	switch c.Kind {
	case Variable:
		if !r.Value.Valid {
			ps.add(path+".value", "", "variable characteristic %q needs a measured value", c.Name)
		} else if -r.Value.Decimal.Exponent() > c.Decimals {
			ps.add(path+".value", r.Value.Decimal.String(), "recorded with more than %d decimal(s), the resolution of %q; record what the gauge shows", c.Decimals, c.Name)
		} else if math.IsInf(r.Value.Decimal.InexactFloat64(), 0) {
			ps.add(path+".value", r.Value.Decimal.String(), "beyond any measurement (charts and statistics take values up to about 1.8e308); record what the gauge shows")
		}
		if r.Inspected != 0 || r.Rejected != 0 || len(r.Defects) > 0 {
			ps.add(path, c.Name, "inspected, rejected and defects apply to attribute characteristics; a variable result carries a value")
		}
	case Attribute:
		if r.Value.Valid {
			ps.add(path+".value", r.Value.Decimal.String(), "attribute characteristic %q takes inspected/rejected counts, not a value", c.Name)
		}
		if r.Inspected < 1 {
			ps.add(path+".inspected", fmt.Sprint(r.Inspected), "an attribute result judges at least 1 unit")
		}
		if r.Serial != "" && r.Inspected > 1 {
			ps.add(path+".inspected", fmt.Sprint(r.Inspected), "a result for serial %q judges exactly 1 unit", r.Serial)
		}
		if r.Rejected < 0 || r.Rejected > r.Inspected {
			ps.add(path+".rejected", fmt.Sprint(r.Rejected), "rejected units must be between 0 and inspected (%d)", r.Inspected)
		}
		for j, d := range r.Defects {
			dp := fmt.Sprintf("%s.defects[%d]", path, j)
			if d.Count < 1 {
				ps.add(dp+".count", fmt.Sprint(d.Count), "a defect count must be at least 1")
			}
			if len(c.DefectCodes) > 0 && !slices.Contains(c.DefectCodes, d.Code) {
				ps.add(dp+".code", d.Code, "not a defect code of %q; use one of %s", c.Name, strings.Join(c.DefectCodes, ", "))
			}
		}
	}
}

// Bound says which specification limit a finding violates.
type Bound string

// Bounds of a finding.
const (
	BelowLSL Bound = "below-lsl"
	AboveUSL Bound = "above-usl"
	// Failed is an attribute result with rejected units.
	Failed Bound = "failed"
)

// Finding is one out-of-spec result.
type Finding struct {
	Characteristic string              `json:"characteristic"`
	Serial         string              `json:"serial,omitempty"`
	Bound          Bound               `json:"bound"`
	Value          decimal.NullDecimal `json:"value"`              // variable: the measured value
	Limit          decimal.NullDecimal `json:"limit"`              // variable: the violated limit
	Rejected       int                 `json:"rejected,omitempty"` // attribute: rejected units
	Defects        []DefectCount       `json:"defects,omitempty"`  // attribute: defects found
}

// Missing says how many results one characteristic still needs.
type Missing struct {
	Characteristic string `json:"characteristic"`
	Required       int    `json:"required"`
	Recorded       int    `json:"recorded"`
}

// MissingError names every characteristic whose required results are not all recorded. It
// matches ErrInspectionMissing with errors.Is.
type MissingError struct {
	Plan    string
	Missing []Missing
}

// Error names each missing characteristic with its recorded and required counts.
func (e *MissingError) Error() string {
	parts := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		parts[i] = fmt.Sprintf("%s (%d of %d recorded)", m.Characteristic, m.Recorded, m.Required)
	}
	return fmt.Sprintf("%v: plan %q still needs %s; record these results before track-out",
		ErrInspectionMissing, e.Plan, strings.Join(parts, ", "))
}

// Unwrap returns ErrInspectionMissing.
func (e *MissingError) Unwrap() error { return ErrInspectionMissing }

// Evaluation is the outcome of evaluating a lot's results against a plan.
type Evaluation struct {
	Plan string `json:"plan"`
	// SampleSize is the number of units the sampling plan requires for this lot.
	SampleSize int       `json:"sample_size"`
	Missing    []Missing `json:"missing,omitempty"`
	OutOfSpec  []Finding `json:"out_of_spec,omitempty"`
	// Nonconforming is the number of distinct nonconforming units found.
	Nonconforming int `json:"nonconforming"`
	// LotAccepted is the acceptance-sampling decision (at most C nonconforming units in the
	// sample); it is true for the other sampling methods.
	LotAccepted bool `json:"lot_accepted"`
	// Accepted and Rejected split the lot quantity, in ea: with an accepted lot, the
	// nonconforming units are rejected and the rest accepted; a lot rejected by acceptance
	// sampling is rejected whole.
	Accepted units.Quantity `json:"accepted"`
	Rejected units.Quantity `json:"rejected"`
	// Actions lists what the engine must execute, from the plan's reactions, without
	// duplicates, in plan order.
	Actions []Action `json:"actions,omitempty"`
}

// Evaluate checks the results recorded for the lotIndex-th lot (0-based, see
// SamplingPlan.Required) of lotQty units (a whole number in a count unit such as "ea")
// against the plan. It returns the out-of-spec findings, the accepted/rejected split and
// the reaction actions. When results are missing it returns the evaluation of what is
// recorded together with a *MissingError (ErrInspectionMissing), so the engine can react to
// out-of-spec results at once and still block track-out. Invalid results give a
// *ValidationError (ErrInvalidResult) listing all of them; a rule failing at run time gives
// ErrInvalidRule.
func (cp *CompiledPlan) Evaluate(lotIndex int, lotQty units.Quantity, results []Result) (Evaluation, error) {
	var ps problems
	lotSize := 0
	if lotIndex < 0 {
		ps.add("lotIndex", fmt.Sprint(lotIndex), "the lot index counts lots from 0")
	}
	if ea, err := lotQty.In("ea"); err != nil || !ea.Value().IsInteger() || ea.IsNegative() || !ea.Value().LessThan(decimal.NewFromInt(math.MaxInt32)) {
		ps.add("lotQty", lotQty.String(), "inspection counts units: give the lot quantity as a whole number in a count unit such as ea")
	} else {
		lotSize = int(ea.Value().IntPart())
	}
	for i, r := range results {
		cp.checkResult(&ps, fmt.Sprintf("results[%d]", i), r)
	}
	if err := ps.err(ErrInvalidResult); err != nil {
		return Evaluation{}, err
	}

	ev := Evaluation{Plan: cp.plan.ID, SampleSize: cp.plan.Sampling.SampleSize(lotIndex, lotSize), LotAccepted: true}
	env := RuleEnv{Char: make(map[string]CharSummary, len(cp.plan.Characteristics)), Sampled: ev.SampleSize}
	badSerials := map[string]bool{}
	anonymousBad := 0
	for _, c := range cp.plan.Characteristics {
		sum := CharSummary{InSpec: true}
		var total float64
		values := 0
		for _, r := range latest(c.Name, results) {
			f, bad := check(c, r)
			if r.Value.Valid {
				v := r.Value.Decimal.InexactFloat64()
				if values == 0 || v < sum.Min {
					sum.Min = v
				}
				if values == 0 || v > sum.Max {
					sum.Max = v
				}
				total += v
				values++
			}
			sum.Count += max(r.Inspected, 1)
			sum.Rejected += r.Rejected
			for _, d := range r.Defects {
				if sum.Defects == nil {
					sum.Defects = map[string]int{}
				}
				sum.Defects[d.Code] += d.Count
			}
			if !bad {
				continue
			}
			ev.OutOfSpec = append(ev.OutOfSpec, f)
			sum.OutOfSpec++
			sum.InSpec = false
			switch {
			case r.Serial != "":
				badSerials[r.Serial] = true
			case c.Kind == Attribute:
				anonymousBad += r.Rejected
			default:
				anonymousBad++
			}
		}
		if values > 0 {
			sum.Mean = total / float64(values)
		}
		env.Char[c.Name] = sum
		if sum.Count < ev.SampleSize {
			ev.Missing = append(ev.Missing, Missing{Characteristic: c.Name, Required: ev.SampleSize, Recorded: sum.Count})
		}
	}
	ev.Nonconforming = len(badSerials) + anonymousBad
	if ev.Nonconforming > lotSize {
		return Evaluation{}, fmt.Errorf("%w: %d nonconforming units found in a lot of %s; check the serials and the lot quantity",
			ErrInvalidResult, ev.Nonconforming, lotQty)
	}
	s := cp.plan.Sampling
	ev.LotAccepted = s.Method != Acceptance || ev.Nonconforming <= s.C
	rejected := ev.Nonconforming
	if !ev.LotAccepted {
		rejected = lotSize
	}
	ev.Rejected, _ = units.FromInt(int64(rejected), "ea")
	ev.Accepted, _ = units.FromInt(int64(lotSize-rejected), "ea")

	env.OutOfSpec = len(ev.OutOfSpec)
	env.Rejected = ev.Nonconforming
	env.LotAccepted = ev.LotAccepted
	for i, r := range cp.plan.Reactions {
		fire := ev.Nonconforming > 0 || len(ev.OutOfSpec) > 0
		if prog := cp.rules[i]; prog != nil {
			var err error
			if fire, err = runRule(prog, env); err != nil {
				return ev, fmt.Errorf("reactions[%d]: %w", i, err)
			}
		}
		if fire {
			for _, a := range r.Actions {
				if !slices.Contains(ev.Actions, a) {
					ev.Actions = append(ev.Actions, a)
				}
			}
		}
	}
	if len(ev.Missing) > 0 {
		return ev, &MissingError{Plan: cp.plan.ID, Missing: ev.Missing}
	}
	return ev, nil
}

// latest returns the results of one characteristic, keeping for each serial only the
// latest by At (the later one in the slice on a tie).
func latest(name string, results []Result) []Result {
	var out []Result
	pos := map[string]int{}
	for _, r := range results {
		if r.Characteristic != name {
			continue
		}
		if r.Serial == "" {
			out = append(out, r)
			continue
		}
		if i, seen := pos[r.Serial]; seen {
			if !r.At.Before(out[i].At) {
				out[i] = r
			}
			continue
		}
		pos[r.Serial] = len(out)
		out = append(out, r)
	}
	return out
}

// check returns the finding for a result and whether it is out of spec.
func check(c Characteristic, r Result) (Finding, bool) {
	f := Finding{Characteristic: c.Name, Serial: r.Serial, Value: r.Value}
	switch {
	case c.Kind == Attribute:
		f.Bound, f.Rejected, f.Defects = Failed, r.Rejected, r.Defects
		return f, r.Rejected > 0
	case c.LSL.Valid && r.Value.Decimal.LessThan(c.LSL.Decimal):
		f.Bound, f.Limit = BelowLSL, c.LSL
		return f, true
	case c.USL.Valid && r.Value.Decimal.GreaterThan(c.USL.Decimal):
		f.Bound, f.Limit = AboveUSL, c.USL
		return f, true
	}
	return f, false
}
