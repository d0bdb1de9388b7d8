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
		Seal(&r, 3, "cd")
		require.Equal(t, "bcfb5fdc2e38216aee1d2304501bd176766767a89193788077088f95cda40b07", r.Hash)
	}
}
