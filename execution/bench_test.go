package execution

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkEvaluate50Rules: one situation (an event with its facts) through 50 rules.
func BenchmarkEvaluate50Rules(b *testing.B) {
	var rules []*Rule
	for i := range 50 {
		spec := exampleRules[i%len(exampleRules)]
		spec.Name = fmt.Sprintf("%s-%d", spec.Name, i)
		r, err := Compile(spec)
		if err != nil {
			b.Fatal(err)
		}
		rules = append(rules, r)
	}
	set := NewRuleSet(rules...)
	env := sampleEnv()
	env.Event.Type = "lot.tracked_out"
	env.Lot.Queued, env.Order.Open, env.Hold.Active, env.Scrap.LastHour = false, false, false, 1
	open := &OpenCauses{}
	b.ReportAllocs()
	for b.Loop() {
		env.Now = env.Now.Add(time.Second)
		set.Evaluate(env, open)
	}
}
