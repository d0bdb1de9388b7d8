package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// allowedStatus lists the work order transitions of the state machine (ARCHITECTURE.md):
// a status event that makes any other move is a violation.
var allowedStatus = map[mes.WorkOrderStatus][]mes.WorkOrderStatus{
	mes.StatusCreated:   {mes.StatusReleased, mes.StatusCancelled},
	mes.StatusReleased:  {mes.StatusRunning, mes.StatusCancelled},
	mes.StatusRunning:   {mes.StatusCompleted, mes.StatusCancelled},
	mes.StatusCompleted: {mes.StatusClosed},
}

// checker follows one plant's event log and audit chain and checks the invariants over
// what each command touched, and over everything on demand (sweep). It learns the lots,
// work orders and active holds from the event log only, so it needs no model of the
// engine's rules; a state change without its event would show up as a lot or order it does
// not know.
type checker struct {
	ctx   context.Context
	p     *mes.Plant
	head  uint64 // last event position read
	audit uint64 // last audit sequence read
	chain store.ChainVerifier

	lots  map[string]*lotSeen
	order []string                       // lot ids in the order events announced them
	wos   map[string]mes.WorkOrderStatus // the status each order's events led to
	holds map[string]quality.Hold        // active holds by id

	serials     map[string]*serialSeen // serial numbers, with the lot and status their events gave them
	serialOrder []string

	stats stats
}

// serialSeen is a serialised unit as its events left it.
type serialSeen struct {
	lot    string
	status genealogy.Status
}

type lotSeen struct {
	finished bool // its routing execution ended (completed or aborted): it never runs again
}

// stats are the figures a run reports.
type stats struct {
	Commands, Succeeded, Failed, Replays, Events, Audit, LotChecks, OrderChecks, Sweeps int
	// ByKind counts successes and failures of each kind of command.
	ByKind map[string]*[2]int
}

func newChecker(ctx context.Context, p *mes.Plant) *checker {
	return &checker{ctx: ctx, p: p, stats: stats{ByKind: map[string]*[2]int{}}, lots: map[string]*lotSeen{}, serials: map[string]*serialSeen{}, wos: map[string]mes.WorkOrderStatus{}, holds: map[string]quality.Hold{}}
}

// catchUp reads every event and audit record committed since the last call, checks that
// positions and sequence numbers are gap-free and the chain verifies, checks that no move
// event touched held material, and returns what was read.
func (c *checker) catchUp() ([]mes.Event, []mes.AuditRecord, error) {
	evs, err := c.p.ReadEvents(c.ctx, c.head, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("reading events after %d: %w", c.head, err)
	}
	for _, e := range evs {
		if e.Position != c.head+1 {
			return nil, nil, fmt.Errorf("event log has a gap: position %d follows %d", e.Position, c.head)
		}
		c.head = e.Position
	}
	recs, err := c.p.AuditTrail(c.ctx, c.audit, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("reading audit after %d: %w", c.audit, err)
	}
	for _, r := range recs {
		if err := c.chain.Check(r); err != nil {
			return nil, nil, fmt.Errorf("audit chain: %w", err)
		}
		c.audit = r.Seq
	}
	c.stats.Events += len(evs)
	c.stats.Audit += len(recs)
	if err := c.checkHeldNotMoved(evs); err != nil {
		return nil, nil, err
	}
	if err := c.learn(evs); err != nil {
		return nil, nil, err
	}
	return evs, recs, nil
}

// moved returns the lots an event moved and the equipment it names: the events a hold
// must prevent.
func moved(e mes.Event) (lots []string, equipment string) {
	switch v := e.Payload.(type) {
	case *mes.LotTrackedIn:
		return []string{v.Lot}, v.Equipment
	case *mes.LotTrackedOut:
		return []string{v.Lot}, v.Equipment
	case *mes.MaterialConsumed:
		return []string{v.From, v.Into}, ""
	case *mes.LotShipped:
		return []string{v.Lot}, ""
	case *mes.LotSplit:
		return []string{v.Lot}, ""
	case *mes.LotsMerged:
		return append([]string{v.Into}, v.Sources...), ""
	case *mes.UnitsSerialized:
		return []string{v.Lot}, ""
	}
	return nil, ""
}

// movedSerials returns the serials a serial event uses; their lots' holds cover them. A
// lot an event numbers or assembles is returned by moved.
func movedSerials(p mes.EventPayload) []string {
	switch v := p.(type) {
	case *mes.ComponentAssembled:
		return []string{v.Into, v.Component}
	case *mes.SerialShipped:
		return []string{v.Serial}
	}
	return nil
}

// checkHeldNotMoved: no event of the command moved a lot while a hold placed before the
// command covered it (the lot, its work order, its material or supplier lot, or the
// equipment named).
func (c *checker) checkHeldNotMoved(evs []mes.Event) error {
	if len(c.holds) == 0 {
		return nil
	}
	for _, e := range evs {
		lots, eq := moved(e)
		for _, s := range movedSerials(e.Payload) {
			if seen := c.serials[s]; seen != nil {
				lots = append(lots, seen.lot) // a unit is held through its lot
			}
		}
		for _, id := range lots {
			l, err := c.p.Lot(c.ctx, id)
			if err != nil {
				return fmt.Errorf("event %d (%s) names lot %q that cannot be read: %w", e.Position, e.Type, id, err)
			}
			s := quality.Subject{Lot: id, WorkOrder: l.WorkOrder, Equipment: eq, Material: l.Material, SupplierLot: l.SupplierLot}
			for _, h := range c.holds {
				if h.Target.Covers(s) {
					return fmt.Errorf("held material moved: event %d %s moved lot %s (equipment %q) while hold %s on %s was active",
						e.Position, e.Type, id, eq, h.ID, h.Target)
				}
			}
		}
	}
	return nil
}

// statusEvent returns the order and status an event moves a work order to, if it does.
func statusEvent(p mes.EventPayload) (id string, to mes.WorkOrderStatus, ok bool) {
	switch v := p.(type) {
	case *mes.WorkOrderReleased:
		return v.ID, mes.StatusReleased, true
	case *mes.WorkOrderStarted:
		return v.ID, mes.StatusRunning, true
	case *mes.WorkOrderCompleted:
		return v.ID, mes.StatusCompleted, true
	case *mes.WorkOrderClosed:
		return v.ID, mes.StatusClosed, true
	case *mes.WorkOrderCancelled:
		return v.ID, mes.StatusCancelled, true
	}
	return "", "", false
}

// learn records the lots, orders and holds the events name, and follows every work
// order's status through its events: each must be a transition of the state machine.
func (c *checker) learn(evs []mes.Event) error {
	for _, e := range evs {
		if id, to, ok := statusEvent(e.Payload); ok {
			from, known := c.wos[id]
			if !known {
				return fmt.Errorf("event %d %s is about work order %s that no event created", e.Position, e.Type, id)
			}
			if !slices.Contains(allowedStatus[from], to) {
				return fmt.Errorf("event %d %s moves work order %s from %s to %s, outside the state machine", e.Position, e.Type, id, from, to)
			}
			c.wos[id] = to
		}
		if err := c.learnOrderSplitMerge(e); err != nil {
			return err
		}
		switch v := e.Payload.(type) {
		case *mes.LotReceived:
			c.lot(v.Lot)
		case *mes.LotStarted:
			c.lot(v.Lot)
		case *mes.LotSplit:
			for _, part := range v.Parts {
				c.lot(part.ID)
			}
		case *mes.WorkOrderCreated:
			if _, ok := c.wos[v.WorkOrder.ID]; !ok {
				c.wos[v.WorkOrder.ID] = v.WorkOrder.Status
			}
		case *mes.HoldPlaced:
			c.holds[v.Hold.ID] = v.Hold
		case *mes.HoldReleased:
			delete(c.holds, v.Hold.ID)
		}
		if err := c.learnSerials(e); err != nil {
			return err
		}
	}
	return nil
}

// learnOrderSplitMerge follows SplitWorkOrder and MergeWorkOrders: a split creates the
// new order in the status of the original (released when that runs and no lot moves); a
// merge cancels the order merged away and starts a released order that receives lots.
func (c *checker) learnOrderSplitMerge(e mes.Event) error {
	switch v := e.Payload.(type) {
	case *mes.WorkOrderSplit:
		from, ok := c.wos[v.From]
		if !ok {
			return fmt.Errorf("event %d splits work order %s that no event created", e.Position, v.From)
		}
		to := from
		if from == mes.StatusRunning && len(v.Lots) == 0 {
			to = mes.StatusReleased
		}
		c.wos[v.To] = to
	case *mes.WorkOrdersMerged:
		into, ok1 := c.wos[v.Into]
		from, ok2 := c.wos[v.From]
		if !ok1 || !ok2 {
			return fmt.Errorf("event %d merges work orders %s and %s that no event created", e.Position, v.From, v.Into)
		}
		if !slices.Contains(allowedStatus[from], mes.StatusCancelled) {
			return fmt.Errorf("event %d merges work order %s away from status %s", e.Position, v.From, from)
		}
		c.wos[v.From] = mes.StatusCancelled
		if into == mes.StatusReleased && len(v.Lots) > 0 {
			c.wos[v.Into] = mes.StatusRunning
		}
	}
	return nil
}

// learnSerials follows each serial through its events: created once, then used (assembled
// as a component, or shipped) at most once; only an available unit takes components.
func (c *checker) learnSerials(e mes.Event) error {
	use := func(id string, to genealogy.Status) error {
		s := c.serials[id]
		if s == nil {
			return fmt.Errorf("event %d %s uses serial %s that no event created", e.Position, e.Type, id)
		}
		if s.status != genealogy.Available {
			return fmt.Errorf("event %d %s uses serial %s, which is %s", e.Position, e.Type, id, s.status)
		}
		s.status = to
		return nil
	}
	switch v := e.Payload.(type) {
	case *mes.UnitsSerialized:
		for _, id := range v.Serials {
			if _, ok := c.serials[id]; ok {
				return fmt.Errorf("event %d creates serial %s a second time", e.Position, id)
			}
			c.serials[id] = &serialSeen{lot: v.Lot, status: genealogy.Available}
			c.serialOrder = append(c.serialOrder, id)
		}
	case *mes.ComponentAssembled:
		if err := use(v.Into, genealogy.Available); err != nil {
			return err
		}
		if _, ok := c.serials[v.Component]; ok {
			return use(v.Component, genealogy.Consumed)
		}
	case *mes.SerialShipped:
		return use(v.Serial, genealogy.Shipped)
	}
	return nil
}

// checkSerial: a serial is stored with the lot and status its events gave it.
func (c *checker) checkSerial(id string) error {
	seen, ok := c.serials[id]
	if !ok {
		return nil
	}
	s, err := c.p.Serial(c.ctx, id)
	if err != nil {
		return fmt.Errorf("serial %s: %w", id, err)
	}
	if s.Lot != seen.lot || s.Status != seen.status || s.Material == "" {
		return fmt.Errorf("serial %s is stored as %s of lot %s (material %q); its events say %s of lot %s", id, s.Status, s.Lot, s.Material, seen.status, seen.lot)
	}
	return nil
}

func (c *checker) lot(id string) {
	if _, ok := c.lots[id]; !ok {
		c.lots[id] = &lotSeen{}
		c.order = append(c.order, id)
	}
}

// touched returns the lots and work orders the events are about.
func touched(evs []mes.Event) (lots, wos map[string]bool) {
	lots, wos = map[string]bool{}, map[string]bool{}
	for _, e := range evs {
		var m map[string]any
		_ = json.Unmarshal(e.Data, &m)
		for _, k := range []string{"lot", "from", "into", "Lot", "From", "Into"} { // either JSON style
			if s, ok := m[k].(string); ok && s != "" {
				lots[s] = true
			}
		}
		for _, k := range []string{"work_order", "WorkOrder"} {
			if s, ok := m[k].(string); ok && s != "" {
				wos[s] = true
			}
		}
		switch v := e.Payload.(type) {
		case *mes.WorkOrderSplit:
			wos[v.From], wos[v.To] = true, true
			for _, s := range v.Lots {
				lots[s] = true
			}
		case *mes.WorkOrdersMerged:
			wos[v.From], wos[v.Into] = true, true
			for _, s := range v.Lots {
				lots[s] = true
			}
		case *mes.LotsMerged:
			for _, s := range v.Sources {
				lots[s] = true
			}
		case *mes.LotSplit:
			for _, part := range v.Parts {
				lots[part.ID] = true
			}
		}
		if strings.HasPrefix(e.Type, "workorder.") {
			wos[e.Subject] = true
		}
		if strings.HasPrefix(e.Type, "lot.") || strings.HasPrefix(e.Type, "operation.") {
			lots[e.Subject] = true
		}
	}
	return lots, wos
}

// checkLot checks one lot: its books balance, its quantity on hand is what its genealogy
// edges account for, every lot its edges name exists, its backward trace is acyclic, a
// lot on its routing holds exactly its open and finished quantity, and a routing that
// ended never runs again.
func (c *checker) checkLot(id string) error {
	c.stats.LotChecks++
	l, err := c.p.Lot(c.ctx, id)
	if err != nil {
		return fmt.Errorf("lot %s: %w", id, err)
	}
	seen, ok := c.lots[id]
	if !ok {
		return fmt.Errorf("lot %s exists but no event announced it", id)
	}
	if l.Execution != nil {
		if err := l.Execution.CheckBooks(); err != nil {
			return fmt.Errorf("lot %s: books do not balance: %w", id, err)
		}
		running := l.Execution.Running()
		if running && seen.finished {
			return fmt.Errorf("lot %s runs again after its routing ended", id)
		}
		seen.finished = !running
		if running {
			open, err := openQty(l)
			if err == nil {
				open, err = open.Add(l.Execution.Finished)
			}
			if err != nil {
				return fmt.Errorf("lot %s: %w", id, err)
			}
			if !open.Equal(l.OnHand) {
				return fmt.Errorf("lot %s on its routing has %s on hand but its books hold %s (open + finished)", id, l.OnHand, open)
			}
		}
	}
	var edges []genealogy.Edge
	err = c.p.Store().View(c.ctx, func(tx store.ReadTx) error {
		in, err := tx.Inputs(c.ctx, genealogy.LotNode(id))
		if err != nil {
			return err
		}
		out, err := tx.Outputs(c.ctx, genealogy.LotNode(id))
		edges = append(in, out...)
		return err
	})
	if err != nil {
		return fmt.Errorf("lot %s: reading edges: %w", id, err)
	}
	bal, err := genealogy.Balance(id, l.OnHand.Unit(), edges)
	if err != nil {
		return fmt.Errorf("lot %s: balance: %w", id, err)
	}
	if !bal.Equal(l.OnHand) {
		return fmt.Errorf("lot %s has %s on hand but its %d genealogy edges account for %s", id, l.OnHand, len(edges), bal)
	}
	for _, e := range edges {
		for _, n := range []genealogy.Node{e.From, e.To} {
			if n.Kind != genealogy.NodeLot {
				continue
			}
			if _, ok := c.lots[n.ID]; !ok {
				if _, err := c.p.Lot(c.ctx, n.ID); err != nil {
					return fmt.Errorf("genealogy not closed: edge %s -> %s of lot %s names lot %s: %w", e.From, e.To, id, n.ID, err)
				}
				return fmt.Errorf("genealogy edge of lot %s names lot %s that no event announced", id, n.ID)
			}
		}
		if err := c.checkLevels(l, e); err != nil {
			return err
		}
	}
	tr, err := c.p.TraceBackward(c.ctx, genealogy.LotNode(id), genealogy.TraceOptions{})
	if err != nil {
		return fmt.Errorf("lot %s: trace: %w", id, err)
	}
	if err := genealogy.CheckAcyclic(tr); err != nil {
		return fmt.Errorf("lot %s: backward trace: %w", id, err)
	}
	return nil
}

// checkLevels: levels never decrease along an edge between two lots (genealogy.Lot.Level,
// kept by the operations and genealogy.Lift). The engine accepts most edges by the levels
// alone, so a level left too low (a lift that did not save the lots it raised) would let a
// later edge close a cycle.
func (c *checker) checkLevels(l mes.Lot, e genealogy.Edge) error {
	if e.From.Kind != genealogy.NodeLot || e.To.Kind != genealogy.NodeLot {
		return nil
	}
	from, to := l.Lot, l.Lot
	other := e.From.ID
	if e.From.ID == l.ID {
		other = e.To.ID
	}
	o, err := c.p.Lot(c.ctx, other)
	if err != nil {
		return fmt.Errorf("lot %s: edge %s -> %s: %w", l.ID, e.From, e.To, err)
	}
	if e.From.ID == l.ID {
		to = o.Lot
	} else {
		from = o.Lot
	}
	if from.Level > to.Level {
		return fmt.Errorf("genealogy levels decrease along the %s edge %s (level %d) -> %s (level %d)", e.Kind, from.ID, from.Level, to.ID, to.Level)
	}
	return nil
}

// openQty is the quantity of a lot waiting, in process or held for the next step (good
// quantity not yet transferred) at any step.
func openQty(l mes.Lot) (units.Quantity, error) {
	open, err := units.New(l.Execution.Started.Value().Sub(l.Execution.Started.Value()), l.Execution.Unit)
	if err != nil {
		return open, err
	}
	for _, s := range l.Execution.Steps() {
		if open, err = open.Add(s.Books.Waiting); err == nil {
			open, err = open.Add(s.Books.InProcess)
		}
		for _, h := range s.Held {
			if err == nil {
				open, err = open.Add(h.Qty)
			}
		}
		if err != nil {
			return open, err
		}
	}
	return open, nil
}

// mergedAway reports whether a lot was merged into another: its books moved with it.
func mergedAway(l mes.Lot) bool {
	return l.Execution != nil && strings.HasPrefix(l.Execution.AbortReason, "merged into ")
}

// checkWorkOrder checks one work order: its status is the one its events led to (learn
// checks those moved along the state machine), it started no more than its quantity, and its quantities balance:
// started = produced + scrapped + open + process loss over its lots (the lots merged
// into others excluded, their books moved), hence produced + scrapped + open <= started
// when there is no yield gain.
func (c *checker) checkWorkOrder(id string) error {
	c.stats.OrderChecks++
	wo, err := c.p.WorkOrder(c.ctx, id)
	if err != nil {
		return fmt.Errorf("work order %s: %w", id, err)
	}
	status, ok := c.wos[id]
	if !ok {
		return fmt.Errorf("work order %s exists but no event announced it", id)
	}
	if status != wo.Status {
		return fmt.Errorf("work order %s is %s but its events say %s: a status change without its event", wo.Number, wo.Status, status)
	}
	if more, err := wo.Started.Cmp(wo.Qty); err != nil || more > 0 {
		return fmt.Errorf("work order %s started %s of %s (%v)", wo.Number, wo.Started, wo.Qty, err)
	}
	lots, err := c.p.LotsOfWorkOrder(c.ctx, wo.Site, id)
	if err != nil {
		return fmt.Errorf("work order %s: lots: %w", wo.Number, err)
	}
	sum, err := wo.Produced.Add(wo.Scrapped)
	if err != nil {
		return err
	}
	loss := sum.Neg()
	loss, _ = loss.Add(sum) // zero in the order's unit
	for _, l := range lots {
		if l.Execution == nil || mergedAway(l) {
			continue
		}
		open, err := openQty(l)
		if err != nil {
			return err
		}
		if sum, err = sum.Add(open); err != nil {
			return err
		}
		for _, s := range l.Execution.Steps() {
			if loss, err = loss.Add(s.Books.Loss); err != nil {
				return err
			}
		}
	}
	total, err := sum.Add(loss)
	if err != nil {
		return err
	}
	if !total.Equal(wo.Started) {
		return fmt.Errorf("work order %s does not balance: started %s but produced %s + scrapped %s + open and loss over %d lots = %s (loss %s)",
			wo.Number, wo.Started, wo.Produced, wo.Scrapped, len(lots), total, loss)
	}
	if !loss.IsNegative() {
		if over, _ := sum.Cmp(wo.Started); over > 0 {
			return fmt.Errorf("work order %s: produced + scrapped + open %s exceeds started %s", wo.Number, sum, wo.Started)
		}
	}
	return nil
}

// sweep checks every lot and work order the log announced, and the whole audit chain.
func (c *checker) sweep() error {
	c.stats.Sweeps++
	for id := range c.lots {
		if err := c.checkLot(id); err != nil {
			return err
		}
	}
	for id := range c.wos {
		if err := c.checkWorkOrder(id); err != nil {
			return err
		}
	}
	for id := range c.serials {
		if err := c.checkSerial(id); err != nil {
			return err
		}
	}
	n, err := c.p.VerifyAudit(c.ctx)
	if err != nil {
		return fmt.Errorf("VerifyAudit: %w", err)
	}
	if n != c.audit {
		return fmt.Errorf("VerifyAudit verified %d records, the trail has %d", n, c.audit)
	}
	head, err := c.p.Store().Head(c.ctx)
	if err != nil {
		return err
	}
	if head != c.head {
		return fmt.Errorf("event head is %d, the log read up to %d", head, c.head)
	}
	return nil
}

// isInternal reports an error the engine should never return for any input.
func isInternal(err error) bool { return errors.Is(err, mes.ErrInternal) }

// stepQty returns the books of a lot at a step (zero books when the step is unknown).
func stepQty(l mes.Lot, step string) routing.Books {
	if l.Execution == nil {
		return routing.Books{}
	}
	p, err := l.Execution.Progress(step)
	if err != nil {
		return routing.Books{}
	}
	return p.Books
}
