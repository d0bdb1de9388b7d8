package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// AuditRecord answers who, what, when, where and why for one change. Records are never
// edited: a correction is a new record. Each record is sealed into a hash chain (PrevHash,
// Hash) so that altering, removing or reordering one is detected by a ChainVerifier
// (mes.Plant.VerifyAudit runs one over the whole trail).
type AuditRecord struct {
	Seq        uint64      `json:"seq"`
	Time       time.Time   `json:"time"`
	Actor      string      `json:"actor"`
	ActorKind  string      `json:"actor_kind"`
	Action     string      `json:"action"` // the command, e.g. "workorder.release"
	Site       string      `json:"site"`
	Object     string      `json:"object"` // kind/id of the changed record
	Where      string      `json:"where,omitempty"`
	Reason     string      `json:"reason,omitempty"`
	Command    string      `json:"command,omitempty"` // idempotency key or command id
	Changes    []Change    `json:"changes,omitempty"`
	Signatures []Signature `json:"signatures,omitempty"`
	PrevHash   string      `json:"prev_hash"`
	Hash       string      `json:"hash"`
}

// Change is the before and after value of one governed field.
type Change struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Signature is an electronic signature bound to an audit record (21 CFR Part 11 §11.50):
// the signer's name, the date and time, and the meaning of the signing. Digest is the hash
// of the record content the signer signed (Content), so the signature cannot be moved to
// another record.
type Signature struct {
	SignerID   string    `json:"signer_id"`
	SignerName string    `json:"signer_name"`
	Meaning    string    `json:"meaning"`
	Time       time.Time `json:"time"`
	Digest     string    `json:"digest"`
}

// Content returns the hash of what a signer signs: the record without its sequence,
// chain hashes and signatures.
func (r AuditRecord) Content() string {
	r.Signatures = nil
	return auditSum(&r, 0, "").Hex()
}

// CheckText returns ErrInvalidText, quoting the text, when a text field of r (its
// changes and signatures included) is not valid UTF-8 or holds NUL: a JSON or SQL store
// would replace or refuse it, and the record would no longer match its hash.
func (r AuditRecord) CheckText() error {
	invalid := func(t string) error {
		if utf8.ValidString(t) && strings.IndexByte(t, 0) < 0 {
			return nil
		}
		return fmt.Errorf("%w: audit record %s of %s: text %q is not valid UTF-8 or holds NUL", ErrInvalidText, r.Action, r.Object, t)
	}
	for _, t := range [...]string{r.Actor, r.ActorKind, r.Action, r.Site, r.Object, r.Where, r.Reason, r.Command} {
		if err := invalid(t); err != nil {
			return err
		}
	}
	for _, c := range r.Changes {
		for _, t := range [...]string{c.Field, c.Before, c.After} {
			if err := invalid(t); err != nil {
				return err
			}
		}
	}
	for _, sg := range r.Signatures {
		for _, t := range [...]string{sg.SignerID, sg.SignerName, sg.Meaning, sg.Digest} {
			if err := invalid(t); err != nil {
				return err
			}
		}
	}
	return nil
}

// Seal sets r's Seq and PrevHash and computes its Hash. Drivers call it at commit, in
// commit order, with the previous record's Hash ("" for the first record).
func Seal(r *AuditRecord, seq uint64, prevHash string) {
	r.Seq, r.PrevHash = seq, prevHash
	r.Hash = auditSum(r, seq, prevHash).Hex()
}

// Hash is the hash of an entry of a chain (an event or an audit record): SHA-256, which
// the Hash and PrevHash fields hold as 64 lower-case hex digits.
type Hash [sha256.Size]byte

// Hex returns h as the Hash fields hold it.
func (h Hash) Hex() string { return hex.EncodeToString(h[:]) }

// AuditHash returns the Hash Seal gives r as record seq after the record whose hash is
// prev (nil for the first), without changing r: for drivers that keep hashes as bytes.
func AuditHash(r *AuditRecord, seq uint64, prev *Hash) Hash {
	var text [2 * sha256.Size]byte
	return auditSum(r, seq, prev.appendHex(text[:0]))
}

// appendHex appends h as the Hash fields hold it; nothing for no hash (the first entry).
func (h *Hash) appendHex(b []byte) []byte {
	if h == nil {
		return b
	}
	return hex.AppendEncode(b, h[:])
}

// auditSum hashes every field of r but Seq, PrevHash and Hash, with those two given as seq
// and prev (hex), in a fixed order, each string with its length first, so that no two
// different records hash alike by moving text between fields.
func auditSum[S string | []byte](r *AuditRecord, seq uint64, prev S) Hash {
	b := newHashInput()
	defer b.free()
	b.num(seq)
	b.time(r.Time)
	for _, s := range [...]string{r.Actor, r.ActorKind, r.Action, r.Site, r.Object, r.Where, r.Reason, r.Command} {
		b.str(s)
	}
	str(b, prev)
	b.num(uint64(len(r.Changes)))
	for _, c := range r.Changes {
		b.str(c.Field)
		b.str(c.Before)
		b.str(c.After)
	}
	b.num(uint64(len(r.Signatures)))
	for _, sg := range r.Signatures {
		b.str(sg.SignerID)
		b.str(sg.SignerName)
		b.str(sg.Meaning)
		b.time(sg.Time)
		b.str(sg.Digest)
	}
	return sha256.Sum256(b.b)
}

// hashInput builds the bytes a digest covers: numbers as uvarints, strings with their
// length first, times as RFC 3339 in UTC.
type hashInput struct {
	b []byte
	// last and lastText are the time written last and its text: the entries of one
	// commit mostly share their time.
	last     time.Time
	lastText []byte
}

var hashInputs = sync.Pool{New: func() any { return &hashInput{b: make([]byte, 0, 1024)} }}

func newHashInput() *hashInput { return hashInputs.Get().(*hashInput) }

func (h *hashInput) free() {
	if cap(h.b) <= 64<<10 { // keep buffers of ordinary records only
		h.b = h.b[:0]
		hashInputs.Put(h)
	}
}

func (h *hashInput) num(n uint64) { h.b = binary.AppendUvarint(h.b, n) }

func (h *hashInput) str(s string) { str(h, s) }

// str writes text given as a string or as bytes.
func str[S string | []byte](h *hashInput, s S) {
	h.num(uint64(len(s)))
	h.b = append(h.b, s...)
}

func (h *hashInput) time(t time.Time) {
	if t != h.last || h.lastText == nil {
		h.last, h.lastText = t, t.UTC().AppendFormat(h.lastText[:0], time.RFC3339Nano)
	}
	h.b = append(h.b, byte(len(h.lastText))) // RFC 3339 times are shorter than 128 bytes
	h.b = append(h.b, h.lastText...)
}

// ErrTampered is wrapped by the errors of ChainVerifier.Check and EventChainVerifier.Check
// (and so of mes.Plant.VerifyAudit and VerifyEvents).
var ErrTampered = errors.New("store: audit chain broken")

// ChainVerifier checks audit records one at a time, in the order a store returns them.
// The zero value expects the first record of the chain.
type ChainVerifier struct {
	next     uint64
	prevHash string
}

// Check verifies the next record and returns an error naming it if it was altered, or if a
// record before it was removed or the order changed.
func (v *ChainVerifier) Check(r AuditRecord) error {
	if v.next == 0 {
		v.next = 1
	}
	if r.Seq != v.next {
		return fmt.Errorf("%w at record %d: expected sequence %d (a record was removed or reordered)", ErrTampered, r.Seq, v.next)
	}
	if r.PrevHash != v.prevHash {
		return fmt.Errorf("%w at record %d: it does not follow record %d (a record was removed, inserted or reordered)", ErrTampered, r.Seq, r.Seq-1)
	}
	if auditSum(&r, r.Seq, r.PrevHash).Hex() != r.Hash {
		return fmt.Errorf("%w at record %d: its content does not match its hash (the record was altered)", ErrTampered, r.Seq)
	}
	for _, s := range r.Signatures {
		if s.Digest != r.Content() {
			return fmt.Errorf("%w at record %d: signature of %s is not bound to this record's content", ErrTampered, r.Seq, s.SignerID)
		}
	}
	v.next++
	v.prevHash = r.Hash
	return nil
}

// Count returns how many records were verified.
func (v *ChainVerifier) Count() uint64 {
	if v.next == 0 {
		return 0
	}
	return v.next - 1
}

// SealEvent sets e's Position and PrevHash and computes its Hash. Drivers call it at
// commit, in position order, with the previous event's Hash ("" for the first event).
func SealEvent(e *Event, position uint64, prevHash string) {
	e.Position, e.PrevHash = position, prevHash
	e.Hash = eventSum(e, position, prevHash).Hex()
}

// EventHash returns the Hash SealEvent gives e at position after the event whose hash is
// prev (nil for the first), without changing e: for drivers that keep hashes as bytes.
func EventHash(e *Event, position uint64, prev *Hash) Hash {
	var text [2 * sha256.Size]byte
	return eventSum(e, position, prev.appendHex(text[:0]))
}

// eventSum hashes e at position after the event whose hash is prev (hex): every field but
// Position, PrevHash and Hash, with those two given.
func eventSum[S string | []byte](e *Event, position uint64, prev S) Hash {
	b := newHashInput()
	defer b.free()
	b.num(position)
	for _, s := range [...]string{e.Type, e.Site, e.Subject} {
		b.str(s)
	}
	b.time(e.Time)
	b.str(e.Actor)
	b.str(e.Command)
	str(b, prev)
	b.num(uint64(len(e.Data)))
	b.b = append(b.b, e.Data...)
	return sha256.Sum256(b.b)
}

// EventChainVerifier checks events one at a time, in position order from the first. The
// zero value expects position 1.
type EventChainVerifier struct {
	last     uint64
	prevHash string
}

// Check verifies the next event and returns an error (wrapping ErrTampered) naming it when
// it was altered, or an event before it was removed or the order changed.
func (v *EventChainVerifier) Check(e Event) error {
	if e.Position != v.last+1 {
		return fmt.Errorf("%w at event %d: expected position %d (an event was removed or reordered)", ErrTampered, e.Position, v.last+1)
	}
	if e.PrevHash != v.prevHash {
		return fmt.Errorf("%w at event %d: it does not follow event %d (an event was removed, inserted or reordered)", ErrTampered, e.Position, v.last)
	}
	if eventSum(&e, e.Position, e.PrevHash).Hex() != e.Hash {
		return fmt.Errorf("%w at event %d: its content does not match its hash (the event was altered)", ErrTampered, e.Position)
	}
	v.last, v.prevHash = e.Position, e.Hash
	return nil
}

// Count returns how many events were verified.
func (v *EventChainVerifier) Count() uint64 { return v.last }
