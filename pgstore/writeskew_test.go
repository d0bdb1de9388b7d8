package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/units"
)

// TestHoldRacingATrackIn: a track-in has read the holds (none) and not yet committed when
// another process places a hold on the lot, its work order or the equipment. The track-in
// only read the holds, so no version of its own protects it: the store must still run the
// two as if one after the other. Either the track-in comes first in the log, or it sees the
// hold and fails with ErrOnHold; a track-in after the hold that ignored it is a held lot
// moved.
func TestHoldRacingATrackIn(t *testing.T) {
	tests := []struct {
		name   string
		target func(lot mes.Lot) quality.Target
	}{
		{"lot", func(lot mes.Lot) quality.Target { return quality.Target{Kind: quality.OnLot, ID: lot.ID} }},
		{"work order", func(lot mes.Lot) quality.Target { return quality.Target{Kind: quality.OnWorkOrder, ID: lot.WorkOrder} }},
		{"equipment", func(mes.Lot) quality.Target { return quality.Target{Kind: quality.OnEquipment, ID: "WC"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			p, s := openPlant(t)
			require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "P", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, planner))
			wo, err := p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "S1", Number: "4711", Product: "P", Qty: units.MustParse("10 ea")}, planner)
			require.NoError(t, err)
			_, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
			require.NoError(t, err)
			lot, err := p.StartLot(ctx, wo.ID, units.MustParse("10 ea"), planner)
			require.NoError(t, err)
			holder, err := mes.Open(ctx, openSchema(t, s.Schema())) // another process
			require.NoError(t, err)

			read, resume := make(chan uint32), make(chan struct{})
			paused := false
			tracker, err := mes.Open(ctx, hookStore{Store: openSchema(t, s.Schema()), afterList: func(tx store.Tx, q store.Query) {
				if q.Kind == "hold" && !paused { // the track-in has read the holds: none
					paused = true
					read <- backendPID(tx)
					<-resume
				}
			}})
			require.NoError(t, err)
			tracked := make(chan error, 1)
			go func() {
				_, err := tracker.TrackIn(ctx, lot.ID, "10", units.Quantity{}, planner)
				tracked <- err
			}()
			pid := <-read
			placed := make(chan error, 1)
			go func() {
				_, err := holder.PlaceHold(ctx, "S1", tc.target(lot), "suspect", planner)
				placed <- err
			}()
			// The hold commits meanwhile, or (a store that runs writers one at a time) waits
			// for the track-in; either way the track-in then goes on.
			var holdErr error
			waited := false
			select {
			case holdErr = <-placed:
			case <-blockedBy(ctx, t, s, pid):
				waited = true
			}
			close(resume)
			trackErr := <-tracked
			if waited {
				holdErr = <-placed
			}
			require.NoError(t, holdErr)

			var holdAt, trackAt uint64
			evs, err := s.ReadEvents(ctx, 0, 0)
			require.NoError(t, err)
			for _, e := range evs {
				switch e.Type {
				case "hold.placed":
					holdAt = e.Position
				case "lot.tracked_in":
					trackAt = e.Position
				}
			}
			require.NotZero(t, holdAt)
			if trackErr != nil {
				assert.ErrorIs(t, trackErr, mes.ErrOnHold)
				assert.Zero(t, trackAt)
				return
			}
			assert.Less(t, trackAt, holdAt, "the track-in committed after the hold it did not see (event %d, hold at %d)", trackAt, holdAt)
		})
	}
}

// backendPID returns the PostgreSQL backend process of a transaction of Update.
func backendPID(tx store.Tx) uint32 {
	return tx.(*writeTx).conn.Conn().PgConn().PID()
}

// blockedBy returns a channel closed once a session of the database waits for a lock that
// the backend pid holds (or ctx ends, or the test does).
func blockedBy(ctx context.Context, t *testing.T, s *Store, pid uint32) <-chan struct{} {
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		for ctx.Err() == nil {
			var blocked bool
			err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE $1::int = ANY (pg_blocking_pids(pid)))", int32(pid)).Scan(&blocked)
			if err != nil || blocked {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return ch
}
