package mes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store"
)

const routingKind = "routing"

// RoutingPublished: a routing revision was released for production in a site; Obsoleted
// names the revision it replaced, if any ("routing@revision" when it was another routing of
// the product: a site has one released routing per product).
type RoutingPublished struct {
	Site      string `json:"site"`
	ID        string `json:"id"`
	Product   string `json:"product"`
	Revision  string `json:"revision"`
	Digest    string `json:"digest"`
	Obsoleted string `json:"obsoleted"`
}

// EventType implements EventPayload.
func (RoutingPublished) EventType() string { return "routing.published" }

func init() { registerEvent(&RoutingPublished{}) }

func routingRecordID(site, id, revision string) string {
	return string(appendRoutingRecordID(nil, site, id, revision))
}

// appendRoutingRecordID appends the record id of a routing revision ("site/id@revision",
// each part escaped where it holds / or @, so that no two revisions share an id).
func appendRoutingRecordID(b []byte, site, id, revision string) []byte {
	return append(append(append(append(append(b, escapeIDPart(site)...), '/'), escapeIDPart(id)...), '@'), escapeIDPart(revision)...)
}

// escapeIDPart escapes s (as URL query text) when it holds a separator of record ids or %;
// other ids stay as they are, and cost nothing.
func escapeIDPart(s string) string {
	if !strings.ContainsAny(s, "/@%") {
		return s
	}
	return url.QueryEscape(s)
}

// PublishRouting releases a draft routing revision for production in site: it is
// validated (every problem listed), its work centers must exist in the site's equipment
// hierarchy, and it becomes immutable. The routing released before for the product (an
// earlier revision, or another routing of the product: a site releases one per product)
// becomes obsolete for new work orders; orders already released on it keep it.
// Plants that require a signature configure WithSignatureRequired("routing.publish", ...).
func (p *Plant) PublishRouting(ctx context.Context, site string, r *routing.Routing, opts ...CommandOption) (*routing.Routing, error) {
	return execute(ctx, p, "routing.publish", nil, opts, func(c *command) (*routing.Routing, error) {
		if r == nil {
			return nil, fmt.Errorf("%w: PublishRouting needs a routing", ErrInvalid)
		}
		if err := c.authorize(site); err != nil {
			return nil, err
		}
		if err := c.requireSite(site); err != nil {
			return nil, err
		}
		rt, err := copyRouting(r)
		if err != nil {
			return nil, err
		}
		if err := rt.Release(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if err := c.checkWorkCenters(site, rt); err != nil {
			return nil, err
		}
		obsoleted := ""
		// One released routing per product: new work orders are pinned to it (pinRouting).
		prior, err := c.tx.List(c.ctx, store.Query{Kind: routingKind, Site: site, Index: "released_product", Value: rt.Product})
		if err != nil {
			return nil, err
		}
		for _, rec := range prior {
			var old routing.Routing
			if err := decode(rec, &old); err != nil {
				return nil, err
			}
			if err := old.Obsolete(); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInternal, err)
			}
			if _, err := save(c, routingKind, rec.ID, site, rec.Version, &old, rec.Keys, routingIndex(&old)); err != nil {
				return nil, err
			}
			obsoleted = old.Revision
			if old.ID != rt.ID {
				obsoleted = old.ID + "@" + old.Revision
			}
			c.record(objectRef(routingKind, rec.ID), change("status", routing.Released, routing.Obsolete))
		}
		id := routingRecordID(site, rt.ID, rt.Revision)
		if _, err := c.tx.Get(c.ctx, routingKind, id); err == nil {
			return nil, fmt.Errorf("%w: routing %s revision %s is already published in site %s; published revisions never change, so publish a new revision (NewRevision)", ErrDuplicate, rt.ID, rt.Revision, site)
		}
		if _, err := save(c, routingKind, id, site, 0, rt, nil, routingIndex(rt)); err != nil {
			return nil, err
		}
		c.record(objectRef(routingKind, id), change("status", routing.Draft, routing.Released), change("digest", "", rt.Digest))
		out, err := runnableCopy(rt)
		if err != nil {
			return nil, err
		}
		return out, c.emit(id, RoutingPublished{Site: site, ID: rt.ID, Product: rt.Product, Revision: rt.Revision, Digest: rt.Digest, Obsoleted: obsoleted})
	})
}

func routingIndex(r *routing.Routing) map[string]string {
	if r.Status == routing.Released {
		return map[string]string{"released_product": r.Product}
	}
	return map[string]string{"status": string(r.Status)}
}

// copyRouting returns a validated deep copy, so the caller's value is never changed.
func copyRouting(r *routing.Routing) (*routing.Routing, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("%w: routing: %v", ErrInvalid, err)
	}
	rt, err := routing.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return rt, nil
}

// checkWorkCenters lists every step whose work center is not equipment of site.
func (c *command) checkWorkCenters(site string, r *routing.Routing) error {
	ps := problems{what: "routing " + r.ID}
	for _, s := range r.Steps {
		for _, wc := range append([]string{s.WorkCenter}, s.Alternates...) {
			if wc == "" {
				continue
			}
			var se storedEquipment
			if _, err := load(c.ctx, c.tx, equipmentKind, wc, &se); err != nil || se.Site != site {
				ps.add("steps["+s.ID+"].work_center", wc, "is not equipment of site "+site+"; define it with DefineEquipment")
			}
		}
	}
	return ps.err()
}

// Routing returns a published routing revision of site.
func (p *Plant) Routing(ctx context.Context, site, id, revision string) (*routing.Routing, error) {
	var rt *routing.Routing
	err := p.view(ctx, func(tx store.ReadTx) error {
		cached, err := p.routings.revision(ctx, tx, site, id, revision)
		if err == nil {
			rt, err = runnableCopy(cached)
		}
		if err != nil {
			return err
		}
		var stored routing.Routing // the status may have moved on (obsolete); the cache keeps the definition
		if rec, err := tx.Get(ctx, routingKind, routingRecordID(site, id, revision)); err == nil && decode(rec, &stored) == nil {
			rt.Status = stored.Status
		}
		return nil
	})
	return rt, err
}

// pinRouting pins the released routing of the order's product to the order.
func (c *command) pinRouting(wo *WorkOrder) error {
	recs, err := c.tx.List(c.ctx, store.Query{Kind: routingKind, Site: wo.Site, Index: "released_product", Value: wo.Product})
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return fmt.Errorf("%w: no released routing for product %s in site %s; publish one with PublishRouting before releasing %s", ErrNotFound, wo.Product, wo.Site, wo.ref())
	}
	rt, err := c.p.routings.get(c.ctx, c.tx, recs[0].ID)
	if err != nil {
		return err
	}
	wo.Routing, wo.RoutingRevision = rt.ID, rt.Revision
	return nil
}

// routingCache keeps validated released routings. Released revisions are immutable (sealed
// by their digest), so a cached copy never goes stale, even with several processes.
type routingCache struct {
	mu sync.RWMutex
	m  map[string]*routing.Routing
}

// revision returns the revision of routing id of site, building its record id (see
// routingRecordID) on the stack.
func (rc *routingCache) revision(ctx context.Context, tx store.ReadTx, site, id, revision string) (*routing.Routing, error) {
	var buf [64]byte
	key := appendRoutingRecordID(buf[:0], site, id, revision)
	rc.mu.RLock()
	rt, ok := rc.m[string(key)]
	rc.mu.RUnlock()
	if ok {
		return rt, nil
	}
	return rc.get(ctx, tx, string(key))
}

func (rc *routingCache) get(ctx context.Context, tx store.ReadTx, id string) (*routing.Routing, error) {
	rc.mu.RLock()
	rt, ok := rc.m[id]
	rc.mu.RUnlock()
	if ok {
		return rt, nil
	}
	rec, err := tx.Get(ctx, routingKind, id)
	if err != nil {
		return nil, fmt.Errorf("routing %s: %w", id, storeErr(err))
	}
	data, err := rec.Encode()
	if err == nil {
		rt, err = routing.Parse(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: stored routing %s does not validate: %w", ErrInternal, id, err)
	}
	rc.mu.Lock()
	if rc.m == nil {
		rc.m = map[string]*routing.Routing{}
	}
	rc.m[id] = rt
	rc.mu.Unlock()
	return rt, nil
}

// decimalSeconds is d in seconds, exactly.
func decimalSeconds(d time.Duration) decimal.Decimal {
	return decimal.New(int64(d), -9)
}

// ReleasedRouting returns the routing revision of site that work orders for product are
// released on now.
func (p *Plant) ReleasedRouting(ctx context.Context, site, product string) (*routing.Routing, error) {
	var rt *routing.Routing
	err := p.view(ctx, func(tx store.ReadTx) error {
		recs, err := tx.List(ctx, store.Query{Kind: routingKind, Site: site, Index: "released_product", Value: product, Limit: 1})
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return fmt.Errorf("%w: no released routing for product %s in site %s", ErrNotFound, product, site)
		}
		cached, err := p.routings.get(ctx, tx, recs[0].ID)
		if err == nil {
			rt, err = runnableCopy(cached)
		}
		return err
	})
	return rt, err
}

// runnableCopy returns a copy of a validated routing for a caller, validated in its turn so
// that it runs (routing.Routing.Clone leaves copies to be validated).
func runnableCopy(rt *routing.Routing) (*routing.Routing, error) {
	out := rt.Clone()
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("%w: routing %s rev %s no longer validates: %w", ErrInternal, rt.ID, rt.Revision, err)
	}
	return out, nil
}
