package erp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Errors returned by this package; test for them with errors.Is.
var (
	// ErrInvalid: the document was rejected whole; the error is a *ValidationError listing
	// every problem. Nothing was imported.
	ErrInvalid = errors.New("erp: invalid document")
	// ErrIncomplete: a command failed part way through an import that had passed
	// validation; the error is an *IncompleteError. Import the same document again.
	ErrIncomplete = errors.New("erp: import incomplete")
)

// Limits on what an importer reads, so that a hostile or broken document cannot exhaust
// memory or the stack.
const (
	// MaxDocumentSize is the largest document, in bytes, the parsers accept.
	MaxDocumentSize = 4 << 20
	// MaxDepth is the deepest element nesting ParseB2MML accepts. B2MML documents of the
	// supported types nest about ten levels deep.
	MaxDepth = 64
)

// Problem is one thing wrong with a document.
type Problem struct {
	// Path locates the element: an XPath with 1-based indexes for B2MML
	// ("/ProductionSchedule/ProductionRequest[2]/SegmentRequirement[1]/MaterialProducedRequirement[1]/Quantity"),
	// a JSON Pointer with 0-based indexes for JSON ("/orders/1/qty").
	Path   string `json:"path"`
	Value  string `json:"value,omitempty"` // the value as written
	Reason string `json:"reason"`          // what is wrong and how to fix it
}

// String returns "path = \"value\": reason".
func (p Problem) String() string {
	return fmt.Sprintf("%s = %q: %s", p.Path, p.Value, p.Reason)
}

// ValidationError rejects a document whole: it lists every problem found. It wraps
// ErrInvalid.
type ValidationError struct {
	Document string // the document type, e.g. "ProductionSchedule" or "JSON"
	Problems []Problem
}

// Error names the document, the number of problems and lists every one.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "erp: %s document rejected, nothing imported: %d problem(s)", e.Document, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("; ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// problems collects the problems of one document.
type problems struct {
	doc  string
	list []Problem
}

func (ps *problems) add(path, value, reason string, args ...any) {
	if len(args) > 0 {
		reason = fmt.Sprintf(reason, args...)
	}
	ps.list = append(ps.list, Problem{Path: path, Value: value, Reason: reason})
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return &ValidationError{Document: ps.doc, Problems: ps.list}
}

// Document is an import document in Takt's terms. It is also the JSON import format (see
// testdata/import.json); ParseB2MML maps B2MML documents onto it. Scalars are kept as
// written (quantities such as "50 ea", times in RFC 3339, durations in ISO 8601 such as
// "PT90S") so that Import can report every malformed value, not only the first.
type Document struct {
	Materials []Material `json:"materials,omitempty"`
	Routings  []Routing  `json:"routings,omitempty"`
	Lots      []Lot      `json:"lots,omitempty"`
	Orders    []Order    `json:"orders,omitempty"`

	kind    string    // the document type, for messages
	pending []Problem // problems of shape found by the parser, reported by Import
}

// Type is the document type: the B2MML root element ("ProductionSchedule",
// "MaterialInformation", ...) or "JSON".
func (d *Document) Type() string { return d.kind }

// Material is a material definition (B2MML MaterialDefinition).
type Material struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	Unit        string `json:"unit"`               // unit lots are counted in, e.g. "ea", "kg"
	Tracking    string `json:"tracking,omitempty"` // "none", "lot" (default) or "serial"
	Kind        string `json:"kind,omitempty"`     // "raw", "component" (default), "intermediate" or "product"
	at          origin
}

// Routing is a routing revision (B2MML OperationsDefinition): the operations that make a
// product, in order.
type Routing struct {
	ID          string      `json:"id"`
	Revision    string      `json:"revision"`
	Product     string      `json:"product"`
	Description string      `json:"description,omitempty"`
	Operations  []Operation `json:"operations"`
	at          origin
}

// Operation is one step of a routing (B2MML OperationsSegment).
type Operation struct {
	ID             string      `json:"id"`
	Name           string      `json:"name,omitempty"`
	WorkCenter     string      `json:"work_center,omitempty"`
	Alternates     []string    `json:"alternates,omitempty"` // other work centers that can run it
	EquipmentClass string      `json:"equipment_class,omitempty"`
	RunPerUnit     string      `json:"run_per_unit,omitempty"` // ISO 8601 duration, e.g. "PT90S"
	Components     []Component `json:"components,omitempty"`
	at             origin
}

// Component is a material consumed by an operation (B2MML MaterialSpecification with
// MaterialUse Consumed).
type Component struct {
	Material  string `json:"material"`
	PerUnit   string `json:"per_unit"`            // quantity per unit of the product, e.g. "1 ea"
	Backflush bool   `json:"backflush,omitempty"` // consumed automatically at track-out
	at        origin
}

// Lot is a received material lot (B2MML MaterialLot).
type Lot struct {
	ID          string `json:"id"`
	Material    string `json:"material"`
	Qty         string `json:"qty"`              // e.g. "30 ea"
	Status      string `json:"status,omitempty"` // "available" (the default) is the only status received
	Supplier    string `json:"supplier,omitempty"`
	SupplierLot string `json:"supplier_lot,omitempty"`
	Expiry      string `json:"expiry,omitempty"` // RFC 3339 time or date
	at          origin
}

// Order is a production order (B2MML ProductionRequest): make Qty of Product by Due.
type Order struct {
	ID       string `json:"id"`                 // the ERP's order id: the work order's number and external id
	Revision string `json:"revision,omitempty"` // the ERP's revision; empty: derived from the content
	Product  string `json:"product"`
	Qty      string `json:"qty"`           // e.g. "50 ea"
	Due      string `json:"due,omitempty"` // RFC 3339
	Priority *int   `json:"priority,omitempty"`
	Release  bool   `json:"release,omitempty"` // release the order for production after creating it
	at       origin
}

// origin locates an item and its fields in the source document.
type origin struct {
	base   string
	fields map[string]string // explicit paths by field name; others are base + "/" + name
}

func (o origin) path(field string) string {
	if p, ok := o.fields[field]; ok {
		return p
	}
	if field == "" {
		return o.base
	}
	return o.base + "/" + field
}

// readLimited reads a whole document, refusing one over MaxDocumentSize.
func readLimited(r io.Reader, doc string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("erp: reading %s document: %w", doc, err)
	}
	if len(data) > MaxDocumentSize {
		ps := problems{doc: doc}
		ps.add("/", "", "the document is larger than %d bytes; split it into several documents", MaxDocumentSize)
		return nil, ps.err()
	}
	return data, nil
}

// ParseJSON reads a document in the JSON form of Document. Unknown fields are problems
// (a misspelt field must not be ignored silently). Syntax and type errors are reported
// with their location, one per item at most; the remaining checks happen in Import.
func ParseJSON(r io.Reader) (*Document, error) {
	data, err := readLimited(r, "JSON")
	if err != nil {
		return nil, err
	}
	ps := &problems{doc: "JSON"}
	var raw struct {
		Materials, Routings, Lots, Orders []json.RawMessage
	}
	if err := strictJSON(data, &raw); err != nil {
		ps.add(jsonErrorPath("", err), "", "not a valid import document: %v", err)
		return nil, ps.err()
	}
	d := &Document{kind: "JSON"}
	d.Materials = decodeItems[Material](ps, "/materials", raw.Materials, func(m *Material, base string) { m.at = origin{base: base} })
	d.Routings = decodeItems[Routing](ps, "/routings", raw.Routings, func(rt *Routing, base string) {
		rt.at = origin{base: base}
		for j := range rt.Operations {
			op := &rt.Operations[j]
			op.at = origin{base: fmt.Sprintf("%s/operations/%d", base, j)}
			for k := range op.Components {
				op.Components[k].at = origin{base: fmt.Sprintf("%s/components/%d", op.at.base, k)}
			}
		}
	})
	d.Lots = decodeItems[Lot](ps, "/lots", raw.Lots, func(l *Lot, base string) { l.at = origin{base: base} })
	d.Orders = decodeItems[Order](ps, "/orders", raw.Orders, func(o *Order, base string) { o.at = origin{base: base} })
	if err := ps.err(); err != nil {
		return nil, err
	}
	return d, nil
}

// decodeItems decodes each item of a list on its own, so a bad item does not hide the
// problems of the others.
func decodeItems[T any](ps *problems, list string, raws []json.RawMessage, locate func(*T, string)) []T {
	out := make([]T, len(raws))
	for i, raw := range raws {
		base := fmt.Sprintf("%s/%d", list, i)
		if err := strictJSON(raw, &out[i]); err != nil {
			ps.add(jsonErrorPath(base, err), "", "%v", err)
			continue
		}
		locate(&out[i], base)
	}
	return out
}

// strictJSON decodes one JSON value, refusing unknown fields and trailing data.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the document")
	}
	return nil
}

// jsonErrorPath locates a decoding error below base.
func jsonErrorPath(base string, err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return base + jsonPointer(typ.Field)
	}
	if base == "" {
		return "/"
	}
	return base
}

// jsonPointer turns encoding/json's "orders.1.qty" into "/orders/1/qty".
func jsonPointer(field string) string {
	if field == "" {
		return "/"
	}
	return "/" + strings.ReplaceAll(field, ".", "/")
}
