package quality

import (
	"fmt"
	"strings"
	"time"
)

// TargetKind is what a hold is placed on.
type TargetKind string

// Hold targets.
const (
	OnLot       TargetKind = "lot"
	OnWorkOrder TargetKind = "work-order"
	OnEquipment TargetKind = "equipment"
	// OnMaterial holds a material definition's supplier lot, or all its lots when
	// SupplierLot is empty (a quarantine of the material).
	OnMaterial TargetKind = "material"
)

// Target is the held thing: its kind and ID, plus the supplier lot for OnMaterial.
type Target struct {
	Kind        TargetKind `json:"kind"`
	ID          string     `json:"id"`
	SupplierLot string     `json:"supplier_lot,omitempty"`
}

// String returns for example "lot L-1" or "material SEAL-KIT supplier lot SUP-9".
func (t Target) String() string {
	if t.SupplierLot != "" {
		return fmt.Sprintf("%s %s supplier lot %s", t.Kind, t.ID, t.SupplierLot)
	}
	return fmt.Sprintf("%s %s", t.Kind, t.ID)
}

// Hold blocks a lot, work order, piece of equipment or material lot from being tracked,
// consumed or shipped until it is released.
type Hold struct {
	ID          string    `json:"id"`
	Target      Target    `json:"target"`
	Reason      string    `json:"reason"`
	PlacedBy    string    `json:"placed_by"`
	At          time.Time `json:"at"`
	ReleasedBy  string    `json:"released_by,omitempty"`
	ReleasedAt  time.Time `json:"released_at,omitzero"`
	ReleaseNote string    `json:"release_note,omitempty"`
}

// NewHold validates and returns a hold, reporting every problem (ErrInvalidHold).
func NewHold(id string, t Target, reason, by string, at time.Time) (Hold, error) {
	var ps problems
	if strings.TrimSpace(id) == "" {
		ps.add("id", id, "a hold needs an id")
	}
	switch t.Kind {
	case OnLot, OnWorkOrder, OnEquipment:
		if t.SupplierLot != "" {
			ps.add("target.supplier_lot", t.SupplierLot, "a supplier lot applies to material holds only")
		}
	case OnMaterial:
	default:
		ps.add("target.kind", string(t.Kind), "unknown target; use lot, work-order, equipment or material")
	}
	if strings.TrimSpace(t.ID) == "" {
		ps.add("target.id", t.ID, "say which %s is held", t.Kind)
	}
	if strings.TrimSpace(reason) == "" {
		ps.add("reason", reason, "give the reason for the hold")
	}
	checkActor(&ps, by, at)
	if err := ps.err(ErrInvalidHold); err != nil {
		return Hold{}, err
	}
	return Hold{ID: id, Target: t, Reason: reason, PlacedBy: by, At: at}, nil
}

// Active reports whether the hold is not released.
func (h Hold) Active() bool { return h.ReleasedAt.IsZero() }

// Release releases an active hold. The engine must check the releaser's authority and bind
// an electronic signature with meaning ReleaseSignature, by by, before committing.
func (h Hold) Release(by, note string, at time.Time) (Hold, error) {
	if !h.Active() {
		return Hold{}, fmt.Errorf("%w: hold %q was released by %s at %s", ErrWrongState, h.ID, h.ReleasedBy, h.ReleasedAt)
	}
	var ps problems
	checkActor(&ps, by, at)
	if strings.TrimSpace(note) == "" {
		ps.add("note", note, "say why the hold may be released")
	}
	if !at.IsZero() && at.Before(h.At) {
		ps.add("at", at.String(), "the release cannot precede the hold placed at %s", h.At)
	}
	if err := ps.err(ErrInvalidHold); err != nil {
		return Hold{}, err
	}
	h.ReleasedBy, h.ReleasedAt, h.ReleaseNote = by, at, note
	return h, nil
}

// Subject is what an action touches; empty fields are not involved. Track-in of a lot
// gives the lot, its work order and the equipment; consuming material gives the material
// and its supplier lot.
type Subject struct {
	Lot         string
	WorkOrder   string
	Equipment   string
	Material    string
	SupplierLot string
}

// Covers reports whether a hold on t blocks subject s.
func (t Target) Covers(s Subject) bool {
	switch t.Kind {
	case OnLot:
		return s.Lot != "" && s.Lot == t.ID
	case OnWorkOrder:
		return s.WorkOrder != "" && s.WorkOrder == t.ID
	case OnEquipment:
		return s.Equipment != "" && s.Equipment == t.ID
	case OnMaterial:
		return s.Material != "" && s.Material == t.ID && (t.SupplierLot == "" || t.SupplierLot == s.SupplierLot)
	}
	return false
}

// OnHoldError lists the active holds that block a subject. It matches ErrOnHold.
type OnHoldError struct {
	Holds []Hold
}

// Error names every blocking hold with its target, reason and who placed it.
func (e *OnHoldError) Error() string {
	parts := make([]string, len(e.Holds))
	for i, h := range e.Holds {
		parts[i] = fmt.Sprintf("%s on %s (%s, placed by %s)", h.ID, h.Target, h.Reason, h.PlacedBy)
	}
	return fmt.Sprintf("%v: blocked by %s; release the hold(s) first", ErrOnHold, strings.Join(parts, "; "))
}

// Unwrap returns ErrOnHold.
func (e *OnHoldError) Unwrap() error { return ErrOnHold }

// CheckHolds returns nil when no active hold covers s, otherwise an *OnHoldError listing
// every active hold that does (in the order given).
func CheckHolds(holds []Hold, s Subject) error {
	var blocking []Hold
	for _, h := range holds {
		if h.Active() && h.Target.Covers(s) {
			blocking = append(blocking, h)
		}
	}
	if len(blocking) == 0 {
		return nil
	}
	return &OnHoldError{Holds: blocking}
}
