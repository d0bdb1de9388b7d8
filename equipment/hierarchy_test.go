package equipment

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func plant(t *testing.T) Hierarchy {
	t.Helper()
	h, err := NewHierarchy([]Equipment{
		{ID: "CNC-1", Level: WorkUnit, Parent: "CNC", Class: "CNC-5AXIS", Capabilities: []string{"mill", "drill"}, IdealCycleTime: 90 * time.Second},
		{ID: "ACME", Level: Enterprise},
		{ID: "BERLIN", Level: Site, Parent: "ACME"},
		{ID: "MACHINING", Level: Area, Parent: "BERLIN"},
		{ID: "CNC", Level: WorkCenter, Parent: "MACHINING"},
		{ID: "CNC-2", Level: WorkUnit, Parent: "CNC", Class: "CNC-3AXIS", Capabilities: []string{"mill"}},
		{ID: "ASSEMBLY", Level: WorkCenter, Parent: "BERLIN"}, // skips the area level
		{ID: "BENCH-1", Level: WorkUnit, Parent: "ASSEMBLY"},
		{ID: "LAB", Level: WorkCenter}, // a root below site level: allowed, but has no site
	})
	require.NoError(t, err)
	return h
}

func ids(es []Equipment) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestHierarchyQueries(t *testing.T) {
	h := plant(t)

	kids, err := h.Children("CNC")
	require.NoError(t, err)
	assert.Equal(t, []string{"CNC-1", "CNC-2"}, ids(kids))

	anc, err := h.Ancestors("CNC-1")
	require.NoError(t, err)
	assert.Equal(t, []string{"CNC", "MACHINING", "BERLIN", "ACME"}, ids(anc))

	units, err := h.WorkUnits("CNC")
	require.NoError(t, err)
	assert.Equal(t, []string{"CNC-1", "CNC-2"}, ids(units))
	_, err = h.WorkUnits("BERLIN")
	assert.ErrorIs(t, err, ErrInvalidField)

	for _, id := range []string{"CNC-1", "ASSEMBLY", "BERLIN"} {
		site, err := h.Site(id)
		require.NoError(t, err, id)
		assert.Equal(t, "BERLIN", site.ID, id)
	}
	_, err = h.Site("LAB")
	assert.ErrorIs(t, err, ErrNoSite)
	_, err = h.Site("ACME")
	assert.ErrorIs(t, err, ErrNoSite)
	_, err = h.Site("NOPE")
	assert.ErrorIs(t, err, ErrUnknownEquipment)

	e, ok := h.Get("CNC-1")
	require.True(t, ok)
	e.Capabilities[0] = "changed"
	again, _ := h.Get("CNC-1")
	assert.Equal(t, "mill", again.Capabilities[0], "Get must not expose internal slices")
}

func TestCanPerform(t *testing.T) {
	h := plant(t)
	for _, tc := range []struct {
		name string
		id   string
		req  Requirement
		err  error
		msg  []string
	}{
		{"work center member", "CNC-1", Requirement{WorkCenter: "CNC"}, nil, nil},
		{"the work center itself", "CNC", Requirement{WorkCenter: "CNC"}, nil, nil},
		{"class and capabilities", "CNC-1", Requirement{WorkCenter: "CNC", Class: "CNC-5AXIS", Capabilities: []string{"drill", "mill"}}, nil, nil},
		{"empty requirement", "BENCH-1", Requirement{}, nil, nil},
		{"other work center", "BENCH-1", Requirement{WorkCenter: "CNC"}, ErrNotCapable, []string{`not in work center "CNC"`}},
		{"all unmet parts listed", "CNC-2", Requirement{Class: "CNC-5AXIS", Capabilities: []string{"drill", "mill", "weld"}}, ErrNotCapable,
			[]string{`class is "CNC-3AXIS", step needs "CNC-5AXIS"`, `lacks capability "drill"`, `lacks capability "weld"`}},
		{"unknown equipment", "X", Requirement{}, ErrUnknownEquipment, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := h.CanPerform(tc.id, tc.req)
			if tc.err == nil {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.err)
			for _, m := range tc.msg {
				assert.Contains(t, err.Error(), m)
			}
		})
	}
}

func TestHierarchyValidationListsAllProblems(t *testing.T) {
	_, err := NewHierarchy([]Equipment{
		{ID: "S", Level: Site},
		{ID: "S", Level: Site},                                      // duplicate id
		{ID: "", Level: Area, Parent: "S"},                          // empty id
		{ID: "WC", Level: WorkCenter, Parent: "GHOST"},              // unknown parent
		{ID: "A", Level: Area, Parent: "U"},                         // level order: area under work unit
		{ID: "U", Level: WorkUnit, Parent: "S", IdealCycleTime: -1}, // negative ideal cycle time
		{ID: "E", Level: Enterprise, Parent: "S"},                   // enterprise with a parent
		{ID: "X", Level: "line", Capabilities: []string{" "}},       // unknown level, empty capability
		{ID: "C1", Level: WorkUnit, Parent: "C2"},                   // cycle C1 -> C2 -> C3 -> C1
		{ID: "C2", Level: WorkUnit, Parent: "C3"},
		{ID: "C3", Level: WorkUnit, Parent: "C1"},
		{ID: "SELF", Level: Area, Parent: "SELF"},
	})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.ErrorIs(t, err, ErrInvalidHierarchy)
	got := map[string]error{}
	for _, p := range ve.Problems {
		got[p.Path+"="+p.Value] = p.Err
	}
	want := map[string]error{
		`equipment[1].id=S`:                ErrDuplicateID,
		`equipment[2].id=`:                 ErrInvalidField,
		`equipment[3].parent=GHOST`:        ErrUnknownParent,
		`equipment[4].parent=U`:            ErrLevelOrder,
		`equipment[5].idealCycleTime=-1ns`: ErrInvalidField,
		`equipment[6].parent=S`:            ErrLevelOrder,
		`equipment[7].level=line`:          ErrInvalidField,
		`equipment[7].capabilities[0]= `:   ErrInvalidField,
		`equipment[8].parent=C2`:           ErrLevelOrder,
		`equipment[9].parent=C3`:           ErrLevelOrder,
		`equipment[10].parent=C1`:          ErrLevelOrder,
		`equipment=C1 -> C2 -> C3`:         ErrCycle,
		`equipment[11].parent=SELF`:        ErrCycle,
	}
	assert.Equal(t, want, got, err.Error())
	for _, sentinel := range []error{ErrDuplicateID, ErrUnknownParent, ErrLevelOrder, ErrCycle, ErrInvalidField} {
		assert.True(t, errors.Is(err, sentinel), sentinel)
	}
	assert.Contains(t, err.Error(), "13 problems")
}

func TestEmptyHierarchy(t *testing.T) {
	h, err := NewHierarchy(nil)
	require.NoError(t, err)
	_, ok := h.Get("A")
	assert.False(t, ok)
	var zero Hierarchy
	_, err = zero.Children("A")
	assert.ErrorIs(t, err, ErrUnknownEquipment)
}
