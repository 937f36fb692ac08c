// Package scantest renders visitor registration forms (来访登记表) as a
// desk scanner would produce them, for the scan channel's tests, its
// accuracy evaluation and its benchmark: two layouts (label：value lines and
// a bordered table), with or without scanner noise and skew, as PNG, JPEG,
// TIFF (one or several pages) and PDF, and a QR cover sheet. It draws with
// the Noto CJK fonts (Debian fonts-noto-cjk) and writes multi-page TIFFs
// with tiffcp (libtiff-tools); everything else is Go.
package scantest

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Layout is how a form lays out its labels and values.
type Layout int

const (
	// LayoutLines prints one "标签：值" per line and the request text below
	// its label.
	LayoutLines Layout = iota
	// LayoutTable prints a bordered table: the label in one cell, the value
	// in the next, two label/value pairs on some rows, and a two-line label
	// cell beside the multi-line request text.
	LayoutTable
)

func (l Layout) String() string {
	if l == LayoutTable {
		return "table"
	}
	return "lines"
}

// Form is what a visitor wrote on a registration form.
type Form struct {
	Name, Gender, IDNumber, Phone, Address, CaseNumber, Request, Receptionist, Date string
}

// A4 at 300 dpi.
const (
	PageWidth  = 2480
	PageHeight = 3508
	DPI        = 300
)

// FontPath is the CJK font the forms are drawn with.
var FontPath = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

var (
	fontOnce sync.Once
	fontErr  error
	fontSC   *opentype.Font
)

func loadFont() (*opentype.Font, error) {
	fontOnce.Do(func() {
		b, err := os.ReadFile(FontPath)
		if err != nil {
			fontErr = fmt.Errorf("scantest: %w (install fonts-noto-cjk)", err)
			return
		}
		col, err := opentype.ParseCollection(b)
		if err != nil {
			fontErr = fmt.Errorf("scantest: %w", err)
			return
		}
		for i := 0; i < col.NumFonts(); i++ {
			f, err := col.Font(i)
			if err != nil {
				continue
			}
			if n, _ := f.Name(nil, 4); n == "Noto Sans CJK SC" {
				fontSC = f
				return
			}
		}
		fontErr = fmt.Errorf("scantest: no Noto Sans CJK SC in %s", FontPath)
	})
	return fontSC, fontErr
}

type page struct {
	img  *image.Gray
	face font.Face
	big  font.Face
}

func newPage(pt float64) (*page, error) {
	f, err := loadFont()
	if err != nil {
		return nil, err
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: pt, DPI: DPI, Hinting: font.HintingNone})
	if err != nil {
		return nil, err
	}
	big, err := opentype.NewFace(f, &opentype.FaceOptions{Size: pt * 1.6, DPI: DPI, Hinting: font.HintingNone})
	if err != nil {
		return nil, err
	}
	img := image.NewGray(image.Rect(0, 0, PageWidth, PageHeight))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	return &page{img: img, face: face, big: big}, nil
}

func (p *page) text(face font.Face, x, y int, s string) int {
	d := &font.Drawer{Dst: p.img, Src: image.Black, Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
	return d.Dot.X.Round()
}

func (p *page) width(face font.Face, s string) int {
	return font.MeasureString(face, s).Round()
}

func (p *page) hline(x0, x1, y, w int) {
	for yy := y; yy < y+w; yy++ {
		for x := x0; x <= x1; x++ {
			p.img.SetGray(x, yy, color.Gray{})
		}
	}
}

func (p *page) vline(x, y0, y1, w int) {
	for xx := x; xx < x+w; xx++ {
		for y := y0; y <= y1; y++ {
			p.img.SetGray(xx, y, color.Gray{})
		}
	}
}

// wrap breaks s into lines no wider than w pixels.
func (p *page) wrap(s string, w int) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		var cur strings.Builder
		for _, r := range para {
			if p.width(p.face, cur.String()+string(r)) > w && cur.Len() > 0 {
				lines = append(lines, cur.String())
				cur.Reset()
			}
			cur.WriteRune(r)
		}
		if cur.Len() > 0 {
			lines = append(lines, cur.String())
		}
	}
	return lines
}

const (
	margin = 200
	lineH  = 110 // 12 pt at 300 dpi is 50 px; generous leading as on forms
)

// Render draws the form on one A4 page at 300 dpi.
func Render(f Form, layout Layout) (*image.Gray, error) {
	p, err := newPage(12)
	if err != nil {
		return nil, err
	}
	title := "来访登记表"
	p.text(p.big, (PageWidth-p.width(p.big, title))/2, 300, title)
	if layout == LayoutTable {
		p.table(f)
	} else {
		p.lines(f)
	}
	return p.img, nil
}

func (p *page) lines(f Form) {
	y := 520
	row := func(label, value string) {
		p.text(p.face, margin, y, label+"："+value)
		y += lineH
	}
	row("来访人", f.Name)
	row("性别", f.Gender)
	row("身份证号", f.IDNumber)
	row("联系电话", f.Phone)
	row("住址", f.Address)
	row("涉及案号", f.CaseNumber)
	row("来访日期", f.Date)
	p.text(p.face, margin, y, "反映问题：")
	y += lineH
	for _, l := range p.wrap(f.Request, PageWidth-2*margin-100) {
		p.text(p.face, margin+100, y, l)
		y += lineH
	}
	y += lineH
	row("接待人", f.Receptionist)
}

func (p *page) table(f Form) {
	x0, x1 := margin, PageWidth-margin
	labelW := 420
	mid := x0 + (x1-x0)/2
	y := 480
	const rowH = 150
	type cell struct {
		label, value string
	}
	rows := [][]cell{
		{{"姓名", f.Name}, {"性别", f.Gender}},
		{{"身份证号", f.IDNumber}},
		{{"联系电话", f.Phone}, {"来访日期", f.Date}},
		{{"住址", f.Address}},
		{{"涉及案号", f.CaseNumber}},
	}
	top := y
	p.hline(x0, x1, y, 4)
	for _, r := range rows {
		base := y + rowH/2 + 22
		if len(r) == 2 {
			p.text(p.face, x0+40, base, r[0].label)
			p.vline(x0+labelW, y, y+rowH, 4)
			p.text(p.face, x0+labelW+40, base, r[0].value)
			p.vline(mid, y, y+rowH, 4)
			p.text(p.face, mid+40, base, r[1].label)
			p.vline(mid+labelW-60, y, y+rowH, 4)
			p.text(p.face, mid+labelW-20, base, r[1].value)
		} else {
			p.text(p.face, x0+40, base, r[0].label)
			p.vline(x0+labelW, y, y+rowH, 4)
			p.text(p.face, x0+labelW+40, base, r[0].value)
		}
		y += rowH
		p.hline(x0, x1, y, 4)
	}
	// The request: a two-line label cell beside the multi-line text.
	lines := p.wrap(f.Request, x1-x0-labelW-80)
	h := max(len(lines)*lineH+80, 3*lineH)
	mid2 := y + h/2
	p.text(p.face, x0+40+p.width(p.face, "反")/2, mid2-20, "反映")
	p.text(p.face, x0+40+p.width(p.face, "反")/2, mid2+lineH-20, "问题")
	p.vline(x0+labelW, y, y+h, 4)
	ty := y + 40 + 60
	for _, l := range lines {
		p.text(p.face, x0+labelW+40, ty, l)
		ty += lineH
	}
	y += h
	p.hline(x0, x1, y, 4)
	base := y + rowH/2 + 22
	p.text(p.face, x0+40, base, "接待人")
	p.vline(x0+labelW, y, y+rowH, 4)
	p.text(p.face, x0+labelW+40, base, f.Receptionist)
	y += rowH
	p.hline(x0, x1, y, 4)
	p.vline(x0, top, y, 4)
	p.vline(x1-4, top, y, 4)
}

// RenderLetter draws a page of free text (the second page of a letter a
// visitor hands over).
func RenderLetter(body string) (*image.Gray, error) {
	p, err := newPage(12)
	if err != nil {
		return nil, err
	}
	y := 400
	for _, l := range p.wrap(body, PageWidth-2*margin) {
		p.text(p.face, margin, y, l)
		y += lineH
	}
	return p.img, nil
}

// Noisy returns a copy of img as a worn desk scan: rotated by deg degrees
// (bilinear, white outside), with speckle noise and a grey cast, seeded so
// the same call gives the same image.
func Noisy(img *image.Gray, deg float64, seed uint64) *image.Gray {
	b := img.Bounds()
	out := image.NewGray(b)
	rad := deg * math.Pi / 180
	sin, cos := math.Sin(rad), math.Cos(rad)
	cx, cy := float64(b.Dx())/2, float64(b.Dy())/2
	at := func(x, y int) float64 {
		if x < b.Min.X || y < b.Min.Y || x >= b.Max.X || y >= b.Max.Y {
			return 255
		}
		return float64(img.Pix[(y-b.Min.Y)*img.Stride+(x-b.Min.X)])
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			// Inverse rotation about the centre.
			dx, dy := float64(x)-cx, float64(y)-cy
			sx, sy := cos*dx+sin*dy+cx, -sin*dx+cos*dy+cy
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := sx-float64(x0), sy-float64(y0)
			v := at(x0, y0)*(1-fx)*(1-fy) + at(x0+1, y0)*fx*(1-fy) + at(x0, y0+1)*(1-fx)*fy + at(x0+1, y0+1)*fx*fy
			v = v*0.92 + 8 // grey paper
			switch r := rng.Float64(); {
			case r < 0.004:
				v = 40 + rng.Float64()*60 // dark speck
			case r < 0.008:
				v = 255
			default:
				v += rng.NormFloat64() * 12
			}
			out.Pix[(y-b.Min.Y)*out.Stride+(x-b.Min.X)] = uint8(math.Max(0, math.Min(255, v)))
		}
	}
	return out
}

// Chars counts characters, for error rates.
func Chars(s string) int { return utf8.RuneCountInString(s) }
