package mqttdevice

import (
	"sync"

	"github.com/taktmes/takt/equipment"
)

// buffer is the bounded store-and-forward queue between the MQTT client and the engine,
// together with the acknowledgements of the messages its signals came in.
//
// Positions number the signals ever added; a delivered batch is removed by position, so a
// batch in flight while older signals are dropped removes only itself. Each message is
// kept with the position after its last signal, and acknowledged once every signal before
// that position has left the buffer (delivered, refused for good, or dropped): messages
// are acknowledged in the order they were received, as MQTT 3.1.1 asks (section 4.6), and
// a message without signals is acknowledged as soon as those before it are.
//
// When full, adding drops the oldest signals (counted), so the newest machine state is
// always kept; their messages are acknowledged, so the broker sends more.
type buffer struct {
	mu      sync.Mutex
	items   []equipment.Signal // items[0] has position head
	head    uint64
	max     int
	dropped uint64
	unacked []message     // in the order received
	ready   chan struct{} // has a value while items is not empty

	ackMu sync.Mutex // held while acknowledging, so that acknowledgements keep their order
}

// message is a received message not acknowledged yet: ack acknowledges it once the
// signals before position end have left the buffer.
type message struct {
	end uint64
	ack func()
}

func newBuffer(max int) *buffer {
	return &buffer{max: max, ready: make(chan struct{}, 1)}
}

// add appends the signals of a message, dropping the oldest beyond capacity, and returns
// how many were dropped. ack acknowledges the message; add calls it at once when nothing
// received before it waits.
func (b *buffer) add(sigs []equipment.Signal, ack func()) int {
	b.mu.Lock()
	b.items = append(b.items, sigs...)
	b.unacked = append(b.unacked, message{end: b.head + uint64(len(b.items)), ack: ack})
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
	b.acknowledge()
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
// dropped already, and acknowledges the messages that have no signal left.
func (b *buffer) remove(end uint64) {
	b.mu.Lock()
	if end > b.head {
		n := min(int(end-b.head), len(b.items))
		b.items = b.items[n:]
		b.head += uint64(n)
	}
	if len(b.items) > 0 {
		select {
		case b.ready <- struct{}{}:
		default:
		}
	}
	b.acknowledge()
}

// acknowledge is called with mu held and releases it: it takes the messages whose
// signals have all left the buffer and acknowledges them, in order, outside mu (an
// acknowledgement waits for the client's network loop).
func (b *buffer) acknowledge() {
	n := 0
	for n < len(b.unacked) && b.unacked[n].end <= b.head {
		n++
	}
	done := b.unacked[:n:n]
	b.unacked = b.unacked[n:]
	b.ackMu.Lock()
	b.mu.Unlock()
	defer b.ackMu.Unlock()
	for _, m := range done {
		m.ack()
	}
}

func (b *buffer) stats() (buffered, unacked int, dropped uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items), len(b.unacked), b.dropped
}
