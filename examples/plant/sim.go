package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/mes"
)

// simClock is the plant's mes.Clock: simulated time that runs speed times as fast as the
// wall clock. The seed sets it to past instants to build a history; then it runs live. With
// speed 0 it stands still (tests).
type simClock struct {
	mu     sync.Mutex
	base   time.Time // simulated time at anchor
	anchor time.Time // wall time when base was set
	speed  float64
}

func newSimClock(start time.Time, speed float64) *simClock {
	return &simClock{base: start.UTC(), anchor: time.Now(), speed: speed}
}

// Now implements mes.Clock.
func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	elapsed := time.Duration(float64(time.Since(c.anchor)) * c.speed)
	return c.base.Add(elapsed).UTC()
}

// Run lets simulated time run on from now at speed times the wall clock's pace.
func (c *simClock) Run(speed float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base = c.base.Add(time.Duration(float64(time.Since(c.anchor)) * c.speed))
	c.anchor, c.speed = time.Now(), speed
}

// Set moves simulated time to t. Time must only move forward: the seed calls it in order.
func (c *simClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.anchor = t.UTC(), time.Now()
}

// machine is one simulated work unit: it wanders through running, idle, down and setup, counts
// parts while running and reports a process value every few minutes, as a PLC gateway would.
type machine struct {
	id      string
	cycle   time.Duration // ideal cycle time (as defined on the equipment)
	tag     string        // the process value it reports
	unit    string
	nominal float64
	spread  float64

	rng      *rand.Rand
	seq      uint64
	state    equipment.MachineState
	until    time.Time // when the current state ends
	last     time.Time // simulated up to here
	parts    float64   // fractional parts made but not yet reported
	nextMeas time.Time
}

// source is the device identity the machine's signals carry.
func (m *machine) source() string { return "plc-" + m.id }

// advance simulates the machine from its last instant up to to and returns the signals it
// sent in that time, in order: a state change at each transition, the parts counted at the
// end of each running stretch and a measurement every five minutes.
func (m *machine) advance(to time.Time) []equipment.Signal {
	var out []equipment.Signal
	emit := func(at time.Time, kind equipment.Kind, fill func(*equipment.Signal)) {
		m.seq++
		s := equipment.Signal{Source: m.source(), Seq: m.seq, At: at, Equipment: m.id, Kind: kind}
		fill(&s)
		out = append(out, s)
	}
	if m.last.IsZero() || !to.After(m.last) {
		if m.last.IsZero() {
			m.last, m.nextMeas = to, to
			m.enter(to, emit)
		}
		return out
	}
	for m.last.Before(to) {
		end := to
		if m.until.Before(end) {
			end = m.until
		}
		if m.state == equipment.Running {
			// 80 to 95 % of the ideal rate; about 2 % rejects.
			m.parts += float64(end.Sub(m.last)) / float64(m.cycle) * (0.80 + 0.15*m.rng.Float64())
			if n := int64(m.parts); n > 0 {
				m.parts -= float64(n)
				reject := int64(math.Round(float64(n) * 0.02 * 2 * m.rng.Float64()))
				emit(end, equipment.KindCount, func(s *equipment.Signal) {
					s.Count = &equipment.Count{Good: n - reject, Reject: reject}
				})
			}
		}
		for !m.nextMeas.After(end) {
			v := m.nominal + m.spread*m.rng.NormFloat64()
			at := m.nextMeas
			emit(at, equipment.KindMeasurement, func(s *equipment.Signal) {
				s.Measurement = &equipment.Measurement{Tag: m.tag, Value: decimal.NewFromFloat(v).Round(3), Unit: m.unit}
			})
			m.nextMeas = m.nextMeas.Add(5 * time.Minute)
		}
		m.last = end
		if !m.until.After(end) {
			m.enter(end, emit)
		}
	}
	return out
}

// enter picks the machine's next state at instant at: mostly running, sometimes idle, down
// with a fault or in a changeover.
func (m *machine) enter(at time.Time, emit func(time.Time, equipment.Kind, func(*equipment.Signal))) {
	minutes := func(lo, hi int) time.Duration { return time.Duration(lo+m.rng.IntN(hi-lo+1)) * time.Minute }
	var next equipment.StateChange
	var d time.Duration
	switch r := m.rng.Float64(); {
	case m.state != equipment.Running: // after any stop (and at power-on) the machine runs
		next, d = equipment.StateChange{State: equipment.Running}, minutes(15, 50)
	case r < 0.45:
		next, d = equipment.StateChange{State: equipment.Idle, Reason: pick(m.rng, "NO-OPERATOR", "STARVED", "WAIT-QC")}, minutes(3, 10)
	case r < 0.85:
		next, d = equipment.StateChange{State: equipment.Down, Reason: pick(m.rng, "JAM", "TOOL-BREAK", "E-STOP", "COOLANT")}, minutes(2, 15)
	default:
		next, d = equipment.StateChange{State: equipment.Setup, Reason: "CHANGEOVER"}, minutes(8, 20)
	}
	m.state, m.until = next.State, at.Add(d)
	emit(at, equipment.KindState, func(s *equipment.Signal) { s.State = &next })
}

func pick(rng *rand.Rand, options ...string) string { return options[rng.IntN(len(options))] }

// simulator drives the simulated machines: it sends their signals to the plant through the
// device interface (IngestSignals), each machine as its own device actor.
type simulator struct {
	plant    *mes.Plant
	clock    mes.Clock
	machines []*machine
	log      *slog.Logger
}

// Each machine's sequence numbers start at the start instant in milliseconds, so a restarted
// demo on PostgreSQL sends numbers its predecessor never used.
func newSimulator(plant *mes.Plant, clock mes.Clock, log *slog.Logger, start time.Time, machines ...*machine) *simulator {
	for i, m := range machines {
		m.rng = rand.New(rand.NewPCG(uint64(i+1), 4711))
		m.seq = uint64(start.UnixMilli())
	}
	return &simulator{plant: plant, clock: clock, machines: machines, log: log}
}

// runTo advances every machine to instant to and ingests what they sent.
func (s *simulator) runTo(ctx context.Context, to time.Time) error {
	for _, m := range s.machines {
		sigs := m.advance(to)
		for len(sigs) > 0 {
			n := min(len(sigs), mes.MaxSignalsPerCall)
			if _, err := s.plant.IngestSignals(ctx, sigs[:n], mes.By(mes.Actor{ID: m.source(), Kind: mes.Device})); err != nil {
				return fmt.Errorf("machine %s: %w", m.id, err)
			}
			sigs = sigs[n:]
		}
	}
	return nil
}

// run advances the machines to the plant's clock every tick until ctx is done.
func (s *simulator) run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.runTo(ctx, s.clock.Now()); err != nil && ctx.Err() == nil {
				s.log.Error("simulator", "err", err)
			}
		}
	}
}
