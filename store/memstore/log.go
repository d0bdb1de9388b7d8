package memstore

// log is an append-only sequence of byte strings (the encoded events or audit records)
// packed into chunks of up to a megabyte. On Linux the chunks are mapped outside the Go
// heap: however long the history grows, the garbage collector
// neither scans it nor counts it toward the heap's growth, so a store's memory is its
// history once plus its live records, not twice everything. Appending never copies what is
// already there. The store's lock guards a log: appends under the write lock, reads under
// the read lock; free (at Close) under the write lock.
type log struct {
	chunks *chunks
	// spans say where each entry lies, in log order, in blocks of spanBlock: the log grows
	// without copying them.
	spans [][]span
}

type span struct{ chunk, from, to uint32 }

// spanBlock is how many spans a block holds (48 KiB).
const spanBlock = 4096

// chunks are a log's memory, kept apart from the log so that a store dropped without
// Close can still release them (see New).
type chunks struct{ list []chunk }

// A log's first chunk holds firstChunk bytes; each next one twice the previous, up to
// maxChunk (an entry larger than that gets a chunk of its own, rounded up to pages).
const firstChunk, maxChunk = 4 << 10, 1 << 20

func (l *log) len() int {
	if len(l.spans) == 0 {
		return 0
	}
	return (len(l.spans)-1)*spanBlock + len(l.spans[len(l.spans)-1])
}

// append adds a copy of b.
func (l *log) append(b []byte) {
	cs := l.chunks
	n := len(cs.list)
	if n == 0 || len(cs.list[n-1].b)+len(b) > cap(cs.list[n-1].b) {
		size := firstChunk
		if n > 0 {
			size = min(2*cap(cs.list[n-1].b), maxChunk)
		}
		if len(b) > size {
			size = (len(b) + firstChunk - 1) / firstChunk * firstChunk
		}
		cs.list = append(cs.list, newChunk(size))
		n++
	}
	c := &cs.list[n-1].b
	from := len(*c)
	*c = append(*c, b...)
	if len(l.spans) == 0 || len(l.spans[len(l.spans)-1]) == spanBlock {
		l.spans = append(l.spans, make([]span, 0, spanBlock))
	}
	last := &l.spans[len(l.spans)-1]
	*last = append(*last, span{chunk: uint32(n - 1), from: uint32(from), to: uint32(len(*c))})
}

// read returns up to limit entries after position after (1-based positions; limit <= 0:
// all), and the hash of the entry at position after ("" for none; every entry starts
// with its hash). The entries are views of the log: read them under the store's lock, do
// not change them.
func (l *log) read(after uint64, limit int) ([][]byte, string) {
	if after >= uint64(l.len()) {
		return nil, ""
	}
	prev := ""
	if after > 0 {
		prev = hashOf(l.at(int(after) - 1))
	}
	end := l.len()
	if limit > 0 && limit < end-int(after) { // not after+limit: a huge limit would overflow
		end = int(after) + limit
	}
	out := make([][]byte, 0, end-int(after))
	for i := int(after); i < end; i++ {
		out = append(out, l.at(i))
	}
	return out, prev
}

// at returns entry i (0-based), a view of the log.
func (l *log) at(i int) []byte {
	s := l.spans[i/spanBlock][i%spanBlock]
	return l.chunks.list[s.chunk].b[s.from:s.to:s.to]
}

// free releases the chunks; the log must not be used afterwards.
func (cs *chunks) free() {
	for _, c := range cs.list {
		c.free()
	}
	cs.list = nil
}
