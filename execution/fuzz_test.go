package execution

import (
	"bytes"
	"encoding/json"
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
		"order.open && order.lateHours > 2", "3 >= order.priority and not hold.active", "lot.id + \"@\" + lot.step", "equipment",
		"scrap.lastHour <= 5.5", "event.type == \"tick\" && spc.value != -1",
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
		// The rule decides as it would with expr alone (without the Go forms of its
		// expressions), on an ordinary situation and on one with no facts.
		plain := *r
		plain.guards, plain.native, plain.causeText, plain.clearTest = nil, false, nil, nil
		for _, env := range []*Env{env, {Event: EventFacts{Type: TickEvent}}} {
			open, plainOpen := &OpenCauses{}, &OpenCauses{}
			set, plainSet := NewRuleSet(r), NewRuleSet(&plain)
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
				plainDs, plainErrs := plainSet.Evaluate(env, plainOpen)
				require.Equal(t, len(plainErrs), len(errs))
				require.Equal(t, len(plainDs), len(ds))
				for i := range ds {
					require.Equal(t, plainDs[i].Action, ds[i].Action)
					require.Equal(t, plainDs[i].Cause, ds[i].Cause)
				}
			}
		}
	})
}

func FuzzStringMembers(f *testing.F) {
	for _, s := range []string{
		`{"lot":"L-1","work_order":"WO-1","step":"10","books":{"received":"10 ea","x":[1,{"y":"}"}]}}`,
		`{"id":"WO-1","number":"4711"}`, `{"lot":"a\"b\\u00e9","step":10}`, ` { "step" : "x" , "lot" : null } `,
		`{"a":[],"b":{},"c":true,"d":-1.5e3,"lot":"L"}`, `{}`, `[]`, `"lot"`, `{"lot":`, `{"lot":"x`, `{"a":"\\"}`, ``, `{"\u006cot":"x"}`,
	} {
		f.Add([]byte(s))
	}
	names := []string{"lot", "step", "id"}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := make([]string, len(names))
		ok := StringMembers(data, names, got) // never panics, whatever data is
		var top map[string]json.RawMessage
		if !json.Valid(data) || json.Unmarshal(data, &top) != nil || top == nil || !uniqueMembers(data) {
			return
		}
		require.True(t, ok)
		for i, name := range names {
			var want string
			if raw, found := top[name]; found && len(raw) > 0 && raw[0] == '"' {
				require.NoError(t, json.Unmarshal(raw, &want))
			}
			require.Equal(t, want, got[i], name)
		}
	})
}

// uniqueMembers reports whether the top level of a valid JSON object names each member
// once (exactly, as StringMembers compares names).
func uniqueMembers(data []byte) bool {
	d := json.NewDecoder(bytes.NewReader(data))
	if _, err := d.Token(); err != nil {
		return false
	}
	seen := map[string]bool{}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		name := tok.(string)
		if seen[name] {
			return false
		}
		seen[name] = true
		var skip json.RawMessage
		if d.Decode(&skip) != nil {
			return false
		}
	}
	return true
}
