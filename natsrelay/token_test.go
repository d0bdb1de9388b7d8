package natsrelay_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/natsrelay"
)

func TestSubject(t *testing.T) {
	for _, tc := range []struct {
		site, typ, want string
	}{
		{"PLANT-1", "workorder.released", "takt.PLANT-1.workorder.released"},
		{"plant_2", "lot.tracked_in", "takt.plant_2.lot.tracked_in"},
		{"", "equipment.defined", "takt.%.equipment.defined"},
		{"a.b", "x", "takt.a%2Eb.x"},
		{"PLANT 1", "q*.>", "takt.PLANT%201.q%2A.%3E"},
		{"Zürich", "a..b", "takt.Z%C3%BCrich.a.%.b"},
		{"100%", "t", "takt.100%25.t"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			assert.Equal(t, tc.want, natsrelay.Subject("takt", mes.Event{Site: tc.site, Type: tc.typ}))
		})
	}
}

// FuzzToken checks that Token always yields one valid subject token and that distinct
// strings never share a token.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"", "PLANT-1", "a.b", "%", "%25", "*", ">", " ", "\x00", "Zürich", "_"} {
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ta, tb := natsrelay.Token(a), natsrelay.Token(b)
		for _, tok := range []string{ta, tb} {
			require.NotEmpty(t, tok)
			require.False(t, strings.ContainsAny(tok, ". \t\r\n*>\x00"), "token %q is not a literal subject token", tok)
			for i := 0; i < len(tok); i++ {
				require.Less(t, tok[i], byte(0x80), "token %q is not ASCII", tok)
			}
		}
		if a != b {
			require.NotEqual(t, ta, tb, "%q and %q share a token", a, b)
		}
	})
}
