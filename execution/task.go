package execution

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// State is where a task stands:
//
//	open → acknowledged → in_progress → resolved
//	  any state that is not closed → cancelled (with a reason), or resolved when its cause clears
//
// Escalation returns a task to open, for its new owner to acknowledge.
type State string

// Task states.
const (
	Open         State = "open"
	Acknowledged State = "acknowledged"
	InProgress   State = "in_progress"
	Resolved     State = "resolved"
	Cancelled    State = "cancelled"
)

// Closed reports whether the state is final (resolved or cancelled).
func (s State) Closed() bool { return s == Resolved || s == Cancelled }

// Owner is who a task is in front of: a role, and once someone acknowledged it, that person.
type Owner struct {
	Role   string `json:"role"`
	Person string `json:"person,omitempty"`
}

// Links are the objects a task is about.
type Links struct {
	Lots       []string `json:"lots,omitempty"`
	WorkOrders []string `json:"work_orders,omitempty"`
	Equipment  []string `json:"equipment,omitempty"`
}

// String writes the links as the audit trail shows them: "{[lots] [work orders]
// [equipment]}", each list separated by spaces (what fmt prints for the struct).
func (l Links) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, ids := range [...][]string{l.Lots, l.WorkOrders, l.Equipment} {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('[')
		b.WriteString(strings.Join(ids, " "))
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.String()
}

// merge returns l with the ids of o it does not have yet, and whether any was added.
func (l Links) merge(o Links) (Links, bool) {
	changed := false
	add := func(to []string, from []string) []string {
		for _, id := range from {
			if !slices.Contains(to, id) {
				to, changed = append(slices.Clone(to), id), true
			}
		}
		return to
	}
	l.Lots, l.WorkOrders, l.Equipment = add(l.Lots, o.Lots), add(l.WorkOrders, o.WorkOrders), add(l.Equipment, o.Equipment)
	return l, changed
}

// Actor is the person acting on a task: their id and roles.
type Actor struct {
	ID    string
	Roles []string
}

// Task is an exception put in front of an owner. Methods return a changed copy and leave
// the receiver unchanged: a changed slice or map is a new one, so a copy may share the
// receiver's.
type Task struct {
	ID       string   `json:"id"`
	Site     string   `json:"site"`
	Rule     string   `json:"rule"`
	Cause    string   `json:"cause"` // with Rule, what makes two firings the same exception
	Title    string   `json:"title"`
	Severity Severity `json:"severity"`
	State    State    `json:"state"`
	Owner    Owner    `json:"owner"`
	// Inputs are the inputs required to resolve the task.
	Inputs []string `json:"inputs,omitempty"`
	// Resolution holds the inputs given when resolving.
	Resolution map[string]string `json:"resolution,omitempty"`
	// Note says why the task closed: the cancel reason, or that its cause cleared.
	Note  string `json:"note,omitempty"`
	Links Links  `json:"links"`
	// Escalation is the rule's path; Level is how many of its steps were taken (0: the
	// task is with its first owner) and LevelSince when the task reached its current owner.
	Escalation     []EscalationStep `json:"escalation,omitempty"`
	Level          int              `json:"level"`
	LevelSince     time.Time        `json:"level_since"`
	OpenedAt       time.Time        `json:"opened_at"`
	DueAt          time.Time        `json:"due_at,omitzero"`
	AcknowledgedAt time.Time        `json:"acknowledged_at,omitzero"`
	StartedAt      time.Time        `json:"started_at,omitzero"`
	ClosedAt       time.Time        `json:"closed_at,omitzero"`
	ClosedBy       string           `json:"closed_by,omitempty"` // "" when the cause cleared
	// Occurrences counts the events that fired the rule for this cause while the task was
	// open (1 when opened); LastFiredAt is the latest.
	Occurrences int       `json:"occurrences"`
	LastFiredAt time.Time `json:"last_fired_at"`
}

// OpenTask returns a new open task for a Fire decision: owned by the rule's owner role, due
// ResolveWithin after d.At, with the rule's required inputs and escalation path.
func OpenTask(id, site string, d Decision) Task {
	s := d.Rule.spec
	t := Task{
		ID: id, Site: site, Rule: s.Name, Cause: d.Cause, Title: s.Title, Severity: s.Severity, State: Open,
		Owner: Owner{Role: s.Owner}, Inputs: slices.Clone(s.Inputs), Links: d.Links, Escalation: slices.Clone(s.Escalation),
		LevelSince: d.At, OpenedAt: d.At, Occurrences: 1, LastFiredAt: d.At,
	}
	if s.ResolveWithin > 0 {
		t.DueAt = d.At.Add(s.ResolveWithin)
	}
	return t
}

// Fire updates an open task for another firing of its cause (de-duplication): the links are
// merged and, when occurrence is true (an event fired it, not a tick), Occurrences and
// LastFiredAt advance. It reports whether anything changed.
func (t Task) Fire(links Links, at time.Time, occurrence bool) (Task, bool, error) {
	if t.State.Closed() {
		return t, false, t.wrongState("update")
	}
	var changed bool
	t.Links, changed = t.Links.merge(links)
	if occurrence {
		t.Occurrences++
		t.LastFiredAt = at
		changed = true
	}
	return t, changed, nil
}

// Acknowledge takes the task: by becomes its owner person. The task must be open and by must
// hold the owner role.
func (t Task) Acknowledge(by Actor, at time.Time) (Task, error) {
	if t.State != Open {
		return t, t.wrongState("acknowledge")
	}
	if err := t.checkOwner(by); err != nil {
		return t, err
	}
	t.State, t.AcknowledgedAt, t.Owner.Person = Acknowledged, at, by.ID
	return t, nil
}

// Start marks an acknowledged task in progress.
func (t Task) Start(by Actor, at time.Time) (Task, error) {
	if t.State != Acknowledged {
		return t, t.wrongState("start")
	}
	if err := t.checkOwner(by); err != nil {
		return t, err
	}
	t.State, t.StartedAt = InProgress, at
	return t, nil
}

// Resolve closes an acknowledged or in-progress task with the inputs it requires; a
// *MissingInputsError names every required input missing or empty.
func (t Task) Resolve(by Actor, inputs map[string]string, at time.Time) (Task, error) {
	if t.State != Acknowledged && t.State != InProgress {
		return t, t.wrongState("resolve")
	}
	if err := t.checkOwner(by); err != nil {
		return t, err
	}
	if err := checkInputs(inputs); err != nil {
		return t, err
	}
	var missing []string
	for _, in := range t.Inputs {
		if inputs[in] == "" {
			missing = append(missing, in)
		}
	}
	if len(missing) > 0 {
		return t, &MissingInputsError{Task: t.ID, Missing: missing}
	}
	t.State, t.ClosedAt, t.ClosedBy, t.Resolution = Resolved, at, by.ID, maps.Clone(inputs)
	return t, nil
}

// AutoResolve closes a task whose cause cleared; no inputs are needed.
func (t Task) AutoResolve(at time.Time) (Task, error) {
	if t.State.Closed() {
		return t, t.wrongState("resolve")
	}
	t.State, t.ClosedAt, t.ClosedBy, t.Note = Resolved, at, "", "the cause cleared"
	return t, nil
}

// Cancel closes a task that needs no action, with the reason why.
func (t Task) Cancel(by Actor, reason string, at time.Time) (Task, error) {
	if t.State.Closed() {
		return t, t.wrongState("cancel")
	}
	if reason == "" {
		return t, &ValidationError{What: "cancellation", Problems: []Problem{{Field: "reason", Reason: "is required: say why the task needs no action"}}}
	}
	t.State, t.ClosedAt, t.ClosedBy, t.Note = Cancelled, at, by.ID, reason
	return t, nil
}

// Escalated is the effect of one escalation step, for the engine to turn into an event.
type Escalated struct {
	Task     string
	From, To string // roles
	Level    int    // the task's new level
	At       time.Time
	Reason   string
}

// NextEscalation returns when the task escalates next if nobody acts, and false when it
// cannot escalate (closed, or at the end of its path). An open task escalates when its
// current owner has not acknowledged it within the step's After of reaching them; an
// acknowledged or in-progress task escalates when it is not resolved by its due time.
func (t Task) NextEscalation() (time.Time, bool) {
	if t.State.Closed() || t.Level >= len(t.Escalation) {
		return time.Time{}, false
	}
	if t.State == Open {
		return t.LevelSince.Add(t.Escalation[t.Level].After), true
	}
	return t.DueAt, !t.DueAt.IsZero()
}

// Escalate takes every escalation step due at now, in order. Each step assigns the task to
// the step's role (no person), returns it to open for the new owner to acknowledge, counts
// its After from the instant the step was due (so a late call escalates as an on-time one
// would have) and moves a passed due time to at least that instant plus After.
func (t Task) Escalate(now time.Time) (Task, []Escalated) {
	var out []Escalated
	for {
		at, ok := t.NextEscalation()
		if !ok || now.Before(at) {
			return t, out
		}
		step := t.Escalation[t.Level]
		reason := fmt.Sprintf("not acknowledged within %s", step.After)
		if t.State != Open {
			reason = fmt.Sprintf("not resolved by its due time %s", t.DueAt.Format(time.RFC3339))
		}
		from := t.Owner.Role
		t.Level++
		t.Owner = Owner{Role: step.Role}
		t.State, t.AcknowledgedAt, t.StartedAt, t.LevelSince = Open, time.Time{}, time.Time{}, at
		if !t.DueAt.IsZero() && t.DueAt.Before(at.Add(step.After)) {
			t.DueAt = at.Add(step.After)
		}
		out = append(out, Escalated{Task: t.ID, From: from, To: step.Role, Level: t.Level, At: at, Reason: reason})
	}
}

// Bounds on the inputs given to resolve a task.
const (
	MaxInputs      = 32
	MaxInputLength = 1024
)

func checkInputs(inputs map[string]string) error {
	v := &ValidationError{What: "task inputs"}
	if len(inputs) > MaxInputs {
		v.Problems = append(v.Problems, Problem{Field: "inputs", Value: fmt.Sprint(len(inputs)), Reason: fmt.Sprintf("at most %d inputs", MaxInputs)})
	}
	for _, k := range slices.Sorted(maps.Keys(inputs)) {
		if len(k) > 64 || len(inputs[k]) > MaxInputLength {
			v.Problems = append(v.Problems, Problem{Field: "inputs." + k[:min(len(k), 64)], Reason: fmt.Sprintf("names are at most 64 bytes, values at most %d", MaxInputLength)})
		}
	}
	if len(v.Problems) > 0 {
		return v
	}
	return nil
}

func (t Task) checkOwner(by Actor) error {
	if by.ID != "" && (by.ID == t.Owner.Person || slices.Contains(by.Roles, t.Owner.Role)) {
		return nil
	}
	return fmt.Errorf("%w: task %s is with role %q (person %q); %q (roles %v) may not act on it — escalate or reassign it", ErrNotOwner, t.ID, t.Owner.Role, t.Owner.Person, by.ID, by.Roles)
}

func (t Task) wrongState(verb string) error {
	allowed := map[string]string{
		"update": "open, acknowledged, in_progress", "acknowledge": "open", "start": "acknowledged",
		"resolve": "acknowledged, in_progress", "cancel": "open, acknowledged, in_progress",
	}[verb]
	return fmt.Errorf("%w: cannot %s task %s: it is %s (allowed from %s)", ErrWrongState, verb, t.ID, t.State, allowed)
}
