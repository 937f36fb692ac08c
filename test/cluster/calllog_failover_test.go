//go:build cluster

package cluster

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// calllogYAML is the calllog channel the failover test tails.
func calllogYAML(name, path string) string {
	return fmt.Sprintf(`  - name: %s
    type: calllog
    settings:
      path: %s
      format: asterisk-csv
      area_code: "791"
      poll_interval: 20ms
      checkpoint_interval: 50ms
`, name, path)
}

// masterLine is an 18-column Asterisk Master.csv line of an answered call.
func masterLine(uid string) string {
	return fmt.Sprintf(`"","13907911234","12368","from-trunk","""王小明"" <13907911234>","PJSIP/trunk-00000020","PJSIP/8001-00000021","Queue","petitions,t,,,300","2024-03-01 09:15:02","2024-03-01 09:15:03","2024-03-01 09:22:45",463,462,"ANSWERED","DOCUMENTATION","%s",""`, uid) + "\n"
}

// cdrLine is one line written to the tailed file.
type cdrLine struct {
	uid     string
	written time.Time
	end     int64     // file offset after the line
	acked   time.Time // when the channel's saved offset first passed end
}

// cdrWriter appends a line every interval until stop is closed, like
// Asterisk writing Master.csv, and watches the channel's saved offset
// (offsets.json in stateDir) to time each line's acknowledgement.
func cdrWriter(path, stateDir, run string, interval time.Duration, stop <-chan struct{}) func(within time.Duration) ([]*cdrLine, error) {
	var mu sync.Mutex
	var lines []*cdrLine
	var werr error
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return func(time.Duration) ([]*cdrLine, error) { return nil, err }
	}
	written := make(chan struct{})
	go func() {
		defer close(written)
		defer f.Close()
		var off int64
		t := time.NewTicker(interval)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			uid := fmt.Sprintf("%s.%d", run, i)
			s := masterLine(uid)
			if _, err := f.WriteString(s); err != nil {
				mu.Lock()
				werr = err
				mu.Unlock()
				return
			}
			off += int64(len(s))
			mu.Lock()
			lines = append(lines, &cdrLine{uid: uid, written: time.Now(), end: off})
			mu.Unlock()
		}
	}()
	// The watcher: acknowledgement times from the saved offset.
	watchDone := make(chan struct{})
	allAcked := make(chan struct{})
	go func() {
		defer close(watchDone)
		next := 0
		for {
			off := savedOffset(stateDir)
			now := time.Now()
			mu.Lock()
			for next < len(lines) && lines[next].end <= off {
				lines[next].acked = now
				next++
			}
			done := next == len(lines)
			mu.Unlock()
			select {
			case <-written:
				if done {
					close(allAcked)
					return
				}
			default:
			}
			select {
			case <-allAcked:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func(within time.Duration) ([]*cdrLine, error) {
		<-written
		select {
		case <-watchDone:
		case <-time.After(within):
			mu.Lock()
			defer mu.Unlock()
			return lines, fmt.Errorf("not every CDR line acknowledged (saved offset %d) within %v of the end", savedOffset(stateDir), within)
		}
		mu.Lock()
		defer mu.Unlock()
		return lines, werr
	}
}

// savedOffset is the largest offset in any offsets.json under dir (one
// file is tailed), or -1.
func savedOffset(dir string) int64 {
	best := int64(-1)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "offsets.json" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		var doc struct {
			Files []struct {
				Offset int64 `json:"offset"`
			} `json:"files"`
		}
		if json.Unmarshal(b, &doc) == nil {
			for _, f := range doc.Files {
				best = max(best, f.Offset)
			}
		}
		return nil
	})
	return best
}
