package labor

import (
	"fmt"
	"slices"

	"github.com/shopspring/decimal"
)

// Person is someone who books time. ID is Takt's id for the person; UserID links it to the
// host's user account (the identity the host authenticates).
type Person struct {
	ID     string
	UserID string
	Name   string
	Roles  []string        // Role IDs
	Crew   string          // Crew ID; empty when the person belongs to no crew
	Rate   decimal.Decimal // labor rate per hour, in the plant's currency
}

// HasRole reports whether the person holds the role.
func (p Person) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// Crew is a team that works a shift together.
type Crew struct {
	ID   string
	Name string
}

// Role is a personnel class such as "operator", "setter" or "supervisor".
type Role struct {
	ID   string
	Name string
}

// Directory is the set of people, crews and roles of a site.
type Directory struct {
	People []Person
	Crews  []Crew
	Roles  []Role
}

// Validate reports every problem at once: empty or duplicate IDs, people whose crew or roles
// are not in the directory, negative rates.
func (d Directory) Validate() error {
	var ps problems
	crews := ids(&ps, "Crews", d.Crews, func(c Crew) string { return c.ID })
	roles := ids(&ps, "Roles", d.Roles, func(r Role) string { return r.ID })
	ids(&ps, "People", d.People, func(p Person) string { return p.ID })
	for i, p := range d.People {
		at := fmt.Sprintf("People[%d]", i)
		if p.Crew != "" && !crews[p.Crew] {
			ps.add(at+".Crew", p.Crew, "no such crew; add it to Crews or clear the field")
		}
		for j, r := range p.Roles {
			if !roles[r] {
				ps.add(fmt.Sprintf("%s.Roles[%d]", at, j), r, "no such role; add it to Roles")
			}
		}
		if p.Rate.IsNegative() {
			ps.add(at+".Rate", p.Rate, "a labor rate cannot be negative")
		}
	}
	return ps.err()
}

// ids checks that every element has a non-empty, unique ID and returns the set of IDs.
func ids[T any](ps *problems, path string, xs []T, id func(T) string) map[string]bool {
	seen := make(map[string]bool, len(xs))
	for i, x := range xs {
		v := id(x)
		at := fmt.Sprintf("%s[%d].ID", path, i)
		switch {
		case v == "":
			ps.add(at, v, "an ID is required")
		case seen[v]:
			ps.add(at, v, "duplicate ID; IDs must be unique")
		}
		seen[v] = true
	}
	return seen
}
