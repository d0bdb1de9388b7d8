package mes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/labor"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/store"
)

// Records the device side keeps. An equipment's signal-derived state is split in two so
// that ingest cost does not grow with history:
//
//   - equipmentStateKind (one record per equipment, id = equipment): an equipment.Timeline
//     pruned after every command to the latest signal time. It holds the de-duplication
//     memory (512 bytes per source), the state in effect and the alarms: bounded in size,
//     rewritten on every ingest, and versioned, so two processes applying the same
//     (source, seq) serialise on it and one of them sees the duplicate.
//   - signalSegmentKind (append-only): the signals one command applied, one record per
//     equipment and UTC hour of the signals' time, indexed by "<equipment>/<hour>". Never
//     rewritten. Queries rebuild a Timeline for their window by replaying the hours it
//     covers (plus the last state change before it).
//   - correctionKind (append-only): operator reason corrections, indexed by the hour of the
//     interval they correct.
//   - equipmentLoadKind (one per equipment): the operations tracked in on it, each with its
//     open machine run, written by track-in and track-out, read by ingest (where counts
//     go), by interlock decisions and by labor reports (open machine runs).
//   - machineCountsKind (one per lot, step and equipment): the machine-reported counts of
//     an operation.
const (
	equipmentStateKind = "equipment_state"
	signalSegmentKind  = "equipment_signals"
	correctionKind     = "equipment_correction"
	equipmentLoadKind  = "equipment_load"
	machineCountsKind  = "machine_counts"
)

// Query limits.
const (
	// MaxEquipmentWindow is the longest window EquipmentHistory and OEE accept; ask for
	// longer periods in parts and combine them with equipment.AggregateOEE.
	MaxEquipmentWindow = 400 * 24 * time.Hour
	// StateLookback is how far before a window's start a query looks for the state in
	// effect at the start. Time before the window whose state is older than that shows as
	// equipment.Unknown.
	StateLookback = 31 * 24 * time.Hour
	// MaxSignalsPerCall is the largest batch IngestSignals accepts.
	MaxSignalsPerCall = 10_000
)

// bucket is the width of the time buckets signals are filed under.
const bucket = time.Hour

func bucketKey(equipmentID string, t time.Time) string {
	return equipmentID + "/" + t.UTC().Truncate(bucket).Format("2006-01-02T15")
}

// DeviceCommandKind says what a DeviceCommand asks of a machine.
type DeviceCommandKind string

// Device command kinds.
const (
	// DownloadParameters: load the step's parameters (routing.Step.Parameters) for the
	// operation just tracked in.
	DownloadParameters DeviceCommandKind = "parameters"
	// SetInterlock: block or release the machine (see equipment.DecideInterlock).
	SetInterlock DeviceCommandKind = "interlock"
)

// DeviceCommand is a command the engine sends to a machine through the host's
// DeviceCommander. Its JSON form is what device adapters publish.
type DeviceCommand struct {
	// Kind says what the command asks.
	Kind DeviceCommandKind `json:"kind"`
	// Site and Equipment address the machine.
	Site      string `json:"site"`
	Equipment string `json:"equipment"`
	// Lot, WorkOrder and Step name the operation a DownloadParameters command is for.
	Lot       string `json:"lot,omitempty"`
	WorkOrder string `json:"work_order,omitempty"`
	Step      string `json:"step,omitempty"`
	// Parameters are the step's parameters (DownloadParameters).
	Parameters map[string]string `json:"parameters,omitempty"`
	// Interlock is the decision (SetInterlock).
	Interlock *equipment.Interlock `json:"interlock,omitempty"`
	// Issued is when the engine decided the command (the command's time).
	Issued time.Time `json:"issued"`
}

// DeviceCommander delivers commands to machines; the host implements it over its device
// protocol (package mqttdevice publishes them over MQTT). The engine calls it after the
// command that decided it has committed, never from inside a transaction, so a rolled-back
// command never moves a machine. An error is logged (WithLogger) and does not undo the
// committed command: the engine tells the machine again at the next track-in, track-out or
// hold change of the equipment. Implementations that need delivery guarantees queue
// durably (MQTT QoS 1 with a persistent session does).
type DeviceCommander interface {
	SendCommand(ctx context.Context, cmd DeviceCommand) error
}

// deviceConfig is the device side of a Plant's configuration.
type deviceConfig struct {
	commander DeviceCommander
}

// WithDeviceCommander sets where device commands (parameter downloads on track-in,
// interlocks after track-in, track-out and hold changes) go. Without it none are sent.
func WithDeviceCommander(d DeviceCommander) Option {
	return func(p *Plant) error { p.devices.commander = d; return nil }
}

// sendDevice delivers the commands a committed command decided. Failures are logged.
func (p *Plant) sendDevice(ctx context.Context, cmds []DeviceCommand) {
	for _, cmd := range cmds {
		if err := p.devices.commander.SendCommand(ctx, cmd); err != nil {
			p.log.Error("device command not delivered; it is sent again at the next change of the equipment",
				"equipment", cmd.Equipment, "kind", cmd.Kind, "lot", cmd.Lot, "err", err)
		}
	}
}

// Device events.
type (
	// EquipmentStateChanged: a machine reported a state (running, idle, down, setup,
	// planned stop), in the order signals were applied; At is when it happened.
	EquipmentStateChanged struct {
		Equipment string                 `json:"equipment"`
		Source    string                 `json:"source"`
		Seq       uint64                 `json:"seq"`
		At        time.Time              `json:"at"`
		State     equipment.MachineState `json:"state"`
		Reason    string                 `json:"reason,omitempty"`
	}
	// MachineCountsRecorded: parts a machine counted, summed over the signals of one
	// command for one operation. Lot, WorkOrder and Step name the operation tracked in on
	// the equipment when the parts were made; they are empty when none was.
	MachineCountsRecorded struct {
		Equipment string    `json:"equipment"`
		Lot       string    `json:"lot"`
		WorkOrder string    `json:"work_order"`
		Step      string    `json:"step"`
		Good      int64     `json:"good"`
		Reject    int64     `json:"reject"`
		Signals   int       `json:"signals"`
		From      time.Time `json:"from"`
		To        time.Time `json:"to"`
	}
	// MeasurementRecorded: a machine reported a process value. Lot, WorkOrder and Step
	// name the operation tracked in on the equipment at that time, if any; quality data
	// collection consumes these events.
	MeasurementRecorded struct {
		Equipment string          `json:"equipment"`
		Lot       string          `json:"lot"`
		WorkOrder string          `json:"work_order"`
		Step      string          `json:"step"`
		Source    string          `json:"source"`
		Seq       uint64          `json:"seq"`
		At        time.Time       `json:"at"`
		Tag       string          `json:"tag"`
		Value     decimal.Decimal `json:"value"`
		Unit      string          `json:"unit,omitempty"`
	}
	// EquipmentAlarm: a machine raised (Active) or cleared an alarm.
	EquipmentAlarm struct {
		Equipment string    `json:"equipment"`
		Source    string    `json:"source"`
		Seq       uint64    `json:"seq"`
		At        time.Time `json:"at"`
		Code      string    `json:"code"`
		Text      string    `json:"text"`
		Active    bool      `json:"active"`
	}
	// DowntimeReasonCorrected: an operator assigned a reason to a state interval after
	// the fact. The interval began at Interval; Previous is the reason in effect before.
	DowntimeReasonCorrected struct {
		Equipment   string                 `json:"equipment"`
		Interval    time.Time              `json:"interval"`
		State       equipment.MachineState `json:"state"`
		Previous    string                 `json:"previous"`
		Reason      string                 `json:"reason"`
		Note        string                 `json:"note,omitempty"`
		CorrectedBy string                 `json:"corrected_by"`
		Where       string                 `json:"where"`
	}
)

// EventType implements EventPayload.
func (EquipmentStateChanged) EventType() string { return "equipment.state_changed" }

// EventType implements EventPayload.
func (MachineCountsRecorded) EventType() string { return "equipment.counts_recorded" }

// EventType implements EventPayload.
func (MeasurementRecorded) EventType() string { return "equipment.measurement_recorded" }

// EventType implements EventPayload.
func (EquipmentAlarm) EventType() string { return "equipment.alarm" }

// EventType implements EventPayload.
func (DowntimeReasonCorrected) EventType() string { return "equipment.reason_corrected" }

func init() {
	registerEvent(&EquipmentStateChanged{}, &MachineCountsRecorded{}, &MeasurementRecorded{}, &EquipmentAlarm{}, &DowntimeReasonCorrected{})
}

// IngestResult says what IngestSignals did with one signal.
type IngestResult struct {
	Equipment string            `json:"equipment"`
	Source    string            `json:"source"`
	Seq       uint64            `json:"seq"`
	Outcome   equipment.Outcome `json:"outcome"`
}

// equipmentHead is the bounded, per-equipment part of the signal state.
type equipmentHead struct {
	// Timeline holds de-duplication memory, the state in effect and alarms; its history is
	// pruned to Latest after every command.
	Timeline *equipment.Timeline `json:"timeline"`
	// Latest is the latest signal time applied so far.
	Latest time.Time `json:"latest"`
	// Segments counts the signal segments written; it numbers the next one.
	Segments uint64 `json:"segments"`
}

// signalSegment is the signals one command applied for one equipment and hour.
type signalSegment struct {
	Signals []equipment.Signal `json:"signals"`
}

// loadedOperation is an operation tracked in on an equipment: the equipment runs it from
// Since (machine run Run) until nothing of it is in process any more.
type loadedOperation struct {
	Lot         string    `json:"lot"`
	WorkOrder   string    `json:"work_order"`
	Step        string    `json:"step"`
	WorkCenter  string    `json:"work_center,omitempty"` // the step's
	Material    string    `json:"material"`
	SupplierLot string    `json:"supplier_lot,omitempty"`
	Since       time.Time `json:"since"`
	Run         string    `json:"run"`
}

// run returns the machine run of the operation on equipmentID, open (To zero).
func (o loadedOperation) run(equipmentID string) labor.MachineRun {
	return labor.MachineRun{Equipment: equipmentID, WorkCenter: o.WorkCenter, From: o.Since,
		Op: labor.Operation{WorkOrder: o.WorkOrder, Lot: o.Lot, Step: o.Step}}
}

// equipmentLoad is what is tracked in on an equipment.
type equipmentLoad struct {
	Operations []loadedOperation `json:"operations"` // replaced, never changed in place
}

// detach implements detacher: Operations is only ever replaced.
func (l *equipmentLoad) detach() {}

// loadIndex are the index entries of an equipment load with and without operations; the
// store keeps them and nobody changes them.
var loadIndex = map[bool]map[string]string{true: {"loaded": "yes"}, false: {"loaded": "no"}}

// at returns the operation whose track-in is the latest at or before t, or nil.
func (l *equipmentLoad) at(t time.Time) *loadedOperation {
	var best *loadedOperation
	for i := range l.Operations {
		op := &l.Operations[i]
		if !op.Since.After(t) && (best == nil || op.Since.After(best.Since)) {
			best = op
		}
	}
	return best
}

// MachineCount is what a machine counted for one operation: the parts reported by its
// signals while the lot was tracked in on it. It is reported alongside the operator's
// track-out, never instead of it.
type MachineCount struct {
	Lot       string    `json:"lot"`
	WorkOrder string    `json:"work_order"`
	Step      string    `json:"step"`
	Equipment string    `json:"equipment"`
	Good      int64     `json:"good"`
	Reject    int64     `json:"reject"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	Version   uint64    `json:"-"`
}

// detach: machine counts hold no maps or slices.
func (m *MachineCount) detach() {}

// IngestSignals applies device signals (counts, machine states, measurements, alarms) as
// one command and returns what happened to each, in input order: Applied, Duplicate (the
// same source and seq was applied before, by this or another process: nothing changes)
// or TooOld (too far below the source's latest seq to tell; not applied, logged — see
// equipment.DedupWindow). A late signal is placed in time order. The actor must be a
// device (mes.By(mes.Actor{ID: "plc-7", Kind: mes.Device})); every signal must be valid
// and about defined equipment of one site, otherwise the error lists every problem
// (ErrInvalid) and nothing changes.
//
// Applied counts go to the operation tracked in on the equipment when the parts were made
// (the latest track-in at or before the signal's time among the operations in process;
// see MachineCounts) and to the equipment's history; they never track anything out.
// Measurements are published as MeasurementRecorded events for quality data collection,
// states as EquipmentStateChanged and alarms as EquipmentAlarm. Devices send batches: a
// call with many signals costs little more than one with a single signal.
func (p *Plant) IngestSignals(ctx context.Context, signals []equipment.Signal, opts ...CommandOption) ([]IngestResult, error) {
	return execute(ctx, p, "equipment.ingest", nil, opts, func(c *command) ([]IngestResult, error) {
		if c.opts.actor.Kind != Device {
			return nil, fmt.Errorf("%w: signals come from devices; pass mes.By(mes.Actor{ID: ..., Kind: mes.Device}), not a %s", ErrInvalid, c.opts.actor.Kind)
		}
		signals := slices.Clone(signals) // times are made UTC without touching the caller's
		groups, site, err := c.checkSignals(signals)
		if err != nil {
			return nil, err
		}
		if err := c.authorize(site); err != nil {
			return nil, err
		}
		results := make([]IngestResult, len(signals))
		applied := 0
		for _, g := range groups {
			n, err := c.ingest(site, g, signals, results)
			if err != nil {
				return nil, err
			}
			applied += n
		}
		if applied == 0 {
			return results, errReplayed // nothing new: write nothing
		}
		return results, nil
	})
}

// signalGroup is the indexes of the signals of one equipment, in input order.
type signalGroup struct {
	equipment string
	idx       []int
}

// checkSignals validates a batch, listing every problem, and groups it by equipment.
func (c *command) checkSignals(signals []equipment.Signal) ([]signalGroup, string, error) {
	ps := problems{what: "signal batch"}
	if len(signals) == 0 {
		ps.add("signals", "", "no signals; send at least one")
	}
	if len(signals) > MaxSignalsPerCall {
		ps.add("signals", fmt.Sprint(len(signals)), fmt.Sprintf("at most %d signals per call; split the batch", MaxSignalsPerCall))
		return nil, "", ps.err()
	}
	var groups []signalGroup
	byEquipment := map[string]int{}
	sites := map[string]string{}
	site := ""
	for i := range signals {
		s := &signals[i]
		s.At = s.At.UTC()
		path := fmt.Sprintf("signals[%d]", i)
		if err := s.Validate(); err != nil {
			var ve *equipment.ValidationError
			if errors.As(err, &ve) {
				for _, pr := range ve.Problems {
					ps.add(path+"."+pr.Path, pr.Value, pr.Reason)
				}
			} else {
				ps.add(path, "", err.Error())
			}
			continue
		}
		g, ok := byEquipment[s.Equipment]
		if !ok {
			var se storedEquipment
			if _, err := load(c.ctx, c.tx, equipmentKind, s.Equipment, &se); err != nil {
				if !errors.Is(err, ErrNotFound) {
					return nil, "", err
				}
				ps.add(path+".equipment", s.Equipment, "is not defined; add it with DefineEquipment")
				continue
			}
			g = len(groups)
			byEquipment[s.Equipment] = g
			groups = append(groups, signalGroup{equipment: s.Equipment})
			sites[s.Equipment] = se.Site
			if site == "" {
				site = se.Site
			} else if se.Site != site {
				ps.add(path+".equipment", s.Equipment, fmt.Sprintf("belongs to site %q, the batch to %q; send one batch per site", se.Site, site))
			}
		}
		groups[g].idx = append(groups[g].idx, i)
	}
	if site == "" && len(groups) > 0 {
		ps.add("signals", "", fmt.Sprintf("equipment %q belongs to no site; place it under a site", groups[0].equipment))
	}
	return groups, site, ps.err()
}

// ingest applies the signals of one equipment and records what is new.
func (c *command) ingest(site string, g signalGroup, signals []equipment.Signal, results []IngestResult) (int, error) {
	head := equipmentHead{}
	version, err := load(c.ctx, c.tx, equipmentStateKind, g.equipment, &head)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	if head.Timeline == nil {
		head.Timeline = equipment.NewTimeline(g.equipment)
	}
	var (
		newSignals []equipment.Signal
		tooOld     int
	)
	for _, i := range g.idx {
		s := signals[i]
		out, err := head.Timeline.Apply(s)
		if err != nil {
			return 0, fmt.Errorf("%w: signals[%d]: %w", ErrInvalid, i, err)
		}
		results[i] = IngestResult{Equipment: s.Equipment, Source: s.Source, Seq: s.Seq, Outcome: out}
		switch out {
		case equipment.Applied:
			newSignals = append(newSignals, s)
			if s.At.After(head.Latest) {
				head.Latest = s.At
			}
		case equipment.TooOld:
			tooOld++
		}
	}
	if tooOld > 0 {
		c.p.log.Warn("signals refused as too old: their seq is too far below the source's latest; does a device restart its sequence numbers?",
			"equipment", g.equipment, "count", tooOld)
	}
	if len(newSignals) == 0 {
		return 0, nil
	}
	head.Timeline.Prune(head.Latest)
	if err := c.writeSegments(site, g.equipment, &head, newSignals); err != nil {
		return 0, err
	}
	if _, err := save(c, equipmentStateKind, g.equipment, site, version, &head, nil, nil); err != nil {
		return 0, err
	}
	changes, err := c.signalEffects(site, g.equipment, newSignals)
	if err != nil {
		return 0, err
	}
	c.record(objectRef(equipmentStateKind, g.equipment), append([]store.Change{change("signals applied", "", len(newSignals))}, changes...)...)
	return len(newSignals), nil
}

// writeSegments files the applied signals under the hours they happened in.
func (c *command) writeSegments(site, equipmentID string, head *equipmentHead, sigs []equipment.Signal) error {
	byBucket := map[string][]equipment.Signal{}
	var keys []string
	for _, s := range sigs {
		k := bucketKey(equipmentID, s.At)
		if _, ok := byBucket[k]; !ok {
			keys = append(keys, k)
		}
		byBucket[k] = append(byBucket[k], s)
	}
	for _, k := range keys {
		head.Segments++
		id := fmt.Sprintf("%s/%012d", k, head.Segments)
		if _, err := save(c, signalSegmentKind, id, site, 0, &signalSegment{Signals: byBucket[k]}, nil, map[string]string{"bucket": k}); err != nil {
			return err
		}
	}
	return nil
}

// signalEffects books counts on operations and emits the events of applied signals. It
// returns the audited changes of the operations' machine counts.
func (c *command) signalEffects(site, equipmentID string, sigs []equipment.Signal) ([]store.Change, error) {
	ld, _, err := c.equipmentLoad(equipmentID)
	if err != nil {
		return nil, err
	}
	type opKey struct{ lot, workOrder, step string }
	counts := map[opKey]*MachineCountsRecorded{}
	var order []opKey
	for _, s := range sigs {
		var k opKey
		if op := ld.at(s.At); op != nil {
			k = opKey{op.Lot, op.WorkOrder, op.Step}
		}
		var err error
		switch s.Kind {
		case equipment.KindCount:
			m := counts[k]
			if m == nil {
				m = &MachineCountsRecorded{Equipment: equipmentID, Lot: k.lot, WorkOrder: k.workOrder, Step: k.step, From: s.At, To: s.At}
				counts[k] = m
				order = append(order, k)
			}
			m.Good += s.Count.Good
			m.Reject += s.Count.Reject
			m.Signals++
			if s.At.Before(m.From) {
				m.From = s.At
			}
			if s.At.After(m.To) {
				m.To = s.At
			}
		case equipment.KindState:
			err = c.emit(equipmentID, EquipmentStateChanged{Equipment: equipmentID, Source: s.Source, Seq: s.Seq, At: s.At, State: s.State.State, Reason: s.State.Reason})
		case equipment.KindMeasurement:
			m := s.Measurement
			err = c.emit(equipmentID, MeasurementRecorded{Equipment: equipmentID, Lot: k.lot, WorkOrder: k.workOrder, Step: k.step, Source: s.Source, Seq: s.Seq, At: s.At, Tag: m.Tag, Value: m.Value, Unit: m.Unit})
		case equipment.KindAlarm:
			a := s.Alarm
			err = c.emit(equipmentID, EquipmentAlarm{Equipment: equipmentID, Source: s.Source, Seq: s.Seq, At: s.At, Code: a.Code, Text: a.Text, Active: a.Active})
		}
		if err != nil {
			return nil, err
		}
	}
	var changes []store.Change
	for _, k := range order {
		m := counts[k]
		if k.lot != "" {
			ch, err := c.addMachineCounts(site, m)
			if err != nil {
				return nil, err
			}
			changes = append(changes, ch)
		}
		if err := c.emit(equipmentID, *m); err != nil {
			return nil, err
		}
	}
	return changes, nil
}

// equipmentLoad reads what is tracked in on an equipment and the record's version; a
// missing record is an empty load.
func (c *command) equipmentLoad(equipmentID string) (equipmentLoad, uint64, error) {
	var ld equipmentLoad
	v, err := load(c.ctx, c.tx, equipmentLoadKind, equipmentID, &ld)
	if errors.Is(err, ErrNotFound) {
		return ld, 0, nil
	}
	return ld, v, err
}

func machineCountsID(lot, step, equipmentID string) string {
	return lot + "|" + step + "|" + equipmentID
}

// addMachineCounts adds a command's counts to the operation's machine counts and returns
// the change for the audit record.
func (c *command) addMachineCounts(site string, m *MachineCountsRecorded) (store.Change, error) {
	id := machineCountsID(m.Lot, m.Step, m.Equipment)
	mc := MachineCount{Lot: m.Lot, WorkOrder: m.WorkOrder, Step: m.Step, Equipment: m.Equipment, First: m.From, Last: m.To}
	v, err := load(c.ctx, c.tx, machineCountsKind, id, &mc)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return store.Change{}, err
	}
	before := fmt.Sprintf("good %d reject %d", mc.Good, mc.Reject)
	mc.Good += m.Good
	mc.Reject += m.Reject
	if m.From.Before(mc.First) {
		mc.First = m.From
	}
	if m.To.After(mc.Last) {
		mc.Last = m.To
	}
	if _, err := save(c, machineCountsKind, id, site, v, &mc, nil, map[string]string{"lot": m.Lot}); err != nil {
		return store.Change{}, err
	}
	return change("machine counts of "+objectRef(machineCountsKind, id), before, fmt.Sprintf("good %d reject %d", mc.Good, mc.Reject)), nil
}

// MachineCounts returns what machines counted for a lot, per step and equipment, ordered
// by step and equipment.
func (p *Plant) MachineCounts(ctx context.Context, lotID string) ([]MachineCount, error) {
	lot, err := p.Lot(ctx, lotID)
	if err != nil {
		return nil, err
	}
	return list[MachineCount](ctx, p, store.Query{Kind: machineCountsKind, Site: lot.Site, Index: "lot", Value: lotID})
}

// loadEquipment records, after a track-in of sc's lot at step, that the operation runs on
// the command's equipment: unless it already does, the equipment's load gets it, its
// machine run opens (MachineRunStarted) and the lot notes the equipment. It decides the
// device commands: the step's parameters and the interlock.
func (c *command) loadEquipment(sc *stepContext, step string) error {
	eq := c.opts.where
	if eq == "" {
		return nil
	}
	ld, err := c.loadOperation(sc, step, eq)
	if err != nil {
		return err
	}
	if c.p.devices.commander == nil {
		return nil
	}
	if len(sc.step.Parameters) > 0 {
		c.device = append(c.device, DeviceCommand{Kind: DownloadParameters, Site: sc.lot.Site, Equipment: eq, Lot: sc.lot.ID,
			WorkOrder: sc.wo.ID, Step: step, Parameters: maps.Clone(sc.step.Parameters), Issued: c.now})
	}
	return c.decideInterlock(sc.lot.Site, eq, ld)
}

// loadOperation records that sc's lot's operation at step runs on equipment eq, unless it
// does already: the equipment's load gets it, its machine run opens (MachineRunStarted)
// and the lot notes the equipment. It returns the equipment's load.
func (c *command) loadOperation(sc *stepContext, step, eq string) (equipmentLoad, error) {
	ld, v, err := c.equipmentLoad(eq)
	if err != nil || slices.ContainsFunc(ld.Operations, func(o loadedOperation) bool { return o.Lot == sc.lot.ID && o.Step == step }) {
		return ld, err
	}
	op := loadedOperation{Lot: sc.lot.ID, WorkOrder: sc.wo.ID, Step: step, WorkCenter: sc.step.WorkCenter,
		Material: sc.lot.Material, SupplierLot: sc.lot.SupplierLot, Since: c.now, Run: c.p.newID()}
	ld.Operations = append(slices.Clip(ld.Operations), op)
	if _, err := save(c, equipmentLoadKind, eq, sc.lot.Site, v, &ld, nil, loadIndex[true]); err != nil {
		return ld, err
	}
	sc.lot.onEquipment(step, eq)
	return ld, emitHot(c, sc.lot.ID, MachineRunStarted{ID: op.Run, Run: op.run(eq)})
}

// handOperations makes to's lot run on the equipment from's lot runs on, at the steps where
// to's lot has quantity in process (quantity in process split off or merged in). Closing
// from's runs is the caller's: after a split some may stay open, after a merge none does.
func (c *command) handOperations(from, to *stepContext) error {
	for _, o := range slices.Clone(from.lot.OnEquipment) {
		if step := stepOf(to.rt, o.Step); step != nil && inProcessAt(to.lot, o.Step) {
			sc := *to
			sc.step = step
			if _, err := c.loadOperation(&sc, o.Step, o.Equipment); err != nil {
				return err
			}
		}
	}
	return nil
}

// closeOperations closes the machine runs of sc's lot on equipment: at every step (all, the
// lot was aborted), or at the steps where nothing of it is in process any more.
func (c *command) closeOperations(sc *stepContext, all bool) error {
	on := slices.Clone(sc.lot.OnEquipment)
	for i, o := range on {
		if (all || !inProcessAt(sc.lot, o.Step)) && !slices.ContainsFunc(on[:i], func(p StepEquipment) bool { return p.Step == o.Step }) {
			if err := c.unloadEquipment(sc, o.Step, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// inProcessAt reports whether lot has quantity in process at step.
func inProcessAt(lot *Lot, step string) bool {
	return lot.Execution != nil && stepBooks(*lot.Execution, step).InProcess.IsPositive()
}

// unloadEquipment records, after a track-out of sc's lot at step that left nothing of it in
// process (inProcess false), that the operation stopped running on every equipment it was
// tracked in on: each load drops it and its machine run closes (stored, MachineRunStopped).
// It re-decides the interlock of the equipment the operation is or was loaded on: those,
// or, after a partial track-out, the command's.
func (c *command) unloadEquipment(sc *stepContext, step string, inProcess bool) error {
	if inProcess && c.p.devices.commander == nil {
		return nil
	}
	var eqs []string
	if !inProcess {
		eqs = sc.lot.offEquipment(step)
	}
	if c.opts.where != "" && !slices.Contains(eqs, c.opts.where) {
		eqs = append(eqs, c.opts.where) // also a lot loaded before the engine noted equipment on lots
	}
	for _, eq := range eqs {
		ld, v, err := c.equipmentLoad(eq)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ld.Operations, func(o loadedOperation) bool { return o.Lot == sc.lot.ID && o.Step == step })
		if i < 0 {
			continue // the operation does not run here
		}
		if !inProcess {
			op := ld.Operations[i]
			ld.Operations = slices.Concat(ld.Operations[:i], ld.Operations[i+1:])
			if _, err := save(c, equipmentLoadKind, eq, sc.lot.Site, v, &ld, nil, loadIndex[len(ld.Operations) > 0]); err != nil {
				return err
			}
			if op.Run == "" {
				op.Run = c.p.newID() // loaded by an engine that kept open runs apart
			}
			if err := c.closeMachineRun(sc.lot.Site, op.Run, op.run(eq)); err != nil {
				return err
			}
		}
		if c.p.devices.commander != nil {
			if err := c.decideInterlock(sc.lot.Site, eq, ld); err != nil {
				return err
			}
		}
	}
	return nil
}

// holdChanged re-decides the interlock of every loaded equipment of site that a hold on
// target placed or released affects.
func (c *command) holdChanged(site string, target quality.Target) error {
	if c.p.devices.commander == nil {
		return nil
	}
	recs, err := c.tx.List(c.ctx, store.Query{Kind: equipmentLoadKind, Site: site, Index: "loaded", Value: "yes"})
	if err != nil {
		return err
	}
	for _, rec := range recs {
		var ld equipmentLoad
		if err := decode(rec, &ld); err != nil {
			return err
		}
		affected := target.Kind == quality.OnEquipment && slices.Contains(equipmentChain(c.ctx, c.tx, rec.ID), target.ID) // a work center's hold holds its units
		for _, op := range ld.Operations {
			affected = affected || target.Covers(op.subject(rec.ID))
		}
		if affected {
			if err := c.decideInterlock(site, rec.ID, ld); err != nil {
				return err
			}
		}
	}
	return nil
}

func (o loadedOperation) subject(equipmentID string) quality.Subject {
	return quality.Subject{Lot: o.Lot, WorkOrder: o.WorkOrder, Equipment: equipmentID, Material: o.Material, SupplierLot: o.SupplierLot}
}

// decideInterlock queues the interlock command for an equipment with load.
func (c *command) decideInterlock(site, equipmentID string, ld equipmentLoad) error {
	lots := make([]equipment.TrackedLot, 0, len(ld.Operations))
	for _, op := range ld.Operations {
		err := c.checkHeldOn(site, op.subject(""), []string{equipmentID})
		if err != nil && !errors.Is(err, ErrOnHold) {
			return err
		}
		lots = append(lots, equipment.TrackedLot{ID: op.Lot, Held: err != nil})
	}
	d := equipment.DecideInterlock(equipmentID, lots)
	c.device = append(c.device, DeviceCommand{Kind: SetInterlock, Site: site, Equipment: equipmentID, Interlock: &d, Issued: c.now})
	return nil
}

// equipmentTimeline rebuilds the timeline of an equipment for window from its signal
// segments and reason corrections: the hours the window touches, plus the last state
// change before it (looking back at most StateLookback).
func equipmentTimeline(ctx context.Context, tx store.ReadTx, site, equipmentID string, window equipment.Span) (*equipment.Timeline, error) {
	if window.End.Before(window.Start) {
		return nil, fmt.Errorf("%w: window ends at %s, before it starts at %s; swap the times", ErrInvalid,
			window.End.Format(time.RFC3339), window.Start.Format(time.RFC3339))
	}
	if window.Duration() > MaxEquipmentWindow {
		return nil, fmt.Errorf("%w: window of %s is longer than %s; ask for shorter windows and combine OEE reports with equipment.AggregateOEE",
			ErrInvalid, window.Duration(), MaxEquipmentWindow)
	}
	from := window.Start.UTC().Truncate(bucket)
	var sigs []equipment.Signal
	buckets := []string{}
	for h := from; h.Before(window.End) || h.Equal(from); h = h.Add(bucket) {
		k := bucketKey(equipmentID, h)
		buckets = append(buckets, k)
		got, err := segmentSignals(ctx, tx, site, k)
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, got...)
	}
	tl := equipment.NewTimeline(equipmentID)
	if !slices.ContainsFunc(sigs, func(s equipment.Signal) bool { return s.Kind == equipment.KindState && !s.At.After(window.Start) }) {
		for h := from.Add(-bucket); !h.Before(from.Add(-StateLookback)); h = h.Add(-bucket) {
			k := bucketKey(equipmentID, h)
			got, err := segmentSignals(ctx, tx, site, k)
			if err != nil {
				return nil, err
			}
			if last, ok := lastStateChange(got); ok {
				buckets = append(buckets, k)
				if err := tl.Replay(last); err != nil {
					return nil, fmt.Errorf("%w: replaying %s: %v", ErrInternal, k, err)
				}
				break
			}
		}
	}
	for _, s := range sigs { // stored once each, so replayed without de-duplication (see Timeline.Replay)
		if err := tl.Replay(s); err != nil {
			return nil, fmt.Errorf("%w: replaying signals of %s: %v", ErrInternal, equipmentID, err)
		}
	}
	var corrections []storedCorrection
	for _, k := range buckets {
		recs, err := tx.List(ctx, store.Query{Kind: correctionKind, Site: site, Index: "bucket", Value: k})
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			var sc storedCorrection
			if err := decode(rec, &sc); err != nil {
				return nil, err
			}
			sc.id = rec.ID
			corrections = append(corrections, sc)
		}
	}
	slices.SortFunc(corrections, func(a, b storedCorrection) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.id, b.id))
	})
	for _, sc := range corrections {
		// Corrections of intervals outside the rebuilt span do not apply to it.
		_ = tl.CorrectReason(sc.Correction)
	}
	return tl, nil
}

// storedCorrection is a reason correction record.
type storedCorrection struct {
	equipment.Correction
	id string
}

func segmentSignals(ctx context.Context, tx store.ReadTx, site, key string) ([]equipment.Signal, error) {
	recs, err := tx.List(ctx, store.Query{Kind: signalSegmentKind, Site: site, Index: "bucket", Value: key})
	if err != nil {
		return nil, err
	}
	var out []equipment.Signal
	for _, rec := range recs {
		var seg signalSegment
		if err := decode(rec, &seg); err != nil {
			return nil, err
		}
		out = append(out, seg.Signals...)
	}
	return out, nil
}

// lastStateChange returns the latest state signal by (At, Source, Seq).
func lastStateChange(sigs []equipment.Signal) (equipment.Signal, bool) {
	var last equipment.Signal
	found := false
	for _, s := range sigs {
		if s.Kind != equipment.KindState {
			continue
		}
		if !found || cmp.Or(s.At.Compare(last.At), strings.Compare(s.Source, last.Source), cmp.Compare(s.Seq, last.Seq)) > 0 {
			last, found = s, true
		}
	}
	return last, found
}

// loadEquipmentNode reads a stored equipment node.
func loadEquipmentNode(ctx context.Context, tx store.ReadTx, id string) (storedEquipment, error) {
	var se storedEquipment
	if _, err := load(ctx, tx, equipmentKind, id, &se); err != nil {
		return se, fmt.Errorf("equipment %q (define it with DefineEquipment): %w", id, err)
	}
	return se, nil
}

// EquipmentHistory returns the state intervals of an equipment between from and to, in
// time order, with the parts counted in each and downtime reasons (the device's and the
// effective one after operator corrections). Time before the first known state is
// equipment.Unknown; the last state lasts until to, so pass a to no later than now.
func (p *Plant) EquipmentHistory(ctx context.Context, equipmentID string, from, to time.Time) ([]equipment.Interval, error) {
	var out []equipment.Interval
	err := p.view(ctx, func(tx store.ReadTx) error {
		se, err := loadEquipmentNode(ctx, tx, equipmentID)
		if err != nil {
			return err
		}
		window := equipment.Span{Start: from.UTC(), End: to.UTC()}
		tl, err := equipmentTimeline(ctx, tx, se.Site, equipmentID, window)
		if err != nil {
			return err
		}
		out, err = tl.History(window)
		return err
	})
	return out, err
}

// CorrectDowntimeReason assigns reason to the state interval of an equipment that began at
// intervalBegan (equipment.Interval.Began from EquipmentHistory). It never edits the
// interval or the device's reason: it adds a correction record (who, when, the note given
// with mes.Reason) that wins over earlier ones, audited and published as
// DowntimeReasonCorrected. Running intervals take no reason.
func (p *Plant) CorrectDowntimeReason(ctx context.Context, equipmentID string, intervalBegan time.Time, reason string, opts ...CommandOption) (equipment.Correction, error) {
	return execute(ctx, p, "equipment.correct_reason", []string{equipmentID, intervalBegan.UTC().Format(time.RFC3339Nano)}, opts, func(c *command) (equipment.Correction, error) {
		se, err := loadEquipmentNode(c.ctx, c.tx, equipmentID)
		if err != nil {
			return equipment.Correction{}, err
		}
		if err := c.authorize(se.Site); err != nil {
			return equipment.Correction{}, err
		}
		began := intervalBegan.UTC()
		window := equipment.Span{Start: began, End: began.Add(1)}
		tl, err := equipmentTimeline(c.ctx, c.tx, se.Site, equipmentID, window)
		if err != nil {
			return equipment.Correction{}, err
		}
		cor := equipment.Correction{Interval: began, Reason: reason, By: c.opts.actor.ID, At: c.now, Note: c.opts.reason}
		before, err := tl.History(window)
		if err != nil {
			return equipment.Correction{}, err
		}
		if err := tl.CorrectReason(cor); err != nil {
			return equipment.Correction{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		iv := before[0]
		k := bucketKey(equipmentID, began)
		id := k + "/" + c.p.newID()
		if _, err := save(c, correctionKind, id, se.Site, 0, &storedCorrection{Correction: cor}, nil, map[string]string{"bucket": k}); err != nil {
			return equipment.Correction{}, err
		}
		c.record(objectRef(equipmentStateKind, equipmentID), change("reason of "+string(iv.State)+" interval at "+began.Format(time.RFC3339Nano), iv.Reason, reason))
		return cor, c.emit(equipmentID, DowntimeReasonCorrected{Equipment: equipmentID, Interval: began, State: iv.State, Previous: iv.Reason,
			Reason: reason, Note: c.opts.reason, CorrectedBy: c.opts.actor.ID, Where: c.opts.where})
	})
}

// OEE returns OEE (ISO 22400) with its loss breakdown for window, excluding plannedStops
// (breaks and meals from the shift calendar) and the machines' own planned-stop states.
// For a work unit, or any equipment without work units below it, it is computed from the
// equipment's own signals with its IdealCycleTime; for a work center, area or site it is
// the aggregate of every work unit below (times and counts summed, ratios recomputed —
// never averaged). Pass a window that ends no later than now.
func (p *Plant) OEE(ctx context.Context, equipmentID string, window equipment.Span, plannedStops []equipment.Span) (equipment.OEEReport, error) {
	var report equipment.OEEReport
	err := p.view(ctx, func(tx store.ReadTx) error {
		se, err := loadEquipmentNode(ctx, tx, equipmentID)
		if err != nil {
			return err
		}
		units, err := workUnitsBelow(ctx, tx, se)
		if err != nil {
			return err
		}
		window := equipment.Span{Start: window.Start.UTC(), End: window.End.UTC()}
		reports := make([]equipment.OEEReport, 0, len(units))
		for _, u := range units {
			tl, err := equipmentTimeline(ctx, tx, se.Site, u.ID, window)
			if err != nil {
				return err
			}
			r, err := tl.OEE(window, plannedStops, u.IdealCycleTime)
			if err != nil {
				return fmt.Errorf("%w: OEE of %s: %w", ErrInvalid, u.ID, err)
			}
			reports = append(reports, r)
		}
		if len(reports) == 1 {
			report = reports[0]
			return nil
		}
		report, err = equipment.AggregateOEE(reports...)
		return err
	})
	return report, err
}

// workUnitsBelow returns the work units at any depth below se, or se itself when it is a
// work unit or has none below it.
func workUnitsBelow(ctx context.Context, tx store.ReadTx, se storedEquipment) ([]equipment.Equipment, error) {
	var out []equipment.Equipment
	if se.Level != equipment.WorkUnit {
		for stack := []string{se.ID}; len(stack) > 0; {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			recs, err := tx.List(ctx, store.Query{Kind: equipmentKind, Site: se.Site, Index: "parent", Value: id})
			if err != nil {
				return nil, err
			}
			for _, rec := range recs {
				var child storedEquipment
				if err := decode(rec, &child); err != nil {
					return nil, err
				}
				if child.Level == equipment.WorkUnit {
					out = append(out, child.Equipment)
				}
				stack = append(stack, child.ID)
			}
		}
	}
	if len(out) == 0 {
		out = append(out, se.Equipment)
	}
	slices.SortFunc(out, func(a, b equipment.Equipment) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
