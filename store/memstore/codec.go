package memstore

import (
	"encoding/binary"
	"time"

	"github.com/taktmes/takt/store"
)

// The logs keep each event and audit record as one byte slice: a committed log holds no
// other pointers, so the garbage collector's work does not grow with history.

type encoder struct{ b []byte }

func (e *encoder) num(n uint64) { e.b = binary.AppendUvarint(e.b, n) }

func (e *encoder) str(s string) {
	e.num(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) bytes(b []byte) {
	e.num(uint64(len(b)))
	e.b = append(e.b, b...)
}

func (e *encoder) time(t time.Time) {
	b, _ := t.MarshalBinary() // cannot fail for times with a whole-minute zone offset
	e.bytes(b)
}

type decoder struct{ b []byte }

func (d *decoder) num() uint64 {
	n, k := binary.Uvarint(d.b)
	d.b = d.b[k:]
	return n
}

func (d *decoder) raw() []byte {
	n := d.num()
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.raw()) }

func (d *decoder) bytes() []byte {
	v := d.raw()
	if len(v) == 0 {
		return nil
	}
	return append([]byte(nil), v...)
}

func (d *decoder) time() time.Time {
	var t time.Time
	_ = t.UnmarshalBinary(d.raw()) // written by encoder.time
	return t
}

func encodeEvent(e store.Event) []byte {
	enc := encoder{b: make([]byte, 0, 96+len(e.Data)+len(e.Type)+len(e.Subject))}
	enc.num(e.Position)
	for _, s := range [...]string{e.Type, e.Site, e.Subject, e.Actor, e.Command, e.PrevHash, e.Hash} {
		enc.str(s)
	}
	enc.time(e.Time)
	enc.bytes(e.Data)
	return enc.b
}

func decodeEvent(b []byte) store.Event {
	d := decoder{b}
	e := store.Event{Position: d.num()}
	e.Type, e.Site, e.Subject, e.Actor, e.Command, e.PrevHash, e.Hash = d.str(), d.str(), d.str(), d.str(), d.str(), d.str(), d.str()
	e.Time = d.time()
	e.Data = d.bytes()
	return e
}

func encodeAudit(r store.AuditRecord) []byte {
	enc := encoder{b: make([]byte, 0, 256)}
	enc.num(r.Seq)
	enc.time(r.Time)
	for _, s := range [...]string{r.Actor, r.ActorKind, r.Action, r.Site, r.Object, r.Where, r.Reason, r.Command, r.PrevHash, r.Hash} {
		enc.str(s)
	}
	enc.num(uint64(len(r.Changes)))
	for _, c := range r.Changes {
		enc.str(c.Field)
		enc.str(c.Before)
		enc.str(c.After)
	}
	enc.num(uint64(len(r.Signatures)))
	for _, s := range r.Signatures {
		enc.str(s.SignerID)
		enc.str(s.SignerName)
		enc.str(s.Meaning)
		enc.time(s.Time)
		enc.str(s.Digest)
	}
	return enc.b
}

func decodeAudit(b []byte) store.AuditRecord {
	d := decoder{b}
	r := store.AuditRecord{Seq: d.num(), Time: d.time()}
	r.Actor, r.ActorKind, r.Action, r.Site, r.Object = d.str(), d.str(), d.str(), d.str(), d.str()
	r.Where, r.Reason, r.Command, r.PrevHash, r.Hash = d.str(), d.str(), d.str(), d.str(), d.str()
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
