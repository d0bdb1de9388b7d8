package mqttdevice

import (
	"sync"

	"github.com/taktmes/takt/equipment"
)

// buffer is the bounded store-and-forward queue between the MQTT client and the engine.
// When full, adding drops the oldest signals (counted), so the newest machine state is
// always kept. Positions number the signals ever added; a delivered batch is removed by
// position, so a batch in flight while older signals are dropped removes only itself.
type buffer struct {
	mu      sync.Mutex
	items   []equipment.Signal // items[0] has position head
	head    uint64
	max     int
	dropped uint64
	ready   chan struct{} // has a value while items is not empty
}

func newBuffer(max int) *buffer {
	return &buffer{max: max, ready: make(chan struct{}, 1)}
}

// add appends signals, dropping the oldest beyond capacity, and returns how many were
// dropped.
func (b *buffer) add(sigs []equipment.Signal) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.items = append(b.items, sigs...)
	drop := len(b.items) - b.max
	if drop > 0 {
		b.items = append(b.items[:0:0], b.items[drop:]...)
		b.head += uint64(drop)
		b.dropped += uint64(drop)
	}
	if len(b.items) > 0 {
		select {
		case b.ready <- struct{}{}:
		default:
		}
	}
	return max(drop, 0)
}

// peek returns up to n of the oldest signals and the position of the first.
func (b *buffer) peek(n int) ([]equipment.Signal, uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n = min(n, len(b.items))
	return append([]equipment.Signal(nil), b.items[:n]...), b.head
}

// remove forgets the signals before position end (those delivered), unless they were
// dropped already.
func (b *buffer) remove(end uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if end <= b.head {
		return
	}
	n := min(int(end-b.head), len(b.items))
	b.items = b.items[n:]
	b.head += uint64(n)
	if len(b.items) > 0 {
		select {
		case b.ready <- struct{}{}:
		default:
		}
	}
}

func (b *buffer) stats() (buffered int, dropped uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items), b.dropped
}
