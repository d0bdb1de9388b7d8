package relay_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/relay"
)

func TestCloudEvent(t *testing.T) {
	e := mes.Event{Position: 42, Type: "workorder.released", Site: "PLANT-1", Subject: "wo-1",
		Time: time.Date(2026, 11, 23, 7, 30, 0, 5, time.FixedZone("CET", 3600)), Actor: "pat",
		Data: json.RawMessage(`{"ID":"wo-1","Number":"4711"}`)}
	got, err := relay.CloudEvent(e, "urn:takt:plant-a")
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"specversion": "1.0",
		"id": "42",
		"source": "urn:takt:plant-a",
		"type": "io.takt.workorder.released",
		"subject": "wo-1",
		"time": "2026-11-23T06:30:00.000000005Z",
		"datacontenttype": "application/json",
		"taktsite": "PLANT-1",
		"taktactor": "pat",
		"data": {"ID": "wo-1", "Number": "4711"}
	}`, string(got))
}

func TestCloudEventOmitsEmptyOptionalAttributes(t *testing.T) {
	got, err := relay.CloudEvent(mes.Event{Position: 1, Type: "equipment.defined", Time: time.Unix(0, 0)}, "/plant")
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(got, &m))
	for _, absent := range []string{"subject", "taktsite", "taktactor", "data"} {
		assert.NotContains(t, m, absent)
	}
	assert.Equal(t, "1970-01-01T00:00:00Z", m["time"])
}

func TestCloudEventRejectsWhatItCannotEncode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		event  mes.Event
		source string
		want   []string
	}{
		{"no source", mes.Event{Position: 1, Type: "x"}, "", []string{"source is empty"}},
		{"everything wrong", mes.Event{Data: json.RawMessage(`{`)}, "", []string{"source is empty", "has no type", "position 0", "not valid JSON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := relay.CloudEvent(tc.event, tc.source)
			require.ErrorIs(t, err, relay.ErrInvalid)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// FuzzCloudEvent checks that any event either encodes to a CloudEvent that decodes back to
// the same attributes, or is rejected with ErrInvalid; never a panic.
func FuzzCloudEvent(f *testing.F) {
	f.Add(uint64(1), "workorder.released", "PLANT-1", "wo-1", "pat", `{"a":1}`, "urn:takt:a")
	f.Add(uint64(0), "", "", "", "", `{`, "")
	f.Add(uint64(18446744073709551615), "x\u00e9\"\\", "s\x00", "\n", "\t", `null`, "/")
	f.Fuzz(func(t *testing.T, pos uint64, typ, site, subject, actor, data, source string) {
		e := mes.Event{Position: pos, Type: typ, Site: site, Subject: subject, Actor: actor, Time: time.Unix(int64(pos%1e9), 0), Data: json.RawMessage(data)}
		got, err := relay.CloudEvent(e, source)
		if err != nil {
			require.ErrorIs(t, err, relay.ErrInvalid)
			return
		}
		var back struct {
			SpecVersion, ID, Source, Type, Subject, Taktsite, Taktactor string
			Data                                                        json.RawMessage
		}
		require.NoError(t, json.Unmarshal(got, &back))
		assert.Equal(t, "1.0", back.SpecVersion)
		assert.Equal(t, relay.ID(e), back.ID)
		assert.Equal(t, relay.TypePrefix+string([]rune(typ)), back.Type)
		// encoding/json replaces invalid UTF-8 with U+FFFD; compare what survives that.
		assert.Equal(t, string([]rune(source)), back.Source)
		assert.Equal(t, string([]rune(subject)), back.Subject)
		assert.Equal(t, string([]rune(site)), back.Taktsite)
		if data != "" {
			assert.True(t, json.Valid(back.Data))
		}
	})
}

func BenchmarkCloudEvent(b *testing.B) {
	e := mes.Event{Position: 42, Type: "workorder.released", Site: "PLANT-1", Subject: "wo-1", Time: time.Now(), Actor: "pat",
		Data: json.RawMessage(`{"ID":"0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b","Number":"4711","Routing":"PUMP-100","RoutingRevision":"C"}`)}
	for b.Loop() {
		if _, err := relay.CloudEvent(e, "urn:takt:plant-a"); err != nil {
			b.Fatal(err)
		}
	}
}
