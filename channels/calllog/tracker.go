package calllog

import "sync"

// tracker computes the checkpoint of one file: the offset below which every
// line read has been delivered (acknowledged by Kafka, dead-lettered, or
// skipped as blank). Lines are added in file order and finished in any
// order; the checkpoint only moves over a contiguous finished prefix.
//
// Only unfinished lines are kept (seq → start offset): the checkpoint is the
// start of the oldest unfinished line, or the end of the last line added
// when every line is finished. A line held for its CTI note keeps the
// checkpoint before it however many later lines are finished.
type tracker struct {
	mu      sync.Mutex
	pending map[uint64]int64 // seq → start offset of the line
	next    uint64           // seq of the next line added
	min     uint64           // every seq below min is finished
	end     int64            // end offset (after "\n") of the last line added
}

func newTracker(offset int64) *tracker {
	return &tracker{pending: map[uint64]int64{}, end: offset}
}

// add registers the lines [starts[i], next start) in order and returns the
// seq of the first; ends is the end offset of the last line.
func (t *tracker) add(starts []int64, end int64) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	first := t.next
	for _, s := range starts {
		t.pending[t.next] = s
		t.next++
	}
	t.end = end
	return first
}

// skip moves the end over bytes that need no delivery (a line that was
// never registered), as if it was added and finished at once.
func (t *tracker) skip(end int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.end = end
}

// done finishes a line. Finishing a line twice is harmless.
func (t *tracker) done(seq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pending, seq)
	for t.min < t.next {
		if _, ok := t.pending[t.min]; ok {
			break
		}
		t.min++
	}
}

// checkpoint returns the offset a restart may resume from.
func (t *tracker) checkpoint() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.min == t.next {
		return t.end
	}
	return t.pending[t.min]
}

// idle reports whether every line added is finished.
func (t *tracker) idle() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.min == t.next
}

// unfinished returns the number of lines not finished.
func (t *tracker) unfinished() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}
