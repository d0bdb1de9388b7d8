package mes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// Record kinds of quality.
const (
	// inspectionPlanKind holds every version of a plan ("site/plan@version") and the latest
	// one ("site/plan").
	inspectionPlanKind = "inspection_plan"
	// inspectionKind is one recorded result.
	inspectionKind = "inspection"
	// inspectionLotKind is a lot's inspection at a step ("lot/step"): the plan version it is
	// pinned to, its lot index for sampling and its round.
	inspectionLotKind = "inspection_lot"
	// inspectionCountKind counts the lots an every-nth-lot plan has seen at a step in a site
	// ("site/plan@step").
	inspectionCountKind = "inspection_count"
	chartKind           = "spc_chart"
	nonConformanceKind  = "nonconformance"
)

// spcWindow is how many recent points a chart keeps: the run rules look back at most 15.
const spcWindow = 15

// Quality events.
type (
	// InspectionPlanDefined: a new version of an inspection plan was stored.
	InspectionPlanDefined struct {
		Site    string       `json:"site"`
		Plan    quality.Plan `json:"plan"`
		Version int          `json:"version"`
	}
	// InspectionRecorded: results were recorded for a lot at a step; OutOfSpec lists the
	// findings among them and Actions the plan reactions they triggered.
	InspectionRecorded struct {
		Lot         string            `json:"lot"`
		WorkOrder   string            `json:"work_order"`
		Step        string            `json:"step"`
		Plan        string            `json:"plan"`
		PlanVersion int               `json:"plan_version"`
		Results     []quality.Result  `json:"results"`
		OutOfSpec   []quality.Finding `json:"out_of_spec,omitempty"`
		Actions     []quality.Action  `json:"actions,omitempty"`
	}
	// InspectionEvaluated: a track-out passed the inspection gate of its step; Evaluation
	// holds the accepted/rejected split of the lot.
	InspectionEvaluated struct {
		Lot         string             `json:"lot"`
		WorkOrder   string             `json:"work_order"`
		Step        string             `json:"step"`
		PlanVersion int                `json:"plan_version"`
		Evaluation  quality.Evaluation `json:"evaluation"`
	}
	// ControlLimitsSet: a control chart was configured, by hand or from a baseline.
	ControlLimitsSet struct {
		Chart ControlChart `json:"chart"`
	}
	// SPCViolation: a new point broke run rules of a control chart.
	SPCViolation struct {
		Site           string              `json:"site"`
		Characteristic string              `json:"characteristic"`
		Equipment      string              `json:"equipment"`
		Lot            string              `json:"lot"`
		Step           string              `json:"step"`
		Value          float64             `json:"value"`
		Violations     []quality.Violation `json:"violations"`
	}
	// NonConformanceOpened: a non-conformance was opened.
	NonConformanceOpened struct {
		NonConformance quality.NonConformance `json:"non_conformance"`
	}
	// NonConformanceDispositioned: a non-conformance was dispositioned under the signature
	// of Signer, and its orders were executed.
	NonConformanceDispositioned struct {
		NonConformance quality.NonConformance `json:"non_conformance"`
		Orders         []quality.Order        `json:"orders"`
		Signer         string                 `json:"signer"`
		SignerName     string                 `json:"signer_name"`
	}
	// NonConformanceClosed: a non-conformance was closed.
	NonConformanceClosed struct {
		NonConformance quality.NonConformance `json:"non_conformance"`
	}
)

// EventType implements EventPayload.
func (InspectionPlanDefined) EventType() string { return "inspection_plan.defined" }

// EventType implements EventPayload.
func (InspectionRecorded) EventType() string { return "inspection.recorded" }

// EventType implements EventPayload.
func (InspectionEvaluated) EventType() string { return "inspection.evaluated" }

// EventType implements EventPayload.
func (ControlLimitsSet) EventType() string { return "spc.limits_set" }

// EventType implements EventPayload.
func (SPCViolation) EventType() string { return "spc.violation" }

// EventType implements EventPayload.
func (NonConformanceOpened) EventType() string { return "nc.opened" }

// EventType implements EventPayload.
func (NonConformanceDispositioned) EventType() string { return "nc.dispositioned" }

// EventType implements EventPayload.
func (NonConformanceClosed) EventType() string { return "nc.closed" }

func init() {
	registerEvent(&InspectionPlanDefined{}, &InspectionRecorded{}, &InspectionEvaluated{}, &ControlLimitsSet{}, &SPCViolation{},
		&NonConformanceOpened{}, &NonConformanceDispositioned{}, &NonConformanceClosed{})
}

// qualityErr wraps an error of package quality with the engine's sentinel, keeping both
// testable.
func qualityErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, quality.ErrWrongState):
		return fmt.Errorf("%w: %w", ErrWrongState, err)
	case errors.Is(err, quality.ErrInspectionMissing):
		return fmt.Errorf("%w: %w", ErrInspectionMissing, err)
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}

// ---- inspection plans ----------------------------------------------------------------------

// InspectionPlan is one stored version of an inspection plan of a site.
type InspectionPlan struct {
	Site      string       `json:"site"`
	Version   int          `json:"version"`
	Plan      quality.Plan `json:"plan"`
	DefinedBy string       `json:"defined_by"`
	DefinedAt time.Time    `json:"defined_at"`
}

func planHeadID(site, plan string) string { return site + "/" + plan }

func planVersionID(site, plan string, version int) string {
	return fmt.Sprintf("%s/%s@%d", site, plan, version)
}

// planCache keeps compiled plan versions. A version never changes once stored, so a cached
// plan never goes stale, even with several processes.
type planCache struct {
	mu sync.RWMutex
	m  map[string]*quality.CompiledPlan
}

// get returns the compiled plan version of site.
func (pc *planCache) get(ctx context.Context, tx store.ReadTx, site, plan string, version int) (*quality.CompiledPlan, error) {
	id := planVersionID(site, plan, version)
	pc.mu.RLock()
	cp, ok := pc.m[id]
	pc.mu.RUnlock()
	if ok {
		return cp, nil
	}
	var ip InspectionPlan
	if _, err := load(ctx, tx, inspectionPlanKind, id, &ip); err != nil {
		return nil, fmt.Errorf("inspection plan %s: %w", id, err)
	}
	cp, err := quality.Compile(ip.Plan)
	if err != nil {
		return nil, fmt.Errorf("%w: stored inspection plan %s does not compile: %w", ErrInternal, id, err)
	}
	pc.mu.Lock()
	if pc.m == nil {
		pc.m = map[string]*quality.CompiledPlan{}
	}
	pc.m[id] = cp
	pc.mu.Unlock()
	return cp, nil
}

// DefineInspectionPlan stores plan as the new version of the inspection plan plan.ID in site
// (action "inspection_plan.define"). The plan is compiled first, so every problem, a typo in
// a reaction rule included, is reported at once (ErrInvalid, wrapping a
// *quality.ValidationError). Defining a plan identical to the latest version changes nothing
// and returns that version. Routing steps name the plan with routing.Inspect(plan.ID); a lot
// uses the version that was latest when its inspection at the step began, until the step
// lets it go, so changing a plan never changes the rules for results already recorded.
func (p *Plant) DefineInspectionPlan(ctx context.Context, site string, plan quality.Plan, opts ...CommandOption) (InspectionPlan, error) {
	if _, err := quality.Compile(plan); err != nil {
		return InspectionPlan{}, qualityErr(err)
	}
	if strings.ContainsAny(plan.ID, "/@") {
		return InspectionPlan{}, &ValidationError{What: "inspection plan", Problems: []Problem{{Field: "id", Value: plan.ID, Reason: `must not contain "/" or "@"`}}}
	}
	return execute(ctx, p, "inspection_plan.define", []string{site, plan.ID}, opts, func(c *command) (InspectionPlan, error) {
		if err := c.authorize(site); err != nil {
			return InspectionPlan{}, err
		}
		if err := c.requireSite(site); err != nil {
			return InspectionPlan{}, err
		}
		var head InspectionPlan
		v, err := load(c.ctx, c.tx, inspectionPlanKind, planHeadID(site, plan.ID), &head)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return InspectionPlan{}, err
		}
		if v > 0 && samePlan(head.Plan, plan) {
			c.unchanged = true
			return head, nil
		}
		ip := InspectionPlan{Site: site, Version: head.Version + 1, Plan: plan, DefinedBy: c.opts.actor.ID, DefinedAt: c.now}
		id := planVersionID(site, plan.ID, ip.Version)
		if _, err := save(c, inspectionPlanKind, id, site, 0, &ip, nil, map[string]string{"plan": plan.ID}); err != nil {
			return InspectionPlan{}, err
		}
		if _, err := save(c, inspectionPlanKind, planHeadID(site, plan.ID), site, v, &ip, nil, map[string]string{"latest": plan.ID}); err != nil {
			return InspectionPlan{}, err
		}
		c.record(objectRef(inspectionPlanKind, id), change("version", head.Version, ip.Version))
		return ip, c.emit(id, InspectionPlanDefined{Site: site, Plan: plan, Version: ip.Version})
	})
}

func samePlan(a, b quality.Plan) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// InspectionPlan returns version version of an inspection plan of site (0: the latest).
func (p *Plant) InspectionPlan(ctx context.Context, site, id string, version int) (InspectionPlan, error) {
	rid := planHeadID(site, id)
	if version > 0 {
		rid = planVersionID(site, id, version)
	}
	var ip InspectionPlan
	err := p.view(ctx, func(tx store.ReadTx) error {
		_, err := load(ctx, tx, inspectionPlanKind, rid, &ip)
		if err != nil {
			return fmt.Errorf("inspection plan %s (define it with DefineInspectionPlan): %w", rid, err)
		}
		return nil
	})
	return ip, err
}

// ---- a lot's inspection at a step ---------------------------------------------------------

// lotInspection is a lot's inspection at a step: the plan version it uses, its lot index
// for sampling and its round (a new round starts when rework sends the lot back).
type lotInspection struct {
	Site     string `json:"site"`
	Lot      string `json:"lot"`
	Step     string `json:"step"`
	Plan     string `json:"plan"`
	Version  int    `json:"version"`
	LotIndex int    `json:"lot_index"`
	Round    int    `json:"round"`
	// Earlier are the non-conformances of the lot from earlier rounds, and those opened
	// before the lot was rejected in this one: their dispositions do not cover the rejection.
	Earlier []string `json:"earlier_ncs,omitempty"`

	stored uint64 // store version; 0 while new
}

func (li *lotInspection) id() string { return li.Lot + "/" + li.Step }

func (li *lotInspection) roundKey() string { return fmt.Sprintf("%s/%s#%d", li.Lot, li.Step, li.Round) }

// storedResult is one recorded result with where it belongs.
type storedResult struct {
	quality.Result
	WorkOrder   string `json:"work_order,omitempty"`
	Plan        string `json:"plan"`
	PlanVersion int    `json:"plan_version"`
}

// inspection loads (or begins) the lot's inspection at the step, with its compiled plan
// version and the results of the current round.
func (c *command) inspection(sc *stepContext) (*lotInspection, *quality.CompiledPlan, []quality.Result, error) {
	li := &lotInspection{Site: sc.lot.Site, Lot: sc.lot.ID, Step: sc.step.ID}
	v, err := load(c.ctx, c.tx, inspectionLotKind, li.id(), li)
	switch {
	case errors.Is(err, ErrNotFound):
		if err := c.beginInspection(li, sc.step.InspectionPlan, sc.lot.Parent); err != nil {
			return nil, nil, nil, err
		}
	case err != nil:
		return nil, nil, nil, err
	default:
		li.stored = v
	}
	cp, err := c.p.plans.get(c.ctx, c.tx, li.Site, li.Plan, li.Version)
	if err != nil {
		return nil, nil, nil, err
	}
	recs, err := c.tx.List(c.ctx, store.Query{Kind: inspectionKind, Site: li.Site, Index: "round", Value: li.roundKey()})
	if err != nil {
		return nil, nil, nil, err
	}
	results := make([]quality.Result, len(recs))
	for i, rec := range recs {
		var sr storedResult
		if err := decode(rec, &sr); err != nil {
			return nil, nil, nil, err
		}
		results[i] = sr.Result
	}
	return li, cp, results, nil
}

// pinLatest pins li to the latest version of plan.
func (c *command) pinLatest(li *lotInspection, plan string) (InspectionPlan, error) {
	var head InspectionPlan
	if _, err := load(c.ctx, c.tx, inspectionPlanKind, planHeadID(li.Site, plan), &head); err != nil {
		return head, fmt.Errorf("step %s of lot %s inspects with plan %q (define it with DefineInspectionPlan): %w", li.Step, li.Lot, plan, err)
	}
	li.Plan, li.Version = plan, head.Version
	return head, nil
}

// beginInspection pins the lot's first inspection at a step to the latest version of plan
// and, for skip-lot sampling, gives it the lot index of parent (the lot it was split from)
// at the step, or else the next lot index of the plan at the step in the site.
func (c *command) beginInspection(li *lotInspection, plan, parent string) error {
	head, err := c.pinLatest(li, plan)
	if err != nil || head.Plan.Sampling.Method != quality.EveryNthLot {
		return err
	}
	if parent != "" { // a sublot (a rework lot, say) is sampled as the lot it came from was
		from := lotInspection{Lot: parent, Step: li.Step}
		if _, err := load(c.ctx, c.tx, inspectionLotKind, from.id(), &from); err == nil {
			li.LotIndex = from.LotIndex
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	var count struct {
		Lots int `json:"lots"`
	}
	id := planHeadID(li.Site, plan) + "@" + li.Step
	v, err := load(c.ctx, c.tx, inspectionCountKind, id, &count)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	li.LotIndex = count.Lots
	count.Lots++
	_, err = save(c, inspectionCountKind, id, li.Site, v, &count, nil, nil)
	return err
}

func (c *command) saveInspection(li *lotInspection) error {
	v, err := save(c, inspectionLotKind, li.id(), li.Site, li.stored, li, nil, map[string]string{"lot": li.Lot})
	li.stored = v
	return err
}

// restartInspections starts a new round of every inspection of a lot: rework sent it back,
// so its steps inspect it again, under the latest plan versions. The lot keeps its lot
// index, so a lot sampled before is sampled again.
func (c *command) restartInspections(lot *Lot) error {
	recs, err := c.tx.List(c.ctx, store.Query{Kind: inspectionLotKind, Site: lot.Site, Index: "lot", Value: lot.ID})
	if err != nil {
		return err
	}
	for _, rec := range recs {
		li := &lotInspection{}
		if err := decode(rec, li); err != nil {
			return err
		}
		li.stored = rec.Version
		if _, err := c.pinLatest(li, li.Plan); err != nil {
			return err
		}
		li.Round++
		if li.Earlier, err = c.ncsOfLot(lot); err != nil {
			return err
		}
		if err := c.saveInspection(li); err != nil {
			return err
		}
	}
	return nil
}

// ncsOfLot returns the ids of every non-conformance of lot so far.
func (c *command) ncsOfLot(lot *Lot) ([]string, error) {
	recs, err := c.tx.List(c.ctx, store.Query{Kind: nonConformanceKind, Site: lot.Site, Index: "lot", Value: lot.ID})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(recs))
	for i, rec := range recs {
		ids[i] = rec.ID
	}
	return ids, nil
}

// inspectionSize is the lot quantity an inspection samples, in ea: what of the lot is or
// was at the step in this pass (waiting, in process, good and scrap). A lot counted in a
// unit that is not a count (kg, m) is one unit for sampling.
func inspectionSize(sc *stepContext) units.Quantity {
	b := stepBooks(*sc.lot.Execution, sc.step.ID)
	q := b.Waiting
	for _, x := range []units.Quantity{b.InProcess, b.Good, b.Scrap} {
		q, _ = q.Add(x)
	}
	if ea, err := q.In("ea"); err == nil && ea.Value().IsInteger() {
		return ea
	}
	one, _ := units.FromInt(1, "ea")
	return one
}

// atStep is the lot's quantity waiting and in process at its step.
func atStep(sc *stepContext) units.Quantity {
	b := stepBooks(*sc.lot.Execution, sc.step.ID)
	q, _ := b.Waiting.Add(b.InProcess)
	return q
}

// Inspection is what RecordInspection did.
type Inspection struct {
	Lot, Step, Plan string
	PlanVersion     int
	// Evaluation evaluates every result of the lot at the step so far; Missing lists what
	// track-out still needs.
	Evaluation quality.Evaluation
	// Actions are the plan reactions executed by this recording (none when the new results
	// brought no new finding).
	Actions         []quality.Action
	Holds           []quality.Hold
	NonConformances []quality.NonConformance
	// ReworkLot is the rework lot split off by a rework reaction, if any.
	ReworkLot string
	// ReworkHeld is set when the plan's rework reaction did not move the material because
	// the lot (or its order or material) is held: held material never moves; disposition
	// the non-conformance once the hold is dealt with.
	ReworkHeld bool
	Violations []SPCViolation
}

// RecordInspection records inspection results of a lot at a step whose routing step names
// an inspection plan (action "inspection.record"). Who, when, where (mes.On, defaulting to
// the step's work center), the lot and the step come from the command and overwrite those
// fields of the results; Serial, the value or the counts come from the caller. Every result
// is checked against the plan first: bad data is refused with every problem listed
// (ErrInvalid, also matching quality.ErrInvalidResult) and nothing changes. The lot may be
// held: inspecting held material is how it is cleared.
//
// In the same transaction, when the new results bring new findings, the plan's reactions
// run: hold-lot places a hold on the lot (unless it is already held), open-nc opens a
// non-conformance for the newly rejected units (the lot's quantity at the step when a rule
// fired without rejected units), rework sends that quantity back to the reaction's step
// (see DispositionNonConformance for how). Each variable result is also a point of the
// control charts of its characteristic (SetControlLimits): a rule violation emits
// SPCViolation and, as the chart is configured, holds the lot or the equipment.
func (p *Plant) RecordInspection(ctx context.Context, lotID, step string, results []quality.Result, opts ...CommandOption) (Inspection, error) {
	return execute(ctx, p, "inspection.record", []string{lotID, step}, opts, func(c *command) (Inspection, error) {
		sc, err := c.loadStep(lotID, step, ignoreHolds)
		if err != nil {
			return Inspection{}, err
		}
		where := fmt.Sprintf("%s at step %s", sc.lot.ref(), step)
		if sc.step.InspectionPlan == "" {
			return Inspection{}, fmt.Errorf("%w: %s: the step names no inspection plan; record results at a step with routing.Inspect(plan)", ErrInvalid, where)
		}
		if len(results) == 0 {
			return Inspection{}, fmt.Errorf("%w: %s: no results given", ErrInvalid, where)
		}
		if err := c.checkEquipment(sc); err != nil {
			return Inspection{}, err
		}
		if !atStep(sc).IsPositive() {
			return Inspection{}, fmt.Errorf("%w: %s: nothing of the lot is waiting or in process there; inspect material at the step it is at", ErrWrongState, where)
		}
		li, cp, prior, err := c.inspection(sc)
		if err != nil {
			return Inspection{}, err
		}
		fresh := make([]quality.Result, len(results))
		var bad []error
		for i, r := range results {
			r.Lot, r.Step, r.Equipment, r.By, r.At = sc.lot.ID, step, c.opts.where, c.opts.actor.ID, c.now
			r.Defects = slices.Clone(r.Defects)
			if err := cp.CheckResult(r); err != nil {
				bad = append(bad, fmt.Errorf("results[%d]: %w", i, err))
			}
			fresh[i] = r
		}
		if len(bad) > 0 {
			return Inspection{}, fmt.Errorf("%w: %s (plan %s version %d): %w", ErrInvalid, where, li.Plan, li.Version, errors.Join(bad...))
		}
		size := inspectionSize(sc)
		before, err := evaluate(cp, li, size, prior)
		if err != nil {
			return Inspection{}, err
		}
		after, err := evaluate(cp, li, size, append(slices.Clone(prior), fresh...))
		if err != nil {
			return Inspection{}, fmt.Errorf("%s: %w", where, err)
		}
		if before.LotAccepted && !after.LotAccepted { // only what is decided from now on covers the rejection
			if li.Earlier, err = c.ncsOfLot(sc.lot); err != nil {
				return Inspection{}, err
			}
		}
		if err := c.saveInspection(li); err != nil {
			return Inspection{}, err
		}
		for _, r := range fresh {
			sr := storedResult{Result: r, WorkOrder: sc.wo.ID, Plan: li.Plan, PlanVersion: li.Version}
			ix := map[string]string{"round": li.roundKey(), "char": sc.lot.Site + "/" + r.Characteristic}
			if _, err := save(c, inspectionKind, c.p.newID(), sc.lot.Site, 0, &sr, nil, ix); err != nil {
				return Inspection{}, err
			}
		}
		out := Inspection{Lot: sc.lot.ID, Step: step, Plan: li.Plan, PlanVersion: li.Version, Evaluation: after}
		if newFindings(before, after) {
			out.Actions = after.Actions
		}
		c.record(objectRef(inspectionLotKind, li.id()), change("results", len(prior), len(prior)+len(fresh)),
			change("out of spec", len(before.OutOfSpec), len(after.OutOfSpec)))
		if err := c.emit(sc.lot.ID, InspectionRecorded{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Step: step, Plan: li.Plan, PlanVersion: li.Version,
			Results: fresh, OutOfSpec: newOutOfSpec(before, after), Actions: out.Actions}); err != nil {
			return Inspection{}, err
		}
		if err := c.react(sc, before, after, &out); err != nil {
			return Inspection{}, err
		}
		if err := c.checkSPC(sc, fresh, &out); err != nil {
			return Inspection{}, err
		}
		if !slices.ContainsFunc(out.Actions, func(a quality.Action) bool { return a.Kind == quality.ReworkTo }) {
			return out, nil
		}
		return out, c.saveLot(sc.lot)
	})
}

// evaluate evaluates results; missing results are not an error here.
func evaluate(cp *quality.CompiledPlan, li *lotInspection, size units.Quantity, results []quality.Result) (quality.Evaluation, error) {
	ev, err := cp.Evaluate(li.LotIndex, size, results)
	if err != nil && !errors.Is(err, quality.ErrInspectionMissing) {
		return ev, fmt.Errorf("%w: plan %s version %d: %w", ErrInvalid, li.Plan, li.Version, err)
	}
	return ev, nil
}

// newFindings reports whether after found something before did not.
func newFindings(before, after quality.Evaluation) bool {
	return len(newOutOfSpec(before, after)) > 0 || after.Nonconforming > before.Nonconforming ||
		len(after.Actions) > len(before.Actions) || (before.LotAccepted && !after.LotAccepted)
}

// newOutOfSpec returns the findings of after that before did not have.
func newOutOfSpec(before, after quality.Evaluation) []quality.Finding {
	var out []quality.Finding
	for _, f := range after.OutOfSpec {
		if !slices.ContainsFunc(before.OutOfSpec, func(g quality.Finding) bool { return sameFinding(f, g) }) {
			out = append(out, f)
		}
	}
	return out
}

func sameFinding(a, b quality.Finding) bool {
	return a.Characteristic == b.Characteristic && a.Serial == b.Serial && a.Bound == b.Bound &&
		a.Value.Valid == b.Value.Valid && a.Value.Decimal.Equal(b.Value.Decimal) && a.Rejected == b.Rejected
}

// describeFindings says what the findings are, for a hold reason or a non-conformance.
func describeFindings(plan string, fs []quality.Finding) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		switch f.Bound {
		case quality.Failed:
			parts[i] = fmt.Sprintf("%s failed (%d rejected)", f.Characteristic, f.Rejected)
		case quality.BelowLSL:
			parts[i] = fmt.Sprintf("%s %s below LSL %s", f.Characteristic, f.Value.Decimal, f.Limit.Decimal)
		default:
			parts[i] = fmt.Sprintf("%s %s above USL %s", f.Characteristic, f.Value.Decimal, f.Limit.Decimal)
		}
		if f.Serial != "" {
			parts[i] += " (" + f.Serial + ")"
		}
	}
	if len(parts) == 0 {
		return findingsSource(plan) + "a reaction rule fired"
	}
	return findingsSource(plan) + strings.Join(parts, "; ")
}

// findingsSource is how the description of a plan's findings starts.
func findingsSource(plan string) string { return "inspection plan " + plan + ": " }

// react executes the plan reactions when the new results brought new findings.
func (c *command) react(sc *stepContext, before, after quality.Evaluation, out *Inspection) error {
	if len(out.Actions) == 0 {
		return nil
	}
	what := describeFindings(out.Plan, newOutOfSpec(before, after))
	qty := reactionQty(sc, before, after)
	for _, a := range out.Actions {
		switch a.Kind {
		case quality.HoldLot:
			h, placed, err := c.holdOnce(sc.lot.Site, quality.Target{Kind: quality.OnLot, ID: sc.lot.ID}, findingsSource(out.Plan), what)
			if err != nil {
				return err
			}
			if placed {
				out.Holds = append(out.Holds, h)
			}
		case quality.OpenNonConformance:
			var defects []quality.DefectCount
			for _, f := range newOutOfSpec(before, after) {
				defects = append(defects, f.Defects...)
			}
			nc, err := c.openNonConformance(sc.lot.Site, quality.NonConformance{ID: c.p.newID(), What: what, Lot: sc.lot.ID, Step: sc.step.ID,
				Equipment: c.opts.where, Qty: qty, DefectCodes: defects})
			if err != nil {
				return err
			}
			out.NonConformances = append(out.NonConformances, nc)
		case quality.ReworkTo:
			if err := c.checkLotHolds(sc.lot); errors.Is(err, ErrOnHold) {
				out.ReworkHeld = true
				continue
			} else if err != nil {
				return err
			}
			lot, err := c.rework(sc, qty, a.ToStep, what)
			if err != nil {
				return err
			}
			out.ReworkLot = lot
		}
	}
	return nil
}

// reactionQty is the quantity a reaction concerns: the units newly rejected, in the lot's
// unit, or the lot's quantity at the step when there are none (or they cannot be counted).
func reactionQty(sc *stepContext, before, after quality.Evaluation) units.Quantity {
	whole := atStep(sc)
	rejected, err := after.Rejected.Sub(before.Rejected)
	if err != nil || !rejected.IsPositive() {
		return whole
	}
	q, err := rejected.In(whole.Unit())
	if err != nil {
		return whole
	}
	if more, err := q.Cmp(whole); err != nil || more > 0 {
		return whole
	}
	return q
}

// holdOnce places a hold on target for reason unless an active hold on it from the same
// source (a reason that starts with source: the same plan, or chart) is still in place. A
// repeated finding adds no second hold; a hold placed for anything else does not stand in
// for this one, since releasing it must not release what this finding holds.
func (c *command) holdOnce(site string, target quality.Target, source, reason string) (quality.Hold, bool, error) {
	holds, err := holdsOn(c.ctx, c.tx, site, string(target.Kind)+"/"+target.ID)
	if err != nil {
		return quality.Hold{}, false, err
	}
	if slices.ContainsFunc(holds, func(h quality.Hold) bool { return h.Target == target && strings.HasPrefix(h.Reason, source) }) {
		return quality.Hold{}, false, nil
	}
	h, err := quality.NewHold(c.p.newID(), target, reason, c.opts.actor.ID, c.now)
	if err != nil {
		return quality.Hold{}, false, fmt.Errorf("%w: %w", ErrInternal, err)
	}
	return h, true, c.addHold(site, h)
}

// Inspections returns the results recorded for a lot at a step in the current round (a
// rework that sends the lot back starts a new round), in the order recorded.
func (p *Plant) Inspections(ctx context.Context, lotID, step string) ([]quality.Result, error) {
	var out []quality.Result
	err := p.view(ctx, func(tx store.ReadTx) error {
		var li lotInspection
		if _, err := load(ctx, tx, inspectionLotKind, lotID+"/"+step, &li); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}
		recs, err := tx.List(ctx, store.Query{Kind: inspectionKind, Site: li.Site, Index: "round", Value: li.roundKey()})
		if err != nil {
			return err
		}
		for _, rec := range recs {
			var sr storedResult
			if err := decode(rec, &sr); err != nil {
				return err
			}
			out = append(out, sr.Result)
		}
		return nil
	})
	return out, err
}

// checkTrackOut is the inspection gate of a track-out at a step with an inspection plan:
// every required result must be recorded (ErrInspectionMissing, wrapping a
// *quality.MissingError naming each characteristic), and a lot rejected by acceptance
// sampling needs a dispositioned non-conformance at the step (ErrLotRejected). The recorded
// results fill the outcome's Results (mean of the measured values) and InSpec verdicts
// that the caller left out, so branch conditions see what was measured. An
// InspectionEvaluated event records the accepted/rejected split.
func (c *command) checkTrackOut(sc *stepContext, out *routing.Outcome) error {
	if sc.step.InspectionPlan == "" {
		return nil
	}
	li, cp, results, err := c.inspection(sc)
	if err != nil {
		return err
	}
	where := fmt.Sprintf("track-out of %s at step %s", sc.lot.ref(), sc.step.ID)
	ev, err := cp.Evaluate(li.LotIndex, inspectionSize(sc), results)
	if err != nil {
		return fmt.Errorf("%s refused: %w", where, qualityErr(err))
	}
	if !ev.LotAccepted {
		ok, err := c.dispositioned(sc, li)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s refused: plan %s rejected the lot (%d nonconforming in the sample of %d); open a non-conformance for the lot at the step and disposition it",
				ErrLotRejected, where, li.Plan, ev.Nonconforming, ev.SampleSize)
		}
	}
	fillOutcome(cp, results, ev, out)
	if li.stored == 0 {
		if err := c.saveInspection(li); err != nil {
			return err
		}
	}
	return c.emit(sc.lot.ID, InspectionEvaluated{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Step: sc.step.ID, PlanVersion: li.Version, Evaluation: ev})
}

// fillOutcome adds, for each characteristic the caller did not report, the mean measured
// value and the in-spec verdict (on copies of the caller's maps).
func fillOutcome(cp *quality.CompiledPlan, results []quality.Result, ev quality.Evaluation, out *routing.Outcome) {
	out.InSpec, out.Results = maps.Clone(out.InSpec), maps.Clone(out.Results)
	for _, ch := range cp.Plan().Characteristics {
		if _, given := out.InSpec[ch.Name]; !given {
			if out.InSpec == nil {
				out.InSpec = map[string]bool{}
			}
			out.InSpec[ch.Name] = !slices.ContainsFunc(ev.OutOfSpec, func(f quality.Finding) bool { return f.Characteristic == ch.Name })
		}
		if _, given := out.Results[ch.Name]; given || ch.Kind != quality.Variable {
			continue
		}
		sum, n := 0.0, 0
		for _, r := range results {
			if r.Characteristic == ch.Name && r.Value.Valid {
				sum += r.Value.Decimal.InexactFloat64()
				n++
			}
		}
		if n > 0 {
			if out.Results == nil {
				out.Results = map[string]float64{}
			}
			out.Results[ch.Name] = sum / float64(n)
		}
	}
}

// dispositioned reports whether a non-conformance of the lot at the step, opened after the
// lot was rejected in the current round of inspection li, is dispositioned.
func (c *command) dispositioned(sc *stepContext, li *lotInspection) (bool, error) {
	recs, err := c.tx.List(c.ctx, store.Query{Kind: nonConformanceKind, Site: sc.lot.Site, Index: "lot", Value: sc.lot.ID})
	if err != nil {
		return false, err
	}
	for _, rec := range recs {
		var nc quality.NonConformance
		if err := decode(rec, &nc); err != nil {
			return false, err
		}
		if nc.Step == sc.step.ID && nc.Status != quality.NCOpen && !slices.Contains(li.Earlier, nc.ID) {
			return true, nil
		}
	}
	return false, nil
}

// ---- rework and scrap at a step --------------------------------------------------------------

// rework sends qty of a lot at its step back to step to. Quantity waiting at the step moves
// back on the same lot (routing MoveBack) when to leads to the step, and the lot's
// inspections start a new round; otherwise the quantity is tracked out as rework (waiting
// quantity tracked in first), which splits it off into a rework lot starting at to. It returns the rework lot's id, or "" when the lot moved back.
func (c *command) rework(sc *stepContext, qty units.Quantity, to, reason string) (string, error) {
	step := sc.step.ID
	b := stepBooks(*sc.lot.Execution, step)
	if fits, err := qty.Cmp(b.Waiting); err == nil && fits <= 0 {
		if exec, fx, err := sc.rt.MoveBack(*sc.lot.Execution, step, to, qty, c.now); err == nil {
			return "", c.movedBack(sc, exec, fx, b, qty, to, reason)
		}
	}
	children := sc.lot.Children
	if err := c.bookAtStep(sc, routing.Outcome{Rework: routing.ReworkLine{Qty: qty, To: to, Reason: reason}}, qty); err != nil {
		return "", err
	}
	if sc.lot.Children == children {
		return "", fmt.Errorf("%w: rework of %s at step %s split off no lot", ErrInternal, sc.lot.ref(), step)
	}
	return fmt.Sprintf("%s-R%d", sc.lot.ID, sc.lot.Children), nil
}

// movedBack applies a move back of qty from the lot's step to step to, and restarts the
// lot's inspections.
func (c *command) movedBack(sc *stepContext, exec routing.Execution, fx []routing.Effect, b routing.Books, qty units.Quantity, to, reason string) error {
	step := sc.step.ID
	sc.lot.Execution = &exec
	c.record(objectRef(lotKind, sc.lot.ID), stepChange(step, "moved back", b.MovedBack, stepBooks(exec, step).MovedBack))
	if err := c.emit(sc.lot.ID, LotStepMoved{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Step: step, Move: "move-back", Reason: reason, To: to, Qty: qty}); err != nil {
		return err
	}
	if err := c.effects(sc, fx); err != nil {
		return err
	}
	return c.restartInspections(sc.lot)
}

// bookAtStep tracks out qty of a lot at its step as the scrap or rework of out, tracking
// in waiting quantity first where less than qty is in process.
func (c *command) bookAtStep(sc *stepContext, out routing.Outcome, qty units.Quantity) error {
	step := sc.step.ID
	b := stepBooks(*sc.lot.Execution, step)
	if short, err := qty.Sub(b.InProcess); err != nil {
		return fmt.Errorf("%w: %s for %s: %w", ErrInvalid, qty, sc.lot.ref(), err)
	} else if short.IsPositive() {
		exec, fx, err := sc.rt.TrackIn(*sc.lot.Execution, step, short, c.now)
		if err != nil {
			return fmt.Errorf("%s of %s at step %s (only %s is in process and %s waiting): %w", qty, sc.lot.ref(), step, b.InProcess, b.Waiting, routingErr(err))
		}
		sc.lot.Execution = &exec
		if err := emitHot(c, sc.lot.ID, LotTrackedIn{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Step: step, Equipment: c.opts.where, Qty: short}); err != nil {
			return err
		}
		if err := c.effects(sc, fx); err != nil {
			return err
		}
	}
	before := *sc.lot.Execution
	exec, fx, err := sc.rt.TrackOut(before, step, out, c.now)
	if err != nil {
		return routingErr(err)
	}
	sc.lot.Execution = &exec
	for _, s := range out.Scrap {
		if err := c.scrapFromLot(sc, step, s); err != nil {
			return err
		}
	}
	b0, b1 := stepBooks(before, step), stepBooks(exec, step)
	c.record(objectRef(lotKind, sc.lot.ID), stepChange(step, "scrap", b0.Scrap, b1.Scrap), stepChange(step, "rework", b0.Rework, b1.Rework))
	if err := emitHot(c, sc.lot.ID, LotTrackedOut{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Step: step, Equipment: c.opts.where, Good: out.Good, Scrap: out.Scrap, Rework: out.Rework}); err != nil {
		return err
	}
	if err := c.effects(sc, fx); err != nil {
		return err
	}
	if err := c.unloadEquipment(sc, step, b1.InProcess.IsPositive()); err != nil {
		return err
	}
	return c.afterTrackOut(sc, b1)
}

// ---- statistical process control --------------------------------------------------------------

// ChartConfig says which results a control chart plots and what a rule violation does.
type ChartConfig struct {
	// Characteristic is the characteristic name (in any plan of the site).
	Characteristic string `json:"characteristic"`
	// Equipment limits the chart to results recorded on that equipment; empty plots all.
	Equipment string `json:"equipment,omitempty"`
	// Rules selects the run rules every new point is checked against.
	Rules quality.Rule `json:"rules"`
	// HoldLot and HoldEquipment place a hold on the inspected lot, or on the equipment the
	// result was recorded on, when a new point breaks a rule.
	HoldLot       bool `json:"hold_lot,omitempty"`
	HoldEquipment bool `json:"hold_equipment,omitempty"`
}

// ControlChart is an individuals and moving-range chart of a characteristic in a site.
type ControlChart struct {
	ChartConfig
	Site   string           `json:"site"`
	Limits quality.IMRChart `json:"limits"`
	// BaselineFrom, BaselineTo and BaselinePoints describe the period the limits were
	// computed from (ComputeControlLimits); zero when the limits were set by hand.
	BaselineFrom   time.Time `json:"baseline_from,omitzero"`
	BaselineTo     time.Time `json:"baseline_to,omitzero"`
	BaselinePoints int       `json:"baseline_points,omitempty"`
	// Recent holds the newest points since the limits were set (at most 15, the longest
	// look-back of any run rule), oldest first.
	Recent []float64 `json:"recent,omitempty"`
}

func (ch *ControlChart) detach() { ch.Recent = slices.Clone(ch.Recent) }

func chartID(site, characteristic, equipment string) string {
	return site + "/" + characteristic + "@" + equipment
}

// SetControlLimits configures the control chart of cfg in site with limits set by hand
// (action "spc.set_limits"). Every variable result of the characteristic recorded from then
// on (on cfg.Equipment, when set) is a point checked against cfg.Rules over the recent
// points. The individuals limits must be symmetric about the center, as I-MR limits are.
// Setting limits again starts the rules afresh.
func (p *Plant) SetControlLimits(ctx context.Context, site string, cfg ChartConfig, limits quality.IMRChart, opts ...CommandOption) (ControlChart, error) {
	return execute(ctx, p, "spc.set_limits", []string{site, cfg.Characteristic, cfg.Equipment}, opts, func(c *command) (ControlChart, error) {
		return c.setChart(site, ControlChart{ChartConfig: cfg, Site: site, Limits: limits})
	})
}

// ComputeControlLimits configures the control chart of cfg in site with limits computed
// from a baseline: the variable results of the characteristic (on cfg.Equipment, when set)
// recorded in [from, to), in time order, with the standard I-MR constants (action
// "spc.set_limits"). Too few or constant values are refused (ErrInvalid, also matching
// quality.ErrInsufficientData).
func (p *Plant) ComputeControlLimits(ctx context.Context, site string, cfg ChartConfig, from, to time.Time, opts ...CommandOption) (ControlChart, error) {
	return execute(ctx, p, "spc.set_limits", []string{site, cfg.Characteristic, cfg.Equipment}, opts, func(c *command) (ControlChart, error) {
		values, _, err := series(c.ctx, c.tx, site, cfg.Characteristic, cfg.Equipment, from, to)
		if err != nil {
			return ControlChart{}, err
		}
		limits, err := quality.NewIMRChart(values)
		if err != nil {
			return ControlChart{}, fmt.Errorf("%w: baseline of %s in site %s from %s to %s: %w", ErrInvalid, cfg.Characteristic, site,
				from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), err)
		}
		return c.setChart(site, ControlChart{ChartConfig: cfg, Site: site, Limits: limits, BaselineFrom: from.UTC(), BaselineTo: to.UTC(), BaselinePoints: len(values)})
	})
}

func (c *command) setChart(site string, ch ControlChart) (ControlChart, error) {
	if err := c.authorize(site); err != nil {
		return ControlChart{}, err
	}
	ps := problems{what: "control chart"}
	if strings.TrimSpace(ch.Characteristic) == "" {
		ps.add("characteristic", ch.Characteristic, "name the characteristic the chart plots")
	}
	if ch.Rules == 0 || ch.Rules&^(quality.NelsonRules|quality.WesternElectricRules) != 0 {
		ps.add("rules", ch.Rules.String(), "select run rules, for example quality.WesternElectricRules or quality.Nelson1|quality.Nelson2")
	}
	x, mr := ch.Limits.X, ch.Limits.MR
	if !finiteAll(x.LCL, x.Center, x.UCL, mr.Center, mr.UCL) || !(x.LCL < x.Center && x.Center < x.UCL) || !(mr.UCL > 0) {
		ps.add("limits", fmt.Sprintf("%+v", ch.Limits), "need LCL < center < UCL for the individuals and a positive moving-range UCL")
	} else if up, down := x.UCL-x.Center, x.Center-x.LCL; math.Abs(up-down) > 1e-9*up {
		ps.add("limits", fmt.Sprintf("%+v", ch.Limits), "the individuals limits must be symmetric about the center (center ± 3 sigma): the run rules measure both sides in thirds of the distance to the UCL")
	}
	if ch.Equipment != "" {
		var se storedEquipment
		if _, err := load(c.ctx, c.tx, equipmentKind, ch.Equipment, &se); err != nil || se.Site != site {
			ps.add("equipment", ch.Equipment, "is not equipment of site "+site+"; define it with DefineEquipment")
		}
	}
	if err := ps.err(); err != nil {
		return ControlChart{}, err
	}
	id := chartID(site, ch.Characteristic, ch.Equipment)
	var old ControlChart
	v, err := load(c.ctx, c.tx, chartKind, id, &old)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return ControlChart{}, err
	}
	if _, err := save(c, chartKind, id, site, v, &ch, nil, nil); err != nil {
		return ControlChart{}, err
	}
	c.record(objectRef(chartKind, id), change("limits", old.Limits.X, ch.Limits.X), change("rules", old.Rules, ch.Rules))
	return ch, c.emit(id, ControlLimitsSet{Chart: ch})
}

func finiteAll(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// ControlChart returns the control chart of a characteristic (on equipment, or "" for the
// chart of all equipment) in site.
func (p *Plant) ControlChart(ctx context.Context, site, characteristic, equipment string) (ControlChart, error) {
	var ch ControlChart
	err := p.view(ctx, func(tx store.ReadTx) error {
		_, err := load(ctx, tx, chartKind, chartID(site, characteristic, equipment), &ch)
		return err
	})
	return ch, err
}

// checkSPC adds each variable result to the charts of its characteristic (the chart of its
// equipment and the chart of all equipment) and reacts to rule violations at the new point.
func (c *command) checkSPC(sc *stepContext, results []quality.Result, out *Inspection) error {
	site := sc.lot.Site
	for _, r := range results {
		if !r.Value.Valid {
			continue
		}
		ids := []string{chartID(site, r.Characteristic, "")}
		if r.Equipment != "" {
			ids = append(ids, chartID(site, r.Characteristic, r.Equipment))
		}
		for _, id := range ids {
			var ch ControlChart
			v, err := load(c.ctx, c.tx, chartKind, id, &ch)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			value := r.Value.Decimal.InexactFloat64()
			ch.Recent = append(ch.Recent, value)
			if n := len(ch.Recent); n > spcWindow {
				ch.Recent = ch.Recent[n-spcWindow:]
			}
			if _, err := save(c, chartKind, id, site, v, &ch, nil, nil); err != nil {
				return err
			}
			var hits []quality.Violation
			for _, vi := range ch.Limits.Check(ch.Recent, ch.Rules) {
				if vi.Index == len(ch.Recent)-1 {
					hits = append(hits, vi)
				}
			}
			if len(hits) == 0 {
				continue
			}
			ev := SPCViolation{Site: site, Characteristic: r.Characteristic, Equipment: ch.Equipment, Lot: sc.lot.ID, Step: sc.step.ID, Value: value, Violations: hits}
			out.Violations = append(out.Violations, ev)
			c.record(objectRef(chartKind, id), change("violation", "", fmt.Sprintf("%g breaks %v", value, hits)))
			if err := c.emit(id, ev); err != nil {
				return err
			}
			source := "SPC: " + r.Characteristic + " = "
			reason := fmt.Sprintf("%s%g breaks %s", source, value, hits[0].Rule)
			var targets []quality.Target
			if ch.HoldLot {
				targets = append(targets, quality.Target{Kind: quality.OnLot, ID: sc.lot.ID})
			}
			if ch.HoldEquipment && r.Equipment != "" {
				targets = append(targets, quality.Target{Kind: quality.OnEquipment, ID: r.Equipment})
			}
			for _, t := range targets {
				h, placed, err := c.holdOnce(site, t, source, reason)
				if err != nil {
					return err
				}
				if placed {
					out.Holds = append(out.Holds, h)
				}
			}
		}
	}
	return nil
}

// series returns the variable values of a characteristic in site (on equipment, when not
// empty) recorded in [from, to), in time order, and the plan version of the newest.
func series(ctx context.Context, tx store.ReadTx, site, characteristic, equipment string, from, to time.Time) ([]float64, storedResult, error) {
	recs, err := tx.List(ctx, store.Query{Kind: inspectionKind, Site: site, Index: "char", Value: site + "/" + characteristic})
	if err != nil {
		return nil, storedResult{}, err
	}
	var rs []storedResult
	for _, rec := range recs {
		var sr storedResult
		if err := decode(rec, &sr); err != nil {
			return nil, storedResult{}, err
		}
		if sr.Value.Valid && (equipment == "" || sr.Equipment == equipment) && !sr.At.Before(from) && sr.At.Before(to) {
			rs = append(rs, sr)
		}
	}
	slices.SortStableFunc(rs, func(a, b storedResult) int { return a.At.Compare(b.At) })
	values := make([]float64, len(rs))
	for i, r := range rs {
		values[i] = r.Value.Decimal.InexactFloat64()
	}
	if len(rs) == 0 {
		return nil, storedResult{}, nil
	}
	return values, rs[len(rs)-1], nil
}

// Capability studies the variable results of a characteristic in site (on equipment, when
// not empty) recorded in [from, to): Cp and Cpk from the within sigma (MR̄/d2), Pp and Ppk
// from the overall sigma, against the specification of the plan version of the newest
// result.
func (p *Plant) Capability(ctx context.Context, site, characteristic, equipment string, from, to time.Time) (quality.Capability, error) {
	var capa quality.Capability
	err := p.view(ctx, func(tx store.ReadTx) error {
		values, newest, err := series(ctx, tx, site, characteristic, equipment, from, to)
		if err != nil {
			return err
		}
		if len(values) == 0 {
			return fmt.Errorf("%w: no results of %s in site %s between %s and %s; %w", ErrInvalid, characteristic, site,
				from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), quality.ErrInsufficientData)
		}
		var ip InspectionPlan
		if _, err := load(ctx, tx, inspectionPlanKind, planVersionID(site, newest.Plan, newest.PlanVersion), &ip); err != nil {
			return err
		}
		var spec quality.Spec
		for _, ch := range ip.Plan.Characteristics {
			if ch.Name == characteristic {
				spec = ch.Spec
			}
		}
		capa, err = quality.IndividualsCapability(values, spec)
		if err != nil {
			return fmt.Errorf("%w: capability of %s in site %s: %w", ErrInvalid, characteristic, site, err)
		}
		return nil
	})
	return capa, err
}

// ---- non-conformances ---------------------------------------------------------------------------

// OpenNonConformance opens a non-conformance in site (action "nc.open"): what is wrong,
// where (a lot, with the step it is at; a serial; or equipment), how much and the defect
// codes. An empty ID is assigned. Every problem is reported (ErrInvalid). The quantity of a
// lot's non-conformance must not exceed what the lot has on hand.
func (p *Plant) OpenNonConformance(ctx context.Context, site string, nc quality.NonConformance, opts ...CommandOption) (quality.NonConformance, error) {
	return execute(ctx, p, "nc.open", []string{site, nc.ID, nc.Lot}, opts, func(c *command) (quality.NonConformance, error) {
		if err := c.authorize(site); err != nil {
			return quality.NonConformance{}, err
		}
		if nc.ID == "" {
			nc.ID = c.p.newID()
		}
		return c.openNonConformance(site, nc)
	})
}

func (c *command) openNonConformance(site string, nc quality.NonConformance) (quality.NonConformance, error) {
	if _, err := c.tx.Get(c.ctx, nonConformanceKind, nc.ID); err == nil {
		return quality.NonConformance{}, fmt.Errorf("%w: non-conformance %q already exists; choose a new id", ErrDuplicate, nc.ID)
	}
	opened, err := quality.OpenNC(nc, c.opts.actor.ID, c.now)
	if err != nil {
		return quality.NonConformance{}, qualityErr(err)
	}
	if nc.Lot != "" {
		lot, err := c.loadLot(nc.Lot)
		if err != nil {
			return quality.NonConformance{}, err
		}
		if lot.Site != site {
			return quality.NonConformance{}, fmt.Errorf("%w: %s belongs to site %q, not %q", ErrNotFound, lot.ref(), lot.Site, site)
		}
		if more, err := nc.Qty.Cmp(lot.OnHand); err != nil || more > 0 {
			return quality.NonConformance{}, fmt.Errorf("%w: non-conforming quantity %s of %s, which has %s on hand; give at most that, in its unit", ErrInvalid, nc.Qty, lot.ref(), lot.OnHand)
		}
		if nc.Step != "" {
			if lot.Execution == nil {
				return quality.NonConformance{}, fmt.Errorf("%w: %s is material, not on a routing; leave the step empty", ErrInvalid, lot.ref())
			}
			if _, err := lot.Execution.Progress(nc.Step); err != nil {
				return quality.NonConformance{}, routingErr(err)
			}
		}
	}
	if err := c.saveNC(site, opened, 0); err != nil {
		return quality.NonConformance{}, err
	}
	c.record(objectRef(nonConformanceKind, nc.ID), change("status", "", opened.Status), change("qty", "", opened.Qty), change("what", "", opened.What))
	return opened, c.emit(nc.ID, NonConformanceOpened{NonConformance: opened})
}

func (c *command) saveNC(site string, nc quality.NonConformance, version uint64) error {
	ix := map[string]string{"status": string(nc.Status)}
	if nc.Lot != "" {
		ix["lot"] = nc.Lot
	}
	_, err := save(c, nonConformanceKind, nc.ID, site, version, &nc, nil, ix)
	return err
}

// loadNC loads a non-conformance with its record (site and version).
func (c *command) loadNC(id string) (quality.NonConformance, store.Record, error) {
	var nc quality.NonConformance
	rec, err := c.tx.Get(c.ctx, nonConformanceKind, id)
	if err != nil {
		return nc, rec, fmt.Errorf("non-conformance %q: %w", id, storeErr(err))
	}
	return nc, rec, decode(rec, &nc)
}

// DispositionNonConformance decides the fate of an open non-conformance and executes it
// (action "nc.disposition"). The lines must account for its whole quantity; mes.Reason
// gives the reason. A disposition always needs the electronic signature (mes.SignedBy) of
// a signer authorised for "nc.disposition" with meaning quality.DispositionSignature
// (approval), whether or not the plant configures WithSignatureRequired for it; the
// signer is recorded as the one who decided. The lines execute on the non-conformance's lot
// in the same transaction, even while it is held:
//   - use-as-is and repair move nothing (the material stays at its step; a hold on it
//     stays until it is released);
//   - rework sends the quantity back to the line's step: quantity waiting at the step
//     moves back on the same lot, quantity in process is tracked out as rework and split
//     off into a rework lot that starts at the step (its genealogy links it to the lot);
//   - scrap books the quantity as scrap at the step (tracking waiting quantity in first),
//     moves it out of the lot with a genealogy scrap edge and adds it to the work order's
//     scrapped quantity; a material lot (not on a routing) is scrapped in genealogy;
//   - return-to-vendor ships the quantity of a received material lot back to its supplier.
func (p *Plant) DispositionNonConformance(ctx context.Context, id string, lines []quality.DispositionLine, opts ...CommandOption) (quality.NonConformance, error) {
	return execute(ctx, p, "nc.disposition", []string{id}, opts, func(c *command) (quality.NonConformance, error) {
		nc, rec, err := c.loadNC(id)
		if err != nil {
			return quality.NonConformance{}, err
		}
		var sc *stepContext
		var lot *Lot
		switch {
		case nc.Lot != "" && nc.Step != "":
			if sc, err = c.loadStep(nc.Lot, nc.Step, ignoreHolds); err != nil {
				return quality.NonConformance{}, err
			}
			lot = sc.lot
		case nc.Lot != "":
			if lot, err = c.loadLot(nc.Lot); err != nil {
				return quality.NonConformance{}, err
			}
			fallthrough
		default:
			if err := c.authorize(rec.Site); err != nil {
				return quality.NonConformance{}, err
			}
		}
		signer, ok := c.signedWith(Meaning(quality.DispositionSignature))
		if !ok {
			return quality.NonConformance{}, fmt.Errorf("%w: the disposition of non-conformance %s needs the signature of its approver; pass mes.SignedBy(mes.Credentials{SignerID, Secret, Meaning: %q})",
				ErrSignatureRequired, nc.ID, quality.DispositionSignature)
		}
		done, orders, err := nc.ApplyDisposition(quality.Disposition{Lines: lines, Reason: c.opts.reason, By: signer.ID, At: c.now})
		if err != nil {
			return quality.NonConformance{}, qualityErr(err)
		}
		for _, o := range orders {
			if err := c.carryOut(nc, o, sc, lot); err != nil {
				return quality.NonConformance{}, fmt.Errorf("disposition %s of %s: %w", o.Kind, o.Qty, err)
			}
		}
		if lot != nil {
			if err := c.saveLot(lot); err != nil {
				return quality.NonConformance{}, err
			}
		}
		if err := c.saveNC(rec.Site, done, rec.Version); err != nil {
			return quality.NonConformance{}, err
		}
		c.record(objectRef(nonConformanceKind, nc.ID), change("status", nc.Status, done.Status), change("disposition", "", dispositionText(lines)))
		return done, c.emit(nc.ID, NonConformanceDispositioned{NonConformance: done, Orders: orders, Signer: signer.ID, SignerName: signer.Name})
	})
}

func dispositionText(lines []quality.DispositionLine) string {
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = fmt.Sprintf("%s %s", l.Kind, l.Qty)
		if l.ToStep != "" {
			parts[i] += " to step " + l.ToStep
		}
	}
	return strings.Join(parts, ", ")
}

// signedWith returns the verified signer whose signature on the command has meaning m.
func (c *command) signedWith(m Meaning) (Signer, bool) {
	for _, s := range c.signers {
		if s.Meaning == m {
			return s.Signer, true
		}
	}
	return Signer{}, false
}

// carryOut carries out one disposition order on the non-conformance's lot: sc when it is at
// a step of its routing, else lot (nil when the non-conformance names no lot).
func (c *command) carryOut(nc quality.NonConformance, o quality.Order, sc *stepContext, lot *Lot) error {
	if o.Kind == quality.UseAsIs || o.Kind == quality.Repair {
		return nil
	}
	reason := fmt.Sprintf("NC %s: %s", nc.ID, o.Kind)
	switch {
	case sc != nil && o.Kind == quality.Rework:
		_, err := c.rework(sc, o.Qty, o.ToStep, reason)
		return err
	case sc != nil && o.Kind == quality.Scrap:
		return c.bookAtStep(sc, routing.Outcome{Scrap: []routing.ScrapLine{{Qty: o.Qty, Reason: reason}}}, o.Qty)
	case lot != nil && lot.Execution == nil && (o.Kind == quality.Scrap || o.Kind == quality.ReturnToVendor):
		return c.removeMaterial(lot, o, reason)
	case lot == nil:
		return fmt.Errorf("%w: the non-conformance names no lot to move; use use-as-is or repair", ErrInvalid)
	case o.Kind == quality.ReturnToVendor:
		return fmt.Errorf("%w: %s is work in process; return-to-vendor applies to received material lots (use scrap or rework)", ErrInvalid, lot.ref())
	}
	return fmt.Errorf("%w: %s is on a routing but the non-conformance names no step; open it with the step the lot is at", ErrInvalid, lot.ref())
}

// removeMaterial scraps a material lot's quantity, or ships it back to its supplier.
func (c *command) removeMaterial(lot *Lot, o quality.Order, reason string) error {
	op := c.op("", "")
	op.Reason = reason
	var ch genealogy.Change
	var err error
	var ev EventPayload
	if o.Kind == quality.Scrap {
		ch, err = genealogy.Scrap(lot.Lot, o.Qty, op)
		ev = LotScrapped{Lot: lot.ID, Reason: reason, Qty: o.Qty}
	} else {
		sh := genealogy.Shipment{ID: "RTV-" + o.Lot + "-" + c.now.Format("20060102T150405"), Customer: lot.Supplier}
		ch, err = genealogy.Ship(lot.Lot, sh, o.Qty, op)
		ev = LotShipped{Lot: lot.ID, Shipment: sh.ID, Customer: lot.Supplier, Qty: o.Qty}
	}
	if err != nil {
		return genealogyErr(err)
	}
	before := lot.OnHand
	lot.Lot = ch.Lots[0]
	if err := c.tx.AddEdges(c.ctx, ch.Edges...); err != nil {
		return err
	}
	c.record(objectRef(lotKind, lot.ID), change("on_hand", before, lot.OnHand))
	return c.emit(lot.ID, ev)
}

// CloseNonConformance closes a dispositioned non-conformance (action "nc.close").
func (p *Plant) CloseNonConformance(ctx context.Context, id string, opts ...CommandOption) (quality.NonConformance, error) {
	return execute(ctx, p, "nc.close", []string{id}, opts, func(c *command) (quality.NonConformance, error) {
		nc, rec, err := c.loadNC(id)
		if err != nil {
			return quality.NonConformance{}, err
		}
		if err := c.authorize(rec.Site); err != nil {
			return quality.NonConformance{}, err
		}
		closed, err := nc.Close(c.opts.actor.ID, c.now)
		if err != nil {
			return quality.NonConformance{}, qualityErr(err)
		}
		if err := c.saveNC(rec.Site, closed, rec.Version); err != nil {
			return quality.NonConformance{}, err
		}
		c.record(objectRef(nonConformanceKind, nc.ID), change("status", nc.Status, closed.Status))
		return closed, c.emit(nc.ID, NonConformanceClosed{NonConformance: closed})
	})
}

// NonConformance returns a non-conformance.
func (p *Plant) NonConformance(ctx context.Context, id string) (quality.NonConformance, error) {
	var nc quality.NonConformance
	err := p.view(ctx, func(tx store.ReadTx) error {
		_, err := load(ctx, tx, nonConformanceKind, id, &nc)
		return err
	})
	return nc, err
}

// NonConformancesOfLot returns the non-conformances of a lot in site, ordered by id.
func (p *Plant) NonConformancesOfLot(ctx context.Context, site, lotID string) ([]quality.NonConformance, error) {
	return list[quality.NonConformance](ctx, p, store.Query{Kind: nonConformanceKind, Site: site, Index: "lot", Value: lotID})
}
