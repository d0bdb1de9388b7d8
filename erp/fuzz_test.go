package erp_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/taktmes/takt/erp"
)

// fuzzImport checks that an import never panics and fails only with the typed
// multi-problem error: a document that passed validation must not fail when executed.
func fuzzImport(f *testing.F, seeds []string, imp func(data []byte) error) {
	for _, name := range seeds {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := imp(data)
		if err == nil {
			return
		}
		var ve *erp.ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) == 0 || !errors.Is(err, erp.ErrInvalid) {
			t.Fatalf("import failed with %T, not a *ValidationError listing problems: %v", err, err)
		}
	})
}

func FuzzImportB2MML(f *testing.F) {
	fx := newPlant(f)
	f.Add([]byte(`<ProductionSchedule><ProductionRequest><ID>1</ID><RequestState>Released</RequestState></ProductionRequest></ProductionSchedule>`))
	f.Add([]byte(`<SyncMaterialInformation><DataArea><MaterialInformation><MaterialDefinition><ID>X</ID></MaterialDefinition></MaterialInformation></DataArea></SyncMaterialInformation>`))
	fuzzImport(f, []string{"materials.xml", "routing.xml", "schedule.xml", "invalid_schedule.xml"}, func(data []byte) error {
		_, err := erp.ImportB2MML(ctx, fx.plant, bytes.NewReader(data), opts)
		return err
	})
}

func FuzzImportJSON(f *testing.F) {
	fx := newPlant(f)
	f.Add([]byte(`{"orders": [{"id": "1", "product": "P", "qty": "1e3 ea", "release": true}]}`))
	f.Add([]byte(`{"routings": [{"id": "R", "revision": "1", "product": "PUMP-100", "operations": [{"id": "10", "run_per_unit": "P1W2DT3H4M5.5S"}]}]}`))
	fuzzImport(f, []string{"import.json"}, func(data []byte) error {
		_, err := erp.ImportJSON(ctx, fx.plant, bytes.NewReader(data), opts)
		return err
	})
}
