package routing

import (
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/units"
)

// Execution is the progress of one lot on one routing revision: quantity books per step.
// It is an immutable value (JSON in and out) that the engine stores; the moves are methods
// on Routing that return a new Execution and leave the one they were given unchanged. A
// move copies the books of the steps it changes and shares the others with the execution
// it started from, so a move costs what it changes, not the length of the routing; read
// the books with Steps, Progress, Books and Waiting, which return copies.
type Execution struct {
	Routing  string     `json:"routing"`
	Revision string     `json:"revision"`
	Unit     units.Unit `json:"unit"`
	// Started is the quantity that entered this lot (adjusted by Split and Merge).
	Started units.Quantity `json:"started"`
	// Finished is the good quantity that has passed the end of the routing.
	Finished units.Quantity `json:"finished"`
	// AbortReason is set when the lot was aborted; no move is allowed afterwards.
	AbortReason string `json:"abort_reason,omitempty"`
	// Completed is when the last open quantity left the routing; zero while running.
	Completed time.Time `json:"completed,omitzero"`
	// steps holds the books of every step, in routing order (JSON "steps"). A step is
	// never changed once an execution holding it has been returned: moves change copies.
	steps []*StepProgress
}

// executionFields is Execution without its methods, for its JSON form.
type executionFields Execution

// MarshalJSON encodes the execution with its steps.
func (e Execution) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		executionFields
		Steps []*StepProgress `json:"steps"`
	}{executionFields(e), e.steps})
}

// UnmarshalJSON decodes an execution and its steps.
func (e *Execution) UnmarshalJSON(data []byte) error {
	var v struct {
		*executionFields
		Steps []*StepProgress `json:"steps"`
	}
	var n Execution
	v.executionFields = (*executionFields)(&n)
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	if slices.Contains(v.Steps, nil) {
		return fmt.Errorf("%w: execution of %s rev %s has a null step", ErrMismatch, n.Routing, n.Revision)
	}
	n.steps = v.Steps
	*e = n
	return nil
}

// Equal reports whether e and o hold the same books, step by step: whether their JSON is
// the same (== compares where the steps are kept, not what they hold; go-cmp uses Equal).
func (e Execution) Equal(o Execution) bool {
	a, errA := json.Marshal(e)
	b, errB := json.Marshal(o)
	return errA == nil && errB == nil && string(a) == string(b)
}

// Steps yields the progress of every step in routing order, with its index: copies, so
// changing them changes nothing.
func (e Execution) Steps() iter.Seq2[int, StepProgress] {
	return func(yield func(int, StepProgress) bool) {
		for i, p := range e.steps {
			if !yield(i, p.clone()) {
				return
			}
		}
	}
}

// Books are the quantities of one step. At all times
//
//	Received = Waiting + InProcess + Good + Scrap + Rework + MovedBack + Skipped + Loss
//
// and Forwarded + held = Good + Skipped.
type Books struct {
	Received  units.Quantity `json:"received"`   // everything that arrived at the step
	Waiting   units.Quantity `json:"waiting"`    // arrived, not tracked in
	InProcess units.Quantity `json:"in_process"` // tracked in, not tracked out (running or paused)
	Good      units.Quantity `json:"good"`
	Scrap     units.Quantity `json:"scrap"`
	Rework    units.Quantity `json:"rework"`     // split off to rework lots
	MovedBack units.Quantity `json:"moved_back"` // sent back to an earlier step of this lot
	Skipped   units.Quantity `json:"skipped"`    // passed on without being processed
	Loss      units.Quantity `json:"loss"`       // process loss on a final track-out; negative for a gain
	Forwarded units.Quantity `json:"forwarded"`  // good and skipped quantity passed to the next steps
	// ScrapByReason splits Scrap by reason code.
	ScrapByReason map[string]units.Quantity `json:"scrap_by_reason,omitempty"`
}

// HeldQty is good quantity held at a step for its next step, End, or "" for every successor
// of a parallel split.
type HeldQty struct {
	To  string         `json:"to"`
	Qty units.Quantity `json:"qty"`
}

// StepProgress is the books and state of one step for one lot.
type StepProgress struct {
	Step string `json:"step"`
	Books
	// Held is good quantity not yet transferred, by next step: without a transfer batch it
	// waits until the step is complete.
	Held []HeldQty `json:"held,omitempty"`
	// Arrivals (join steps only) is the quantity arrived over each incoming branch; key ""
	// counts quantity started, moved, split or merged here, or looped back into the join.
	// Quantity that enters one branch from outside the flow (started, moved back or split
	// off there) is counted as arrived over the others, so the join does not wait for it
	// to pass them.
	Arrivals    map[string]units.Quantity `json:"arrivals,omitempty"`
	Paused      bool                      `json:"paused,omitempty"`
	PauseReason string                    `json:"pause_reason,omitempty"`
	// SkipReason is set when the step was skipped: quantity arriving passes straight on.
	SkipReason string `json:"skip_reason,omitempty"`
	// Done: nothing is waiting or in process here and no more can arrive.
	Done    bool      `json:"done,omitempty"`
	FirstIn time.Time `json:"first_in,omitzero"`
	LastOut time.Time `json:"last_out,omitzero"`
}

// StepState is the state of a lot at a step, derived from its books.
type StepState string

// Step states. A step with both waiting and in-process quantity (overlap, partial track-in)
// is InProcess.
const (
	StateWaitingForPrevious StepState = "waiting-for-previous" // nothing here yet, more can come
	StateQueued             StepState = "queued"
	StateInProcess          StepState = "in-process"
	StatePaused             StepState = "paused"
	StateCompleted          StepState = "completed"
	StateSkipped            StepState = "skipped"
	StateBypassed           StepState = "bypassed" // the lot's flow did not pass this step
)

// State returns the state of the lot at this step.
func (p StepProgress) State() StepState {
	switch {
	case p.InProcess.IsPositive() && p.Paused:
		return StatePaused
	case p.InProcess.IsPositive():
		return StateInProcess
	case p.Waiting.IsPositive():
		return StateQueued
	case p.SkipReason != "":
		return StateSkipped
	case !p.Done:
		return StateWaitingForPrevious
	case p.Received.IsZero():
		return StateBypassed
	default:
		return StateCompleted
	}
}

// Waiting yields, in routing order, each step where quantity waits to be tracked in, with
// that quantity: the lot's queue, without copying the steps' books.
func (e Execution) Waiting() iter.Seq2[string, units.Quantity] {
	return func(yield func(string, units.Quantity) bool) {
		for _, p := range e.steps {
			if p.Waiting.IsPositive() && !yield(p.Step, p.Waiting) {
				return
			}
		}
	}
}

// Progress returns the progress of the lot at a step (a copy).
func (e Execution) Progress(step string) (StepProgress, error) {
	p, err := e.find(step)
	if err != nil {
		return StepProgress{}, err
	}
	return p.clone(), nil
}

// Books returns the quantity books of the lot at a step (a copy): Progress without the
// step's state, for readers that need only the quantities.
func (e Execution) Books(step string) (Books, error) {
	p, err := e.find(step)
	if err != nil {
		return Books{}, err
	}
	return p.Books.clone(), nil
}

func (e Execution) find(step string) (*StepProgress, error) {
	for _, p := range e.steps {
		if p.Step == step {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w %q in execution of %s rev %s", ErrUnknownStep, step, e.Routing, e.Revision)
}

// Running reports whether the lot still has open quantity and was not aborted.
func (e Execution) Running() bool { return e.AbortReason == "" && e.Completed.IsZero() }

// Effect is a fact produced by a move for the engine to turn into events: Arrived,
// StepCompleted, YieldVariance, ReworkSplit, Backflush, Finished, RouteCompleted.
type Effect interface{ effect() }

// Arrived: quantity became available (queued) at a step.
type Arrived struct {
	Step string
	Qty  units.Quantity
}

// StepCompleted: nothing is waiting or in process at a step and no more can arrive; Books
// are the step's totals (the operation confirmation for the ERP). A skipped step reports
// it only if it processed some quantity before it was skipped.
type StepCompleted struct {
	Step  string
	Books Books
	At    time.Time
}

// YieldVariance: a step's yield is beyond its tolerance; Reason is the justification given.
type YieldVariance struct {
	Step      string          `json:"step"`
	Expected  decimal.Decimal `json:"expected"`
	Tolerance decimal.Decimal `json:"tolerance"`
	Actual    decimal.Decimal `json:"actual"`
	Variance  decimal.Decimal `json:"variance"` // Actual - Expected
	Reason    string          `json:"reason,omitempty"`
}

// ReworkSplit: rework quantity left this lot at a step; the engine splits it into a new lot
// started with Routing.StartAt(To, Qty).
type ReworkSplit struct {
	From, To string
	Qty      units.Quantity
	Reason   string
}

// Backflush: a back-flushed component is consumed, PerUnit × good quantity of a track-out.
type Backflush struct {
	Step, Component string
	Qty             units.Quantity
	LotTracked      bool
}

// Finished: good quantity passed the end of the routing (finished goods).
type Finished struct {
	Qty units.Quantity
	At  time.Time
}

// RouteCompleted: no open quantity remains; Finished is the lot's total finished quantity.
type RouteCompleted struct {
	Finished units.Quantity
	At       time.Time
}

func (Arrived) effect()        {}
func (StepCompleted) effect()  {}
func (YieldVariance) effect()  {}
func (ReworkSplit) effect()    {}
func (Backflush) effect()      {}
func (Finished) effect()       {}
func (RouteCompleted) effect() {}

// Start starts a lot of qty at the first step. An obsolete routing starts no new work.
func (r *Routing) Start(qty units.Quantity, at time.Time) (Execution, []Effect, error) {
	if r.Status == Obsolete {
		return Execution{}, nil, fmt.Errorf("%w: routing %s rev %s is obsolete; start new work on a released revision", ErrStatus, r.ID, r.Revision)
	}
	if len(r.Steps) == 0 {
		return Execution{}, nil, fmt.Errorf("%w: routing %s rev %s has no steps", ErrNotValidated, r.ID, r.Revision)
	}
	return r.StartAt(r.Steps[0].ID, qty, at)
}

// StartAt starts a lot of qty at a given step: a rework lot split off by a ReworkSplit, or a
// lot that joins the routing part-way. It is allowed on an obsolete revision because it
// continues work already released on it.
func (r *Routing) StartAt(step string, qty units.Quantity, at time.Time) (Execution, []Effect, error) {
	if r.c == nil {
		return Execution{}, nil, fmt.Errorf("%w: call Validate (or Build, Parse) before starting routing %s rev %s", ErrNotValidated, r.ID, r.Revision)
	}
	if err := qty.RequirePositive("lot quantity"); err != nil {
		return Execution{}, nil, fmt.Errorf("%w: %v", ErrQuantity, err)
	}
	u := qty.Unit()
	for _, s := range r.Steps {
		if _, err := s.TransferQty.In(u); err != nil {
			return Execution{}, nil, fmt.Errorf("%w: step %s transfer batch %s cannot be compared with the lot unit %s: %v", ErrQuantity, s.ID, s.TransferQty, u, err)
		}
	}
	e := Execution{Routing: r.ID, Revision: r.Revision, Unit: u, steps: make([]*StepProgress, len(r.Steps))}
	for i, s := range r.Steps {
		e.steps[i] = &StepProgress{Step: s.ID}
	}
	e = e.emptyCopy(qty)
	m, i, _, err := r.beginAt(e, step, at)
	if err != nil {
		return Execution{}, nil, err
	}
	m.deliver(-1, i, qty)
	return m.finish()
}

// TrackIn starts qty of the quantity waiting at a step (zero qty: all of it).
func (r *Routing) TrackIn(e Execution, step string, qty units.Quantity, at time.Time) (Execution, []Effect, error) {
	m, _, p, err := r.beginAt(e, step, at)
	if err != nil {
		return e, nil, err
	}
	if p.Paused {
		return e, nil, fmt.Errorf("%w: step %s is paused; track-in needs it resumed", ErrWrongState, step)
	}
	if !p.Waiting.IsPositive() {
		return e, nil, fmt.Errorf("%w: step %s is %s with nothing waiting; track-in needs quantity queued at the step", ErrWrongState, step, p.State())
	}
	if qty.IsZero() {
		qty = p.Waiting
	}
	if qty, err = m.quantity(qty, "track-in quantity", true); err != nil {
		return e, nil, err
	}
	if greater(qty, p.Waiting) {
		return e, nil, fmt.Errorf("%w: track-in of %s at step %s but only %s is waiting; track in at most the waiting quantity", ErrQuantity, qty, step, p.Waiting)
	}
	p.Waiting = sub(p.Waiting, qty)
	p.InProcess = add(p.InProcess, qty)
	if p.FirstIn.IsZero() {
		p.FirstIn = m.at
	}
	return m.finish()
}

// ScrapLine is scrapped quantity with its reason code.
type ScrapLine struct {
	Qty    units.Quantity `json:"qty"`
	Reason string         `json:"reason"`
}

// ReworkLine is quantity sent to rework: it leaves the lot and is split into a rework lot
// starting at step To.
type ReworkLine struct {
	Qty    units.Quantity `json:"qty"`
	To     string         `json:"to"`
	Reason string         `json:"reason,omitempty"`
}

// Outcome is what a track-out reports.
type Outcome struct {
	Good    units.Quantity     `json:"good"`
	Scrap   []ScrapLine        `json:"scrap,omitempty"`
	Rework  ReworkLine         `json:"rework,omitzero"`
	Results map[string]float64 `json:"results,omitempty"` // measured values by characteristic
	InSpec  map[string]bool    `json:"in_spec,omitempty"` // in-spec verdicts by characteristic
	// Final closes the step for the quantity in process: what is in process and not reported
	// as good, scrap or rework is booked as process loss (or, if more was reported, a gain).
	Final bool `json:"final,omitempty"`
	// Reason justifies a yield beyond tolerance: a reason code, or the engine's record of
	// the signature it accepted instead.
	Reason string `json:"reason,omitempty"`
}

// TrackOut reports good, scrap and rework quantity out of the quantity in process at a step.
// Several partial track-outs add up. Good quantity goes to the next step(s) (the condition
// decides which, from the results), in transfer batches or when the step is complete. When
// the track-out is Final or completes the step, the step's yield is checked.
func (r *Routing) TrackOut(e Execution, step string, out Outcome, at time.Time) (Execution, []Effect, error) {
	m, i, p, err := r.beginAt(e, step, at)
	if err != nil {
		return e, nil, err
	}
	if p.Paused || !p.InProcess.IsPositive() {
		return e, nil, fmt.Errorf("%w: step %s is %s; track-out needs quantity in process (track in or resume first)", ErrWrongState, step, p.State())
	}
	good, err := m.quantity(out.Good, "good quantity", false)
	if err != nil {
		return e, nil, err
	}
	total := good
	scrap := make([]ScrapLine, len(out.Scrap))
	for j, l := range out.Scrap {
		if l.Reason == "" {
			return e, nil, fmt.Errorf("%w: scrap line %d at step %s has no reason code; give one", ErrQuantity, j+1, step)
		}
		if scrap[j].Qty, err = m.quantity(l.Qty, "scrap quantity", true); err != nil {
			return e, nil, err
		}
		scrap[j].Reason = l.Reason
		total = add(total, scrap[j].Qty)
	}
	rework, err := m.quantity(out.Rework.Qty, "rework quantity", false)
	if err != nil {
		return e, nil, err
	}
	if rework.IsPositive() {
		if _, ok := r.c.index[out.Rework.To]; !ok {
			return e, nil, fmt.Errorf("%w: rework target %q at step %s; name the step where the rework lot starts", ErrUnknownStep, out.Rework.To, step)
		}
		total = add(total, rework)
	}
	if !total.IsPositive() && !out.Final {
		return e, nil, fmt.Errorf("%w: track-out at step %s reports no quantity; report good, scrap or rework, or mark it final", ErrQuantity, step)
	}
	if greater(total, p.InProcess) && !out.Final {
		return e, nil, fmt.Errorf("%w: track-out of %s at step %s but only %s is in process; report at most that, or mark the track-out final to book a gain", ErrQuantity, total, step, p.InProcess)
	}
	if out.Final {
		p.Loss = add(p.Loss, sub(p.InProcess, total))
		p.InProcess = sub(p.InProcess, p.InProcess)
	} else {
		p.InProcess = sub(p.InProcess, total)
	}
	p.Good = add(p.Good, good)
	for _, l := range scrap {
		p.Scrap = add(p.Scrap, l.Qty)
		if p.ScrapByReason == nil {
			p.ScrapByReason = map[string]units.Quantity{}
		}
		p.ScrapByReason[l.Reason] = add(p.ScrapByReason[l.Reason], l.Qty)
	}
	if rework.IsPositive() {
		p.Rework = add(p.Rework, rework)
		m.fx = append(m.fx, ReworkSplit{From: step, To: out.Rework.To, Qty: rework, Reason: out.Rework.Reason})
	}
	p.LastOut = m.at
	if good.IsPositive() {
		env := func() Env {
			return Env{Result: out.Results, InSpec: out.InSpec, Good: good.Float64(), Scrap: sub(total, add(good, rework)).Float64(),
				Rework: rework.Float64(), Param: r.Steps[i].Parameters}
		}
		if err := m.hold(i, good, env); err != nil {
			return e, nil, err
		}
		for _, mat := range r.Steps[i].Materials {
			if mat.Backflush {
				m.fx = append(m.fx, Backflush{Step: step, Component: mat.Component, Qty: mat.PerUnit.Mul(good.Value()), LotTracked: mat.LotTracked})
			}
		}
	}
	n, fx, err := m.finish()
	if err != nil {
		return e, nil, err
	}
	if out.Final || n.steps[i].Done {
		if v, beyond := r.yieldVariance(i, n.steps[i].Books); beyond {
			if out.Reason == "" {
				return e, nil, &YieldError{Variance: v}
			}
			v.Reason = out.Reason
			fx = append(fx, v)
		}
	}
	return n, fx, nil
}

// YieldError is returned (wrapping ErrYieldReasonRequired) when a track-out would close a
// step whose yield is beyond tolerance and carries no reason. Retry with Outcome.Reason set.
type YieldError struct {
	Variance YieldVariance
}

// Error says which step is off by how much and what to do.
func (y *YieldError) Error() string {
	v := y.Variance
	return fmt.Sprintf("%v: step %s yield %s is outside %s ± %s (variance %s); give a reason code", ErrYieldReasonRequired, v.Step, v.Actual.StringFixed(4), v.Expected, v.Tolerance, v.Variance.StringFixed(4))
}

// Unwrap makes errors.Is(err, ErrYieldReasonRequired) true.
func (y *YieldError) Unwrap() error { return ErrYieldReasonRequired }

// yieldVariance compares good / processed with the step's expected yield.
func (r *Routing) yieldVariance(i int, b Books) (YieldVariance, bool) {
	s := r.Steps[i]
	processed := sub(sub(sub(sub(b.Received, b.Waiting), b.InProcess), b.Skipped), b.MovedBack)
	if s.ExpectedYield.IsZero() || !processed.IsPositive() {
		return YieldVariance{}, false
	}
	actual := b.Good.Value().Div(processed.Value())
	v := YieldVariance{Step: s.ID, Expected: s.ExpectedYield, Tolerance: s.YieldTolerance, Actual: actual, Variance: actual.Sub(s.ExpectedYield)}
	return v, v.Variance.Abs().GreaterThan(s.YieldTolerance)
}

// Pause pauses the work in process at a step (ISA-88 Pause); track-in and track-out wait
// for Resume.
func (r *Routing) Pause(e Execution, step, reason string, at time.Time) (Execution, []Effect, error) {
	m, _, p, err := r.beginAt(e, step, at)
	if err != nil {
		return e, nil, err
	}
	if p.Paused || !p.InProcess.IsPositive() {
		return e, nil, fmt.Errorf("%w: step %s is %s; pause needs quantity in process that is not paused", ErrWrongState, step, p.State())
	}
	p.Paused, p.PauseReason = true, reason
	return m.finish()
}

// Resume resumes a paused step.
func (r *Routing) Resume(e Execution, step string, at time.Time) (Execution, []Effect, error) {
	m, _, p, err := r.beginAt(e, step, at)
	if err != nil {
		return e, nil, err
	}
	if !p.Paused {
		return e, nil, fmt.Errorf("%w: step %s is %s; resume needs a paused step", ErrWrongState, step, p.State())
	}
	p.Paused, p.PauseReason = false, ""
	return m.finish()
}

// Skip skips a step for this lot: what waits there now, and what arrives later, passes on
// unprocessed (a branch condition sees skipped = true). Optional steps may be skipped freely;
// for others the engine checks authority first. Quantity in process must be tracked out first.
func (r *Routing) Skip(e Execution, step, reason string, at time.Time) (Execution, []Effect, error) {
	m, _, p, err := r.beginAt(e, step, at)
	if err != nil {
		return e, nil, err
	}
	switch {
	case reason == "":
		return e, nil, fmt.Errorf("%w: skip of step %s needs a reason", ErrWrongState, step)
	case p.SkipReason != "":
		return e, nil, fmt.Errorf("%w: step %s is already skipped", ErrWrongState, step)
	case p.InProcess.IsPositive():
		return e, nil, fmt.Errorf("%w: step %s is %s; track out the quantity in process before skipping it", ErrWrongState, step, p.State())
	case p.Done:
		return e, nil, fmt.Errorf("%w: step %s is %s; nothing more can arrive to skip", ErrWrongState, step, p.State())
	}
	p.SkipReason = reason
	return m.finish()
}

// MoveBack sends qty waiting at step (zero: all of it) back to an earlier step of the same
// lot for rework; it is booked as MovedBack at step and arrives at to.
func (r *Routing) MoveBack(e Execution, step, to string, qty units.Quantity, at time.Time) (Execution, []Effect, error) {
	m, i, p, err := r.beginAt(e, step, at)
	if err != nil {
		return e, nil, err
	}
	k, err := m.index(to)
	if err != nil {
		return e, nil, err
	}
	if k == i || !r.c.reach[k][i] {
		return e, nil, fmt.Errorf("%w: step %s does not lead to step %s; move back only to an earlier step", ErrWrongState, to, step)
	}
	if !p.Waiting.IsPositive() {
		return e, nil, fmt.Errorf("%w: step %s is %s with nothing waiting; move back needs waiting quantity (track out to rework what is in process)", ErrWrongState, step, p.State())
	}
	if qty.IsZero() {
		qty = p.Waiting
	}
	if qty, err = m.quantity(qty, "move-back quantity", true); err != nil {
		return e, nil, err
	}
	if greater(qty, p.Waiting) {
		return e, nil, fmt.Errorf("%w: move back of %s from step %s but only %s is waiting", ErrQuantity, qty, step, p.Waiting)
	}
	p.Waiting = sub(p.Waiting, qty)
	p.MovedBack = add(p.MovedBack, qty)
	m.deliver(-1, k, qty)
	return m.finish()
}

// Abort stops the lot: its books stay as they are and no move is allowed afterwards.
func (r *Routing) Abort(e Execution, reason string, at time.Time) (Execution, []Effect, error) {
	m, err := r.begin(e, at)
	if err != nil {
		return e, nil, err
	}
	if reason == "" {
		return e, nil, fmt.Errorf("%w: abort needs a reason", ErrWrongState)
	}
	m.e.AbortReason = reason
	return m.e, nil, nil
}

// move is one move in progress on a new execution that shares the steps of the one it
// started from until it changes them (mut).
type move struct {
	r         *Routing
	e         Execution
	from      []*StepProgress // the steps of the execution the move started from
	at        time.Time
	fx        []Effect
	finished  units.Quantity
	down      []bool   // scratch of downstreamOfActive for long routings
	downSpace [32]bool // the scratch for short ones
}

// mut returns step i of the move's execution for changing: a copy, made on the first
// change, of the step the move started from.
func (m *move) mut(i int) *StepProgress {
	if i < len(m.from) && m.e.steps[i] == m.from[i] {
		p := m.from[i].clone()
		m.e.steps[i] = &p
	}
	return m.e.steps[i]
}

// begin checks that e belongs to r and can move, and copies it.
func (r *Routing) begin(e Execution, at time.Time) (move, error) {
	if err := r.check(e); err != nil {
		return move{}, err
	}
	if e.AbortReason != "" {
		return move{}, fmt.Errorf("%w: the lot was aborted (%s); no move is allowed", ErrWrongState, e.AbortReason)
	}
	if !e.Completed.IsZero() {
		return move{}, fmt.Errorf("%w: the lot completed the routing at %s; no move is allowed", ErrWrongState, e.Completed.Format(time.RFC3339))
	}
	m := move{r: r, e: e, from: e.steps, at: at.UTC()}
	m.e.steps = slices.Clone(e.steps)
	return m, nil
}

// beginAt is begin plus the step the move is about, ready to change.
func (r *Routing) beginAt(e Execution, step string, at time.Time) (move, int, *StepProgress, error) {
	m, err := r.begin(e, at)
	if err != nil {
		return move{}, 0, nil, err
	}
	i, err := m.index(step)
	if err != nil {
		return move{}, 0, nil, err
	}
	p := m.mut(i)
	return m, i, p, nil
}

// check verifies that r is validated and e is an execution of it.
func (r *Routing) check(e Execution) error {
	if r.c == nil || r.c.nsteps != len(r.Steps) {
		return fmt.Errorf("%w: call Validate (or Build, Parse) before using routing %s rev %s", ErrNotValidated, r.ID, r.Revision)
	}
	if e.Routing != r.ID || e.Revision != r.Revision || len(e.steps) != len(r.Steps) {
		return fmt.Errorf("%w: execution is on %s rev %s, routing is %s rev %s", ErrMismatch, e.Routing, e.Revision, r.ID, r.Revision)
	}
	for i, p := range e.steps {
		if p.Step != r.Steps[i].ID {
			return fmt.Errorf("%w: execution step %d is %q, routing step is %q", ErrMismatch, i+1, p.Step, r.Steps[i].ID)
		}
	}
	return nil
}

// index returns the position of step id in the routing.
func (m *move) index(id string) (int, error) {
	i, ok := m.r.c.index[id]
	if !ok {
		return 0, fmt.Errorf("%w %q in routing %s rev %s", ErrUnknownStep, id, m.r.ID, m.r.Revision)
	}
	return i, nil
}

// quantity converts q to the lot's unit and checks its sign.
func (m *move) quantity(q units.Quantity, what string, positive bool) (units.Quantity, error) {
	c, err := q.InExactly(m.e.Unit) // a rounded rest would stay on the books for ever
	switch {
	case err != nil:
		return q, fmt.Errorf("%w: %s %s is not in the lot unit %s: %v", ErrQuantity, what, q, m.e.Unit, err)
	case positive && !c.IsPositive():
		return q, fmt.Errorf("%w: %s is %s; it must be positive", ErrQuantity, what, q)
	case c.IsNegative():
		return q, fmt.Errorf("%w: %s is %s; it must not be negative", ErrQuantity, what, q)
	}
	return c, nil
}

// hold puts good (or skipped) quantity of step i on hold for the next step(s); env gives
// what a conditional transition sees, made only for a step that has one.
func (m *move) hold(i int, qty units.Quantity, env func() Env) error {
	c := m.r.c
	to := "" // all successors of a parallel split
	switch next := c.next[i]; {
	case c.conds[i] != nil:
		id, err := runCondition(c.conds[i], env())
		if err != nil {
			return fmt.Errorf("%w at step %s: %v", ErrCondition, m.r.Steps[i].ID, err)
		}
		if _, ok := c.index[id]; !ok && id != End {
			return fmt.Errorf("%w at step %s: it chose %q, which is not a step of the routing", ErrCondition, m.r.Steps[i].ID, id)
		}
		to = id
	case len(next) == 1 && next[0] == c.nsteps:
		to = End
	case len(next) == 1:
		to = m.r.Steps[next[0]].ID
	}
	p := m.mut(i)
	j := slices.IndexFunc(p.Held, func(t HeldQty) bool { return t.To == to })
	if j < 0 {
		p.Held = append(p.Held, HeldQty{To: to, Qty: qty})
	} else {
		p.Held[j].Qty = add(p.Held[j].Qty, qty)
	}
	return nil
}

// send transfers qty held at step i to its next step named to ("": every successor).
func (m *move) send(i int, to string, qty units.Quantity) {
	p := m.mut(i)
	p.Forwarded = add(p.Forwarded, qty)
	switch to {
	case "":
		for _, k := range m.r.c.next[i] {
			m.deliver(i, k, qty)
		}
	case End:
		m.deliver(i, m.r.c.nsteps, qty)
	default:
		m.deliver(i, m.r.c.index[to], qty)
	}
}

// deliver makes qty arrive at step k from step from (-1: started or moved back here).
func (m *move) deliver(from, k int, qty units.Quantity) {
	c := m.r.c
	if k == c.nsteps {
		m.e.Finished = add(m.e.Finished, qty)
		m.finished = add(m.finished, qty)
		return
	}
	if from < 0 {
		m.credit(k, qty)
	}
	p := m.mut(k)
	if m.r.Steps[k].Join {
		key := ""
		if slices.Contains(c.branches[k], from) {
			key = m.e.steps[from].Step
		}
		if p.Arrivals == nil {
			p.Arrivals = map[string]units.Quantity{}
		}
		p.Arrivals[key] = add(p.Arrivals[key], qty)
		qty = sub(m.joinReceived(k), p.Received)
		if !qty.IsPositive() {
			return
		}
	}
	p.Received = add(p.Received, qty)
	p.Waiting = add(p.Waiting, qty)
	m.fx = append(m.fx, Arrived{Step: p.Step, Qty: qty})
}

// credit credits qty entering step k from outside the flow to the branches of the joins
// further on that it will not pass (see compiled.credits).
func (m *move) credit(k int, qty units.Quantity) {
	for _, cr := range m.r.c.credits[k] {
		p := m.mut(cr.join)
		if p.Arrivals == nil {
			p.Arrivals = map[string]units.Quantity{}
		}
		for _, b := range cr.branches {
			from := m.e.steps[b].Step
			p.Arrivals[from] = add(p.Arrivals[from], qty)
		}
	}
}

// joinReceived is what join step k has received: the least arrived over its branches, plus
// what was started, moved, merged or looped back there.
func (m *move) joinReceived(k int) units.Quantity {
	p := m.e.steps[k]
	var least units.Quantity
	for j, from := range m.r.c.branches[k] {
		a := p.Arrivals[m.e.steps[from].Step]
		if j == 0 || greater(least, a) {
			least = a
		}
	}
	return add(least, p.Arrivals[""])
}

// finish moves held quantity on, marks completed steps and the end of the route, and
// returns the new execution with its effects.
func (m *move) finish() (Execution, []Effect, error) {
	if err := m.settle(); err != nil {
		return Execution{}, nil, err
	}
	down := m.downstreamOfActive()
	allDone := true
	for i, p := range m.e.steps {
		done := !p.Waiting.IsPositive() && !p.InProcess.IsPositive() && !down[i] && len(p.Held) == 0
		// A skipped step confirms only if it processed some before it was skipped.
		if done && !p.Done && p.Received.IsPositive() && (p.SkipReason == "" || sub(sub(p.Received, p.Skipped), p.MovedBack).IsPositive()) {
			m.fx = append(m.fx, StepCompleted{Step: p.Step, Books: p.Books.clone(), At: m.at})
		}
		if p.Done != done {
			m.mut(i).Done = done
		}
		allDone = allDone && done
	}
	if m.finished.IsPositive() {
		m.fx = append(m.fx, Finished{Qty: m.finished, At: m.at})
	}
	if allDone {
		m.e.Completed = m.at
		m.fx = append(m.fx, RouteCompleted{Finished: m.e.Finished, At: m.at})
	}
	return m.e, m.fx, nil
}

// settle passes quantity through skipped steps, sends full transfer batches, and releases
// what is held at steps that are complete, until nothing more moves.
func (m *move) settle() error {
	n := m.r.c.nsteps
	for range 16 * (n + 1) * (n + 1) {
		moved, err := m.settleOnce()
		if err != nil || !moved {
			return err
		}
	}
	return fmt.Errorf("%w: quantity keeps circling through skipped steps; change the branch condition of a skipped step", ErrWrongState)
}

// settleOnce makes the first possible transfer and reports whether it made one.
func (m *move) settleOnce() (bool, error) {
	down := m.downstreamOfActive()
	for i, p := range m.e.steps {
		if p.SkipReason != "" && p.Waiting.IsPositive() {
			p = m.mut(i)
			q := p.Waiting
			p.Waiting = sub(q, q)
			p.Skipped = add(p.Skipped, q)
			if err := m.hold(i, q, func() Env { return Env{Skipped: true, Param: m.r.Steps[i].Parameters} }); err != nil {
				return false, err
			}
			m.release(i, nil)
			return true, nil
		}
		if len(p.Held) == 0 {
			continue
		}
		if !p.Waiting.IsPositive() && !p.InProcess.IsPositive() && !down[i] {
			m.release(i, nil)
			return true, nil
		}
		if batch := m.r.Steps[i].TransferQty; batch.IsPositive() && m.release(i, &batch) {
			return true, nil
		}
	}
	return false, nil
}

// release sends what step i holds: all of it, or whole batches when batch is given. It
// reports whether it sent anything.
func (m *move) release(i int, batch *units.Quantity) bool {
	sendable := func(t HeldQty) units.Quantity {
		if batch == nil {
			return t.Qty
		}
		b, _ := batch.In(m.e.Unit) // comparable: checked by StartAt
		// Whole batches, exactly: Div rounds, and could round up to a batch more than is held.
		whole, _ := t.Qty.Value().QuoRem(b.Value(), 0)
		return b.Mul(whole)
	}
	if !slices.ContainsFunc(m.e.steps[i].Held, func(t HeldQty) bool { return sendable(t).IsPositive() }) {
		return false
	}
	p := m.mut(i)
	held := p.Held
	p.Held = nil
	for _, t := range held {
		if q := sendable(t); q.IsPositive() {
			t.Qty = sub(t.Qty, q)
			m.send(i, t.To, q)
		}
		if t.Qty.IsPositive() {
			p.Held = append(p.Held, t)
		}
	}
	return true
}

// downstreamOfActive marks the steps that quantity waiting or in process somewhere can still
// reach. The slice is the move's scratch: valid until the next call.
func (m *move) downstreamOfActive() []bool {
	n := m.r.c.nsteps
	var down []bool
	if n < len(m.downSpace) {
		down = m.downSpace[:n+1]
	} else {
		if m.down == nil {
			m.down = make([]bool, n+1)
		}
		down = m.down
	}
	clear(down)
	for a, p := range m.e.steps {
		if p.Waiting.IsPositive() || p.InProcess.IsPositive() {
			for k, ok := range m.r.c.reach[a] {
				down[k] = down[k] || ok
			}
		}
	}
	return down
}

// clone returns a copy of p sharing no map or slice with it.
func (p *StepProgress) clone() StepProgress {
	c := *p
	c.Books = p.Books.clone()
	c.Held = slices.Clone(p.Held)
	c.Arrivals = maps.Clone(p.Arrivals)
	return c
}

func (b Books) clone() Books {
	b.ScrapByReason = maps.Clone(b.ScrapByReason)
	return b
}

// add, sub and greater work on quantities already converted to the lot unit (by quantity or
// StartAt), so unit errors cannot occur.
func add(a, b units.Quantity) units.Quantity { s, _ := a.Add(b); return s }
func sub(a, b units.Quantity) units.Quantity { s, _ := a.Sub(b); return s }
func greater(a, b units.Quantity) bool       { c, _ := a.Cmp(b); return c > 0 }
