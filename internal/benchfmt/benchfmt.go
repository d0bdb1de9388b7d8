// Package benchfmt is the output format shared by Takt's benchmark programs (bench,
// pgstore/bench, natsrelay/bench): one line per figure — a stable dotted name, the value and
// its unit, and where a baseline was measured in the same run, the baseline and the ratio —
// or, with -json, a JSON array of {name, value, unit, baseline, ratio}.
package benchfmt

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Result is one measured figure.
type Result struct {
	Name     string   `json:"name"`
	Value    float64  `json:"value"`
	Unit     string   `json:"unit"`
	Baseline *float64 `json:"baseline,omitempty"`
	Ratio    *float64 `json:"ratio,omitempty"`
}

// WithBaseline returns r with the baseline b and the ratio value/b.
func (r Result) WithBaseline(b float64) Result {
	r.Baseline = &b
	if b != 0 {
		ratio := r.Value / b
		r.Ratio = &ratio
	}
	return r
}

// String formats r as one line.
func (r Result) String() string {
	s := fmt.Sprintf("%-44s %14.3f %s", r.Name, r.Value, r.Unit)
	if r.Baseline != nil {
		s += fmt.Sprintf("  baseline %.3f", *r.Baseline)
		if r.Ratio != nil {
			s += fmt.Sprintf("  ratio %.3f", *r.Ratio)
		}
	}
	return s
}

// Printer reports the figures a program measures, filtered by -only, as lines as they come
// or as one JSON array at the end (-json).
type Printer struct {
	only    *string
	asJSON  *bool
	out     io.Writer
	results []Result
	ran     int
}

// NewPrinter registers -only and -json on fs and prints to out.
func NewPrinter(fs *flag.FlagSet, out io.Writer) *Printer {
	return &Printer{
		only:   fs.String("only", "", "run only the figures whose name starts with this prefix"),
		asJSON: fs.Bool("json", false, "print a JSON array instead of lines"),
		out:    out,
	}
}

// Wanted reports whether a suite producing names should run, and counts it if so.
func (p *Printer) Wanted(names ...string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, *p.only) {
			p.ran++
			return true
		}
	}
	return false
}

// Report records one figure (and prints it, unless -json).
func (p *Printer) Report(r Result) {
	if !strings.HasPrefix(r.Name, *p.only) {
		return
	}
	p.results = append(p.results, r)
	if !*p.asJSON {
		fmt.Fprintln(p.out, r)
	}
}

// Done prints the JSON array when -json was given; it is an error when no suite ran.
func (p *Printer) Done() error {
	if p.ran == 0 {
		return fmt.Errorf("no figure starts with %q", *p.only)
	}
	if !*p.asJSON {
		return nil
	}
	enc := json.NewEncoder(p.out)
	enc.SetIndent("", "  ")
	return enc.Encode(p.results)
}
