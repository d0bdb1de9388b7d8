package routing

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/units"
)

// Errors returned by this package; test for them with errors.Is.
var (
	// ErrInvalid means a routing definition has problems; the error is a Problems list.
	ErrInvalid = errors.New("routing: invalid routing")
	// ErrNotValidated means a routing was used before Build, Parse or Validate compiled it.
	ErrNotValidated = errors.New("routing: routing not validated")
	// ErrStatus means a lifecycle transition is not allowed from the routing's status.
	ErrStatus = errors.New("routing: wrong routing status")
	// ErrMismatch means an execution does not belong to the routing revision it is used with.
	ErrMismatch = errors.New("routing: execution does not match routing")
	// ErrUnknownStep means a step id is not in the routing.
	ErrUnknownStep = errors.New("routing: unknown step")
	// ErrWrongState means a move is not allowed in the current state of the step or lot.
	ErrWrongState = errors.New("routing: move not allowed in this state")
	// ErrQuantity means a quantity is negative, zero where it must be positive, in the wrong
	// unit, or more than is available.
	ErrQuantity = errors.New("routing: invalid quantity")
	// ErrYieldReasonRequired means a step's yield is beyond its tolerance and the track-out
	// carries no reason; the error is a *YieldError holding the variance.
	ErrYieldReasonRequired = errors.New("routing: yield beyond tolerance needs a reason")
	// ErrCondition means a branch condition failed to run or chose a step that is not in the
	// routing.
	ErrCondition = errors.New("routing: branch condition failed")
	// ErrBooks means an execution's books do not balance (returned by CheckBooks).
	ErrBooks = errors.New("routing: books do not balance")
)

// End is the successor id that means "the end of the routing": quantity sent there is
// finished good.
const End = "END"

// Status is the lifecycle status of a routing revision.
type Status string

// Routing statuses: Draft (editable) → Released (immutable, may be executed) → Obsolete.
const (
	Draft    Status = "draft"
	Released Status = "released"
	Obsolete Status = "obsolete"
)

// Routing is one revision of the process definition of a product: its steps (operations) and
// how quantity flows between them.
type Routing struct {
	ID       string `json:"id"`
	Product  string `json:"product"`
	Revision string `json:"revision"`
	Status   Status `json:"status"`
	Steps    []Step `json:"steps"`
	// Digest is the SHA-256 of the definition, set by Release. Validate refuses a released
	// or obsolete routing whose steps no longer match it.
	Digest string `json:"digest,omitempty"`

	c *compiled // set by Validate; nil until then
}

// Step is one operation of a routing.
type Step struct {
	ID              string            `json:"id"` // sequence such as "10"
	Name            string            `json:"name"`
	WorkCenter      string            `json:"work_center,omitempty"`
	Alternates      []string          `json:"alternates,omitempty"` // other work centers that can run the step
	EquipmentClass  string            `json:"equipment_class,omitempty"`
	Setup           time.Duration     `json:"setup,omitempty"`
	RunPerUnit      time.Duration     `json:"run_per_unit,omitempty"`
	Qualification   string            `json:"qualification,omitempty"` // required qualification id; "" = none
	Materials       []Material        `json:"materials,omitempty"`
	InspectionPlan  string            `json:"inspection_plan,omitempty"`
	Instructions    string            `json:"instructions,omitempty"`
	InstructionsURL string            `json:"instructions_url,omitempty"`
	Parameters      map[string]string `json:"parameters,omitempty"`
	SetupFamily     string            `json:"setup_family,omitempty"`
	// Optional steps may be skipped without special authority.
	Optional bool `json:"optional,omitempty"`
	// TransferQty zero: the next step receives this step's good quantity when this step is
	// complete. Non-zero: the next step receives good quantity in batches of this size as it
	// passes (overlap).
	TransferQty units.Quantity `json:"transfer_qty,omitzero"`
	// ExpectedYield (good / processed, e.g. 0.98) and YieldTolerance (e.g. 0.01); zero
	// ExpectedYield means no yield check.
	ExpectedYield  decimal.Decimal `json:"expected_yield,omitzero"`
	YieldTolerance decimal.Decimal `json:"yield_tolerance,omitzero"`

	// Flow. With neither Successors nor Condition the step is followed by the next step in
	// list order (the last step by End). Steps of a rework path listed after the main line
	// therefore need the last main-line step to say Then(End).
	//
	// Successors are explicit next steps; several successors are a parallel split (each
	// receives all the good quantity, and the branches must meet at a join before End).
	// Use End to end the routing here.
	Successors []string `json:"successors,omitempty"`
	// Condition is an expr expression over the track-out (see Env) that returns the id of
	// the next step (or End), e.g. `result.bore > 10.02 ? "REWORK-10" : "30"`. Every value it
	// can return must be written as a string literal.
	Condition string `json:"condition,omitempty"`
	// Join makes the step an AND join: it receives the quantity that has arrived over every
	// one of its incoming branches, the predecessors the first step reaches without passing
	// the join (what a rework loop brings back into it arrives at once).
	Join bool `json:"join,omitempty"`
	// ReworkEntry marks the first step of a rework path: it is reached by rework (track-out
	// rework or MoveBack), not by the normal flow.
	ReworkEntry bool `json:"rework_entry,omitempty"`
}

// Material is a component consumed at a step.
type Material struct {
	Component  string         `json:"component"`
	PerUnit    units.Quantity `json:"per_unit"`
	LotTracked bool           `json:"lot_tracked,omitempty"`
	// Backflush consumes PerUnit × good quantity at track-out (see the Backflush effect)
	// instead of the consumption being recorded as it happens.
	Backflush bool `json:"backflush,omitempty"`
}

// Parse reads a routing from JSON and validates it. The error lists every problem: each
// field of the wrong type or with an unknown name (a misspelt "sucessors" would silently
// change the flow), or, when the JSON reads, everything Validate finds.
func Parse(data []byte) (*Routing, error) {
	var r Routing
	var ps Problems
	decodeFields(data, &r, "", &ps)
	if len(ps) > 0 {
		return nil, ps
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// decodeFields decodes the JSON object data into the struct *v one field at a time, so that
// every field that does not read is a problem of its own (encoding/json reports only the
// first). The steps of a routing are decoded the same way, one by one.
func decodeFields(data []byte, v any, path string, ps *Problems) {
	at := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		*ps = append(*ps, Problem{Path: cmp.Or(path, "routing"), Value: clip(data), Reason: "must be a JSON object"})
		return
	}
	rv := reflect.ValueOf(v).Elem()
	fields := map[string]reflect.Value{}
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); f.IsExported() && name != "" && name != "-" {
			fields[name] = rv.Field(i)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		fv, ok := fields[name]
		switch {
		case !ok:
			*ps = append(*ps, Problem{Path: at(name), Value: clip(raw[name]), Reason: "unknown field; check its spelling"})
		case fv.Type() == reflect.TypeFor[[]Step]():
			var steps []json.RawMessage
			if err := json.Unmarshal(raw[name], &steps); err != nil {
				*ps = append(*ps, Problem{Path: at(name), Value: clip(raw[name]), Reason: "must be a list of steps"})
				continue
			}
			out := make([]Step, len(steps))
			for i, st := range steps {
				decodeFields(st, &out[i], fmt.Sprintf("%s[#%d]", at(name), i+1), ps)
			}
			fv.Set(reflect.ValueOf(out))
		default:
			if err := json.Unmarshal(raw[name], fv.Addr().Interface()); err != nil {
				*ps = append(*ps, Problem{Path: at(name), Value: clip(raw[name]), Reason: "does not read: " + err.Error()})
			}
		}
	}
}

// clip is JSON text for a problem, shortened.
func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// Step returns the step with the given id.
func (r *Routing) Step(id string) (Step, bool) {
	for i := range r.Steps {
		if r.Steps[i].ID == id {
			return r.Steps[i], true
		}
	}
	return Step{}, false
}

// Release moves a valid draft to Released and seals its definition with a Digest. Whether a
// signature is needed is the engine's policy.
func (r *Routing) Release() error {
	if r.Status != Draft {
		return fmt.Errorf("%w: routing %s rev %s is %s; only a draft can be released (use NewRevision for a new draft)", ErrStatus, r.ID, r.Revision, r.Status)
	}
	if err := r.Validate(); err != nil {
		return err
	}
	r.Digest = r.digest()
	r.Status = Released
	return nil
}

// Obsolete moves a released routing to Obsolete: no new work may start on it.
func (r *Routing) Obsolete() error {
	if r.Status != Released {
		return fmt.Errorf("%w: routing %s rev %s is %s; only a released routing can be made obsolete", ErrStatus, r.ID, r.Revision, r.Status)
	}
	r.Status = Obsolete
	return nil
}

// NewRevision returns a validated draft copy of r with the given revision; r is unchanged.
func (r *Routing) NewRevision(revision string) (*Routing, error) {
	if revision == "" || revision == r.Revision {
		return nil, fmt.Errorf("%w: new revision %q must be non-empty and differ from %q", ErrStatus, revision, r.Revision)
	}
	n := r.Clone()
	n.Revision, n.Status, n.Digest = revision, Draft, ""
	if err := n.Validate(); err != nil {
		return nil, err
	}
	return n, nil
}

// Clone returns a deep copy of r, so a caller may change the copy without touching r. The
// copy is not validated: call Validate before it runs (it may have been changed; moves
// refuse it with ErrNotValidated until then).
func (r *Routing) Clone() *Routing {
	n := *r
	n.c = nil
	n.Steps = make([]Step, len(r.Steps))
	for i, s := range r.Steps {
		s.Alternates = slices.Clone(s.Alternates)
		s.Materials = slices.Clone(s.Materials)
		s.Parameters = maps.Clone(s.Parameters)
		s.Successors = slices.Clone(s.Successors)
		n.Steps[i] = s
	}
	return &n
}

// digest is the SHA-256 of the definition without status and digest: its JSON as
// encoding/json writes it with shopspring's default settings, whatever they are now.
func (r *Routing) digest() string {
	steps := make([]digestStep, len(r.Steps))
	for i, s := range r.Steps {
		steps[i] = digestStep{s.ID, s.Name, s.WorkCenter, s.Alternates, s.EquipmentClass, s.Setup, s.RunPerUnit,
			s.Qualification, s.Materials, s.InspectionPlan, s.Instructions, s.InstructionsURL, s.Parameters,
			s.SetupFamily, s.Optional, s.TransferQty, canonicalDecimal(s.ExpectedYield), canonicalDecimal(s.YieldTolerance),
			s.Successors, s.Condition, s.Join, s.ReworkEntry}
	}
	b, err := json.Marshal(struct {
		ID, Product, Revision string
		Steps                 []digestStep
	}{r.ID, r.Product, r.Revision, steps})
	if err != nil { // cannot happen: every field marshals
		return ""
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// digestStep is Step as its digest reads it: the same fields, names and order, with the
// decimals written as decimal.Decimal writes them by default (TestDigestStepMirrorsStep
// keeps the two types alike). Quantities write themselves the same way in every process.
type digestStep struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	WorkCenter      string            `json:"work_center,omitempty"`
	Alternates      []string          `json:"alternates,omitempty"`
	EquipmentClass  string            `json:"equipment_class,omitempty"`
	Setup           time.Duration     `json:"setup,omitempty"`
	RunPerUnit      time.Duration     `json:"run_per_unit,omitempty"`
	Qualification   string            `json:"qualification,omitempty"`
	Materials       []Material        `json:"materials,omitempty"`
	InspectionPlan  string            `json:"inspection_plan,omitempty"`
	Instructions    string            `json:"instructions,omitempty"`
	InstructionsURL string            `json:"instructions_url,omitempty"`
	Parameters      map[string]string `json:"parameters,omitempty"`
	SetupFamily     string            `json:"setup_family,omitempty"`
	Optional        bool              `json:"optional,omitempty"`
	TransferQty     units.Quantity    `json:"transfer_qty,omitzero"`
	ExpectedYield   canonicalDecimal  `json:"expected_yield,omitzero"`
	YieldTolerance  canonicalDecimal  `json:"yield_tolerance,omitzero"`
	Successors      []string          `json:"successors,omitempty"`
	Condition       string            `json:"condition,omitempty"`
	Join            bool              `json:"join,omitempty"`
	ReworkEntry     bool              `json:"rework_entry,omitempty"`
}

// canonicalDecimal is a decimal.Decimal that marshals as the quoted string decimal writes
// with its default settings.
type canonicalDecimal decimal.Decimal

// IsZero reports whether d is zero, which omitzero omits, as it does a zero decimal.Decimal.
func (d canonicalDecimal) IsZero() bool { return decimal.Decimal(d).IsZero() }

// MarshalJSON implements json.Marshaler.
func (d canonicalDecimal) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, units.FormatDecimal(decimal.Decimal(d))), nil
}
