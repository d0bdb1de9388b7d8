package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSealedHashesNeverChange holds the digests to the bytes earlier releases hashed:
// chains sealed by them must still verify.
func TestSealedHashesNeverChange(t *testing.T) {
	at := time.Date(2026, 12, 3, 4, 5, 6, 789, time.FixedZone("X", 3600))
	for range 2 { // the second round hashes the same time again
		e := Event{Type: "lot.tracked_in", Site: "S1", Subject: "L-1", Time: at, Actor: "op", Command: "k1", Data: []byte(`{"a":1}`)}
		SealEvent(&e, 7, "ab")
		require.Equal(t, "d5078ac38f27ceea843c9125f5182a61a147599db79a10090f18078c247adc71", e.Hash)
		r := AuditRecord{Time: at, Actor: "op", ActorKind: "person", Action: "lot.track_in", Site: "S1", Object: "lot/L-1",
			Changes:    []Change{{Field: "f", Before: "1", After: "2"}},
			Signatures: []Signature{{SignerID: "s", SignerName: "S", Meaning: "approval", Time: at.Add(time.Second), Digest: "d"}}}
		require.Equal(t, "c039a8e8a706a87fd2259a07b08a86ce253653974ffaa2e3205118bb5855d077", r.Content())
		Seal(&r, 3, "cd")
		require.Equal(t, "bcfb5fdc2e38216aee1d2304501bd176766767a89193788077088f95cda40b07", r.Hash)
	}
}

// EventHash and AuditHash give the hashes SealEvent and Seal set, as bytes, and leave the
// entry as it was.
func TestHashesAsBytesAreTheSealedHashes(t *testing.T) {
	at := time.Date(2026, 12, 3, 4, 5, 6, 0, time.UTC)
	var prevEvent, prevAudit *Hash
	prevEventHex, prevAuditHex := "", ""
	for i := range uint64(3) {
		e := Event{Type: "a", Site: "S1", Subject: "L-1", Time: at, Actor: "op", Data: []byte(`{}`)}
		h := EventHash(&e, i+1, prevEvent)
		require.Equal(t, Event{Type: "a", Site: "S1", Subject: "L-1", Time: at, Actor: "op", Data: []byte(`{}`)}, e, "unchanged")
		SealEvent(&e, i+1, prevEventHex)
		require.Equal(t, e.Hash, h.Hex())
		prevEvent, prevEventHex = &h, e.Hash

		r := AuditRecord{Time: at, Actor: "op", Object: "lot/L-1", Changes: []Change{{Field: "f", After: "1"}}}
		a := AuditHash(&r, i+1, prevAudit)
		require.Zero(t, r.Seq, "unchanged")
		Seal(&r, i+1, prevAuditHex)
		require.Equal(t, r.Hash, a.Hex())
		prevAudit, prevAuditHex = &a, r.Hash
	}
}
