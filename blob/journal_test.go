package blob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

func sumOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func journalSize(t *testing.T, d *Dir) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(d.root, journalName))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// A small Put goes through the journal; a blob whose file was lost (a
// power failure before the page cache reached the disk) is written again
// from the journal when the store is opened.
func TestJournalReplayRestoresLostBlob(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("来信原件：请求立案")
	ref, err := d.Put(bytes.NewReader(content), 0)
	if err != nil {
		t.Fatal(err)
	}
	if journalSize(t, d) == 0 {
		t.Fatal("a small blob did not go through the journal")
	}
	d.Close()
	// Lose the file, and leave a damaged copy of another.
	os.Remove(d.path(ref.SHA256))
	d, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err := os.ReadFile(d.path(ref.SHA256))
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("after replay the blob is %q, %v; want the original", got, err)
	}
	if n := journalSize(t, d); n != 0 {
		t.Errorf("journal not emptied after replay: %d bytes", n)
	}
}

// A damaged blob file (written, never synced, torn by a crash) is
// rewritten from the journal; a torn last record (a Put that never
// returned) is dropped without harming the records before it.
func TestJournalReplayTornAndDamaged(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := []byte("第一封信"), []byte("第二封信")
	refA, _ := d.Put(bytes.NewReader(a), 0)
	d.Close()
	// A torn record after A's.
	c := []byte("第三封信，未写完")
	rec := record(sha256.Sum256(c), c)
	f, _ := os.OpenFile(filepath.Join(dir, journalName), os.O_WRONLY|os.O_APPEND, 0)
	f.Write(rec[:len(rec)-3])
	f.Close()
	os.WriteFile(d.path(refA.SHA256), a[:3], 0o640) // damaged
	d, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got, _ := os.ReadFile(d.path(refA.SHA256)); !bytes.Equal(got, a) {
		t.Errorf("damaged blob not rewritten: %q", got)
	}
	if _, err := os.Stat(d.path(sumOf(c))); err == nil {
		t.Error("the torn record was stored")
	}
	if _, err := d.Put(bytes.NewReader(b), 0); err != nil {
		t.Fatal(err)
	}
}

// A corrupt record ends the replay: nothing after it is trusted.
func TestReadJournalStopsAtCorruption(t *testing.T) {
	a, b := []byte("甲"), []byte("乙")
	recA, recB := record(sha256.Sum256(a), a), record(sha256.Sum256(b), b)
	bad := append([]byte(nil), recA...)
	bad[len(bad)-5] ^= 0xff // a data byte: the crc no longer matches
	for _, tc := range []struct {
		name string
		in   []byte
		want int
	}{
		{"two good", append(append([]byte(nil), recA...), recB...), 2},
		{"corrupt first", append(bad, recB...), 0},
		{"garbage", []byte("not a journal at all"), 0},
		{"empty", nil, 0},
	} {
		n, err := readJournal(bytes.NewReader(tc.in), func(string, []byte) error { return nil })
		if err != nil || n != tc.want {
			t.Errorf("%s: %d records, %v; want %d", tc.name, n, err, tc.want)
		}
	}
}

// When the journal is full it is retired (the file system synced once, the
// file deleted) and a fresh one takes the appends; blobs written before
// stay readable.
func TestJournalRotates(t *testing.T) {
	d, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.jr.rotateAt = 4 << 10
	var wg sync.WaitGroup
	var sums sync.Map
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				body := []byte(fmt.Sprintf("writer %d letter %d %s", w, i, bytes.Repeat([]byte("诉"), 100)))
				ref, err := d.Put(bytes.NewReader(body), 0)
				if err != nil {
					t.Error(err)
					return
				}
				sums.Store(ref.SHA256, body)
			}
		}()
	}
	wg.Wait()
	d.jr.bg.Wait()
	if d.jr.retired.Load() == 0 {
		t.Errorf("a journal of %d bytes was never retired", journalSize(t, d))
	}
	if _, err := os.Stat(filepath.Join(d.root, journalOldName)); err == nil {
		t.Error("journal.log.old left after its retirement")
	}
	sums.Range(func(k, v any) bool {
		if got, _ := os.ReadFile(d.path(k.(string))); !bytes.Equal(got, v.([]byte)) {
			t.Errorf("blob %s lost", k)
		}
		return true
	})
}

// Without sync there is no journal; a blob above journalMaxBlob does not
// use it either.
func TestJournalOnlySmallSyncedBlobs(t *testing.T) {
	d, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.jr != nil {
		t.Error("a store without sync has a journal")
	}
	d.Close()
	d, err = Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	big := bytes.Repeat([]byte("x"), journalMaxBlob+1)
	if _, err := d.Put(bytes.NewReader(big), 0); err != nil {
		t.Fatal(err)
	}
	if n := journalSize(t, d); n != 0 {
		t.Errorf("a %d-byte blob went through the journal (%d bytes)", len(big), n)
	}
}

func FuzzReadJournal(f *testing.F) {
	a := []byte("一封信")
	f.Add(record(sha256.Sum256(a), a))
	f.Add([]byte("PBJ1\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, in []byte) {
		readJournal(bytes.NewReader(in), func(sum string, data []byte) error {
			if sumOf(data) != sum {
				t.Fatalf("record with a wrong sum accepted")
			}
			return nil
		})
	})
}

// A second store on the same directory (petitiond blobs gc beside the
// daemon) leaves the journal to its owner and syncs its own blobs.
func TestJournalBelongsToOneOpener(t *testing.T) {
	dir := t.TempDir()
	d1, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d1.Close()
	ref, err := d1.Put(bytes.NewReader([]byte("守护进程的信")), 0)
	if err != nil {
		t.Fatal(err)
	}
	before := journalSize(t, d1)
	d2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if d2.jr != nil {
		t.Fatal("the second opener took the journal")
	}
	if n := journalSize(t, d1); n != before {
		t.Errorf("the second opener changed the owner's journal: %d → %d bytes", before, n)
	}
	if _, err := d2.Put(bytes.NewReader([]byte("另一进程的信")), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d1.path(ref.SHA256)); err != nil {
		t.Error(err)
	}
}

// A streamed blob that turns out small goes through the journal; one that
// does not is streamed whole, and the limit holds on both paths.
func TestStreamedPutUsesJournalWhenSmall(t *testing.T) {
	d, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	small := strings.Repeat("附件", 1000)
	before := journalSize(t, d)
	ref, err := d.Put(strings.NewReader(small), 0)
	if err != nil || ref.Size != int64(len(small)) {
		t.Fatalf("Put = %+v, %v", ref, err)
	}
	if journalSize(t, d) == before {
		t.Error("a small streamed blob did not go through the journal")
	}
	big := strings.Repeat("x", journalMaxBlob+10)
	before = journalSize(t, d)
	ref, err = d.Put(iotest.OneByteReader(strings.NewReader(big)), 0)
	if err != nil || ref.SHA256 != sumOf([]byte(big)) {
		t.Fatalf("Put(big) = %+v, %v", ref, err)
	}
	if journalSize(t, d) != before {
		t.Error("a large streamed blob went through the journal")
	}
	if got, _ := os.ReadFile(d.path(ref.SHA256)); string(got) != big {
		t.Error("large streamed blob stored wrong")
	}
	for _, in := range []string{small, big} {
		if _, err := d.Put(strings.NewReader(in), int64(len(in)-1)); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Put of %d bytes with limit %d: %v, want ErrTooLarge", len(in), len(in)-1, err)
		}
	}
	// An input that fails is the input's error, not the store's.
	if _, err := d.Put(iotest.ErrReader(errors.New("reset by peer")), 0); err == nil || errors.Is(err, ErrStore) {
		t.Errorf("failing input: %v", err)
	}
}

// References share the journal's group commit: a reference whose refs.log
// line was lost (never synced before a power failure) is written again
// from the journal on the next start.
func TestJournalReplaysReferences(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := d.Put(bytes.NewReader([]byte("被引用的原件")), 0)
	logPath := filepath.Join(dir, "refs.log")
	fi, _ := os.Stat(logPath)
	journalBefore := journalSize(t, d)
	if err := d.Reference(ref.SHA256); err != nil {
		t.Fatal(err)
	}
	if journalSize(t, d) == journalBefore {
		t.Fatal("the reference did not go through the journal")
	}
	if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), ref.SHA256) {
		t.Fatal("the reference is not in refs.log")
	}
	fsyncs := d.Fsyncs()
	d.Close()
	os.Truncate(logPath, fi.Size()) // the unsynced line is lost
	d, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), ref.SHA256) {
		t.Error("the lost reference was not replayed into refs.log")
	}
	if fsyncs > 3 {
		t.Errorf("%d fsyncs for one blob and its reference", fsyncs)
	}
}

// Small blobs are written in place (no temporary file): a file cut short
// (a crash or a writer still at work) is no stored blob for a second Put,
// which writes it whole; the journal holds it meanwhile.
func TestInPlaceWriteShortFileIsRewritten(t *testing.T) {
	d, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	content := []byte("（2024）赣0102民初77号 当事人来信，原件在此")
	ref, err := d.Put(bytes.NewReader(content), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(d.path(ref.SHA256), int64(len(content)/2)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(bytes.NewReader(content), 0); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(d.path(ref.SHA256)); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("after a second Put the blob is %q, %v; want it whole", got, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(d.root, "tmp")); len(ents) != 0 {
		t.Errorf("%d files left in tmp/", len(ents))
	}
}

// References written before a blob is stored share its group commit: the
// blob's fsync covers them and their wait costs none of its own, while
// Reference alone syncs; a crash between the two replays the references.
func TestReferenceLaterSharesTheBlobsFsync(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("网上来信原件：请求联系承办法官")
	wait, err := d.ReferenceLater(sumOf(content))
	if err != nil {
		t.Fatal(err)
	}
	before := d.Fsyncs()
	if _, err := d.Put(bytes.NewReader(content), 0); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if n := d.Fsyncs() - before; n != 1 {
		t.Errorf("Put then the references' wait: %d fsyncs, want the blob's one", n)
	}
	other := sumOf([]byte("另一份已存的原件"))
	before = d.Fsyncs()
	if err := d.Reference(other); err != nil {
		t.Fatal(err)
	}
	if n := d.Fsyncs() - before; n != 1 {
		t.Errorf("Reference alone: %d fsyncs, want 1", n)
	}
	// Written, not yet waited for: the journal holds them for a replay.
	third := sumOf([]byte("第三份"))
	if _, err := d.ReferenceLater(third); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "refs.log")
	d.Close()
	os.WriteFile(logPath, nil, 0o640) // refs.log lost entirely
	d, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	b, _ := os.ReadFile(logPath)
	for _, s := range []string{sumOf(content), other, third} {
		if !strings.Contains(string(b), s) {
			t.Errorf("reference %s… not replayed into refs.log", s[:8])
		}
	}
}

// A retirement does not hold writers back: while its syncfs is held, Puts
// and references go on in the fresh journal.log and return; once it ends
// the old file is gone and every blob is intact. A second full journal
// waits for the first retirement instead of overwriting journal.log.old.
func TestJournalRetiresWithoutStallingWriters(t *testing.T) {
	d, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	entered, release := make(chan struct{}, 16), make(chan struct{})
	real := syncfs
	syncfs = func(dir string) error {
		entered <- struct{}{}
		<-release
		return real(dir)
	}
	defer func() { syncfs = real }()
	d.jr.rotateAt = 1 << 10
	bodies := map[string][]byte{}
	put := func(i int) {
		b := []byte(fmt.Sprintf("来信 %d %s", i, bytes.Repeat([]byte("执行"), 100)))
		ref, err := d.Put(bytes.NewReader(b), 0)
		if err != nil {
			t.Fatal(err)
		}
		bodies[ref.SHA256] = b
	}
	i := 0
	for ; len(entered) == 0; i++ {
		put(i) // until a retirement reaches its syncfs
	}
	old := filepath.Join(d.root, journalOldName)
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("no journal.log.old during the retirement: %v", err)
	}
	// The retirement is held: writers carry on, past the limit.
	for k := 0; k < 20; k++ {
		put(i + k)
	}
	if err := d.Reference(sumOf([]byte("引用"))); err != nil {
		t.Fatal(err)
	}
	if n := journalSize(t, d); n < d.jr.rotateAt {
		t.Fatalf("journal.log %d bytes: the writers did not go on past the limit", n)
	}
	if got := d.jr.retired.Load(); got != 0 {
		t.Fatalf("%d retirements finished while the syncfs was held", got)
	}
	close(release)
	d.jr.bg.Wait()
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal.log.old after the retirement: %v", err)
	}
	put(1000) // the full journal.log is retired in turn
	d.jr.bg.Wait()
	if got := d.jr.retired.Load(); got != 2 {
		t.Errorf("%d retirements, want 2", got)
	}
	for sum, b := range bodies {
		if got, err := os.ReadFile(d.path(sum)); err != nil || !bytes.Equal(got, b) {
			t.Errorf("blob %s… %v", sum[:8], err)
		}
	}
}

// A crash during a retirement leaves journal.log.old beside journal.log:
// the next Open replays both, then removes the old one.
func TestJournalReplaysARetiringJournal(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := []byte("退休中的日志里的信"), []byte("新日志里的信")
	refA, _ := d.Put(bytes.NewReader(a), 0)
	d.Close()
	if err := os.Rename(filepath.Join(dir, journalName), filepath.Join(dir, journalOldName)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, journalName), record(sha256.Sum256(b), b), 0o640)
	os.Remove(d.path(refA.SHA256)) // never reached the disk
	d, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, c := range [][]byte{a, b} {
		if got, err := os.ReadFile(d.path(sumOf(c))); err != nil || !bytes.Equal(got, c) {
			t.Errorf("blob %q not replayed: %q, %v", c, got, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, journalOldName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal.log.old after the replay: %v", err)
	}
}
