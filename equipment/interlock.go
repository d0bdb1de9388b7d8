package equipment

import (
	"fmt"
	"strings"
)

// InterlockReason says why a machine is blocked.
type InterlockReason string

// Interlock reasons.
const (
	// NoLotTrackedIn: nothing is tracked in on the equipment, so nothing may be produced.
	NoLotTrackedIn InterlockReason = "no_lot_tracked_in"
	// LotHeld: a lot tracked in on the equipment is on hold.
	LotHeld InterlockReason = "lot_held"
)

// TrackedLot is a lot tracked in on an equipment, as the interlock decision sees it.
type TrackedLot struct {
	// ID identifies the lot.
	ID string `json:"id"`
	// Held is true while the lot is on hold.
	Held bool `json:"held"`
}

// Interlock is the decision for one equipment: block it or let it run.
type Interlock struct {
	// Equipment is the equipment decided on.
	Equipment string `json:"equipment"`
	// Block is true when the machine must not run.
	Block bool `json:"block"`
	// Reason says why it is blocked; empty when not blocked.
	Reason InterlockReason `json:"reason,omitempty"`
	// Message explains the decision to an operator.
	Message string `json:"message"`
}

// DecideInterlock decides whether equipment must be blocked given the lots tracked in on
// it: blocked while no lot is tracked in, or while any tracked-in lot is held (the message
// names every held lot). The engine sends the resulting command to the device.
func DecideInterlock(equipment string, trackedIn []TrackedLot) Interlock {
	d := Interlock{Equipment: equipment}
	if len(trackedIn) == 0 {
		d.Block, d.Reason = true, NoLotTrackedIn
		d.Message = fmt.Sprintf("%s is blocked: no lot is tracked in; track a lot in to release it", equipment)
		return d
	}
	var held, running []string
	for _, l := range trackedIn {
		if l.Held {
			held = append(held, l.ID)
		} else {
			running = append(running, l.ID)
		}
	}
	if len(held) > 0 {
		d.Block, d.Reason = true, LotHeld
		d.Message = fmt.Sprintf("%s is blocked: lot %s on hold; release the hold or track the lot out", equipment, strings.Join(held, ", "))
		return d
	}
	d.Message = fmt.Sprintf("%s may run: lot %s tracked in", equipment, strings.Join(running, ", "))
	return d
}
