package erp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/store"
)

// Reads of plant state the engine has no query for yet. They read the store the plant
// runs on (mes.Plant.Store) in a read-only transaction, with the record kinds, keys and
// indexes the engine writes ("material", "workorder" key "external:<site>/<id>",
// "routing" index "released_product"). Queries on mes.Plant — Material(id),
// WorkOrderByExternalID(site, id), ReleasedRouting(site, product) — should replace them.
const (
	materialKind  = "material"
	workOrderKind = "workorder"
	routingKind   = "routing"
)

// lookup caches what one import reads from the plant.
type lookup struct {
	ctx   context.Context
	p     *mes.Plant
	sites map[string]string // equipment id → its site ("" when unknown)
}

// material returns the plant's definition of id, if any.
func (l *lookup) material(id string) (genealogy.Material, bool, error) {
	var m genealogy.Material
	found, err := l.read(func(tx store.ReadTx) (store.Record, error) { return tx.Get(l.ctx, materialKind, id) }, &m)
	return m, found, err
}

// workOrderByExternalID returns the work order of site imported with the ERP id, if any.
func (l *lookup) workOrderByExternalID(site, id string) (mes.WorkOrder, bool, error) {
	var wo mes.WorkOrder
	found, err := l.read(func(tx store.ReadTx) (store.Record, error) {
		return tx.Lookup(l.ctx, workOrderKind, "external:"+site+"/"+id)
	}, &wo)
	return wo, found, err
}

// hasReleasedRouting reports whether site has a released routing for product.
func (l *lookup) hasReleasedRouting(site, product string) (bool, error) {
	var n int
	err := l.p.Store().View(l.ctx, func(tx store.ReadTx) error {
		recs, err := tx.List(l.ctx, store.Query{Kind: routingKind, Site: site, Index: "released_product", Value: product, Limit: 1})
		n = len(recs)
		return err
	})
	return n > 0, err
}

func (l *lookup) read(get func(store.ReadTx) (store.Record, error), v any) (bool, error) {
	var data []byte
	err := l.p.Store().View(l.ctx, func(tx store.ReadTx) error {
		rec, err := get(tx)
		if err != nil {
			return err
		}
		data, err = rec.Encode()
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		return false, fmt.Errorf("erp: reading the plant: %w", err)
	}
	return true, nil
}

// siteOf returns the site the equipment belongs to, or "" when it is not defined.
func (l *lookup) siteOf(id string) (string, error) {
	if s, ok := l.sites[id]; ok {
		return s, nil
	}
	site := ""
	for cur, depth := id, 0; cur != "" && depth < 16; depth++ {
		e, err := l.p.Equipment(l.ctx, cur)
		if errors.Is(err, mes.ErrNotFound) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("erp: reading equipment %s: %w", cur, err)
		}
		if e.Level == equipment.Site {
			site = e.ID
			break
		}
		cur = e.Parent
	}
	l.sites[id] = site
	return site, nil
}
