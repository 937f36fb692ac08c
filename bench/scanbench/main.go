// Command scanbench measures the scan channel on forms it renders itself
// (channels/scan/scantest): field accuracy on clean and noisy scans, pages
// per minute with 1 and 2 OCR workers, and peak memory for a 20-page PDF.
// It runs the real channel (hot folder, claim, tesseract, decoder) with an
// in-process sink that acknowledges at once, so the figures are the
// channel's, not Kafka's. make bench runs it; see channels/scan/README.md.
//
//	scanbench -forms 30                     accuracy, clean and noisy (JSON to -json)
//	scanbench -throughput -pages 12         pages per minute, 1 and 2 workers
//	scanbench -pdf20                        peak RSS reading a 20-page PDF
//	scanbench -langs chi_sim+eng -psm 6     the same with other OCR settings
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/scan"
	_ "github.com/court12368/petitiond/channels/scan/decode"
	"github.com/court12368/petitiond/channels/scan/scantest"
	"github.com/court12368/petitiond/config/units"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/normalize/classify"
	"github.com/court12368/petitiond/petition"
)

func main() {
	nForms := flag.Int("forms", 0, "accuracy run over this many forms (each clean and noisy)")
	throughput := flag.Bool("throughput", false, "pages per minute with 1 and 2 workers")
	pages := flag.Int("pages", 12, "pages for -throughput")
	workerList := flag.String("workers", "1,2", "worker counts for -throughput, comma-separated")
	pdf20 := flag.Bool("pdf20", false, "peak RSS for one 20-page PDF")
	readPDF := flag.String("read-pdf", "", "(internal) read this PDF through the channel and report its memory")
	langs := flag.String("langs", "chi_sim", "tesseract languages")
	psm := flag.Int("psm", 4, "tesseract page segmentation mode")
	jsonOut := flag.String("json", "", "write the results as JSON here")
	seed := flag.Uint64("seed", 2026, "form generator seed")
	flag.BoolVar(&verbose, "v", false, "print every field that was not read exactly")
	flag.Parse()
	if *readPDF != "" {
		readOne(*readPDF, *langs, *psm)
		return
	}
	results := map[string]any{"languages": *langs, "psm": *psm}
	if *nForms > 0 {
		results["accuracy"] = accuracy(*nForms, *seed, *langs, *psm)
	}
	if *throughput {
		results["throughput"] = speed(*pages, *workerList, *seed, *langs, *psm)
	}
	if *pdf20 {
		results["pdf20"] = bigPDF(*seed, *langs, *psm)
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

var verbose bool

func die(err error) {
	fmt.Fprintln(os.Stderr, "scanbench:", err)
	os.Exit(1)
}

// sink normalizes each item and acknowledges it at once.
type sink struct {
	n    *normalize.Normalizer
	mu   sync.Mutex
	recs map[string]*petition.Petition // by scan file name
	errs map[string]string
	done chan struct{}
	want int
}

func (s *sink) Submit(_ context.Context, it *channels.Item) error {
	pets, err := s.n.Normalize(petition.ChannelRef{Name: "bench", Type: "scan"}, it)
	s.mu.Lock()
	name, _ := it.Meta[scan.MetaFile].(string)
	if err != nil {
		s.errs[name] = err.Error()
	} else {
		s.recs[name] = pets[0]
	}
	n := len(s.recs) + len(s.errs)
	s.mu.Unlock()
	it.Ack(channels.Outcome{DeadLettered: err != nil})
	if n == s.want {
		close(s.done)
	}
	return nil
}
func (s *sink) TrySubmit(ctx context.Context, it *channels.Item, _ time.Duration) error {
	return s.Submit(ctx, it)
}
func (s *sink) Healthy() bool { return true }
func (s *sink) Reject(string) {}

type file struct {
	name string
	data []byte
}

// runFiles runs the channel over the files and returns what it made.
func runFiles(files []file, workers int, langs string, psm int) (*sink, time.Duration) {
	dir, err := os.MkdirTemp("", "scanbench-")
	if err != nil {
		die(err)
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(in, f.name), f.data, 0o644); err != nil {
			die(err)
		}
		old := time.Now().Add(-time.Minute)
		os.Chtimes(filepath.Join(in, f.name), old, old)
	}
	blobs, err := blob.Open(filepath.Join(dir, "blobs"), blob.Options{NoSync: true})
	if err != nil {
		die(err)
	}
	cls, err := classify.Compile(classify.DefaultConfig())
	if err != nil {
		die(err)
	}
	s := &sink{n: &normalize.Normalizer{Blobs: blobs, Classifier: cls, KeySecret: []byte("bench")},
		recs: map[string]*petition.Petition{}, errs: map[string]string{}, done: make(chan struct{}), want: len(files)}
	cfg := scan.NewConfig()
	cfg.Path = in
	cfg.Court = "赣0102"
	cfg.Workers = workers
	cfg.MinAge = 0
	cfg.PollInterval = units.Duration(20 * time.Millisecond)
	cfg.OCR.Languages = langs
	cfg.OCR.PSM = psm
	ch, err := scan.New(cfg, channels.Env{Name: "bench", Logger: slog.New(slog.DiscardHandler), Blobs: blobs, StateDir: filepath.Join(dir, "state"), DrainTimeout: time.Minute})
	if err != nil {
		die(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	ran := make(chan error, 1)
	go func() { ran <- ch.Run(ctx, s) }()
	select {
	case <-s.done:
	case <-time.After(time.Hour):
		die(fmt.Errorf("timed out"))
	}
	took := time.Since(start)
	cancel()
	<-ran
	return s, took
}

type fieldStat struct {
	Exact   int `json:"exact"`
	Empty   int `json:"empty"`
	Wrong   int `json:"wrong"`
	WrongNR int `json:"wrong_without_review"`
}

type accResult struct {
	Forms     int                   `json:"forms"`
	Fields    map[string]*fieldStat `json:"fields"`
	CER       float64               `json:"request_cer"`
	Review    int                   `json:"needs_review"`
	DeadLeter int                   `json:"dead_lettered"`
}

func accuracy(n int, seed uint64, langs string, psm int) map[string]*accResult {
	rng := rand.New(rand.NewPCG(seed, 1))
	forms := map[string]scantest.Form{}
	sets := map[string][]file{"clean": nil, "noisy": nil}
	for i := 0; i < n; i++ {
		f := scantest.RandomForm(rng)
		layout := scantest.Layout(i % 2)
		img, err := scantest.Render(f, layout)
		if err != nil {
			die(err)
		}
		name := fmt.Sprintf("%03d-%s", i, layout)
		forms[name+".png"] = f
		forms[name+".jpg"] = f
		sets["clean"] = append(sets["clean"], file{name + ".png", scantest.PNG(img)})
		deg := (rng.Float64()*2 - 1) * 2.5
		sets["noisy"] = append(sets["noisy"], file{name + ".jpg", scantest.JPEG(scantest.Noisy(img, deg, uint64(i)), 75)})
	}
	out := map[string]*accResult{}
	for _, set := range []string{"clean", "noisy"} {
		s, _ := runFiles(sets[set], 2, langs, psm)
		r := &accResult{Forms: n, Fields: map[string]*fieldStat{}}
		var errChars, totChars int
		for name, f := range forms {
			if !strings.HasSuffix(name, map[string]string{"clean": ".png", "noisy": ".jpg"}[set]) {
				continue
			}
			p := s.recs[name]
			if p == nil {
				r.DeadLeter++
				continue
			}
			review := false
			for _, l := range p.Labels {
				review = review || l == petition.LabelNeedsReview
			}
			if review {
				r.Review++
			}
			cn := ""
			if len(p.Cases) > 0 {
				cn = p.Cases[0].Number
			}
			for field, pair := range map[string][2]string{
				"name": {p.Petitioner.Name, f.Name}, "id_number": {p.Petitioner.IDNumber, f.IDNumber},
				"phone": {p.Petitioner.Phone, "+86" + f.Phone}, "case_number": {cn, f.CaseNumber},
				"address": {p.Petitioner.Address, f.Address},
			} {
				st := r.Fields[field]
				if st == nil {
					st = &fieldStat{}
					r.Fields[field] = st
				}
				if verbose && pair[0] != pair[1] {
					fmt.Fprintf(os.Stderr, "  %s %s %s: %q want %q review %v conf %v\n", set, name, field, pair[0], pair[1], p.Meta[scan.MetaReviewReasons], p.Meta[scan.MetaFieldConfidence])
				}
				switch {
				case pair[0] == pair[1]:
					st.Exact++
				case pair[0] == "":
					st.Empty++
				default:
					st.Wrong++
					if !review && field != "address" {
						st.WrongNR++
						fmt.Fprintf(os.Stderr, "scanbench: %s %s: %s read as %q without review\n", set, name, field, pair[0])
					}
				}
			}
			errChars += levenshtein([]rune(p.Content), []rune(f.Request))
			totChars += len([]rune(f.Request))
		}
		if totChars > 0 {
			r.CER = float64(errChars) / float64(totChars)
		}
		out[set] = r
		printAcc(set, langs, psm, r)
	}
	return out
}

func printAcc(set, langs string, psm int, r *accResult) {
	fmt.Printf("scan accuracy (%s, %d forms, %s psm %d): needs_review %d, dead-lettered %d, request CER %.1f%%\n", set, r.Forms, langs, psm, r.Review, r.DeadLeter, 100*r.CER)
	var names []string
	for k := range r.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Printf("  %-12s %7s %7s %7s %22s\n", "field", "exact", "empty", "wrong", "wrong_without_review")
	for _, k := range names {
		st := r.Fields[k]
		fmt.Printf("  %-12s %6.0f%% %7d %7d %22d\n", k, 100*float64(st.Exact)/float64(r.Forms), st.Empty, st.Wrong, st.WrongNR)
	}
}

func levenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func speed(pages int, workerList string, seed uint64, langs string, psm int) map[string]float64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	var files []file
	for i := 0; i < pages; i++ {
		img, err := scantest.Render(scantest.RandomForm(rng), scantest.Layout(i%2))
		if err != nil {
			die(err)
		}
		files = append(files, file{fmt.Sprintf("%03d.png", i), scantest.PNG(img)})
	}
	out := map[string]float64{}
	for _, ws := range strings.Split(workerList, ",") {
		var w int
		if _, err := fmt.Sscan(strings.TrimSpace(ws), &w); err != nil || w < 1 {
			die(fmt.Errorf("-workers: bad worker count %q", ws))
		}
		_, took := runFiles(files, w, langs, psm)
		ppm := float64(pages) / took.Minutes()
		out[fmt.Sprintf("pages_per_minute_%d_workers", w)] = ppm
		fmt.Printf("scan throughput: %d pages, %d worker(s): %.1f pages/min (%.2f s/page)\n", pages, w, ppm, took.Seconds()/float64(pages))
	}
	return out
}

func bigPDF(seed uint64, langs string, psm int) map[string]float64 {
	rng := rand.New(rand.NewPCG(seed, 3))
	var imgs []*image.Gray
	for i := 0; i < 20; i++ {
		img, err := scantest.Render(scantest.RandomForm(rng), scantest.Layout(i%2))
		if err != nil {
			die(err)
		}
		imgs = append(imgs, img)
	}
	pdf := scantest.PDF(imgs...)
	f, err := os.CreateTemp("", "scanbench-*.pdf")
	if err != nil {
		die(err)
	}
	defer os.Remove(f.Name())
	f.Write(pdf)
	f.Close()
	// Read it in a fresh process, so its peak memory is the channel's and
	// not the renderer's.
	self, _ := os.Executable()
	cmd := exec.Command(self, "-read-pdf", f.Name(), "-langs", langs, "-psm", fmt.Sprint(psm))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		die(err)
	}
	var r map[string]float64
	if err := json.Unmarshal(out, &r); err != nil {
		die(fmt.Errorf("reader: %v: %s", err, out))
	}
	fmt.Printf("scan 20-page PDF: %.1f s, %.1f pages/min; peak RSS of the channel's process %.0f MB, of the largest tool process (pdftoppm, tesseract) %.0f MB\n",
		r["seconds"], 20/r["seconds"]*60, r["peak_rss_mb"], r["tool_peak_rss_mb"])
	return r
}

func readOne(path, langs string, psm int) {
	b, err := os.ReadFile(path)
	if err != nil {
		die(err)
	}
	_, took := runFiles([]file{{"twenty.pdf", b}}, 2, langs, psm)
	b = nil
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	json.NewEncoder(os.Stdout).Encode(map[string]float64{"seconds": took.Seconds(), "peak_rss_mb": vmHWM(), "tool_peak_rss_mb": float64(ru.Maxrss) / 1024})
}

func vmHWM() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb / 1024
		}
	}
	return 0
}
