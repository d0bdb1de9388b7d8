package execution

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func FuzzCompileRule(f *testing.F) {
	for _, r := range exampleRules {
		f.Add(r.When, r.Cause, r.Clear)
	}
	for _, s := range []string{
		"", "lot.", "event.fields", "1/0 > 0", "int(event.fields[\"n\"]) > 0", "any([1], # > 0)", "let x = 1; true",
		"len(1..99999) > 0", "event.subject + event.subject", "lot.waitingMinutes / 0 > 1", "hold.ageHours ?? true",
		"now - event.time > duration(\"1h\")", "event.type matches \"(a+)+$\"", "string(order.due) == \"x\"",
	} {
		f.Add(s, s, s)
	}
	env := sampleEnv()
	f.Fuzz(func(t *testing.T, when, cause, clear string) {
		r, err := Compile(RuleSpec{Name: "f", Owner: "x", When: when, Cause: cause, Clear: clear})
		if err != nil {
			var re *RuleError
			require.ErrorAs(t, err, &re)
			require.True(t, errors.Is(err, ErrInvalidRule) || errors.Is(err, ErrRuleBudget), "%v", err)
			require.NotEmpty(t, re.Problems)
			for _, p := range re.Problems {
				require.Contains(t, []string{"when", "cause", "clear"}, p.Field)
				require.GreaterOrEqual(t, p.Line, 1)
				require.GreaterOrEqual(t, p.Column, 1)
			}
			require.Nil(t, r)
			return
		}
		open := &OpenCauses{}
		set := NewRuleSet(r)
		for range 2 { // the second pass sees the cause open and may clear it
			ds, errs := set.Evaluate(env, open)
			require.LessOrEqual(t, len(ds)+len(errs), 1)
			for _, e := range errs {
				require.True(t, errors.Is(e, ErrRuleFailed) || errors.Is(e, ErrRuleBudget), "%v", e)
			}
			for _, d := range ds {
				require.NotEmpty(t, d.Cause)
				require.LessOrEqual(t, len(d.Cause), MaxCauseLength)
				require.Equal(t, d.Action == Fire, open.Has("f", d.Cause))
			}
		}
	})
}
