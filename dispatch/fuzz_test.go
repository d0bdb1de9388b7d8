package dispatch

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func FuzzCompileRule(f *testing.F) {
	for _, b := range builtinSources {
		f.Add(b.source)
	}
	for _, s := range []string{
		"", "dueInHours +", "customer", "let d = (due - now).Hours(); d / opHours",
		"len(1..100000 | map(# * priority))", "priority % (remainingSteps - 1)",
		"now().Unix()", "reduce(1..90, reduce(1..90, #acc + #, 0) + #acc, 0)",
		"customer == 'ACME' ? -1e9 : quantity", "1/0", "0/0", "int(lot)", "len(toJSON(1..9000))",
		"findIndex([1,2], # > priority) ?? 3", "sum(map(split(lot, '-'), len(#)))",
	} {
		f.Add(s)
	}
	sample := fiveJobs()
	sample[2].RemainingSteps, sample[3].OpTime, sample[3].RemainingTime = 3, 0, 0
	sample[4].Due = t0
	f.Fuzz(func(t *testing.T, source string) {
		r, err := Compile("F", source)
		if err != nil {
			var re *RuleError
			require.ErrorAs(t, err, &re)
			require.True(t, errors.Is(err, ErrInvalidRule) || errors.Is(err, ErrRuleBudget), "%v", err)
			require.GreaterOrEqual(t, re.Line, 1)
			require.GreaterOrEqual(t, re.Column, 1)
			require.Nil(t, r)
			return
		}
		for _, now := range []time.Time{t0, t0.Add(50 * time.Hour)} {
			l := Rank(r, sample, Request{Now: now, RunningFamily: "A"})
			// Every candidate ends up ranked or failed, never lost or duplicated.
			require.Equal(t, len(sample), len(l.Ranked)+len(l.Failed))
			for i, e := range l.Ranked {
				require.Equal(t, i+1, e.Position)
				require.False(t, e.Score != e.Score, "NaN ranked")
				require.Len(t, e.Explain(), len(r.Inputs()))
				if i > 0 {
					require.LessOrEqual(t, l.Ranked[i-1].Score, e.Score)
				}
			}
			for _, fl := range l.Failed {
				require.True(t, errors.Is(fl.Err, ErrRuleFailed) || errors.Is(fl.Err, ErrRuleBudget), "%v", fl.Err)
			}
		}
	})
}
