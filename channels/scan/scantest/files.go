package scantest

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"

	qrcode "github.com/skip2/go-qrcode"
	"golang.org/x/image/tiff"
)

// PNG encodes img.
func PNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// JPEG encodes img at the given quality.
func JPEG(img image.Image, quality int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// TIFF encodes the pages as one TIFF file: one page with Go's encoder,
// several joined with tiffcp (libtiff-tools).
func TIFF(pages ...image.Image) ([]byte, error) {
	enc := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := tiff.Encode(&b, img, &tiff.Options{Compression: tiff.Deflate}); err != nil {
			panic(err)
		}
		return b.Bytes()
	}
	if len(pages) == 1 {
		return enc(pages[0]), nil
	}
	dir, err := os.MkdirTemp("", "scantest-tiff-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	args := []string{}
	for i, p := range pages {
		f := filepath.Join(dir, fmt.Sprintf("p%03d.tif", i))
		if err := os.WriteFile(f, enc(p), 0o644); err != nil {
			return nil, err
		}
		args = append(args, f)
	}
	out := filepath.Join(dir, "all.tif")
	cmd := exec.Command("tiffcp", append(args, out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("tiffcp: %v: %s (install libtiff-tools)", err, b)
	}
	return os.ReadFile(out)
}

// PDF writes the pages as a PDF of A4 pages, each one grey image
// (FlateDecode) filling the page, as scanner software does.
func PDF(pages ...*image.Gray) []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(body string, stream []byte) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s", len(offsets), body)
		if stream != nil {
			b.WriteString("\nstream\n")
			b.Write(stream)
			b.WriteString("\nendstream")
		}
		b.WriteString("\nendobj\n")
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	n := len(pages)
	// 1 catalog, 2 pages, then per page: page, content, image.
	kids := ""
	for i := 0; i < n; i++ {
		kids += fmt.Sprintf("%d 0 R ", 3+3*i)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>", nil)
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, n), nil)
	for i, img := range pages {
		pg, ct, im := 3+3*i, 4+3*i, 5+3*i
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Contents %d 0 R /Resources << /XObject << /Im%d %d 0 R >> >> >>", ct, i, im), nil)
		_ = pg
		content := fmt.Sprintf("q 595.28 0 0 841.89 0 0 cm /Im%d Do Q", i)
		obj(fmt.Sprintf("<< /Length %d >>", len(content)), []byte(content))
		var z bytes.Buffer
		w := zlib.NewWriter(&z)
		bd := img.Bounds()
		for y := bd.Min.Y; y < bd.Max.Y; y++ {
			off := (y - bd.Min.Y) * img.Stride
			w.Write(img.Pix[off : off+bd.Dx()])
		}
		w.Close()
		obj(fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode /Length %d >>", bd.Dx(), bd.Dy(), z.Len()), z.Bytes())
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

// CoverSheet draws a cover sheet with the visit registration number as
// text and as a QR code.
func CoverSheet(registrationNo string) (*image.Gray, error) {
	p, err := newPage(12)
	if err != nil {
		return nil, err
	}
	p.text(p.big, margin, 400, "来访登记")
	p.text(p.face, margin, 600, "登记号："+registrationNo)
	q, err := qrcode.New(registrationNo, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	qr := q.Image(600)
	r := image.Rect(margin, 800, margin+600, 1400)
	draw.Draw(p.img, r, qr, image.Point{}, draw.Src)
	return p.img, nil
}
