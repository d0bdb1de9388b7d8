package routing

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/units"
)

// TestDigestStepMirrorsStep keeps digestStep the same as Step but for the decimals' type:
// a field added to Step must be added to the digest too.
func TestDigestStepMirrorsStep(t *testing.T) {
	st, dt := reflect.TypeFor[Step](), reflect.TypeFor[digestStep]()
	require.Equal(t, st.NumField(), dt.NumField())
	for i := range st.NumField() {
		s, d := st.Field(i), dt.Field(i)
		assert.Equal(t, s.Name, d.Name)
		assert.Equal(t, s.Tag, d.Tag, s.Name)
		if s.Type == reflect.TypeFor[decimal.Decimal]() {
			assert.Equal(t, reflect.TypeFor[canonicalDecimal](), d.Type, s.Name)
		} else {
			assert.Equal(t, s.Type, d.Type, s.Name)
		}
	}
}

// everyField is a routing whose one step sets every field, each to its own value.
func everyField() *Routing {
	return &Routing{ID: "R", Product: "P", Revision: "A", Steps: []Step{{
		ID: "10", Name: "Mill <&>", WorkCenter: "WC-1", Alternates: []string{"WC-2"}, EquipmentClass: "CNC",
		Setup: time.Minute, RunPerUnit: 90 * time.Second, Qualification: "Q-1",
		Materials:      []Material{{Component: "C", PerUnit: units.MustParse("2.50 kg"), LotTracked: true, Backflush: true}},
		InspectionPlan: "IP-1", Instructions: "do it", InstructionsURL: "https://wi/1", Parameters: map[string]string{"b": "2", "a": "1"},
		SetupFamily: "F", Optional: true, TransferQty: units.MustParse("5 ea"),
		ExpectedYield: decimal.RequireFromString("0.980"), YieldTolerance: decimal.RequireFromString("0.01"),
		Successors: []string{End}, Condition: `"END"`, Join: true, ReworkEntry: true,
	}}}
}

// TestDigestIsTheDefinitionsJSON: the digest is the SHA-256 of the definition's JSON as
// encoding/json writes it with decimal's default settings, as it was when digests were
// first stored, so routings released before keep their digest.
func TestDigestIsTheDefinitionsJSON(t *testing.T) {
	r := everyField()
	b, err := json.Marshal(struct {
		ID, Product, Revision string
		Steps                 []Step
	}{r.ID, r.Product, r.Revision, r.Steps})
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	assert.Equal(t, hex.EncodeToString(sum[:]), r.digest())
}

// TestDigestIgnoresDecimalSettings: a process that changes shopspring's formatting globals
// still validates the routings it released before, and releases the same digests.
func TestDigestIgnoresDecimalSettings(t *testing.T) {
	r := pump(t)
	r.Steps[0].ExpectedYield, r.Steps[0].YieldTolerance = decimal.RequireFromString("0.980"), decimal.RequireFromString("0.02")
	require.NoError(t, r.Release())
	want := everyField().digest()
	defer func(trim, sci, quotes bool) {
		decimal.TrimTrailingZeros, decimal.UseScientificNotation, decimal.MarshalJSONWithoutQuotes = trim, sci, quotes
	}(decimal.TrimTrailingZeros, decimal.UseScientificNotation, decimal.MarshalJSONWithoutQuotes)
	decimal.TrimTrailingZeros, decimal.UseScientificNotation, decimal.MarshalJSONWithoutQuotes = false, true, true
	require.NoError(t, r.Validate())
	assert.Equal(t, want, everyField().digest())
}
