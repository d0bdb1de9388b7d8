package mes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// CommandOption carries who issues a command and under which terms.
type CommandOption func(*cmdOptions)

type cmdOptions struct {
	actor       Actor
	key         string
	reason      string
	where       string
	credentials []Credentials
}

// By names the actor issuing the command. Every command needs one.
func By(a Actor) CommandOption { return func(o *cmdOptions) { o.actor = a } }

// IdempotencyKey makes a command safe to retry: a command whose key was already applied
// returns the first result and changes nothing. A key names one command: used again by
// another actor, for another action or about another subject (another lot or work order,
// say) it is refused with ErrIdempotencyKeyReused. Devices and ERPs should always send one.
func IdempotencyKey(key string) CommandOption { return func(o *cmdOptions) { o.key = key } }

// Reason records why the command was issued (shown in the audit trail).
func Reason(r string) CommandOption { return func(o *cmdOptions) { o.reason = r } }

// On records where the command was issued: the equipment or terminal.
func On(equipment string) CommandOption { return func(o *cmdOptions) { o.where = equipment } }

// SignedBy attaches an electronic signature to the command. Commands whose action requires
// a signature (WithSignatureRequired) fail without one.
func SignedBy(c Credentials) CommandOption {
	return func(o *cmdOptions) { o.credentials = append(o.credentials, c) }
}

// command is one running command: the transaction and what it will commit.
type command struct {
	commandState
	// eventSpace, auditSpace and siteSpace hold the first events, audit records and sites
	// of a command, enough for most, so that recording them allocates nothing more.
	eventSpace [4]store.Event
	auditSpace [2]store.AuditRecord
	siteSpace  [1]string
	// arenaSpace is the memory of the last command's event JSON, which the next reuses (a
	// store keeps Data only until Update returns, see store.Tx.AppendEvents).
	arenaSpace []byte
	// resultSpace holds the result of the command's transaction (a *T, zeroed after use),
	// which the next command with a result of the same type reuses: a result the
	// transaction sets would otherwise take memory of its own at every command.
	resultSpace any
}

// commandState is a command but for its spaces: every attempt starts it anew.
type commandState struct {
	ctx       context.Context
	p         *Plant
	tx        store.Tx
	action    string
	about     []string // the command's subject (see execute); kept for keyed commands only
	opts      cmdOptions
	now       time.Time
	site      string
	sites     []string // sites the actor and signers are authorised in
	unchanged bool     // the command found nothing to change (a repeated definition)
	verified  bool     // signatures verified
	events    []store.Event
	audits    []store.AuditRecord
	signers   []signed
	device    []DeviceCommand // sent after commit, see device.go
	arena     []byte          // the memory of its events' JSON, see encodeHot
}

const idempotencyKind = "idempotency"

type idempotencyRecord struct {
	Action string `json:"action"`
	// Subject is what the command was about (its lot and step, say), so that a key used
	// again for another subject is refused rather than answered with the first result.
	Subject []string        `json:"subject,omitempty"`
	Actor   string          `json:"actor"`
	Result  json.RawMessage `json:"result"`
}

// detach: an idempotency record is never changed after it is written.
func (r *idempotencyRecord) detach() {}

// execute runs fn as one atomic command with retries on version conflicts. subject names
// what the command is about (the ids it was given), which an idempotency key is bound to.
func execute[T any](ctx context.Context, p *Plant, action string, subject []string, opts []CommandOption, fn func(c *command) (T, error)) (T, error) {
	var zero T
	c := commands.Get().(*command)
	defer c.free()
	for _, opt := range opts {
		opt(&c.opts)
	}
	if c.opts.actor.ID == "" {
		return zero, fmt.Errorf("%w: %s needs an actor; pass mes.By(mes.Actor{ID: ..., Kind: mes.Person})", ErrMissingActor, action)
	}
	if c.opts.actor.Kind == "" {
		c.opts.actor.Kind = Person
	}
	o := c.opts
	var about []string
	if o.key != "" {
		about = slices.Clone(subject) // only a keyed command keeps it: the caller's slice stays on its stack
	}
	result, ok := c.resultSpace.(*T)
	if !ok {
		result = new(T)
		c.resultSpace = result
	}
	defer func() { *result = zero }()
	for attempt := 0; ; attempt++ {
		*result = zero
		c.clearSpaces()
		c.commandState = commandState{ctx: ctx, p: p, action: action, about: about, opts: o, now: p.now()}
		c.events, c.audits, c.sites, c.arena = c.eventSpace[:0], c.auditSpace[:0], c.siteSpace[:0], c.arenaSpace[:0]
		err := p.store.Update(ctx, func(tx store.Tx) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("%w: %s panicked: %v", ErrInternal, c.action, r)
				}
			}()
			c.tx = tx
			if c.opts.key != "" {
				done, prior, err := c.replay()
				if err != nil || done {
					if err == nil {
						err = json.Unmarshal(prior, result)
					}
					if err != nil {
						return err
					}
					return errReplayed
				}
			}
			if *result, err = fn(c); err != nil {
				return err
			}
			return c.finish(result)
		})
		switch {
		case err == nil, errors.Is(err, errReplayed):
			p.sendDevice(ctx, c.device)
			if r, ok := any(result).(owner); ok {
				r.own()
			}
			return *result, nil
		case errors.Is(err, store.ErrConflict) && attempt < p.retries:
			p.log.Debug("retrying after a version conflict", "action", action, "attempt", attempt+1)
			// Jittered backoff, so commands that collided do not collide again in step.
			time.Sleep(time.Duration(rand.Int64N(int64(attempt+1) * int64(time.Millisecond))))
			continue
		case errors.Is(err, store.ErrConflict):
			return zero, fmt.Errorf("%w: %s gave up after %d attempts: %v", ErrConflict, action, attempt+1, err)
		}
		return zero, storeErr(err)
	}
}

// commands keeps finished commands for reuse: a command is large (room for the events and
// audit records of most commands), and nothing keeps it once its transaction has ended (a
// store keeps the events slice only until Update returns, see store.Tx.AppendEvents).
var commands = sync.Pool{New: func() any { return new(command) }}

// free clears c, so that it keeps nothing reachable, and returns it for reuse.
func (c *command) free() {
	c.clearSpaces()
	if cap(c.arena) <= maxArena {
		c.arenaSpace = c.arena[:0]
	}
	c.commandState = commandState{}
	commands.Put(c)
}

// clearSpaces clears what the last attempt used of c's spaces (clearing all of them, some
// kilobytes, is a cost of its own).
func (c *command) clearSpaces() {
	clear(c.eventSpace[:min(len(c.events), len(c.eventSpace))])
	clear(c.auditSpace[:min(len(c.audits), len(c.auditSpace))])
	clear(c.siteSpace[:min(len(c.sites), len(c.siteSpace))])
}

// errReplayed ends a transaction that found its idempotency key already applied; it
// writes nothing and is not an error for the caller.
var errReplayed = errors.New("replayed")

func (c *command) replay() (bool, []byte, error) {
	rec, err := c.tx.Get(c.ctx, idempotencyKind, c.opts.key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	var prior idempotencyRecord
	if err := decode(rec, &prior); err != nil {
		return false, nil, err
	}
	if prior.Actor != c.opts.actor.ID {
		return false, nil, fmt.Errorf("%w: key %q was used by %s; every sender needs keys of its own", ErrIdempotencyKeyReused, c.opts.key, prior.Actor)
	}
	if prior.Action != c.action {
		return false, nil, fmt.Errorf("%w: key %q was used for %s; this is %s — use a new key per command", ErrIdempotencyKeyReused, c.opts.key, prior.Action, c.action)
	}
	if prior.Subject != nil && !slices.Equal(prior.Subject, c.about) { // nil: a record from before subjects were kept
		return false, nil, fmt.Errorf("%w: key %q was used for %s of %v; this is %s of %v — use a new key per command", ErrIdempotencyKeyReused, c.opts.key, prior.Action, prior.Subject, c.action, c.about)
	}
	if err := c.p.auth.Authorize(c.ctx, AuthRequest{Actor: c.opts.actor, Action: c.action, Site: rec.Site}); err != nil {
		return false, nil, err
	}
	return true, prior.Result, nil
}

// authorize checks the actor's authority for the command in site, and the electronic
// signatures the command carries or its action requires (verified once per command; each
// signer must have the authority in every site the command touches). Every command calls
// it once it knows the site, and again for every further site it changes; the site of the
// latest call is the one its events and audit records carry.
func (c *command) authorize(site string) error {
	c.site = site
	if slices.Contains(c.sites, site) {
		return nil
	}
	if err := c.p.auth.Authorize(c.ctx, AuthRequest{Actor: c.opts.actor, Action: c.action, Site: site}); err != nil {
		return err
	}
	if err := c.verifySignatures(); err != nil {
		return err
	}
	for _, s := range c.signers {
		if err := c.p.auth.Authorize(c.ctx, AuthRequest{Actor: Actor{ID: s.ID, Name: s.Name, Kind: Person, Roles: s.Roles}, Action: c.action, Site: site}); err != nil {
			return fmt.Errorf("%w: signer %s has no authority for %s: %v", ErrSignatureInvalid, s.Name, c.action, err)
		}
	}
	c.sites = append(c.sites, site)
	return nil
}

// verifySignatures authenticates every signature on the command once, and checks that a
// signature the action requires is there.
func (c *command) verifySignatures() error {
	if c.verified {
		return nil
	}
	rule, required := c.p.signatures[c.action]
	if !required && len(c.opts.credentials) == 0 {
		c.verified = true
		return nil
	}
	if c.p.verifier == nil {
		return fmt.Errorf("%w: a signature was given for %s but no SignatureVerifier is configured", ErrSignatureInvalid, c.action)
	}
	met := !required
	for _, cred := range c.opts.credentials {
		signer, err := c.p.verifier.VerifySignature(c.ctx, cred)
		if err != nil {
			return fmt.Errorf("%w: signer %q: %v", ErrSignatureInvalid, cred.SignerID, err)
		}
		if signer.ID != cred.SignerID || signer.Name == "" {
			return fmt.Errorf("%w: the verifier returned signer %q without a printed name for %q", ErrSignatureInvalid, signer.ID, cred.SignerID)
		}
		if cred.Meaning == "" {
			return fmt.Errorf("%w: signature of %s has no meaning; say what it means (review, approval, responsibility)", ErrSignatureInvalid, signer.Name)
		}
		met = met || cred.Meaning == rule.meaning
		c.signers = append(c.signers, signed{Signer: signer, Meaning: cred.Meaning})
	}
	if !met {
		return fmt.Errorf("%w: %s needs a signature meaning %q; pass mes.SignedBy(mes.Credentials{SignerID, Secret, Meaning: %q})", ErrSignatureRequired, c.action, rule.meaning, rule.meaning)
	}
	c.verified = true
	return nil
}

// requireSignatureFor checks a command that also does action on the side (the first
// track-in of a released order starts it): when action needs a signature, the command must
// carry one of its meaning, by a signer authorised for action in site.
func (c *command) requireSignatureFor(action, site, what string) error {
	rule, required := c.p.signatures[action]
	if !required {
		return nil
	}
	for _, s := range c.signers {
		if s.Meaning != rule.meaning {
			continue
		}
		if err := c.p.auth.Authorize(c.ctx, AuthRequest{Actor: Actor{ID: s.ID, Name: s.Name, Kind: Person, Roles: s.Roles}, Action: action, Site: site}); err != nil {
			return fmt.Errorf("%w: signer %s has no authority for %s: %v", ErrSignatureInvalid, s.Name, action, err)
		}
		return nil
	}
	return fmt.Errorf("%w: %s, and %s needs a signature meaning %q; do it first with its own command, or pass mes.SignedBy(mes.Credentials{SignerID, Secret, Meaning: %q}) here",
		ErrSignatureRequired, what, action, rule.meaning, rule.meaning)
}

// signed is a verified signature on the command.
type signed struct {
	Signer
	Meaning Meaning
}

// Event payloads implement EventPayload.
type EventPayload interface {
	// EventType is the event's stable name, e.g. "workorder.released".
	EventType() string
}

// emit appends a domain event about subject to the command's transaction.
func (c *command) emit(subject string, payload EventPayload) error {
	if h, ok := payload.(hotEvent); ok {
		return emitHot(c, subject, h)
	}
	data, err := json.Marshal(payload)
	return c.appendEvent(payload.EventType(), subject, data, err)
}

// emitHot is emit for an event that writes its own JSON (see encodeHot).
func emitHot[P hotEvent](c *command, subject string, payload P) error {
	data, arena, err := encodeHot(payload, c.arena)
	c.arena = arena
	return c.appendEvent(payload.EventType(), subject, data, err)
}

// appendEvent adds an event of type typ with JSON data, unless encoding it failed (err).
func (c *command) appendEvent(typ, subject string, data []byte, err error) error {
	if err != nil {
		return fmt.Errorf("%w: encoding %s: %v", ErrInternal, typ, err)
	}
	c.events = append(c.events, store.Event{
		Type: typ, Site: c.site, Subject: subject, Time: c.now,
		Actor: c.opts.actor.ID, Command: c.opts.key, Data: data,
	})
	return nil
}

// record adds an audit record for a change of object ("kind/id"), with the fields whose
// value changed: a field given with equal before and after is left out, so a record may
// carry the action on the object and no field at all (a track-out of nothing but a final
// close, a reschedule to the same date). A slice passed as changes is the record's.
func (c *command) record(object string, changes ...store.Change) {
	changes = slices.DeleteFunc(changes, func(ch store.Change) bool { return ch.Before == ch.After })
	c.audits = append(c.audits, store.AuditRecord{
		Time: c.now, Actor: c.opts.actor.ID, ActorKind: string(c.opts.actor.Kind), Action: c.action,
		Site: c.site, Object: object, Where: c.opts.where, Reason: c.opts.reason, Command: c.opts.key,
		Changes: changes,
	})
}

// change is a governed field's before and after.
func change(field string, before, after any) store.Change {
	return store.Change{Field: field, Before: text(before), After: text(after)}
}

// stepChange is the change of a quantity of a step's books ("step 10 good"); nothing
// (a change record drops) when the quantity stayed the same.
func stepChange(step, books string, before, after units.Quantity) store.Change {
	if before == after {
		return store.Change{}
	}
	return store.Change{Field: "step " + step + " " + books, Before: before.String(), After: after.String()}
}

// text formats a governed value for the audit trail.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case fmt.Stringer:
		return v.String()
	case int:
		return strconv.Itoa(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

func (c *command) finish(result any) error {
	if len(c.sites) == 0 {
		return fmt.Errorf("%w: %s did not check authority", ErrInternal, c.action)
	}
	if len(c.audits) == 0 && !c.unchanged {
		return fmt.Errorf("%w: %s changed nothing it recorded", ErrInternal, c.action)
	}
	for i := range c.audits {
		a := &c.audits[i]
		for _, s := range c.signers {
			a.Signatures = append(a.Signatures, store.Signature{
				SignerID: s.ID, SignerName: s.Name, Meaning: string(s.Meaning), Time: c.now, Digest: a.Content(),
			})
		}
		if err := a.CheckText(); err != nil {
			return fmt.Errorf("%w: %v; send text as UTF-8", ErrInvalid, err)
		}
	}
	if err := c.tx.AppendAudit(c.ctx, c.audits...); err != nil {
		return err
	}
	if len(c.events) > 0 {
		if err := c.tx.AppendEvents(c.ctx, c.events...); err != nil {
			return err
		}
	}
	if c.opts.key == "" {
		return nil
	}
	res, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("%w: encoding result of %s: %v", ErrInternal, c.action, err)
	}
	_, err = save(c, idempotencyKind, c.opts.key, c.site, 0, &idempotencyRecord{Action: c.action, Subject: c.about, Actor: c.opts.actor.ID, Result: res}, nil, nil)
	return err
}

// load reads the record kind/id into v and returns its version.
func load[T any](ctx context.Context, r store.ReadTx, kind, id string, v *T) (uint64, error) {
	rec, err := r.Get(ctx, kind, id)
	if err != nil {
		return 0, storeErr(err)
	}
	return rec.Version, decode(rec, v)
}

// owner is implemented by results that share memory with the store inside the engine;
// own gives the value its own copy before it goes to the caller.
type owner interface{ own() }

// detacher is implemented by stored types that can be copied from a value an in-memory
// store keeps: detach gives a shallow copy its own copies of every map and slice the
// engine changes in place (deep enough that changing the copy never reaches the stored
// value; a type may share what it only ever replaces, and says so). Types without it are
// always decoded from JSON.
type detacher interface{ detach() }

// decode reads a record into v: from the Value an in-memory store kept (a detached copy)
// when T is a detacher, or from its JSON.
func decode[T any](rec store.Record, v *T) error {
	if err := decodeValue(rec, v); err != nil {
		return err
	}
	if vv, ok := any(v).(versioned); ok {
		vv.setVersion(rec.Version)
	}
	return nil
}

// versioned is implemented by entities that carry the version of their record: the stored
// value has the version it was saved over, so readers set the record's.
type versioned interface{ setVersion(uint64) }

func decodeValue[T any](rec store.Record, v *T) error {
	if src, ok := rec.Value.(*T); ok && rec.Data == nil {
		if d, ok := any(v).(detacher); ok {
			*v = *src
			d.detach()
			return nil
		}
	}
	data, err := rec.Encode()
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		return fmt.Errorf("%w: decoding %s %q: %v", ErrInternal, rec.Kind, rec.ID, err)
	}
	return nil
}

// peek returns the entity of a record for reading only: the value an in-memory store keeps
// (which nobody may change), or one decoded from the record's JSON.
func peek[T any](rec store.Record) (*T, error) {
	if v, ok := rec.Value.(*T); ok && rec.Data == nil {
		return v, nil
	}
	v := new(T)
	return v, decode(rec, v)
}

// peekAll lists the records of q, each for reading only (see peek).
func peekAll[T any](ctx context.Context, tx store.ReadTx, q store.Query) ([]*T, error) {
	recs, err := tx.List(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]*T, len(recs))
	for i, r := range recs {
		if out[i], err = peek[T](r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// save writes v as the record kind/id at version (0 to create) in c's transaction and
// returns the new version. The store gets a detached copy when T is a detacher, so later
// changes to v do not reach it; other types are stored as JSON.
func save[T any](c *command, kind, id, site string, version uint64, v *T, keys []string, index map[string]string) (uint64, error) {
	if v == nil {
		return 0, fmt.Errorf("%w: saving %s %q: no value", ErrInternal, kind, id)
	}
	rec := store.Record{Kind: kind, ID: id, Site: site, Version: version, Keys: keys, Index: index}
	if _, ok := any(v).(detacher); ok {
		cp := new(T)
		*cp = *v
		any(cp).(detacher).detach()
		rec.Value = cp
	} else {
		var err error
		if rec.Data, err = json.Marshal(v); err != nil {
			return 0, fmt.Errorf("%w: encoding %s %q: %v", ErrInternal, kind, id, err)
		}
	}
	nv, err := c.tx.Put(c.ctx, rec)
	return nv, storeErr(err)
}

// view runs fn in a read-only transaction.
func (p *Plant) view(ctx context.Context, fn func(store.ReadTx) error) error {
	return storeErr(p.store.View(ctx, fn))
}

func objectRef(kind, id string) string { return kind + "/" + id }
