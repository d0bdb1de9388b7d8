package erp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Namespace is the B2MML namespace Export writes. ParseB2MML also accepts the versioned
// namespaces of B2MML V0600 and V0700 and documents without a namespace.
const Namespace = "http://www.mesa.org/xml/B2MML"

var namespaces = map[string]bool{
	Namespace: true, Namespace + "-V0600": true, Namespace + "-V0700": true, "": true,
}

// XML shapes of the supported B2MML subset. Element names follow the MESA B2MML V0600 /
// V0700 schemas; elements not listed here are ignored. The namespace is checked once on
// the root, so the fields match by local name.
type (
	xQuantity struct {
		QuantityString string `xml:"QuantityString"`
		UnitOfMeasure  string `xml:"UnitOfMeasure"`
	}
	xValue struct {
		ValueString   string `xml:"ValueString"`
		UnitOfMeasure string `xml:"UnitOfMeasure"`
	}
	xProperty struct {
		ID    string   `xml:"ID"`
		Value []xValue `xml:"Value"`
	}

	xProductionSchedule struct {
		ID                string               `xml:"ID"`
		ProductionRequest []xProductionRequest `xml:"ProductionRequest"`
	}
	xProductionRequest struct {
		ID                 string                `xml:"ID"`
		Version            []string              `xml:"Version"`
		Priority           string                `xml:"Priority"`
		EndTime            string                `xml:"EndTime"`
		RequestState       string                `xml:"RequestState"`
		SegmentRequirement []xSegmentRequirement `xml:"SegmentRequirement"`
	}
	xSegmentRequirement struct {
		LatestEndTime               string          `xml:"LatestEndTime"`
		MaterialProducedRequirement []xMaterialItem `xml:"MaterialProducedRequirement"`
	}
	xMaterialItem struct { // MaterialProducedRequirement and MaterialSpecification
		MaterialDefinitionID []string    `xml:"MaterialDefinitionID"`
		MaterialUse          string      `xml:"MaterialUse"`
		Quantity             []xQuantity `xml:"Quantity"`
		Property             []xProperty `xml:"MaterialSpecificationProperty"`
	}

	xMaterialInformation struct {
		MaterialDefinition []xMaterialDefinition `xml:"MaterialDefinition"`
		MaterialLot        []xMaterialLot        `xml:"MaterialLot"`
	}
	xMaterialDefinition struct {
		ID          string      `xml:"ID"`
		Description []string    `xml:"Description"`
		Property    []xProperty `xml:"MaterialDefinitionProperty"`
	}
	xMaterialLot struct {
		ID                   string      `xml:"ID"`
		MaterialDefinitionID string      `xml:"MaterialDefinitionID"`
		Status               string      `xml:"Status"`
		Property             []xProperty `xml:"MaterialLotProperty"`
		Quantity             []xQuantity `xml:"Quantity"`
	}

	xOperationsDefinitionInformation struct {
		OperationsDefinition []xOperationsDefinition `xml:"OperationsDefinition"`
	}
	xOperationsDefinition struct {
		ID                string               `xml:"ID"`
		Version           string               `xml:"Version"`
		Description       []string             `xml:"Description"`
		OperationsSegment []xOperationsSegment `xml:"OperationsSegment"`
	}
	xOperationsSegment struct {
		ID                     string           `xml:"ID"`
		Description            string           `xml:"Description"`
		Duration               string           `xml:"Duration"`
		EquipmentSpecification []xEquipmentSpec `xml:"EquipmentSpecification"`
		MaterialSpecification  []xMaterialItem  `xml:"MaterialSpecification"`
	}
	xEquipmentSpec struct {
		EquipmentClassID []string `xml:"EquipmentClassID"`
		EquipmentID      []string `xml:"EquipmentID"`
	}

	// xDataArea is the body of a BOD verb wrapper such as ProcessProductionSchedule or
	// SyncMaterialInformation.
	xDataArea struct {
		ProductionSchedule              []xProductionSchedule              `xml:"ProductionSchedule"`
		MaterialInformation             []xMaterialInformation             `xml:"MaterialInformation"`
		MaterialDefinition              []xMaterialDefinition              `xml:"MaterialDefinition"`
		MaterialLot                     []xMaterialLot                     `xml:"MaterialLot"`
		OperationsDefinitionInformation []xOperationsDefinitionInformation `xml:"OperationsDefinitionInformation"`
		OperationsDefinition            []xOperationsDefinition            `xml:"OperationsDefinition"`
	}
	xVerb struct {
		DataArea xDataArea `xml:"DataArea"`
	}
)

// ParseB2MML reads a B2MML document: a ProductionSchedule, MaterialInformation,
// MaterialDefinition, MaterialLot, OperationsDefinitionInformation or
// OperationsDefinition root, or one of them inside the DataArea of a BOD verb wrapper
// (ProcessProductionSchedule, SyncMaterialInformation, ...). It refuses documents over
// MaxDocumentSize, nested deeper than MaxDepth, with a DOCTYPE (no entity is ever
// expanded), in an unknown namespace or not well formed, with a *ValidationError. Problems
// of content (a missing quantity, an unknown unit) are reported by Import, together with
// the checks against the plant.
func ParseB2MML(r io.Reader) (*Document, error) {
	data, err := readLimited(r, "B2MML")
	if err != nil {
		return nil, err
	}
	root, err := scanXML(data)
	if err != nil {
		return nil, err
	}
	d := &Document{kind: root}
	m := mapper{d: d, ps: &problems{doc: root}}
	base := "/" + root
	var body xDataArea
	switch {
	case strings.HasPrefix(root, "Process") || strings.HasPrefix(root, "Sync"):
		var v xVerb
		err = xml.Unmarshal(data, &v)
		body, base = v.DataArea, base+"/DataArea"
	case root == "ProductionSchedule":
		body.ProductionSchedule = make([]xProductionSchedule, 1)
		err = xml.Unmarshal(data, &body.ProductionSchedule[0])
	case root == "MaterialInformation":
		body.MaterialInformation = make([]xMaterialInformation, 1)
		err = xml.Unmarshal(data, &body.MaterialInformation[0])
	case root == "MaterialDefinition":
		body.MaterialDefinition = make([]xMaterialDefinition, 1)
		err = xml.Unmarshal(data, &body.MaterialDefinition[0])
	case root == "MaterialLot":
		body.MaterialLot = make([]xMaterialLot, 1)
		err = xml.Unmarshal(data, &body.MaterialLot[0])
	case root == "OperationsDefinitionInformation":
		body.OperationsDefinitionInformation = make([]xOperationsDefinitionInformation, 1)
		err = xml.Unmarshal(data, &body.OperationsDefinitionInformation[0])
	case root == "OperationsDefinition":
		body.OperationsDefinition = make([]xOperationsDefinition, 1)
		err = xml.Unmarshal(data, &body.OperationsDefinition[0])
	default:
		m.ps.add(base, "", "unsupported document type; send ProductionSchedule, MaterialInformation, MaterialDefinition, MaterialLot, OperationsDefinitionInformation or OperationsDefinition")
		return nil, m.ps.err()
	}
	if err != nil {
		m.ps.add(base, "", "not a readable %s document: %v", root, err)
		return nil, m.ps.err()
	}
	wrapped := base != "/"+root
	name := func(elem string, i int) string { // an unwrapped root is the only item
		if wrapped {
			return fmt.Sprintf("%s/%s[%d]", base, elem, i+1)
		}
		return base
	}
	for i, s := range body.ProductionSchedule {
		m.schedule(s, name("ProductionSchedule", i))
	}
	for i, mi := range body.MaterialInformation {
		p := name("MaterialInformation", i)
		for j, md := range mi.MaterialDefinition {
			m.materialDefinition(md, fmt.Sprintf("%s/MaterialDefinition[%d]", p, j+1))
		}
		for j, ml := range mi.MaterialLot {
			m.materialLot(ml, fmt.Sprintf("%s/MaterialLot[%d]", p, j+1))
		}
	}
	for i, md := range body.MaterialDefinition {
		m.materialDefinition(md, name("MaterialDefinition", i))
	}
	for i, ml := range body.MaterialLot {
		m.materialLot(ml, name("MaterialLot", i))
	}
	for i, oi := range body.OperationsDefinitionInformation {
		p := name("OperationsDefinitionInformation", i)
		for j, od := range oi.OperationsDefinition {
			m.operationsDefinition(od, fmt.Sprintf("%s/OperationsDefinition[%d]", p, j+1))
		}
	}
	for i, od := range body.OperationsDefinition {
		m.operationsDefinition(od, name("OperationsDefinition", i))
	}
	d.pending = m.ps.list
	return d, nil
}

// scanXML checks the document's shape before it is decoded: well formed, no DOCTYPE, no
// nesting deeper than MaxDepth, a root in a B2MML namespace. It returns the root's name.
func scanXML(data []byte) (string, error) {
	ps := problems{doc: "B2MML"}
	dec := xml.NewDecoder(bytes.NewReader(data))
	root, depth := "", 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, _ := dec.InputPos()
			ps.add("/", fmt.Sprintf("line %d", line), "not well-formed XML: %v", err)
			return "", ps.err()
		}
		switch t := tok.(type) {
		case xml.Directive:
			ps.add("/", string(bytes.TrimSpace(t)), "DOCTYPE and other declarations are refused; send the document without one")
			return "", ps.err()
		case xml.StartElement:
			depth++
			if depth > MaxDepth {
				ps.add("/", "", "elements nest deeper than %d levels; this is not a B2MML document of a supported type", MaxDepth)
				return "", ps.err()
			}
			if root == "" {
				root = t.Name.Local
				if !namespaces[t.Name.Space] {
					ps.add("/"+root, t.Name.Space, "unknown namespace; use %s", Namespace)
					return "", ps.err()
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if root == "" {
		ps.add("/", "", "the document is empty; send a B2MML document")
		return "", ps.err()
	}
	return root, nil
}

// mapper maps B2MML elements onto a Document, recording problems of shape it meets on the
// way (Import reports them with the others).
type mapper struct {
	d  *Document
	ps *problems
}

func (m *mapper) schedule(s xProductionSchedule, base string) {
	for i, pr := range s.ProductionRequest {
		p := fmt.Sprintf("%s/ProductionRequest[%d]", base, i+1)
		o := Order{ID: strings.TrimSpace(pr.ID), Release: strings.EqualFold(strings.TrimSpace(pr.RequestState), "Released")}
		o.at = origin{base: p, fields: map[string]string{
			"id": p + "/ID", "revision": p + "/Version", "priority": p + "/Priority", "due": p + "/EndTime",
		}}
		if len(pr.Version) > 0 {
			o.Revision = strings.TrimSpace(pr.Version[0])
		}
		if v := strings.TrimSpace(pr.Priority); v != "" {
			var n int
			if _, err := fmt.Sscan(v, &n); err != nil || fmt.Sprint(n) != v {
				m.ps.add(p+"/Priority", v, "must be a whole number between -1000 and 1000")
			} else {
				o.Priority = &n
			}
		}
		o.Due = strings.TrimSpace(pr.EndTime)
		produced := 0
		for j, sr := range pr.SegmentRequirement {
			sp := fmt.Sprintf("%s/SegmentRequirement[%d]", p, j+1)
			for k, mr := range sr.MaterialProducedRequirement {
				mp := fmt.Sprintf("%s/MaterialProducedRequirement[%d]", sp, k+1)
				produced++
				if produced > 1 {
					m.ps.add(mp, first(mr.MaterialDefinitionID), "a production request makes one product; send co-products as separate requests")
					continue
				}
				o.Product = first(mr.MaterialDefinitionID)
				o.at.fields["product"] = mp + "/MaterialDefinitionID"
				o.Qty = quantity(mr.Quantity)
				o.at.fields["qty"] = mp + "/Quantity"
				if t := strings.TrimSpace(sr.LatestEndTime); t != "" {
					o.Due = t
					o.at.fields["due"] = sp + "/LatestEndTime"
				}
			}
		}
		if produced == 0 {
			o.at.fields["product"] = p + "/SegmentRequirement/MaterialProducedRequirement/MaterialDefinitionID"
			o.at.fields["qty"] = p + "/SegmentRequirement/MaterialProducedRequirement/Quantity"
		}
		m.d.Orders = append(m.d.Orders, o)
	}
}

func (m *mapper) materialDefinition(md xMaterialDefinition, p string) {
	mat := Material{ID: strings.TrimSpace(md.ID), Description: first(md.Description)}
	mat.at = origin{base: p, fields: map[string]string{"id": p + "/ID", "description": p + "/Description"}}
	for i, pr := range md.Property {
		pp := fmt.Sprintf("%s/MaterialDefinitionProperty[%d]/Value/ValueString", p, i+1)
		v := propertyValue(pr)
		switch strings.ToLower(strings.TrimSpace(pr.ID)) {
		case "unitofmeasure":
			mat.Unit, mat.at.fields["unit"] = v, pp
		case "tracking":
			mat.Tracking, mat.at.fields["tracking"] = v, pp
		case "kind":
			mat.Kind, mat.at.fields["kind"] = v, pp
		}
	}
	if _, ok := mat.at.fields["unit"]; !ok {
		mat.at.fields["unit"] = p + "/MaterialDefinitionProperty[ID='UnitOfMeasure']"
	}
	m.d.Materials = append(m.d.Materials, mat)
}

func (m *mapper) materialLot(ml xMaterialLot, p string) {
	l := Lot{ID: strings.TrimSpace(ml.ID), Material: strings.TrimSpace(ml.MaterialDefinitionID), Status: strings.TrimSpace(ml.Status), Qty: quantity(ml.Quantity)}
	l.at = origin{base: p, fields: map[string]string{
		"id": p + "/ID", "material": p + "/MaterialDefinitionID", "status": p + "/Status", "qty": p + "/Quantity",
	}}
	for i, pr := range ml.Property {
		pp := fmt.Sprintf("%s/MaterialLotProperty[%d]/Value/ValueString", p, i+1)
		v := propertyValue(pr)
		switch strings.ToLower(strings.TrimSpace(pr.ID)) {
		case "supplierid":
			l.Supplier, l.at.fields["supplier"] = v, pp
		case "supplierlotid":
			l.SupplierLot, l.at.fields["supplier_lot"] = v, pp
		case "expirationdate":
			l.Expiry, l.at.fields["expiry"] = v, pp
		}
	}
	m.d.Lots = append(m.d.Lots, l)
}

func (m *mapper) operationsDefinition(od xOperationsDefinition, p string) {
	rt := Routing{ID: strings.TrimSpace(od.ID), Revision: strings.TrimSpace(od.Version), Description: first(od.Description)}
	rt.at = origin{base: p, fields: map[string]string{
		"id": p + "/ID", "revision": p + "/Version",
		"product": p + "/OperationsSegment/MaterialSpecification[MaterialUse='Produced']/MaterialDefinitionID",
	}}
	produced := 0
	for i, seg := range od.OperationsSegment {
		sp := fmt.Sprintf("%s/OperationsSegment[%d]", p, i+1)
		op := Operation{ID: strings.TrimSpace(seg.ID), Name: strings.TrimSpace(seg.Description), RunPerUnit: strings.TrimSpace(seg.Duration)}
		op.at = origin{base: sp, fields: map[string]string{"id": sp + "/ID", "name": sp + "/Description", "run_per_unit": sp + "/Duration"}}
		for j, es := range seg.EquipmentSpecification {
			ep := fmt.Sprintf("%s/EquipmentSpecification[%d]", sp, j+1)
			if j > 0 {
				m.ps.add(ep, "", "an operation runs at one work center; list alternates as further EquipmentID elements of the first EquipmentSpecification")
				continue
			}
			for k, id := range es.EquipmentID {
				id = strings.TrimSpace(id)
				if k == 0 {
					op.WorkCenter, op.at.fields["work_center"] = id, ep+"/EquipmentID[1]"
				} else {
					op.Alternates = append(op.Alternates, id)
					op.at.fields[fmt.Sprintf("alternates/%d", k-1)] = fmt.Sprintf("%s/EquipmentID[%d]", ep, k+1)
				}
			}
			op.EquipmentClass, op.at.fields["equipment_class"] = first(es.EquipmentClassID), ep+"/EquipmentClassID"
		}
		for j, ms := range seg.MaterialSpecification {
			mp := fmt.Sprintf("%s/MaterialSpecification[%d]", sp, j+1)
			switch strings.ToLower(strings.TrimSpace(ms.MaterialUse)) {
			case "produced":
				produced++
				if produced > 1 {
					m.ps.add(mp, first(ms.MaterialDefinitionID), "a routing makes one product; only one MaterialSpecification may have MaterialUse Produced")
					continue
				}
				rt.Product, rt.at.fields["product"] = first(ms.MaterialDefinitionID), mp+"/MaterialDefinitionID"
			case "consumed", "consumable", "":
				c := Component{Material: first(ms.MaterialDefinitionID), PerUnit: quantity(ms.Quantity)}
				c.at = origin{base: mp, fields: map[string]string{"material": mp + "/MaterialDefinitionID", "per_unit": mp + "/Quantity"}}
				for k, pr := range ms.Property {
					if strings.EqualFold(strings.TrimSpace(pr.ID), "Backflush") {
						v := propertyValue(pr)
						switch strings.ToLower(v) {
						case "true":
							c.Backflush = true
						case "false":
						default:
							m.ps.add(fmt.Sprintf("%s/MaterialSpecificationProperty[%d]/Value/ValueString", mp, k+1), v, `must be "true" or "false"`)
						}
					}
				}
				op.Components = append(op.Components, c)
			default:
				m.ps.add(mp+"/MaterialUse", ms.MaterialUse, "unsupported; use Consumed (a component) or Produced (the routing's product)")
			}
		}
		rt.Operations = append(rt.Operations, op)
	}
	m.d.Routings = append(m.d.Routings, rt)
}

// quantity joins the first Quantity's QuantityString and UnitOfMeasure ("50 ea") for
// units.Parse; Import reports a missing or malformed one.
func quantity(qs []xQuantity) string {
	if len(qs) == 0 {
		return ""
	}
	return strings.TrimSpace(strings.TrimSpace(qs[0].QuantityString) + " " + strings.TrimSpace(qs[0].UnitOfMeasure))
}

func propertyValue(p xProperty) string {
	if len(p.Value) == 0 {
		return ""
	}
	return strings.TrimSpace(p.Value[0].ValueString)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return strings.TrimSpace(s[0])
}
