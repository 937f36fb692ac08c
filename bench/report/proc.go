package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// cpuSeconds returns utime+stime of pid (its own threads; not children).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it start
	// at the state (field 3), so utime (14) and stime (15) are 11 and 12.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return float64(u+st) / clockTicks, nil
}

// statusKB returns a "Name:   N kB" field of /proc/<pid>/status in bytes.
func statusKB(pid int, name string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

type rssPoint struct {
	at  time.Time
	rss int64
}

// watcher samples a process's resident set every 100 ms and measures its
// CPU time over a phase (begin … end).
type watcher struct {
	pid  int
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	points  []rssPoint
	t0      time.Time
	cpu0    float64
	lastRSS int64
	lastHWM int64
	lastCPU float64
}

func watch(pid int) *watcher {
	w := &watcher{pid: pid, stop: make(chan struct{}), done: make(chan struct{}), t0: time.Now()}
	w.cpu0, _ = cpuSeconds(pid)
	go func() {
		defer close(w.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			w.sample()
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *watcher) sample() {
	rss := statusKB(w.pid, "VmRSS")
	hwm := statusKB(w.pid, "VmHWM")
	cpu, err := cpuSeconds(w.pid)
	w.mu.Lock()
	defer w.mu.Unlock()
	if rss > 0 {
		w.points = append(w.points, rssPoint{time.Now(), rss})
		w.lastRSS = rss
	}
	if hwm > w.lastHWM {
		w.lastHWM = hwm
	}
	if err == nil {
		w.lastCPU = cpu
	}
}

// begin starts a phase: CPU is counted and RSS samples kept from now.
func (w *watcher) begin() {
	w.sample()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t0 = time.Now()
	w.cpu0 = w.lastCPU
	w.points = w.points[:0]
}

// usage is a process's use of the machine over a phase.
type usage struct {
	CPUSeconds float64
	PeakRSS    int64 // VmHWM: the high-water mark since the process started
	Samples    []RSSSample
	// MaxSampled is the largest VmRSS sampled in the phase and when (a
	// VmHWM far above the quarter samples is a spike; this says where).
	MaxSampled RSSSample
}

// end closes the phase (call it while the process still runs).
func (w *watcher) end() usage {
	w.sample()
	w.mu.Lock()
	defer w.mu.Unlock()
	u := usage{CPUSeconds: w.lastCPU - w.cpu0, PeakRSS: w.lastHWM}
	if len(w.points) == 0 {
		return u
	}
	t1 := w.points[len(w.points)-1].at
	span := t1.Sub(w.t0)
	for _, p := range w.points {
		if p.rss > u.MaxSampled.RSSBytes {
			u.MaxSampled = RSSSample{AtPercent: percentOf(p.at.Sub(w.t0), span), RSSBytes: p.rss}
		}
	}
	for _, pct := range []int{25, 50, 75, 100} {
		at := w.t0.Add(span * time.Duration(pct) / 100)
		best := w.points[0]
		for _, p := range w.points {
			if absDur(p.at.Sub(at)) < absDur(best.at.Sub(at)) {
				best = p
			}
		}
		u.Samples = append(u.Samples, RSSSample{AtPercent: pct, RSSBytes: best.rss})
	}
	return u
}

func (w *watcher) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

func percentOf(d, span time.Duration) int {
	if span <= 0 {
		return 100
	}
	return int(100 * d / span)
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
