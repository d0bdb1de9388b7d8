package routing

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/taktmes/takt/units"
)

// CheckBooks verifies that the books of every step balance: received = waiting + in process
// + good + scrap + rework + moved back + skipped + loss, scrap by reason adds up to scrap,
// forwarded + held = good + skipped, and no quantity except loss is negative. It lists every
// violation.
func (e Execution) CheckBooks() error {
	var errs []error
	bad := func(step, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: step %s: %s", ErrBooks, step, fmt.Sprintf(format, args...)))
	}
	if e.Finished.IsNegative() {
		bad("-", "finished quantity %s is negative", e.Finished)
	}
	for _, p := range e.steps {
		b := p.Books
		for _, c := range []struct {
			name string
			q    units.Quantity
		}{{"received", b.Received}, {"waiting", b.Waiting}, {"in process", b.InProcess}, {"good", b.Good}, {"scrap", b.Scrap}, {"rework", b.Rework}, {"moved back", b.MovedBack}, {"skipped", b.Skipped}, {"forwarded", b.Forwarded}} {
			if c.q.IsNegative() {
				bad(p.Step, "%s is negative (%s)", c.name, c.q)
			}
			if u := c.q.Unit(); u != "" && u != e.Unit {
				bad(p.Step, "%s is in %s, the lot unit is %s", c.name, u, e.Unit)
			}
		}
		sum := b.Waiting
		for _, q := range []units.Quantity{b.InProcess, b.Good, b.Scrap, b.Rework, b.MovedBack, b.Skipped, b.Loss} {
			sum = add(sum, q)
		}
		if !sum.Equal(b.Received) {
			bad(p.Step, "received %s but waiting + in process + good + scrap + rework + moved back + skipped + loss = %s", b.Received, sum)
		}
		byReason := units.Quantity{}
		for _, q := range b.ScrapByReason {
			byReason = add(byReason, q)
		}
		if !byReason.Equal(b.Scrap) {
			bad(p.Step, "scrap %s but scrap by reason adds up to %s", b.Scrap, byReason)
		}
		out := b.Forwarded
		for _, h := range p.Held {
			if !h.Qty.IsPositive() {
				bad(p.Step, "held quantity for %s is %s; it must be positive", h.To, h.Qty)
			}
			out = add(out, h.Qty)
		}
		if !out.Equal(add(b.Good, b.Skipped)) {
			bad(p.Step, "forwarded + held = %s but good + skipped = %s", out, add(b.Good, b.Skipped))
		}
		if p.Paused && !b.InProcess.IsPositive() {
			bad(p.Step, "paused with nothing in process")
		}
	}
	return errors.Join(errs...)
}

// Split moves qty of the quantity open at a step (waiting first, then in process) into a new
// lot at the same step and state. The two executions' books add up to e's at every step; the
// history stays with rest. fx are the effects on rest (a step may complete for it).
func (r *Routing) Split(e Execution, step string, qty units.Quantity, at time.Time) (rest, part Execution, fx []Effect, err error) {
	m, i, p, err := r.beginAt(e, step, at)
	if err != nil {
		return e, Execution{}, nil, err
	}
	if qty, err = m.quantity(qty, "split quantity", true); err != nil {
		return e, Execution{}, nil, err
	}
	open := add(p.Waiting, p.InProcess)
	if greater(qty, open) {
		return e, Execution{}, nil, fmt.Errorf("%w: split of %s at step %s but only %s is waiting or in process there", ErrQuantity, qty, step, open)
	}
	waiting := qty
	if greater(qty, p.Waiting) {
		waiting = p.Waiting
	}
	inProcess := sub(qty, waiting)

	pm := &move{r: r, e: m.e.emptyCopy(qty), at: m.at}
	q := pm.e.steps[i]
	q.Received, q.Waiting, q.InProcess = qty, waiting, inProcess
	q.Paused, q.PauseReason = p.Paused && inProcess.IsPositive(), p.PauseReason
	q.FirstIn = p.FirstIn
	if r.Steps[i].Join {
		q.Arrivals = map[string]units.Quantity{"": qty}
		p.Arrivals[""] = sub(p.Arrivals[""], qty)
	}
	pm.credit(i, qty)

	p.Received = sub(p.Received, qty)
	p.Waiting = sub(p.Waiting, waiting)
	p.InProcess = sub(p.InProcess, inProcess)
	if !p.InProcess.IsPositive() {
		p.Paused, p.PauseReason = false, ""
	}
	m.e.Started = sub(m.e.Started, qty)

	if rest, fx, err = m.finish(); err != nil {
		return e, Execution{}, nil, err
	}
	if part, _, err = pm.finish(); err != nil {
		return e, Execution{}, nil, err
	}
	return rest, part, fx, nil
}

// emptyCopy returns a lot of qty on the same routing with empty books; skip decisions carry
// over.
func (e Execution) emptyCopy(qty units.Quantity) Execution {
	zero := sub(qty, qty)
	n := Execution{Routing: e.Routing, Revision: e.Revision, Unit: e.Unit, Started: qty, Finished: zero, steps: make([]*StepProgress, len(e.steps))}
	zb := Books{Received: zero, Waiting: zero, InProcess: zero, Good: zero, Scrap: zero, Rework: zero, MovedBack: zero, Skipped: zero, Loss: zero, Forwarded: zero}
	for i, p := range e.steps {
		n.steps[i] = &StepProgress{Step: p.Step, Books: zb, SkipReason: p.SkipReason}
	}
	return n
}

// Merge adds other into into: both must be lots on this routing revision with quantity
// waiting or in process at one same step, and other must have open quantity at that step
// only, and both must have decided alike about skipping every step either can still reach
// (the merged lot keeps into's decisions). Books are added step by step (the inverse of
// Split).
func (r *Routing) Merge(into, other Execution, at time.Time) (Execution, []Effect, error) {
	m, err := r.begin(into, at)
	if err != nil {
		return into, nil, err
	}
	if _, err := r.begin(other, at); err != nil {
		return into, nil, err
	}
	if into.Unit != other.Unit {
		return into, nil, fmt.Errorf("%w: lots are in %s and %s; merge lots of one unit", ErrQuantity, into.Unit, other.Unit)
	}
	var at1 []int
	for i, p := range other.steps {
		if p.Waiting.IsPositive() || p.InProcess.IsPositive() {
			at1 = append(at1, i)
		}
	}
	if len(at1) != 1 {
		return into, nil, fmt.Errorf("%w: the lot to merge has open quantity at %d steps; merge a lot that is at one step", ErrWrongState, len(at1))
	}
	s := at1[0]
	a, b := m.e.steps[s], other.steps[s]
	if !a.Waiting.IsPositive() && !a.InProcess.IsPositive() {
		return into, nil, fmt.Errorf("%w: step %s is %s for the receiving lot; merge lots that are both at the step", ErrWrongState, a.Step, a.State())
	}
	if a.InProcess.IsPositive() && b.InProcess.IsPositive() && a.Paused != b.Paused {
		return into, nil, fmt.Errorf("%w: step %s is paused for one lot and running for the other; pause or resume both first", ErrWrongState, a.Step)
	}
	for i, o := range other.steps {
		if p := into.steps[i]; p.SkipReason != o.SkipReason && !(p.Done && o.Done) {
			return into, nil, fmt.Errorf("%w: step %s is skipped for one lot and not for the other; skip it for both, or for neither, before merging them", ErrWrongState, p.Step)
		}
	}
	m.e.Started = add(m.e.Started, other.Started)
	m.e.Finished = add(m.e.Finished, other.Finished)
	for i, o := range other.steps {
		mergeStep(m.mut(i), o)
	}
	for k, st := range r.Steps {
		if st.Join && !m.joinReceived(k).Equal(m.e.steps[k].Received) {
			return into, nil, fmt.Errorf("%w: the lots are part-way through different parallel branches before join %s; merge them after the join", ErrWrongState, st.ID)
		}
	}
	return m.finish()
}

// mergeStep adds the books of o into p.
func mergeStep(p, o *StepProgress) {
	b := &p.Books
	b.Received, b.Waiting, b.InProcess = add(b.Received, o.Received), add(b.Waiting, o.Waiting), add(b.InProcess, o.InProcess)
	b.Good, b.Scrap, b.Rework = add(b.Good, o.Good), add(b.Scrap, o.Scrap), add(b.Rework, o.Rework)
	b.MovedBack, b.Skipped, b.Loss, b.Forwarded = add(b.MovedBack, o.MovedBack), add(b.Skipped, o.Skipped), add(b.Loss, o.Loss), add(b.Forwarded, o.Forwarded)
	for reason, q := range o.ScrapByReason {
		if b.ScrapByReason == nil {
			b.ScrapByReason = map[string]units.Quantity{}
		}
		b.ScrapByReason[reason] = add(b.ScrapByReason[reason], q)
	}
	for _, h := range o.Held {
		j := slices.IndexFunc(p.Held, func(t HeldQty) bool { return t.To == h.To })
		if j < 0 {
			p.Held = append(p.Held, h)
		} else {
			p.Held[j].Qty = add(p.Held[j].Qty, h.Qty)
		}
	}
	for from, q := range o.Arrivals {
		if p.Arrivals == nil {
			p.Arrivals = map[string]units.Quantity{}
		}
		p.Arrivals[from] = add(p.Arrivals[from], q)
	}
	if o.InProcess.IsPositive() && o.Paused {
		p.Paused, p.PauseReason = true, o.PauseReason
	}
	if p.FirstIn.IsZero() || (!o.FirstIn.IsZero() && o.FirstIn.Before(p.FirstIn)) {
		p.FirstIn = o.FirstIn
	}
	if o.LastOut.After(p.LastOut) {
		p.LastOut = o.LastOut
	}
}

// ReadyState says whether work waiting at a step can start, or why not.
type ReadyState string

// Ready states, as a supervisor and dispatch see them.
const (
	Ready               ReadyState = "ready"
	WaitingForPrevious  ReadyState = "waiting-for-previous"
	WaitingForMaterial  ReadyState = "waiting-for-material"
	WaitingForEquipment ReadyState = "waiting-for-equipment"
	Paused              ReadyState = "paused"
	Running             ReadyState = "running" // all quantity here is in process
	Done                ReadyState = "done"    // nothing more to do here
)

// Facts are what the engine knows about the floor; a nil func means "available".
type Facts struct {
	// MaterialAvailable reports whether need of a component is available to the step.
	MaterialAvailable func(component string, need units.Quantity) bool
	// EquipmentAvailable reports whether a work center can take the work now.
	EquipmentAvailable func(workCenter string) bool
}

// Readiness is the ready state of a lot at a step and, when it is not ready, why.
type Readiness struct {
	State ReadyState
	Why   string
}

// Readiness computes whether the quantity waiting at a step can be tracked in: the routing
// knows what has arrived; material and equipment availability come from facts. Dispatch and
// the supervisor view use this one rule.
func (r *Routing) Readiness(e Execution, step string, facts Facts) (Readiness, error) {
	if err := r.check(e); err != nil {
		return Readiness{}, err
	}
	i, ok := r.c.index[step]
	if !ok {
		return Readiness{}, fmt.Errorf("%w %q in routing %s rev %s", ErrUnknownStep, step, r.ID, r.Revision)
	}
	s, p := r.Steps[i], e.steps[i]
	switch {
	case e.AbortReason != "":
		return Readiness{Done, "lot aborted: " + e.AbortReason}, nil
	case p.SkipReason != "":
		return Readiness{Done, "skipped: " + p.SkipReason}, nil
	case p.Paused:
		return Readiness{Paused, p.PauseReason}, nil
	case !p.Waiting.IsPositive() && p.InProcess.IsPositive():
		return Readiness{Running, p.InProcess.String() + " in process"}, nil
	case !p.Waiting.IsPositive() && p.Done:
		return Readiness{Done, string(p.State())}, nil
	case !p.Waiting.IsPositive():
		return Readiness{WaitingForPrevious, "nothing has arrived from the previous step yet"}, nil
	}
	if facts.MaterialAvailable != nil {
		for _, mat := range s.Materials {
			need := mat.PerUnit.Mul(p.Waiting.Value())
			if !facts.MaterialAvailable(mat.Component, need) {
				return Readiness{WaitingForMaterial, fmt.Sprintf("%s: %s needed", mat.Component, need)}, nil
			}
		}
	}
	if facts.EquipmentAvailable != nil && s.WorkCenter != "" {
		if !slices.ContainsFunc(append([]string{s.WorkCenter}, s.Alternates...), facts.EquipmentAvailable) {
			return Readiness{WaitingForEquipment, fmt.Sprintf("no work center of %v is available", append([]string{s.WorkCenter}, s.Alternates...))}, nil
		}
	}
	return Readiness{Ready, p.Waiting.String() + " waiting"}, nil
}
