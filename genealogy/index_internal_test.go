package genealogy

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/taktmes/takt/units"
)

// checkArena asserts the adjacency blocks of every list and the free blocks tile the arena:
// each cell of x.adj belongs to exactly one block, and each list's block has the capacity
// its length calls for.
func checkArena(t *testing.T, x *Index) {
	t.Helper()
	owner := make([]string, len(x.adj))
	claim := func(who string, off, c int32) {
		t.Helper()
		require.LessOrEqual(t, int(off+c), len(x.adj), "%s: block %d+%d past the arena", who, off, c)
		for i := off; i < off+c; i++ {
			require.Empty(t, owner[i], "cell %d: %s and %s", i, owner[i], who)
			owner[i] = who
		}
	}
	for i, l := range x.lists {
		claim(fmt.Sprint("inputs of node ", i), l.in.off, blockCap(l.in.n))
		claim(fmt.Sprint("outputs of node ", i), l.out.off, blockCap(l.out.n))
	}
	for k, h := range x.free {
		for ; h != 0; h = x.adj[h-1].far {
			claim(fmt.Sprint("free block of ", 1<<k), h-1, 1<<k)
		}
	}
	for i, who := range owner {
		require.NotEmpty(t, who, "cell %d belongs to no block", i)
	}
}

// TestArenaBlocksTileTheArena appends edges around hubs and many small nodes, interleaved,
// so that blocks move and freed blocks are reused, and checks the arena after each append.
func TestArenaBlocksTileTheArena(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	x := &Index{}
	qty := units.MustParse("1 kg")
	for i := 0; i < 2000; i++ {
		from := LotNode(fmt.Sprint("L", rng.IntN(1+i/4)))
		if rng.IntN(4) == 0 {
			from = LotNode(fmt.Sprint("HUB", rng.IntN(3)))
		}
		to := LotNode(fmt.Sprint("L", 1+i/4+rng.IntN(50)))
		if rng.IntN(10) == 0 {
			to = Node{}
		}
		require.NoError(t, x.Append(Edge{Kind: EdgeConsume, From: from, To: to, Qty: qty}))
		if i%50 == 0 || i < 100 {
			checkArena(t, x)
		}
	}
	checkArena(t, x)
	entries := 0
	for _, l := range x.lists {
		entries += int(l.in.n + l.out.n)
	}
	require.Less(t, len(x.adj), 3*entries, "the arena stays within a small factor of what it holds")
}
