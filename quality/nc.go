package quality

import (
	"fmt"
	"strings"
	"time"

	"github.com/taktmes/takt/units"
)

// Meaning is what an electronic signature attests (21 CFR 11.50(a)(3)).
type Meaning string

// Signature meanings.
const (
	Review         Meaning = "review"
	Approval       Meaning = "approval"
	Responsibility Meaning = "responsibility"
)

// Signatures the engine must obtain and bind to the record before committing.
const (
	// DispositionSignature is required for NonConformance.ApplyDisposition.
	DispositionSignature = Approval
	// ReleaseSignature is required for Hold.Release.
	ReleaseSignature = Approval
)

// NCStatus is the state of a non-conformance: Open -> Dispositioned -> Closed.
type NCStatus string

// Non-conformance states.
const (
	NCOpen          NCStatus = "open"
	NCDispositioned NCStatus = "dispositioned"
	NCClosed        NCStatus = "closed"
)

// DispositionKind is the decision for nonconforming material.
type DispositionKind string

// Dispositions.
const (
	// UseAsIs releases the material unchanged (a justified deviation).
	UseAsIs DispositionKind = "use-as-is"
	// Rework sends the material back to step ToStep of its routing.
	Rework DispositionKind = "rework"
	// Repair sends the material to an off-routing repair, then back to the step it is at.
	Repair DispositionKind = "repair"
	// Scrap moves the quantity to scrap.
	Scrap DispositionKind = "scrap"
	// ReturnToVendor moves the quantity out to a return to its supplier.
	ReturnToVendor DispositionKind = "return-to-vendor"
)

// DispositionLine decides the fate of part of a non-conformance's quantity.
type DispositionLine struct {
	Kind   DispositionKind `json:"kind"`
	Qty    units.Quantity  `json:"qty"`
	ToStep string          `json:"to_step,omitempty"` // Rework only
}

// Disposition is the signed decision on a non-conformance; its lines account for the whole
// quantity.
type Disposition struct {
	Lines  []DispositionLine `json:"lines"`
	Reason string            `json:"reason"`
	By     string            `json:"by"`
	At     time.Time         `json:"at"`
}

// NonConformance records nonconforming material or equipment: what is wrong, where, how
// much, and what was decided.
type NonConformance struct {
	ID          string         `json:"id"`
	What        string         `json:"what"`
	Lot         string         `json:"lot,omitempty"`
	Serial      string         `json:"serial,omitempty"`
	Step        string         `json:"step,omitempty"`
	Equipment   string         `json:"equipment,omitempty"`
	Qty         units.Quantity `json:"qty"`
	DefectCodes []DefectCount  `json:"defect_codes,omitempty"`
	Status      NCStatus       `json:"status"`
	OpenedBy    string         `json:"opened_by"`
	OpenedAt    time.Time      `json:"opened_at"`
	Disposition *Disposition   `json:"disposition,omitempty"`
	ClosedBy    string         `json:"closed_by,omitempty"`
	ClosedAt    time.Time      `json:"closed_at,omitzero"`
}

// Order is one thing the engine must carry out for a disposition: the line, applied to
// the material of the non-conformance at its step.
type Order struct {
	DispositionLine
	Lot    string `json:"lot,omitempty"`
	Serial string `json:"serial,omitempty"`
	Step   string `json:"step,omitempty"`
}

// OpenNC validates a new non-conformance and returns it Open. It needs an ID, a
// description, where (a lot, serial or equipment), a positive quantity when it concerns
// material, who and when; every problem is reported (ErrInvalidNonConformance).
func OpenNC(nc NonConformance, by string, at time.Time) (NonConformance, error) {
	var ps problems
	if nc.Status != "" {
		return NonConformance{}, fmt.Errorf("%w: non-conformance %q is already %s; open a new one", ErrWrongState, nc.ID, nc.Status)
	}
	if strings.TrimSpace(nc.ID) == "" {
		ps.add("id", nc.ID, "a non-conformance needs an id")
	}
	if strings.TrimSpace(nc.What) == "" {
		ps.add("what", nc.What, "describe what is nonconforming")
	}
	if nc.Lot == "" && nc.Serial == "" && nc.Equipment == "" {
		ps.add("lot", "", "say where: a lot, a serial or a piece of equipment")
	}
	if nc.Lot != "" || nc.Serial != "" {
		if err := nc.Qty.RequirePositive("non-conforming quantity"); err != nil {
			ps.add("qty", nc.Qty.String(), "%v", err)
		}
	} else if err := nc.Qty.RequireNonNegative("non-conforming quantity"); err != nil {
		ps.add("qty", nc.Qty.String(), "%v", err)
	}
	for i, d := range nc.DefectCodes {
		if strings.TrimSpace(d.Code) == "" || d.Count < 1 {
			ps.add(fmt.Sprintf("defectCodes[%d]", i), d.Code, "a defect needs a code and a count of at least 1")
		}
	}
	checkActor(&ps, by, at)
	if err := ps.err(ErrInvalidNonConformance); err != nil {
		return NonConformance{}, err
	}
	nc.Status, nc.OpenedBy, nc.OpenedAt = NCOpen, by, at
	return nc, nil
}

// ApplyDisposition records the decision on an Open non-conformance and returns it
// Dispositioned with the orders the engine must execute (scrap moves quantity, rework
// sends material back along the routing). The engine must bind an electronic signature
// with meaning DispositionSignature, by d.By, before committing. The lines must account
// for exactly the non-conformance's quantity; those of a non-conformance without quantity
// (of equipment, say) carry none.
func (nc NonConformance) ApplyDisposition(d Disposition) (NonConformance, []Order, error) {
	if nc.Status != NCOpen {
		return NonConformance{}, nil, fmt.Errorf("%w: non-conformance %q is %q; only an open one can be dispositioned (a disposition is final; open a new non-conformance for new findings)", ErrWrongState, nc.ID, nc.Status)
	}
	var ps problems
	if len(d.Lines) == 0 {
		ps.add("lines", "", "a disposition needs at least one line")
	}
	var total units.Quantity
	for i, l := range d.Lines {
		path := fmt.Sprintf("lines[%d]", i)
		switch l.Kind {
		case Rework:
			if strings.TrimSpace(l.ToStep) == "" {
				ps.add(path+".toStep", "", "rework needs the step to send the material back to")
			}
		case UseAsIs, Repair, Scrap, ReturnToVendor:
			if l.ToStep != "" {
				ps.add(path+".toStep", l.ToStep, "toStep applies to rework only")
			}
		default:
			ps.add(path+".kind", string(l.Kind), "unknown disposition; use use-as-is, rework, repair, scrap or return-to-vendor")
		}
		if nc.Qty.IsZero() {
			if !l.Qty.IsZero() {
				ps.add(path+".qty", l.Qty.String(), "non-conformance %q concerns no material quantity; leave the line's quantity empty", nc.ID)
			}
			continue
		}
		if err := l.Qty.RequirePositive("disposition quantity"); err != nil {
			ps.add(path+".qty", l.Qty.String(), "%v", err)
			continue
		}
		sum, err := total.Add(l.Qty)
		if err != nil {
			ps.add(path+".qty", l.Qty.String(), "%v", err)
			continue
		}
		total = sum
	}
	if len(d.Lines) > 0 && len(ps.list) == 0 && !nc.Qty.IsZero() {
		if c, err := total.Cmp(nc.Qty); err != nil || c != 0 {
			ps.add("lines", total.String(), "the lines must account for exactly the non-conforming quantity %s", nc.Qty)
		}
	}
	if strings.TrimSpace(d.Reason) == "" {
		ps.add("reason", "", "give the reason for the disposition")
	}
	checkActor(&ps, d.By, d.At)
	if !d.At.IsZero() && d.At.Before(nc.OpenedAt) {
		ps.add("at", d.At.String(), "the disposition cannot precede the opening at %s", nc.OpenedAt)
	}
	if err := ps.err(ErrInvalidNonConformance); err != nil {
		return NonConformance{}, nil, err
	}
	d.Lines = append([]DispositionLine(nil), d.Lines...)
	nc.Disposition = &d
	nc.Status = NCDispositioned
	orders := make([]Order, len(d.Lines))
	for i, l := range d.Lines {
		orders[i] = Order{DispositionLine: l, Lot: nc.Lot, Serial: nc.Serial, Step: nc.Step}
	}
	return nc, orders, nil
}

// Close closes a Dispositioned non-conformance once the engine has executed its orders.
func (nc NonConformance) Close(by string, at time.Time) (NonConformance, error) {
	if nc.Status != NCDispositioned {
		return NonConformance{}, fmt.Errorf("%w: non-conformance %q is %q; disposition it before closing", ErrWrongState, nc.ID, nc.Status)
	}
	var ps problems
	checkActor(&ps, by, at)
	if nc.Disposition != nil && !at.IsZero() && at.Before(nc.Disposition.At) {
		ps.add("at", at.String(), "closing cannot precede the disposition at %s", nc.Disposition.At)
	}
	if err := ps.err(ErrInvalidNonConformance); err != nil {
		return NonConformance{}, err
	}
	nc.Status, nc.ClosedBy, nc.ClosedAt = NCClosed, by, at
	return nc, nil
}

func checkActor(ps *problems, by string, at time.Time) {
	if strings.TrimSpace(by) == "" {
		ps.add("by", by, "say who acts")
	}
	if at.IsZero() {
		ps.add("at", "", "say when (a UTC time from the engine's clock)")
	}
}
