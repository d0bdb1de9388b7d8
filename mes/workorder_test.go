package mes_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

func TestWorkOrderLifecycle(t *testing.T) {
	f := newPlant(t)
	p := f.plant
	wo, err := p.CreateWorkOrder(ctx, newOrder("4711"), erp)
	require.NoError(t, err)
	assert.Equal(t, mes.StatusCreated, wo.Status)
	assert.Equal(t, "0 ea", wo.Produced.String())

	f.clock.Advance(1)
	wo, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	assert.Equal(t, mes.StatusReleased, wo.Status)
	assert.Equal(t, f.clock.Now(), wo.ReleasedAt)

	wo, err = p.StartWorkOrder(ctx, wo.ID, operator)
	require.NoError(t, err)
	assert.Equal(t, mes.StatusRunning, wo.Status)
	wo, err = p.CompleteWorkOrder(ctx, wo.ID, operator)
	require.NoError(t, err)
	assert.Equal(t, mes.StatusCompleted, wo.Status)
	wo, err = p.CloseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	assert.Equal(t, mes.StatusClosed, wo.Status)

	got, err := p.WorkOrder(ctx, wo.ID)
	require.NoError(t, err)
	assert.Equal(t, wo.Status, got.Status)
	assert.Equal(t, wo.Version, got.Version)

	evs, err := p.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	var types []string
	for _, e := range evs {
		if e.Subject == wo.ID {
			types = append(types, e.Type)
			require.NotNil(t, e.Payload, e.Type)
		}
	}
	assert.Equal(t, []string{"workorder.created", "workorder.released", "workorder.started", "workorder.completed", "workorder.closed"}, types)
	released := evs[len(evs)-4].Payload.(*mes.WorkOrderReleased)
	assert.Equal(t, "4711", released.Number)

	n, err := p.VerifyAudit(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(5+1+5), n, "5 equipment definitions, a routing and 5 work order commands")
}

func TestWorkOrderQueries(t *testing.T) {
	f := newPlant(t)
	p := f.plant
	a, err := p.CreateWorkOrder(ctx, newOrder("A"), erp)
	require.NoError(t, err)
	_, err = p.CreateWorkOrder(ctx, newOrder("B"), erp)
	require.NoError(t, err)
	other := newOrder("A")
	other.Site = "PLANT-2"
	_, err = p.CreateWorkOrder(ctx, other, erp) // the same number in another site is fine
	require.NoError(t, err)
	_, err = p.ReleaseWorkOrder(ctx, a.ID, planner)
	require.NoError(t, err)

	byNumber, err := p.WorkOrderByNumber(ctx, "PLANT-1", "A")
	require.NoError(t, err)
	assert.Equal(t, a.ID, byNumber.ID)
	released, err := p.WorkOrders(ctx, "PLANT-1", mes.StatusReleased)
	require.NoError(t, err)
	require.Len(t, released, 1)
	assert.Equal(t, "A", released[0].Number)
	all, err := p.WorkOrders(ctx, "PLANT-1", "")
	require.NoError(t, err)
	assert.Len(t, all, 2)
	site2, err := p.WorkOrders(ctx, "PLANT-2", "")
	require.NoError(t, err)
	assert.Len(t, site2, 1)
	_, err = p.WorkOrderByNumber(ctx, "PLANT-2", "B")
	assert.ErrorIs(t, err, mes.ErrNotFound)
}

// TestBadInputChangesNothing: every bad input returns a typed error and leaves the store
// exactly as it was.
func TestBadInputChangesNothing(t *testing.T) {
	f := newPlant(t)
	p := f.plant
	created, err := p.CreateWorkOrder(ctx, newOrder("4711"), erp)
	require.NoError(t, err)
	withExt := newOrder("4712")
	withExt.ExternalID = "SAP-1"
	_, err = p.CreateWorkOrder(ctx, withExt, erp)
	require.NoError(t, err)

	badQty := newOrder("X1")
	badQty.Qty = units.MustParse("-5 ea")
	noUnit := newOrder("X2")
	noUnit.Qty = units.Quantity{}
	multi := mes.NewWorkOrder{}
	dupExt := newOrder("X3")
	dupExt.ExternalID = "SAP-1"
	unknownSite := newOrder("X4")
	unknownSite.Site = "MARS"
	areaAsSite := newOrder("X5")
	areaAsSite.Site = "MACHINING"

	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"negative quantity", func() error { _, err := p.CreateWorkOrder(ctx, badQty, erp); return err }, mes.ErrInvalid},
		{"missing quantity", func() error { _, err := p.CreateWorkOrder(ctx, noUnit, erp); return err }, mes.ErrInvalid},
		{"everything missing", func() error { _, err := p.CreateWorkOrder(ctx, multi, erp); return err }, mes.ErrInvalid},
		{"duplicate number", func() error { _, err := p.CreateWorkOrder(ctx, newOrder("4711"), erp); return err }, mes.ErrDuplicate},
		{"duplicate external id", func() error { _, err := p.CreateWorkOrder(ctx, dupExt, erp); return err }, mes.ErrDuplicate},
		{"unknown site", func() error { _, err := p.CreateWorkOrder(ctx, unknownSite, erp); return err }, mes.ErrNotFound},
		{"site that is an area", func() error { _, err := p.CreateWorkOrder(ctx, areaAsSite, erp); return err }, mes.ErrNotFound},
		{"missing actor", func() error { _, err := p.CreateWorkOrder(ctx, newOrder("X6")); return err }, mes.ErrMissingActor},
		{"unknown id", func() error { _, err := p.ReleaseWorkOrder(ctx, "nope", planner); return err }, mes.ErrNotFound},
		{"wrong state: start before release", func() error { _, err := p.StartWorkOrder(ctx, created.ID, operator); return err }, mes.ErrWrongState},
		{"wrong state: close before completion", func() error { _, err := p.CloseWorkOrder(ctx, created.ID, planner); return err }, mes.ErrWrongState},
		{"cancel without reason", func() error { _, err := p.CancelWorkOrder(ctx, created.ID, planner); return err }, mes.ErrInvalid},
		{"priority out of range", func() error { _, err := p.SetWorkOrderPriority(ctx, created.ID, 5000, planner); return err }, mes.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := takeSnapshot(t, f.store)
			err := c.run()
			require.Error(t, err)
			assert.ErrorIs(t, err, c.want, err.Error())
			assert.Equal(t, before, takeSnapshot(t, f.store), "a failed command must change nothing")
		})
	}

	_, err = p.CreateWorkOrder(ctx, multi, erp)
	var verr *mes.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Len(t, verr.Problems, 4, "every problem is listed: %v", err)
}

func TestTransitionErrorNamesBothStates(t *testing.T) {
	f := newPlant(t)
	wo, err := f.plant.CreateWorkOrder(ctx, newOrder("4711"), erp)
	require.NoError(t, err)
	_, err = f.plant.CompleteWorkOrder(ctx, wo.ID, operator)
	var te *mes.TransitionError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "created", te.State)
	assert.Equal(t, "complete", te.Command)
	assert.Contains(t, err.Error(), "work order 4711")
	assert.Contains(t, err.Error(), "running")
}

func TestIdempotentRetryReturnsFirstResult(t *testing.T) {
	f := newPlant(t)
	p := f.plant
	first, err := p.CreateWorkOrder(ctx, newOrder("4711"), erp, mes.IdempotencyKey("erp-4711"))
	require.NoError(t, err)
	before := takeSnapshot(t, f.store)
	f.clock.Advance(5)
	again, err := p.CreateWorkOrder(ctx, newOrder("4711"), erp, mes.IdempotencyKey("erp-4711"))
	require.NoError(t, err, "a retry is not a duplicate")
	assert.Equal(t, first.ID, again.ID)
	assert.Equal(t, first.CreatedAt, again.CreatedAt)
	assert.Equal(t, before, takeSnapshot(t, f.store), "a retry changes nothing")

	_, err = p.ReleaseWorkOrder(ctx, first.ID, erp, mes.IdempotencyKey("erp-4711"))
	assert.ErrorIs(t, err, mes.ErrIdempotencyKeyReused)

	rel1, err := p.ReleaseWorkOrder(ctx, first.ID, planner, mes.IdempotencyKey("rel-1"))
	require.NoError(t, err)
	rel2, err := p.ReleaseWorkOrder(ctx, first.ID, planner, mes.IdempotencyKey("rel-1"))
	require.NoError(t, err, "a retried release succeeds although the order is no longer created")
	assert.Equal(t, rel1.Version, rel2.Version)
}

func TestIdempotencyUnderConcurrentRetries(t *testing.T) {
	f := newPlant(t)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wo, err := f.plant.CreateWorkOrder(ctx, newOrder("4711"), erp, mes.IdempotencyKey("k"))
			assert.NoError(t, err)
			ids[i] = wo.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		assert.Equal(t, ids[0], id)
	}
	all, err := f.plant.WorkOrders(ctx, "PLANT-1", "")
	require.NoError(t, err)
	assert.Len(t, all, 1)
}

func TestAuthorization(t *testing.T) {
	roles := mes.Roles{
		"admin":    {"*"},
		"planner":  {"workorder.*"},
		"operator": {"workorder.start", "workorder.complete"},
		"erp":      {"workorder.create"},
	}
	f := newPlant(t, mes.WithAuthorizer(roles))
	p := f.plant
	wo, err := p.CreateWorkOrder(ctx, newOrder("4711"), erp)
	require.NoError(t, err)
	before := takeSnapshot(t, f.store)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, operator)
	require.ErrorIs(t, err, mes.ErrUnauthorized)
	assert.Contains(t, err.Error(), "olga")
	assert.Contains(t, err.Error(), "workorder.release")
	assert.Equal(t, before, takeSnapshot(t, f.store))
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)

	scoped := mes.By(mes.Actor{ID: "sam", Kind: mes.Person, Roles: []string{"planner@PLANT-2"}})
	_, err = p.StartWorkOrder(ctx, wo.ID, scoped)
	assert.ErrorIs(t, err, mes.ErrUnauthorized, "a role scoped to PLANT-2 does not reach PLANT-1")
}

// verifier accepts the password "secret-<id>" for each known person.
type verifier map[string]mes.Signer

func (v verifier) VerifySignature(_ context.Context, c mes.Credentials) (mes.Signer, error) {
	s, ok := v[c.SignerID]
	if !ok || c.Secret != "secret-"+c.SignerID {
		return mes.Signer{}, errors.New("unknown signer or wrong password")
	}
	return s, nil
}

func TestElectronicSignatures(t *testing.T) {
	roles := mes.Roles{"admin": {"*"}, "planner": {"workorder.*"}, "erp": {"workorder.create"}, "qa": {"workorder.release"}}
	v := verifier{
		"quinn": {ID: "quinn", Name: "Quinn QA", Roles: []string{"qa"}},
		"eve":   {ID: "eve", Name: "Eve Erp", Roles: []string{"erp"}},
	}
	f := newPlant(t, mes.WithAuthorizer(roles), mes.WithSignatureVerifier(v), mes.WithSignatureRequired("workorder.release", mes.Approval))
	p := f.plant
	wo, err := p.CreateWorkOrder(ctx, newOrder("4711"), erp)
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		opts []mes.CommandOption
		want error
	}{
		"no signature":       {nil, mes.ErrSignatureRequired},
		"wrong password":     {[]mes.CommandOption{mes.SignedBy(mes.Credentials{SignerID: "quinn", Secret: "guess", Meaning: mes.Approval})}, mes.ErrSignatureInvalid},
		"wrong meaning":      {[]mes.CommandOption{mes.SignedBy(mes.Credentials{SignerID: "quinn", Secret: "secret-quinn", Meaning: mes.Review})}, mes.ErrSignatureRequired},
		"signer lacks right": {[]mes.CommandOption{mes.SignedBy(mes.Credentials{SignerID: "eve", Secret: "secret-eve", Meaning: mes.Approval})}, mes.ErrSignatureInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			before := takeSnapshot(t, f.store)
			_, err := p.ReleaseWorkOrder(ctx, wo.ID, append([]mes.CommandOption{planner}, tc.opts...)...)
			assert.ErrorIs(t, err, tc.want)
			assert.Equal(t, before, takeSnapshot(t, f.store))
		})
	}

	_, err = p.ReleaseWorkOrder(ctx, wo.ID, planner, mes.Reason("material arrived"),
		mes.SignedBy(mes.Credentials{SignerID: "quinn", Secret: "secret-quinn", Meaning: mes.Approval}))
	require.NoError(t, err)
	trail, err := p.AuditTrail(ctx, 0, 0)
	require.NoError(t, err)
	last := trail[len(trail)-1]
	assert.Equal(t, "workorder.release", last.Action)
	assert.Equal(t, "pat", last.Actor)
	assert.Equal(t, "material arrived", last.Reason)
	require.Len(t, last.Signatures, 1)
	sig := last.Signatures[0]
	assert.Equal(t, "Quinn QA", sig.SignerName)
	assert.Equal(t, "approval", sig.Meaning)
	assert.Equal(t, f.clock.Now(), sig.Time)
	assert.Equal(t, last.Content(), sig.Digest, "the signature is bound to the record's content")
	_, err = p.VerifyAudit(ctx)
	require.NoError(t, err)
}

func TestOpenNeedsVerifierForRequiredSignatures(t *testing.T) {
	_, err := mes.Open(ctx, newPlant(t).store, mes.WithSignatureRequired("workorder.release", mes.Approval))
	assert.ErrorIs(t, err, mes.ErrInvalid)
}

// Open refuses options that would leave the engine without a clock, an authorizer or an
// id generator (each a crash or a silent "allow everything" at the first command); a nil
// logger means the default, which discards.
func TestOpenRefusesNilOptions(t *testing.T) {
	for name, opt := range map[string]mes.Option{
		"clock":      mes.WithClock(nil),
		"authorizer": mes.WithAuthorizer(nil),
		"ids":        mes.WithIDs(nil),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := mes.Open(ctx, memstore.New(), opt)
			assert.ErrorIs(t, err, mes.ErrInvalid)
		})
	}
	p, err := mes.Open(ctx, memstore.New(), mes.WithLogger(nil))
	require.NoError(t, err)
	assert.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "P", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, planner))
}

// tamperingStore returns audit records changed by tamper, as a database edited behind
// Takt's back would.
type tamperingStore struct {
	store.Store
	tamper func([]store.AuditRecord) []store.AuditRecord
}

func (s tamperingStore) ReadAudit(ctx context.Context, after uint64, limit int) ([]store.AuditRecord, error) {
	recs, err := s.Store.ReadAudit(ctx, after, 0)
	if err != nil || after > 0 {
		return nil, err
	}
	return s.tamper(recs), nil
}

func TestVerifyAuditDetectsTampering(t *testing.T) {
	f := newPlant(t)
	wo, err := f.plant.CreateWorkOrder(ctx, newOrder("4711"), erp)
	require.NoError(t, err)
	_, err = f.plant.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	_, err = f.plant.StartWorkOrder(ctx, wo.ID, operator)
	require.NoError(t, err)
	// records 1-5 define equipment, 6 publishes the routing; 7 create, 8 release, 9 start.
	cases := map[string]struct {
		tamper func([]store.AuditRecord) []store.AuditRecord
		want   string
	}{
		"modified": {func(r []store.AuditRecord) []store.AuditRecord { r[7].Actor = "mallory"; return r }, "record 8"},
		"deleted":  {func(r []store.AuditRecord) []store.AuditRecord { return append(r[:7:7], r[8:]...) }, "record 9"},
		"reordered": {func(r []store.AuditRecord) []store.AuditRecord {
			r[7], r[8] = r[8], r[7]
			return r
		}, "record 9"},
		"modified and resealed": {func(r []store.AuditRecord) []store.AuditRecord {
			r[7].Reason = "covered up"
			store.Seal(&r[7], r[7].Seq, r[7].PrevHash)
			return r
		}, "record 9"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := mes.Open(ctx, tamperingStore{Store: f.store, tamper: c.tamper})
			require.NoError(t, err)
			_, err = p.VerifyAudit(ctx)
			require.ErrorIs(t, err, store.ErrTampered)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	n, err := f.plant.VerifyAudit(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(9), n)
}

func TestEventsFollowAndCheckpoint(t *testing.T) {
	f := newPlant(t)
	p := f.plant
	start, err := p.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	from := start[len(start)-1].Position

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan mes.Event, 10)
	go func() {
		for ev, err := range p.Events(cctx, from) {
			if err != nil {
				close(got)
				return
			}
			got <- ev
		}
	}()
	wo, err := p.CreateWorkOrder(ctx, newOrder("4711"), erp, mes.IdempotencyKey("erp-1"))
	require.NoError(t, err)
	ev := <-got
	assert.Equal(t, "workorder.created", ev.Type)
	assert.Equal(t, from+1, ev.Position)
	assert.Equal(t, "erp-1", ev.Command)
	assert.Equal(t, wo.ID, ev.Payload.(*mes.WorkOrderCreated).WorkOrder.ID)

	require.NoError(t, p.SaveCheckpoint(ctx, "erp-feed", ev.Position))
	require.NoError(t, p.SaveCheckpoint(ctx, "erp-feed", ev.Position-1), "an older checkpoint is ignored")
	cp, err := p.Checkpoint(ctx, "erp-feed")
	require.NoError(t, err)
	assert.Equal(t, ev.Position, cp)
	none, err := p.Checkpoint(ctx, "new-consumer")
	require.NoError(t, err)
	assert.Zero(t, none)
	cancel()
	for range got {
	}
}

func TestConcurrentCommandsOnOneOrder(t *testing.T) {
	f := newPlant(t)
	wo, err := f.plant.CreateWorkOrder(ctx, newOrder("4711"), erp)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.plant.SetWorkOrderPriority(ctx, wo.ID, i, planner)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	got, err := f.plant.WorkOrder(ctx, wo.ID)
	require.NoError(t, err)
	assert.Equal(t, uint64(17), got.Version, "every update applied, none lost")
	evs, err := f.plant.ReadEvents(ctx, 0, 0)
	require.NoError(t, err)
	changes := 0
	for _, e := range evs {
		if e.Type == "workorder.priority_changed" {
			changes++
		}
	}
	assert.Equal(t, 16, changes)
}

func TestCancelHeldOrder(t *testing.T) {
	f := newPlant(t)
	wo, err := f.plant.CreateWorkOrder(ctx, newOrder("4711"), erp)
	require.NoError(t, err)
	wo, err = f.plant.CancelWorkOrder(ctx, wo.ID, planner, mes.Reason("customer cancelled"))
	require.NoError(t, err)
	assert.Equal(t, mes.StatusCancelled, wo.Status)
	_, err = f.plant.ReleaseWorkOrder(ctx, wo.ID, planner)
	assert.ErrorIs(t, err, mes.ErrWrongState)
	assert.Contains(t, fmt.Sprint(err), "cancelled")
}

func TestHoldOverlaysWorkOrder(t *testing.T) {
	f := newPlant(t)
	p := f.plant
	wo, err := p.CreateWorkOrder(ctx, newOrder("4711"), erp)
	require.NoError(t, err)
	h, err := p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnWorkOrder, ID: wo.ID}, "engineering change pending", planner)
	require.NoError(t, err)
	before := takeSnapshot(t, f.store)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.ErrorIs(t, err, mes.ErrOnHold)
	var onHold *quality.OnHoldError
	require.ErrorAs(t, err, &onHold)
	assert.Equal(t, h.ID, onHold.Holds[0].ID)
	assert.Contains(t, err.Error(), "engineering change pending")
	assert.Equal(t, before, takeSnapshot(t, f.store))

	_, err = p.ReleaseHold(ctx, h.ID, planner)
	assert.ErrorIs(t, err, mes.ErrInvalid, "a release needs a reason")
	released, err := p.ReleaseHold(ctx, h.ID, planner, mes.Reason("change approved"))
	require.NoError(t, err)
	assert.False(t, released.Active())
	_, err = p.ReleaseHold(ctx, h.ID, planner, mes.Reason("again"))
	assert.ErrorIs(t, err, mes.ErrWrongState)
	wo, err = p.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	assert.Equal(t, mes.StatusReleased, wo.Status)

	holds, err := p.HoldsOn(ctx, "PLANT-1", quality.Target{Kind: quality.OnWorkOrder, ID: wo.ID})
	require.NoError(t, err)
	require.Len(t, holds, 1)
	assert.Equal(t, "pat", holds[0].ReleasedBy)
	active, err := p.ActiveHolds(ctx, "PLANT-1")
	require.NoError(t, err)
	assert.Empty(t, active)

	_, err = p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnWorkOrder, ID: "ghost"}, "x", planner)
	assert.ErrorIs(t, err, mes.ErrNotFound)
	_, err = p.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnWorkOrder, ID: wo.ID}, "", planner)
	assert.ErrorIs(t, err, mes.ErrInvalid)
}

func TestHoldReleaseNeedsSignatureWhenConfigured(t *testing.T) {
	v := verifier{"quinn": {ID: "quinn", Name: "Quinn QA"}}
	f := newPlant(t, mes.WithSignatureVerifier(v), mes.WithSignatureRequired("hold.release", mes.Approval))
	wo, err := f.plant.CreateWorkOrder(ctx, newOrder("4711"), erp)
	require.NoError(t, err)
	h, err := f.plant.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnWorkOrder, ID: wo.ID}, "suspect material", planner)
	require.NoError(t, err)
	_, err = f.plant.ReleaseHold(ctx, h.ID, planner, mes.Reason("retested OK"))
	require.ErrorIs(t, err, mes.ErrSignatureRequired)
	_, err = f.plant.ReleaseHold(ctx, h.ID, planner, mes.Reason("retested OK"), mes.SignedBy(mes.Credentials{SignerID: "quinn", Secret: "secret-quinn", Meaning: mes.Approval}))
	require.NoError(t, err)
	trail, err := f.plant.AuditTrail(ctx, 0, 0)
	require.NoError(t, err)
	last := trail[len(trail)-1]
	assert.Equal(t, "hold.release", last.Action)
	assert.Equal(t, "Quinn QA", last.Signatures[0].SignerName)
}

func TestAuditAnchorDetectsRemovedNewestRecords(t *testing.T) {
	f := newPlant(t)
	_, err := f.plant.CreateWorkOrder(ctx, newOrder("4711"), erp)
	require.NoError(t, err)
	anchor, err := f.plant.AuditAnchor(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(7), anchor.Records)
	n, err := f.plant.VerifyAuditAnchor(ctx, anchor)
	require.NoError(t, err)
	assert.Equal(t, uint64(7), n)

	truncated, err := mes.Open(ctx, tamperingStore{Store: f.store, tamper: func(r []store.AuditRecord) []store.AuditRecord { return r[:6] }})
	require.NoError(t, err)
	_, err = truncated.VerifyAudit(ctx)
	require.NoError(t, err, "a shorter chain alone still verifies")
	_, err = truncated.VerifyAuditAnchor(ctx, anchor)
	require.ErrorIs(t, err, store.ErrTampered)
	assert.Contains(t, err.Error(), "record 7 was anchored")

	rebuilt, err := mes.Open(ctx, tamperingStore{Store: f.store, tamper: func(r []store.AuditRecord) []store.AuditRecord {
		r[6].Reason = "rewritten"
		store.Seal(&r[6], r[6].Seq, r[6].PrevHash)
		return r
	}})
	require.NoError(t, err)
	_, err = rebuilt.VerifyAuditAnchor(ctx, anchor)
	require.ErrorIs(t, err, store.ErrTampered)
	assert.Contains(t, err.Error(), "record 7")
}

func TestDefineEquipmentChecksEverySite(t *testing.T) {
	roles := mes.Roles{"admin": {"*"}, "site1-admin": {"equipment.define"}}
	f := newPlant(t, mes.WithAuthorizer(roles))
	site1 := mes.By(mes.Actor{ID: "ann", Kind: mes.Person, Roles: []string{"site1-admin@PLANT-1"}})
	before := takeSnapshot(t, f.store)
	err := f.plant.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "MILL", Level: equipment.WorkCenter, Parent: "PLANT-1"},
		{ID: "PRESS", Level: equipment.WorkCenter, Parent: "PLANT-2"},
	}, site1)
	require.ErrorIs(t, err, mes.ErrUnauthorized, "the second item is in PLANT-2")
	assert.Equal(t, before, takeSnapshot(t, f.store))
	err = f.plant.DefineEquipment(ctx, []equipment.Equipment{{ID: "MACHINING", Level: equipment.Area, Parent: "PLANT-2"}}, site1)
	require.ErrorIs(t, err, mes.ErrUnauthorized, "moving an area out of PLANT-1 into PLANT-2")
	require.NoError(t, f.plant.DefineEquipment(ctx, []equipment.Equipment{{ID: "MILL", Level: equipment.WorkCenter, Parent: "PLANT-1"}}, site1))
}

func TestSignedSplitOfALotOnItsRouting(t *testing.T) {
	v := verifier{"sue": {ID: "sue", Name: "Sue Supervisor"}}
	f := newPlant(t, mes.WithSignatureVerifier(v), mes.WithSignatureRequired("lot.split", mes.Approval))
	require.NoError(t, f.plant.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, erp))
	wo, err := f.plant.CreateWorkOrder(ctx, newOrder("4711"), erp)
	require.NoError(t, err)
	_, err = f.plant.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	lot, err := f.plant.StartLot(ctx, wo.ID, units.MustParse("10 ea"), planner)
	require.NoError(t, err)
	child, err := f.plant.SplitLot(ctx, lot.ID, "10", units.MustParse("4 ea"), planner, mes.SignedBy(mes.Credentials{SignerID: "sue", Secret: "secret-sue", Meaning: mes.Approval}))
	require.NoError(t, err)
	assert.Equal(t, "4 ea", child.OnHand.String())
	trail, err := f.plant.AuditTrail(ctx, 0, 0)
	require.NoError(t, err)
	last := trail[len(trail)-1]
	require.Len(t, last.Signatures, 1, "one signature, recorded once")
	assert.Equal(t, "Sue Supervisor", last.Signatures[0].SignerName)
}

// TestFirstTrackInStartsAnOrderOnlyWithTheStartSignature: a site that makes starting an
// order a signed act gets the signature for the start a first track-in does, too.
func TestFirstTrackInStartsAnOrderOnlyWithTheStartSignature(t *testing.T) {
	roles := mes.Roles{"admin": {"*"}, "planner": {"workorder.*", "lot.*"}, "operator": {"lot.*"}, "super": {"workorder.start", "lot.*"}}
	v := verifier{"sue": {ID: "sue", Name: "Sue Supervisor", Roles: []string{"super"}}, "olga": {ID: "olga", Name: "Olga Operator", Roles: []string{"operator"}}}
	f := newPlant(t, mes.WithAuthorizer(roles), mes.WithSignatureVerifier(v), mes.WithSignatureRequired("workorder.start", mes.Approval))
	require.NoError(t, f.plant.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, mes.By(mes.Actor{ID: "admin", Kind: mes.Person, Roles: []string{"admin"}})))
	wo, err := f.plant.CreateWorkOrder(ctx, newOrder("4711"), planner)
	require.NoError(t, err)
	_, err = f.plant.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	lot, err := f.plant.StartLot(ctx, wo.ID, units.MustParse("10 ea"), planner)
	require.NoError(t, err)

	before := takeSnapshot(t, f.store)
	_, err = f.plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.ErrorIs(t, err, mes.ErrSignatureRequired)
	assert.Contains(t, err.Error(), "first track-in starts work order 4711")
	_, err = f.plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator, mes.SignedBy(mes.Credentials{SignerID: "olga", Secret: "secret-olga", Meaning: mes.Approval}))
	require.ErrorIs(t, err, mes.ErrSignatureInvalid, "Olga may track in but not start orders")
	assert.Equal(t, before, takeSnapshot(t, f.store))

	_, err = f.plant.TrackIn(ctx, lot.ID, "10", units.MustParse("4 ea"), operator, mes.SignedBy(mes.Credentials{SignerID: "sue", Secret: "secret-sue", Meaning: mes.Approval}))
	require.NoError(t, err)
	started, err := f.plant.WorkOrder(ctx, wo.ID)
	require.NoError(t, err)
	assert.Equal(t, mes.StatusRunning, started.Status)
	_, err = f.plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err, "the order runs: later track-ins need no signature")
}

func TestIdempotencyKeyOfAnotherActorIsRefused(t *testing.T) {
	f := newPlant(t)
	_, err := f.plant.CreateWorkOrder(ctx, newOrder("4711"), erp, mes.IdempotencyKey("k-1"))
	require.NoError(t, err)
	other := newOrder("4712")
	other.Site = "PLANT-2"
	_, err = f.plant.CreateWorkOrder(ctx, other, planner, mes.IdempotencyKey("k-1"))
	assert.ErrorIs(t, err, mes.ErrIdempotencyKeyReused, "another sender's key never returns its result")
}

// eventTampering returns events changed by tamper, as a database edited behind Takt's back
// would.
type eventTampering struct {
	store.Store
	tamper func([]store.Event) []store.Event
}

func (s eventTampering) ReadEvents(ctx context.Context, after uint64, limit int) ([]store.Event, error) {
	evs, err := s.Store.ReadEvents(ctx, after, 0)
	if err != nil || after > 0 {
		return nil, err
	}
	return s.tamper(evs), nil
}

func TestVerifyEventsDetectsTampering(t *testing.T) {
	f := newPlant(t)
	wo, err := f.plant.CreateWorkOrder(ctx, newOrder("4711"), erp)
	require.NoError(t, err)
	_, err = f.plant.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	n, err := f.plant.VerifyEvents(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(8), n)
	for name, c := range map[string]struct {
		tamper func([]store.Event) []store.Event
		want   string
	}{
		"modified":  {func(e []store.Event) []store.Event { e[6].Data = []byte(`{"forged":true}`); return e }, "event 7"},
		"deleted":   {func(e []store.Event) []store.Event { return append(e[:5:5], e[6:]...) }, "event 7"},
		"reordered": {func(e []store.Event) []store.Event { e[5], e[6] = e[6], e[5]; return e }, "event 7"},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := mes.Open(ctx, eventTampering{Store: f.store, tamper: c.tamper})
			require.NoError(t, err)
			_, err = p.VerifyEvents(ctx)
			require.ErrorIs(t, err, store.ErrTampered)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestAuditTextIsCheckedInEveryField(t *testing.T) {
	for name, opts := range map[string][]mes.CommandOption{
		"actor kind":        {mes.By(mes.Actor{ID: "pat", Kind: mes.ActorKind("person\xff")})},
		"signature meaning": {planner, mes.SignedBy(mes.Credentials{SignerID: "quinn", Secret: "secret-quinn", Meaning: mes.Meaning("approval\xff")})},
		"signer name":       {planner, mes.SignedBy(mes.Credentials{SignerID: "odd", Secret: "secret-odd", Meaning: mes.Approval})},
	} {
		t.Run(name, func(t *testing.T) {
			f := newPlant(t, mes.WithSignatureVerifier(verifier{"quinn": {ID: "quinn", Name: "Quinn QA"}, "odd": {ID: "odd", Name: "Od\x00d"}}))
			before := takeSnapshot(t, f.store)
			_, err := f.plant.CreateWorkOrder(ctx, newOrder("A"), opts...)
			require.ErrorIs(t, err, mes.ErrInvalid, "a JSON or SQL store would change the text, and the record would no longer match its hash")
			assert.Equal(t, before, takeSnapshot(t, f.store))
		})
	}
}

func TestMergingStartedLotsNeedsAReleasedOrder(t *testing.T) {
	f := newPlant(t)
	require.NoError(t, f.plant.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, erp))
	src := releasedOrder(t, f, "A")
	_, err := f.plant.StartLot(ctx, src.ID, units.MustParse("10 ea"), planner)
	require.NoError(t, err)
	dst, err := f.plant.CreateWorkOrder(ctx, newOrder("B"), erp)
	require.NoError(t, err)
	before := takeSnapshot(t, f.store)
	_, err = f.plant.MergeWorkOrders(ctx, dst.ID, src.ID, planner)
	require.ErrorIs(t, err, mes.ErrWrongState, "a created order has no routing pinned, and may not run lots")
	assert.Equal(t, before, takeSnapshot(t, f.store))
}

func TestSplitAndMergeAuditTheirBefores(t *testing.T) {
	f := newPlant(t)
	require.NoError(t, f.plant.DefineMaterial(ctx, genealogy.Material{ID: "PUMP-100", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, erp))
	dst := releasedOrder(t, f, "A")
	_, err := f.plant.SplitWorkOrder(ctx, dst.ID, "A-2", units.MustParse("1 dozen"), nil, planner)
	require.ErrorIs(t, err, mes.ErrInvalid, "the new order would be in dozen with books in ea")
	src, err := f.plant.SplitWorkOrder(ctx, dst.ID, "A-2", units.MustParse("20 ea"), nil, planner)
	require.NoError(t, err)
	_, err = f.plant.StartLot(ctx, src.ID, units.MustParse("5 ea"), planner)
	require.NoError(t, err)
	m, err := f.plant.MergeWorkOrders(ctx, dst.ID, src.ID, planner)
	require.NoError(t, err)
	require.Equal(t, mes.StatusRunning, m.Status)
	trail, err := f.plant.AuditTrail(ctx, 0, 0)
	require.NoError(t, err)
	changes := map[string][]store.Change{}
	for _, r := range trail {
		if r.Action == "workorder.merge" {
			changes[r.Object] = r.Changes
		}
	}
	into, from := changes["workorder/"+dst.ID], changes["workorder/"+src.ID]
	assert.Contains(t, into, store.Change{Field: "qty", Before: "30 ea", After: "50 ea"})
	assert.Contains(t, into, store.Change{Field: "status", Before: "released", After: "running"})
	assert.Contains(t, into, store.Change{Field: "started", Before: "0 ea", After: "5 ea"})
	assert.Contains(t, from, store.Change{Field: "qty", Before: "20 ea", After: "0 ea"})
	assert.Contains(t, from, store.Change{Field: "status", Before: "released", After: "cancelled"})
}

func TestEveryReadGivesTheCurrentVersion(t *testing.T) {
	f := newPlant(t)
	in := newOrder("A")
	in.ExternalID = "ERP-A"
	wo, err := f.plant.CreateWorkOrder(ctx, in, erp)
	require.NoError(t, err)
	wo, err = f.plant.ReleaseWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	require.Equal(t, uint64(2), wo.Version)
	byNum, err := f.plant.WorkOrderByNumber(ctx, "PLANT-1", "A")
	require.NoError(t, err)
	byExt, err := f.plant.WorkOrderByExternalID(ctx, "PLANT-1", "ERP-A")
	require.NoError(t, err)
	all, err := f.plant.WorkOrders(ctx, "PLANT-1", "")
	require.NoError(t, err)
	assert.Equal(t, wo.Version, byNum.Version, "by number")
	assert.Equal(t, wo.Version, byExt.Version, "by external id")
	assert.Equal(t, wo.Version, all[0].Version, "in a list (the stored value has the version it was saved over)")
}

func TestAKeyIsBoundToItsSubject(t *testing.T) {
	f := newPlant(t)
	a, err := f.plant.CreateWorkOrder(ctx, newOrder("A"), erp)
	require.NoError(t, err)
	b, err := f.plant.CreateWorkOrder(ctx, newOrder("B"), erp)
	require.NoError(t, err)
	first, err := f.plant.ReleaseWorkOrder(ctx, a.ID, planner, mes.IdempotencyKey("k"))
	require.NoError(t, err)
	again, err := f.plant.ReleaseWorkOrder(ctx, a.ID, planner, mes.IdempotencyKey("k"))
	require.NoError(t, err, "the same command again is answered with its first result")
	assert.Equal(t, first, again)
	_, err = f.plant.ReleaseWorkOrder(ctx, b.ID, planner, mes.IdempotencyKey("k"))
	require.ErrorIs(t, err, mes.ErrIdempotencyKeyReused, "it answered with A's result, and B stayed created")
	got, err := f.plant.WorkOrder(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, mes.StatusCreated, got.Status)
}

// TestAnOrderWithLotsOnTheirRoutingDoesNotComplete: completing an order whose lot still
// has quantity in process stranded it (no move is allowed on a completed order's lots)
// and reported the order ended with less produced than started; the lot must be finished
// or aborted first.
func TestAnOrderWithLotsOnTheirRoutingDoesNotComplete(t *testing.T) {
	f := plantWithPump(t)
	p := f.plant
	wo := releasedOrder(t, f, "4711")
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("10 ea"), planner)
	require.NoError(t, err)
	_, err = p.TrackIn(ctx, lot.ID, "10", units.Quantity{}, operator)
	require.NoError(t, err)

	before := takeSnapshot(t, f.store)
	_, err = p.CompleteWorkOrder(ctx, wo.ID, planner)
	require.ErrorIs(t, err, mes.ErrWrongState)
	assert.Contains(t, err.Error(), lot.ID)
	assert.Equal(t, before, takeSnapshot(t, f.store), "a refused completion changes nothing")

	_, err = p.AbortLot(ctx, lot.ID, planner, mes.Reason("order ends short"))
	require.NoError(t, err)
	done, err := p.CompleteWorkOrder(ctx, wo.ID, planner)
	require.NoError(t, err)
	assert.Equal(t, mes.StatusCompleted, done.Status)
}
