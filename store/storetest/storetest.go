// Package storetest is the conformance suite for store.Store implementations. A driver runs
// it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return mydriver.New(...) })
//	}
//
// newStore must return an empty store for each call; the suite closes it. Every case is a
// subtest, so `go test -run 'TestConformance/versions'` runs one group.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// Case is one conformance case.
type Case struct {
	Name string
	Run  func(t *testing.T, s store.Store)
}

// Run runs every case against a fresh store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			s := newStore(t)
			defer s.Close()
			c.Run(t, s)
		})
	}
}

// Cases returns the conformance cases, grouped by a name prefix.
func Cases() []Case {
	var all []Case
	all = append(all, crudCases()...)
	all = append(all, versionCases()...)
	all = append(all, txCases()...)
	all = append(all, eventCases()...)
	all = append(all, auditCases()...)
	all = append(all, edgeCases()...)
	all = append(all, concurrencyCases()...)
	return all
}

var bg = context.Background()

func rec(kind, id, site string, data string) store.Record {
	return store.Record{Kind: kind, ID: id, Site: site, Data: []byte(data)}
}

// put commits one record in its own transaction and returns its new version.
func put(t *testing.T, s store.Store, r store.Record) uint64 {
	t.Helper()
	var v uint64
	require.NoError(t, s.Update(bg, func(tx store.Tx) error {
		var err error
		v, err = tx.Put(bg, r)
		return err
	}))
	return v
}

func get(t *testing.T, s store.Store, kind, id string) (store.Record, error) {
	t.Helper()
	var r store.Record
	err := s.View(bg, func(tx store.ReadTx) error {
		var err error
		r, err = tx.Get(bg, kind, id)
		return err
	})
	return r, err
}

func list(t *testing.T, s store.Store, q store.Query) []store.Record {
	t.Helper()
	var out []store.Record
	require.NoError(t, s.View(bg, func(tx store.ReadTx) error {
		var err error
		out, err = tx.List(bg, q)
		return err
	}))
	return out
}

func ids(recs []store.Record) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

func lookup(t *testing.T, s store.Store, kind, key string) (store.Record, error) {
	t.Helper()
	var r store.Record
	err := s.View(bg, func(tx store.ReadTx) error {
		var err error
		r, err = tx.Lookup(bg, kind, key)
		return err
	})
	return r, err
}

func event(typ, subject string) store.Event {
	return store.Event{Type: typ, Site: "S1", Subject: subject, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Actor: "tester", Data: []byte(`{"n":1}`)}
}

func audit(action, object string) store.AuditRecord {
	return store.AuditRecord{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Actor: "tester", ActorKind: "person", Action: action, Site: "S1", Object: object,
		Changes: []store.Change{{Field: "status", Before: "a", After: "b"}}}
}

func readAllEvents(t *testing.T, s store.Store) []store.Event {
	t.Helper()
	evs, err := s.ReadEvents(bg, 0, 0)
	require.NoError(t, err)
	return evs
}

func readAllAudit(t *testing.T, s store.Store) []store.AuditRecord {
	t.Helper()
	recs, err := s.ReadAudit(bg, 0, 0)
	require.NoError(t, err)
	return recs
}

// verifyChain checks that the store's audit records form an unbroken chain.
func verifyChain(t *testing.T, recs []store.AuditRecord) {
	t.Helper()
	var v store.ChainVerifier
	for _, r := range recs {
		require.NoError(t, v.Check(r))
	}
}

var errBoom = errors.New("boom")

func crudCases() []Case {
	return []Case{
		{"crud/put-then-get", func(t *testing.T, s store.Store) {
			v := put(t, s, rec("wo", "1", "S1", `{"a":1}`))
			assert.Equal(t, uint64(1), v)
			r, err := get(t, s, "wo", "1")
			require.NoError(t, err)
			assert.Equal(t, "wo", r.Kind)
			assert.Equal(t, "S1", r.Site)
			assert.Equal(t, uint64(1), r.Version)
			assert.JSONEq(t, `{"a":1}`, string(r.Data))
		}},
		{"crud/get-missing-is-not-found", func(t *testing.T, s store.Store) {
			_, err := get(t, s, "wo", "nope")
			assert.ErrorIs(t, err, store.ErrNotFound)
		}},
		{"crud/kinds-are-separate", func(t *testing.T, s store.Store) {
			put(t, s, rec("wo", "1", "S1", `{"k":"wo"}`))
			put(t, s, rec("lot", "1", "S1", `{"k":"lot"}`))
			r, err := get(t, s, "lot", "1")
			require.NoError(t, err)
			assert.JSONEq(t, `{"k":"lot"}`, string(r.Data))
		}},
		{"crud/update-replaces-data", func(t *testing.T, s store.Store) {
			put(t, s, rec("wo", "1", "S1", `{"v":1}`))
			r := rec("wo", "1", "S1", `{"v":2}`)
			r.Version = 1
			assert.Equal(t, uint64(2), put(t, s, r))
			got, err := get(t, s, "wo", "1")
			require.NoError(t, err)
			assert.JSONEq(t, `{"v":2}`, string(got.Data))
			assert.Equal(t, uint64(2), got.Version)
		}},
		{"crud/data-is-copied-in", func(t *testing.T, s store.Store) {
			r := rec("wo", "1", "S1", `{"v":1}`)
			put(t, s, r)
			r.Data[5] = '9'
			got, _ := get(t, s, "wo", "1")
			assert.JSONEq(t, `{"v":1}`, string(got.Data))
		}},
		{"crud/data-is-copied-out", func(t *testing.T, s store.Store) {
			put(t, s, rec("wo", "1", "S1", `{"v":1}`))
			got, _ := get(t, s, "wo", "1")
			got.Data[5] = '9'
			again, _ := get(t, s, "wo", "1")
			assert.JSONEq(t, `{"v":1}`, string(again.Data))
		}},
		{"crud/lookup-by-key", func(t *testing.T, s store.Store) {
			r := rec("wo", "1", "S1", `{}`)
			r.Keys = []string{"number:S1/4711", "ext:ERP-9"}
			put(t, s, r)
			for _, k := range r.Keys {
				got, err := lookup(t, s, "wo", k)
				require.NoError(t, err, k)
				assert.Equal(t, "1", got.ID)
			}
		}},
		{"crud/lookup-missing-key", func(t *testing.T, s store.Store) {
			_, err := lookup(t, s, "wo", "number:S1/none")
			assert.ErrorIs(t, err, store.ErrNotFound)
		}},
		{"crud/lookup-is-per-kind", func(t *testing.T, s store.Store) {
			r := rec("wo", "1", "S1", `{}`)
			r.Keys = []string{"k"}
			put(t, s, r)
			_, err := lookup(t, s, "lot", "k")
			assert.ErrorIs(t, err, store.ErrNotFound)
			r2 := rec("lot", "1", "S1", `{}`)
			r2.Keys = []string{"k"}
			put(t, s, r2) // same key in another kind is allowed
		}},
		{"crud/duplicate-key-on-create", func(t *testing.T, s store.Store) {
			r := rec("wo", "1", "S1", `{}`)
			r.Keys = []string{"number:S1/4711"}
			put(t, s, r)
			r2 := rec("wo", "2", "S1", `{}`)
			r2.Keys = []string{"number:S1/4711"}
			err := s.Update(bg, func(tx store.Tx) error { _, err := tx.Put(bg, r2); return err })
			assert.ErrorIs(t, err, store.ErrDuplicateKey)
			_, err = get(t, s, "wo", "2")
			assert.ErrorIs(t, err, store.ErrNotFound)
		}},
		{"crud/duplicate-key-on-update", func(t *testing.T, s store.Store) {
			a := rec("wo", "1", "S1", `{}`)
			a.Keys = []string{"ka"}
			put(t, s, a)
			b := rec("wo", "2", "S1", `{}`)
			b.Keys = []string{"kb"}
			put(t, s, b)
			b.Version = 1
			b.Keys = []string{"ka"}
			err := s.Update(bg, func(tx store.Tx) error { _, err := tx.Put(bg, b); return err })
			assert.ErrorIs(t, err, store.ErrDuplicateKey)
			got, err := lookup(t, s, "wo", "kb")
			require.NoError(t, err)
			assert.Equal(t, "2", got.ID)
		}},
		{"crud/changing-keys-frees-the-old-key", func(t *testing.T, s store.Store) {
			a := rec("wo", "1", "S1", `{}`)
			a.Keys = []string{"old"}
			put(t, s, a)
			a.Version, a.Keys = 1, []string{"new"}
			put(t, s, a)
			_, err := lookup(t, s, "wo", "old")
			assert.ErrorIs(t, err, store.ErrNotFound)
			b := rec("wo", "2", "S1", `{}`)
			b.Keys = []string{"old"}
			put(t, s, b)
			got, err := lookup(t, s, "wo", "new")
			require.NoError(t, err)
			assert.Equal(t, "1", got.ID)
		}},
		{"crud/same-record-may-keep-its-key", func(t *testing.T, s store.Store) {
			a := rec("wo", "1", "S1", `{}`)
			a.Keys = []string{"k"}
			put(t, s, a)
			a.Version = 1
			assert.Equal(t, uint64(2), put(t, s, a))
		}},
		{"crud/list-all-of-kind-in-site-sorted", func(t *testing.T, s store.Store) {
			for _, id := range []string{"c", "a", "b"} {
				put(t, s, rec("wo", id, "S1", `{}`))
			}
			put(t, s, rec("wo", "z", "S2", `{}`))
			put(t, s, rec("lot", "x", "S1", `{}`))
			assert.Equal(t, []string{"a", "b", "c"}, ids(list(t, s, store.Query{Kind: "wo", Site: "S1"})))
		}},
		{"crud/list-by-index", func(t *testing.T, s store.Store) {
			for i, st := range []string{"released", "created", "released"} {
				r := rec("wo", fmt.Sprint(i), "S1", `{}`)
				r.Index = map[string]string{"status": st}
				put(t, s, r)
			}
			assert.Equal(t, []string{"0", "2"}, ids(list(t, s, store.Query{Kind: "wo", Site: "S1", Index: "status", Value: "released"})))
			assert.Equal(t, []string{"1"}, ids(list(t, s, store.Query{Kind: "wo", Site: "S1", Index: "status", Value: "created"})))
			assert.Empty(t, list(t, s, store.Query{Kind: "wo", Site: "S1", Index: "status", Value: "closed"}))
		}},
		{"crud/list-index-follows-updates", func(t *testing.T, s store.Store) {
			r := rec("wo", "1", "S1", `{}`)
			r.Index = map[string]string{"status": "created"}
			put(t, s, r)
			r.Version, r.Index = 1, map[string]string{"status": "released"}
			put(t, s, r)
			assert.Empty(t, list(t, s, store.Query{Kind: "wo", Site: "S1", Index: "status", Value: "created"}))
			assert.Equal(t, []string{"1"}, ids(list(t, s, store.Query{Kind: "wo", Site: "S1", Index: "status", Value: "released"})))
		}},
		{"crud/list-index-scoped-by-site", func(t *testing.T, s store.Store) {
			for _, site := range []string{"S1", "S2"} {
				r := rec("wo", "wo-"+site, site, `{}`)
				r.Index = map[string]string{"status": "released"}
				put(t, s, r)
			}
			assert.Equal(t, []string{"wo-S2"}, ids(list(t, s, store.Query{Kind: "wo", Site: "S2", Index: "status", Value: "released"})))
		}},
		{"crud/list-paging", func(t *testing.T, s store.Store) {
			for i := 0; i < 7; i++ {
				put(t, s, rec("wo", fmt.Sprintf("id-%02d", i), "S1", `{}`))
			}
			page1 := list(t, s, store.Query{Kind: "wo", Site: "S1", Limit: 3})
			assert.Equal(t, []string{"id-00", "id-01", "id-02"}, ids(page1))
			page2 := list(t, s, store.Query{Kind: "wo", Site: "S1", Limit: 3, After: "id-02"})
			assert.Equal(t, []string{"id-03", "id-04", "id-05"}, ids(page2))
			page3 := list(t, s, store.Query{Kind: "wo", Site: "S1", Limit: 3, After: "id-05"})
			assert.Equal(t, []string{"id-06"}, ids(page3))
		}},
		{"crud/list-empty-kind", func(t *testing.T, s store.Store) {
			assert.Empty(t, list(t, s, store.Query{Kind: "nothing", Site: "S1"}))
		}},
		{"crud/list-returns-full-records", func(t *testing.T, s store.Store) {
			r := rec("wo", "1", "S1", `{"x":"y"}`)
			r.Keys = []string{"k1"}
			r.Index = map[string]string{"status": "s"}
			put(t, s, r)
			got := list(t, s, store.Query{Kind: "wo", Site: "S1", Index: "status", Value: "s"})
			require.Len(t, got, 1)
			assert.Equal(t, uint64(1), got[0].Version)
			assert.JSONEq(t, `{"x":"y"}`, string(got[0].Data))
			assert.Equal(t, []string{"k1"}, got[0].Keys)
			assert.Equal(t, "s", got[0].Index["status"])
		}},
		{"crud/view-cannot-write", func(t *testing.T, s store.Store) {
			err := s.View(bg, func(tx store.ReadTx) error {
				w, ok := tx.(store.Tx)
				if !ok {
					return store.ErrReadOnly
				}
				_, err := w.Put(bg, rec("wo", "1", "S1", `{}`))
				return err
			})
			assert.Error(t, err)
			_, err = get(t, s, "wo", "1")
			assert.ErrorIs(t, err, store.ErrNotFound)
		}},
		{"crud/value-without-data", func(t *testing.T, s store.Store) {
			type wo struct {
				Number string `json:"number"`
				Qty    string `json:"qty"`
			}
			put(t, s, store.Record{Kind: "wo", ID: "1", Site: "S1", Value: &wo{Number: "4711", Qty: "5 ea"}})
			got, err := get(t, s, "wo", "1")
			require.NoError(t, err)
			data, err := got.Encode()
			require.NoError(t, err)
			assert.JSONEq(t, `{"number":"4711","qty":"5 ea"}`, string(data))
			assert.Equal(t, uint64(1), got.Version)
		}},
		{"crud/key-moves-between-records-in-one-tx", func(t *testing.T, s store.Store) {
			a := rec("wo", "a", "S1", `{}`)
			a.Keys = []string{"k"}
			put(t, s, a)
			b := rec("wo", "b", "S1", `{}`)
			put(t, s, b)
			require.NoError(t, s.Update(bg, func(tx store.Tx) error {
				b.Version, b.Keys = 1, []string{"k"} // b takes the key first ...
				a.Version, a.Keys = 1, nil           // ... then a gives it up, in the same transaction
				if _, err := tx.Put(bg, a); err != nil {
					return err
				}
				_, err := tx.Put(bg, b)
				return err
			}))
			got, err := lookup(t, s, "wo", "k")
			require.NoError(t, err)
			assert.Equal(t, "b", got.ID)
			c := rec("wo", "c", "S1", `{}`)
			c.Keys = []string{"k"}
			err = s.Update(bg, func(tx store.Tx) error { _, err := tx.Put(bg, c); return err })
			assert.ErrorIs(t, err, store.ErrDuplicateKey, "the moved key is still held")
		}},
		{"crud/keys-in-a-large-tx", func(t *testing.T, s store.Store) {
			err := s.Update(bg, func(tx store.Tx) error {
				for i := range 40 {
					r := rec("wo", fmt.Sprint(i), "S1", `{}`)
					r.Keys = []string{fmt.Sprint("k", i)}
					if _, err := tx.Put(bg, r); err != nil {
						return err
					}
				}
				taken := rec("wo", "x", "S1", `{}`)
				taken.Keys = []string{"k3"}
				if _, err := tx.Put(bg, taken); !errors.Is(err, store.ErrDuplicateKey) {
					return fmt.Errorf("a key written earlier in the transaction must be held, got %v", err)
				}
				r3 := rec("wo", "3", "S1", `{}`)
				r3.Version = 1 // gives k3 up ...
				if _, err := tx.Put(bg, r3); err != nil {
					return err
				}
				if _, err := tx.Put(bg, taken); err != nil { // ... so x may take it
					return err
				}
				got, err := tx.Lookup(bg, "wo", "k3")
				if err != nil || got.ID != "x" {
					return fmt.Errorf("lookup of the moved key: %v %v", got.ID, err)
				}
				got, err = tx.Lookup(bg, "wo", "k39")
				if err != nil || got.ID != "39" {
					return fmt.Errorf("lookup of the last key: %v %v", got.ID, err)
				}
				return nil
			})
			require.NoError(t, err)
			got, err := lookup(t, s, "wo", "k3")
			require.NoError(t, err)
			assert.Equal(t, "x", got.ID)
		}},
		{"crud/long-text-is-refused-and-the-tx-goes-on", func(t *testing.T, s store.Store) {
			long := strings.Repeat("x", store.MaxText+1)
			require.NoError(t, s.Update(bg, func(tx store.Tx) error {
				for _, r := range []store.Record{
					{Kind: "wo", ID: long, Site: "S1"},
					{Kind: "wo", ID: "a", Site: "S1", Keys: []string{long}},
					{Kind: "wo", ID: "a", Site: "S1", Index: map[string]string{"note": long}},
				} {
					_, err := tx.Put(bg, r)
					require.ErrorIs(t, err, store.ErrTooLong)
				}
				_, err := tx.Put(bg, store.Record{Kind: "wo", ID: "a", Site: "S1", Index: map[string]string{"note": long[1:]}, Data: []byte(`{}`)})
				return err // MaxText itself is fine, and the transaction goes on
			}))
			got, err := get(t, s, "wo", "a")
			require.NoError(t, err)
			assert.Len(t, got.Index["note"], store.MaxText)
		}},
		{"crud/longest-text-everywhere-is-stored-or-refused", func(t *testing.T, s store.Store) {
			// Text that does not compress (a store's index may compress its entries), MaxText
			// bytes in every field: the store keeps it, or refuses it with ErrTooLong as an
			// entry past its index limit, and the transaction goes on.
			longest := func(seed uint64) string {
				rng := rand.New(rand.NewPCG(seed, 1))
				var b strings.Builder
				for b.Len() < store.MaxText {
					b.WriteRune(0x100 + rng.Int32N(0x700)) // two bytes each
				}
				return b.String()
			}
			recs := []store.Record{
				{Kind: longest(1), ID: longest(2), Site: longest(3), Keys: []string{longest(4)}, Data: []byte(`{}`)},
				{Kind: longest(1), ID: longest(5), Site: "S1", Index: map[string]string{longest(6): longest(7)}, Data: []byte(`{}`)},
			}
			stored := make([]bool, len(recs))
			require.NoError(t, s.Update(bg, func(tx store.Tx) error {
				for i, r := range recs {
					_, err := tx.Put(bg, r)
					if err != nil {
						require.ErrorIs(t, err, store.ErrTooLong)
					}
					stored[i] = err == nil
				}
				_, err := tx.Put(bg, rec("wo", "1", "S1", `{}`))
				return err
			}))
			_, err := get(t, s, "wo", "1")
			require.NoError(t, err)
			for i, r := range recs {
				if stored[i] {
					got, err := get(t, s, r.Kind, r.ID)
					require.NoError(t, err)
					assert.Equal(t, r.Site, got.Site)
				}
			}
		}},
		{"crud/large-data", func(t *testing.T, s store.Store) {
			big := make([]byte, 0, 1<<20)
			big = append(big, `{"s":"`...)
			for len(big) < 1<<20-10 {
				big = append(big, 'x')
			}
			big = append(big, `"}`...)
			put(t, s, store.Record{Kind: "doc", ID: "1", Site: "S1", Data: big})
			got, err := get(t, s, "doc", "1")
			require.NoError(t, err)
			assert.Equal(t, len(big), len(got.Data))
		}},
	}
}

func versionCases() []Case {
	return []Case{
		{"versions/create-over-existing-conflicts", func(t *testing.T, s store.Store) {
			put(t, s, rec("wo", "1", "S1", `{"v":1}`))
			err := s.Update(bg, func(tx store.Tx) error { _, err := tx.Put(bg, rec("wo", "1", "S1", `{"v":2}`)); return err })
			assert.ErrorIs(t, err, store.ErrConflict)
			got, _ := get(t, s, "wo", "1")
			assert.JSONEq(t, `{"v":1}`, string(got.Data))
		}},
		{"versions/stale-version-conflicts", func(t *testing.T, s store.Store) {
			put(t, s, rec("wo", "1", "S1", `{"v":1}`))
			r := rec("wo", "1", "S1", `{"v":2}`)
			r.Version = 1
			put(t, s, r)
			r.Data = []byte(`{"v":3}`) // still version 1: stale
			err := s.Update(bg, func(tx store.Tx) error { _, err := tx.Put(bg, r); return err })
			assert.ErrorIs(t, err, store.ErrConflict)
			got, _ := get(t, s, "wo", "1")
			assert.JSONEq(t, `{"v":2}`, string(got.Data))
			assert.Equal(t, uint64(2), got.Version)
		}},
		{"versions/future-version-conflicts", func(t *testing.T, s store.Store) {
			put(t, s, rec("wo", "1", "S1", `{}`))
			r := rec("wo", "1", "S1", `{}`)
			r.Version = 7
			err := s.Update(bg, func(tx store.Tx) error { _, err := tx.Put(bg, r); return err })
			assert.ErrorIs(t, err, store.ErrConflict)
		}},
		{"versions/update-of-missing-conflicts", func(t *testing.T, s store.Store) {
			r := rec("wo", "ghost", "S1", `{}`)
			r.Version = 1
			err := s.Update(bg, func(tx store.Tx) error { _, err := tx.Put(bg, r); return err })
			assert.ErrorIs(t, err, store.ErrConflict)
			_, err = get(t, s, "wo", "ghost")
			assert.ErrorIs(t, err, store.ErrNotFound)
		}},
		{"versions/increase-by-one-per-put", func(t *testing.T, s store.Store) {
			r := rec("wo", "1", "S1", `{}`)
			for i := uint64(0); i < 5; i++ {
				r.Version = i
				assert.Equal(t, i+1, put(t, s, r))
			}
		}},
		{"versions/two-puts-in-one-tx", func(t *testing.T, s store.Store) {
			require.NoError(t, s.Update(bg, func(tx store.Tx) error {
				r := rec("wo", "1", "S1", `{"v":1}`)
				v, err := tx.Put(bg, r)
				if err != nil {
					return err
				}
				r.Version, r.Data = v, []byte(`{"v":2}`)
				_, err = tx.Put(bg, r)
				return err
			}))
			got, _ := get(t, s, "wo", "1")
			assert.JSONEq(t, `{"v":2}`, string(got.Data))
			assert.Equal(t, uint64(2), got.Version)
		}},
		{"versions/stale-put-inside-tx-conflicts", func(t *testing.T, s store.Store) {
			err := s.Update(bg, func(tx store.Tx) error {
				r := rec("wo", "1", "S1", `{}`)
				if _, err := tx.Put(bg, r); err != nil {
					return err
				}
				_, err := tx.Put(bg, r) // version 0 again: stale
				return err
			})
			assert.ErrorIs(t, err, store.ErrConflict)
			_, err = get(t, s, "wo", "1")
			assert.ErrorIs(t, err, store.ErrNotFound)
		}},
		{"versions/get-returns-current-version", func(t *testing.T, s store.Store) {
			r := rec("wo", "1", "S1", `{}`)
			put(t, s, r)
			r.Version = 1
			put(t, s, r)
			require.NoError(t, s.Update(bg, func(tx store.Tx) error {
				got, err := tx.Get(bg, "wo", "1")
				if err != nil {
					return err
				}
				assert.Equal(t, uint64(2), got.Version)
				_, err = tx.Put(bg, got)
				return err
			}))
		}},
	}
}

func txCases() []Case {
	return []Case{
		{"tx/error-rolls-back-records", func(t *testing.T, s store.Store) {
			err := s.Update(bg, func(tx store.Tx) error {
				if _, err := tx.Put(bg, rec("wo", "1", "S1", `{}`)); err != nil {
					return err
				}
				return errBoom
			})
			assert.ErrorIs(t, err, errBoom)
			_, err = get(t, s, "wo", "1")
			assert.ErrorIs(t, err, store.ErrNotFound)
		}},
		{"tx/error-rolls-back-updates", func(t *testing.T, s store.Store) {
			put(t, s, rec("wo", "1", "S1", `{"v":1}`))
			_ = s.Update(bg, func(tx store.Tx) error {
				r := rec("wo", "1", "S1", `{"v":2}`)
				r.Version = 1
				if _, err := tx.Put(bg, r); err != nil {
					return err
				}
				return errBoom
			})
			got, _ := get(t, s, "wo", "1")
			assert.JSONEq(t, `{"v":1}`, string(got.Data))
			assert.Equal(t, uint64(1), got.Version)
		}},
		{"tx/error-rolls-back-keys-and-index", func(t *testing.T, s store.Store) {
			_ = s.Update(bg, func(tx store.Tx) error {
				r := rec("wo", "1", "S1", `{}`)
				r.Keys = []string{"k"}
				r.Index = map[string]string{"status": "x"}
				if _, err := tx.Put(bg, r); err != nil {
					return err
				}
				return errBoom
			})
			_, err := lookup(t, s, "wo", "k")
			assert.ErrorIs(t, err, store.ErrNotFound)
			assert.Empty(t, list(t, s, store.Query{Kind: "wo", Site: "S1", Index: "status", Value: "x"}))
			r := rec("wo", "2", "S1", `{}`)
			r.Keys = []string{"k"}
			put(t, s, r) // the key is free
		}},
		{"tx/error-rolls-back-events", func(t *testing.T, s store.Store) {
			_ = s.Update(bg, func(tx store.Tx) error {
				if err := tx.AppendEvents(bg, event("a", "1")); err != nil {
					return err
				}
				return errBoom
			})
			assert.Empty(t, readAllEvents(t, s))
		}},
		{"tx/error-rolls-back-audit", func(t *testing.T, s store.Store) {
			_ = s.Update(bg, func(tx store.Tx) error {
				if err := tx.AppendAudit(bg, audit("a", "wo/1")); err != nil {
					return err
				}
				return errBoom
			})
			assert.Empty(t, readAllAudit(t, s))
		}},
		{"tx/panic-rolls-back-and-repanics", func(t *testing.T, s store.Store) {
			func() {
				defer func() { assert.NotNil(t, recover(), "Update must re-raise the panic") }()
				_ = s.Update(bg, func(tx store.Tx) error {
					_, _ = tx.Put(bg, rec("wo", "1", "S1", `{}`))
					_ = tx.AppendEvents(bg, event("a", "1"))
					_ = tx.AppendAudit(bg, audit("a", "wo/1"))
					panic("boom")
				})
			}()
			_, err := get(t, s, "wo", "1")
			assert.ErrorIs(t, err, store.ErrNotFound)
			assert.Empty(t, readAllEvents(t, s))
			assert.Empty(t, readAllAudit(t, s))
		}},
		{"tx/usable-after-panic", func(t *testing.T, s store.Store) {
			func() {
				defer func() { _ = recover() }()
				_ = s.Update(bg, func(tx store.Tx) error { panic("boom") })
			}()
			put(t, s, rec("wo", "1", "S1", `{}`))
			_, err := get(t, s, "wo", "1")
			assert.NoError(t, err)
		}},
		{"tx/read-your-writes-get", func(t *testing.T, s store.Store) {
			require.NoError(t, s.Update(bg, func(tx store.Tx) error {
				if _, err := tx.Put(bg, rec("wo", "1", "S1", `{"v":1}`)); err != nil {
					return err
				}
				got, err := tx.Get(bg, "wo", "1")
				if err != nil {
					return err
				}
				assert.JSONEq(t, `{"v":1}`, string(got.Data))
				assert.Equal(t, uint64(1), got.Version)
				return nil
			}))
		}},
		{"tx/read-your-writes-lookup", func(t *testing.T, s store.Store) {
			require.NoError(t, s.Update(bg, func(tx store.Tx) error {
				r := rec("wo", "1", "S1", `{}`)
				r.Keys = []string{"k"}
				if _, err := tx.Put(bg, r); err != nil {
					return err
				}
				got, err := tx.Lookup(bg, "wo", "k")
				if err != nil {
					return err
				}
				assert.Equal(t, "1", got.ID)
				return nil
			}))
		}},
		{"tx/read-your-writes-list", func(t *testing.T, s store.Store) {
			a := rec("wo", "a", "S1", `{}`)
			a.Index = map[string]string{"status": "created"}
			put(t, s, a)
			require.NoError(t, s.Update(bg, func(tx store.Tx) error {
				b := rec("wo", "b", "S1", `{}`)
				b.Index = map[string]string{"status": "created"}
				if _, err := tx.Put(bg, b); err != nil {
					return err
				}
				a.Version, a.Index = 1, map[string]string{"status": "released"}
				if _, err := tx.Put(bg, a); err != nil {
					return err
				}
				got, err := tx.List(bg, store.Query{Kind: "wo", Site: "S1", Index: "status", Value: "created"})
				if err != nil {
					return err
				}
				assert.Equal(t, []string{"b"}, ids(got))
				return nil
			}))
		}},
		{"tx/list-by-empty-value-needs-the-entry", func(t *testing.T, s store.Store) {
			q := store.Query{Kind: "wo", Site: "S1", Index: "status", Value: ""}
			var inTx []store.Record
			require.NoError(t, s.Update(bg, func(tx store.Tx) error {
				a := rec("wo", "a", "S1", `{}`) // no status entry at all
				b := rec("wo", "b", "S1", `{}`)
				b.Index = map[string]string{"status": ""}
				for _, r := range []store.Record{a, b} {
					if _, err := tx.Put(bg, r); err != nil {
						return err
					}
				}
				var err error
				inTx, err = tx.List(bg, q)
				return err
			}))
			assert.Equal(t, []string{"b"}, ids(inTx), "inside the transaction")
			assert.Equal(t, []string{"b"}, ids(list(t, s, q)), "committed")
		}},
		{"tx/uncommitted-writes-invisible-to-others", func(t *testing.T, s store.Store) {
			started, proceed := make(chan struct{}), make(chan struct{})
			done := make(chan error)
			go func() {
				done <- s.Update(bg, func(tx store.Tx) error {
					if _, err := tx.Put(bg, rec("wo", "1", "S1", `{}`)); err != nil {
						return err
					}
					close(started)
					<-proceed
					return nil
				})
			}()
			<-started
			viewDone := make(chan error, 1)
			go func() {
				viewDone <- s.View(bg, func(tx store.ReadTx) error {
					_, err := tx.Get(bg, "wo", "1")
					if err == nil {
						return errors.New("saw an uncommitted record")
					}
					return nil
				})
			}()
			select {
			case err := <-viewDone: // a store with snapshot reads answers at once
				assert.NoError(t, err)
				close(proceed)
			case <-time.After(200 * time.Millisecond): // a store that blocks readers answers after the commit
				close(proceed)
				// after the commit the record may be visible; only an uncommitted read is wrong,
				// which a blocking store cannot do.
				<-viewDone
			}
			require.NoError(t, <-done)
			_, err := get(t, s, "wo", "1")
			assert.NoError(t, err)
		}},
		{"tx/cancelled-context-writes-nothing", func(t *testing.T, s store.Store) {
			ctx, cancel := context.WithCancel(bg)
			cancel()
			err := s.Update(ctx, func(tx store.Tx) error {
				_, err := tx.Put(ctx, rec("wo", "1", "S1", `{}`))
				return err
			})
			assert.Error(t, err)
			_, err = get(t, s, "wo", "1")
			assert.ErrorIs(t, err, store.ErrNotFound)
		}},
		{"tx/failed-put-does-not-poison-others", func(t *testing.T, s store.Store) {
			put(t, s, rec("wo", "1", "S1", `{}`))
			err := s.Update(bg, func(tx store.Tx) error {
				if _, err := tx.Put(bg, rec("wo", "2", "S1", `{}`)); err != nil {
					return err
				}
				_, err := tx.Put(bg, rec("wo", "1", "S1", `{}`)) // conflict
				return err
			})
			assert.ErrorIs(t, err, store.ErrConflict)
			_, err = get(t, s, "wo", "2")
			assert.ErrorIs(t, err, store.ErrNotFound, "the whole transaction rolls back")
		}},
		{"tx/everything-commits-together", func(t *testing.T, s store.Store) {
			require.NoError(t, s.Update(bg, func(tx store.Tx) error {
				if _, err := tx.Put(bg, rec("wo", "1", "S1", `{}`)); err != nil {
					return err
				}
				if err := tx.AppendEvents(bg, event("wo.created", "1"), event("wo.released", "1")); err != nil {
					return err
				}
				return tx.AppendAudit(bg, audit("wo.create", "wo/1"))
			}))
			_, err := get(t, s, "wo", "1")
			assert.NoError(t, err)
			assert.Len(t, readAllEvents(t, s), 2)
			assert.Len(t, readAllAudit(t, s), 1)
		}},
	}
}

func eventCases() []Case {
	return []Case{
		{"events/positions-start-at-one-gap-free", func(t *testing.T, s store.Store) {
			for i := 0; i < 3; i++ {
				require.NoError(t, s.Update(bg, func(tx store.Tx) error {
					return tx.AppendEvents(bg, event("a", "1"), event("b", "1"))
				}))
			}
			evs := readAllEvents(t, s)
			require.Len(t, evs, 6)
			for i, e := range evs {
				assert.Equal(t, uint64(i+1), e.Position)
			}
		}},
		{"events/order-within-tx-kept", func(t *testing.T, s store.Store) {
			require.NoError(t, s.Update(bg, func(tx store.Tx) error {
				return tx.AppendEvents(bg, event("first", "1"), event("second", "1"), event("third", "1"))
			}))
			evs := readAllEvents(t, s)
			require.Len(t, evs, 3)
			assert.Equal(t, []string{"first", "second", "third"}, []string{evs[0].Type, evs[1].Type, evs[2].Type})
		}},
		{"events/fields-round-trip", func(t *testing.T, s store.Store) {
			e := event("wo.released", "WO-1")
			e.Command = "erp-4711"
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, e) }))
			got := readAllEvents(t, s)[0]
			assert.Equal(t, e.Type, got.Type)
			assert.Equal(t, e.Site, got.Site)
			assert.Equal(t, e.Subject, got.Subject)
			assert.True(t, e.Time.Equal(got.Time), "time %v != %v", e.Time, got.Time)
			assert.Equal(t, e.Actor, got.Actor)
			assert.Equal(t, e.Command, got.Command)
			assert.JSONEq(t, string(e.Data), string(got.Data))
		}},
		{"events/head", func(t *testing.T, s store.Store) {
			h, err := s.Head(bg)
			require.NoError(t, err)
			assert.Zero(t, h)
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, event("a", "1"), event("b", "1")) }))
			_ = s.Update(bg, func(tx store.Tx) error { _ = tx.AppendEvents(bg, event("lost", "1")); return errBoom })
			h, err = s.Head(bg)
			require.NoError(t, err)
			assert.Equal(t, uint64(2), h)
		}},
		{"events/chain-verifies", func(t *testing.T, s store.Store) {
			for i := 0; i < 3; i++ {
				require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, event("a", "1"), event("b", "2")) }))
			}
			evs := readAllEvents(t, s)
			require.Len(t, evs, 6)
			var v store.EventChainVerifier
			for _, e := range evs {
				require.NoError(t, v.Check(e))
			}
			assert.Equal(t, "", evs[0].PrevHash)
			assert.Equal(t, evs[0].Hash, evs[1].PrevHash)
			evs[3].Data = []byte(`{"n":2}`)
			var again store.EventChainVerifier
			for _, e := range evs[:3] {
				require.NoError(t, again.Check(e))
			}
			err := again.Check(evs[3])
			assert.ErrorIs(t, err, store.ErrTampered)
			assert.Contains(t, err.Error(), "event 4")
		}},
		{"events/read-after-position", func(t *testing.T, s store.Store) {
			for i := 0; i < 5; i++ {
				require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, event(fmt.Sprint(i), "1")) }))
			}
			evs, err := s.ReadEvents(bg, 3, 0)
			require.NoError(t, err)
			require.Len(t, evs, 2)
			assert.Equal(t, uint64(4), evs[0].Position)
			assert.Equal(t, "3", evs[0].Type)
		}},
		{"events/read-limit", func(t *testing.T, s store.Store) {
			for i := 0; i < 5; i++ {
				require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, event("e", "1")) }))
			}
			evs, err := s.ReadEvents(bg, 1, 2)
			require.NoError(t, err)
			require.Len(t, evs, 2)
			assert.Equal(t, uint64(2), evs[0].Position)
			assert.Equal(t, uint64(3), evs[1].Position)
		}},
		{"events/read-with-the-largest-limit", func(t *testing.T, s store.Store) {
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, event("a", "1"), event("b", "1")) }))
			evs, err := s.ReadEvents(bg, 1, math.MaxInt)
			require.NoError(t, err)
			require.Len(t, evs, 1)
			assert.Equal(t, "b", evs[0].Type)
		}},
		{"events/times-in-any-zone-round-trip", func(t *testing.T, s store.Store) {
			var in []store.Event
			for _, offset := range []int{0, 3600, -5 * 3600, 5*3600 + 45*60, 75, -75, -60} { // -75 s: London's local mean time before 1847
				e := event("a", "1")
				e.Time = time.Date(1800, 1, 1, 0, 0, 0, 123, time.FixedZone("z", offset))
				in = append(in, e)
			}
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, in...) }))
			evs := readAllEvents(t, s)
			require.Len(t, evs, len(in))
			var v store.EventChainVerifier
			for i, e := range evs {
				assert.True(t, in[i].Time.Equal(e.Time), "offset %d: %v came back as %v", i, in[i].Time, e.Time)
				require.NoError(t, v.Check(e))
			}
		}},
		{"events/read-past-end-is-empty", func(t *testing.T, s store.Store) {
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, event("e", "1")) }))
			evs, err := s.ReadEvents(bg, 10, 0)
			require.NoError(t, err)
			assert.Empty(t, evs)
		}},
		{"events/gap-free-after-rollback", func(t *testing.T, s store.Store) {
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, event("a", "1")) }))
			_ = s.Update(bg, func(tx store.Tx) error {
				_ = tx.AppendEvents(bg, event("lost", "1"))
				return errBoom
			})
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, event("b", "1")) }))
			evs := readAllEvents(t, s)
			require.Len(t, evs, 2)
			assert.Equal(t, uint64(2), evs[1].Position)
			assert.Equal(t, "b", evs[1].Type)
		}},
		{"events/wait-returns-when-already-there", func(t *testing.T, s store.Store) {
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, event("a", "1")) }))
			ctx, cancel := context.WithTimeout(bg, 5*time.Second)
			defer cancel()
			assert.NoError(t, s.WaitEvents(ctx, 0))
		}},
		{"events/wait-wakes-on-commit", func(t *testing.T, s store.Store) {
			ctx, cancel := context.WithTimeout(bg, 10*time.Second)
			defer cancel()
			woke := make(chan error, 1)
			go func() { woke <- s.WaitEvents(ctx, 0) }()
			time.Sleep(20 * time.Millisecond)
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, event("a", "1")) }))
			assert.NoError(t, <-woke)
		}},
		{"events/wait-honours-context", func(t *testing.T, s store.Store) {
			ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
			defer cancel()
			assert.ErrorIs(t, s.WaitEvents(ctx, 0), context.DeadlineExceeded)
		}},
		{"events/wait-ignores-rolled-back", func(t *testing.T, s store.Store) {
			ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
			defer cancel()
			_ = s.Update(bg, func(tx store.Tx) error {
				_ = tx.AppendEvents(bg, event("lost", "1"))
				return errBoom
			})
			assert.ErrorIs(t, s.WaitEvents(ctx, 0), context.DeadlineExceeded)
		}},
		{"events/data-copied", func(t *testing.T, s store.Store) {
			e := event("a", "1")
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, e) }))
			e.Data[2] = 'X'
			assert.JSONEq(t, `{"n":1}`, string(readAllEvents(t, s)[0].Data))
		}},
		{"events/data-read-is-the-readers", func(t *testing.T, s store.Store) {
			e := event("a", "1")
			e.Command = "c-1"
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, e) }))
			got := readAllEvents(t, s)[0]
			hash := got.Hash
			for i := range got.Data {
				got.Data[i] = 'X'
			}
			got.Data = append(got.Data, "more"...)
			assert.Equal(t, "a", got.Type, "changing Data changes no other field")
			assert.Equal(t, "1", got.Subject)
			assert.Equal(t, "c-1", got.Command)
			assert.Equal(t, hash, got.Hash)
			again := readAllEvents(t, s)[0]
			assert.JSONEq(t, `{"n":1}`, string(again.Data), "nor the log")
			assert.Equal(t, hash, again.Hash)
		}},
	}
}

func auditCases() []Case {
	return []Case{
		{"audit/sequence-and-chain", func(t *testing.T, s store.Store) {
			for i := 0; i < 4; i++ {
				require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendAudit(bg, audit(fmt.Sprint("act", i), "wo/1")) }))
			}
			recs := readAllAudit(t, s)
			require.Len(t, recs, 4)
			assert.Equal(t, "", recs[0].PrevHash)
			for i, r := range recs {
				assert.Equal(t, uint64(i+1), r.Seq)
				assert.NotEmpty(t, r.Hash)
				if i > 0 {
					assert.Equal(t, recs[i-1].Hash, r.PrevHash)
				}
			}
			verifyChain(t, recs)
		}},
		{"audit/fields-round-trip", func(t *testing.T, s store.Store) {
			a := audit("workorder.hold", "workorder/1")
			a.Where, a.Reason, a.Command = "CNC-2", "contamination", "key-1"
			a.Signatures = []store.Signature{{SignerID: "u1", SignerName: "Ada", Meaning: "approval", Time: a.Time, Digest: a.Content()}}
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendAudit(bg, a) }))
			got := readAllAudit(t, s)[0]
			assert.Equal(t, a.Action, got.Action)
			assert.Equal(t, a.Where, got.Where)
			assert.Equal(t, a.Reason, got.Reason)
			assert.Equal(t, a.Command, got.Command)
			assert.Equal(t, a.Changes, got.Changes)
			require.Len(t, got.Signatures, 1)
			assert.Equal(t, "Ada", got.Signatures[0].SignerName)
			verifyChain(t, []store.AuditRecord{got})
		}},
		{"audit/several-per-tx", func(t *testing.T, s store.Store) {
			require.NoError(t, s.Update(bg, func(tx store.Tx) error {
				if err := tx.AppendAudit(bg, audit("a", "x/1")); err != nil {
					return err
				}
				return tx.AppendAudit(bg, audit("b", "x/2"))
			}))
			recs := readAllAudit(t, s)
			require.Len(t, recs, 2)
			assert.Equal(t, "a", recs[0].Action)
			verifyChain(t, recs)
		}},
		{"audit/several-in-one-call", func(t *testing.T, s store.Store) {
			recs := []store.AuditRecord{audit("a", "x/1"), audit("b", "x/2"), audit("c", "x/3")}
			require.NoError(t, s.Update(bg, func(tx store.Tx) error {
				if err := tx.AppendAudit(bg, recs[:2]...); err != nil {
					return err
				}
				return tx.AppendAudit(bg, recs[2])
			}))
			got := readAllAudit(t, s)
			require.Len(t, got, 3)
			for i, want := range []string{"a", "b", "c"} {
				assert.Equal(t, want, got[i].Action)
				assert.Equal(t, uint64(i+1), got[i].Seq)
			}
			verifyChain(t, got)
		}},
		{"audit/read-after-and-limit", func(t *testing.T, s store.Store) {
			for i := 0; i < 5; i++ {
				require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendAudit(bg, audit("a", "x/1")) }))
			}
			recs, err := s.ReadAudit(bg, 2, 2)
			require.NoError(t, err)
			require.Len(t, recs, 2)
			assert.Equal(t, uint64(3), recs[0].Seq)
		}},
		{"audit/read-with-the-largest-limit", func(t *testing.T, s store.Store) {
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendAudit(bg, audit("a", "x/1"), audit("b", "x/2")) }))
			recs, err := s.ReadAudit(bg, 1, math.MaxInt)
			require.NoError(t, err)
			require.Len(t, recs, 1)
			assert.Equal(t, "b", recs[0].Action)
		}},
		{"audit/times-in-any-zone-round-trip", func(t *testing.T, s store.Store) {
			a := audit("a", "x/1")
			a.Time = time.Date(1800, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", -75))
			a.Signatures = []store.Signature{{SignerID: "u1", SignerName: "Ada", Meaning: "approval", Time: a.Time.Add(time.Second), Digest: a.Content()}}
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendAudit(bg, a) }))
			got := readAllAudit(t, s)[0]
			assert.True(t, a.Time.Equal(got.Time), "%v came back as %v", a.Time, got.Time)
			assert.True(t, a.Signatures[0].Time.Equal(got.Signatures[0].Time))
			verifyChain(t, []store.AuditRecord{got})
		}},
		{"audit/chain-detects-alteration", func(t *testing.T, s store.Store) {
			for i := 0; i < 3; i++ {
				require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendAudit(bg, audit("a", "x/1")) }))
			}
			recs := readAllAudit(t, s)
			recs[1].Reason = "edited"
			var v store.ChainVerifier
			require.NoError(t, v.Check(recs[0]))
			err := v.Check(recs[1])
			assert.ErrorIs(t, err, store.ErrTampered)
			assert.Contains(t, err.Error(), "record 2")
		}},
		{"audit/unicode-text-round-trips", func(t *testing.T, s store.Store) {
			a := audit("workorder.hold", "workorder/1")
			a.Reason = "Späne im Öl — 油 🛢"
			a.Changes = []store.Change{{Field: "note", Before: "", After: "naïve café"}}
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendAudit(bg, a) }))
			recs := readAllAudit(t, s)
			require.Len(t, recs, 1)
			assert.Equal(t, a.Reason, recs[0].Reason)
			verifyChain(t, recs)
		}},
		{"audit/gap-free-after-rollback", func(t *testing.T, s store.Store) {
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendAudit(bg, audit("a", "x/1")) }))
			_ = s.Update(bg, func(tx store.Tx) error { _ = tx.AppendAudit(bg, audit("lost", "x/1")); return errBoom })
			require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AppendAudit(bg, audit("b", "x/1")) }))
			recs := readAllAudit(t, s)
			require.Len(t, recs, 2)
			verifyChain(t, recs)
		}},
	}
}

func concurrencyCases() []Case {
	return []Case{
		{"concurrency/no-lost-update", func(t *testing.T, s store.Store) {
			put(t, s, rec("counter", "c", "S1", `0`))
			const workers, each = 8, 25
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						for attempt := 0; ; attempt++ {
							err := s.Update(bg, func(tx store.Tx) error {
								r, err := tx.Get(bg, "counter", "c")
								if err != nil {
									return err
								}
								var n int
								_, _ = fmt.Sscan(string(r.Data), &n)
								r.Data = []byte(fmt.Sprint(n + 1))
								_, err = tx.Put(bg, r)
								return err
							})
							if err == nil {
								break
							}
							if !errors.Is(err, store.ErrConflict) || attempt > 1000 {
								t.Errorf("increment: %v", err)
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			got, err := get(t, s, "counter", "c")
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprint(workers*each), string(got.Data))
			assert.Equal(t, uint64(workers*each+1), got.Version)
		}},
		{"concurrency/events-gap-free-under-concurrent-writers", func(t *testing.T, s store.Store) {
			const workers, each = 8, 20
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						if err := s.Update(bg, func(tx store.Tx) error {
							return tx.AppendEvents(bg, event(fmt.Sprintf("w%d", w), fmt.Sprint(i)), event(fmt.Sprintf("w%d", w), fmt.Sprint(i)))
						}); err != nil {
							t.Errorf("append: %v", err)
						}
					}
				}()
			}
			wg.Wait()
			evs := readAllEvents(t, s)
			require.Len(t, evs, workers*each*2)
			for i, e := range evs {
				require.Equal(t, uint64(i+1), e.Position)
			}
			for i := 0; i < len(evs); i += 2 { // the events of one transaction stay together
				assert.Equal(t, evs[i].Type, evs[i+1].Type)
				assert.Equal(t, evs[i].Subject, evs[i+1].Subject)
			}
		}},
		{"concurrency/reader-never-skips-an-event", func(t *testing.T, s store.Store) {
			const writers, each = 4, 25
			ctx, cancel := context.WithTimeout(bg, 60*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						if err := s.Update(bg, func(tx store.Tx) error { return tx.AppendEvents(bg, event("e", fmt.Sprint(w))) }); err != nil {
							t.Errorf("append: %v", err)
						}
					}
				}()
			}
			var seen uint64
			for seen < writers*each {
				require.NoError(t, s.WaitEvents(ctx, seen))
				evs, err := s.ReadEvents(ctx, seen, 7)
				require.NoError(t, err)
				for _, e := range evs {
					require.Equal(t, seen+1, e.Position, "reader skipped or repeated a position")
					seen = e.Position
				}
			}
			wg.Wait()
			evs, err := s.ReadEvents(ctx, seen, 0)
			require.NoError(t, err)
			assert.Empty(t, evs)
		}},
		{"concurrency/audit-chain-under-concurrent-writers", func(t *testing.T, s store.Store) {
			var wg sync.WaitGroup
			for w := 0; w < 6; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 15; i++ {
						if err := s.Update(bg, func(tx store.Tx) error { return tx.AppendAudit(bg, audit(fmt.Sprint("w", w), "x/1")) }); err != nil {
							t.Errorf("audit: %v", err)
						}
					}
				}()
			}
			wg.Wait()
			recs := readAllAudit(t, s)
			require.Len(t, recs, 90)
			verifyChain(t, recs)
		}},
		{"concurrency/unique-key-race", func(t *testing.T, s store.Store) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			won := 0
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rec("wo", fmt.Sprint("wo-", w), "S1", `{}`)
					r.Keys = []string{"number:S1/4711"}
					err := s.Update(bg, func(tx store.Tx) error { _, err := tx.Put(bg, r); return err })
					if err == nil {
						mu.Lock()
						won++
						mu.Unlock()
					} else if !errors.Is(err, store.ErrDuplicateKey) && !errors.Is(err, store.ErrConflict) {
						t.Errorf("unexpected error: %v", err)
					}
				}()
			}
			wg.Wait()
			assert.Equal(t, 1, won, "exactly one record may hold a unique key")
		}},
		{"concurrency/create-race", func(t *testing.T, s store.Store) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			won := 0
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := s.Update(bg, func(tx store.Tx) error {
						_, err := tx.Put(bg, rec("wo", "same", "S1", fmt.Sprintf(`{"w":%d}`, w)))
						return err
					})
					if err == nil {
						mu.Lock()
						won++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			assert.Equal(t, 1, won, "exactly one create of the same id may win")
		}},
		{"concurrency/readers-and-writers", func(t *testing.T, s store.Store) {
			ctx, cancel := context.WithCancel(bg)
			var wg sync.WaitGroup
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						_ = s.View(bg, func(tx store.ReadTx) error {
							recs, err := tx.List(bg, store.Query{Kind: "wo", Site: "S1"})
							for _, r := range recs {
								if r.Version == 0 {
									t.Errorf("record %s with version 0", r.ID)
								}
							}
							return err
						})
					}
				}()
			}
			for i := 0; i < 50; i++ {
				put(t, s, rec("wo", fmt.Sprint(i), "S1", `{}`))
			}
			cancel()
			wg.Wait()
			assert.Len(t, list(t, s, store.Query{Kind: "wo", Site: "S1"}), 50)
		}},
	}
}

func edge(kind genealogy.EdgeKind, from, to genealogy.Node, qty string) genealogy.Edge {
	return genealogy.Edge{Kind: kind, From: from, To: to, Qty: units.MustParse(qty), WorkOrder: "WO-1", Step: "10",
		Equipment: "CNC-1", Operator: "olga", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func addEdges(t *testing.T, s store.Store, edges ...genealogy.Edge) {
	t.Helper()
	require.NoError(t, s.Update(bg, func(tx store.Tx) error { return tx.AddEdges(bg, edges...) }))
}

func inputs(t *testing.T, s store.Store, n genealogy.Node) []genealogy.Edge {
	t.Helper()
	var out []genealogy.Edge
	require.NoError(t, s.View(bg, func(tx store.ReadTx) error {
		var err error
		out, err = tx.Inputs(bg, n)
		return err
	}))
	return out
}

func outputs(t *testing.T, s store.Store, n genealogy.Node) []genealogy.Edge {
	t.Helper()
	var out []genealogy.Edge
	require.NoError(t, s.View(bg, func(tx store.ReadTx) error {
		var err error
		out, err = tx.Outputs(bg, n)
		return err
	}))
	return out
}

func edgeCases() []Case {
	raw, mid, fin := genealogy.LotNode("RAW-1"), genealogy.LotNode("MID-1"), genealogy.LotNode("FIN-1")
	return []Case{
		{"edges/inputs-and-outputs", func(t *testing.T, s store.Store) {
			addEdges(t, s, edge(genealogy.EdgeConsume, raw, mid, "2 kg"), edge(genealogy.EdgeConsume, mid, fin, "5 ea"))
			in := inputs(t, s, mid)
			require.Len(t, in, 1)
			assert.Equal(t, raw, in[0].From)
			out := outputs(t, s, mid)
			require.Len(t, out, 1)
			assert.Equal(t, fin, out[0].To)
			assert.Empty(t, inputs(t, s, raw))
			assert.Empty(t, outputs(t, s, fin))
		}},
		{"edges/fields-round-trip", func(t *testing.T, s store.Store) {
			e := edge(genealogy.EdgeScrap, mid, genealogy.Node{}, "1.25 kg")
			e.Reason = "CHATTER"
			addEdges(t, s, e)
			got := outputs(t, s, mid)
			require.Len(t, got, 1)
			assert.Equal(t, e.Kind, got[0].Kind)
			assert.True(t, got[0].To.IsZero())
			assert.True(t, e.Qty.Equal(got[0].Qty), "%s != %s", e.Qty, got[0].Qty)
			assert.Equal(t, e.Qty.Unit(), got[0].Qty.Unit())
			assert.Equal(t, []string{"WO-1", "10", "CNC-1", "olga", "CHATTER"}, []string{got[0].WorkOrder, got[0].Step, got[0].Equipment, got[0].Operator, got[0].Reason})
			assert.True(t, e.At.Equal(got[0].At))
		}},
		{"edges/all-inputs-of-a-node", func(t *testing.T, s store.Store) {
			for i := 0; i < 5; i++ {
				addEdges(t, s, edge(genealogy.EdgeConsume, genealogy.LotNode(fmt.Sprint("C", i)), fin, fmt.Sprint(i+1, " ea")))
			}
			var from []string
			for _, e := range inputs(t, s, fin) {
				from = append(from, e.From.ID+" "+e.Qty.String())
			}
			assert.ElementsMatch(t, []string{"C0 1 ea", "C1 2 ea", "C2 3 ea", "C3 4 ea", "C4 5 ea"}, from)
		}},
		{"edges/invalid-edge-refused", func(t *testing.T, s store.Store) {
			err := s.Update(bg, func(tx store.Tx) error {
				if _, err := tx.Put(bg, rec("wo", "1", "S1", `{}`)); err != nil {
					return err
				}
				return tx.AddEdges(bg, edge(genealogy.EdgeConsume, raw, mid, "0 kg"))
			})
			assert.ErrorIs(t, err, genealogy.ErrQuantity)
			_, err = get(t, s, "wo", "1")
			assert.ErrorIs(t, err, store.ErrNotFound)
			assert.Empty(t, outputs(t, s, raw))
		}},
		{"edges/node-kinds-are-distinct", func(t *testing.T, s store.Store) {
			addEdges(t, s, edge(genealogy.EdgeShip, fin, genealogy.ShipmentNode("FIN-1"), "1 ea"))
			assert.Empty(t, outputs(t, s, genealogy.ShipmentNode("FIN-1")))
			assert.Empty(t, inputs(t, s, fin))
			assert.Len(t, inputs(t, s, genealogy.ShipmentNode("FIN-1")), 1)
		}},
		{"edges/rolled-back-with-tx", func(t *testing.T, s store.Store) {
			_ = s.Update(bg, func(tx store.Tx) error {
				_ = tx.AddEdges(bg, edge(genealogy.EdgeConsume, raw, mid, "1 kg"))
				return errBoom
			})
			assert.Empty(t, outputs(t, s, raw))
		}},
		{"edges/read-your-writes", func(t *testing.T, s store.Store) {
			addEdges(t, s, edge(genealogy.EdgeConsume, raw, mid, "1 kg"))
			require.NoError(t, s.Update(bg, func(tx store.Tx) error {
				if err := tx.AddEdges(bg, edge(genealogy.EdgeConsume, raw, fin, "1 kg")); err != nil {
					return err
				}
				out, err := tx.Outputs(bg, raw)
				if err != nil {
					return err
				}
				assert.Len(t, out, 2)
				return nil
			}))
		}},
		{"edges/supplier-lot-nodes", func(t *testing.T, s store.Store) {
			sup := genealogy.SupplierLotNode("STEEL", "ACME", "H-77")
			addEdges(t, s, edge(genealogy.EdgeReceive, sup, raw, "100 kg"))
			out := outputs(t, s, sup)
			require.Len(t, out, 1)
			assert.Equal(t, sup, out[0].From)
		}},
	}
}
