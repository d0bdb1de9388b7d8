package equipment

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Level is a level of the ISA-95 role-based equipment hierarchy.
type Level string

// The ISA-95 levels, from the top down.
const (
	Enterprise Level = "enterprise"
	Site       Level = "site"
	Area       Level = "area"
	WorkCenter Level = "work_center"
	WorkUnit   Level = "work_unit"
)

// rank orders the levels: a parent must have a smaller rank than its children.
func (l Level) rank() (int, bool) {
	switch l {
	case Enterprise:
		return 0, true
	case Site:
		return 1, true
	case Area:
		return 2, true
	case WorkCenter:
		return 3, true
	case WorkUnit:
		return 4, true
	}
	return 0, false
}

// Equipment is one node of the hierarchy: a site, a line, a machine.
type Equipment struct {
	// ID identifies the equipment; unique in its hierarchy.
	ID string `json:"id"`
	// Name is the human name, for screens.
	Name string `json:"name,omitempty"`
	// Level is the ISA-95 level.
	Level Level `json:"level"`
	// Parent is the id of the equipment above; empty for a root. Any level may be a root
	// except that an enterprise must be one.
	Parent string `json:"parent,omitempty"`
	// Class is the equipment class, for example "CNC-5AXIS"; steps may require a class.
	Class string `json:"class,omitempty"`
	// Capabilities lists what the equipment can do, for example "drill" or "weld-tig".
	Capabilities []string `json:"capabilities,omitempty"`
	// IdealCycleTime is the ideal time to produce one unit, used for OEE performance; zero
	// when not known (OEE then cannot be computed for this equipment).
	IdealCycleTime time.Duration `json:"ideal_cycle_time,omitempty"`
}

// HasCapability reports whether e lists capability c.
func (e Equipment) HasCapability(c string) bool {
	return slices.Contains(e.Capabilities, c)
}

// Hierarchy is a validated equipment hierarchy. Build it with NewHierarchy; it is immutable
// and safe to share. The zero Hierarchy is empty.
type Hierarchy struct {
	byID     map[string]Equipment
	children map[string][]string // parent id -> child ids, sorted
}

// NewHierarchy validates items and returns the hierarchy. A parent may appear after its
// children in items. A parent must be at a higher level than its child; levels may be
// skipped (a work center directly under a site). On failure the error is a
// *ValidationError (ErrInvalidHierarchy) listing every problem: empty or duplicate ids,
// unknown levels, unknown parents, level order, cycles, empty capabilities and negative
// ideal cycle times.
func NewHierarchy(items []Equipment) (Hierarchy, error) {
	var ps problems
	byID := make(map[string]Equipment, len(items))
	for i, e := range items {
		path := fmt.Sprintf("equipment[%d]", i)
		if e.ID == "" {
			ps.add(ErrInvalidField, path+".id", e.ID, "id is empty; give every equipment a unique id")
		} else if _, dup := byID[e.ID]; dup {
			ps.add(ErrDuplicateID, path+".id", e.ID, "id is used by an earlier equipment; ids must be unique")
		} else {
			e.Capabilities = slices.Clone(e.Capabilities)
			byID[e.ID] = e
		}
		if _, ok := e.Level.rank(); !ok {
			ps.add(ErrInvalidField, path+".level", string(e.Level), "unknown level; use enterprise, site, area, work_center or work_unit")
		}
		for j, c := range e.Capabilities {
			if strings.TrimSpace(c) == "" {
				ps.add(ErrInvalidField, fmt.Sprintf("%s.capabilities[%d]", path, j), c, "capability is empty; remove it or name it")
			}
		}
		if e.IdealCycleTime < 0 {
			ps.add(ErrInvalidField, path+".idealCycleTime", e.IdealCycleTime.String(), "ideal cycle time is negative; use zero for unknown or a positive duration")
		}
	}
	for i, e := range items {
		if e.Parent == "" {
			continue
		}
		path := fmt.Sprintf("equipment[%d].parent", i)
		p, ok := byID[e.Parent]
		switch {
		case e.Parent == e.ID:
			ps.add(ErrCycle, path, e.Parent, "equipment %q is its own parent", e.ID)
		case !ok:
			ps.add(ErrUnknownParent, path, e.Parent, "no equipment has this id; add it or fix the parent of %q", e.ID)
		case e.Level == Enterprise:
			ps.add(ErrLevelOrder, path, e.Parent, "an enterprise is the top level and cannot have a parent")
		default:
			cr, cok := e.Level.rank()
			pr, pok := p.Level.rank()
			if cok && pok && pr >= cr {
				ps.add(ErrLevelOrder, path, e.Parent, "parent is a %s and cannot hold %s %q; a parent must be at a higher level", p.Level, e.Level, e.ID)
			}
		}
	}
	for _, cyc := range findCycles(byID) {
		ps.add(ErrCycle, "equipment", strings.Join(cyc, " -> "), "parent links form a loop; make one of them a root or point it elsewhere")
	}
	if err := ps.err(ErrInvalidHierarchy); err != nil {
		return Hierarchy{}, err
	}
	children := make(map[string][]string)
	for id, e := range byID {
		if e.Parent != "" {
			children[e.Parent] = append(children[e.Parent], id)
		}
	}
	for _, ids := range children {
		slices.Sort(ids)
	}
	return Hierarchy{byID: byID, children: children}, nil
}

// findCycles returns every parent loop of two or more nodes once, each starting at its
// smallest id, sorted. Self-loops are reported by the caller.
func findCycles(byID map[string]Equipment) [][]string {
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	done := make(map[string]bool, len(byID))
	var cycles [][]string
	for _, start := range ids {
		var path []string
		onPath := map[string]int{}
		for id := start; id != "" && !done[id]; id = byID[id].Parent {
			if at, seen := onPath[id]; seen {
				cyc := path[at:]
				if len(cyc) > 1 {
					m := cyc[0]
					mi := 0
					for k, c := range cyc {
						if c < m {
							m, mi = c, k
						}
					}
					cycles = append(cycles, append(slices.Clone(cyc[mi:]), cyc[:mi]...))
				}
				break
			}
			if _, ok := byID[id]; !ok {
				break
			}
			onPath[id] = len(path)
			path = append(path, id)
		}
		for _, id := range path {
			done[id] = true
		}
	}
	slices.SortFunc(cycles, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return cycles
}

// Get returns the equipment with id.
func (h Hierarchy) Get(id string) (Equipment, bool) {
	e, ok := h.byID[id]
	if ok {
		e.Capabilities = slices.Clone(e.Capabilities)
	}
	return e, ok
}

func (h Hierarchy) must(id string) (Equipment, error) {
	e, ok := h.Get(id)
	if !ok {
		return Equipment{}, fmt.Errorf("%w: %q is not in the hierarchy; check the id or add the equipment", ErrUnknownEquipment, id)
	}
	return e, nil
}

// Children returns the direct children of id, sorted by id.
func (h Hierarchy) Children(id string) ([]Equipment, error) {
	if _, err := h.must(id); err != nil {
		return nil, err
	}
	out := make([]Equipment, 0, len(h.children[id]))
	for _, c := range h.children[id] {
		e, _ := h.Get(c)
		out = append(out, e)
	}
	return out, nil
}

// Ancestors returns the parents of id, nearest first, up to its root.
func (h Hierarchy) Ancestors(id string) ([]Equipment, error) {
	e, err := h.must(id)
	if err != nil {
		return nil, err
	}
	var out []Equipment
	for e.Parent != "" {
		e, _ = h.Get(e.Parent)
		out = append(out, e)
	}
	return out, nil
}

// WorkUnits returns the work units below workCenter at any depth, sorted by id. Asking for
// a piece of equipment that is not a work center is an error.
func (h Hierarchy) WorkUnits(workCenter string) ([]Equipment, error) {
	wc, err := h.must(workCenter)
	if err != nil {
		return nil, err
	}
	if wc.Level != WorkCenter {
		return nil, fmt.Errorf("%w: %q is a %s, not a work center", ErrInvalidField, workCenter, wc.Level)
	}
	var out []Equipment
	stack := []string{workCenter}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range h.children[id] {
			if e := h.byID[c]; e.Level == WorkUnit {
				e, _ = h.Get(c)
				out = append(out, e)
			}
			stack = append(stack, c)
		}
	}
	slices.SortFunc(out, func(a, b Equipment) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Site returns the site that id belongs to (id itself when it is a site).
func (h Hierarchy) Site(id string) (Equipment, error) {
	e, err := h.must(id)
	if err != nil {
		return Equipment{}, err
	}
	for {
		if e.Level == Site {
			return e, nil
		}
		if e.Parent == "" {
			return Equipment{}, fmt.Errorf("%w: %q and its ancestors include no site; place it under a site", ErrNoSite, id)
		}
		e, _ = h.Get(e.Parent)
	}
}

// Requirement is what a routing step needs from the equipment that performs it. Empty
// fields are not checked.
type Requirement struct {
	// WorkCenter is satisfied by the work center itself or any equipment below it.
	WorkCenter string `json:"work_center,omitempty"`
	// Class is satisfied by equipment of exactly this class.
	Class string `json:"class,omitempty"`
	// Capabilities are satisfied when the equipment lists every one of them.
	Capabilities []string `json:"capabilities,omitempty"`
}

// CanPerform returns nil when equipment id meets every part of req. Otherwise it returns
// ErrUnknownEquipment, or ErrNotCapable naming every unmet part.
func (h Hierarchy) CanPerform(id string, req Requirement) error {
	e, err := h.must(id)
	if err != nil {
		return err
	}
	var unmet []string
	if req.WorkCenter != "" && !h.within(e, req.WorkCenter) {
		unmet = append(unmet, fmt.Sprintf("not in work center %q", req.WorkCenter))
	}
	if req.Class != "" && e.Class != req.Class {
		unmet = append(unmet, fmt.Sprintf("class is %q, step needs %q", e.Class, req.Class))
	}
	for _, c := range req.Capabilities {
		if !e.HasCapability(c) {
			unmet = append(unmet, fmt.Sprintf("lacks capability %q", c))
		}
	}
	if len(unmet) > 0 {
		return fmt.Errorf("%w: %q %s; choose other equipment or change the step", ErrNotCapable, id, strings.Join(unmet, ", "))
	}
	return nil
}

// within reports whether e is ancestor or e sits below it.
func (h Hierarchy) within(e Equipment, ancestor string) bool {
	for {
		if e.ID == ancestor {
			return true
		}
		if e.Parent == "" {
			return false
		}
		e = h.byID[e.Parent]
	}
}
