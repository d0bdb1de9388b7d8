package dispatch

import (
	"fmt"
	"slices"
	"time"

	"github.com/expr-lang/expr/vm"
)

// Board keeps the candidates queued at one work center (or unit, or for one person) and
// their scores under one rule, so that a list after an event costs the re-scoring of what
// changed, not of everything.
//
// Scores are cached per candidate. An Upsert (a new lot queued, a hold set or released, a
// completion upstream, a priority change) or a Remove (tracked in, moved on) invalidates only
// that candidate. A rule that reads now, dueInHours or waitingHours is re-scored in full when
// List is called with a different Request.Now, and a rule that reads runningFamily when the
// Request's RunningFamily changes; other rules keep their cached scores. Eligibility depends on
// the Request and is checked on every List.
//
// A Board is not safe for concurrent use; the engine guards it with a lock.
type Board struct {
	rule   *Rule
	m      vm.VM
	env    Env
	items  map[Key]*item
	failed map[Key]*item // items the rule failed on
	order  []*item       // scored items, best first; may hold stale items until the next List
	spare  []*item       // buffer for rebuilding order
	dirty  []*item       // items upserted since the last List

	scored       bool // order reflects a full scoring
	scoredNow    time.Time
	scoredFamily string
}

// item is a candidate held by a Board. It is replaced, never changed, on Upsert, so entries
// handed out keep pointing at the facts they were ranked with.
type item struct {
	scored
	cand  Candidate
	err   error
	stale bool // replaced or removed
}

// NewBoard returns an empty board that ranks with rule. To change the rule, build a new
// board and upsert the candidates into it.
func NewBoard(rule *Rule) *Board {
	if rule == nil {
		rule = &Rule{} // every candidate fails with ErrInvalidRule
	}
	return &Board{rule: rule, items: map[Key]*item{}, failed: map[Key]*item{}}
}

// Len returns the number of candidates on the board.
func (b *Board) Len() int { return len(b.items) }

// Upsert adds the candidate or replaces the one with the same key. It returns a
// *ValidationError (ErrInvalidCandidate) and leaves the board unchanged if c is invalid. The
// board keeps its own copy of c.
func (b *Board) Upsert(c Candidate) error {
	if err := c.Validate(); err != nil {
		return err
	}
	c.WorkCenters = slices.Clone(c.WorkCenters)
	c.Equipment = slices.Clone(c.Equipment)
	c.OpenPredecessors = slices.Clone(c.OpenPredecessors)
	c.Holds = slices.Clone(c.Holds)
	c.Shortages = slices.Clone(c.Shortages)
	c.Qualifications = slices.Clone(c.Qualifications)
	it := &item{cand: c}
	it.scored.c = &it.cand
	k := c.Key()
	b.drop(k)
	b.items[k] = it
	b.dirty = append(b.dirty, it)
	return nil
}

// Remove takes the candidate with key k off the board and reports whether it was there.
func (b *Board) Remove(k Key) bool {
	_, ok := b.items[k]
	b.drop(k)
	return ok
}

func (b *Board) drop(k Key) {
	if old, ok := b.items[k]; ok {
		old.stale = true
		delete(b.items, k)
		delete(b.failed, k)
	}
}

// WhyNot returns the reasons the candidate with key k cannot run for req (nil if it can), or
// ErrUnknownCandidate.
func (b *Board) WhyNot(k Key, req Request) ([]Reason, error) {
	it, ok := b.items[k]
	if !ok {
		return nil, fmt.Errorf("%w %s: it is not queued on this board; upsert it first", ErrUnknownCandidate, k)
	}
	return Eligible(&it.cand, &req), nil
}

// List returns the dispatch list for req, equal to Rank over the board's candidates.
func (b *Board) List(req Request) List {
	full := !b.scored ||
		b.rule.usesTime && !req.Now.Equal(b.scoredNow) ||
		b.rule.usesRequest && req.RunningFamily != b.scoredFamily
	switch {
	case full:
		for _, it := range b.items {
			b.score(it, req)
		}
		b.rebuild()
	case len(b.dirty) > len(b.items)/8:
		b.scoreDirty(req)
		b.rebuild()
	default:
		b.merge(b.scoreDirty(req))
	}
	b.dirty = b.dirty[:0]
	b.scored, b.scoredNow, b.scoredFamily = true, req.Now, req.RunningFamily
	return b.collect(req)
}

// score scores one item and files it under failed if the rule fails.
func (b *Board) score(it *item, req Request) {
	b.rule.fill(&b.env, &it.cand, req.Now, req.RunningFamily)
	it.score, it.err = b.rule.score(&b.m, &b.env)
	k := it.cand.Key()
	if it.err != nil {
		b.failed[k] = it
	} else {
		delete(b.failed, k)
	}
}

// scoreDirty scores the live upserted items and returns those that scored, sorted.
func (b *Board) scoreDirty(req Request) []*item {
	var fresh []*item
	for _, it := range b.dirty {
		if it.stale {
			continue
		}
		b.score(it, req)
		if it.err == nil {
			fresh = append(fresh, it)
		}
	}
	slices.SortFunc(fresh, compareItems)
	return fresh
}

func compareItems(a, b *item) int { return compareScored(a.scored, b.scored) }

// rebuild sorts every scored item from scratch.
func (b *Board) rebuild() {
	b.order = b.order[:0]
	for _, it := range b.items {
		if it.err == nil {
			b.order = append(b.order, it)
		}
	}
	slices.SortFunc(b.order, compareItems)
}

// merge drops stale items from the order and merges the freshly scored ones in: O(n + k).
func (b *Board) merge(fresh []*item) {
	out := b.spare[:0]
	i := 0
	for _, it := range b.order {
		if it.stale {
			continue
		}
		for i < len(fresh) && compareItems(fresh[i], it) < 0 {
			out = append(out, fresh[i])
			i++
		}
		out = append(out, it)
	}
	out = append(out, fresh[i:]...)
	b.order, b.spare = out, b.order[:0]
}

// collect builds the list from the sorted order and the failed items.
func (b *Board) collect(req Request) List {
	l := List{Rule: b.rule.name, Now: req.Now}
	ctx := &rankContext{rule: b.rule, now: req.Now, running: req.RunningFamily}
	l.Ranked = make([]Entry, 0, len(b.order))
	for _, it := range b.order {
		if rs := Eligible(&it.cand, &req); rs != nil {
			l.Ineligible = append(l.Ineligible, Blocked{Candidate: &it.cand, Reasons: rs})
			continue
		}
		l.Ranked = append(l.Ranked, Entry{Position: len(l.Ranked) + 1, Score: it.score, Candidate: &it.cand, ctx: ctx})
	}
	for _, it := range b.failed {
		if rs := Eligible(&it.cand, &req); rs != nil {
			l.Ineligible = append(l.Ineligible, Blocked{Candidate: &it.cand, Reasons: rs})
			continue
		}
		l.Failed = append(l.Failed, Failure{Candidate: &it.cand, Err: it.err})
	}
	l.sortUnranked()
	return l
}
