package genealogy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/genealogy"
)

// liftWorld is a world with a chain R1 → A → B → C of splits below R1 (levels 0..3), a
// chain R2 → K1 → K2 → K3 (levels 0..3), and HIGH, a lot below R1 at level 5 (R1 fed it
// after K3 → K4 → HIGH raised it).
func liftWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	w.receive(t, resin, "R1", "100 kg")
	w.receive(t, resin, "R2", "100 kg")
	for _, s := range [][3]string{{"R1", "A", "50 kg"}, {"A", "B", "20 kg"}, {"B", "C", "10 kg"},
		{"R2", "K1", "50 kg"}, {"K1", "K2", "20 kg"}, {"K2", "K3", "10 kg"}, {"K3", "K4", "5 kg"}, {"K4", "HIGH", "2 kg"}} {
		w.must(genealogy.Split(w.lots[s[0]], []genealogy.Part{{ID: s[1], Qty: q(s[2])}}, opAt(1)))
	}
	w.consume(t, "R1", "HIGH", "1 kg")
	require.Equal(t, 5, w.lots["HIGH"].Level)
	return w
}

// reads counts the lots Lift asks for.
func (w *world) reads(n *int) func(context.Context, string) (genealogy.Lot, error) {
	return func(_ context.Context, id string) (genealogy.Lot, error) {
		*n++
		return w.lots[id], nil
	}
}

// TestLiftRaisesTheLotAndWhatLiesBelowIt: an input at the level of a lot that gave material
// away is accepted when it does not descend from the lot; the lot rises above it and the
// chain below rises with it, but a lot already high enough stays (and is not walked past).
func TestLiftRaisesTheLotAndWhatLiesBelowIt(t *testing.T) {
	w := liftWorld(t)
	from, to := w.lots["K3"], w.lots["R1"]
	require.True(t, genealogy.NeedsLift(from, to))
	_, err := genealogy.Consume(from, to, q("1 kg"), opAt(2))
	require.ErrorIs(t, err, genealogy.ErrCycle, "without Lift the levels alone refuse the edge")
	assert.Contains(t, err.Error(), "decide it with Lift")

	var reads int
	raised, err := genealogy.Lift(context.Background(), w, w.reads(&reads), from, to)
	require.NoError(t, err)
	levels := map[string]int{}
	for _, l := range raised {
		levels[l.ID] = l.Level
	}
	assert.Equal(t, map[string]int{"R1": 4, "A": 5, "B": 6, "C": 7}, levels)
	assert.Equal(t, "R1", raised[0].ID, "the lot the edge goes into comes first")
	assert.Equal(t, 4, reads, "A, B, C and HIGH are read; nothing below HIGH (level 5, high enough)")

	for _, l := range raised {
		w.lots[l.ID] = l
	}
	require.False(t, genealogy.NeedsLift(from, w.lots["R1"]))
	w.must(genealogy.Consume(from, w.lots["R1"], q("1 kg"), opAt(3)))
	for _, e := range w.edges {
		if e.From.Kind == genealogy.NodeLot && e.To.Kind == genealogy.NodeLot {
			assert.LessOrEqual(t, w.lots[e.From.ID].Level, w.lots[e.To.ID].Level, "%s→%s", e.From, e.To)
		}
	}
}

func TestLiftRefusesARealCycleNamingTheLine(t *testing.T) {
	w := liftWorld(t)
	var reads int
	_, err := genealogy.Lift(context.Background(), w, w.reads(&reads), w.lots["C"], w.lots["R1"])
	require.ErrorIs(t, err, genealogy.ErrCycle)
	var ps genealogy.Problems
	require.True(t, errors.As(err, &ps))
	assert.Contains(t, err.Error(), "lot C descends from lot R1 (R1 → A → B → C)")
	assert.Contains(t, err.Error(), "take the material from a lot that does not descend from R1")

	_, err = genealogy.Lift(context.Background(), w, w.reads(&reads), w.lots["A"], w.lots["A"])
	require.ErrorIs(t, err, genealogy.ErrCycle, "a lot cannot feed itself")
}

// TestLiftReadsNothingWhenTheLevelsDecide: every edge the level rule accepts takes the fast
// path.
func TestLiftReadsNothingWhenTheLevelsDecide(t *testing.T) {
	w := liftWorld(t)
	for _, c := range [][2]string{{"R2", "R1"}, {"A", "HIGH"}, {"K3", "C"}} { // from at level 0; from below to; to gave nothing away
		require.False(t, genealogy.NeedsLift(w.lots[c[0]], w.lots[c[1]]), "%s → %s", c[0], c[1])
		raised, err := genealogy.Lift(context.Background(), failingReader{}, nil, w.lots[c[0]], w.lots[c[1]])
		require.NoError(t, err)
		assert.Empty(t, raised)
	}
}

// TestLiftReportsACorruptGraph: a stored cycle below the lot stops the walk instead of
// raising levels forever.
func TestLiftReportsACorruptGraph(t *testing.T) {
	w := liftWorld(t)
	w.edges = append(w.edges, genealogy.Edge{Kind: genealogy.EdgeMerge, From: genealogy.LotNode("C"), To: genealogy.LotNode("A"), Qty: q("1 kg"), At: t0})
	var reads int
	_, err := genealogy.Lift(context.Background(), w, w.reads(&reads), w.lots["K3"], w.lots["R1"])
	require.ErrorIs(t, err, genealogy.ErrCycle)
	assert.Contains(t, err.Error(), "corrupt")

	_, err = genealogy.Lift(context.Background(), failingReader{}, nil, w.lots["K3"], w.lots["R1"])
	require.ErrorIs(t, err, errRead, "a read error is returned as it is")
}

var errRead = errors.New("read")

// failingReader fails every read.
type failingReader struct{}

func (failingReader) Inputs(context.Context, genealogy.Node) ([]genealogy.Edge, error) {
	return nil, errRead
}

func (failingReader) Outputs(context.Context, genealogy.Node) ([]genealogy.Edge, error) {
	return nil, errRead
}
