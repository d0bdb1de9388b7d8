package mes

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/store"
)

const equipmentKind = "equipment"

// storedEquipment is an equipment node with the site it belongs to.
type storedEquipment struct {
	equipment.Equipment
	Site string `json:"site"`
}

// detach gives the copy its own capability list.
func (se *storedEquipment) detach() { se.Capabilities = slices.Clone(se.Capabilities) }

// EquipmentDefined: equipment was added to the hierarchy or changed.
type EquipmentDefined struct {
	Equipment equipment.Equipment `json:"equipment"`
}

// EventType implements EventPayload.
func (EquipmentDefined) EventType() string { return "equipment.defined" }

func init() { registerEvent(&EquipmentDefined{}) }

// DefineEquipment adds nodes to the plant's equipment hierarchy (enterprise / site / area /
// work center / work unit) or changes existing ones. Parents may be defined in the same
// call. Every record Takt keeps belongs to a site defined here. All problems are listed;
// on error nothing changes.
func (p *Plant) DefineEquipment(ctx context.Context, items []equipment.Equipment, opts ...CommandOption) error {
	_, err := execute(ctx, p, "equipment.define", nil, opts, func(c *command) (struct{}, error) {
		if len(items) == 0 {
			return struct{}{}, fmt.Errorf("%w: DefineEquipment needs at least one equipment", ErrInvalid)
		}
		known := map[string]equipment.Equipment{}
		versions := map[string]uint64{}
		for _, it := range items {
			known[it.ID] = it
		}
		// Load the stored ancestors of every new node, so the hierarchy check sees whole
		// chains up to their roots.
		for _, it := range items {
			for parent := it.Parent; parent != ""; {
				if _, ok := known[parent]; ok {
					break
				}
				var se storedEquipment
				if _, err := load(c.ctx, c.tx, equipmentKind, parent, &se); err != nil {
					break // NewHierarchy reports the unknown parent
				}
				known[parent] = se.Equipment
				parent = se.Parent
			}
		}
		stored := map[string]storedEquipment{}
		for _, it := range items {
			var se storedEquipment
			v, err := load(c.ctx, c.tx, equipmentKind, it.ID, &se)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return struct{}{}, err
			}
			versions[it.ID] = v
			if v > 0 {
				stored[it.ID] = se
			}
		}
		all := make([]equipment.Equipment, 0, len(known))
		all = append(all, items...)
		for id, e := range known {
			if _, isNew := versions[id]; !isNew {
				all = append(all, e)
			}
		}
		h, err := equipment.NewHierarchy(all)
		if err != nil {
			return struct{}{}, err
		}
		for _, it := range items {
			site := siteOf(h, it.ID)
			if old, ok := stored[it.ID]; ok && old.Site != site {
				if err := c.authorize(old.Site); err != nil { // moving equipment out of a site changes that site too
					return struct{}{}, err
				}
			}
			if err := c.authorize(site); err != nil {
				return struct{}{}, err
			}
			se := storedEquipment{Equipment: it, Site: site}
			if _, err := save(c, equipmentKind, it.ID, site, versions[it.ID], &se, nil, map[string]string{"level": string(it.Level), "parent": it.Parent}); err != nil {
				return struct{}{}, err
			}
			old := stored[it.ID]
			c.record(objectRef(equipmentKind, it.ID), change("parent", old.Parent, it.Parent), change("level", old.Level, it.Level),
				change("site", old.Site, site), change("class", old.Class, it.Class))
			if err := c.emit(it.ID, EquipmentDefined{Equipment: it}); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	return err
}

// siteOf returns the id of the site node at or above id, or "" above site level.
func siteOf(h equipment.Hierarchy, id string) string {
	if site, err := h.Site(id); err == nil {
		return site.ID
	}
	return ""
}

// Equipment returns the equipment node with id.
func (p *Plant) Equipment(ctx context.Context, id string) (equipment.Equipment, error) {
	var se storedEquipment
	err := p.view(ctx, func(tx store.ReadTx) error {
		_, err := load(ctx, tx, equipmentKind, id, &se)
		return err
	})
	return se.Equipment, err
}

// requireSite checks that site is a site of the equipment hierarchy.
func (c *command) requireSite(site string) error {
	var se storedEquipment
	if _, err := load(c.ctx, c.tx, equipmentKind, site, &se); err != nil || se.Level != equipment.Site {
		return fmt.Errorf("%w: site %q is not defined; add it with DefineEquipment(... equipment.Equipment{ID: %q, Level: equipment.Site})", ErrNotFound, site, site)
	}
	return nil
}

// list returns the records q selects, decoded.
func list[T any](ctx context.Context, p *Plant, q store.Query) ([]T, error) {
	var out []T
	err := p.view(ctx, func(tx store.ReadTx) error {
		recs, err := tx.List(ctx, q)
		if err != nil {
			return err
		}
		out = make([]T, len(recs))
		for i, r := range recs {
			if err := decode(r, &out[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
