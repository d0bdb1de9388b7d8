package relay_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

var system = mes.By(mes.Actor{ID: "erp", Kind: mes.System})

type fixedClock struct{}

func (fixedClock) Now() time.Time { return time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC) }

// newPlant opens a plant on a memory store with site PLANT-1; defining it is event 1.
func newPlant(t testing.TB) *mes.Plant {
	t.Helper()
	p, err := mes.Open(context.Background(), memstore.New(), mes.WithClock(fixedClock{}))
	require.NoError(t, err)
	require.NoError(t, p.DefineEquipment(context.Background(), []equipment.Equipment{{ID: "PLANT-1", Level: equipment.Site}}, system))
	return p
}

// addEvents appends n events (work orders created) and returns the last position.
func addEvents(t testing.TB, p *mes.Plant, n int) uint64 {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		_, err := p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "PLANT-1", Number: fmt.Sprintf("WO-%d-%d", time.Now().UnixNano(), i),
			Product: "PUMP-100", Qty: units.MustParse("5 ea")}, system)
		require.NoError(t, err)
	}
	return lastPosition(t, p)
}

func lastPosition(t testing.TB, p *mes.Plant) uint64 {
	t.Helper()
	var last uint64
	for {
		evs, err := p.ReadEvents(context.Background(), last, 1000)
		require.NoError(t, err)
		if len(evs) == 0 {
			return last
		}
		last = evs[len(evs)-1].Position
	}
}

// waitCheckpoint waits until consumer's checkpoint reaches position.
func waitCheckpoint(t testing.TB, p *mes.Plant, consumer string, position uint64) {
	t.Helper()
	require.Eventually(t, func() bool {
		cp, err := p.Checkpoint(context.Background(), consumer)
		return err == nil && cp >= position
	}, 30*time.Second, 2*time.Millisecond, "checkpoint of %s never reached %d", consumer, position)
}
