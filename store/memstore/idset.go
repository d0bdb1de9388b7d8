package memstore

import "slices"

// idSet holds the ids of the records under one index entry. Records are mostly created
// with ids that increase (time-ordered UUIDs), and many never leave their entry (the runs
// of an equipment), so a set keeps its ids as a sorted list while what it adds and removes
// lies near the end of the list, and as a map once not: a list adds without hashing and
// lists without sorting, and it grows by appending, without rehashing everything it holds.
type idSet struct {
	list []string            // sorted; unused once the set is a map
	m    map[string]struct{} // nil while the set is a list
}

// nearEnd is how many ids an insertion or removal in a list may move before the set becomes
// a map.
const nearEnd = 64

func (s *idSet) add(id string) {
	if s.m == nil {
		n := len(s.list)
		if n == 0 || id > s.list[n-1] {
			s.list = append(s.list, id)
			return
		}
		i, found := slices.BinarySearch(s.list, id)
		switch {
		case found:
			return
		case n-i <= nearEnd:
			s.list = slices.Insert(s.list, i, id)
			return
		}
		s.toMap()
	}
	s.m[id] = struct{}{}
}

func (s *idSet) remove(id string) {
	if s.m == nil {
		i, found := slices.BinarySearch(s.list, id)
		switch {
		case !found:
			return
		case len(s.list)-i <= nearEnd:
			s.list = slices.Delete(s.list, i, i+1)
			return
		}
		s.toMap()
	}
	delete(s.m, id)
}

func (s *idSet) toMap() {
	s.m = make(map[string]struct{}, len(s.list)+1)
	for _, id := range s.list {
		s.m[id] = struct{}{}
	}
	s.list = nil
}

// after returns the ids greater than after, in increasing order (nil for none).
func (s *idSet) after(after string) []string {
	if s.m == nil {
		i, found := slices.BinarySearch(s.list, after)
		if found {
			i++
		}
		if i == len(s.list) {
			return nil
		}
		return slices.Clone(s.list[i:])
	}
	var ids []string
	for id := range s.m {
		if id > after {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
