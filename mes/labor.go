package mes

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// Record kinds of labor. A labor record's id is "<person>/<sequence>" (sequence zero-padded),
// so listing a person's records by id lists them in the order they were applied.
const (
	personKind        = "person"
	qualificationKind = "qualification"
	certificationKind = "certification"
	calendarKind      = "calendar"
	laborKind         = "labor"
	machineRunKind    = "machinerun"
)

// Actions checked besides a command's own action.
const (
	// ActionBookForOthers is the authority to book, stop or correct another person's time
	// (a supervisor's). Without it a person books only their own time.
	ActionBookForOthers = "labor.book_for_others"
	// ActionOverrideQualification is the authority a signer of a qualification override
	// needs (see WithQualificationPolicy).
	ActionOverrideQualification = "labor.override_qualification"
)

// defaultCorrectionWindow is how far back corrections reach when the plant sets none.
const defaultCorrectionWindow = 7 * 24 * time.Hour

// laborConfig is the plant's labor configuration.
type laborConfig struct {
	policy labor.Policy
	window time.Duration
}

// WithQualificationPolicy sets what a failed qualification check at track-in does:
// labor.Block (the default) refuses the track-in; labor.WarnWithOverride lets it go ahead
// when the command carries the electronic signature (mes.SignedBy) of a signer, other than
// the operator, who holds ActionOverrideQualification. The override and its signer are
// recorded in the audit trail.
func WithQualificationPolicy(policy labor.Policy) Option {
	return func(p *Plant) error {
		if policy != labor.Block && policy != labor.WarnWithOverride {
			return fmt.Errorf("%w: qualification policy %d; use labor.Block or labor.WarnWithOverride", ErrInvalid, policy)
		}
		p.labor.policy = policy
		return nil
	}
}

// WithLaborCorrectionWindow sets how far back booked time may be corrected (default 7 days;
// set it to the pay period). It bounds the cost of every booking: the engine replays a
// person's records only from the first attendance that overlaps the window. Corrections
// of older records are refused.
func WithLaborCorrectionWindow(d time.Duration) Option {
	return func(p *Plant) error {
		if d <= 0 {
			return fmt.Errorf("%w: labor correction window %s; pass a positive duration such as 7*24*time.Hour", ErrInvalid, d)
		}
		p.labor.window = d
		return nil
	}
}

func (p *Plant) correctionWindow() time.Duration {
	if p.labor.window > 0 {
		return p.labor.window
	}
	return defaultCorrectionWindow
}

// Labor events.
type (
	// PersonDefined: a person was added to a site's roster or changed.
	PersonDefined struct {
		Site   string       `json:"site"`
		Person labor.Person `json:"person"`
	}
	// QualificationDefined: a qualification steps may require, with the minimum level.
	QualificationDefined struct {
		Site          string              `json:"site"`
		Qualification labor.Qualification `json:"qualification"`
		Level         int                 `json:"level"`
	}
	// PersonCertified: a person was granted a certification.
	PersonCertified struct {
		Site          string              `json:"site"`
		ID            string              `json:"id"`
		Certification labor.Certification `json:"certification"`
	}
	// ShiftCalendarDefined: a site's shift calendar was defined or replaced.
	ShiftCalendarDefined struct {
		Site     string        `json:"site"`
		Calendar ShiftCalendar `json:"calendar"`
	}
	// LaborBooked: a record was booked on a person's time ledger (a clock-in, a break, a
	// log-on, labor started or stopped, or a correction).
	LaborBooked struct {
		Site   string       `json:"site"`
		Record labor.Record `json:"record"`
	}
	// LaborTimerStopped: labor that ran for a person was stopped implicitly at At (a
	// clock-out stops all their labor, a log-off the labor at that work center) by the record
	// By. When corrections stopped it (CorrectLabor: a clock-out or log-off entered late, or
	// labor entered late into an attendance that has ended), By is the last record of the
	// correction and At is the clock-out or log-off instant, before the event's time.
	LaborTimerStopped struct {
		Site   string      `json:"site"`
		Person string      `json:"person"`
		By     string      `json:"by"`
		Timer  labor.Timer `json:"timer"`
		At     time.Time   `json:"at"`
	}
	// QualificationOverridden: a person lacking a qualification tracked in under a
	// supervisor's signed override.
	QualificationOverridden struct {
		Lot           string `json:"lot"`
		WorkOrder     string `json:"work_order"`
		Step          string `json:"step"`
		Person        string `json:"person"`
		Qualification string `json:"qualification"`
		Level         int    `json:"level"`
		Problem       string `json:"problem"`
		Signer        string `json:"signer"`
		SignerName    string `json:"signer_name"`
	}
	// MachineRunStarted: equipment started running an operation (at track-in).
	MachineRunStarted struct {
		ID  string           `json:"id"`
		Run labor.MachineRun `json:"run"`
	}
	// MachineRunStopped: equipment stopped running an operation (the track-out that left
	// nothing in process).
	MachineRunStopped struct {
		ID  string           `json:"id"`
		Run labor.MachineRun `json:"run"`
	}
)

// EventType implements EventPayload.
func (PersonDefined) EventType() string { return "person.defined" }

// EventType implements EventPayload.
func (QualificationDefined) EventType() string { return "qualification.defined" }

// EventType implements EventPayload.
func (PersonCertified) EventType() string { return "person.certified" }

// EventType implements EventPayload.
func (ShiftCalendarDefined) EventType() string { return "calendar.defined" }

// EventType implements EventPayload.
func (LaborBooked) EventType() string { return "labor.booked" }

// EventType implements EventPayload.
func (LaborTimerStopped) EventType() string { return "labor.timer_stopped" }

// EventType implements EventPayload.
func (QualificationOverridden) EventType() string { return "qualification.overridden" }

// EventType implements EventPayload.
func (MachineRunStarted) EventType() string { return "machine.run_started" }

// EventType implements EventPayload.
func (MachineRunStopped) EventType() string { return "machine.run_stopped" }

func init() {
	registerEvent(&PersonDefined{}, &QualificationDefined{}, &PersonCertified{}, &ShiftCalendarDefined{}, &LaborBooked{},
		&LaborTimerStopped{}, &QualificationOverridden{}, &MachineRunStarted{}, &MachineRunStopped{})
}

// laborErr wraps a labor error with the engine's sentinel, keeping both testable.
func laborErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, labor.ErrNotQualified), errors.Is(err, labor.ErrQualificationExpired):
		return fmt.Errorf("%w: %w", ErrNotQualified, err)
	case errors.Is(err, labor.ErrUnknownRecord):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, labor.ErrInvalid), errors.Is(err, labor.ErrWrongPerson):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	case errors.Is(err, labor.ErrDuplicateID):
		return fmt.Errorf("%w: %w", ErrInternal, err)
	}
	return fmt.Errorf("%w: %w", ErrWrongState, err)
}

// ---- people, qualifications, certifications, calendars -----------------------------------

// storedPerson is a person of a site's roster with the head of their time ledger.
type storedPerson struct {
	labor.Person
	Site   string     `json:"site"`
	Ledger ledgerHead `json:"ledger"`

	version uint64
}

// ledgerHead is where a person's ledger stands: how many records were booked and the
// attendances (clock-ins after a clock-out) inside the correction window. A booking replays
// the person's records from the first of them only, so its cost is bounded by the window.
// Bookings of one person serialise on the person record's version.
type ledgerHead struct {
	Booked uint64       `json:"booked"`
	Open   []attendance `json:"open,omitempty"`
}

// attendance is the sequence number and instant of a clock-in that opened an attendance.
type attendance struct {
	Seq uint64    `json:"seq"`
	At  time.Time `json:"at"`
}

// first is the sequence number replays start at and the earliest instant a correction may
// book.
func (h ledgerHead) first() attendance {
	if len(h.Open) == 0 {
		return attendance{Seq: 1}
	}
	return h.Open[0]
}

// laborEntry is a stored labor record.
type laborEntry struct{ labor.Record }

func (e *laborEntry) detach() {
	if e.Correction != nil {
		c := *e.Correction
		e.Correction = &c
	}
}

func (sp *storedPerson) detach() {
	sp.Roles = slices.Clone(sp.Roles)
	sp.Ledger.Open = slices.Clone(sp.Ledger.Open)
}

func userKey(user string) string { return "user:" + user }

func attendanceKey(person string, seq uint64) string { return fmt.Sprintf("%s/%d", person, seq) }

func laborRecordID(person string, seq uint64) string { return fmt.Sprintf("%s/%012d", person, seq) }

// laborSeq returns the sequence number of a labor record id.
func laborSeq(id string) uint64 {
	n, _ := strconv.ParseUint(id[strings.LastIndexByte(id, '/')+1:], 10, 64)
	return n
}

// DefinePerson adds a person to the roster of site, or changes them. A person belongs to one
// site. UserID links the person to the host's user account (the Actor.ID the host passes in
// mes.By); it defaults to the person's ID and is unique. Name, roles, crew, rate and user id are governed:
// every change is audited.
func (p *Plant) DefinePerson(ctx context.Context, site string, person labor.Person, opts ...CommandOption) (labor.Person, error) {
	return execute(ctx, p, "person.define", []string{site, person.ID}, opts, func(c *command) (labor.Person, error) {
		if person.UserID == "" {
			person.UserID = person.ID
		}
		ps := problems{what: "person"}
		if person.ID == "" || strings.Contains(person.ID, "/") {
			ps.add("id", person.ID, "is required and must not contain \"/\"")
		}
		if person.Rate.IsNegative() {
			ps.add("rate", person.Rate.String(), "a labor rate cannot be negative")
		}
		if err := ps.err(); err != nil {
			return labor.Person{}, err
		}
		if err := c.authorize(site); err != nil {
			return labor.Person{}, err
		}
		if err := c.requireSite(site); err != nil {
			return labor.Person{}, err
		}
		var sp storedPerson
		v, err := load(c.ctx, c.tx, personKind, person.ID, &sp)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return labor.Person{}, err
		}
		if v > 0 && sp.Site != site {
			return labor.Person{}, fmt.Errorf("%w: person %q is on the roster of site %q; a person belongs to one site", ErrDuplicate, person.ID, sp.Site)
		}
		before := sp.Person
		sp.Person, sp.Site, sp.version = person, site, v
		if err := c.savePerson(&sp); err != nil {
			if errors.Is(err, ErrDuplicate) {
				return labor.Person{}, fmt.Errorf("%w: user %q is already linked to another person", ErrDuplicate, person.UserID)
			}
			return labor.Person{}, err
		}
		c.record(objectRef(personKind, person.ID), change("name", before.Name, person.Name), change("user_id", before.UserID, person.UserID),
			change("roles", before.Roles, person.Roles), change("crew", before.Crew, person.Crew), change("rate", before.Rate, person.Rate))
		return person, c.emit(person.ID, PersonDefined{Site: site, Person: person})
	})
}

func (c *command) savePerson(sp *storedPerson) error {
	v, err := save(c, personKind, sp.ID, sp.Site, sp.version, sp, []string{userKey(sp.UserID)}, map[string]string{"crew": sp.Crew})
	if err != nil {
		return err
	}
	sp.version = v
	return nil
}

func (c *command) loadPerson(id string) (*storedPerson, error) {
	sp := &storedPerson{}
	v, err := load(c.ctx, c.tx, personKind, id, sp)
	if err != nil {
		return nil, fmt.Errorf("person %q (add them with DefinePerson): %w", id, err)
	}
	sp.version = v
	return sp, nil
}

// personOfActor returns the roster entry linked to the command's actor, or nil when the
// actor is not on a roster.
func (c *command) personOfActor() (*storedPerson, error) {
	rec, err := c.tx.Lookup(c.ctx, personKind, userKey(c.opts.actor.ID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sp := &storedPerson{}
	err = decode(rec, sp)
	sp.version = rec.Version
	return sp, err
}

// Person returns a person of the roster.
func (p *Plant) Person(ctx context.Context, id string) (labor.Person, error) {
	var sp storedPerson
	err := p.view(ctx, func(tx store.ReadTx) error {
		_, err := load(ctx, tx, personKind, id, &sp)
		return err
	})
	return sp.Person, err
}

// storedQualification is a qualification of a site's catalog with its minimum level.
type storedQualification struct {
	labor.Qualification
	Level int `json:"level"`
}

// DefineQualification adds a qualification to the catalog of site, or changes it: the name
// shown in errors and the minimum certification level a step requiring it (routing.Qualified)
// demands. A step may require a qualification that is not in the catalog: it then demands
// level 1 and is shown by its id.
func (p *Plant) DefineQualification(ctx context.Context, site string, q labor.Qualification, level int, opts ...CommandOption) error {
	_, err := execute(ctx, p, "qualification.define", []string{site, q.ID}, opts, func(c *command) (struct{}, error) {
		ps := problems{what: "qualification"}
		if q.ID == "" {
			ps.add("id", "", "is required")
		}
		if level < 1 {
			ps.add("level", fmt.Sprint(level), "must be 1 or more")
		}
		if err := ps.err(); err != nil {
			return struct{}{}, err
		}
		if err := c.authorize(site); err != nil {
			return struct{}{}, err
		}
		if err := c.requireSite(site); err != nil {
			return struct{}{}, err
		}
		var old storedQualification
		id := site + "/" + q.ID
		v, err := load(c.ctx, c.tx, qualificationKind, id, &old)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return struct{}{}, err
		}
		if _, err := save(c, qualificationKind, id, site, v, &storedQualification{Qualification: q, Level: level}, nil, nil); err != nil {
			return struct{}{}, err
		}
		c.record(objectRef(qualificationKind, id), change("name", old.Name, q.Name), change("level", old.Level, level))
		return struct{}{}, c.emit(id, QualificationDefined{Site: site, Qualification: q, Level: level})
	})
	return err
}

// requirement is what a step's qualification demands in site under the plant's policy.
func (c *command) requirement(site, qualification string) (labor.Requirement, error) {
	sq := storedQualification{Qualification: labor.Qualification{ID: qualification, Name: qualification}, Level: 1}
	if _, err := load(c.ctx, c.tx, qualificationKind, site+"/"+qualification, &sq); err != nil && !errors.Is(err, ErrNotFound) {
		return labor.Requirement{}, err
	}
	return labor.Requirement{Qualification: sq.Qualification, Level: sq.Level, Policy: c.p.labor.policy}, nil
}

// Certify grants a person a certification: a qualification at a level, valid from Issued
// (inclusive) until Expires (exclusive; zero never expires). Certifications are never
// changed: a renewal is a new certification. It returns the certification's id.
func (p *Plant) Certify(ctx context.Context, cert labor.Certification, opts ...CommandOption) (string, error) {
	return execute(ctx, p, "certification.grant", []string{cert.Person, cert.Qualification}, opts, func(c *command) (string, error) {
		ps := problems{what: "certification"}
		if cert.Person == "" {
			ps.add("person", "", "is required")
		}
		if cert.Qualification == "" {
			ps.add("qualification", "", "is required")
		}
		if cert.Level < 1 {
			ps.add("level", fmt.Sprint(cert.Level), "must be 1 or more")
		}
		if cert.Issued.IsZero() {
			ps.add("issued", "", "is required: the instant the certification takes effect")
		}
		if !cert.Expires.IsZero() && !cert.Expires.After(cert.Issued) {
			ps.add("expires", cert.Expires.UTC().Format(time.RFC3339), "must be after issued (or zero: never expires)")
		}
		if err := ps.err(); err != nil {
			return "", err
		}
		sp, err := c.loadPerson(cert.Person)
		if err != nil {
			return "", err
		}
		if err := c.authorize(sp.Site); err != nil {
			return "", err
		}
		cert.Issued, cert.Expires = cert.Issued.UTC(), cert.Expires.UTC()
		id := c.p.newID()
		if _, err := save(c, certificationKind, id, sp.Site, 0, &cert, nil, map[string]string{"person": cert.Person}); err != nil {
			return "", err
		}
		c.record(objectRef(certificationKind, id), change("person", "", cert.Person), change("qualification", "", cert.Qualification),
			change("level", "", cert.Level), change("issued", "", cert.Issued), change("expires", "", cert.Expires))
		return id, c.emit(cert.Person, PersonCertified{Site: sp.Site, ID: id, Certification: cert})
	})
}

// Certifications returns every certification granted to a person, expired ones included.
func (p *Plant) Certifications(ctx context.Context, person string) ([]labor.Certification, error) {
	var out []labor.Certification
	err := p.view(ctx, func(tx store.ReadTx) error {
		var sp storedPerson
		if _, err := load(ctx, tx, personKind, person, &sp); err != nil {
			return fmt.Errorf("person %q: %w", person, err)
		}
		var err error
		out, err = certificationsOf(ctx, tx, sp.Site, person)
		return err
	})
	return out, err
}

func certificationsOf(ctx context.Context, tx store.ReadTx, site, person string) ([]labor.Certification, error) {
	recs, err := tx.List(ctx, store.Query{Kind: certificationKind, Site: site, Index: "person", Value: person})
	if err != nil {
		return nil, err
	}
	out := make([]labor.Certification, len(recs))
	for i, r := range recs {
		if err := decode(r, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ShiftCalendar is the definition of a site's shift calendar: a weekly pattern of shifts in
// a named IANA time zone, with dated exceptions (holidays, special schedules). See
// labor.NewCalendar.
type ShiftCalendar struct {
	Zone       string
	Week       map[time.Weekday][]labor.Shift
	Exceptions []labor.Exception `json:",omitempty"`
}

func (s *ShiftCalendar) detach() {
	shifts := func(ss []labor.Shift) []labor.Shift {
		out := slices.Clone(ss)
		for i := range out {
			out[i].Breaks = slices.Clone(out[i].Breaks)
		}
		return out
	}
	week := make(map[time.Weekday][]labor.Shift, len(s.Week))
	for d, ss := range s.Week {
		week[d] = shifts(ss)
	}
	s.Week = week
	s.Exceptions = slices.Clone(s.Exceptions)
	for i := range s.Exceptions {
		s.Exceptions[i].Shifts = shifts(s.Exceptions[i].Shifts)
	}
}

// DefineShiftCalendar defines or replaces the shift calendar of site. Every problem of the
// definition is listed; on error nothing changes.
func (p *Plant) DefineShiftCalendar(ctx context.Context, site string, cal ShiftCalendar, opts ...CommandOption) error {
	_, err := execute(ctx, p, "calendar.define", []string{site}, opts, func(c *command) (struct{}, error) {
		if _, err := labor.NewCalendar(cal.Zone, cal.Week, cal.Exceptions...); err != nil {
			return struct{}{}, laborErr(err)
		}
		if err := c.authorize(site); err != nil {
			return struct{}{}, err
		}
		if err := c.requireSite(site); err != nil {
			return struct{}{}, err
		}
		var old ShiftCalendar
		v, err := load(c.ctx, c.tx, calendarKind, site, &old)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return struct{}{}, err
		}
		if _, err := save(c, calendarKind, site, site, v, &cal, nil, nil); err != nil {
			return struct{}{}, err
		}
		c.record(objectRef(calendarKind, site), change("zone", old.Zone, cal.Zone), change("week", old.Week, cal.Week),
			change("exceptions", old.Exceptions, cal.Exceptions))
		return struct{}{}, c.emit(site, ShiftCalendarDefined{Site: site, Calendar: cal})
	})
	return err
}

// ShiftCalendar returns the shift calendar of site. Use its Shifts and ShiftAt to find shift
// windows, for example to compute a Timesheet per shift.
func (p *Plant) ShiftCalendar(ctx context.Context, site string) (labor.Calendar, error) {
	var def ShiftCalendar
	err := p.view(ctx, func(tx store.ReadTx) error {
		_, err := load(ctx, tx, calendarKind, site, &def)
		return err
	})
	if err != nil {
		return labor.Calendar{}, fmt.Errorf("shift calendar of site %q (define it with DefineShiftCalendar): %w", site, err)
	}
	cal, err := labor.NewCalendar(def.Zone, def.Week, def.Exceptions...)
	if err != nil {
		return labor.Calendar{}, fmt.Errorf("%w: stored shift calendar of site %q: %w", ErrInternal, site, err)
	}
	return cal, nil
}

// ---- the time ledger -----------------------------------------------------------------------

// Booking is the result of a labor command: the records booked, the labor they stopped
// implicitly (a clock-out stops all running labor, a log-off the labor at that work center;
// for corrections, see labor.Ledger.Apply), each with the instant it stopped, and where the
// person stands now.
type Booking struct {
	Records []labor.Record
	Stopped []labor.Timer
	Status  labor.Status
}

// Work names the labor StartLabor and StopLabor book: an operation (a lot at a step; the
// work order is the lot's) as Setup, Run or Indirect, or indirect work without an operation
// (Lot and Step empty, Reason the reason code, e.g. "CLEANING").
type Work struct {
	Lot, Step  string
	Activity   labor.Activity // StartLabor
	Reason     string         // reason code; required for Indirect
	WorkCenter string         // optional; the person must be logged on to it, and logging off stops the labor
	Weight     int            // share of concurrent time (1 to 1000); 0 means 1
}

// ledger is a person's ledger loaded in a command.
type ledger struct {
	sp *storedPerson
	l  labor.Ledger
}

// subject resolves whose time a labor command books: person, or the actor's own roster entry
// when person is empty. Booking for someone else needs ActionBookForOthers. It authorizes the
// command in the person's site and loads their ledger.
func (c *command) subject(person string) (*ledger, error) {
	var sp *storedPerson
	var err error
	if person == "" {
		if sp, err = c.personOfActor(); err == nil && sp == nil {
			err = fmt.Errorf("%w: actor %q is linked to no person of a roster; add them with DefinePerson, or name the person the command books for", ErrNotFound, c.opts.actor.ID)
		}
	} else {
		sp, err = c.loadPerson(person)
	}
	if err != nil {
		return nil, err
	}
	if err := c.authorize(sp.Site); err != nil {
		return nil, err
	}
	if sp.UserID != c.opts.actor.ID {
		if err := c.p.auth.Authorize(c.ctx, AuthRequest{Actor: c.opts.actor, Action: ActionBookForOthers, Site: sp.Site}); err != nil {
			return nil, fmt.Errorf("%s may book only their own time, not %q's: %w", c.opts.actor.ID, sp.ID, err)
		}
	}
	l, err := replayFrom(c.ctx, c.tx, sp, time.Time{})
	if err != nil {
		return nil, err
	}
	return &ledger{sp: sp, l: l}, nil
}

// windowRecords reads a person's records of the attendances in the correction window, in
// applied order: one small index look-up per attendance.
func windowRecords(ctx context.Context, tx store.ReadTx, sp *storedPerson) ([]labor.Record, error) {
	var out []labor.Record
	for _, a := range sp.Ledger.Open {
		rs, err := tx.List(ctx, store.Query{Kind: laborKind, Site: sp.Site, Index: "attendance", Value: attendanceKey(sp.ID, a.Seq)})
		if err != nil {
			return nil, err
		}
		if out, err = appendRecords(out, rs); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// historyRecords reads all of a person's records, in applied order.
func historyRecords(ctx context.Context, tx store.ReadTx, sp *storedPerson) ([]labor.Record, error) {
	rs, err := tx.List(ctx, store.Query{Kind: laborKind, Site: sp.Site, Index: "person", Value: sp.ID})
	if err != nil {
		return nil, err
	}
	return appendRecords(nil, rs)
}

func appendRecords(out []labor.Record, rs []store.Record) ([]labor.Record, error) {
	for _, r := range rs {
		var e laborEntry
		if err := decode(r, &e); err != nil {
			return nil, err
		}
		out = append(out, e.Record)
	}
	return out, nil
}

// book applies records to the ledger as one change and persists them: ids are assigned
// here, the person is the ledger's. A refused record changes nothing.
func (c *command) book(lg *ledger, recs ...labor.Record) (Booking, error) {
	sp := lg.sp
	head := sp.Ledger
	wasIn := lg.l.Status().ClockedIn
	for i := range recs {
		head.Booked++
		recs[i].ID, recs[i].Person, recs[i].At = laborRecordID(sp.ID, head.Booked), sp.ID, recs[i].At.UTC()
	}
	next, stopped, err := lg.l.Apply(recs...)
	if err != nil {
		return Booking{}, c.explain(sp, recs, err)
	}
	opened := false // a clock-in opened a new attendance
	for _, r := range recs {
		if len(head.Open) == 0 || (r.Kind == labor.ClockIn && r.Correction == nil && !wasIn) {
			head.Open = append(slices.Clip(head.Open), attendance{Seq: laborSeq(r.ID), At: r.At})
			opened = true
		}
		ix := map[string]string{"person": sp.ID, "attendance": attendanceKey(sp.ID, head.Open[len(head.Open)-1].Seq)}
		if r.Op.WorkOrder != "" {
			ix["workorder"] = r.Op.WorkOrder
		}
		if _, err := save(c, laborKind, r.ID, sp.Site, 0, &laborEntry{Record: r}, nil, ix); err != nil {
			return Booking{}, err
		}
		c.record(objectRef(laborKind, r.ID), laborChanges(lg.l, r)...)
		if err := c.emit(sp.ID, LaborBooked{Site: sp.Site, Record: r}); err != nil {
			return Booking{}, err
		}
	}
	for _, t := range stopped {
		if err := c.emit(sp.ID, LaborTimerStopped{Site: sp.Site, Person: sp.ID, By: recs[len(recs)-1].ID, Timer: t, At: t.Stopped}); err != nil {
			return Booking{}, err
		}
	}
	if opened {
		head.Open = c.pruneAttendances(sp, next, head.Open)
	}
	sp.Ledger = head
	if err := c.savePerson(sp); err != nil {
		return Booking{}, err
	}
	lg.l = next
	return Booking{Records: recs, Stopped: stopped, Status: next.Status()}, nil
}

// pruneAttendances drops the attendances that ended before the correction window, keeping
// one only when a replay from the next one leads to the same status (so nothing later
// depends on the records left out).
func (c *command) pruneAttendances(sp *storedPerson, l labor.Ledger, open []attendance) []attendance {
	cutoff := c.now.Add(-c.p.correctionWindow())
	all := l.Records()
	base := sp.Ledger.first().Seq
	for len(open) > 1 && !open[1].At.After(cutoff) && open[1].Seq >= base && open[1].Seq-base < uint64(len(all)) {
		from, err := labor.Replay(sp.ID, all[open[1].Seq-base:])
		if err != nil || !sameStatus(from.Status(), l.Status()) {
			break
		}
		open = open[1:]
	}
	return open
}

func sameStatus(a, b labor.Status) bool {
	norm := func(s labor.Status) labor.Status {
		s.WorkCenters, s.Timers = slices.Clip(s.WorkCenters), slices.Clip(s.Timers)
		if len(s.WorkCenters) == 0 {
			s.WorkCenters = nil
		}
		if len(s.Timers) == 0 {
			s.Timers = nil
		}
		return s
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// laborChanges is the audit view of a booked record: what it books and, for a correction,
// the booking it supersedes before and after.
func laborChanges(l labor.Ledger, r labor.Record) []store.Change {
	if r.Correction == nil {
		return []store.Change{change("booking", "", describe(r))}
	}
	before := ""
	if r.Correction.Of != "" {
		for _, old := range l.Records() {
			if old.ID == r.Correction.Of {
				before = describe(old)
			}
		}
	}
	return []store.Change{change("booking", before, describe(r)), change("corrects", "", r.Correction.Of), change("correction reason", "", r.Correction.Reason)}
}

// describe formats a record for the audit trail.
func describe(r labor.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s at %s", r.ID, r.Kind, r.At.UTC().Format(time.RFC3339))
	if !r.Op.IsZero() {
		fmt.Fprintf(&b, " on %s", r.Op)
	}
	if r.Activity != "" {
		fmt.Fprintf(&b, " as %s", r.Activity)
	}
	if r.WorkCenter != "" {
		fmt.Fprintf(&b, " at work center %s", r.WorkCenter)
	}
	if r.Reason != "" {
		fmt.Fprintf(&b, " reason %s", r.Reason)
	}
	if r.Weight > 1 {
		fmt.Fprintf(&b, " weight %d", r.Weight)
	}
	return b.String()
}

// explain wraps a refused booking; stopping labor that is not running says who started it.
func (c *command) explain(sp *storedPerson, recs []labor.Record, err error) error {
	i := slices.IndexFunc(recs, func(r labor.Record) bool { return r.Kind == labor.StopLabor })
	if !errors.Is(err, labor.ErrNotRunning) || i < 0 {
		return laborErr(err)
	}
	var others []string
	for _, t := range c.startedBy(sp.Site, recs[i].Op) {
		if t != sp.ID && !slices.Contains(others, t) {
			others = append(others, t)
		}
	}
	if len(others) == 0 {
		return laborErr(err)
	}
	return fmt.Errorf("%w; it was started by %s: only that person's own ledger can stop it (they stop it, or a supervisor books for them)", laborErr(err), strings.Join(others, ", "))
}

// startedBy lists the people who started labor on op (read from the work order's labor
// records).
func (c *command) startedBy(site string, op labor.Operation) []string {
	if op.WorkOrder == "" {
		return nil
	}
	rs, err := c.tx.List(c.ctx, store.Query{Kind: laborKind, Site: site, Index: "workorder", Value: op.WorkOrder})
	if err != nil {
		return nil
	}
	var who []string
	for _, rec := range rs {
		var r laborEntry
		if decode(rec, &r) == nil && r.Kind == labor.StartLabor && r.Op == op {
			who = append(who, r.Person)
		}
	}
	return who
}

// bookFor runs a labor command for person: records builds what it books from the person's
// ledger.
func (p *Plant) bookFor(ctx context.Context, action, person string, opts []CommandOption, records func(c *command, lg *ledger) ([]labor.Record, error)) (Booking, error) {
	return execute(ctx, p, action, []string{person}, opts, func(c *command) (Booking, error) {
		lg, err := c.subject(person)
		if err != nil {
			return Booking{}, err
		}
		recs, err := records(c, lg)
		if err != nil {
			return Booking{}, err
		}
		return c.book(lg, recs...)
	})
}

// bookSimple books a record of kind at the command's instant.
func (p *Plant) bookSimple(ctx context.Context, action, person string, r labor.Record, opts []CommandOption) (Booking, error) {
	return p.bookFor(ctx, action, person, opts, func(c *command, _ *ledger) ([]labor.Record, error) {
		r.At = c.now
		return []labor.Record{r}, nil
	})
}

// ClockIn starts person's attendance. An empty person is the actor's own roster entry
// (Person.ID equal to the actor's id); booking for someone else needs ActionBookForOthers.
// The same holds for every labor command.
func (p *Plant) ClockIn(ctx context.Context, person string, opts ...CommandOption) (Booking, error) {
	return p.bookSimple(ctx, "labor.clock_in", person, labor.Record{Kind: labor.ClockIn}, opts)
}

// ClockOut ends person's attendance. Labor still running on open operations stops at the
// clock-out instant (returned in Booking.Stopped, each with a LaborTimerStopped event) and the
// person is logged off every work center. A clock-out during a break is refused: end the
// break first.
func (p *Plant) ClockOut(ctx context.Context, person string, opts ...CommandOption) (Booking, error) {
	return p.bookSimple(ctx, "labor.clock_out", person, labor.Record{Kind: labor.ClockOut}, opts)
}

// StartBreak starts a break: running labor stops accruing until EndBreak (a break counts
// for no operation).
func (p *Plant) StartBreak(ctx context.Context, person string, opts ...CommandOption) (Booking, error) {
	return p.bookSimple(ctx, "labor.break_start", person, labor.Record{Kind: labor.BreakStart}, opts)
}

// EndBreak ends the break; running labor accrues again.
func (p *Plant) EndBreak(ctx context.Context, person string, opts ...CommandOption) (Booking, error) {
	return p.bookSimple(ctx, "labor.break_end", person, labor.Record{Kind: labor.BreakEnd}, opts)
}

// LogOn logs person on to a work center of their site.
func (p *Plant) LogOn(ctx context.Context, person, workCenter string, opts ...CommandOption) (Booking, error) {
	return p.bookFor(ctx, "labor.log_on", person, opts, func(c *command, lg *ledger) ([]labor.Record, error) {
		var se storedEquipment
		if _, err := load(c.ctx, c.tx, equipmentKind, workCenter, &se); err != nil || se.Site != lg.sp.Site {
			return nil, fmt.Errorf("%w: work center %q is not equipment of site %s; define it with DefineEquipment", ErrNotFound, workCenter, lg.sp.Site)
		}
		return []labor.Record{{Kind: labor.LogOn, At: c.now, WorkCenter: workCenter}}, nil
	})
}

// LogOff logs person off a work center; labor booked at it stops.
func (p *Plant) LogOff(ctx context.Context, person, workCenter string, opts ...CommandOption) (Booking, error) {
	return p.bookSimple(ctx, "labor.log_off", person, labor.Record{Kind: labor.LogOff, WorkCenter: workCenter}, opts)
}

// operation resolves the operation of w in site: the lot's work order, and the step checked
// against the lot's routing. Indirect work without a lot has the zero operation.
func (c *command) operation(site string, w Work) (labor.Operation, error) {
	if w.Lot == "" && w.Step == "" {
		return labor.Operation{}, nil
	}
	lot, err := c.loadLot(w.Lot)
	if err != nil {
		return labor.Operation{}, err
	}
	if lot.Site != site || lot.Execution == nil {
		return labor.Operation{}, fmt.Errorf("%w: lot %q is not work on a routing in site %s", ErrNotFound, w.Lot, site)
	}
	rt, err := c.p.routings.revision(c.ctx, c.tx, lot.Site, lot.Execution.Routing, lot.Execution.Revision)
	if err != nil {
		return labor.Operation{}, err
	}
	if _, ok := rt.Step(w.Step); !ok {
		return labor.Operation{}, fmt.Errorf("%w: step %q is not in routing %s rev %s of %s", ErrNotFound, w.Step, rt.ID, rt.Revision, lot.ref())
	}
	return labor.Operation{WorkOrder: lot.WorkOrder, Lot: lot.ID, Step: w.Step}, nil
}

// StartLabor starts person's labor on an operation (setup or run), or indirect work with a
// reason code. A person may run several operations at once: the time is split among them
// (by Work.Weight). The person must be clocked in and not on break.
func (p *Plant) StartLabor(ctx context.Context, person string, w Work, opts ...CommandOption) (Booking, error) {
	return p.bookFor(ctx, "labor.start", person, opts, func(c *command, lg *ledger) ([]labor.Record, error) {
		op, err := c.operation(lg.sp.Site, w)
		return []labor.Record{{Kind: labor.StartLabor, At: c.now, Op: op, Activity: w.Activity, Reason: w.Reason, WorkCenter: w.WorkCenter, Weight: w.Weight}}, err
	})
}

// StopLabor stops person's labor on the operation of w (Lot and Step), or their indirect
// work with w.Reason. Only the person's own labor can be stopped: stopping labor that runs
// for someone else fails (ErrWrongState wrapping labor.ErrNotRunning, naming who started
// it), so a timer is never closed for the wrong person.
func (p *Plant) StopLabor(ctx context.Context, person string, w Work, opts ...CommandOption) (Booking, error) {
	return p.bookFor(ctx, "labor.stop", person, opts, func(c *command, lg *ledger) ([]labor.Record, error) {
		op, err := c.operation(lg.sp.Site, w)
		return []labor.Record{{Kind: labor.StopLabor, At: c.now, Op: op, Reason: w.Reason}}, err
	})
}

// LaborCorrection is one correction of booked time: Record is the booking as it should have
// been (Kind, At, WorkCenter, Op, Activity, Reason, Weight; labor.Void removes the
// booking), Of the id of the record it supersedes, or empty for a late entry.
type LaborCorrection struct {
	Of     string
	Record labor.Record
}

// CorrectLabor books corrections of person's time as new records that reference the ones
// they supersede (a booking is never edited), with the reason (mes.Reason, required) and
// the actor, in the audit trail with the booking before and after. The corrections are
// checked together against the person's history (so a forgotten break is entered as a pair
// of late entries); an inconsistent history is refused. Records older than the correction
// window (WithLaborCorrectionWindow) cannot be corrected. Labor the corrections stop at a
// clock-out or log-off (one entered late, or an ended attendance that labor was entered
// into late) is returned in Booking.Stopped, each with a LaborTimerStopped event at the
// instant it stopped.
func (p *Plant) CorrectLabor(ctx context.Context, person string, fixes []LaborCorrection, opts ...CommandOption) (Booking, error) {
	return p.bookFor(ctx, "labor.correct", person, opts, func(c *command, lg *ledger) ([]labor.Record, error) {
		ps := problems{what: "labor correction"}
		if len(fixes) == 0 {
			ps.add("fixes", "", "name at least one correction")
		}
		if c.opts.reason == "" {
			ps.add("reason", "", "a correction needs a reason; pass mes.Reason(...)")
		}
		first := lg.sp.Ledger.first()
		recs := make([]labor.Record, len(fixes))
		for i, f := range fixes {
			at := fmt.Sprintf("fixes[%d]", i)
			if f.Of != "" && (!strings.HasPrefix(f.Of, lg.sp.ID+"/") || laborSeq(f.Of) == 0 || laborSeq(f.Of) > lg.sp.Ledger.Booked) {
				ps.add(at+".of", f.Of, fmt.Sprintf("is not a record of person %q", lg.sp.ID))
			} else if f.Of != "" && laborSeq(f.Of) < first.Seq {
				ps.add(at+".of", f.Of, fmt.Sprintf("was booked before the correction window (records from %s on can be corrected)", first.At.Format(time.RFC3339)))
			}
			if !f.Record.At.IsZero() && f.Record.At.Before(first.At) {
				ps.add(at+".record.at", f.Record.At.UTC().Format(time.RFC3339), fmt.Sprintf("is before the correction window, which starts %s", first.At.Format(time.RFC3339)))
			}
			if f.Record.At.After(c.now) {
				ps.add(at+".record.at", f.Record.At.UTC().Format(time.RFC3339), "is in the future")
			}
			r := f.Record
			r.Correction = &labor.Correction{Of: f.Of, Reason: c.opts.reason, Actor: c.opts.actor.ID, At: c.now}
			recs[i] = r
		}
		return recs, ps.err()
	})
}

// LaborStatus returns where a person stands now: clocked in, on break, logged on, running labor.
func (p *Plant) LaborStatus(ctx context.Context, person string) (labor.Status, error) {
	l, err := p.ledgerFrom(ctx, person, time.Time{})
	return l.Status(), err
}

// Timesheet returns a person's time within [from, to): attendance, breaks, idle time and
// labor split among the operations that ran concurrently, with corrections applied. Labor
// still running counts until to. A window inside the correction window costs a replay of
// that window; an older one replays the person's whole history.
func (p *Plant) Timesheet(ctx context.Context, person string, from, to time.Time) (labor.Timesheet, error) {
	l, err := p.ledgerFrom(ctx, person, from)
	if err != nil {
		return labor.Timesheet{}, err
	}
	ts, err := l.Timesheet(from, to)
	return ts, laborErr(err)
}

// ledgerFrom loads a person and replays their ledger covering the instant from (see
// replayFrom).
func (p *Plant) ledgerFrom(ctx context.Context, person string, from time.Time) (labor.Ledger, error) {
	var l labor.Ledger
	err := p.view(ctx, func(tx store.ReadTx) error {
		var sp storedPerson
		if _, err := load(ctx, tx, personKind, person, &sp); err != nil {
			return fmt.Errorf("person %q: %w", person, err)
		}
		var err error
		l, err = replayFrom(ctx, tx, &sp, from)
		return err
	})
	return l, err
}

// replayFrom rebuilds a person's ledger so that it covers the instant from: from the records
// of the correction window when it starts at or before from (or from is zero, as for every
// booking), else from the whole history.
func replayFrom(ctx context.Context, tx store.ReadTx, sp *storedPerson, from time.Time) (labor.Ledger, error) {
	read := windowRecords
	if !from.IsZero() && from.Before(sp.Ledger.first().At) {
		read = historyRecords
	}
	recs, err := read(ctx, tx, sp)
	if err != nil {
		return labor.Ledger{}, err
	}
	l, err := labor.Replay(sp.ID, recs)
	if err != nil {
		return labor.Ledger{}, fmt.Errorf("%w: %w", ErrInternal, err)
	}
	return l, nil
}

// ---- track-in and track-out ------------------------------------------------------------------

// checkTrackIn verifies what a track-in needs of the person doing it: when the step requires
// a qualification and the actor is a person, a certification in force at the track-in
// instant at the required level. Under labor.Block a shortfall refuses the track-in
// (ErrNotQualified, naming the qualification and its expiry); under labor.WarnWithOverride
// the track-in goes ahead only with the signature of a supervisor holding
// ActionOverrideQualification, and the override is audited with the signer.
func (c *command) checkTrackIn(sc *stepContext) error {
	if sc.step.Qualification == "" || c.opts.actor.Kind != Person {
		return nil
	}
	person := c.opts.actor.ID
	sp, err := c.personOfActor()
	if err != nil {
		return err
	}
	if sp != nil && sp.Site == sc.lot.Site {
		person = sp.ID
	}
	certs, err := certificationsOf(c.ctx, c.tx, sc.lot.Site, person)
	if err != nil {
		return err
	}
	req, err := c.requirement(sc.lot.Site, sc.step.Qualification)
	if err != nil {
		return err
	}
	err = labor.Check(person, certs, req, c.now)
	var override *labor.OverrideRequired
	if err == nil {
		return nil
	}
	where := fmt.Sprintf("track-in of %s at step %s", sc.lot.ref(), sc.step.ID)
	if !errors.As(err, &override) {
		return fmt.Errorf("%s refused: %w", where, laborErr(err))
	}
	for _, s := range c.signers {
		if s.ID == c.opts.actor.ID {
			continue
		}
		if c.p.auth.Authorize(c.ctx, AuthRequest{Actor: Actor{ID: s.ID, Name: s.Name, Kind: Person, Roles: s.Roles}, Action: ActionOverrideQualification, Site: sc.lot.Site}) != nil {
			continue
		}
		c.record(objectRef(lotKind, sc.lot.ID), change("qualification override", "",
			fmt.Sprintf("%s level %d for %s signed by %s (%s)", req.Qualification.ID, req.Level, person, s.Name, s.Meaning)))
		return c.emit(sc.lot.ID, QualificationOverridden{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Step: sc.step.ID, Person: person,
			Qualification: req.Qualification.ID, Level: req.Level, Problem: override.Problem.Error(), Signer: s.ID, SignerName: s.Name})
	}
	return fmt.Errorf("%s needs a supervisor's override: %w: %w; pass mes.SignedBy(credentials of a supervisor holding %q)",
		where, ErrNotQualified, err, ActionOverrideQualification)
}

// afterTrackIn starts, for a person on the roster who is clocked in, Run labor on the
// operation (unless it already runs for them).
func (c *command) afterTrackIn(sc *stepContext) error {
	op := labor.Operation{WorkOrder: sc.wo.ID, Lot: sc.lot.ID, Step: sc.step.ID}
	lg, err := c.actorLedger(sc.lot.Site)
	if err != nil || lg == nil {
		return err
	}
	st := lg.l.Status()
	if !st.ClockedIn || slices.ContainsFunc(st.Timers, func(t labor.Timer) bool { return t.Op == op }) {
		return nil
	}
	wc := ""
	if slices.Contains(st.WorkCenters, sc.step.WorkCenter) {
		wc = sc.step.WorkCenter
	}
	_, err = c.book(lg, labor.Record{Kind: labor.StartLabor, At: c.now, Op: op, Activity: labor.Run, WorkCenter: wc})
	return err
}

// afterTrackOut stops, when nothing of the lot remains in process at the step (books are
// the step's after the track-out), the actor's own labor on the operation. Other people's
// labor on the operation is never stopped for them: they stop it themselves (or clock out).
func (c *command) afterTrackOut(sc *stepContext, books routing.Books) error {
	if !books.InProcess.IsZero() {
		return nil
	}
	op := labor.Operation{WorkOrder: sc.wo.ID, Lot: sc.lot.ID, Step: sc.step.ID}
	lg, err := c.actorLedger(sc.lot.Site)
	if err != nil || lg == nil {
		return err
	}
	if !slices.ContainsFunc(lg.l.Status().Timers, func(t labor.Timer) bool { return t.Op == op }) {
		return nil
	}
	_, err = c.book(lg, labor.Record{Kind: labor.StopLabor, At: c.now, Op: op})
	return err
}

// actorLedger loads the ledger of the actor when the actor is a person on the roster of
// site, or returns nil.
func (c *command) actorLedger(site string) (*ledger, error) {
	if c.opts.actor.Kind != Person {
		return nil, nil
	}
	sp, err := c.personOfActor()
	if err != nil || sp == nil || sp.Site != site {
		return nil, err
	}
	l, err := replayFrom(c.ctx, c.tx, sp, time.Time{})
	if err != nil {
		return nil, err
	}
	return &ledger{sp: sp, l: l}, nil
}

// ---- machine time ---------------------------------------------------------------------------

// Machine runs are bookkeeping the engine derives from track-ins and track-outs: a run
// opens when a track-in loads an operation on equipment (loadEquipment; the open run lives
// in the equipment's load) and closes when a track-out leaves nothing of the operation in
// process (unloadEquipment), when it is stored. The track-in and track-out are audited;
// the runs are in the hash-chained event log (MachineRunStarted, MachineRunStopped) and get
// no audit records of their own.

// storedRun is a closed machine run with its site.
type storedRun struct {
	labor.MachineRun
	Site string `json:"site"`
}

// detach: a machine run holds no maps or slices.
func (r *storedRun) detach() {}

// runIndex keeps the index entries of the machine run stored last, for the next: the runs
// of one work order on one equipment, stored one after another, share one map (the store
// keeps it with each run).
type runIndex struct {
	mu   sync.Mutex
	last map[string]string
}

// of returns the index entries of a run of workOrder on equipment eq.
func (ri *runIndex) of(workOrder, eq string) map[string]string {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	if ri.last == nil || ri.last["workorder"] != workOrder || ri.last["equipment"] != eq {
		ri.last = map[string]string{"workorder": workOrder, "equipment": eq}
	}
	return ri.last
}

// closeMachineRun stores run, closed now, and announces it.
func (c *command) closeMachineRun(site, id string, run labor.MachineRun) error {
	run.To = c.now
	ix := c.p.runIndex.of(run.Op.WorkOrder, run.Equipment)
	if _, err := save(c, machineRunKind, id, site, 0, &storedRun{MachineRun: run, Site: site}, nil, ix); err != nil {
		return err
	}
	return emitHot(c, run.Op.Lot, MachineRunStopped{ID: id, Run: run})
}

// ---- efficiency and cost ----------------------------------------------------------------------

// LaborReport is a work order's labor and machine time against standard, and its cost.
type LaborReport struct {
	WorkOrder  string
	Window     labor.Interval      // from the first booking on the order to the report's instant
	Total      labor.Performance   // the work order as a whole
	Operations []labor.Performance // by operation ("workorder/lot/step")
	People     []labor.Performance // by person
	Labor      []labor.Slice       // labor split among concurrent operations
	Machine    []labor.Slice       // machine time
	Cost       labor.Cost
}

// WorkOrderLabor reports a work order's labor efficiency and cost so far: actual direct
// labor (setup and run) and machine time per operation and person, against the standard
// time of the pinned routing's steps (setup + run per unit × the quantity processed: good,
// scrap and rework), and the cost at the rates given. rates.LaborRate defaults, per person,
// to the rate on the roster (DefinePerson); machine and overhead rates come from rates. A
// person or equipment with time but no rate is an error listing them all.
func (p *Plant) WorkOrderLabor(ctx context.Context, workOrder string, rates labor.Costing) (LaborReport, error) {
	rep := LaborReport{WorkOrder: workOrder}
	now := p.now()
	err := p.view(ctx, func(tx store.ReadTx) error {
		var wo WorkOrder
		if _, err := load(ctx, tx, workOrderKind, workOrder, &wo); err != nil {
			return fmt.Errorf("work order %q: %w", workOrder, err)
		}
		people, from, err := bookedOn(ctx, tx, wo)
		if err != nil {
			return err
		}
		runs, err := machineRunsOf(ctx, tx, wo)
		if err != nil {
			return err
		}
		for _, r := range runs {
			if from.IsZero() || r.From.Before(from) {
				from = r.From
			}
		}
		if from.IsZero() || !from.Before(now) {
			from = now.Add(-time.Nanosecond)
		}
		rep.Window = labor.Interval{From: from, To: now}
		rates.LaborRate = maps.Clone(rates.LaborRate)
		if rates.LaborRate == nil {
			rates.LaborRate = map[string]decimal.Decimal{}
		}
		for _, sp := range people {
			l, err := replayFrom(ctx, tx, sp, from)
			if err != nil {
				return err
			}
			ts, err := l.Timesheet(from, now)
			if err != nil {
				return laborErr(err)
			}
			for _, s := range ts.Slices {
				if s.Op.WorkOrder == wo.ID {
					rep.Labor = append(rep.Labor, s)
				}
			}
			if _, ok := rates.LaborRate[sp.ID]; !ok && sp.Rate.IsPositive() {
				rates.LaborRate[sp.ID] = sp.Rate
			}
		}
		machine, err := labor.MachineTime(runs, from, now)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInternal, err)
		}
		for _, s := range machine {
			if s.Op.WorkOrder == wo.ID {
				rep.Machine = append(rep.Machine, s)
			}
		}
		standards, err := p.standards(ctx, tx, wo)
		if err != nil {
			return err
		}
		rep.Operations = labor.Efficiencies(labor.ByOperation, standards, rep.Labor, rep.Machine)
		rep.People = labor.Efficiencies(labor.ByPerson, standards, rep.Labor, rep.Machine)
		if total := labor.Efficiencies(labor.ByWorkOrder, standards, rep.Labor, rep.Machine); len(total) > 0 {
			rep.Total = total[0]
		}
		rep.Total.Key = wo.ID
		rep.Cost, err = rates.Cost(rep.Labor, rep.Machine)
		return laborErr(err)
	})
	if err != nil {
		return LaborReport{}, err
	}
	return rep, nil
}

// bookedOn returns the people who booked labor on a work order and the earliest instant of
// those bookings.
func bookedOn(ctx context.Context, tx store.ReadTx, wo WorkOrder) ([]*storedPerson, time.Time, error) {
	recs, err := tx.List(ctx, store.Query{Kind: laborKind, Site: wo.Site, Index: "workorder", Value: wo.ID})
	if err != nil {
		return nil, time.Time{}, err
	}
	var from time.Time
	seen := map[string]bool{}
	var people []*storedPerson
	for _, rec := range recs {
		var r laborEntry
		if err := decode(rec, &r); err != nil {
			return nil, time.Time{}, err
		}
		if from.IsZero() || r.At.Before(from) {
			from = r.At
		}
		if seen[r.Person] {
			continue
		}
		seen[r.Person] = true
		sp := &storedPerson{}
		if _, err := load(ctx, tx, personKind, r.Person, sp); err != nil {
			return nil, time.Time{}, err
		}
		people = append(people, sp)
	}
	return people, from, nil
}

// machineRunsOf returns the machine runs, closed and open, of every piece of equipment that
// ran an operation of the work order (so that time the equipment shared with other orders
// is split).
func machineRunsOf(ctx context.Context, tx store.ReadTx, wo WorkOrder) ([]labor.MachineRun, error) {
	own, err := peekAll[storedRun](ctx, tx, store.Query{Kind: machineRunKind, Site: wo.Site, Index: "workorder", Value: wo.ID})
	if err != nil {
		return nil, err
	}
	var equipments []string
	for _, r := range own {
		equipments = append(equipments, r.Equipment)
	}
	lots, err := peekAll[Lot](ctx, tx, store.Query{Kind: lotKind, Site: wo.Site, Index: "workorder", Value: wo.ID})
	if err != nil {
		return nil, err
	}
	for _, l := range lots {
		for _, on := range l.OnEquipment {
			equipments = append(equipments, on.Equipment)
		}
	}
	slices.Sort(equipments)
	var out []labor.MachineRun
	for _, eq := range slices.Compact(equipments) {
		runs, err := equipmentRuns(ctx, tx, wo.Site, eq)
		if err != nil {
			return nil, err
		}
		out = append(out, runs...)
	}
	return out, nil
}

// equipmentRuns returns the machine runs of equipment eq in site, closed and open.
func equipmentRuns(ctx context.Context, tx store.ReadTx, site, eq string) ([]labor.MachineRun, error) {
	runs, err := peekAll[storedRun](ctx, tx, store.Query{Kind: machineRunKind, Site: site, Index: "equipment", Value: eq})
	if err != nil {
		return nil, err
	}
	out := make([]labor.MachineRun, 0, len(runs))
	for _, r := range runs {
		out = append(out, r.MachineRun)
	}
	var ld equipmentLoad
	if _, err := load(ctx, tx, equipmentLoadKind, eq, &ld); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	for _, op := range ld.Operations {
		out = append(out, op.run(eq))
	}
	return out, nil
}

// MachineTime returns the machine time of equipment eq in site within [from, to): its runs,
// closed and open, with each instant split equally among the operations it ran at once
// (labor.MachineTime), as WorkOrderLabor counts it.
func (p *Plant) MachineTime(ctx context.Context, site, eq string, from, to time.Time) ([]labor.Slice, error) {
	var out []labor.Slice
	err := p.view(ctx, func(tx store.ReadTx) error {
		runs, err := equipmentRuns(ctx, tx, site, eq)
		if err != nil {
			return err
		}
		out, err = labor.MachineTime(runs, from, to)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInternal, err)
		}
		return nil
	})
	return out, err
}

// standards returns the standard time earned by each operation of the work order's lots that
// processed quantity: setup + run per unit × (good + scrap + rework), from the lot's routing.
func (p *Plant) standards(ctx context.Context, tx store.ReadTx, wo WorkOrder) (map[labor.Operation]time.Duration, error) {
	recs, err := tx.List(ctx, store.Query{Kind: lotKind, Site: wo.Site, Index: "workorder", Value: wo.ID})
	if err != nil {
		return nil, err
	}
	out := map[labor.Operation]time.Duration{}
	for _, rec := range recs {
		var lot Lot
		if err := decode(rec, &lot); err != nil {
			return nil, err
		}
		if lot.Execution == nil {
			continue
		}
		rt, err := p.routings.revision(ctx, tx, lot.Site, lot.Execution.Routing, lot.Execution.Revision)
		if err != nil {
			return nil, err
		}
		for _, prog := range lot.Execution.Steps() {
			s, ok := rt.Step(prog.Step)
			if !ok {
				continue
			}
			qty, err := processed(prog.Books)
			if err != nil {
				return nil, fmt.Errorf("%w: books of %s at step %s: %w", ErrInternal, lot.ref(), prog.Step, err)
			}
			if !qty.IsPositive() {
				continue
			}
			std, err := labor.StandardTime(s.Setup, s.RunPerUnit, qty)
			if err != nil {
				return nil, laborErr(err)
			}
			out[labor.Operation{WorkOrder: wo.ID, Lot: lot.ID, Step: prog.Step}] = std
		}
	}
	return out, nil
}

// processed is the quantity a step processed: good, scrap and rework.
func processed(b routing.Books) (q units.Quantity, err error) {
	q = b.Good
	for _, x := range []units.Quantity{b.Scrap, b.Rework} {
		if x.Unit() == "" {
			continue
		}
		if q.Unit() == "" {
			q = x
			continue
		}
		if q, err = q.Add(x); err != nil {
			return q, err
		}
	}
	return q, nil
}
