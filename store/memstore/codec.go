package memstore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
	"unsafe"

	"github.com/taktmes/takt/store"
)

// The logs keep each event and audit record as one byte string packed in large chunks (see
// log): a committed log holds no pointers, so the garbage collector's work does not grow
// with history, and an entry takes little more than its content: the hash is kept as its
// 32 bytes, and the previous hash (the hash of the entry before) and the position (the
// place in the log) are not stored at all.

// codec encodes log entries in a buffer it reuses: the store's writer owns it (commits run
// under the write lock).
type codec struct{ b []byte }

func (c *codec) num(n uint64) { c.b = binary.AppendUvarint(c.b, n) }

func (c *codec) str(s string) {
	c.num(uint64(len(s)))
	c.b = append(c.b, s...)
}

func (c *codec) bytes(b []byte) {
	c.num(uint64(len(b)))
	c.b = append(c.b, b...)
}

func (c *codec) time(t time.Time) {
	c.b = append(c.b, 0) // the length, set below: a binary time is shorter than 128 bytes
	start := len(c.b)
	b, err := t.AppendBinary(c.b)
	if err != nil { // a zone offset Go cannot encode (-1 minute and some seconds): keep the instant, in UTC
		b, _ = t.UTC().AppendBinary(c.b)
	}
	c.b = b
	c.b[start-1] = byte(len(c.b) - start)
}

// entry returns what was encoded since the last entry, valid until the next one.
func (c *codec) entry() []byte {
	out := c.b
	c.b = c.b[:0]
	return out
}

// hashOf returns the hash of an entry (its first 32 bytes).
func hashOf(entry []byte) string { return hex.EncodeToString(entry[:32]) }

// decoder reads an entry from its text (see entryText): strings are parts of s, byte
// fields parts of b, the same memory, so the entry takes no memory of its own beyond it.
type decoder struct {
	s string // what is left to read
	b []byte // the whole entry
}

func (d *decoder) num() uint64 {
	var n uint64
	for i, shift := 0, 0; i < len(d.s); i, shift = i+1, shift+7 {
		c := d.s[i]
		n |= uint64(c&0x7f) << shift
		if c < 0x80 {
			d.s = d.s[i+1:]
			return n
		}
	}
	return n
}

func (d *decoder) str() string {
	n := d.num()
	v := d.s[:n]
	d.s = d.s[n:]
	return v
}

// bytes reads a byte field. Only an entry's last field may be one: the caller may change
// the bytes, and no string may cover them.
func (d *decoder) bytes() []byte {
	n := int(d.num())
	if n == 0 {
		return nil
	}
	at := len(d.b) - len(d.s)
	d.s = d.s[n:]
	return d.b[at : at+n : at+n]
}

func (d *decoder) time() time.Time {
	var t time.Time
	_ = t.UnmarshalBinary([]byte(d.str())) // written by codec.time
	return t
}

// entryText copies an entry out of the log, its hash in hex first, in one allocation, and
// returns a decoder of it and the hash.
func entryText(entry []byte) (decoder, string) {
	buf := make([]byte, 2*sha256.Size+len(entry)-sha256.Size)
	hex.Encode(buf, entry[:sha256.Size])
	copy(buf[2*sha256.Size:], entry[sha256.Size:])
	t := unsafe.String(&buf[0], len(buf)) // buf is changed only where bytes hands it out
	return decoder{s: t[2*sha256.Size:], b: buf}, t[:2*sha256.Size]
}

func (c *codec) event(e *store.Event, h store.Hash) []byte {
	c.b = append(c.b, h[:]...)
	for _, s := range [...]string{e.Type, e.Site, e.Subject, e.Actor, e.Command} {
		c.str(s)
	}
	c.time(e.Time)
	c.bytes(e.Data)
	return c.entry()
}

// decodeEvent decodes the entry at position, whose predecessor's hash is prevHash.
func decodeEvent(b []byte, position uint64, prevHash string) store.Event {
	d, hash := entryText(b)
	e := store.Event{Position: position, PrevHash: prevHash, Hash: hash}
	e.Type, e.Site, e.Subject, e.Actor, e.Command = d.str(), d.str(), d.str(), d.str(), d.str()
	e.Time = d.time()
	e.Data = d.bytes()
	return e
}

func (c *codec) audit(r *store.AuditRecord, h store.Hash) []byte {
	c.b = append(c.b, h[:]...)
	c.time(r.Time)
	for _, s := range [...]string{r.Actor, r.ActorKind, r.Action, r.Site, r.Object, r.Where, r.Reason, r.Command} {
		c.str(s)
	}
	c.num(uint64(len(r.Changes)))
	for _, ch := range r.Changes {
		c.str(ch.Field)
		c.str(ch.Before)
		c.str(ch.After)
	}
	c.num(uint64(len(r.Signatures)))
	for _, s := range r.Signatures {
		c.str(s.SignerID)
		c.str(s.SignerName)
		c.str(s.Meaning)
		c.time(s.Time)
		c.str(s.Digest)
	}
	return c.entry()
}

// decodeAudit decodes the record with sequence seq, whose predecessor's hash is prevHash.
func decodeAudit(b []byte, seq uint64, prevHash string) store.AuditRecord {
	d, hash := entryText(b)
	r := store.AuditRecord{Seq: seq, PrevHash: prevHash, Hash: hash, Time: d.time()}
	r.Actor, r.ActorKind, r.Action, r.Site, r.Object = d.str(), d.str(), d.str(), d.str(), d.str()
	r.Where, r.Reason, r.Command = d.str(), d.str(), d.str()
	if n := d.num(); n > 0 {
		r.Changes = make([]store.Change, n)
		for i := range r.Changes {
			r.Changes[i] = store.Change{Field: d.str(), Before: d.str(), After: d.str()}
		}
	}
	if n := d.num(); n > 0 {
		r.Signatures = make([]store.Signature, n)
		for i := range r.Signatures {
			r.Signatures[i] = store.Signature{SignerID: d.str(), SignerName: d.str(), Meaning: d.str(), Time: d.time(), Digest: d.str()}
		}
	}
	return r
}
