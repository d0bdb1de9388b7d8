package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/store/memstore"
)

var (
	flagSeed     = flag.Uint64("seed", 0, "seed of the model-based and differential tests (0: a new seed, printed)")
	flagCommands = flag.Int("commands", 2000, "commands TestModel issues (long run: -commands 1000000 -timeout 0)")
	flagSweep    = flag.Int("sweep", 1000, "TestModel checks every lot and order and the whole audit chain every this many commands")
)

// seed returns the -seed flag or a new seed.
func seed(t testing.TB) uint64 {
	if *flagSeed != 0 {
		return *flagSeed
	}
	return uint64(time.Now().UnixNano()) & 0xffffffffff
}

// runner issues generated commands on one plant or several in lockstep (differential
// testing) and checks each plant after every command.
type runner struct {
	ctx      context.Context
	plants   []*mes.Plant
	checkers []*checker
	gen      *generator
	progress func(done int) // called every 100 000 commands, when set
}

func newRunner(ctx context.Context, seed uint64, clock *fakeClock, plants ...*mes.Plant) *runner {
	r := &runner{ctx: ctx, plants: plants}
	for _, p := range plants {
		r.checkers = append(r.checkers, newChecker(ctx, p))
	}
	r.gen = newGenerator(ctx, seed, plants[0], r.checkers[0], clock, "")
	return r
}

// snapshot is what a command names, as stored: a failed command must leave it unchanged.
func snapshot(ctx context.Context, p *mes.Plant, c *command) string {
	var out []any
	for _, id := range c.lots {
		l, err := p.Lot(ctx, id)
		out = append(out, l, err != nil)
	}
	for _, id := range c.wos {
		wo, err := p.WorkOrder(ctx, id)
		out = append(out, wo, err != nil)
	}
	for _, id := range c.serials {
		s, err := p.Serial(ctx, id)
		out = append(out, s, err != nil)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// primed catches the checkers up with what setup committed.
func (r *runner) primed() error {
	for _, ck := range r.checkers {
		if _, _, err := ck.catchUp(); err != nil {
			return err
		}
	}
	return nil
}

// step runs one command on every plant and checks them.
func (r *runner) step(c *command) error {
	type outcome struct {
		res    any
		err    error
		before string
	}
	outs := make([]outcome, len(r.plants))
	for i, p := range r.plants {
		outs[i].before = snapshot(r.ctx, p, c)
		outs[i].res, outs[i].err = c.run(r.ctx, p, c.opts())
	}
	for i := 1; i < len(outs); i++ {
		a, b := outs[0], outs[i]
		if (a.err == nil) != (b.err == nil) || (a.err != nil && a.err.Error() != b.err.Error()) {
			return fmt.Errorf("stores disagree: memory says %v, store %d says %v", a.err, i, b.err)
		}
		ja, _ := json.Marshal(a.res)
		jb, _ := json.Marshal(b.res)
		if a.err == nil && string(ja) != string(jb) {
			return fmt.Errorf("stores disagree on the result:\n memory: %s\n store %d: %s", ja, i, jb)
		}
	}
	for i, ck := range r.checkers {
		if err := r.check(ck, c, outs[i].res, outs[i].err, outs[i].before); err != nil {
			if len(r.plants) > 1 {
				err = fmt.Errorf("store %d: %w", i, err)
			}
			return err
		}
	}
	first := r.checkers[0]
	first.stats.Commands++
	k := first.stats.ByKind[c.kind]
	if k == nil {
		k = new([2]int)
		first.stats.ByKind[c.kind] = k
	}
	if outs[0].err == nil {
		k[0]++
	} else {
		k[1]++
		if testing.Verbose() && c.mustFail == nil && os.Getenv("RELIABILITY_DEBUG") != "" {
			fmt.Printf("%s: %v\n", c, outs[0].err)
		}
	}
	if outs[0].err != nil {
		first.stats.Failed++
	} else {
		first.stats.Succeeded++
		if c.retryOf != nil && c.retryOf.ok {
			first.stats.Replays++
		}
	}
	if outs[0].err == nil {
		res, _ := json.Marshal(outs[0].res)
		if c.retryOf == nil || !c.retryOf.ok {
			c.ok, c.result = true, string(res)
			if c.retryOf != nil {
				c.retryOf.ok, c.retryOf.result = true, string(res)
			}
		}
	}
	return nil
}

// check checks one plant after command c returned res, err.
func (r *runner) check(ck *checker, c *command, res any, err error, before string) error {
	evs, recs, cerr := ck.catchUp()
	if cerr != nil {
		return cerr
	}
	if isInternal(err) || errors.Is(err, mes.ErrConflict) {
		return fmt.Errorf("the engine failed internally: %w", err)
	}
	if err != nil {
		if len(evs) > 0 || len(recs) > 0 {
			return fmt.Errorf("failed command (%v) appended %d events and %d audit records", err, len(evs), len(recs))
		}
		if after := snapshot(r.ctx, ck.p, c); after != before {
			return fmt.Errorf("failed command (%v) changed what it named:\n before %s\n after  %s", err, before, after)
		}
		if c.retryOf != nil && c.retryOf.ok {
			return fmt.Errorf("retry of an applied command failed: %w", err)
		}
		if c.mustFail == mes.ErrIdempotencyKeyReused && !errors.Is(err, c.mustFail) {
			return fmt.Errorf("a key used by another command must be refused with ErrIdempotencyKeyReused, got %w", err)
		}
		return nil
	}
	if c.mustFail != nil {
		return fmt.Errorf("invalid command accepted (expected %v)", c.mustFail)
	}
	if c.retryOf != nil && c.retryOf.ok {
		if len(evs) > 0 || len(recs) > 0 {
			return fmt.Errorf("retry with an applied key appended %d events and %d audit records", len(evs), len(recs))
		}
		if got, _ := json.Marshal(res); string(got) != c.retryOf.result {
			return fmt.Errorf("retry returned a different result:\n first %s\n retry %s", c.retryOf.result, got)
		}
		return nil
	}
	if len(recs) == 0 || len(evs) == 0 {
		return fmt.Errorf("command succeeded with %d audit records and %d events; it needs both", len(recs), len(evs))
	}
	if c.event != "" && !slices.ContainsFunc(evs, func(e mes.Event) bool { return e.Type == c.event }) {
		return fmt.Errorf("command succeeded without a %s event (got %d events)", c.event, len(evs))
	}
	for _, e := range evs {
		if e.Command != c.key {
			return fmt.Errorf("event %d %s carries command %q, the command's key is %q", e.Position, e.Type, e.Command, c.key)
		}
	}
	for _, a := range recs {
		if a.Command != c.key || a.Actor != c.actor.ID {
			return fmt.Errorf("audit record %d carries command %q by %q; the command was %q by %q", a.Seq, a.Command, a.Actor, c.key, c.actor.ID)
		}
	}
	lots, wos := touched(evs)
	for _, id := range c.lots {
		lots[id] = true
	}
	for _, id := range c.wos {
		wos[id] = true
	}
	for _, id := range sortedKeys(lots) {
		if _, known := ck.lots[id]; known {
			if err := ck.checkLot(id); err != nil {
				return err
			}
		}
	}
	for _, id := range sortedKeys(wos) {
		if _, known := ck.wos[id]; known {
			if err := ck.checkWorkOrder(id); err != nil {
				return err
			}
		}
	}
	if err := checkBackflush(evs); err != nil {
		return err
	}
	serials := slices.Clone(c.serials)
	for _, e := range evs {
		serials = append(serials, movedSerials(e.Payload)...)
		if v, ok := e.Payload.(*mes.UnitsSerialized); ok {
			serials = append(serials, v.Serials...)
		}
	}
	for _, id := range serials {
		if err := ck.checkSerial(id); err != nil {
			return err
		}
	}
	return nil
}

// checkBackflush: a track-out of good quantity at step 30 back-flushes exactly the standard
// of the seal kit (1 ea per good unit) into the lot.
func checkBackflush(evs []mes.Event) error {
	for _, e := range evs {
		out, ok := e.Payload.(*mes.LotTrackedOut)
		if !ok || out.Step != "30" || !out.Good.IsPositive() {
			continue
		}
		want := out.Good.Value()
		got := want.Sub(want)
		for _, f := range evs {
			if c, ok := f.Payload.(*mes.MaterialConsumed); ok && c.Into == out.Lot && c.Step == "30" {
				if !strings.HasPrefix(string(c.Qty.Unit()), "ea") {
					return fmt.Errorf("back-flush at step 30 of %s consumed %s", out.Lot, c.Qty)
				}
				got = got.Add(c.Qty.Value())
			}
		}
		if !got.Equal(want) {
			return fmt.Errorf("track-out of %s good at step 30 of %s back-flushed %s ea of %s, the standard is 1 ea each", out.Good, out.Lot, got, sealKit)
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// run issues n commands, sweeping every sweep commands and at the end. It returns the
// first violation, naming the command.
func (r *runner) run(n, sweep int) error {
	if err := r.primed(); err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		c := r.gen.next()
		if err := r.step(c); err != nil {
			return fmt.Errorf("after command %s: %w", c, err)
		}
		if i%100000 == 0 && r.progress != nil {
			r.progress(i)
		}
		if i%sweep == 0 || i == n {
			for _, ck := range r.checkers {
				if err := ck.sweep(); err != nil {
					return fmt.Errorf("sweep after command %s: %w", c, err)
				}
			}
		}
	}
	return nil
}

// TestModel is the model-based randomised test on the memory store: a seeded generator
// issues -commands commands (valid, invalid and retried) and every invariant is checked
// after each. A failure prints the seed; -seed replays it.
func TestModel(t *testing.T) {
	ctx := context.Background()
	s := seed(t)
	clock := newClock()
	p := openPlant(t, memstore.New(), clock, "id-")
	require.NoError(t, setupPlant(ctx, p))
	r := newRunner(ctx, s, clock, p)
	start := time.Now()
	r.progress = func(done int) {
		t.Logf("seed %d: %d commands checked, %v", s, done, time.Since(start).Round(time.Second))
	}
	err := r.run(*flagCommands, *flagSweep)
	st := r.checkers[0].stats
	t.Logf("seed %d: %d commands (%d succeeded, %d refused, %d replays) in %v; %d events, %d audit records, %d lot checks, %d order checks, %d sweeps, %d lots, %d work orders",
		s, st.Commands, st.Succeeded, st.Failed, st.Replays, time.Since(start).Round(time.Millisecond), st.Events, st.Audit, st.LotChecks, st.OrderChecks, st.Sweeps, len(r.checkers[0].lots), len(r.checkers[0].wos))
	t.Logf("succeeded/failed by kind: %s", byKind(st))
	if err != nil {
		t.Fatalf("invariant violated with seed %d: %v\nreplay: go test ./reliability -run 'TestModel$' -seed %d -commands %d", s, err, s, *flagCommands)
	}
}

func byKind(st stats) string {
	var out []string
	for _, k := range sortedKeys(keys(st.ByKind)) {
		out = append(out, fmt.Sprintf("%s %d/%d", k, st.ByKind[k][0], st.ByKind[k][1]))
	}
	return strings.Join(out, ", ")
}
