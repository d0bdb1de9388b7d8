package quality

import (
	"fmt"
	"math/bits"
	"strings"
)

// Rule is a set of control-chart run rules (a bit set); a Violation carries exactly one.
// Zones are measured in sigmas of the plotted statistic from the center line: "beyond
// k sigma" is |z| > k, so beyond 3 sigma is beyond a control limit, and "within 1 sigma" is
// |z| < 1; a point exactly on a zone boundary is in neither.
type Rule uint16

// The eight Nelson rules (Nelson 1984) and the four Western Electric rules (1956). A point
// exactly on the center line is on neither side; equal consecutive points break a trend or
// an alternation.
const (
	// Nelson1: one point beyond 3 sigma.
	Nelson1 Rule = 1 << iota
	// Nelson2: nine points in a row on the same side of the center line.
	Nelson2
	// Nelson3: six points in a row steadily increasing or steadily decreasing.
	Nelson3
	// Nelson4: fourteen points in a row alternating up and down.
	Nelson4
	// Nelson5: two of three points in a row beyond 2 sigma on the same side.
	Nelson5
	// Nelson6: four of five points in a row beyond 1 sigma on the same side.
	Nelson6
	// Nelson7: fifteen points in a row within 1 sigma of the center line.
	Nelson7
	// Nelson8: eight points in a row beyond 1 sigma, with points on both sides.
	Nelson8
	// WesternElectric1: one point beyond 3 sigma.
	WesternElectric1
	// WesternElectric2: two of three points in a row beyond 2 sigma on the same side.
	WesternElectric2
	// WesternElectric3: four of five points in a row beyond 1 sigma on the same side.
	WesternElectric3
	// WesternElectric4: eight points in a row on the same side of the center line.
	WesternElectric4
)

// Rule sets.
const (
	// NelsonRules selects all eight Nelson rules.
	NelsonRules = Nelson1 | Nelson2 | Nelson3 | Nelson4 | Nelson5 | Nelson6 | Nelson7 | Nelson8
	// WesternElectricRules selects the four Western Electric rules.
	WesternElectricRules = WesternElectric1 | WesternElectric2 | WesternElectric3 | WesternElectric4
)

var ruleNames = [...]string{"nelson-1", "nelson-2", "nelson-3", "nelson-4", "nelson-5", "nelson-6", "nelson-7", "nelson-8",
	"western-electric-1", "western-electric-2", "western-electric-3", "western-electric-4"}

// String names the rules in the set, for example "nelson-1" or "nelson-1|nelson-5".
func (r Rule) String() string {
	var names []string
	for r != 0 {
		i := bits.TrailingZeros16(uint16(r))
		if i < len(ruleNames) {
			names = append(names, ruleNames[i])
		} else {
			names = append(names, "unknown")
		}
		r &= r - 1
	}
	return strings.Join(names, "|")
}

// MarshalText writes the rule names, so a Violation in an event reads "nelson-2".
func (r Rule) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads rule names written by MarshalText ("nelson-1|western-electric-4";
// empty for no rule).
func (r *Rule) UnmarshalText(b []byte) error {
	var set Rule
	if len(b) > 0 {
	names:
		for _, name := range strings.Split(string(b), "|") {
			for i, n := range ruleNames {
				if n == name {
					set |= 1 << i
					continue names
				}
			}
			return fmt.Errorf("%w: unknown rule %q; use nelson-1 .. nelson-8 or western-electric-1 .. western-electric-4", ErrInvalidChart, name)
		}
	}
	*r = set
	return nil
}

// Violation is one point that breaks one rule: Index is the position (in the checked
// series) of the point that completes the pattern.
type Violation struct {
	Chart ChartKind `json:"chart"`
	Rule  Rule      `json:"rule"`
	Index int       `json:"index"`
}

// Scan applies the selected rules to a series of standardized points, z[i] being point
// i's distance from the center line in sigmas, in a single pass over the series (all rules
// together). Violations come in index order, then rule order; Chart is 0. The rules
// look back at most 15 points, so checking the newest point needs only the last 15.
func Scan(z []float64, rules Rule) []Violation {
	var out []Violation
	s := newScanner(rules, 0, &out)
	for i, v := range z {
		s.step(i, v)
	}
	return out
}

// scanner keeps the running state of every rule so each point is looked at once.
type scanner struct {
	rules Rule
	chart ChartKind
	out   *[]Violation

	prev     float64
	side     int    // side of the previous point: +1, -1, 0
	sideRun  int    // points in a row on side
	dir      int    // direction of the last move: +1, -1, 0
	trendRun int    // points in the current monotone run
	altRun   int    // points in the current alternating run
	in1Run   int    // points in a row within 1 sigma
	out1Run  int    // points in a row beyond 1 sigma
	up2, dn2 int    // index of the last point beyond +2 / -2 sigma
	up1, dn1 [3]int // indices of the last three points beyond +1 / -1 sigma, newest first
}

// never is an index before any point, far enough back for every window.
const never = -1 << 30

func newScanner(rules Rule, chart ChartKind, out *[]Violation) *scanner {
	return &scanner{rules: rules, chart: chart, out: out, up2: never, dn2: never,
		up1: [3]int{never, never, never}, dn1: [3]int{never, never, never}}
}

// step feeds point i with standardized value z (points must come with i = 0, 1, 2, ...).
// Comparisons with NaN are false, so a NaN point is in no zone and breaks every run.
func (s *scanner) step(i int, z float64) {
	var hits Rule

	// Runs on one side of the center line.
	side := 0
	if z > 0 {
		side = 1
	} else if z < 0 {
		side = -1
	}
	switch {
	case side == 0:
		s.sideRun = 0
	case side == s.side:
		s.sideRun++
	default:
		s.sideRun = 1
	}
	s.side = side
	if s.sideRun >= 8 {
		hits |= WesternElectric4
		if s.sideRun >= 9 {
			hits |= Nelson2
		}
	}

	// Trend and alternation: the direction of the move from the previous point.
	d := 0
	if i > 0 {
		if z > s.prev {
			d = 1
		} else if z < s.prev {
			d = -1
		}
	}
	switch {
	case d == 0:
		s.trendRun, s.altRun = 1, 1
	case d == s.dir:
		s.trendRun++
		s.altRun = 2
	case d == -s.dir:
		s.trendRun = 2
		s.altRun++
	default: // the first move after a tie or the first point
		s.trendRun, s.altRun = 2, 2
	}
	s.dir, s.prev = d, z
	if s.trendRun >= 6 {
		hits |= Nelson3
	}
	if s.altRun >= 14 {
		hits |= Nelson4
	}

	// Zones. Beyond k sigma means |z| > k; within 1 sigma means |z| < 1.
	if z > 3 || z < -3 {
		hits |= Nelson1 | WesternElectric1
	}
	// 2 of 3 beyond 2 sigma on one side: this point and another of the previous two.
	if z > 2 {
		if s.up2 >= i-2 {
			hits |= Nelson5 | WesternElectric2
		}
		s.up2 = i
	} else if z < -2 {
		if s.dn2 >= i-2 {
			hits |= Nelson5 | WesternElectric2
		}
		s.dn2 = i
	}
	// 4 of 5 beyond 1 sigma on one side: this point and three of the previous four.
	if z > 1 {
		if s.up1[2] >= i-4 {
			hits |= Nelson6 | WesternElectric3
		}
		s.up1 = [3]int{i, s.up1[0], s.up1[1]}
		s.out1Run++
	} else if z < -1 {
		if s.dn1[2] >= i-4 {
			hits |= Nelson6 | WesternElectric3
		}
		s.dn1 = [3]int{i, s.dn1[0], s.dn1[1]}
		s.out1Run++
	} else {
		s.out1Run = 0
	}
	// 8 in a row beyond 1 sigma with both sides among them.
	if s.out1Run >= 8 && s.up1[0] > i-8 && s.dn1[0] > i-8 {
		hits |= Nelson8
	}
	if z < 1 && z > -1 {
		s.in1Run++
		if s.in1Run >= 15 {
			hits |= Nelson7
		}
	} else {
		s.in1Run = 0
	}

	// Emit in rule (bit) order.
	for hits &= s.rules; hits != 0; hits &= hits - 1 {
		*s.out = append(*s.out, Violation{Chart: s.chart, Rule: hits & -hits, Index: i})
	}
}

// appendBeyond records a dispersion-chart point beyond its limits under each selected
// "beyond limits" rule.
func appendBeyond(out []Violation, rules Rule, chart ChartKind, i int) []Violation {
	for _, r := range [...]Rule{Nelson1, WesternElectric1} {
		if rules&r != 0 {
			out = append(out, Violation{Chart: chart, Rule: r, Index: i})
		}
	}
	return out
}
