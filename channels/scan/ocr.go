package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"image"
	_ "image/jpeg" // decoders for the page images
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	_ "golang.org/x/image/tiff"

	"github.com/court12368/petitiond/channels/scan/form"
)

// errTransient marks a failure that is not the file's fault (a tool is
// missing, the disk is full): the file stays for a retry.
var errTransient = errors.New("transient")

// errUnreadable marks a file that cannot be read (not an image or a PDF, a
// broken one): it goes to error_dir with a dead-letter record.
type errUnreadable struct{ why string }

func (e *errUnreadable) Error() string { return e.why }

func unreadable(format string, args ...any) error {
	return &errUnreadable{why: fmt.Sprintf(format, args...)}
}

// sniff tells the file's format from its first bytes.
func sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(head, []byte{0xff, 0xd8, 0xff}):
		return "jpeg"
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return "tiff"
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "pdf"
	}
	return ""
}

// ocrResult is what OCR made of a file.
type ocrResult struct {
	format   string
	pages    []*form.Page
	prepared []string // the cleaned page images, for second readings

	// the last page decoded for a second reading: the name, address, phone
	// and case lines usually stand on one page, decoded once.
	cachedPage int
	cached     *image.Gray
	skew       []float64
	barcodes   []string
}

// errTimeout marks a tool run that took longer than ocr.timeout.
var errTimeout = errors.New("took longer than ocr.timeout")

// run runs a command with the per-run timeout, returning stdout; a missing
// command, or one stopped because the channel stops, is transient.
func (c *Channel) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.OCR.Timeout.D())
	defer cancel()
	cmd := exec.CommandContext(rctx, name, args...)
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s not installed: %v", errTransient, name, err)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: %s: %v", errTransient, name, ctx.Err())
	}
	if rctx.Err() != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(name), errTimeout)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return out.Bytes(), fmt.Errorf("%s: %v: %s", filepath.Base(name), err, msg)
	}
	return out.Bytes(), nil
}

// pageImages turns the file into one image per page in dir: PDFs rendered
// by pdftoppm, multi-page TIFFs split by tiffsplit, images as they are.
func (c *Channel) pageImages(ctx context.Context, file, format, dir string) ([]string, error) {
	o := c.cfg.OCR
	var tool []string
	var kind, glob string
	switch format {
	case "pdf":
		out, err := c.run(ctx, o.PDFInfo, file)
		if err != nil {
			return nil, toolError(err, "PDF")
		}
		if n := pdfPages(out); n > c.cfg.MaxPages {
			return nil, unreadable("%d pages, more than max_pages %d", n, c.cfg.MaxPages)
		}
		if w, h := pdfPageSize(out); w*h/72/72*float64(o.DPI*o.DPI) > maxPixels {
			return nil, unreadable("pages of %.0f×%.0f points are too large to render at %d dpi", w, h, o.DPI)
		}
		tool, kind, glob = []string{o.PDFToPPM, "-r", fmt.Sprint(o.DPI), "-gray", "-png", file, filepath.Join(dir, "page")}, "PDF", "page*.png"
	case "tiff":
		// Scanners write JPEG-compressed TIFFs, which Go's decoder does not
		// read: tiffcp stores the pages uncompressed first.
		plain := filepath.Join(dir, "plain.tif")
		if _, err := c.run(ctx, o.TIFFCP, "-c", "none", file, plain); err != nil {
			return nil, toolError(err, "TIFF")
		}
		tool, kind, glob = []string{o.TIFFSplit, plain, filepath.Join(dir, "page")}, "TIFF", "page*.tif"
	default:
		return []string{file}, nil
	}
	if _, err := c.run(ctx, tool[0], tool[1:]...); err != nil {
		return nil, toolError(err, kind)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, glob))
	sort.Strings(pages)
	switch {
	case len(pages) == 0:
		return nil, unreadable("the %s has no pages", kind)
	case len(pages) > c.cfg.MaxPages:
		return nil, unreadable("%d pages, more than max_pages %d", len(pages), c.cfg.MaxPages)
	}
	return pages, nil
}

// toolError is a page tool's failure: transient when the tool is missing
// or was stopped, else the file is unreadable.
func toolError(err error, kind string) error {
	if errors.Is(err, errTransient) {
		return err
	}
	return unreadable("not a readable %s (%s)", kind, firstLine(err.Error()))
}

// pdfPageSize is the page size pdfinfo reports, in points.
func pdfPageSize(info []byte) (w, h float64) {
	for _, l := range strings.Split(string(info), "\n") {
		if v, ok := strings.CutPrefix(l, "Page size:"); ok {
			fmt.Sscanf(strings.TrimSpace(v), "%f x %f", &w, &h)
			return w, h
		}
	}
	return 0, 0
}

func pdfPages(info []byte) int {
	for _, l := range strings.Split(string(info), "\n") {
		if v, ok := strings.CutPrefix(l, "Pages:"); ok {
			var n int
			fmt.Sscan(strings.TrimSpace(v), &n)
			return n
		}
	}
	return 0
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// ocr reads a claimed file: page images, each cleaned (prepare) and read by
// tesseract (TSV with word confidences), and the codes zbarimg finds. Its
// work files go to dir.
func (c *Channel) ocr(ctx context.Context, file, dir string) (*ocrResult, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errTransient, err)
	}
	head := make([]byte, 16)
	n, _ := f.Read(head)
	f.Close()
	format := sniff(head[:n])
	if format == "" {
		return nil, unreadable("not a PNG, JPEG, TIFF or PDF file")
	}
	pages, err := c.pageImages(ctx, file, format, dir)
	if err != nil {
		return nil, err
	}
	res := &ocrResult{format: format}
	o := c.cfg.OCR
	left := int64(len(pages))
	c.pagesWaiting.Add(left)
	defer func() { c.pagesWaiting.Add(-left) }()
	for i, pageFile := range pages {
		img, err := decodeImage(pageFile)
		if err != nil {
			return nil, unreadable("page %d: not a readable %s image (%v)", i+1, format, err)
		}
		clean, skew := prepare(img)
		res.skew = append(res.skew, skew)
		prepared := filepath.Join(dir, fmt.Sprintf("prepared-%03d.png", i+1))
		if err := writePNG(prepared, clean); err != nil {
			return nil, fmt.Errorf("%w: %v", errTransient, err)
		}
		res.prepared = append(res.prepared, prepared)
		pg, err := c.readPage(ctx, prepared, i+1, o.PSM)
		if err != nil {
			return nil, err
		}
		res.pages = append(res.pages, pg)
		left--
		c.pagesWaiting.Add(-1)
		if c.cfg.Barcodes.Enabled {
			codes, err := c.barcodes(ctx, pages[i])
			if err != nil {
				return nil, err
			}
			res.barcodes = append(res.barcodes, codes...)
		}
	}
	return res, nil
}

// readPage reads one cleaned page with tesseract (TSV with word
// confidences) in the page segmentation mode psm.
func (c *Channel) readPage(ctx context.Context, prepared string, num, psm int) (*form.Page, error) {
	o := c.cfg.OCR
	out, err := c.run(ctx, o.Command, prepared, "stdout", "-l", o.Languages, "--psm", fmt.Sprint(psm), "--dpi", fmt.Sprint(o.DPI), "tsv")
	if err != nil {
		if errors.Is(err, errTransient) {
			return nil, err
		}
		return nil, unreadable("tesseract could not read page %d (%s)", num, firstLine(err.Error()))
	}
	ps, err := form.ParseTSV(bytes.NewReader(out))
	if err != nil {
		return nil, unreadable("tesseract output for page %d: %v", num, err)
	}
	pg := &form.Page{Num: num}
	for _, p := range ps {
		for _, l := range p.Lines {
			l.Page = num
		}
		pg.Lines = append(pg.Lines, p.Lines...)
		pg.Conf += p.Conf * float64(p.Words)
		pg.Words += p.Words
	}
	if pg.Words > 0 {
		pg.Conf /= float64(pg.Words)
	}
	return pg, nil
}

// barcodes runs zbarimg on a page; exit status 4 means none were found.
func (c *Channel) barcodes(ctx context.Context, page string) ([]string, error) {
	out, err := c.run(ctx, c.cfg.Barcodes.Command, "--quiet", "--raw", page)
	if err != nil {
		if strings.Contains(err.Error(), "exit status 4") || errors.Is(err, errTimeout) {
			return nil, nil // no code on the page (or none zbarimg can find in time)
		}
		// The codes decide the source id: reading them again later is
		// better than an id that differs between two attempts.
		if errors.Is(err, errTransient) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errTransient, err)
	}
	var codes []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" && len(l) <= 256 {
			codes = append(codes, l)
		}
	}
	return codes, nil
}

// maxPixels bounds a page image: A3 at 600 dpi is 70 million pixels.
const maxPixels = 100_000_000

func decodeImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, fmt.Errorf("a page of %d×%d pixels", cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(f)
	return img, err
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// reread reads the line of a value again, alone: its box cut from the
// cleaned page onto a white canvas and read as a single line (--psm 7),
// without the page's layout analysis and the lines around it. A value the
// second reading does not contain is not trusted. It returns the second
// reading's characters with their confidences.
func (c *Channel) reread(ctx context.Context, res *ocrResult, v form.Value, dir string) ([]glyph, error) {
	if v.Page < 1 || v.Page > len(res.prepared) || v.LineBox.Empty() {
		return nil, errors.New("no box")
	}
	if res.cachedPage != v.Page {
		img, err := decodeImage(res.prepared[v.Page-1])
		if err != nil {
			return nil, err
		}
		res.cachedPage, res.cached = v.Page, toGray(img)
	}
	g := res.cached
	// The box with a few pixels of margin, on a white canvas: no
	// neighbouring label or cell in sight.
	r := v.LineBox.Inset(-6).Intersect(g.Bounds())
	pad := max(v.LineBox.Dy(), 40)
	crop := image.NewGray(image.Rect(0, 0, r.Dx()+2*pad, r.Dy()+2*pad))
	for i := range crop.Pix {
		crop.Pix[i] = 255
	}
	for y := 0; y < r.Dy(); y++ {
		copy(crop.Pix[(y+pad)*crop.Stride+pad:], g.Pix[(r.Min.Y+y)*g.Stride+r.Min.X:(r.Min.Y+y)*g.Stride+r.Max.X])
	}
	f, err := os.CreateTemp(dir, "reread-*.png")
	if err != nil {
		return nil, err
	}
	name := f.Name()
	f.Close()
	if err := writePNG(name, crop); err != nil {
		return nil, err
	}
	out, err := c.run(ctx, c.cfg.OCR.Command, name, "stdout", "-l", c.cfg.OCR.Languages, "--psm", "7", "--dpi", fmt.Sprint(c.cfg.OCR.DPI), "-c", "hocr_char_boxes=1", "hocr")
	if err != nil {
		return nil, err
	}
	return hocrChars(out), nil
}

// glyph is one character of a second reading with its confidence.
type glyph struct {
	r    rune
	conf float64
}

var cinfoRe = regexp.MustCompile(`class='ocrx_cinfo' title='[^']*x_conf ([0-9.]+)'>([^<]*)<`)

// hocrChars reads the characters and their confidences from tesseract's
// hOCR with hocr_char_boxes (white space dropped).
func hocrChars(h []byte) []glyph {
	var out []glyph
	for _, m := range cinfoRe.FindAllSubmatch(h, -1) {
		conf, _ := strconv.ParseFloat(string(m[1]), 64)
		for _, r := range html.UnescapeString(string(m[2])) {
			if !unicode.IsSpace(r) {
				out = append(out, glyph{r, conf})
			}
		}
	}
	return out
}

// agreement says whether a second reading contains want, and the least
// character confidence of that part of it (0 when it does not contain it).
func agreement(second []glyph, want string) (bool, float64) {
	ok, least, _ := agreementAt(second, want)
	return ok, least
}

// agreementAt is agreement that also returns where in second the match
// ends.
func agreementAt(second []glyph, want string) (bool, float64, int) {
	w := []rune(want)
	if len(w) == 0 {
		return false, 0, 0
	}
	for i := 0; i+len(w) <= len(second); i++ {
		ok := true
		least := 100.0
		for j, r := range w {
			if second[i+j].r != r {
				ok = false
				break
			}
			least = min(least, second[i+j].conf)
		}
		if ok {
			return true, least, i + len(w)
		}
	}
	return false, 0, 0
}
