package equipment

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDecideInterlock(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lots   []TrackedLot
		block  bool
		reason InterlockReason
		msg    string
	}{
		{"no lot", nil, true, NoLotTrackedIn, "no lot is tracked in"},
		{"lot running", []TrackedLot{{ID: "L1"}}, false, "", "may run: lot L1"},
		{"lot held", []TrackedLot{{ID: "L1", Held: true}}, true, LotHeld, "lot L1 on hold"},
		{"one of several held", []TrackedLot{{ID: "L1"}, {ID: "L2", Held: true}, {ID: "L3", Held: true}}, true, LotHeld, "lot L2, L3 on hold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := DecideInterlock("CNC-1", tc.lots)
			assert.Equal(t, "CNC-1", d.Equipment)
			assert.Equal(t, tc.block, d.Block)
			assert.Equal(t, tc.reason, d.Reason)
			assert.Contains(t, d.Message, tc.msg)
		})
	}
}
