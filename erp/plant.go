package erp

import (
	"context"
	"errors"
	"fmt"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
)

// lookup caches what one import reads from the plant.
type lookup struct {
	ctx   context.Context
	p     *mes.Plant
	sites map[string]string // equipment id → its site ("" when unknown)
}

// found turns the plant's ErrNotFound into false.
func found(err error) (bool, error) {
	if errors.Is(err, mes.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("erp: reading the plant: %w", err)
	}
	return true, nil
}

// material returns the plant's definition of id, if any.
func (l *lookup) material(id string) (genealogy.Material, bool, error) {
	m, err := l.p.Material(l.ctx, id)
	ok, err := found(err)
	return m, ok, err
}

// workOrderByExternalID returns the work order of site imported with the ERP id, if any.
func (l *lookup) workOrderByExternalID(site, id string) (mes.WorkOrder, bool, error) {
	wo, err := l.p.WorkOrderByExternalID(l.ctx, site, id)
	ok, err := found(err)
	return wo, ok, err
}

// hasReleasedRouting reports whether site has a released routing for product.
func (l *lookup) hasReleasedRouting(site, product string) (bool, error) {
	_, err := l.p.ReleasedRouting(l.ctx, site, product)
	return found(err)
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
