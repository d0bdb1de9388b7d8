package equipment

// Outcome says what Timeline.Apply did with a valid signal.
type Outcome string

// Outcomes of Timeline.Apply.
const (
	// Applied: the signal was new and is now part of the timeline (in time order, even
	// when it arrived late).
	Applied Outcome = "applied"
	// Duplicate: the same (source, seq) was applied before; nothing changed.
	Duplicate Outcome = "duplicate"
	// TooOld: seq is DedupWindow or more below the highest seq seen from the source, so the
	// timeline can no longer tell whether it was applied. It is not applied (a signal is
	// never applied twice); the host should log or alert, since it usually means the
	// device restarted its sequence numbers.
	TooOld Outcome = "too_old"
)

// DedupWindow is how many sequence numbers below the highest one seen a Timeline
// remembers per source (512 bytes per source).
const DedupWindow = 4096

const dedupWords = DedupWindow / 64

// seqWindow remembers which sequence numbers of one source were applied: the highest
// one, and a ring bitmap of the DedupWindow numbers ending at it.
type seqWindow struct {
	high uint64
	bits [dedupWords]uint64
}

func (w *seqWindow) bit(seq uint64) (word int, mask uint64) {
	i := seq % DedupWindow
	return int(i / 64), 1 << (i % 64)
}

// check reports what applying seq would be, without recording it.
func (w *seqWindow) check(seq uint64) Outcome {
	switch {
	case seq > w.high:
		return Applied
	case w.high-seq >= DedupWindow:
		return TooOld
	}
	word, mask := w.bit(seq)
	if w.bits[word]&mask != 0 {
		return Duplicate
	}
	return Applied
}

// mark records seq as applied; check must have returned Applied.
func (w *seqWindow) mark(seq uint64) {
	if seq > w.high {
		if seq-w.high >= DedupWindow {
			w.bits = [dedupWords]uint64{}
		} else {
			for s := w.high + 1; s < seq; s++ {
				word, mask := w.bit(s)
				w.bits[word] &^= mask
			}
		}
		w.high = seq
	}
	word, mask := w.bit(seq)
	w.bits[word] |= mask
}
