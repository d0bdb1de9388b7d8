package memstore

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// An idSet lists what a plain set of ids would, sorted, whatever the order of additions and
// removals: ids that increase (a list), some out of order and removals near the end (still
// a list), and then far from it (a map).
func TestIDSetListsWhatASetHolds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		var s idSet
		model := map[string]bool{}
		next := 0
		for op := range 400 {
			var id string
			switch r := rng.IntN(10); {
			case r < 6: // the next of increasing ids
				next++
				id = fmt.Sprintf("%06d", next)
				s.add(id)
				model[id] = true
			case r < 8: // an id near the end, or anywhere in later rounds
				back := rng.IntN(8)
				if round > 25 {
					back = rng.IntN(next + 1)
				}
				id = fmt.Sprintf("%06d", max(next-back, 0))
				if rng.IntN(2) == 0 {
					s.add(id)
					model[id] = true
				} else {
					s.remove(id)
					delete(model, id)
				}
			default: // an id that may not be there
				id = fmt.Sprintf("%06d", rng.IntN(next+2))
				s.remove(id)
				delete(model, id)
			}
			after := fmt.Sprintf("%06d", rng.IntN(next+2))
			var want []string
			for _, id := range slices.Sorted(maps.Keys(model)) {
				if id > after {
					want = append(want, id)
				}
			}
			require.Equal(t, want, s.after(after), "round %d op %d (after %s)", round, op, after)
		}
	}
}

func TestIDSetStaysAListWhileIDsIncrease(t *testing.T) {
	var s idSet
	for i := range 1000 {
		s.add(fmt.Sprintf("%06d", i))
	}
	s.remove("000999")
	s.add("000990") // already there
	require.Nil(t, s.m)
	require.Len(t, s.list, 999)
	s.remove("000001") // far from the end
	require.NotNil(t, s.m)
	require.Len(t, s.after(""), 998)
}
