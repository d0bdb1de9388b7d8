package erp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/units"
)

// Segment types: what a confirmation reports.
const (
	Completion            = "completion"  // lot.finished: good product left the end of the routing (goods receipt)
	OperationConfirmation = "operation"   // operation.completed: an operation's final totals (operation confirmation)
	Consumption           = "consumption" // material.consumed: a component lot went into a lot (goods issue)
	Scrap                 = "scrap"       // lot.scrapped: quantity scrapped at an operation, with the reason code
	LaborTime             = "labor"       // labor on an operation stopped: a person's time on it
	MachineTime           = "machine"     // a machine run of an operation stopped: the equipment's time on it
)

// Material uses of MaterialActual.
const (
	Produced = "Produced"
	Consumed = "Consumed"
	Scrapped = "Scrapped"
)

// ExportOptions selects and names what Export reports.
type ExportOptions struct {
	// Site limits the export to one site's events; empty exports every site.
	Site string
	// Prefix starts every document and confirmation id, so ids of several plants feeding
	// one ERP do not collide. Default "takt".
	Prefix string
	// Limit is the most events read in one call; default 1000.
	Limit int
}

// Performance is production performance for the ERP (ISA-95 ProductionPerformance): the
// confirmations of the events after From up to To, grouped by work order.
type Performance struct {
	ID        string     `json:"id"`   // "<prefix>-<first position>-<To>"
	From      uint64     `json:"from"` // the checkpoint the export started after
	To        uint64     `json:"to"`   // the position to save as the new checkpoint once the ERP has the document
	Start     time.Time  `json:"start,omitzero"`
	End       time.Time  `json:"end,omitzero"`
	Responses []Response `json:"responses"`
}

// Response is the performance of one work order (ISA-95 ProductionResponse).
type Response struct {
	WorkOrder string    `json:"work_order"`        // Takt's work order id
	Number    string    `json:"number"`            // the work order number
	Request   string    `json:"request,omitempty"` // the ERP's production request id (the external id of the order, or of the order it was split from)
	Product   string    `json:"product"`           // the product made
	Segments  []Segment `json:"segments"`          // in event order
}

// Segment is one confirmation (ISA-95 SegmentResponse). Its ID is derived from the
// position of the event it reports, so a confirmation exported twice has the same id and
// the ERP drops the second.
type Segment struct {
	ID        string            `json:"id"` // "<prefix>-<position>"
	Position  uint64            `json:"position"`
	Type      string            `json:"type"`                // Completion, OperationConfirmation, Consumption, Scrap, LaborTime or MachineTime
	Operation string            `json:"operation,omitempty"` // the routing step
	Lot       string            `json:"lot,omitempty"`
	Start     time.Time         `json:"start,omitzero"`
	End       time.Time         `json:"end"`
	Materials []MaterialActual  `json:"materials,omitempty"`
	Totals    *OperationTotals  `json:"totals,omitempty"` // Operation segments
	Personnel []PersonnelActual `json:"personnel,omitempty"`
	Equipment []EquipmentActual `json:"equipment,omitempty"`
}

// MaterialActual is a movement of material: produced, consumed or scrapped.
type MaterialActual struct {
	Use      string         `json:"use"` // Produced, Consumed or Scrapped
	Material string         `json:"material"`
	Lot      string         `json:"lot"`
	Qty      units.Quantity `json:"qty"`
	Reason   string         `json:"reason,omitempty"` // the scrap reason code
}

// OperationTotals are an operation's final books for a lot.
type OperationTotals struct {
	Good   units.Quantity `json:"good"`
	Scrap  units.Quantity `json:"scrap"`
	Rework units.Quantity `json:"rework"`
	Loss   units.Quantity `json:"loss"`
}

// PersonnelActual is a person's labor time on an operation: breaks excluded, time spent
// on several operations at once split among them.
type PersonnelActual struct {
	Person   string         `json:"person"`
	Activity string         `json:"activity,omitempty"`
	Time     units.Quantity `json:"time"` // in seconds
}

// EquipmentActual is equipment's run time on an operation.
type EquipmentActual struct {
	Equipment string         `json:"equipment"`
	Time      units.Quantity `json:"time"` // in seconds
}

// Export builds the production performance of the events after position after (read at
// most opts.Limit of them). The returned document's To is the position to checkpoint
// once the ERP has it — also when it holds no confirmation because none of the events
// read was one. Labor time is the person's time on the operation as the plant computes
// it at export time (see mes.Plant.Timesheet); a labor correction booked after the
// export is not sent again.
//
//	perf, err := erp.Export(ctx, plant, checkpoint, erp.ExportOptions{Site: "PLANT-1"})
//	if err == nil && len(perf.Responses) > 0 { err = send(perf) }
//	if err == nil { err = plant.SaveCheckpoint(ctx, "erp", perf.To) }
func Export(ctx context.Context, p *mes.Plant, after uint64, opts ExportOptions) (Performance, error) {
	if opts.Prefix == "" {
		opts.Prefix = "takt"
	}
	if opts.Limit <= 0 {
		opts.Limit = 1000
	}
	evs, err := p.ReadEvents(ctx, after, opts.Limit)
	if err != nil {
		return Performance{}, fmt.Errorf("erp: reading events after %d: %w", after, err)
	}
	x := &exporter{ctx: ctx, p: p, opts: opts, orders: map[string]*Response{}, lots: map[string]string{}, evs: evs}
	perf := Performance{From: after, To: after}
	for i, ev := range evs {
		perf.To = ev.Position
		if opts.Site != "" && ev.Site != opts.Site {
			continue
		}
		if err := x.event(i, ev); err != nil {
			return Performance{}, fmt.Errorf("erp: exporting event %d (%s): %w", ev.Position, ev.Type, err)
		}
	}
	perf.ID = fmt.Sprintf("%s-%d-%d", opts.Prefix, after+1, perf.To)
	for _, id := range x.order {
		r := x.orders[id]
		perf.Responses = append(perf.Responses, *r)
		for _, s := range r.Segments {
			start := s.Start
			if start.IsZero() {
				start = s.End
			}
			if perf.Start.IsZero() || start.Before(perf.Start) {
				perf.Start = start
			}
			if s.End.After(perf.End) {
				perf.End = s.End
			}
		}
	}
	return perf, nil
}

// maxLaborRun bounds how far back Export looks for the start of labor that stopped: a
// labor run is never longer than the plant's labor correction window (a week by default).
const maxLaborRun = 8 * 24 * time.Hour

// exporter turns events into confirmations.
type exporter struct {
	ctx    context.Context
	p      *mes.Plant
	opts   ExportOptions
	orders map[string]*Response
	order  []string          // work order ids in the order first seen
	lots   map[string]string // lot → material
	evs    []mes.Event       // the events of this export
}

// event turns the event at index i of the export into a confirmation.
func (x *exporter) event(i int, ev mes.Event) error {
	seg := Segment{ID: fmt.Sprintf("%s-%d", x.opts.Prefix, ev.Position), Position: ev.Position, End: ev.Time}
	var wo string
	switch e := ev.Payload.(type) {
	case *mes.LotFinished:
		wo, seg.Type, seg.Lot = e.WorkOrder, Completion, e.Lot
		seg.Materials = []MaterialActual{{Use: Produced, Material: e.Product, Lot: e.Lot, Qty: e.Qty}}
	case *mes.OperationCompleted:
		wo, seg.Type, seg.Operation, seg.Lot = e.WorkOrder, OperationConfirmation, e.Step, e.Lot
		seg.Totals = &OperationTotals{Good: e.Books.Good, Scrap: e.Books.Scrap, Rework: e.Books.Rework, Loss: e.Books.Loss}
	case *mes.MaterialConsumed:
		m, err := x.material(e.From)
		if err != nil {
			return err
		}
		wo, seg.Type, seg.Operation, seg.Lot = e.WorkOrder, Consumption, e.Step, e.Into
		seg.Materials = []MaterialActual{{Use: Consumed, Material: m, Lot: e.From, Qty: e.Qty}}
	case *mes.LotScrapped:
		m, err := x.material(e.Lot)
		if err != nil {
			return err
		}
		wo, seg.Type, seg.Operation, seg.Lot = e.WorkOrder, Scrap, e.Step, e.Lot
		seg.Materials = []MaterialActual{{Use: Scrapped, Material: m, Lot: e.Lot, Qty: e.Qty, Reason: e.Reason}}
	case *mes.MachineRunStopped:
		r := e.Run
		wo, seg.Type, seg.Operation, seg.Lot, seg.Start, seg.End = r.Op.WorkOrder, MachineTime, r.Op.Step, r.Op.Lot, r.From, r.To
		spent, err := x.machineTime(ev.Site, r)
		if err != nil {
			return err
		}
		seg.Equipment = []EquipmentActual{{Equipment: r.Equipment, Time: seconds(spent)}}
	case *mes.LaborBooked:
		rec := e.Record
		if rec.Op.WorkOrder == "" {
			return nil // indirect labor has no order
		}
		if rec.Kind != labor.StopLabor || (rec.Correction != nil && rec.Correction.Of != "") {
			return nil // a run is sent when it stops (also by a stop entered late); corrections of sent bookings are not re-sent
		}
		start, found, err := x.startOf(i, rec)
		if err != nil || !found {
			return err
		}
		if err := x.labor(&seg, rec.Person, rec.Op, start.Activity, start.At, rec.At); err != nil {
			return err
		}
		wo = rec.Op.WorkOrder
	case *mes.LaborTimerStopped:
		t := e.Timer
		if t.Op.WorkOrder == "" {
			return nil
		}
		if err := x.labor(&seg, e.Person, t.Op, t.Activity, t.Since, e.At); err != nil {
			return err
		}
		wo = t.Op.WorkOrder
	default:
		return nil
	}
	r, err := x.response(wo)
	if err != nil {
		return err
	}
	r.Segments = append(r.Segments, seg)
	return nil
}

// labor fills a labor segment: the person's time on op within [from, to).
func (x *exporter) labor(seg *Segment, person string, op labor.Operation, activity labor.Activity, from, to time.Time) error {
	seg.Type, seg.Operation, seg.Lot, seg.Start, seg.End = LaborTime, op.Step, op.Lot, from, to
	var spent time.Duration
	if from.Before(to) {
		ts, err := x.p.Timesheet(x.ctx, person, from, to)
		if err != nil {
			return err
		}
		for _, s := range ts.Slices {
			if s.Op == op {
				spent += s.Time
			}
		}
	}
	seg.Personnel = []PersonnelActual{{Person: person, Activity: string(activity), Time: seconds(spent)}}
	return nil
}

// machineTime is the run's share of its equipment's time: equipment that ran several
// operations at once split each instant among them, as the engine's labor reports do.
func (x *exporter) machineTime(site string, r labor.MachineRun) (time.Duration, error) {
	if !r.From.Before(r.To) {
		return 0, nil
	}
	slices, err := x.p.MachineTime(x.ctx, site, r.Equipment, r.From, r.To)
	if err != nil {
		return 0, err
	}
	var spent time.Duration
	for _, s := range slices {
		if s.Op == r.Op {
			spent += s.Time
		}
	}
	return spent, nil
}

// startOf finds the start of the run the labor stop ends: the latest start of the person on
// the operation at or before the stop, as corrected by the bookings before the stop (a start
// entered late or moved by a correction counts where it was booked to be). It reads the log
// back from the stop, at index i of the export, in pages, as far as the clock-in the run
// belongs to or maxLaborRun; a run that ended after that start, before the stop or, sent
// already, after it, means this stop has no start.
func (x *exporter) startOf(i int, stop labor.Record) (labor.Record, bool, error) {
	var (
		start      labor.Record
		ended, in  time.Time // the latest end of a run of the operation, the latest clock-in, before the stop
		superseded = map[string]bool{}
	)
	visit := func(ev mes.Event) bool { // false: nothing earlier matters
		if ev.Time.Before(stop.At.Add(-maxLaborRun)) || ev.Time.Before(in) || (!start.At.IsZero() && ev.Time.Before(start.At)) {
			return false
		}
		switch e := ev.Payload.(type) {
		case *mes.LaborTimerStopped:
			// A run stopped before this stop was booked went to the ERP already, even when it
			// stopped after this stop's time (this stop is then a late entry inside it, and a
			// correction of what was sent is not sent again).
			if e.Person == stop.Person && e.Timer.Op == stop.Op && e.At.After(ended) {
				ended = e.At
			}
		case *mes.LaborBooked:
			r := e.Record
			if r.Person != stop.Person || superseded[r.ID] {
				if superseded[r.ID] && r.Correction != nil && r.Correction.Of != "" {
					superseded[r.Correction.Of] = true
				}
				return true
			}
			if r.Correction != nil && r.Correction.Of != "" {
				superseded[r.Correction.Of] = true // the newest booking of a chain of corrections stands
			}
			switch {
			case r.Kind == labor.ClockIn && !r.At.After(stop.At) && r.At.After(in):
				in = r.At
			case r.Kind == labor.ClockOut && r.At.Before(stop.At) && r.At.After(ended):
				ended = r.At // a clock-out ends every run
			case r.Op != stop.Op:
			case r.Kind == labor.StartLabor && !r.At.After(stop.At) && r.At.After(start.At):
				start = r
			case r.Kind == labor.StopLabor && r.At.Before(stop.At) && r.At.After(ended):
				ended = r.At
			}
		}
		return true
	}
	found := func() (labor.Record, bool, error) {
		if start.At.IsZero() || ended.After(start.At) {
			return labor.Record{}, false, nil // an earlier run; this stop has no start
		}
		return start, true, nil
	}
	for j := i - 1; j >= 0; j-- {
		if !visit(x.evs[j]) {
			return found()
		}
	}
	const page = 512
	for end := x.evs[0].Position; end > 1; {
		from := uint64(0)
		if end > page+1 {
			from = end - page - 1
		}
		evs, err := x.p.ReadEvents(x.ctx, from, int(end-1-from))
		if err != nil {
			return labor.Record{}, false, err
		}
		for j := len(evs) - 1; j >= 0; j-- {
			if !visit(evs[j]) {
				return found()
			}
		}
		end = from + 1
	}
	return found()
}

// response returns the response of a work order, reading the order once per export.
func (x *exporter) response(id string) (*Response, error) {
	if r, ok := x.orders[id]; ok {
		return r, nil
	}
	wo, err := x.p.WorkOrder(x.ctx, id)
	if err != nil {
		return nil, fmt.Errorf("work order %s: %w", id, err)
	}
	r := &Response{WorkOrder: wo.ID, Number: wo.Number, Request: wo.ExternalID, Product: wo.Product}
	for from := wo.SplitFrom; r.Request == "" && from != ""; { // split off an order: the ERP knows that one
		parent, err := x.p.WorkOrder(x.ctx, from)
		if err != nil {
			return nil, fmt.Errorf("work order %s, which %s was split from: %w", from, wo.Number, err)
		}
		r.Request, from = parent.ExternalID, parent.SplitFrom
	}
	x.orders[id] = r
	x.order = append(x.order, id)
	return r, nil
}

// material returns the material of a lot (immutable, so read once).
func (x *exporter) material(lot string) (string, error) {
	if m, ok := x.lots[lot]; ok {
		return m, nil
	}
	l, err := x.p.Lot(x.ctx, lot)
	if errors.Is(err, mes.ErrNotFound) {
		return "", fmt.Errorf("lot %s of the event log is not in the plant: %w", lot, err)
	}
	if err != nil {
		return "", err
	}
	x.lots[lot] = l.Material
	return l.Material, nil
}

// seconds is d as a quantity in seconds, exactly.
func seconds(d time.Duration) units.Quantity {
	q, _ := units.New(decimal.New(int64(d), -9), "s") // "s" is in the units table
	return q
}
