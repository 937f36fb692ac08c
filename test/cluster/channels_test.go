//go:build cluster

package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/court12368/petitiond/internal/testutil/s3test"
	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/minio/minio-go/v7"

	"github.com/court12368/petitiond/channels/scan/scantest"
)

// The other channels under the failover load: an IMAP mailbox on a real
// Dovecot (scripts/dovecot.sh, PETITIOND_DOVECOT), a scan hot folder read
// by tesseract, and the blobs of all of them in a bucket on a real S3
// server (scripts/seaweedfs.sh, PETITIOND_S3_*).

// need returns the environment variable, failing under CI=true and
// skipping otherwise when it is not set.
func need(t *testing.T, env, what string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s required in CI: %s is not set (make test-cluster starts it)", what, env)
		}
		t.Skipf("no %s: %s is not set (make test-cluster starts it)", what, env)
	}
	return v
}

// ---------------------------------------------------------------- IMAP

// mailbox is one test's mailboxes on the Dovecot.
type mailbox struct {
	addr, user, pass             string
	inbox, done, failed, ignored string
}

func newMailbox(t *testing.T) *mailbox {
	t.Helper()
	addr := need(t, "PETITIOND_DOVECOT", "a Dovecot")
	base := "cl-" + randomSuffix()
	m := &mailbox{addr: addr, user: "petitions", pass: "secret",
		inbox: base, done: base + "/Done", failed: base + "/Failed", ignored: base + "/Ignored"}
	cl := m.login(t)
	defer cl.Close()
	for _, b := range []string{m.inbox, m.done, m.failed, m.ignored} {
		if err := cl.Create(b, nil).Wait(); err != nil {
			t.Fatalf("create %s: %v", b, err)
		}
	}
	return m
}

func (m *mailbox) login(t *testing.T) *imapclient.Client {
	t.Helper()
	cl, err := imapclient.DialInsecure(m.addr, nil)
	if err != nil {
		t.Fatalf("imap dial: %v", err)
	}
	if err := cl.Login(m.user, m.pass).Wait(); err != nil {
		t.Fatalf("imap login: %v", err)
	}
	return cl
}

func (m *mailbox) yaml(name string) string {
	return fmt.Sprintf(`  - name: %s
    type: imap
    settings:
      address: %q
      tls: none
      username: %s
      password: %s
      mailbox: %q
      done_mailbox: %q
      failed_mailbox: %q
      ignored_mailbox: %q
      poll_interval: 1s
      retry_interval: 1s
`, name, m.addr, m.user, m.pass, m.inbox, m.done, m.failed, m.ignored)
}

// count is the number of messages in box.
func (m *mailbox) count(cl *imapclient.Client, box string) (int, error) {
	st, err := cl.Status(box, &goimap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0, err
	}
	return int(*st.NumMessages), nil
}

// sentItem is one letter appended or one scan dropped.
type sentItem struct {
	sourceID string // what the channel derives the petition id from
	at       time.Time
}

// letterWriter appends a letter every interval until stop is closed, as
// mail arriving at the court's address.
func (m *mailbox) letterWriter(t *testing.T, run string, interval time.Duration, stop <-chan struct{}) func() ([]sentItem, error) {
	cl := m.login(t)
	var sent []sentItem
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cl.Close()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			msgID := fmt.Sprintf("%s.%d@cluster.test", run, i)
			raw := strings.ReplaceAll(fmt.Sprintf(`From: =?UTF-8?B?546L5bCP5piO?= <wang%d@example.cn>
To: 12368@court.example
Subject: =?UTF-8?B?5YWz5LqO5omn6KGM5qy+?= %d
Message-ID: <%s>
Date: Fri, 01 Mar 2024 09:15:02 +0800
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

法官您好：（2023）赣0102执1234号案件的执行款至今未到账，第%d封来信，请尽快处理。
`, i, i, msgID, i), "\n", "\r\n")
			cmd := cl.Append(m.inbox, int64(len(raw)), nil)
			_, err := cmd.Write([]byte(raw))
			if err == nil {
				err = cmd.Close()
			}
			if err == nil {
				_, err = cmd.Wait()
			}
			if err != nil {
				werr = fmt.Errorf("append: %w", err)
				return
			}
			sent = append(sent, sentItem{sourceID: msgID, at: time.Now()})
		}
	}()
	return func() ([]sentItem, error) { <-done; return sent, werr }
}

// ---------------------------------------------------------------- scan

func scanYAML(name, folder string) string {
	return fmt.Sprintf("  - name: %s\n    type: scan\n    settings:\n      path: %q\n      court: 赣0102\n      min_age: 300ms\n      poll_interval: 100ms\n      workers: 1\n", name, folder)
}

// scanDropper renders a visitor's form and drops it into folder every
// interval until stop is closed, as the desk's scanner does.
func scanDropper(folder string, seed uint64, interval time.Duration, stop <-chan struct{}) func() ([]sentItem, error) {
	var sent []sentItem
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		rng := rand.New(rand.NewPCG(seed, 14))
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			img, err := scantest.Render(scantest.RandomForm(rng), scantest.Layout(i%2))
			if err != nil {
				werr = err
				return
			}
			b := scantest.PNG(img)
			name := fmt.Sprintf("visit-%04d.png", i)
			tmp := filepath.Join(filepath.Dir(folder), "."+name+".part")
			if err := os.WriteFile(tmp, b, 0o644); err != nil {
				werr = err
				return
			}
			if err := os.Rename(tmp, filepath.Join(folder, name)); err != nil {
				werr = err
				return
			}
			s := sha256.Sum256(b)
			sent = append(sent, sentItem{sourceID: "sha256:" + hex.EncodeToString(s[:]), at: time.Now()})
		}
	}()
	return func() ([]sentItem, error) { <-done; return sent, werr }
}

// countFiles is the number of regular files in dir.
func countFiles(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	n := 0
	for _, e := range ents {
		if e.Type().IsRegular() {
			n++
		}
	}
	return n, err
}

// ---------------------------------------------------------------- progress

// progress polls count (items released to their source: letters in the
// done mailbox, scans in done/) and records when each was first seen, so
// that the failover report can say how long a channel stood still.
type progress struct {
	mu    sync.Mutex
	times []time.Time
	last  int
	err   error
	stop  chan struct{}
	done  chan struct{}
}

func watchProgress(count func() (int, error)) *progress {
	p := &progress{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			n, err := count()
			now := time.Now()
			p.mu.Lock()
			if err != nil {
				p.err = err
			}
			for ; p.last < n; p.last++ {
				p.times = append(p.times, now)
			}
			p.mu.Unlock()
			select {
			case <-p.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return p
}

// waitFor waits until want items were released, or within has passed.
func (p *progress) waitFor(want int, within time.Duration) (int, error) {
	deadline := time.Now().Add(within)
	for {
		p.mu.Lock()
		n, err := p.last, p.err
		p.mu.Unlock()
		if n >= want || time.Now().After(deadline) {
			return n, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *progress) close() []time.Time {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.times
}

// longestGap is the longest time in [from, until) without an item released.
func longestGap(times []time.Time, from, until time.Time) time.Duration {
	gap, prev := time.Duration(0), from
	for _, at := range times {
		if at.Before(from) {
			continue
		}
		if !at.Before(until) {
			break
		}
		gap, prev = max(gap, at.Sub(prev)), at
	}
	return max(gap, until.Sub(prev))
}

// ---------------------------------------------------------------- S3

// bucket is a fresh bucket on the S3 server the scripts started.
type bucket struct {
	name          string
	endpoint      string
	accessKeyFile string
	secretKeyFile string
	client        *minio.Client
}

func newBucket(t *testing.T) *bucket {
	t.Helper()
	ep := need(t, "PETITIOND_S3_ENDPOINT", "an S3 server")
	c, err := net.DialTimeout("tcp", ep, 2*time.Second)
	if err != nil {
		t.Fatalf("S3 server %s: %v", ep, err)
	}
	c.Close()
	b := &bucket{name: "cl-" + randomSuffix(), endpoint: ep,
		accessKeyFile: os.Getenv("PETITIOND_S3_ACCESS_KEY_FILE"), secretKeyFile: os.Getenv("PETITIOND_S3_SECRET_KEY_FILE")}
	ak, err1 := os.ReadFile(b.accessKeyFile)
	sk, err2 := os.ReadFile(b.secretKeyFile)
	if err1 != nil || err2 != nil {
		t.Fatalf("S3 keys: %v %v", err1, err2)
	}
	b.client = s3test.Client(t, ep, strings.TrimSpace(string(ak)), strings.TrimSpace(string(sk)))
	s3test.MakeBucket(t, b.client, b.name)
	return b
}

func (b *bucket) yaml(dir string) string {
	return fmt.Sprintf("{dir: %q, s3: {endpoint: %q, bucket: %q, access_key_file: %q, secret_key_file: %q}}",
		dir, b.endpoint, b.name, b.accessKeyFile, b.secretKeyFile)
}

// has reports whether the object a record's URI names is in the bucket,
// named by its sha256.
func (b *bucket) has(t *testing.T, uri string) error {
	bkt, key := s3test.Key(t, uri)
	if bkt != b.name {
		return fmt.Errorf("uri %q is not in s3://%s/", uri, b.name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := b.client.StatObject(ctx, b.name, key, minio.StatObjectOptions{})
	if err != nil {
		return fmt.Errorf("%s: %w", uri, err)
	}
	if sum := info.UserMetadata["Sha256"]; !strings.HasSuffix(key, "/"+sum) {
		return fmt.Errorf("%s: object's sha256 metadata %q", uri, sum)
	}
	return nil
}
