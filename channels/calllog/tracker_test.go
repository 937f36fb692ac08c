package calllog

import "testing"

func TestTrackerContiguousPrefix(t *testing.T) {
	tr := newTracker(100)
	if got := tr.checkpoint(); got != 100 {
		t.Fatalf("checkpoint of an empty tracker = %d, want its start 100", got)
	}
	// Lines [100,110) [110,125) [125,130), then [130,150) [150,160).
	first := tr.add([]int64{100, 110, 125}, 130)
	second := tr.add([]int64{130, 150}, 160)
	if first != 0 || second != 3 {
		t.Fatalf("seqs %d, %d", first, second)
	}
	steps := []struct {
		done uint64
		want int64
	}{
		{1, 100}, // a later line done: the first still holds the checkpoint
		{4, 100},
		{0, 125}, // 0 and 1 done: up to line 2's start
		{0, 125}, // done twice: harmless
		{3, 125},
		{2, 160}, // all done: the end of the last line
	}
	for i, s := range steps {
		tr.done(s.done)
		if got := tr.checkpoint(); got != s.want {
			t.Errorf("step %d (done %d): checkpoint = %d, want %d", i, s.done, got, s.want)
		}
	}
	if !tr.idle() || tr.unfinished() != 0 {
		t.Errorf("idle = %v, unfinished = %d", tr.idle(), tr.unfinished())
	}
	// Skipped bytes (a header, the rest of an oversize line) move the end
	// when nothing is pending, and never pass a pending line.
	tr.skip(170)
	if got := tr.checkpoint(); got != 170 {
		t.Errorf("after skip: %d, want 170", got)
	}
	s := tr.add([]int64{170}, 180)
	tr.skip(200)
	if got := tr.checkpoint(); got != 170 {
		t.Errorf("skip passed a pending line: %d, want 170", got)
	}
	tr.done(s)
	if got := tr.checkpoint(); got != 200 {
		t.Errorf("checkpoint = %d, want 200", got)
	}
}

func TestTrackerManyOutOfOrder(t *testing.T) {
	tr := newTracker(0)
	const n = 10000
	starts := make([]int64, n)
	for i := range starts {
		starts[i] = int64(i * 10)
	}
	tr.add(starts, n*10)
	// Finish every line but the 5000th, backwards.
	for i := n - 1; i >= 0; i-- {
		if i != 5000 {
			tr.done(uint64(i))
		}
	}
	if got := tr.checkpoint(); got != 50000 {
		t.Fatalf("checkpoint = %d, want 50000 (the start of the unfinished line)", got)
	}
	if tr.unfinished() != 1 {
		t.Errorf("unfinished = %d: finished lines must not be kept", tr.unfinished())
	}
	tr.done(5000)
	if got := tr.checkpoint(); got != n*10 {
		t.Errorf("checkpoint = %d, want %d", got, n*10)
	}
}
