package scan_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/scan"
	_ "github.com/court12368/petitiond/channels/scan/decode"
	"github.com/court12368/petitiond/channels/scan/scantest"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/config/units"
	"github.com/court12368/petitiond/engine"
	tu "github.com/court12368/petitiond/internal/testutil"
	"github.com/court12368/petitiond/petition"
	"github.com/court12368/petitiond/router"
)

// needTools fails under CI=true and skips elsewhere when the OCR tools are
// missing (make test installs them).
func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"tesseract", "pdftoppm", "pdfinfo", "tiffsplit", "tiffcp", "zbarimg"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required in CI (scripts/deps.sh installs it)", tool)
			}
			t.Skipf("%s not installed (make test installs it)", tool)
		}
	}
	if _, err := os.Stat(scantest.FontPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("fonts-noto-cjk is required in CI: %v", err)
		}
		t.Skipf("fonts-noto-cjk not installed: %v", err)
	}
}

type harness struct {
	t      *testing.T
	dir    string
	inbox  string
	prod   *tu.FakeProducer
	eng    *engine.Engine
	notify chan struct{}
	cancel context.CancelFunc
	done   chan error
	logs   bytes.Buffer
}

func newHarness(t *testing.T, mod func(*scan.Config)) *harness {
	t.Helper()
	needTools(t)
	dir := t.TempDir()
	h := &harness{t: t, dir: dir, inbox: filepath.Join(dir, "in"), notify: make(chan struct{}, 1024)}
	cfg := scan.NewConfig()
	cfg.Path = h.inbox
	cfg.MinAge = units.Duration(300 * time.Millisecond)
	cfg.PollInterval = units.Duration(50 * time.Millisecond)
	cfg.Court = "赣0102"
	cfg.Workers = 2
	if mod != nil {
		mod(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.Open(filepath.Join(dir, "blobs"), blob.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := config.Parse("t.yaml", []byte("kafka: {brokers: [x]}\nroutes: {default_topic: in, dead_letter_topic: dead}\n"), channels.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	rules, err := router.Compile(rc)
	if err != nil {
		t.Fatal(err)
	}
	h.prod = tu.NewFakeProducer()
	h.prod.Notify = h.notify
	n := tu.Normalizer(t)
	n.Blobs = blobs
	h.eng = engine.New(slog.New(slog.DiscardHandler), n, rules, h.prod, engine.NewMetrics(prometheus.NewRegistry(), h.prod.Healthy), 100)
	ch, err := scan.New(cfg, channels.Env{Name: "visits", Logger: slog.New(slog.NewTextHandler(&h.logs, nil)), Blobs: blobs, StateDir: filepath.Join(dir, "state"), DrainTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- ch.Run(ctx, h.eng.Sink("visits", "scan")) }()
	t.Cleanup(func() {
		cancel()
		<-h.done
		if t.Failed() {
			t.Logf("channel logs:\n%s", h.logs.String())
		}
	})
	return h
}

// drop writes a file into the hot folder the way capture software should:
// a temporary name, then a rename.
func (h *harness) drop(name string, data []byte) {
	h.t.Helper()
	tmp := filepath.Join(h.inbox, "."+name+".tmp")
	if err := os.MkdirAll(h.inbox, 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(h.inbox, name)); err != nil {
		h.t.Fatal(err)
	}
}

type record struct {
	topic string
	p     petition.Petition
	dead  map[string]any
}

// wait returns the records once there are n of them.
func (h *harness) wait(n int) []record {
	h.t.Helper()
	deadline := time.After(3 * time.Minute)
	for {
		msgs := h.prod.Messages()
		if len(msgs) >= n {
			var out []record
			for _, m := range msgs {
				r := record{topic: m.Topic}
				if m.Topic == "dead" {
					json.Unmarshal(m.Value, &r.dead)
				} else {
					if err := json.Unmarshal(m.Value, &r.p); err != nil {
						h.t.Fatal(err)
					}
					tu.ValidatePetition(h.t, m.Value)
				}
				out = append(out, r)
			}
			return out
		}
		select {
		case <-h.notify:
		case <-deadline:
			h.t.Fatalf("timed out waiting for %d records (have %d)", n, len(msgs))
		}
	}
}

// waitFile waits until path exists (the channel moves files after the ack,
// on its own goroutine).
func waitFile(t *testing.T, path string) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s did not appear", path)
}

func form(seed uint64) scantest.Form {
	return scantest.RandomForm(rand.New(rand.NewPCG(seed, 12368)))
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func checkIdentifiers(t *testing.T, p petition.Petition, f scantest.Form) {
	t.Helper()
	review := false
	for _, l := range p.Labels {
		review = review || l == petition.LabelNeedsReview
	}
	check := func(what, got, want string) {
		if got != want && (got != "" || !review) {
			t.Errorf("%s = %q, want %q (labels %v, review reasons %v)", what, got, want, p.Labels, p.Meta[scan.MetaReviewReasons])
		}
	}
	check("name", p.Petitioner.Name, f.Name)
	check("id_number", p.Petitioner.IDNumber, f.IDNumber)
	check("phone", p.Petitioner.Phone, "+86"+f.Phone)
	cn := ""
	if len(p.Cases) > 0 {
		cn = p.Cases[0].Number
	}
	check("case", cn, f.CaseNumber)
}

func TestLinesAndTableForms(t *testing.T) {
	h := newHarness(t, nil)
	f1, f2 := form(1), form(2)
	img1, err := scantest.Render(f1, scantest.LayoutLines)
	if err != nil {
		t.Fatal(err)
	}
	img2, err := scantest.Render(f2, scantest.LayoutTable)
	if err != nil {
		t.Fatal(err)
	}
	png1 := scantest.PNG(img1)
	h.drop("desk-0001.png", png1)
	h.drop("desk-0002.jpg", scantest.JPEG(scantest.Noisy(img2, 1.5, 7), 80))
	recs := h.wait(2)
	byFile := map[string]petition.Petition{}
	for _, r := range recs {
		if r.topic != "in" {
			t.Fatalf("record on %s: %v", r.topic, r.dead)
		}
		byFile[r.p.Meta[scan.MetaFile].(string)] = r.p
	}
	p1, p2 := byFile["desk-0001.png"], byFile["desk-0002.jpg"]
	if p1.Channel.Type != "scan" || p1.Source.Original.SHA256 != sum(png1) || p1.Source.ID != "sha256:"+sum(png1) {
		t.Errorf("record 1 envelope: %+v %+v", p1.Channel, p1.Source)
	}
	if len(p1.Attachments) != 1 || p1.Attachments[0].SHA256 != sum(png1) || p1.Attachments[0].ContentType != "image/png" {
		t.Errorf("record 1 attachments: %+v", p1.Attachments)
	}
	if pages, _ := p1.Meta[scan.MetaPages].(float64); pages != 1 {
		t.Errorf("scan.pages = %v", p1.Meta[scan.MetaPages])
	}
	if c, ok := p1.Meta[scan.MetaOCRConfidence].([]any); !ok || len(c) != 1 {
		t.Errorf("scan.ocr_confidence = %v", p1.Meta[scan.MetaOCRConfidence])
	}
	checkIdentifiers(t, p1, f1)
	checkIdentifiers(t, p2, f2)
	for _, p := range []petition.Petition{p1, p2} {
		if p.Content == "" || !strings.Contains(p.Content, "。") {
			t.Errorf("content = %q", p.Content)
		}
	}
	if p1.Petitioner.Name != f1.Name {
		t.Errorf("clean lines form: name %q, want %q", p1.Petitioner.Name, f1.Name)
	}
	waitFile(t, filepath.Join(h.inbox, "done", "desk-0001.png"))
	waitFile(t, filepath.Join(h.inbox, "done", "desk-0002.jpg"))
}

func TestUnreadableFilesAreDeadLettered(t *testing.T) {
	h := newHarness(t, nil)
	h.drop("letter.png", []byte("this is not an image"))
	h.drop("broken.pdf", []byte("%PDF-1.4\n1 0 obj broken\n"))
	recs := h.wait(2)
	for _, r := range recs {
		if r.topic != "dead" {
			t.Errorf("record on %s, want the dead-letter topic", r.topic)
			continue
		}
		if e, _ := r.dead["error"].(string); !strings.Contains(e, "unreadable scan") {
			t.Errorf("dead letter error = %q", e)
		}
		if o, _ := r.dead["original"].(map[string]any); o["sha256"] == "" || o["sha256"] == nil {
			t.Errorf("dead letter without the stored original: %v", r.dead)
		}
	}
	waitFile(t, filepath.Join(h.inbox, "error", "letter.png"))
	waitFile(t, filepath.Join(h.inbox, "error", "broken.pdf"))
}

func TestMultiPageTIFFAndQRCoverPDF(t *testing.T) {
	h := newHarness(t, nil)
	f := form(3)
	img, err := scantest.Render(f, scantest.LayoutLines)
	if err != nil {
		t.Fatal(err)
	}
	letter, err := scantest.RenderLetter("此致敬礼！我的回执号码是 " + petition.TrackingNo(petition.ID("web", "earlier")) + "。")
	if err != nil {
		t.Fatal(err)
	}
	tif, err := scantest.TIFF(img, letter)
	if err != nil {
		t.Fatal(err)
	}
	h.drop("visit.tif", tif)
	cover, err := scantest.CoverSheet("LF-20261201-0042")
	if err != nil {
		t.Fatal(err)
	}
	pdf := scantest.PDF(cover, img)
	h.drop("visit2.pdf", pdf)
	recs := h.wait(2)
	byFile := map[string]petition.Petition{}
	for _, r := range recs {
		byFile[r.p.Meta[scan.MetaFile].(string)] = r.p
	}
	tp := byFile["visit.tif"]
	if tp.Meta[scan.MetaPages] != float64(2) || tp.Meta[scan.MetaFormat] != "tiff" {
		t.Errorf("tiff: pages %v format %v", tp.Meta[scan.MetaPages], tp.Meta[scan.MetaFormat])
	}
	if want := petition.TrackingNo(petition.ID("web", "earlier")); tp.FollowUpOf != want {
		t.Errorf("tiff: follow_up_of = %q, want %q", tp.FollowUpOf, want)
	}
	checkIdentifiers(t, tp, f)
	pp := byFile["visit2.pdf"]
	if pp.Meta[scan.MetaRegistrationNo] != "LF-20261201-0042" || pp.Source.ID != "registration:LF-20261201-0042" {
		t.Errorf("pdf: registration %v source %q", pp.Meta[scan.MetaRegistrationNo], pp.Source.ID)
	}
	if pp.Meta[scan.MetaPages] != float64(2) || pp.Meta[scan.MetaFormat] != "pdf" {
		t.Errorf("pdf: pages %v format %v", pp.Meta[scan.MetaPages], pp.Meta[scan.MetaFormat])
	}
	checkIdentifiers(t, pp, f)
	if pp.ID != petition.ID("visits", "registration:LF-20261201-0042") {
		t.Errorf("pdf id %s is not the id of its registration number", pp.ID)
	}
}

func TestSidecarWins(t *testing.T) {
	h := newHarness(t, nil)
	f := form(4)
	img, err := scantest.Render(f, scantest.LayoutTable)
	if err != nil {
		t.Fatal(err)
	}
	side, _ := json.Marshal(map[string]any{"name": "欧阳娜娜", "phone": "13800138000", "registration_no": "LF-9", "received_at": "2026-11-30T09:30:00+08:00", "desk": 3})
	os.MkdirAll(h.inbox, 0o755)
	os.WriteFile(filepath.Join(h.inbox, "s1.json"), side, 0o644)
	h.drop("s1.png", scantest.PNG(img))
	p := h.wait(1)[0].p
	if p.Petitioner.Name != "欧阳娜娜" || p.Petitioner.Phone != "+8613800138000" {
		t.Errorf("sidecar values lost: %+v", p.Petitioner)
	}
	if p.Source.ID != "registration:LF-9" || !p.ReceivedAt.Equal(time.Date(2026, 11, 30, 1, 30, 0, 0, time.UTC)) {
		t.Errorf("source %q received %v", p.Source.ID, p.ReceivedAt)
	}
	if p.Petitioner.IDNumber != "" && p.Petitioner.IDNumber != f.IDNumber {
		t.Errorf("id from OCR = %q, want %q or empty", p.Petitioner.IDNumber, f.IDNumber)
	}
	waitFile(t, filepath.Join(h.inbox, "done", "s1.json"))
}

// TestHalfWrittenFileIsNotTaken: a file still being written (its mtime keeps
// moving) is left alone until it has been quiet for min_age.
func TestHalfWrittenFileIsNotTaken(t *testing.T) {
	h := newHarness(t, func(c *scan.Config) { c.MinAge = units.Duration(time.Second) })
	img, err := scantest.Render(form(5), scantest.LayoutLines)
	if err != nil {
		t.Fatal(err)
	}
	data := scantest.PNG(img)
	os.MkdirAll(h.inbox, 0o755)
	path := filepath.Join(h.inbox, "slow.png")
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := len(data) / 10
	for i := 0; i < 10; i++ {
		end := min(len(data), (i+1)*chunk)
		if i == 9 {
			end = len(data)
		}
		fh.Write(data[i*chunk : end])
		time.Sleep(300 * time.Millisecond) // a slow writer, not a wait for the channel
	}
	fh.Close()
	p := h.wait(1)[0].p
	if p.Source.Original.SHA256 != sum(data) {
		t.Errorf("the channel took the file before it was complete")
	}
}
