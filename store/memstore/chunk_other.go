//go:build !linux

package memstore

// chunk is memory of a log: a Go slice (mapping outside the heap is done on Linux).
type chunk struct{ b []byte }

// newChunk returns an empty chunk of size bytes.
func newChunk(size int) chunk { return chunk{b: make([]byte, 0, size)} }

func (c chunk) free() {}
