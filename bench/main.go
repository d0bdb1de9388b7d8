// Command bench measures Takt's performance figures and prints one line per figure: a
// stable dotted name, the value and its unit, and where a baseline is measured in the same
// run, the baseline and the ratio value/baseline. It is the program behind BENCHMARKS.md.
//
//	go run ./bench                 # every figure
//	go run ./bench -only routing.  # figures whose name starts with "routing."
//	go run ./bench -json           # a JSON array of {name, value, unit, baseline, ratio}
//
// Figures that need a service (PostgreSQL, NATS) live in the bench programs of their own
// modules.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

// result is one measured figure.
type result struct {
	Name     string   `json:"name"`
	Value    float64  `json:"value"`
	Unit     string   `json:"unit"`
	Baseline *float64 `json:"baseline,omitempty"`
	Ratio    *float64 `json:"ratio,omitempty"`
}

// withBaseline sets the baseline and the ratio value/baseline.
func (r result) withBaseline(b float64) result {
	r.Baseline = &b
	if b != 0 {
		ratio := r.Value / b
		r.Ratio = &ratio
	}
	return r
}

// suite is a group of figures measured together because they share a costly setup (a
// generated graph, say). prefixes lists the names it produces so -only can skip it.
type suite struct {
	names []string
	run   func(report func(result))
}

var suites []suite

// register adds a suite; each figure file calls it from init.
func register(names []string, run func(report func(result))) {
	suites = append(suites, suite{names: names, run: run})
}

func main() {
	only := flag.String("only", "", "run only the figures whose name starts with this prefix")
	asJSON := flag.Bool("json", false, "print a JSON array instead of lines")
	flag.Parse()

	sort.SliceStable(suites, func(i, j int) bool { return suites[i].names[0] < suites[j].names[0] })
	var all []result
	report := func(r result) {
		if !strings.HasPrefix(r.Name, *only) {
			return
		}
		all = append(all, r)
		if !*asJSON {
			fmt.Println(format(r))
		}
	}
	ran := 0
	for _, s := range suites {
		if !wanted(s.names, *only) {
			continue
		}
		ran++
		s.run(report)
	}
	if ran == 0 {
		fmt.Fprintf(os.Stderr, "bench: no figure starts with %q\n", *only)
		os.Exit(2)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(all); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

func wanted(names []string, prefix string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

func format(r result) string {
	s := fmt.Sprintf("%-44s %14.3f %s", r.Name, r.Value, r.Unit)
	if r.Baseline != nil {
		s += fmt.Sprintf("  baseline %.3f", *r.Baseline)
		if r.Ratio != nil {
			s += fmt.Sprintf("  ratio %.3f", *r.Ratio)
		}
	}
	return s
}
