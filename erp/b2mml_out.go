package erp

import (
	"encoding/xml"
	"io"
	"time"

	"github.com/taktmes/takt/units"
)

// XML shapes of the B2MML ProductionPerformance Export writes, in schema element order.
type (
	oPerformance struct {
		XMLName            xml.Name    `xml:"ProductionPerformance"`
		Xmlns              string      `xml:"xmlns,attr"`
		ID                 string      `xml:"ID"`
		StartTime          string      `xml:"StartTime,omitempty"`
		EndTime            string      `xml:"EndTime,omitempty"`
		ProductionResponse []oResponse `xml:"ProductionResponse"`
	}
	oResponse struct {
		ID                  string     `xml:"ID"`
		ProductionRequestID string     `xml:"ProductionRequestID,omitempty"`
		SegmentResponse     []oSegment `xml:"SegmentResponse"`
	}
	oSegment struct {
		ID               string      `xml:"ID"`
		ProductSegmentID string      `xml:"ProductSegmentID,omitempty"`
		Description      string      `xml:"Description"`
		ActualStartTime  string      `xml:"ActualStartTime,omitempty"`
		ActualEndTime    string      `xml:"ActualEndTime"`
		ProductionData   []oData     `xml:"ProductionData"`
		PersonnelActual  []oActual   `xml:"PersonnelActual"`
		EquipmentActual  []oActual   `xml:"EquipmentActual"`
		MaterialActual   []oMaterial `xml:"MaterialActual"`
		SegmentState     string      `xml:"SegmentState"`
	}
	oData struct {
		ID    string `xml:"ID"`
		Value oValue `xml:"Value"`
	}
	oValue struct {
		ValueString   string `xml:"ValueString"`
		UnitOfMeasure string `xml:"UnitOfMeasure,omitempty"`
	}
	oQuantity struct {
		QuantityString string `xml:"QuantityString"`
		UnitOfMeasure  string `xml:"UnitOfMeasure"`
	}
	oActual struct { // PersonnelActual and EquipmentActual
		PersonID    string      `xml:"PersonID,omitempty"`
		EquipmentID string      `xml:"EquipmentID,omitempty"`
		Description string      `xml:"Description,omitempty"`
		Quantity    oQuantity   `xml:"Quantity"`
		Property    []oProperty `xml:"PersonnelActualProperty"`
	}
	oMaterial struct {
		MaterialDefinitionID string      `xml:"MaterialDefinitionID"`
		MaterialLotID        string      `xml:"MaterialLotID"`
		Description          string      `xml:"Description,omitempty"`
		MaterialUse          string      `xml:"MaterialUse"`
		Quantity             oQuantity   `xml:"Quantity"`
		Property             []oProperty `xml:"MaterialActualProperty"`
	}
	oProperty struct {
		ID    string `xml:"ID"`
		Value oValue `xml:"Value"`
	}
)

// WriteB2MML writes the performance as a B2MML ProductionPerformance document: one
// ProductionResponse per work order (ID the work order number, ProductionRequestID the
// ERP's order id) and one SegmentResponse per confirmation (ID the confirmation id,
// ProductSegmentID the operation, Description the segment type). Completions,
// consumption and scrap are MaterialActual elements (MaterialUse Produced, Consumed, or
// Other with Description Scrapped and the reason as MaterialActualProperty
// ScrapReason); an operation's totals are ProductionData Good, Scrap, Rework and Loss;
// labor and machine time are PersonnelActual and EquipmentActual quantities in seconds.
func (p Performance) WriteB2MML(w io.Writer) error {
	doc := oPerformance{Xmlns: Namespace, ID: p.ID, StartTime: xmlTime(p.Start), EndTime: xmlTime(p.End)}
	for _, r := range p.Responses {
		or := oResponse{ID: r.Number, ProductionRequestID: r.Request}
		for _, s := range r.Segments {
			os := oSegment{ID: s.ID, ProductSegmentID: s.Operation, Description: s.Type,
				ActualStartTime: xmlTime(s.Start), ActualEndTime: xmlTime(s.End), SegmentState: "Completed"}
			if t := s.Totals; t != nil {
				for _, d := range []struct {
					id string
					q  units.Quantity
				}{{"Good", t.Good}, {"Scrap", t.Scrap}, {"Rework", t.Rework}, {"Loss", t.Loss}} {
					os.ProductionData = append(os.ProductionData, oData{ID: d.id, Value: oValue{ValueString: d.q.Value().String(), UnitOfMeasure: string(d.q.Unit())}})
				}
			}
			for _, pa := range s.Personnel {
				a := oActual{PersonID: pa.Person, Quantity: xmlQty(pa.Time)}
				if pa.Activity != "" {
					a.Property = []oProperty{{ID: "Activity", Value: oValue{ValueString: pa.Activity}}}
				}
				os.PersonnelActual = append(os.PersonnelActual, a)
			}
			for _, ea := range s.Equipment {
				os.EquipmentActual = append(os.EquipmentActual, oActual{EquipmentID: ea.Equipment, Quantity: xmlQty(ea.Time)})
			}
			for _, m := range s.Materials {
				om := oMaterial{MaterialDefinitionID: m.Material, MaterialLotID: m.Lot, MaterialUse: m.Use, Quantity: xmlQty(m.Qty)}
				if m.Use == Scrapped {
					om.MaterialUse, om.Description = "Other", Scrapped
					om.Property = []oProperty{{ID: "ScrapReason", Value: oValue{ValueString: m.Reason}}}
				}
				os.MaterialActual = append(os.MaterialActual, om)
			}
			or.SegmentResponse = append(or.SegmentResponse, os)
		}
		doc.ProductionResponse = append(doc.ProductionResponse, or)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func xmlQty(q units.Quantity) oQuantity {
	return oQuantity{QuantityString: q.Value().String(), UnitOfMeasure: string(q.Unit())}
}

func xmlTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
