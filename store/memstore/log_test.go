package memstore

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLogKeepsEveryEntryAcrossChunks(t *testing.T) {
	l := log{chunks: &chunks{}}
	defer l.chunks.free()
	var want [][]byte
	for i, size := range []int{32, 33, 100, firstChunk - 1, firstChunk, 40, maxChunk + 5, 37, 2 * firstChunk, 32} {
		b := bytes.Repeat([]byte{byte(i + 1)}, size)
		l.append(b)
		b[0] = 0 // the log keeps its own copy
		want = append(want, bytes.Repeat([]byte{byte(i + 1)}, size))
	}
	for i := 0; i < spanBlock+1000; i++ { // many small entries fill several growing chunks and span blocks
		b := append(bytes.Repeat([]byte{42}, 32), byte(i), byte(i>>8))
		l.append(b)
		want = append(want, b)
	}
	require.Equal(t, len(want), l.len())
	got, _ := l.read(0, 0)
	require.Len(t, got, len(want))
	for i := range want {
		require.True(t, bytes.Equal(want[i], got[i]), "entry %d", i+1)
	}
	page, prev := l.read(5, 2)
	require.Equal(t, want[5:7], page, "a page after position 5")
	require.Equal(t, hashOf(want[4]), prev, "with the hash of the entry at position 5")
	rest, _ := l.read(uint64(len(want)), 10)
	require.Nil(t, rest, "nothing after the end")
}
