package erp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

// Options says where and as whom Import applies a document.
type Options struct {
	// Site is the site the document's orders, routings and lots belong to (the equipment
	// id of the site). Material definitions are shared by every site.
	Site string
	// Actor issues the commands, normally the ERP: mes.Actor{ID: "erp", Kind: mes.System}.
	Actor mes.Actor
	// Publish adds options to routing publication, for example mes.SignedBy(...) when the
	// plant requires a signature for "routing.publish".
	Publish []mes.CommandOption
}

// Action is one plant command of an import.
type Action struct {
	// Command is the engine action: "material.define", "routing.publish", "lot.receive",
	// "workorder.create", "workorder.release" or "workorder.set_priority".
	Command string `json:"command"`
	ID      string `json:"id"`            // the object: a material, "routing@revision", a lot or the ERP's order id
	Path    string `json:"path"`          // the element the object came from
	Key     string `json:"key,omitempty"` // the idempotency key the command carries
}

// Result says what an import did.
type Result struct {
	Applied []Action `json:"applied"`
	// Unchanged lists objects the plant already had with the same content.
	Unchanged []Action `json:"unchanged"`
}

// IncompleteError reports an import that stopped part way because a command failed
// although the document had passed validation (for example, another user changed the
// plant in between). The applied commands stay applied; import the same document again
// to finish: what was applied is found unchanged or replays by its idempotency key. It
// wraps ErrIncomplete and the command's error.
type IncompleteError struct {
	Applied []Action
	Failed  Action
	Pending []Action // not attempted
	Err     error
}

// Error names the command that failed, how many were applied before it, and its cause.
func (e *IncompleteError) Error() string {
	return fmt.Sprintf("erp: import incomplete: %s %s (%s) failed after %d of %d command(s) were applied: %v; fix the cause and import the same document again",
		e.Failed.Command, e.Failed.ID, e.Failed.Path, len(e.Applied), len(e.Applied)+1+len(e.Pending), e.Err)
}

// Unwrap makes errors.Is true for ErrIncomplete and for the command's error.
func (e *IncompleteError) Unwrap() []error { return []error{ErrIncomplete, e.Err} }

// ImportB2MML parses a B2MML document and imports it (ParseB2MML, then Import).
func ImportB2MML(ctx context.Context, p *mes.Plant, r io.Reader, opts Options) (Result, error) {
	d, err := ParseB2MML(r)
	if err != nil {
		return Result{}, err
	}
	return Import(ctx, p, d, opts)
}

// ImportJSON parses a JSON document and imports it (ParseJSON, then Import).
func ImportJSON(ctx context.Context, p *mes.Plant, r io.Reader, opts Options) (Result, error) {
	d, err := ParseJSON(r)
	if err != nil {
		return Result{}, err
	}
	return Import(ctx, p, d, opts)
}

// Import applies a document to the plant. It first validates the whole document — every
// field, unit and time, duplicate ids within the document, references to materials,
// work centers and routings that must exist in the plant or in the document, and
// conflicts with what the plant already holds — and, when anything is wrong, returns a
// *ValidationError listing every problem and changes nothing. Then it runs one command
// per new or changed object, in dependency order (materials, routings, lots, orders),
// each with an idempotency key "erp/<type>/<id>/<revision>[/<step>]", where the revision
// is the ERP's (an order's Version, a routing's Version) or, for objects without one, a
// digest of the content. Objects already in the plant with the same content are left
// alone and listed as unchanged.
//
// A production order that exists with different content is updated while it is open: a
// changed quantity or due date is applied with RescheduleWorkOrder (the quantity keeps the
// order's unit and cannot drop below what its lots started; quantity split off to other
// orders in Takt counts as ordered, see mes.WorkOrder.MovedOut), a changed priority with
// SetWorkOrderPriority (an expedite or a de-prioritisation). A changed product is a
// problem: the order is cancelled in Takt and sent under a new id.
//
// When a command fails despite the validation, Import returns an *IncompleteError; see
// there.
func Import(ctx context.Context, p *mes.Plant, d *Document, opts Options) (Result, error) {
	if p == nil || d == nil {
		return Result{}, fmt.Errorf("%w: Import needs a plant and a document", ErrInvalid)
	}
	if opts.Site == "" || opts.Actor.ID == "" {
		return Result{}, fmt.Errorf("%w: Import needs Options.Site and Options.Actor (the ERP system)", ErrInvalid)
	}
	v := &validator{
		lookup: lookup{ctx: ctx, p: p, sites: map[string]string{}},
		opts:   opts,
		ps:     problems{doc: d.kind, list: append([]Problem(nil), d.pending...)},
		mats:   map[string]genealogy.Material{},
		seen:   map[string]string{},
	}
	if err := v.document(d); err != nil {
		return Result{}, err
	}
	if err := v.ps.err(); err != nil {
		return Result{}, err
	}
	res := Result{Unchanged: v.unchanged}
	for i, s := range v.steps {
		if err := s.run(ctx); err != nil {
			pending := make([]Action, 0, len(v.steps)-i-1)
			for _, r := range v.steps[i+1:] {
				pending = append(pending, r.Action)
			}
			return res, &IncompleteError{Applied: res.Applied, Failed: s.Action, Pending: pending, Err: err}
		}
		res.Applied = append(res.Applied, s.Action)
	}
	return res, nil
}

// step is one command to run.
type step struct {
	Action
	run func(ctx context.Context) error
}

// validator checks a document and plans its commands.
type validator struct {
	lookup
	opts      Options
	ps        problems
	mats      map[string]genealogy.Material // the document's materials, then the plant's as read
	seen      map[string]string             // "type/id" → path of its first occurrence in the document
	products  map[string]bool               // products the document publishes a routing for
	steps     []step
	unchanged []Action
}

func (v *validator) document(d *Document) error {
	for i := range d.Materials {
		if err := v.material(&d.Materials[i]); err != nil {
			return err
		}
	}
	v.products = map[string]bool{}
	for i := range d.Routings {
		if err := v.routing(&d.Routings[i]); err != nil {
			return err
		}
	}
	for i := range d.Lots {
		if err := v.lot(&d.Lots[i]); err != nil {
			return err
		}
	}
	var orders []step // releases and priorities run after every order is created
	for i := range d.Orders {
		later, err := v.order(&d.Orders[i])
		if err != nil {
			return err
		}
		orders = append(orders, later...)
	}
	v.steps = append(v.steps, orders...)
	return nil
}

// unique reports whether id is new in the document, adding a problem when it is not.
func (v *validator) unique(kind, id, path string) bool {
	if first, dup := v.seen[kind+"/"+id]; dup {
		v.ps.add(path, id, "duplicate %s id in the document; it first appears at %s", kind, first)
		return false
	}
	v.seen[kind+"/"+id] = path
	return true
}

func (v *validator) required(o origin, field, value string) bool {
	if value == "" {
		v.ps.add(o.path(field), "", "is required")
		return false
	}
	return true
}

func (v *validator) plan(command, id, path, key string, run func(ctx context.Context) error) {
	v.steps = append(v.steps, step{Action: Action{Command: command, ID: id, Path: path, Key: key}, run: run})
}

func (v *validator) same(command, id, path string) {
	v.unchanged = append(v.unchanged, Action{Command: command, ID: id, Path: path})
}

// key is the idempotency key of a command on an object of the ERP.
func key(docType, id, revision string, stepName ...string) string {
	return strings.Join(append([]string{"erp", docType, id, revision}, stepName...), "/")
}

// digest is a short content digest, the revision of objects the ERP does not version.
func digest(v any) string {
	b, _ := json.Marshal(v) // values of plain fields always marshal
	sum := sha256.Sum256(b)
	return "sha256-" + hex.EncodeToString(sum[:8])
}

// ---- materials ----------------------------------------------------------------------------

func (v *validator) material(m *Material) error {
	ok := v.required(m.at, "id", m.ID)
	if ok {
		ok = v.unique("material", m.ID, m.at.path("id"))
	}
	gm := genealogy.Material{ID: m.ID, Name: m.Description, Unit: units.Unit(m.Unit),
		Tracking: genealogy.Tracking(orDefault(m.Tracking, string(genealogy.TrackLot))),
		Kind:     genealogy.MaterialKind(orDefault(m.Kind, string(genealogy.KindComponent)))}
	switch {
	case m.Unit == "":
		v.ps.add(m.at.path("unit"), "", "is required: the unit lots of the material are counted in, such as ea or kg")
		ok = false
	case !units.Known(gm.Unit):
		v.ps.add(m.at.path("unit"), m.Unit, "unknown unit; use a unit of the units table (ea, pcs, kg, g, m, l, ...)")
		ok = false
	}
	switch gm.Tracking {
	case genealogy.TrackNone, genealogy.TrackLot, genealogy.TrackSerial:
	default:
		v.ps.add(m.at.path("tracking"), m.Tracking, `must be "none", "lot" or "serial"`)
		ok = false
	}
	switch gm.Kind {
	case genealogy.KindRaw, genealogy.KindComponent, genealogy.KindIntermediate, genealogy.KindProduct:
	default:
		v.ps.add(m.at.path("kind"), m.Kind, `must be "raw", "component", "intermediate" or "product"`)
		ok = false
	}
	if !ok {
		return nil
	}
	v.mats[m.ID] = gm
	old, found, err := v.lookup.material(m.ID)
	if err != nil || (found && old == gm) {
		if found {
			v.same("material.define", m.ID, m.at.path(""))
		}
		return err
	}
	if found && old.Unit != gm.Unit {
		v.ps.add(m.at.path("unit"), m.Unit, "material %s is counted in %s in the plant; its unit cannot change (define a new material)", m.ID, old.Unit)
		return nil
	}
	k := key("MaterialDefinition", m.ID, digest(gm))
	v.plan("material.define", m.ID, m.at.path(""), k, func(ctx context.Context) error {
		return v.p.DefineMaterial(ctx, gm, mes.By(v.opts.Actor), mes.IdempotencyKey(k))
	})
	return nil
}

// knownMaterial returns the material from the document or the plant, adding a problem
// at path when neither defines it.
func (v *validator) knownMaterial(id, path string) (genealogy.Material, bool, error) {
	if m, ok := v.mats[id]; ok {
		return m, true, nil
	}
	m, found, err := v.lookup.material(id)
	if err != nil {
		return m, false, err
	}
	if !found {
		v.ps.add(path, id, "material is not defined in the plant nor in this document; send its MaterialDefinition first")
		return m, false, nil
	}
	v.mats[id] = m
	return m, true, nil
}

// qtyOf parses a quantity of a material and converts it to the material's unit.
func (v *validator) qtyOf(s, path string, m genealogy.Material, what string) (units.Quantity, bool) {
	if s == "" {
		v.ps.add(path, "", "%s is required, with a unit, for example \"50 ea\"", what)
		return units.Quantity{}, false
	}
	q, err := units.Parse(s)
	if err != nil {
		v.ps.add(path, s, "%s is not a quantity: %v", what, err)
		return units.Quantity{}, false
	}
	if !q.IsPositive() {
		v.ps.add(path, s, "%s must be greater than zero", what)
		return units.Quantity{}, false
	}
	if m.Unit == "" {
		return q, true
	}
	c, err := q.In(m.Unit)
	if err != nil {
		v.ps.add(path, s, "%s must be in a unit convertible to %s, the unit of material %s", what, m.Unit, m.ID)
		return units.Quantity{}, false
	}
	return c, true
}

// ---- routings -----------------------------------------------------------------------------

func (v *validator) routing(r *Routing) error {
	ok := v.required(r.at, "id", r.ID)
	ok = v.required(r.at, "revision", r.Revision) && ok
	if ok {
		ok = v.unique("routing", r.ID+"@"+r.Revision, r.at.path("id"))
	}
	if v.required(r.at, "product", r.Product) {
		_, found, err := v.knownMaterial(r.Product, r.at.path("product"))
		if err != nil {
			return err
		}
		ok = ok && found
		v.products[r.Product] = true
	} else {
		ok = false
	}
	if len(r.Operations) == 0 {
		v.ps.add(r.at.path("operations"), "", "a routing needs at least one operation")
		ok = false
	}
	rt := &routing.Routing{ID: r.ID, Product: r.Product, Revision: r.Revision, Status: routing.Draft}
	steps := map[string]string{} // step id → path, to place the routing's own problems
	for i := range r.Operations {
		s, sok, err := v.operation(&r.Operations[i])
		if err != nil {
			return err
		}
		ok = ok && sok
		rt.Steps = append(rt.Steps, s)
		steps[s.ID] = r.Operations[i].at.path("")
	}
	if !ok {
		return nil
	}
	if err := rt.Validate(); err != nil {
		var rps routing.Problems
		if !errors.As(err, &rps) {
			return fmt.Errorf("erp: validating routing %s: %w", r.ID, err)
		}
		for _, p := range rps {
			path := r.at.path("")
			if id, _, found := strings.Cut(strings.TrimPrefix(p.Path, "steps["), "]"); found && steps[id] != "" {
				path = steps[id]
			}
			v.ps.add(path, p.Value, "%s: %s", p.Path, p.Reason)
		}
		return nil
	}
	sealed := *rt
	sealed.Steps = append([]routing.Step(nil), rt.Steps...)
	if err := sealed.Release(); err != nil {
		return fmt.Errorf("erp: sealing routing %s: %w", r.ID, err)
	}
	id := r.ID + "@" + r.Revision
	old, err := v.p.Routing(v.ctx, v.opts.Site, r.ID, r.Revision)
	switch {
	case err == nil && old.Digest == sealed.Digest:
		v.same("routing.publish", id, r.at.path(""))
		return nil
	case err == nil:
		v.ps.add(r.at.path("revision"), r.Revision, "routing %s revision %s is already published in site %s with different content; published revisions never change, so send the change as a new revision", r.ID, r.Revision, v.opts.Site)
		return nil
	case !errors.Is(err, mes.ErrNotFound):
		return fmt.Errorf("erp: reading routing %s: %w", id, err)
	}
	k := key("OperationsDefinition", r.ID, r.Revision)
	opts := append([]mes.CommandOption{mes.By(v.opts.Actor), mes.IdempotencyKey(k)}, v.opts.Publish...)
	v.plan("routing.publish", id, r.at.path(""), k, func(ctx context.Context) error {
		_, err := v.p.PublishRouting(ctx, v.opts.Site, rt, opts...)
		return err
	})
	return nil
}

func (v *validator) operation(o *Operation) (routing.Step, bool, error) {
	s := routing.Step{ID: o.ID, Name: orDefault(o.Name, o.ID), EquipmentClass: o.EquipmentClass}
	ok := v.required(o.at, "id", o.ID)
	if o.RunPerUnit != "" {
		d, err := parseDuration(o.RunPerUnit)
		if err != nil {
			v.ps.add(o.at.path("run_per_unit"), o.RunPerUnit, "%v", err)
			ok = false
		}
		s.RunPerUnit = d
	}
	centers := append([]string{o.WorkCenter}, o.Alternates...)
	for i, wc := range centers {
		field := "work_center"
		if i > 0 {
			field = fmt.Sprintf("alternates/%d", i-1)
		}
		if wc == "" {
			if i > 0 {
				v.ps.add(o.at.path(field), "", "is empty; name a work center")
				ok = false
			}
			continue
		}
		site, err := v.siteOf(wc)
		if err != nil {
			return s, false, err
		}
		if site != v.opts.Site {
			v.ps.add(o.at.path(field), wc, "is not equipment of site %s; define it in the plant's equipment hierarchy first", v.opts.Site)
			ok = false
		}
	}
	s.WorkCenter, s.Alternates = o.WorkCenter, o.Alternates
	for i := range o.Components {
		c := &o.Components[i]
		if !v.required(c.at, "material", c.Material) {
			ok = false
			continue
		}
		m, found, err := v.knownMaterial(c.Material, c.at.path("material"))
		if err != nil {
			return s, false, err
		}
		q, qok := v.qtyOf(c.PerUnit, c.at.path("per_unit"), m, "the quantity per unit of the product")
		if !found || !qok {
			ok = false
			continue
		}
		s.Materials = append(s.Materials, routing.Material{Component: c.Material, PerUnit: q,
			LotTracked: m.Tracking != genealogy.TrackNone, Backflush: c.Backflush})
	}
	return s, ok, nil
}

// ---- lots ---------------------------------------------------------------------------------

func (v *validator) lot(l *Lot) error {
	ok := v.required(l.at, "id", l.ID)
	if ok {
		ok = v.unique("lot", l.ID, l.at.path("id"))
	}
	var m genealogy.Material
	if v.required(l.at, "material", l.Material) {
		var found bool
		var err error
		if m, found, err = v.knownMaterial(l.Material, l.at.path("material")); err != nil {
			return err
		}
		ok = ok && found
	} else {
		ok = false
	}
	q, qok := v.qtyOf(l.Qty, l.at.path("qty"), m, "the received quantity")
	ok = ok && qok
	switch strings.ToLower(l.Status) {
	case "", "available", "released":
	default:
		v.ps.add(l.at.path("status"), l.Status, "only available material is received; receive it and place a hold in Takt (quarantine, inspection)")
		ok = false
	}
	var expiry time.Time
	if l.Expiry != "" {
		var err error
		if expiry, err = parseTime(l.Expiry, true); err != nil {
			v.ps.add(l.at.path("expiry"), l.Expiry, "%v", err)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	old, err := v.p.Lot(v.ctx, l.ID)
	switch {
	case err == nil:
		if old.Material == l.Material && old.Supplier == l.Supplier && old.SupplierLot == l.SupplierLot && old.Expiry.Equal(expiry) {
			v.same("lot.receive", l.ID, l.at.path(""))
		} else {
			v.ps.add(l.at.path("id"), l.ID, "lot exists in the plant with different material, supplier, supplier lot or expiry (%s, %s, %s, %s); received lots are not changed by import — use a new lot id",
				old.Material, old.Supplier, old.SupplierLot, old.Expiry.Format(time.RFC3339))
		}
		return nil
	case !errors.Is(err, mes.ErrNotFound):
		return fmt.Errorf("erp: reading lot %s: %w", l.ID, err)
	}
	in := mes.Receipt{Site: v.opts.Site, Lot: l.ID, Material: l.Material, Qty: q, Supplier: l.Supplier, SupplierLot: l.SupplierLot, Expiry: expiry}
	// The receipt's own rules (a supplier and its lot number, say), checked now: a document
	// must be refused whole, not fail half-applied.
	if _, err := genealogy.Receive(m, genealogy.Lot{ID: l.ID, Site: in.Site, Supplier: in.Supplier, SupplierLot: in.SupplierLot, Expiry: in.Expiry.UTC()},
		q, genealogy.Op{At: time.Now()}); err != nil {
		v.ps.add(l.at.path(""), l.ID, "%v", err)
		return nil
	}
	k := key("MaterialLot", l.ID, digest(in))
	v.plan("lot.receive", l.ID, l.at.path(""), k, func(ctx context.Context) error {
		_, err := v.p.ReceiveLot(ctx, in, mes.By(v.opts.Actor), mes.IdempotencyKey(k))
		return err
	})
	return nil
}

// ---- orders -------------------------------------------------------------------------------

// order plans the creation of an order now and returns its release or priority change,
// which run after every order is created.
func (v *validator) order(o *Order) ([]step, error) {
	ok := v.required(o.at, "id", o.ID)
	if ok {
		ok = v.unique("production request", o.ID, o.at.path("id"))
	}
	var m genealogy.Material
	if v.required(o.at, "product", o.Product) {
		var found bool
		var err error
		if m, found, err = v.knownMaterial(o.Product, o.at.path("product")); err != nil {
			return nil, err
		}
		ok = ok && found
	} else {
		ok = false
	}
	q, qok := v.qtyOf(o.Qty, o.at.path("qty"), m, "the order quantity")
	ok = ok && qok
	var due time.Time
	if o.Due != "" {
		var err error
		if due, err = parseTime(o.Due, false); err != nil {
			v.ps.add(o.at.path("due"), o.Due, "%v", err)
			ok = false
		}
	}
	priority := 0
	if o.Priority != nil {
		priority = *o.Priority
		if priority < -1000 || priority > 1000 {
			v.ps.add(o.at.path("priority"), fmt.Sprint(priority), "must be between -1000 and 1000")
			ok = false
		}
	}
	if o.Release && o.Product != "" && !v.products[o.Product] {
		has, err := v.hasReleasedRouting(v.opts.Site, o.Product)
		if err != nil {
			return nil, fmt.Errorf("erp: reading routings of %s: %w", o.Product, err)
		}
		if !has {
			v.ps.add(o.at.path("product"), o.Product, "the order is to be released but site %s has no released routing for the product; send its OperationsDefinition first or do not release", v.opts.Site)
			ok = false
		}
	}
	if !ok {
		return nil, nil
	}
	in := mes.NewWorkOrder{Site: v.opts.Site, Number: o.ID, ExternalID: o.ID, Product: o.Product, Qty: q, Due: due, Priority: priority}
	rev := o.Revision
	if rev == "" {
		rev = digest(in)
	}
	path := o.at.path("")
	var later []step
	add := func(command, stepName string, run func(ctx context.Context, id string) error, id func() string) {
		k := key("ProductionRequest", o.ID, rev, stepName)
		later = append(later, step{Action: Action{Command: command, ID: o.ID, Path: path, Key: k},
			run: func(ctx context.Context) error { return run(ctx, id()) }})
	}
	release := func(ctx context.Context, id string) error {
		_, err := v.p.ReleaseWorkOrder(ctx, id, mes.By(v.opts.Actor), mes.IdempotencyKey(key("ProductionRequest", o.ID, rev, "release")))
		return err
	}

	old, found, err := v.workOrderByExternalID(v.opts.Site, o.ID)
	if err != nil {
		return nil, err
	}
	if !found {
		if wo, err := v.p.WorkOrderByNumber(v.ctx, v.opts.Site, o.ID); err == nil {
			v.ps.add(o.at.path("id"), o.ID, "work order number %s is taken in site %s by an order not imported under this ERP id (external id %q)", o.ID, v.opts.Site, wo.ExternalID)
			return nil, nil
		} else if !errors.Is(err, mes.ErrNotFound) {
			return nil, fmt.Errorf("erp: reading work order %s: %w", o.ID, err)
		}
		var created string
		k := key("ProductionRequest", o.ID, rev, "create")
		v.plan("workorder.create", o.ID, path, k, func(ctx context.Context) error {
			wo, err := v.p.CreateWorkOrder(ctx, in, mes.By(v.opts.Actor), mes.IdempotencyKey(k))
			created = wo.ID
			return err
		})
		if o.Release {
			add("workorder.release", "release", release, func() string { return created })
		}
		return later, nil
	}

	if old.Product != in.Product {
		v.ps.add(o.at.path("product"), in.Product, "work order %s exists in site %s for product %s; an order's product never changes: cancel the order in Takt and send a new order id",
			old.Number, v.opts.Site, old.Product)
		return nil, nil
	}
	open := old.Status == mes.StatusCreated || old.Status == mes.StatusReleased || old.Status == mes.StatusRunning
	newQty, newDue := units.Quantity{}, time.Time{}
	// The ERP's quantity is the order's with what splits and merges moved to other orders.
	ordered, err := old.Qty.Add(old.MovedOut)
	if err != nil {
		return nil, fmt.Errorf("erp: work order %s: %w", old.Number, err)
	}
	if !ordered.Equal(in.Qty) || old.Qty.Unit() != in.Qty.Unit() {
		kept, err := in.Qty.Sub(old.MovedOut)
		if c, cerr := kept.Cmp(old.Started); err != nil || cerr != nil || c < 0 || !kept.IsPositive() || in.Qty.Unit() != old.Qty.Unit() {
			v.ps.add(o.at.path("quantity"), in.Qty.String(), "work order %s has started %s in %s and %s of it moved to other orders; the quantity must be in that unit and cover both", old.Number, old.Started, old.Qty.Unit(), old.MovedOut)
			return nil, nil
		}
		newQty = kept
	}
	if !old.Due.Equal(in.Due) && !in.Due.IsZero() {
		newDue = in.Due
	}
	if !newQty.IsZero() || !newDue.IsZero() {
		if !open {
			v.ps.add(path, o.ID, "work order %s is %s; its quantity and due date can no longer change", old.Number, old.Status)
			return nil, nil
		}
		add("workorder.reschedule", "reschedule", func(ctx context.Context, id string) error {
			_, err := v.p.RescheduleWorkOrder(ctx, id, newDue, newQty, mes.By(v.opts.Actor), mes.IdempotencyKey(key("ProductionRequest", o.ID, rev, "reschedule")))
			return err
		}, func() string { return old.ID })
	}
	if o.Priority != nil && priority != old.Priority {
		if !open {
			v.ps.add(o.at.path("priority"), fmt.Sprint(priority), "work order %s is %s; its priority can no longer change", old.Number, old.Status)
			return nil, nil
		}
		add("workorder.set_priority", "priority", func(ctx context.Context, id string) error {
			_, err := v.p.SetWorkOrderPriority(ctx, id, priority, mes.By(v.opts.Actor), mes.IdempotencyKey(key("ProductionRequest", o.ID, rev, "priority")))
			return err
		}, func() string { return old.ID })
	}
	if o.Release && old.Status == mes.StatusCreated {
		add("workorder.release", "release", release, func() string { return old.ID })
	}
	if len(later) == 0 {
		v.same("workorder.create", o.ID, path)
	}
	return later, nil
}

// ---- values -------------------------------------------------------------------------------

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// parseTime reads an RFC 3339 time with a UTC offset (xs:dateTime), or, when dateOK, an
// xs:date (midnight UTC).
func parseTime(s string, dateOK bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if dateOK {
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			return t, nil
		}
		return time.Time{}, errors.New("not a time; write an RFC 3339 time with its offset (2026-12-01T16:00:00Z) or a date (2026-12-01)")
	}
	return time.Time{}, errors.New("not a time; write an RFC 3339 time with its offset, for example 2026-12-01T16:00:00Z")
}

// parseDuration reads an ISO 8601 / xs:duration of days, hours, minutes and seconds
// ("PT90S", "PT1H30M", "P1DT2H", "PT0.5S"). Years and months are refused: their length
// varies.
func parseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("not a duration; write an ISO 8601 duration such as PT90S or PT1H30M (days, hours, minutes, seconds)")
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" || rest == "T" {
		return 0, bad
	}
	var total time.Duration
	inTime := false
	units := map[bool]map[byte]time.Duration{
		false: {'D': 24 * time.Hour, 'W': 7 * 24 * time.Hour},
		true:  {'H': time.Hour, 'M': time.Minute, 'S': time.Second},
	}
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, bad
			}
			inTime, rest = true, rest[1:]
			if rest == "" {
				return 0, bad
			}
			continue
		}
		i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 {
			return 0, bad
		}
		unit, ok := units[inTime][rest[i]]
		if !ok {
			return 0, bad
		}
		d, err := decimalDuration(rest[:i], unit)
		if err != nil {
			return 0, bad
		}
		total += d
		if total > 1000*24*time.Hour {
			return 0, errors.New("duration longer than 1000 days; check the value")
		}
		rest = rest[i+1:]
	}
	return total, nil
}

// decimalDuration is n (a decimal such as "1.5") times unit, refusing absurd values.
func decimalDuration(n string, unit time.Duration) (time.Duration, error) {
	var whole, frac int64
	var scale int64 = 1
	intPart, fracPart, hasFrac := strings.Cut(n, ".")
	if intPart == "" && !hasFrac || len(intPart) > 9 || len(fracPart) > 9 || strings.Contains(fracPart, ".") {
		return 0, errors.New("bad number")
	}
	for _, c := range intPart {
		whole = whole*10 + int64(c-'0')
	}
	for _, c := range fracPart {
		frac = frac*10 + int64(c-'0')
		scale *= 10
	}
	if whole > 1000*24*int64(time.Hour)/int64(unit) {
		return 0, errors.New("too large")
	}
	// unit is whole seconds and scale a power of ten up to 10^9, so unit/scale is exact, and
	// frac < scale keeps the product below unit (frac*unit overflowed for 9 digits of hours).
	return time.Duration(whole)*unit + time.Duration(frac)*(unit/time.Duration(scale)), nil
}
