package benchfmt

import (
	"bytes"
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrinterLinesAndJSON(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		var out bytes.Buffer
		fs := flag.NewFlagSet("bench", flag.ContinueOnError)
		p := NewPrinter(fs, &out)
		args := []string{"-only", "a."}
		if asJSON {
			args = append(args, "-json")
		}
		require.NoError(t, fs.Parse(args))
		assert.False(t, p.Wanted("b.x"))
		assert.True(t, p.Wanted("b.y", "a.z"))
		p.Report(Result{Name: "a.z", Value: 4, Unit: "ops/s"}.WithBaseline(2))
		p.Report(Result{Name: "b.y", Value: 1, Unit: "ms"})
		require.NoError(t, p.Done())
		if asJSON {
			assert.JSONEq(t, `[{"name":"a.z","value":4,"unit":"ops/s","baseline":2,"ratio":2}]`, out.String())
		} else {
			assert.Regexp(t, `^a\.z +4\.000 ops/s  baseline 2\.000  ratio 2\.000\n$`, out.String())
		}
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	p := NewPrinter(fs, &bytes.Buffer{})
	require.NoError(t, fs.Parse([]string{"-only", "nothing"}))
	assert.Error(t, p.Done())
}
