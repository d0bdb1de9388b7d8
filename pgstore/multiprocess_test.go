package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/store"
)

// The multi-process test: the test binary runs itself as children that share one schema.
const (
	childSchemaVar = "TAKT_PGSTORE_CHILD_SCHEMA"
	childIDVar     = "TAKT_PGSTORE_CHILD_ID"
	children       = 4
	commandsEach   = 40
	hotRecords     = 3 // work orders and lots the children fight over
)

// counter is the data of a hammered record.
type counter struct {
	N int `json:"n"`
}

// TestMultiProcessChild is one child of TestMultiProcess; it is skipped when run directly.
// Each command increments one work order and one lot (locked in random order, so deadlocks
// happen and must surface as conflicts), appends two events and one audit record, and is
// retried on conflict, as the engine does.
func TestMultiProcessChild(t *testing.T) {
	schema := os.Getenv(childSchemaVar)
	if schema == "" {
		t.Skip("run by TestMultiProcess")
	}
	child, err := strconv.Atoi(os.Getenv(childIDVar))
	require.NoError(t, err)
	ctx := context.Background()
	s, err := Open(ctx, testDSN(t), WithSchema(schema)) // all children migrate at once
	require.NoError(t, err)
	defer s.Close()
	rng := rand.New(rand.NewPCG(uint64(child), 7))
	retries := map[string]int{}
	defer func() { t.Logf("child %d: %d commands, retries by cause: %v", child, commandsEach, retries) }()
	for i := 0; i < commandsEach; i++ {
		wo, lot := fmt.Sprint("wo-", rng.IntN(hotRecords)), fmt.Sprint("lot-", rng.IntN(hotRecords))
		targets := [][2]string{{"workorder", wo}, {"lot", lot}}
		if rng.IntN(2) == 0 {
			targets[0], targets[1] = targets[1], targets[0]
		}
		for attempt := 0; ; attempt++ {
			err := s.Update(ctx, func(tx store.Tx) error {
				for _, k := range targets {
					if err := increment(ctx, tx, k[0], k[1]); err != nil {
						return err
					}
				}
				ev := func(subject string) store.Event {
					return store.Event{Type: "counter.incremented", Site: "S1", Subject: subject, Time: time.Now(), Actor: fmt.Sprint("child-", child),
						Command: fmt.Sprintf("c%d-%d", child, i), Data: []byte(fmt.Sprintf(`{"child":%d,"i":%d}`, child, i))}
				}
				if err := tx.AppendEvents(ctx, ev(wo), ev(lot)); err != nil {
					return err
				}
				return tx.AppendAudit(ctx, store.AuditRecord{Time: time.Now(), Actor: fmt.Sprint("child-", child), ActorKind: "system",
					Action: "counter.increment", Site: "S1", Object: "workorder/" + wo, Command: fmt.Sprintf("c%d-%d", child, i),
					Changes: []store.Change{{Field: "n", Before: "?", After: "+1"}}})
			})
			if err == nil {
				break
			}
			require.ErrorIs(t, err, store.ErrConflict, "command %d", i)
			if strings.Contains(err.Error(), "deadlock") {
				retries["deadlock"]++
			} else {
				retries["version"]++
			}
			require.Less(t, attempt, 1000, "command %d never got through", i)
		}
	}
}

// increment adds one to the counter record kind/id, creating it at 1.
func increment(ctx context.Context, tx store.Tx, kind, id string) error {
	r, err := tx.Get(ctx, kind, id)
	if errors.Is(err, store.ErrNotFound) {
		r = store.Record{Kind: kind, ID: id, Site: "S1", Index: map[string]string{"kind": kind}}
	} else if err != nil {
		return err
	}
	var c counter
	if len(r.Data) > 0 {
		if err := json.Unmarshal(r.Data, &c); err != nil {
			return err
		}
	}
	c.N++
	r.Data, _ = json.Marshal(c)
	_, err = tx.Put(ctx, r)
	return err
}

// TestMultiProcess runs 4 processes that open a fresh schema at the same moment and hammer
// the same records, while this process follows the event log. Then no increment is lost,
// the event log is gap-free and ordered with each command's events together, the reader
// never skipped a position, and the audit chain verifies.
func TestMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4 processes")
	}
	dsn := testDSN(t)
	schema := newSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	var procs sync.WaitGroup
	failures := make(chan string, children)
	for c := 0; c < children; c++ {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run", "^TestMultiProcessChild$", "-test.count", "1", "-test.v")
		cmd.Env = append(os.Environ(), childSchemaVar+"="+schema, fmt.Sprintf("%s=%d", childIDVar, c), dsnVar+"="+dsn)
		procs.Add(1)
		go func() {
			defer procs.Done()
			out, err := cmd.CombinedOutput()
			if err != nil {
				failures <- fmt.Sprintf("child %d: %v\n%s", c, err, out)
			}
			t.Logf("child %d:\n%s", c, out)
		}()
	}
	s := openSchema(t, schema) // migrates concurrently with the children

	const total = children * commandsEach
	var seen []store.Event
	for uint64(len(seen)) < 2*total {
		if err := s.WaitEvents(ctx, uint64(len(seen))); err != nil {
			procs.Wait()
			close(failures)
			for f := range failures {
				t.Error(f)
			}
			t.Fatalf("waiting for events after %d: %v", len(seen), err)
		}
		evs, err := s.ReadEvents(ctx, uint64(len(seen)), 5)
		require.NoError(t, err)
		for _, e := range evs {
			require.Equal(t, uint64(len(seen)+1), e.Position, "the reader skipped or repeated a position")
			seen = append(seen, e)
		}
	}
	procs.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	require.False(t, t.Failed())

	rest, err := s.ReadEvents(ctx, uint64(len(seen)), 0)
	require.NoError(t, err)
	assert.Empty(t, rest, "more events than commands")
	for i := 0; i < len(seen); i += 2 { // a command's two events are adjacent
		assert.Equal(t, seen[i].Command, seen[i+1].Command, "positions %d and %d", i+1, i+2)
	}

	require.NoError(t, s.View(ctx, func(tx store.ReadTx) error {
		for _, kind := range []string{"workorder", "lot"} {
			recs, err := tx.List(ctx, store.Query{Kind: kind, Site: "S1", Index: "kind", Value: kind})
			require.NoError(t, err)
			sum := 0
			for _, r := range recs {
				var c counter
				require.NoError(t, json.Unmarshal(r.Data, &c))
				assert.Equal(t, uint64(c.N), r.Version, "%s %s: one version per increment", kind, r.ID)
				sum += c.N
			}
			assert.Equal(t, total, sum, "increments of %s records", kind)
		}
		return nil
	}))

	recs, err := s.ReadAudit(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, recs, total)
	var v store.ChainVerifier
	for _, r := range recs {
		require.NoError(t, v.Check(r))
	}
}
