// Command bench measures Takt's performance figures and prints one line per figure: a
// stable dotted name, the value and its unit, and where a baseline is measured in the same
// run, the baseline and the ratio value/baseline. It is the program behind BENCHMARKS.md.
//
//	go run ./bench                 # every figure
//	go run ./bench -only routing.  # figures whose name starts with "routing."
//	go run ./bench -json           # a JSON array of {name, value, unit, baseline, ratio}
//
// Figures that need a service live in the bench programs of their modules (pgstore/bench,
// natsrelay/bench).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"

	"github.com/taktmes/takt/internal/benchfmt"
)

// result is one measured figure.
type result = benchfmt.Result

// suite is a group of figures measured together because they share a costly setup (a
// generated graph, say); names lists the figures it produces so -only can skip it.
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
	p := benchfmt.NewPrinter(flag.CommandLine, os.Stdout)
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	memProfile := flag.String("memprofile", "", "write an allocation profile of the run to this file (go tool pprof -sample_index=alloc_space)")
	flag.Parse()
	if *memProfile != "" {
		runtime.MemProfileRate = 4096
		defer writeMemProfile(*memProfile)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	sort.SliceStable(suites, func(i, j int) bool { return suites[i].names[0] < suites[j].names[0] })
	for _, s := range suites {
		if p.Wanted(s.names...) {
			s.run(p.Report)
		}
	}
	if err := p.Done(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(2)
	}
}

// writeMemProfile writes the allocations of the run so far to path.
func writeMemProfile(path string) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
}
