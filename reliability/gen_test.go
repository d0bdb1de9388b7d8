package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

// command is one generated call of the public API. run is pure over its plant and options,
// so the same command runs on several plants (differential testing) or again (a retry).
type command struct {
	n        int
	kind     string
	desc     string
	actor    mes.Actor
	key      string // idempotency key, "" for none
	reason   string
	where    string
	event    string // event type a success must emit; "" when it depends
	mustFail error  // the command is invalid: it must fail, wrapping this (ErrInvalid-ish: any error when it is errAny)
	lots     []string
	wos      []string
	serials  []string
	run      func(ctx context.Context, p *mes.Plant, opts []mes.CommandOption) (any, error)
	retryOf  *command // the command this one retries with the same key
	result   string   // JSON of the first successful result
	ok       bool     // the command succeeded
}

// errAny marks a command that must fail, for whatever reason the engine names.
var errAny = fmt.Errorf("any error")

func (c *command) opts() []mes.CommandOption {
	o := []mes.CommandOption{mes.By(c.actor)}
	if c.key != "" {
		o = append(o, mes.IdempotencyKey(c.key))
	}
	if c.reason != "" {
		o = append(o, mes.Reason(c.reason))
	}
	if c.where != "" {
		o = append(o, mes.On(c.where))
	}
	return o
}

func (c *command) String() string {
	s := fmt.Sprintf("#%d %s %s (actor %s", c.n, c.kind, c.desc, c.actor.ID)
	if c.key != "" {
		s += ", key " + c.key
	}
	if c.where != "" {
		s += ", on " + c.where
	}
	if c.mustFail != nil {
		s += ", invalid"
	}
	return s + ")"
}

// generator issues random commands from a seed. It reads the plant through the public API
// to choose plausible arguments (a step with quantity waiting, a quantity that fits), and
// deliberately makes some commands invalid.
type generator struct {
	ctx     context.Context
	rnd     *rand.Rand
	p       *mes.Plant // the plant the generator reads to choose arguments
	ck      *checker   // the lots, orders and holds known so far
	clock   *fakeClock
	prefix  string // makes numbers and keys unique per generator (crash children)
	n       int
	wos     []string // work order ids, in creation order
	keyed   []*command
	seq     uint64 // signal sequence of the PLC
	nextRcv int
	nextWO  int
}

func newGenerator(ctx context.Context, seed uint64, p *mes.Plant, ck *checker, clock *fakeClock, prefix string) *generator {
	return &generator{ctx: ctx, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), p: p, ck: ck, clock: clock, prefix: prefix}
}

type weighted struct {
	w    int
	make func(*command)
}

// next returns the next command.
func (g *generator) next() *command {
	g.n++
	g.clock.advance(time.Duration(1+g.rnd.IntN(60)) * time.Second)
	if len(g.keyed) > 0 && g.rnd.IntN(100) < 6 {
		return g.retry()
	}
	c := &command{n: g.n, actor: people[g.rnd.IntN(len(people))]}
	if g.rnd.IntN(2) == 0 {
		c.key = fmt.Sprintf("%sk%d", g.prefix, g.n)
	}
	table := []weighted{
		{5, g.createWorkOrder}, {4, g.releaseWorkOrder}, {3, g.workOrderMove}, {2, g.setPriority}, {2, g.splitOrMergeWO},
		{6, g.startLot}, {16, g.trackIn}, {16, g.trackOut}, {4, g.lotMove},
		{3, g.split}, {3, g.merge}, {3, g.receive}, {3, g.consume}, {2, g.shipOrAdjust},
		{3, g.placeHold}, {4, g.releaseHold}, {7, g.inspect}, {4, g.labor}, {3, g.signals},
		{4, g.serial},
	}
	total := 0
	for _, w := range table {
		total += w.w
	}
	r := g.rnd.IntN(total)
	for _, w := range table {
		if r < w.w {
			w.make(c)
			break
		}
		r -= w.w
	}
	switch {
	case g.rnd.IntN(200) == 0: // someone without authority
		c.actor, c.mustFail = eve, mes.ErrUnauthorized
	case g.rnd.IntN(40) == 0 && len(g.keyed) > 0: // a key applied to another command
		prior := g.keyed[g.rnd.IntN(len(g.keyed))]
		if prior.ok && prior.kind != c.kind {
			c.key, c.mustFail = prior.key, mes.ErrIdempotencyKeyReused
		}
	}
	if c.key != "" && c.mustFail != mes.ErrIdempotencyKeyReused {
		if len(g.keyed) == 64 {
			g.keyed = g.keyed[1:]
		}
		g.keyed = append(g.keyed, c)
	}
	return c
}

// retry sends a keyed command again, as a device or an ERP does after a lost reply.
func (g *generator) retry() *command {
	prior := g.keyed[g.rnd.IntN(len(g.keyed))]
	c := *prior
	c.n, c.retryOf, c.result, c.ok = g.n, prior, "", false
	c.desc = fmt.Sprintf("retry of #%d: %s", prior.n, prior.desc)
	// A retry of an applied command must return its result; one of a command that was
	// refused is a new attempt, which the state decides.
	c.mustFail = nil
	return &c
}

// recent picks from the last 40 items mostly, so long runs keep working on live objects.
func recent[T any](g *generator, items []T) (T, bool) {
	var zero T
	if len(items) == 0 {
		return zero, false
	}
	lo := 0
	if len(items) > 40 && g.rnd.IntN(10) > 0 {
		lo = len(items) - 40
	}
	return items[lo+g.rnd.IntN(len(items)-lo)], true
}

func (g *generator) pickWO() (mes.WorkOrder, bool) {
	id, ok := recent(g, g.wos)
	if !ok {
		return mes.WorkOrder{}, false
	}
	wo, err := g.p.WorkOrder(g.ctx, id)
	return wo, err == nil
}

// pickWOIn picks a work order in one of statuses, trying a few times, else any.
func (g *generator) pickWOIn(statuses ...mes.WorkOrderStatus) (mes.WorkOrder, bool) {
	for range 5 {
		if wo, ok := g.pickWO(); ok && slices.Contains(statuses, wo.Status) {
			return wo, true
		}
	}
	return g.pickWO()
}

// pickLot picks a known lot that satisfies want, trying a few times.
func (g *generator) pickLot(want func(mes.Lot) bool) (mes.Lot, bool) {
	for range 6 {
		id, ok := recent(g, g.ck.order)
		if !ok {
			return mes.Lot{}, false
		}
		l, err := g.p.Lot(g.ctx, id)
		if err == nil && want(l) {
			return l, true
		}
	}
	return mes.Lot{}, false
}

// findLot looks through the 80 newest lots, in random order, for one that satisfies want:
// for lots too rare for pickLot's few tries.
func (g *generator) findLot(want func(mes.Lot) bool) (mes.Lot, bool) {
	ids := g.ck.order[max(0, len(g.ck.order)-80):]
	for _, i := range g.rnd.Perm(len(ids)) {
		if l, err := g.p.Lot(g.ctx, ids[i]); err == nil && want(l) {
			return l, true
		}
	}
	return mes.Lot{}, false
}

func onRouting(l mes.Lot) bool { return l.Execution != nil && l.Execution.Running() }

func isMaterial(l mes.Lot) bool { return l.Execution == nil && l.OnHand.IsPositive() }

func ea(n int64) units.Quantity { q, _ := units.FromInt(n, "ea"); return q }

func (g *generator) qty(q units.Quantity, unit string) units.Quantity {
	out, _ := units.New(q.Value(), units.Unit(unit))
	return out
}

// upTo returns a whole quantity in [1, max] (max when max < 1).
func (g *generator) upTo(max units.Quantity) units.Quantity {
	n := max.Value().IntPart()
	if n < 1 {
		return max
	}
	if g.rnd.IntN(3) == 0 {
		return max
	}
	return g.qty(ea(1+g.rnd.Int64N(n)), string(max.Unit()))
}

// unknown is a fresh id nothing has: commands naming it must fail.
func (g *generator) unknown(what string) string {
	return fmt.Sprintf("%sno-such-%s-%d", g.prefix, what, g.n)
}

func (g *generator) createWorkOrder(c *command) {
	g.nextWO++
	in := mes.NewWorkOrder{Site: site, Number: fmt.Sprintf("%sWO-%d", g.prefix, g.nextWO), Product: product,
		Qty: ea(int64(1 + g.rnd.IntN(60))), Due: g.clock.Now().Add(72 * time.Hour), Priority: g.rnd.IntN(10)}
	c.kind, c.event, c.actor = "create_wo", "workorder.created", admin
	switch g.rnd.IntN(12) {
	case 0:
		in.Qty = ea(0)
		c.mustFail = mes.ErrInvalid
	case 1:
		if wo, ok := g.pickWO(); ok {
			in.Number, c.mustFail = wo.Number, mes.ErrDuplicate
		}
	case 2:
		in.Site = g.unknown("site")
		c.mustFail = errAny
	}
	c.desc = fmt.Sprintf("%s %s of %s in %s", in.Number, in.Qty, in.Product, in.Site)
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		wo, err := p.CreateWorkOrder(ctx, in, o...)
		if err == nil {
			g.remember(wo.ID)
		}
		return wo, err
	}
}

// remember adds a work order the generator created (once, whichever plant created it).
func (g *generator) remember(id string) {
	if !slices.Contains(g.wos, id) {
		g.wos = append(g.wos, id)
	}
}

func (g *generator) woCommand(c *command, kind, event string, id string, call func(*mes.Plant, context.Context, string, ...mes.CommandOption) (mes.WorkOrder, error)) {
	c.kind, c.event, c.wos = kind, event, []string{id}
	c.desc = "work order " + id
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return call(p, ctx, id, o...)
	}
}

func (g *generator) releaseWorkOrder(c *command) {
	wo, ok := g.pickWOIn(mes.StatusCreated)
	id := wo.ID
	if !ok || g.rnd.IntN(15) == 0 {
		id, c.mustFail = g.unknown("wo"), mes.ErrNotFound
	}
	g.woCommand(c, "release_wo", "workorder.released", id, (*mes.Plant).ReleaseWorkOrder)
}

func (g *generator) workOrderMove(c *command) {
	wo, ok := g.pickWO()
	if !ok {
		g.releaseWorkOrder(c)
		return
	}
	switch g.rnd.IntN(4) {
	case 0:
		g.woCommand(c, "start_wo", "workorder.started", wo.ID, (*mes.Plant).StartWorkOrder)
	case 1:
		g.woCommand(c, "complete_wo", "workorder.completed", wo.ID, (*mes.Plant).CompleteWorkOrder)
	case 2:
		g.woCommand(c, "close_wo", "workorder.closed", wo.ID, (*mes.Plant).CloseWorkOrder)
	default:
		g.woCommand(c, "cancel_wo", "workorder.cancelled", wo.ID, (*mes.Plant).CancelWorkOrder)
		if g.rnd.IntN(3) > 0 { // most orders stay; a cancel without reason is refused
			c.mustFail = errAny
		} else {
			c.reason = "customer cancelled"
		}
	}
	if wo.Status == mes.StatusClosed || wo.Status == mes.StatusCancelled {
		c.mustFail = mes.ErrWrongState
	}
}

func (g *generator) setPriority(c *command) {
	wo, ok := g.pickWO()
	if !ok {
		g.createWorkOrder(c)
		return
	}
	prio := g.rnd.IntN(20) - 5
	if g.rnd.IntN(10) == 0 {
		prio, c.mustFail = 5000, mes.ErrInvalid
	}
	c.kind, c.event, c.wos, c.desc = "priority", "workorder.priority_changed", []string{wo.ID}, fmt.Sprintf("%s to %d", wo.Number, prio)
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.SetWorkOrderPriority(ctx, wo.ID, prio, o...)
	}
}

func (g *generator) startLot(c *command) {
	wo, ok := g.pickWOIn(mes.StatusReleased, mes.StatusRunning)
	if !ok {
		g.createWorkOrder(c)
		return
	}
	rest, _ := wo.Qty.Sub(wo.Started)
	qty := g.upTo(rest)
	switch g.rnd.IntN(10) {
	case 0:
		qty, _ = rest.Add(ea(int64(1 + g.rnd.IntN(5))))
		c.mustFail = mes.ErrInvalid
	case 1:
		qty = units.MustParse("2 kg")
		c.mustFail = mes.ErrInvalid
	}
	if !qty.IsPositive() {
		c.mustFail = errAny
	}
	c.kind, c.event, c.wos, c.desc = "start_lot", "lot.started", []string{wo.ID}, fmt.Sprintf("%s of %s", qty, wo.Number)
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.StartLot(ctx, wo.ID, qty, o...)
	}
}

// lotStep picks a lot on its routing and a step, mostly one where have holds.
func (g *generator) lotStep(have func(routing.Books) bool) (mes.Lot, string, bool) {
	return g.lotStepWhere(func(p routing.StepProgress) bool { return have(p.Books) })
}

func (g *generator) lotStepWhere(have func(routing.StepProgress) bool) (mes.Lot, string, bool) {
	if g.rnd.IntN(4) == 0 { // the last steps are reached rarely: look for a lot there
		if l, ok := g.findLot(func(l mes.Lot) bool {
			if !onRouting(l) {
				return false
			}
			p, err := l.Execution.Progress("30")
			return err == nil && have(p)
		}); ok {
			return l, "30", true
		}
	}
	l, ok := g.pickLot(onRouting)
	if !ok {
		return l, "", false
	}
	var good []string
	for _, s := range l.Execution.Steps() {
		if have(s) {
			good = append(good, s.Step)
		}
	}
	if len(good) > 0 && g.rnd.IntN(8) > 0 {
		return l, good[g.rnd.IntN(len(good))], true
	}
	return l, steps[g.rnd.IntN(len(steps))], true
}

// where picks the equipment a command names: none, the right one, or a wrong one.
func (g *generator) where(step string) string {
	switch g.rnd.IntN(12) {
	case 0, 1:
		return ""
	case 2:
		return "QC" // right for step 20 only
	}
	switch step {
	case "10", "R10":
		return []string{"CNC", machine, "LATHE"}[g.rnd.IntN(3)]
	case "20":
		return "QC"
	}
	return "ASSY"
}

func (g *generator) heldLot(l mes.Lot) bool {
	for _, h := range g.ck.holds {
		if h.Target.Kind == quality.OnLot && h.Target.ID == l.ID {
			return true
		}
	}
	return false
}

// covered reports whether an active hold covers the lot, its order, its material or the
// inspection work center QC.
func (g *generator) covered(l mes.Lot) bool {
	s := quality.Subject{Lot: l.ID, WorkOrder: l.WorkOrder, Material: l.Material, SupplierLot: l.SupplierLot, Equipment: "QC"}
	for _, h := range g.ck.holds {
		if h.Target.Covers(s) {
			return true
		}
	}
	return false
}

func (g *generator) trackIn(c *command) {
	l, step, ok := g.lotStep(func(b routing.Books) bool { return b.Waiting.IsPositive() })
	if !ok {
		g.startLot(c)
		return
	}
	b := stepQty(l, step)
	var qty units.Quantity // zero: all that waits
	switch r := g.rnd.IntN(10); {
	case r < 5 && b.Waiting.IsPositive():
		qty = g.upTo(b.Waiting)
	case r == 5:
		qty, _ = b.Waiting.Add(ea(int64(1 + g.rnd.IntN(3))))
		c.mustFail = errAny
	case r == 6:
		qty, c.mustFail = units.MustParse("1 kg"), errAny
	}
	if !b.Waiting.IsPositive() {
		c.mustFail = errAny
	}
	if g.heldLot(l) {
		c.mustFail = mes.ErrOnHold
	}
	c.kind, c.event, c.lots, c.wos, c.where = "track_in", "lot.tracked_in", []string{l.ID}, []string{l.WorkOrder}, g.where(step)
	c.desc = fmt.Sprintf("%s at %s qty %v", l.ID, step, qty)
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.TrackIn(ctx, l.ID, step, qty, o...)
	}
}

func (g *generator) trackOut(c *command) {
	l, step, ok := g.lotStep(func(b routing.Books) bool { return b.InProcess.IsPositive() })
	if !ok {
		g.trackIn(c)
		return
	}
	b := stepQty(l, step)
	n := b.InProcess.Value().IntPart()
	out := routing.Outcome{Good: ea(0)}
	if n > 0 {
		take := 1 + g.rnd.Int64N(n)
		if g.rnd.IntN(3) == 0 {
			take = n
		}
		scrap := g.rnd.Int64N(take/4 + 1)
		rework := int64(0)
		if g.rnd.IntN(4) == 0 {
			rework = g.rnd.Int64N((take-scrap)/3 + 1)
		}
		out.Good = ea(take - scrap - rework)
		if scrap > 0 {
			out.Scrap = []routing.ScrapLine{{Qty: ea(scrap), Reason: []string{"CHATTER", "BURR"}[g.rnd.IntN(2)]}}
		}
		if rework > 0 {
			out.Rework = routing.ReworkLine{Qty: ea(rework), To: "R10", Reason: "BORE-OVERSIZE"}
		}
		out.Final = g.rnd.IntN(5) == 0
		if out.Final && take == n && g.rnd.IntN(2) == 0 && out.Good.IsPositive() {
			out.Good = ea(take - scrap - rework - 1) // one piece lost in process
		}
	}
	switch g.rnd.IntN(14) {
	case 0:
		out.Good, _ = b.InProcess.Add(ea(int64(2 + g.rnd.IntN(3))))
		out.Final, out.Scrap, out.Rework = false, nil, routing.ReworkLine{}
		c.mustFail = errAny
	case 1:
		out.Good, c.mustFail = units.MustParse("3 kg"), errAny
	}
	if n == 0 && !out.Final {
		c.mustFail = errAny
	}
	if g.heldLot(l) {
		c.mustFail = mes.ErrOnHold
	}
	c.kind, c.event, c.lots, c.wos, c.where = "track_out", "lot.tracked_out", []string{l.ID}, []string{l.WorkOrder}, g.where(step)
	c.desc = fmt.Sprintf("%s at %s good %s scrap %v rework %v final %v", l.ID, step, out.Good, out.Scrap, out.Rework.Qty, out.Final)
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.TrackOut(ctx, l.ID, step, out, o...)
	}
}

func (g *generator) lotMove(c *command) {
	kind := g.rnd.IntN(10)
	l, step, ok := g.lotStep(func(b routing.Books) bool { return b.InProcess.IsPositive() || b.Waiting.IsPositive() })
	switch kind {
	case 0, 1, 2: // pause what is in process
		l, step, ok = g.lotStep(func(b routing.Books) bool { return b.InProcess.IsPositive() })
	case 3, 4, 5: // resume what is paused
		l, step, ok = g.lotStepWhere(func(p routing.StepProgress) bool { return p.Paused })
	}
	if !ok {
		g.startLot(c)
		return
	}
	c.lots, c.wos, c.event, c.reason = []string{l.ID}, []string{l.WorkOrder}, "lot.step_moved", "generated"
	c.desc = fmt.Sprintf("%s at %s", l.ID, step)
	switch kind {
	case 0, 1, 2:
		c.kind = "pause"
		c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
			return p.PauseLot(ctx, l.ID, step, o...)
		}
	case 3, 4, 5:
		c.kind, c.reason = "resume", ""
		c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
			return p.ResumeLot(ctx, l.ID, step, o...)
		}
	case 6, 7:
		c.kind = "skip"
		c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
			return p.SkipStep(ctx, l.ID, step, o...)
		}
	case 8:
		c.kind = "move_back"
		to := steps[g.rnd.IntN(len(steps))]
		for i, sp := range l.Execution.Steps() {
			if sp.Step == step && i > 0 && g.rnd.IntN(4) > 0 {
				to = steps[g.rnd.IntN(i)] // an earlier step (every lot is on the one routing)
			}
		}
		qty := g.upTo(stepQty(l, step).Waiting)
		c.desc += fmt.Sprintf(" to %s qty %s", to, qty)
		c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
			return p.MoveBack(ctx, l.ID, step, to, qty, o...)
		}
	default:
		if g.rnd.IntN(4) > 0 {
			c.kind = "pause"
			c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
				return p.PauseLot(ctx, l.ID, step, o...)
			}
			return
		}
		c.kind, c.desc = "abort", l.ID
		c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
			return p.AbortLot(ctx, l.ID, o...)
		}
	}
}

func (g *generator) split(c *command) {
	c.kind, c.event = "split", "lot.split"
	if g.rnd.IntN(3) == 0 {
		l, ok := g.pickLot(isMaterial)
		if !ok {
			g.receive(c)
			return
		}
		qty := g.upTo(l.OnHand)
		if qty.Equal(l.OnHand) && g.rnd.IntN(2) == 0 {
			qty, _ = qty.Add(g.qty(ea(1), string(qty.Unit())))
			c.mustFail = errAny
		}
		c.lots, c.desc = []string{l.ID}, fmt.Sprintf("material %s %s", l.ID, qty)
		c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
			return p.SplitLot(ctx, l.ID, "", qty, o...)
		}
		return
	}
	l, step, ok := g.lotStep(func(b routing.Books) bool { return b.Waiting.IsPositive() || b.InProcess.IsPositive() })
	if !ok {
		g.startLot(c)
		return
	}
	b := stepQty(l, step)
	open, _ := b.Waiting.Add(b.InProcess)
	qty := g.upTo(open)
	if g.rnd.IntN(8) == 0 {
		qty, _ = open.Add(ea(1))
		c.mustFail = errAny
	}
	if !qty.IsPositive() {
		c.mustFail = errAny
	}
	if g.heldLot(l) {
		c.mustFail = mes.ErrOnHold
	}
	c.lots, c.wos, c.desc = []string{l.ID}, []string{l.WorkOrder}, fmt.Sprintf("%s at %s qty %s", l.ID, step, qty)
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.SplitLot(ctx, l.ID, step, qty, o...)
	}
}

func (g *generator) merge(c *command) {
	c.kind, c.event = "merge", "lot.merged"
	a, ok := g.pickLot(func(l mes.Lot) bool { return onRouting(l) || isMaterial(l) })
	if !ok {
		g.split(c)
		return
	}
	// Prefer a partner of the same work order (or material), often a sublot of a.
	b, ok := g.pickLot(func(l mes.Lot) bool {
		same := l.WorkOrder == a.WorkOrder && l.Material == a.Material && (l.Execution == nil) == (a.Execution == nil)
		return l.ID != a.ID && (same || g.rnd.IntN(8) == 0)
	})
	if !ok {
		b.ID = g.unknown("lot")
		c.mustFail = mes.ErrNotFound
	}
	if g.heldLot(a) || g.heldLot(b) {
		c.mustFail = mes.ErrOnHold
	}
	c.lots, c.wos, c.desc = []string{a.ID, b.ID}, []string{a.WorkOrder}, fmt.Sprintf("%s into %s", b.ID, a.ID)
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.MergeLots(ctx, a.ID, b.ID, o...)
	}
}

func (g *generator) receive(c *command) {
	g.nextRcv++
	in := mes.Receipt{Site: site, Lot: fmt.Sprintf("%sRCV-%d", g.prefix, g.nextRcv), Material: sealKit, Qty: ea(int64(5 + g.rnd.IntN(60))),
		Supplier: "ACME", SupplierLot: fmt.Sprintf("A-%d", g.rnd.IntN(5))}
	switch g.rnd.IntN(5) {
	case 0, 1:
		in.Material, in.Qty = steel, units.MustParse(fmt.Sprintf("%d.5 kg", 1+g.rnd.IntN(90)))
	case 2:
		in.Material, in.Qty = motor, ea(int64(1+g.rnd.IntN(6)))
	}
	switch g.rnd.IntN(12) {
	case 0:
		in.Qty, c.mustFail = units.MustParse("4 m"), mes.ErrInvalid // wrong unit for the material
	case 1:
		in.Material, c.mustFail = g.unknown("material"), mes.ErrNotFound
	case 2:
		if l, ok := g.pickLot(func(mes.Lot) bool { return true }); ok {
			in.Lot, c.mustFail = l.ID, mes.ErrDuplicate
		}
	}
	c.kind, c.event, c.actor, c.desc = "receive", "lot.received", admin, fmt.Sprintf("%s %s of %s", in.Lot, in.Qty, in.Material)
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.ReceiveLot(ctx, in, o...)
	}
}

func (g *generator) consume(c *command) {
	from, ok := g.pickLot(isMaterial)
	if !ok {
		g.receive(c)
		return
	}
	into, ok := g.pickLot(onRouting)
	if !ok {
		g.startLot(c)
		return
	}
	cycle := false
	if g.rnd.IntN(3) == 0 {
		// An edge the levels alone cannot accept (genealogy.NeedsLift): material of a
		// sublot (level 1 or more) into a lot that already gave material to others, which
		// genealogy.Lift raises with the lots below it; or into the sublot's own parent,
		// a cycle the engine must refuse.
		sub, ok := g.findLot(func(l mes.Lot) bool { return isMaterial(l) && l.Parent != "" })
		if !ok { // make one: a material sublot
			g.split(c)
			return
		}
		{
			from = sub
			if g.rnd.IntN(4) == 0 {
				if parent, err := g.p.Lot(g.ctx, sub.Parent); err == nil {
					into, cycle = parent, true
				}
			} else if fed, ok := g.findLot(func(l mes.Lot) bool { return onRouting(l) && l.HasOutputs && l.Level <= sub.Level }); ok {
				into = fed
			}
		}
	}
	step := steps[g.rnd.IntN(len(steps))]
	qty := g.upTo(from.OnHand)
	switch g.rnd.IntN(8) {
	case 0:
		qty, _ = from.OnHand.Add(g.qty(ea(1), string(from.OnHand.Unit())))
		c.mustFail = errAny
	case 1:
		if from.OnHand.Unit() == "kg" {
			qty, c.mustFail = ea(1), errAny
		} else {
			qty, c.mustFail = units.MustParse("1 kg"), errAny
		}
	}
	if g.heldLot(from) || g.heldLot(into) {
		c.mustFail = mes.ErrOnHold
	}
	if cycle {
		c.mustFail = errAny
	}
	c.kind, c.event, c.lots, c.wos = "consume", "material.consumed", []string{from.ID, into.ID}, []string{into.WorkOrder}
	c.desc = fmt.Sprintf("%s of %s into %s at %s", qty, from.ID, into.ID, step)
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.ConsumeMaterial(ctx, from.ID, into.ID, step, qty, o...)
	}
}

func (g *generator) shipOrAdjust(c *command) {
	l, ok := g.pickLot(func(l mes.Lot) bool { return l.OnHand.IsPositive() && (l.Execution == nil || !l.Execution.Running()) })
	if !ok {
		l, ok = g.pickLot(func(mes.Lot) bool { return true })
		if !ok {
			g.receive(c)
			return
		}
		if onRouting(l) {
			c.mustFail = mes.ErrWrongState // still on its routing
		}
	}
	c.lots = []string{l.ID}
	if g.rnd.IntN(2) == 0 {
		qty := g.upTo(l.OnHand)
		sh := genealogy.Shipment{ID: fmt.Sprintf("%sSH-%d", g.prefix, g.n), Customer: "CUST-1"}
		if g.heldLot(l) {
			c.mustFail = mes.ErrOnHold
		}
		c.kind, c.event, c.desc = "ship", "lot.shipped", fmt.Sprintf("%s of %s", qty, l.ID)
		c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
			return p.ShipLot(ctx, l.ID, sh, qty, o...)
		}
		return
	}
	delta := g.qty(ea(int64(g.rnd.IntN(7)-3)), string(l.OnHand.Unit()))
	if delta.IsZero() {
		c.mustFail = errAny
	}
	c.kind, c.event, c.reason, c.desc = "adjust", "lot.adjusted", "cycle count", fmt.Sprintf("%s by %s", l.ID, delta)
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.AdjustLot(ctx, l.ID, delta, o...)
	}
}

func (g *generator) placeHold(c *command) {
	var t quality.Target
	switch r := g.rnd.IntN(10); {
	case r < 6:
		l, ok := g.pickLot(func(mes.Lot) bool { return true })
		if !ok {
			g.receive(c)
			return
		}
		t, c.lots = quality.Target{Kind: quality.OnLot, ID: l.ID}, []string{l.ID}
	case r < 8:
		wo, ok := g.pickWO()
		if !ok {
			g.createWorkOrder(c)
			return
		}
		t, c.wos = quality.Target{Kind: quality.OnWorkOrder, ID: wo.ID}, []string{wo.ID}
	case r == 8 && g.rnd.IntN(3) == 0:
		t = quality.Target{Kind: quality.OnEquipment, ID: []string{"CNC", machine, "QC", "ASSY"}[g.rnd.IntN(4)]}
	case r == 8:
		wo, ok := g.pickWO()
		if !ok {
			g.createWorkOrder(c)
			return
		}
		t, c.wos = quality.Target{Kind: quality.OnWorkOrder, ID: wo.ID}, []string{wo.ID}
	default:
		t = quality.Target{Kind: quality.OnMaterial, ID: sealKit, SupplierLot: fmt.Sprintf("A-%d", g.rnd.IntN(5))}
	}
	if g.rnd.IntN(12) == 0 {
		t.ID, c.mustFail = g.unknown("target"), mes.ErrNotFound
	}
	c.kind, c.event, c.desc = "hold", "hold.placed", t.String()
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.PlaceHold(ctx, site, t, "suspect", o...)
	}
}

func (g *generator) releaseHold(c *command) {
	ids := make([]string, 0, len(g.ck.holds))
	for id := range g.ck.holds {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	c.kind, c.event, c.reason = "release_hold", "hold.released", "cleared"
	id := g.unknown("hold")
	if len(ids) > 0 && g.rnd.IntN(10) > 0 {
		id = ids[g.rnd.IntN(len(ids))]
		for _, other := range ids { // holds on equipment, orders and materials block much: release them first
			if g.ck.holds[other].Target.Kind != quality.OnLot && g.rnd.IntN(2) == 0 {
				id = other
				break
			}
		}
	} else {
		c.mustFail = mes.ErrNotFound
	}
	if g.rnd.IntN(10) == 0 {
		c.reason, c.mustFail = "", errAny
	}
	c.desc = id
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.ReleaseHold(ctx, id, o...)
	}
}

func (g *generator) inspect(c *command) {
	l, ok := g.pickLot(func(l mes.Lot) bool {
		b := stepQty(l, "20")
		return onRouting(l) && (b.Waiting.IsPositive() || b.InProcess.IsPositive())
	})
	step := "20"
	if !ok {
		if l, ok = g.pickLot(onRouting); !ok {
			g.startLot(c)
			return
		}
		step = steps[g.rnd.IntN(len(steps))]
	}
	v := []string{"10.000", "10.010", "9.990", "10.040", "10.070", "10.300", "9.900"}[g.rnd.IntN(7)]
	results := []quality.Result{{Characteristic: "bore", Value: decimal.NewNullDecimal(decimal.RequireFromString(v)), Serial: fmt.Sprintf("S%d", 1+g.rnd.IntN(2))}}
	if g.rnd.IntN(12) == 0 {
		results[0].Characteristic, c.mustFail = "diameter", mes.ErrInvalid
	}
	c.kind, c.event, c.lots, c.wos, c.desc = "inspect", "inspection.recorded", []string{l.ID}, []string{l.WorkOrder}, fmt.Sprintf("%s at %s bore %s", l.ID, step, v)
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.RecordInspection(ctx, l.ID, step, results, o...)
	}
}

func (g *generator) labor(c *command) {
	who := c.actor
	c.kind = "labor"
	var call func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (mes.Booking, error)
	switch r := g.rnd.IntN(9); {
	case r == 0:
		c.desc = "clock in " + who.ID
		call = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (mes.Booking, error) {
			return p.ClockIn(ctx, who.ID, o...)
		}
	case r == 1:
		c.desc = "clock out " + who.ID
		call = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (mes.Booking, error) {
			return p.ClockOut(ctx, who.ID, o...)
		}
	case r == 2:
		c.desc = "break " + who.ID
		call = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (mes.Booking, error) {
			return p.StartBreak(ctx, who.ID, o...)
		}
	case r == 3:
		c.desc = "end break " + who.ID
		call = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (mes.Booking, error) {
			return p.EndBreak(ctx, who.ID, o...)
		}
	default:
		l, step, ok := g.lotStep(func(b routing.Books) bool { return b.Waiting.IsPositive() || b.InProcess.IsPositive() })
		if !ok {
			l.ID, step = g.unknown("lot"), "10"
			c.mustFail = mes.ErrNotFound
		}
		w := mes.Work{Lot: l.ID, Step: step, Activity: []labor.Activity{labor.Setup, labor.Run}[g.rnd.IntN(2)]}
		c.lots = []string{l.ID}
		if r < 7 {
			c.desc = fmt.Sprintf("start %s labor of %s on %s at %s", w.Activity, who.ID, l.ID, step)
			call = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (mes.Booking, error) {
				return p.StartLabor(ctx, who.ID, w, o...)
			}
		} else {
			c.desc = fmt.Sprintf("stop labor of %s on %s at %s", who.ID, l.ID, step)
			call = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (mes.Booking, error) {
				return p.StopLabor(ctx, who.ID, w, o...)
			}
		}
	}
	if g.rnd.IntN(15) == 0 { // booking for someone else is a person's own business
		c.actor = people[(slices.IndexFunc(people, func(a mes.Actor) bool { return a.ID == who.ID })+1)%len(people)]
		c.desc += " by " + c.actor.ID
	}
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) { return call(ctx, p, o) }
}

func (g *generator) signals(c *command) {
	n := 1 + g.rnd.IntN(4)
	var sigs []equipment.Signal
	for range n {
		g.seq++
		s := equipment.Signal{Source: g.prefix + plcID, Seq: g.seq, At: g.clock.Now().Add(-time.Duration(g.rnd.IntN(30)) * time.Second), Equipment: machine}
		if g.rnd.IntN(2) == 0 {
			s.Kind, s.Count = equipment.KindCount, &equipment.Count{Good: int64(g.rnd.IntN(5)), Reject: int64(g.rnd.IntN(2))}
		} else {
			st := []equipment.MachineState{equipment.Running, equipment.Idle, equipment.Down}[g.rnd.IntN(3)]
			s.Kind, s.State = equipment.KindState, &equipment.StateChange{State: st, Reason: "AUTO"}
		}
		sigs = append(sigs, s)
	}
	if g.rnd.IntN(5) == 0 && g.seq > 3 { // a duplicate of an earlier signal
		dup := sigs[0]
		dup.Seq = g.seq - uint64(1+g.rnd.IntN(3))
		sigs = append(sigs, dup)
	}
	if g.rnd.IntN(12) == 0 {
		sigs[0].Equipment, c.mustFail = g.unknown("machine"), mes.ErrInvalid
	}
	c.kind, c.actor, c.desc = "signals", plc, fmt.Sprintf("%d signals up to seq %d", len(sigs), g.seq)
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.IngestSignals(ctx, sigs, o...)
	}
}

// splitOrMergeWO splits a work order (a part of its quantity, with some of its lots) or
// merges one order back into another, often the two halves of an earlier split.
func (g *generator) splitOrMergeWO(c *command) {
	wo, ok := g.pickWOIn(mes.StatusCreated, mes.StatusReleased, mes.StatusRunning)
	if !ok {
		g.createWorkOrder(c)
		return
	}
	c.wos = []string{wo.ID}
	if g.rnd.IntN(3) > 0 {
		g.nextWO++
		number := fmt.Sprintf("%sWO-%d", g.prefix, g.nextWO)
		qty := g.qty(ea(1+g.rnd.Int64N(max(1, wo.Qty.Value().IntPart()-1))), "ea")
		if g.rnd.IntN(10) == 0 {
			qty, c.mustFail = wo.Qty, mes.ErrInvalid // nothing would remain
		}
		var lots []string
		if all, err := g.p.LotsOfWorkOrder(g.ctx, site, wo.ID); err == nil {
			for _, l := range all {
				if simpleLot(l) && g.rnd.IntN(3) == 0 {
					lots = append(lots, l.ID)
				}
			}
		}
		c.kind, c.event, c.lots = "split_wo", "workorder.split", lots
		c.desc = fmt.Sprintf("%s: %s with lots %v to %s", wo.Number, qty, lots, number)
		c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
			nw, err := p.SplitWorkOrder(ctx, wo.ID, number, qty, lots, o...)
			if err == nil {
				g.remember(nw.ID)
			}
			return nw, err
		}
		return
	}
	into, ok := g.pickWOIn(mes.StatusCreated, mes.StatusReleased, mes.StatusRunning)
	if !ok || into.ID == wo.ID {
		into.ID, c.mustFail = g.unknown("wo"), mes.ErrNotFound
	}
	c.kind, c.event, c.wos = "merge_wo", "workorder.merged", []string{into.ID, wo.ID}
	c.desc = fmt.Sprintf("%s into %s", wo.Number, into.Number)
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.MergeWorkOrders(ctx, into.ID, wo.ID, o...)
	}
}

// simpleLot reports whether a lot has no rework or split lineage and was not merged away:
// a lot SplitWorkOrder moves on its own (a lot family moves whole).
func simpleLot(l mes.Lot) bool { return l.Parent == "" && l.Children == 0 && !mergedAway(l) }

// heldLotID reports whether an active hold is placed on the lot itself.
func (g *generator) heldLotID(id string) bool {
	for _, h := range g.ck.holds {
		if h.Target.Kind == quality.OnLot && h.Target.ID == id {
			return true
		}
	}
	return false
}

// pickSerial picks a serial the log announced, mostly one that is still available.
func (g *generator) pickSerial(available bool) (string, bool) {
	for range 6 {
		id, ok := recent(g, g.ck.serialOrder)
		if !ok {
			return "", false
		}
		if (g.ck.serials[id].status == genealogy.Available) == available {
			return id, true
		}
	}
	return "", false
}

// serial numbers units of a received serial-tracked lot (SerializeUnits), assembles a
// serial or a lot's quantity into a serial (AssembleComponent), or ships a serial
// (ShipSerial); invalid ones number a lot-tracked material, reuse a serial number, build a
// serial into itself or use a serial already assembled or shipped.
func (g *generator) serial(c *command) {
	into, ok := g.pickSerial(true)
	r := g.rnd.IntN(3)
	if !ok || r == 0 {
		lot, ok := g.findLot(func(l mes.Lot) bool { return isMaterial(l) && l.Material == motor })
		if !ok {
			g.receive(c)
			return
		}
		n := 1 + g.rnd.IntN(3)
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("%sSN-%d-%d", g.prefix, g.n, i)
		}
		switch g.rnd.IntN(10) {
		case 0:
			if old, ok := recent(g, g.ck.serialOrder); ok {
				ids[0], c.mustFail = old, errAny // a serial number is unique
			}
		case 1:
			if other, ok := g.pickLot(func(l mes.Lot) bool { return isMaterial(l) && l.Material != motor }); ok {
				lot, c.mustFail = other, errAny // not serial-tracked
			}
		}
		if n > int(lot.OnHand.Value().IntPart()) {
			c.mustFail = errAny
		}
		if g.heldLot(lot) {
			c.mustFail = mes.ErrOnHold
		}
		c.kind, c.event, c.lots, c.serials = "serialize", "serial.created", []string{lot.ID}, ids
		c.desc = fmt.Sprintf("%v of %s", ids, lot.ID)
		c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
			return p.SerializeUnits(ctx, lot.ID, ids, o...)
		}
		return
	}
	if r == 1 {
		var component string
		qty := ea(1)
		switch k := g.rnd.IntN(10); {
		case k < 4:
			if component, ok = g.pickSerial(true); !ok || component == into {
				component, c.mustFail = into, errAny // into itself
			}
			c.serials = []string{into, component}
		case k == 4:
			if component, ok = g.pickSerial(false); !ok {
				component, c.mustFail = g.unknown("serial"), mes.ErrNotFound
			} else {
				c.mustFail = errAny // assembled or shipped already
			}
			c.serials = []string{into, component}
		default:
			lot, ok := g.pickLot(func(l mes.Lot) bool { return isMaterial(l) && l.Material == sealKit })
			if !ok {
				g.receive(c)
				return
			}
			component, c.lots, c.serials = lot.ID, []string{lot.ID}, []string{into}
			if g.heldLot(lot) {
				c.mustFail = mes.ErrOnHold
			}
		}
		for _, s := range c.serials {
			if ss := g.ck.serials[s]; ss != nil && g.heldLotID(ss.lot) {
				c.mustFail = mes.ErrOnHold
			}
		}
		c.kind, c.event, c.desc = "assemble", "serial.component_assembled", fmt.Sprintf("%s into %s at 30", component, into)
		c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
			return p.AssembleComponent(ctx, into, component, "30", qty, o...)
		}
		return
	}
	id := into
	if g.rnd.IntN(6) == 0 {
		if id, ok = g.pickSerial(false); !ok {
			id = g.unknown("serial")
		}
		c.mustFail = errAny // shipped or assembled already, or unknown
	}
	if ss := g.ck.serials[id]; ss != nil && g.heldLotID(ss.lot) {
		c.mustFail = mes.ErrOnHold
	}
	sh := genealogy.Shipment{ID: fmt.Sprintf("%sSH-%d", g.prefix, g.n), Customer: "CUST-1"}
	c.kind, c.event, c.serials, c.desc = "ship_serial", "serial.shipped", []string{id}, id
	c.run = func(ctx context.Context, p *mes.Plant, o []mes.CommandOption) (any, error) {
		return p.ShipSerial(ctx, id, sh, o...)
	}
}
