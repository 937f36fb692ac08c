// Package scan is the visitors' channel (来访): a desk scanner's capture
// software drops each scanned registration form (PNG, JPEG, TIFF, PDF) into a
// hot folder; the channel claims it, reads it with tesseract on a bounded
// worker pool, and hands the pipeline one item of kind Kind with what was
// read, the scan itself stored as the original. Reading the values
// (checking and correcting identifiers) is package scan/decode's.
//
// A file is taken once complete (unchanged for min_age), claimed by an
// atomic rename into this instance's claim folder (processing/<slot>,
// held with a lock, so instances sharing the folder never take one file
// twice), and moved to done/ only after Kafka acknowledged its record — to
// error/ after a dead-letter record when it cannot be read. A transient
// failure (tesseract missing, disk) puts it back for a retry; a crash
// leaves it in the claim folder, taken up again on the next start (or by
// another instance once the lock is gone). See README.md.
package scan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/scan/form"
	"github.com/court12368/petitiond/petition"
)

// Channel is a running scan channel.
type Channel struct {
	cfg     *Config
	env     channels.Env
	log     *slog.Logger
	x       *form.Extractor
	regNo   *regexp.Regexp
	workDir string

	inbox, done, errDir, procRoot string
	slot                          string // this instance's claim folder

	mu      sync.Mutex
	retry   map[string]time.Time // base name → not before
	seen    map[string]fileState // base name → as first seen unchanged
	claimed map[string]bool      // base names in the slot being worked on

	pending  *channels.Pending // submitted items whose ack is outstanding
	taken    atomic.Int64
	finished atomic.Int64
	pages    atomic.Int64

	// The backlog: scans in the hot folder at the last look, scans claimed
	// and not yet handed to a worker, pages rendered and not yet read.
	running              atomic.Bool
	inboxLeft, unstarted atomic.Int64
	pagesWaiting         atomic.Int64
}

// Backlog implements channels.Backlogger: the scans waiting in the hot
// folder (as of the last look, which the channel takes every poll
// interval) or claimed and not yet started, and the pages of the scans
// being read that wait for OCR. Nil while the channel is not running.
func (c *Channel) Backlog() []channels.Backlog {
	if !c.running.Load() {
		return nil
	}
	return []channels.Backlog{
		{Unit: channels.UnitFiles, N: c.inboxLeft.Load() + c.unstarted.Load()},
		{Unit: channels.UnitPages, N: c.pagesWaiting.Load()},
	}
}

// New builds a scan channel; folders are made in Run.
func New(cfg *Config, env channels.Env) (*Channel, error) {
	x, err := cfg.spec()
	if err != nil {
		return nil, err
	}
	c := &Channel{cfg: cfg, env: env, log: env.Logger, x: x, regNo: regexp.MustCompile(cfg.Barcodes.Pattern),
		retry: map[string]time.Time{}, seen: map[string]fileState{}, claimed: map[string]bool{}, pending: channels.NewPending(1 << 20)}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.inbox = cfg.Path
	c.done = or(cfg.DoneDir, filepath.Join(cfg.Path, "done"))
	c.errDir = or(cfg.ErrorDir, filepath.Join(cfg.Path, "error"))
	c.procRoot = or(cfg.ProcessingDir, filepath.Join(cfg.Path, "processing"))
	return c, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fileState is a file's size and modification time, and since when they
// have not changed.
type fileState struct {
	size  int64
	mtime time.Time
	since time.Time
}

type job struct {
	name    string // base name of the scan
	path    string // in the slot
	sidecar string // in the slot, or ""
}

// Run watches the folder until ctx is done, then waits for the acks of
// what it submitted (up to the drain timeout).
func (c *Channel) Run(ctx context.Context, sink channels.Sink) error {
	for _, d := range []string{c.inbox, c.done, c.errDir, c.procRoot} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
	}
	c.workDir = filepath.Join(or(c.env.StateDir, os.TempDir()), "work")
	os.RemoveAll(c.workDir)
	if err := os.MkdirAll(c.workDir, 0o700); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	slot, err := channels.TakeClaimSlot(c.procRoot)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	defer slot.Close()
	c.slot = slot.Dir

	jobs := make(chan job)
	ocrCtx, stopOCR := context.WithCancel(context.Background())
	defer stopOCR()
	var workers sync.WaitGroup
	for i := 0; i < c.cfg.Workers; i++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range jobs {
				c.work(ocrCtx, sink, j)
			}
		}()
	}
	c.log.Info("scan: watching folder", "path", c.inbox, "slot", filepath.Base(c.slot), "workers", c.cfg.Workers)

	backlog := c.recover()
	tick := time.NewTicker(c.cfg.PollInterval.D())
	defer tick.Stop()
	lastProgress := time.Now()
	var nextAdopt time.Time
loop:
	for {
		if len(backlog) == 0 {
			if time.Now().After(nextAdopt) {
				c.adopt()
				nextAdopt = time.Now().Add(10 * c.cfg.PollInterval.D())
			}
			backlog = c.claimReady(c.cfg.Workers * 2)
		} else {
			c.inboxLeft.Store(int64(len(c.scans(c.inbox))))
		}
		c.unstarted.Store(int64(len(backlog)))
		c.running.Store(true)
		for len(backlog) > 0 {
			select {
			case jobs <- backlog[0]:
				backlog = backlog[1:]
				c.unstarted.Store(int64(len(backlog)))
				continue
			case <-ctx.Done():
				break loop
			case <-tick.C:
			}
			break
		}
		if time.Since(lastProgress) > 30*time.Second {
			if queued := c.queued(); queued > 0 || len(backlog) > 0 {
				c.log.Info("scan: working off backlog", "waiting", queued+len(backlog), "taken", c.taken.Load(), "finished", c.finished.Load(), "pages", c.pages.Load())
			}
			lastProgress = time.Now()
		}
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
	}
	// Unstarted jobs stay claimed in the slot and are taken up next time.
	c.running.Store(false)
	close(jobs)
	stopOCR()
	workers.Wait()
	drain, cancelDrain := c.env.DrainContext(ctx)
	defer cancelDrain()
	if err := c.pending.Wait(drain); err != nil {
		c.log.Warn("scan: stopped with acks outstanding; their files stay claimed and are read again on the next start", "pending", c.pending.Len())
	}
	c.log.Info("scan: stopped", "taken", c.taken.Load(), "finished", c.finished.Load(), "pages", c.pages.Load())
	return nil
}

// recover returns the jobs left in this slot by an earlier run.
func (c *Channel) recover() []job {
	var out []job
	for _, name := range c.scans(c.slot) {
		j := job{name: name, path: filepath.Join(c.slot, name)}
		if sc := sidecarOf(name); fileExists(filepath.Join(c.slot, sc)) {
			j.sidecar = filepath.Join(c.slot, sc)
		}
		c.mu.Lock()
		c.claimed[name] = true
		c.mu.Unlock()
		out = append(out, j)
	}
	// A sidecar whose scan is not here (a crash between the two claiming
	// renames) goes back to wait for its scan.
	if ents, err := os.ReadDir(c.slot); err == nil {
		for _, e := range ents {
			n := e.Name()
			if strings.HasSuffix(strings.ToLower(n), ".json") && !c.hasScan(c.slot, n) {
				moveInto(filepath.Join(c.slot, n), c.inbox, n)
			}
		}
	}
	if len(out) > 0 {
		c.log.Info("scan: taking up files claimed before a restart", "files", len(out))
	}
	return out
}

// hasScan reports whether dir holds a scan that the sidecar name belongs to.
func (c *Channel) hasScan(dir, sidecar string) bool {
	for _, n := range c.scans(dir) {
		if sidecarOf(n) == sidecar {
			return true
		}
	}
	return false
}

// adopt puts the files of claim folders no running instance holds back
// into the hot folder.
func (c *Channel) adopt() {
	taken := channels.AdoptOrphanedClaims(c.procRoot, c.slot, func(path string) bool {
		_, err := moveInto(path, c.inbox, filepath.Base(path))
		return err == nil
	})
	for slot, n := range taken {
		c.log.Info("scan: took back files claimed by an instance that is gone", "slot", slot, "files", n)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func sidecarOf(name string) string {
	return strings.TrimSuffix(name, filepath.Ext(name)) + ".json"
}

// scans lists the candidate scan files of a folder: regular, not hidden,
// not a sidecar, not a temporary name of a file being written.
func (c *Channel) scans(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		lower := strings.ToLower(n)
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "~") {
			continue
		}
		switch filepath.Ext(lower) {
		case ".json", ".tmp", ".part", ".partial", ".crdownload", ".filepart", ".lock":
			continue
		}
		out = append(out, n)
	}
	return out
}

func (c *Channel) queued() int {
	n := 0
	now := time.Now()
	for _, name := range c.scans(c.inbox) {
		if fi, err := os.Stat(filepath.Join(c.inbox, name)); err == nil && now.Sub(fi.ModTime()) >= c.cfg.MinAge.D() {
			n++
		}
	}
	return n
}

// claimReady claims up to max complete files by renaming them (and their
// sidecars) into the slot.
func (c *Channel) claimReady(max int) []job {
	var out []job
	now := time.Now()
	names := c.scans(c.inbox)
	c.forget(names)
	defer func() { c.inboxLeft.Store(int64(len(names) - len(out))) }()
	for _, name := range names {
		if len(out) >= max {
			break
		}
		c.mu.Lock()
		wait, busy := c.retry[name], c.claimed[name]
		c.mu.Unlock()
		if busy || now.Before(wait) {
			continue
		}
		src := filepath.Join(c.inbox, name)
		fi, err := os.Stat(src)
		if err != nil || !c.quiet(name, fi, now) {
			continue
		}
		sc := filepath.Join(c.inbox, sidecarOf(name))
		if si, err := os.Stat(sc); err == nil && now.Sub(si.ModTime()) < c.cfg.MinAge.D() {
			continue // the sidecar is still being written
		}
		// The sidecar first: a crash between the two renames leaves it in
		// the slot with nothing lost, where recover finds it with its scan.
		var side string
		if fileExists(sc) {
			if p, err := moveInto(sc, c.slot, sidecarOf(name)); err == nil {
				side = p
			}
		}
		dst, err := moveInto(src, c.slot, name)
		if err != nil {
			if side != "" {
				moveInto(side, c.inbox, sidecarOf(name))
			}
			continue // another instance was faster, or it went away
		}
		j := job{name: name, path: dst, sidecar: side}
		c.mu.Lock()
		c.claimed[name] = true
		delete(c.retry, name)
		delete(c.seen, name)
		c.mu.Unlock()
		out = append(out, j)
	}
	return out
}

// forget drops what is remembered of files no longer in the hot folder
// (taken by another instance, removed), so the maps stay as small as the
// folder.
func (c *Channel) forget(names []string) {
	present := make(map[string]bool, len(names))
	for _, n := range names {
		present[n] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for n := range c.seen {
		if !present[n] {
			delete(c.seen, n)
		}
	}
	for n, until := range c.retry {
		if !present[n] && time.Now().After(until) {
			delete(c.retry, n)
		}
	}
}

// quiet says whether a file is complete: its modification time is min_age
// old, and its size and modification time have not changed for min_age
// since this instance first saw them (a copy that keeps the source's old
// modification time is still growing).
func (c *Channel) quiet(name string, fi os.FileInfo, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.seen[name]
	if !ok || st.size != fi.Size() || !st.mtime.Equal(fi.ModTime()) {
		c.seen[name] = fileState{size: fi.Size(), mtime: fi.ModTime(), since: now}
		return false
	}
	min := c.cfg.MinAge.D()
	return now.Sub(fi.ModTime()) >= min && now.Sub(st.since) >= min
}

// work reads one claimed file and submits its item.
func (c *Channel) work(ctx context.Context, sink channels.Sink, j job) {
	c.taken.Add(1)
	it, err := c.safeRead(ctx, j)
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: the file stays claimed for the next start
		}
		c.log.Warn("scan: will retry", "file", j.name, "error", err)
		c.putBack(j)
		return
	}
	it.Ack = func(o channels.Outcome) {
		// Acks must not block: moving files is the channel's own work.
		go func() {
			defer c.pending.Done()
			c.release(j, o)
		}()
	}
	c.pending.TryTake()
	if err := sink.Submit(ctx, it); err != nil {
		c.pending.Done()
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("scan: pipeline did not take the scan; will retry", "file", j.name, "error", err)
		c.putBack(j)
	}
}

// safeRead is read that turns a panic (a decoder's bug on a hostile
// file) into an unreadable item, dead-lettered with the stored original:
// one file never takes the daemon down, nor comes back to do it again.
func (c *Channel) safeRead(ctx context.Context, j job) (it *channels.Item, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("scan: reading a file failed unexpectedly; it is dead-lettered", "file", j.name, "panic", fmt.Sprint(r))
			it = &channels.Item{Kind: Kind, SourceRef: "file://" + filepath.Join(c.inbox, j.name),
				Fields: map[petition.Field]string{FieldUnreadable: "internal error while reading the file"},
				Meta:   map[string]any{MetaFile: j.name}}
			it, err = c.unreadableItem(it, j, nil)
		}
	}()
	return c.read(ctx, j)
}

// read stores the original and OCRs it into an item. An unreadable file
// still makes an item (dead-lettered with its reason); only transient
// failures return an error.
func (c *Channel) read(ctx context.Context, j job) (*channels.Item, error) {
	fi, err := os.Stat(j.path)
	if err != nil {
		return nil, err
	}
	it := &channels.Item{
		Kind:       Kind,
		SourceRef:  "file://" + filepath.Join(c.inbox, j.name),
		ReceivedAt: fi.ModTime(),
		Fields:     map[petition.Field]string{},
		Meta:       map[string]any{MetaFile: j.name},
	}
	if c.cfg.Court != "" {
		it.Fields[FieldCourtHint] = c.cfg.Court
	}
	if fi.Size() > int64(c.cfg.MaxFileSize) {
		it.Fields[FieldUnreadable] = fmt.Sprintf("file of %d bytes exceeds max_file_size %d", fi.Size(), int64(c.cfg.MaxFileSize))
		return c.unreadableItem(it, j, nil)
	}
	ref, err := c.store(j.path)
	if err != nil {
		return nil, err
	}
	it.Original = ref
	it.SourceID = "sha256:" + ref.SHA256
	it.Attachments = []channels.Attachment{{Filename: j.name, ContentType: contentType(j.name), Ref: ref}}

	if j.sidecar != "" {
		if err := c.sidecar(it, j.sidecar); err != nil {
			if errors.Is(err, errTransient) {
				return nil, err
			}
			it.Fields[FieldUnreadable] = "sidecar " + filepath.Base(j.sidecar) + ": " + err.Error()
			return c.unreadableItem(it, j, nil)
		}
	}
	octx, cancel := context.WithTimeout(ctx, c.cfg.OCR.Timeout.D()*time.Duration(c.cfg.MaxPages))
	defer cancel()
	dir, err := os.MkdirTemp(c.workDir, "ocr-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errTransient, err)
	}
	defer os.RemoveAll(dir)
	res, err := c.ocr(octx, j.path, dir)
	var bad *errUnreadable
	if errors.As(err, &bad) {
		it.Fields[FieldUnreadable] = bad.why
		return c.unreadableItem(it, j, nil)
	}
	if err != nil {
		return nil, err
	}
	c.pages.Add(int64(len(res.pages)))
	c.fill(octx, it, res, dir)
	return it, nil
}

func (c *Channel) unreadableItem(it *channels.Item, j job, _ error) (*channels.Item, error) {
	if it.Original.IsZero() {
		// Keep the evidence even of a file that cannot be read (unless it
		// is too large to store, when its name and size must do).
		if fi, err := os.Stat(j.path); err == nil && fi.Size() <= int64(c.cfg.MaxFileSize) {
			ref, err := c.store(j.path)
			if err != nil {
				return nil, err
			}
			it.Original = ref
		}
	}
	if it.SourceID == "" {
		if it.Original.SHA256 != "" {
			it.SourceID = "sha256:" + it.Original.SHA256
		} else {
			h := sha256.Sum256([]byte(j.name))
			it.SourceID = "file:" + hex.EncodeToString(h[:16])
		}
	}
	return it, nil
}

func (c *Channel) store(path string) (blob.Ref, error) {
	f, err := os.Open(path)
	if err != nil {
		return blob.Ref{}, err
	}
	defer f.Close()
	return c.env.Blobs.Put(f, int64(c.cfg.MaxFileSize))
}

func contentType(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".tif", ".tiff":
		return "image/tiff"
	case ".pdf":
		return "application/pdf"
	}
	return "application/octet-stream"
}

// maxText bounds the page text carried in an item.
const maxText = 200_000

// fill puts what OCR read into the item.
func (c *Channel) fill(ctx context.Context, it *channels.Item, res *ocrResult, dir string) {
	sidecar := map[petition.Field]bool{}
	for _, f := range metaList(it.Meta[MetaSidecarFields]) {
		sidecar[petition.Field(f)] = true
	}
	conf := map[string]float64{}
	agree := map[string]bool{}
	leastChar := map[string]float64{}
	read := c.x.Extract(res.pages)
	for f, v := range read {
		if sidecar[f] {
			continue
		}
		it.Fields[f] = v.Text
		conf[string(f)] = round1(v.Conf)
		if f == petition.FieldName || f == petition.FieldAddress {
			// No checksum guards these: read them twice. A name is one
			// word: what follows it came from a neighbouring cell.
			want := strings.Join(strings.Fields(v.Text), "")
			if f == petition.FieldName {
				want = v.First
			}
			if second, err := c.reread(ctx, res, v, dir); err == nil {
				joined := strings.Join(strings.Fields(v.Text), "")
				if ok, _ := agreement(second, joined); f == petition.FieldName && ok {
					// Both readings agree on the whole value; the page's
					// reading only put a space inside the name.
					it.Fields[f], want = joined, joined
				}
				ok, least, end := agreementAt(second, want)
				if ok && f == petition.FieldName && !c.endsValue(second, end) {
					// The second reading goes on with more of a name
					// (张三 read, 张三丰 written): not an agreement.
					ok = false
				}
				if !ok && f == petition.FieldName {
					// The page and the line disagree. A reading of the page
					// as one uniform block (--psm 6) breaks the tie: a name
					// that two of the three readings give is taken.
					if alt, err := c.readPage(ctx, res.prepared[v.Page-1], v.Page, 6); err == nil {
						if av, found := c.x.Extract([]*form.Page{alt})[f]; found {
							if ok2, l2 := agreement(second, av.First); ok2 {
								it.Fields[f], ok, least = av.First, true, l2
							}
						}
					}
				}
				agree[string(f)] = ok
				if ok {
					leastChar[string(f)] = round1(least)
				}
			}
		}
	}
	// Phones and case numbers: the digits of the line read alone must
	// contain the digits read on the page (a misread digit often still
	// makes a valid number, and a serial has no checksum).
	for _, f := range []petition.Field{petition.FieldPhone, petition.FieldCaseNumber} {
		v, ok := read[f]
		if !ok || sidecar[f] {
			continue
		}
		if second, err := c.reread(ctx, res, v, dir); err == nil {
			var b strings.Builder
			for _, g := range second {
				b.WriteRune(g.r)
			}
			want := form.Digits(v.Text)
			agree[string(f)] = want != "" && strings.Contains(form.Digits(b.String()), want)
		}
	}
	if len(leastChar) > 0 {
		it.Meta[MetaLeastCharConf] = leastChar
	}
	if len(agree) > 0 {
		it.Meta[MetaReread] = agree
	}
	txt := form.Text(res.pages)
	for _, code := range res.barcodes {
		txt += "\n" + code
	}
	if len(txt) > maxText {
		n := maxText
		for n > 0 && !utf8.RuneStart(txt[n]) {
			n--
		}
		txt = txt[:n]
	}
	it.Fields[FieldText] = txt
	var pageConf []float64
	var reasons []string
	for _, p := range res.pages {
		pageConf = append(pageConf, round1(p.Conf))
		if p.Conf < c.cfg.ReviewBelow {
			reasons = append(reasons, ReasonLowConfidence)
		}
	}
	skew := make([]float64, len(res.skew))
	for i, s := range res.skew {
		skew[i] = round1(s)
	}
	it.Meta[MetaFormat] = res.format
	it.Meta[MetaPages] = len(res.pages)
	it.Meta[MetaOCRConfidence] = pageConf
	it.Meta[MetaSkew] = skew
	it.Meta[MetaFieldConfidence] = conf
	it.Meta[MetaMinConfidence] = c.cfg.FieldConfidence
	if len(reasons) > 0 {
		it.Meta[MetaReviewReasons] = reasons[:1]
	}
	if len(res.barcodes) > 0 {
		it.Meta[MetaBarcodes] = res.barcodes
		if _, given := it.Meta[MetaRegistrationNo]; !given {
			for _, code := range res.barcodes {
				if c.regNo.MatchString(code) && petition.FindTrackingNo(code) == "" {
					it.Meta[MetaRegistrationNo] = code
					break
				}
			}
		}
	}
	if reg, ok := it.Meta[MetaRegistrationNo].(string); ok && reg != "" {
		// A form scanned twice is one petition.
		it.SourceID = "registration:" + reg
	}
}

// endsValue says whether a value read in a second reading ends at end:
// the line ends there, or goes on with something that is no Chinese
// character, or with a label.
func (c *Channel) endsValue(second []glyph, end int) bool {
	if end >= len(second) {
		return true
	}
	if !unicode.Is(unicode.Han, second[end].r) {
		return true
	}
	var rest strings.Builder
	for _, g := range second[end:] {
		rest.WriteRune(g.r)
	}
	return c.x.StartsWithLabel(rest.String())
}

func round1(f float64) float64 { return float64(int(f*10+0.5)) / 10 }

func metaList(v any) []string {
	l, _ := v.([]string)
	return l
}

// sidecar reads the capture software's JSON beside the scan: keys are the
// web channel's input field names (or any shape, through the entry's
// mapping), plus registration_no and received_at.
func (c *Channel) sidecar(it *channels.Item, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %v", errTransient, err)
	}
	if len(b) > 1<<20 {
		return errors.New("larger than 1 MiB")
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("text after the JSON object")
	}
	it.Meta[MetaSidecar] = filepath.Base(path)
	fields := map[petition.Field]string{}
	if c.env.Mapper != nil {
		res, err := c.env.Mapper.Apply(doc)
		if err != nil {
			return err
		}
		fields = res.Fields
		for k, v := range res.Meta {
			it.Meta[k] = v
		}
		if !res.ReceivedAt.IsZero() {
			it.ReceivedAt = res.ReceivedAt
			it.Meta[MetaReceivedFrom] = "sidecar"
		}
		if res.SourceID != "" {
			it.Meta[MetaRegistrationNo] = res.SourceID
		}
	} else {
		extra := map[string]any{}
		for k, v := range doc {
			s := scalar(v)
			switch {
			case petition.IsInput(petition.Field(k)):
				if s != "" {
					fields[petition.Field(k)] = s
				}
			case k == "registration_no":
				if s != "" {
					it.Meta[MetaRegistrationNo] = s
				}
			case k == "received_at":
				t, err := time.Parse(time.RFC3339, s)
				if err != nil {
					return errors.New("received_at: not an RFC 3339 time")
				}
				it.ReceivedAt = t
				it.Meta[MetaReceivedFrom] = "sidecar"
			default:
				extra[k] = v
			}
		}
		if len(extra) > 0 {
			it.Meta["scan.sidecar_extra"] = extra
		}
	}
	var names []string
	for f, v := range fields {
		it.Fields[f] = v
		names = append(names, string(f))
	}
	if len(names) > 0 {
		sort.Strings(names)
		it.Meta[MetaSidecarFields] = names
	}
	return nil
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return fmt.Sprint(x)
	}
	return ""
}

// release moves the scan (and its sidecar) after its ack: to done/ when
// delivered, error/ when dead-lettered, back to the hot folder (for a
// retry after retry_delay) when not delivered.
func (c *Channel) release(j job, o channels.Outcome) {
	defer func() {
		c.mu.Lock()
		delete(c.claimed, j.name)
		c.mu.Unlock()
	}()
	switch {
	case o.Err != nil:
		c.log.Warn("scan: not delivered; will retry", "file", j.name, "error", o.Err)
		c.putBack(j)
		return
	case o.DeadLettered:
		c.log.Warn("scan: unreadable, moved to error folder", "file", j.name, "reason", o.Reason)
		c.moveTo(j, c.errDir)
	default:
		c.moveTo(j, c.done)
	}
	c.finished.Add(1)
}

func (c *Channel) moveTo(j job, dir string) {
	if j.sidecar != "" {
		if _, err := moveInto(j.sidecar, dir, sidecarOf(j.name)); err != nil {
			c.log.Error("scan: could not move a sidecar", "file", j.name, "error", err)
		}
	}
	if _, err := moveInto(j.path, dir, j.name); err != nil {
		c.log.Error("scan: could not move a delivered scan; it will be read again (same id)", "file", j.name, "error", err)
	}
}

// moveInto renames src into dir as name, or name-N.ext when that is taken,
// never replacing a file (renameat2 RENAME_NOREPLACE: a scan that took the
// name meanwhile is not overwritten). It returns the new path.
func moveInto(src, dir, name string) (string, error) {
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 0; i < 1000; i++ {
		dst := filepath.Join(dir, name)
		if i > 0 {
			dst = filepath.Join(dir, fmt.Sprintf("%s-%d%s", base, i, ext))
		}
		err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
		if err == nil {
			return dst, nil
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			// A file system without RENAME_NOREPLACE: link, then unlink.
			if err = os.Link(src, dst); err == nil {
				return dst, os.Remove(src)
			}
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("no free name for %s in %s", name, dir)
}

// putBack returns a claimed file to the hot folder, to be taken again
// after retry_delay.
func (c *Channel) putBack(j job) {
	c.mu.Lock()
	c.retry[j.name] = time.Now().Add(c.cfg.RetryDelay.D())
	delete(c.claimed, j.name)
	c.mu.Unlock()
	if j.sidecar != "" {
		if _, err := moveInto(j.sidecar, c.inbox, sidecarOf(j.name)); err != nil {
			c.log.Error("scan: could not put a sidecar back", "file", j.name, "error", err)
		}
	}
	if _, err := moveInto(j.path, c.inbox, j.name); err != nil {
		c.log.Error("scan: could not put a scan back; it stays claimed and is read at the next start", "file", j.name, "error", err)
	}
}

var _ channels.Channel = (*Channel)(nil)
