package mes

import (
	"fmt"
	"slices"
)

// actions is every action a command is authorised for, sorted: the commands' own actions
// and the ones checked besides them (ActionBookForOthers, ActionOverrideQualification,
// "lot.skip_required"). TestActionsListsEveryAction keeps it complete.
var actions = []string{
	"calendar.define",
	"certification.grant",
	"dispatch.set_rule",
	"equipment.correct_reason",
	"equipment.define",
	"equipment.ingest",
	"exception.save_rule",
	"execution.process",
	"hold.place",
	"hold.release",
	"inspection.record",
	"inspection_plan.define",
	"labor.book_for_others",
	"labor.break_end",
	"labor.break_start",
	"labor.clock_in",
	"labor.clock_out",
	"labor.correct",
	"labor.log_off",
	"labor.log_on",
	"labor.override_qualification",
	"labor.start",
	"labor.stop",
	"lot.abort",
	"lot.adjust",
	"lot.consume",
	"lot.merge",
	"lot.move_back",
	"lot.pause",
	"lot.receive",
	"lot.resume",
	"lot.ship",
	"lot.skip",
	"lot.skip_required",
	"lot.split",
	"lot.start",
	"lot.track_in",
	"lot.track_out",
	"material.define",
	"nc.close",
	"nc.disposition",
	"nc.open",
	"person.define",
	"qualification.define",
	"routing.publish",
	"serial.assemble",
	"serial.create",
	"serial.ship",
	"spc.set_limits",
	"task.acknowledge",
	"task.cancel",
	"task.escalate",
	"task.resolve",
	"task.start",
	"workorder.cancel",
	"workorder.close",
	"workorder.complete",
	"workorder.create",
	"workorder.merge",
	"workorder.release",
	"workorder.reschedule",
	"workorder.set_priority",
	"workorder.split",
	"workorder.start",
}

// Actions returns the name of every action the engine authorises, sorted, for hosts that
// build role editors or check their configuration. An Authorizer is asked about these
// (AuthRequest.Action), and WithSignatureRequired takes one of them.
func Actions() []string { return slices.Clone(actions) }

// checkAction refuses a name that is not an action, so that a misspelt action in the
// configuration does not silently require nothing.
func checkAction(option, action string) error {
	if _, found := slices.BinarySearch(actions, action); !found {
		return fmt.Errorf("%w: %s: %q is not an action; mes.Actions() lists them (for example %q)", ErrInvalid, option, action, actions[0])
	}
	return nil
}
