package quality

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openBoreNC(t *testing.T) NonConformance {
	t.Helper()
	nc, err := OpenNC(NonConformance{ID: "NC-1", What: "bore 10.062 mm above USL 10.050", Lot: "L-1", Step: "20",
		Qty: ea("5 ea"), DefectCodes: []DefectCount{{Code: "OVERSIZE", Count: 5}}}, "supervisor", t0)
	require.NoError(t, err)
	return nc
}

func TestNonConformanceLifecycle(t *testing.T) {
	nc := openBoreNC(t)
	assert.Equal(t, NCOpen, nc.Status)
	assert.Equal(t, "supervisor", nc.OpenedBy)

	d := Disposition{
		Lines: []DispositionLine{
			{Kind: Rework, Qty: ea("3 ea"), ToStep: "10"},
			{Kind: Scrap, Qty: ea("2 ea")},
		},
		Reason: "3 can be re-bored; 2 are beyond the rework allowance", By: "mrb", At: t0.Add(time.Hour),
	}
	done, orders, err := nc.ApplyDisposition(d)
	require.NoError(t, err)
	assert.Equal(t, NCDispositioned, done.Status)
	assert.Equal(t, []Order{
		{DispositionLine: DispositionLine{Kind: Rework, Qty: ea("3 ea"), ToStep: "10"}, Lot: "L-1", Step: "20"},
		{DispositionLine: DispositionLine{Kind: Scrap, Qty: ea("2 ea")}, Lot: "L-1", Step: "20"},
	}, orders)
	assert.Equal(t, Approval, DispositionSignature)
	assert.Equal(t, NCOpen, nc.Status, "the input record is not changed")

	_, _, err = done.ApplyDisposition(d)
	assert.ErrorIs(t, err, ErrWrongState, "a disposition is final")

	closed, err := done.Close("mrb", t0.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, NCClosed, closed.Status)
	_, err = closed.Close("mrb", t0.Add(3*time.Hour))
	assert.ErrorIs(t, err, ErrWrongState)
	_, err = nc.Close("mrb", t0.Add(3*time.Hour))
	assert.ErrorIs(t, err, ErrWrongState, "an open non-conformance must be dispositioned first")
	_, err = OpenNC(closed, "x", t0)
	assert.ErrorIs(t, err, ErrWrongState)
}

func TestDispositionProblems(t *testing.T) {
	nc := openBoreNC(t)
	tests := []struct {
		name  string
		d     Disposition
		paths []string
	}{
		{"nothing", Disposition{}, []string{"lines", "reason", "by", "at"}},
		{"lines wrong", Disposition{Lines: []DispositionLine{
			{Kind: Rework, Qty: ea("2 ea")},
			{Kind: Scrap, Qty: ea("1 ea"), ToStep: "10"},
			{Kind: "bin", Qty: ea("0 ea")},
			{Kind: UseAsIs, Qty: ea("1 kg")},
		}, Reason: "r", By: "b", At: t0}, []string{"lines[0].toStep", "lines[1].toStep", "lines[2].kind", "lines[2].qty", "lines[3].qty"}},
		{"does not add up", Disposition{Lines: []DispositionLine{{Kind: UseAsIs, Qty: ea("4 ea")}}, Reason: "r", By: "b", At: t0}, []string{"lines"}},
		{"before opening", Disposition{Lines: []DispositionLine{{Kind: ReturnToVendor, Qty: ea("5 ea")}}, Reason: "r", By: "b", At: t0.Add(-time.Hour)}, []string{"at"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := nc.ApplyDisposition(tt.d)
			assert.ErrorIs(t, err, ErrInvalidNonConformance)
			assert.ElementsMatch(t, tt.paths, problemPaths(t, err))
		})
	}
	// Repair and use-as-is lines that account for all 5 ea are accepted.
	_, _, err := nc.ApplyDisposition(Disposition{Lines: []DispositionLine{{Kind: Repair, Qty: ea("2 ea")}, {Kind: UseAsIs, Qty: ea("3 ea")}},
		Reason: "deviation D-7 approved", By: "mrb", At: t0})
	assert.NoError(t, err)
}

func TestOpenNCProblems(t *testing.T) {
	_, err := OpenNC(NonConformance{DefectCodes: []DefectCount{{Code: "", Count: 0}}}, "", time.Time{})
	assert.ElementsMatch(t, []string{"id", "what", "lot", "defectCodes[0]", "by", "at"}, problemPaths(t, err))

	_, err = OpenNC(NonConformance{ID: "NC-2", What: "x", Lot: "L-1", Qty: ea("0 ea")}, "s", t0)
	assert.ErrorIs(t, err, ErrInvalidNonConformance, "material needs a positive quantity")
	nc, err := OpenNC(NonConformance{ID: "NC-3", What: "fixture worn", Equipment: "CNC-2"}, "s", t0)
	require.NoError(t, err, "an equipment non-conformance needs no quantity")
	assert.Equal(t, NCOpen, nc.Status)
}

func TestHolds(t *testing.T) {
	lotHold, err := NewHold("H-1", Target{Kind: OnLot, ID: "L-1"}, "bore out of spec", "qc", t0)
	require.NoError(t, err)
	eqHold, err := NewHold("H-2", Target{Kind: OnEquipment, ID: "CNC-2"}, "SPC nelson-1", "system", t0)
	require.NoError(t, err)
	matHold, err := NewHold("H-3", Target{Kind: OnMaterial, ID: "SEAL-KIT", SupplierLot: "SUP-9"}, "supplier notice", "qc", t0)
	require.NoError(t, err)
	quarantine, err := NewHold("H-4", Target{Kind: OnMaterial, ID: "GREASE"}, "recall", "qc", t0)
	require.NoError(t, err)
	woHold, err := NewHold("H-5", Target{Kind: OnWorkOrder, ID: "WO-4711"}, "customer change", "planner", t0)
	require.NoError(t, err)
	holds := []Hold{lotHold, eqHold, matHold, quarantine, woHold}

	blockedBy := func(s Subject) []string {
		err := CheckHolds(holds, s)
		if err == nil {
			return nil
		}
		var he *OnHoldError
		require.ErrorAs(t, err, &he)
		require.ErrorIs(t, err, ErrOnHold)
		var ids []string
		for _, h := range he.Holds {
			ids = append(ids, h.ID)
		}
		return ids
	}
	assert.Equal(t, []string{"H-1", "H-2"}, blockedBy(Subject{Lot: "L-1", WorkOrder: "WO-1", Equipment: "CNC-2"}))
	assert.Nil(t, blockedBy(Subject{Lot: "L-2", WorkOrder: "WO-1", Equipment: "CNC-3"}))
	assert.Equal(t, []string{"H-5"}, blockedBy(Subject{Lot: "L-2", WorkOrder: "WO-4711"}))
	assert.Equal(t, []string{"H-3"}, blockedBy(Subject{Material: "SEAL-KIT", SupplierLot: "SUP-9"}))
	assert.Nil(t, blockedBy(Subject{Material: "SEAL-KIT", SupplierLot: "SUP-10"}))
	assert.Equal(t, []string{"H-4"}, blockedBy(Subject{Material: "GREASE", SupplierLot: "ANY"}), "a material hold without supplier lot quarantines all lots")
	assert.Nil(t, blockedBy(Subject{}))

	released, err := lotHold.Release("quality-manager", "re-measured in spec after rework", t0.Add(time.Hour))
	require.NoError(t, err)
	assert.False(t, released.Active())
	assert.True(t, lotHold.Active(), "the input hold is not changed")
	holds[0] = released
	assert.Equal(t, []string{"H-2"}, blockedBy(Subject{Lot: "L-1", Equipment: "CNC-2"}))
	_, err = released.Release("quality-manager", "again", t0.Add(2*time.Hour))
	assert.ErrorIs(t, err, ErrWrongState)
	assert.Equal(t, Approval, ReleaseSignature)

	_, err = eqHold.Release("", "", t0.Add(-time.Hour))
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Len(t, ve.Problems, 3, "by, note and a time before the hold")
	assert.Contains(t, CheckHolds(holds, Subject{Equipment: "CNC-2"}).Error(), "H-2 on equipment CNC-2 (SPC nelson-1, placed by system)")
}

func TestNewHoldProblems(t *testing.T) {
	_, err := NewHold("", Target{Kind: "pallet"}, "", "", time.Time{})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.ErrorIs(t, err, ErrInvalidHold)
	assert.Len(t, ve.Problems, 6) // id, kind, target id, reason, by, at
	_, err = NewHold("H", Target{Kind: OnLot, ID: "L", SupplierLot: "S"}, "r", "b", t0)
	assert.ErrorIs(t, err, ErrInvalidHold)
}

// problemPaths returns the paths of the problems in a *ValidationError.
func problemPaths(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	paths := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		paths[i] = p.Path
	}
	return paths
}

// A non-conformance of equipment that concerns no material is dispositioned (repair, or
// use as is) with lines that carry no quantity either; it was stuck open for ever.
func TestEquipmentNonConformanceWithoutQuantityIsDispositioned(t *testing.T) {
	nc, err := OpenNC(NonConformance{ID: "NC-3", What: "fixture worn", Equipment: "CNC-2"}, "s", t0)
	require.NoError(t, err)
	done, orders, err := nc.ApplyDisposition(Disposition{Lines: []DispositionLine{{Kind: Repair}}, Reason: "replace the fixture", By: "mrb", At: t0})
	require.NoError(t, err)
	assert.Equal(t, NCDispositioned, done.Status)
	assert.Len(t, orders, 1)
	_, err = done.Close("mrb", t0)
	assert.NoError(t, err)

	_, _, err = nc.ApplyDisposition(Disposition{Lines: []DispositionLine{{Kind: Scrap, Qty: ea("1 ea")}}, Reason: "r", By: "mrb", At: t0})
	assert.Equal(t, []string{"lines[0].qty"}, problemPaths(t, err), "no material, so no quantity to decide on")
}
