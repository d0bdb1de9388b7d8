package dispatch

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Request says who asks for a dispatch list, where and when.
type Request struct {
	// WorkCenter the list is for; empty means any work center (a list for a person).
	WorkCenter string
	// Equipment unit the list is for; empty means any unit.
	Equipment string
	// Person asking; empty means no operator check.
	Person string
	// Qualifications the person holds and that are valid at Now (the engine asks labor).
	Qualifications []string
	// Holds that block every candidate of this request, typically holds on the requesting
	// equipment unit.
	Holds []Hold
	// RunningFamily is the setup family of the job running now on the work center or unit;
	// empty if none.
	RunningFamily string
	// Now is the time the list is for (UTC).
	Now time.Time
}

// ReasonCode classifies why a candidate is not eligible.
type ReasonCode string

// The reasons a candidate can be ineligible.
const (
	ReasonWorkCenter    ReasonCode = "wrong-work-center"  // the step runs at other work centers
	ReasonEquipment     ReasonCode = "wrong-equipment"    // the step runs on other equipment units
	ReasonNotReleased   ReasonCode = "not-released"       // the work order is not released
	ReasonPredecessor   ReasonCode = "previous-step-open" // a previous step is not complete
	ReasonHold          ReasonCode = "on-hold"            // a hold blocks the lot, order, material or equipment
	ReasonShortage      ReasonCode = "component-short"    // a component is short
	ReasonQualification ReasonCode = "not-qualified"      // the operator lacks a qualification
)

// Reason is one answer to "why can this candidate not run here now?": a code to act on and a
// sentence for people, such as "lot L-7 is on hold: CONTAMINATION".
type Reason struct {
	Code ReasonCode
	Text string
}

// String returns the text.
func (r Reason) String() string { return r.Text }

// Eligible returns every reason why c cannot run for req, in a fixed order (work center,
// equipment, release, previous steps, holds, shortages, qualifications); nil means eligible.
func Eligible(c *Candidate, req *Request) []Reason {
	var rs []Reason
	add := func(code ReasonCode, format string, args ...any) {
		rs = append(rs, Reason{Code: code, Text: fmt.Sprintf(format, args...)})
	}
	if req.WorkCenter != "" && !slices.Contains(c.WorkCenters, req.WorkCenter) {
		add(ReasonWorkCenter, "step %s runs at %s, not %s", c.Step, orList(c.WorkCenters), req.WorkCenter)
	}
	if req.Equipment != "" && len(c.Equipment) > 0 && !slices.Contains(c.Equipment, req.Equipment) {
		add(ReasonEquipment, "step %s runs on equipment %s, not %s", c.Step, orList(c.Equipment), req.Equipment)
	}
	if !c.Released {
		add(ReasonNotReleased, "work order %s not released", c.WorkOrder)
	}
	for _, s := range c.OpenPredecessors {
		add(ReasonPredecessor, "previous step %s not complete", s)
	}
	for _, hs := range [2][]Hold{c.Holds, req.Holds} {
		for _, h := range hs {
			add(ReasonHold, "%s %s is on hold: %s", h.Kind, h.ID, h.Reason)
		}
	}
	for _, s := range c.Shortages {
		add(ReasonShortage, "component %s short by %s", s.Material, s.Short)
	}
	if req.Person != "" {
		for _, q := range c.Qualifications {
			if !slices.Contains(req.Qualifications, q) {
				add(ReasonQualification, "operator %s lacks qualification %s", req.Person, q)
			}
		}
	}
	return rs
}

// orList joins ids as "A", "A or B", "A, B or C".
func orList(ids []string) string {
	if len(ids) <= 1 {
		return strings.Join(ids, "")
	}
	return strings.Join(ids[:len(ids)-1], ", ") + " or " + ids[len(ids)-1]
}
