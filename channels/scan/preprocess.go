package scan

import (
	"image"
	"image/draw"
	"math"
)

// Page preparation before OCR. Desk scans come rotated by a few degrees,
// speckled, grey, and (for the table layout) criss-crossed by cell borders
// that tesseract's line finder reads as characters or that split a label
// from its value. prepare cleans a page in three steps, each cheap next to
// the OCR itself:
//
//  1. a 3×3 median filter removes isolated specks without thinning strokes;
//  2. deskew: the angle (±maxSkew°) that makes the row profile of the dark
//     pixels sharpest, searched on a quarter-size copy, is undone;
//  3. long horizontal and vertical runs of dark pixels (table borders,
//     underlines: longer than 8% of the page side) are whitened.
//
// Orientation (a page scanned upside down or sideways) is tesseract's own
// OSD (--psm 0), asked only when a page reads badly; see ocr.go.

const maxSkew = 5.0

func toGray(img image.Image) *image.Gray {
	if g, ok := img.(*image.Gray); ok && g.Rect.Min == (image.Point{}) {
		return g
	}
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(g, g.Bounds(), img, b.Min, draw.Src)
	return g
}

func prepare(img image.Image) (*image.Gray, float64) {
	g := median3(toGray(img))
	angle := skewAngle(g)
	if math.Abs(angle) >= 0.2 {
		g = rotate(g, -angle)
	}
	removeRules(g)
	return g, angle
}

func median3(src *image.Gray) *image.Gray {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewGray(src.Rect)
	copy(dst.Pix, src.Pix)
	var win [9]uint8
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			k := 0
			for dy := -1; dy <= 1; dy++ {
				row := (y + dy) * src.Stride
				win[k], win[k+1], win[k+2] = src.Pix[row+x-1], src.Pix[row+x], src.Pix[row+x+1]
				k += 3
			}
			// Partial selection sort up to the median.
			for i := 0; i <= 4; i++ {
				m := i
				for j := i + 1; j < 9; j++ {
					if win[j] < win[m] {
						m = j
					}
				}
				win[i], win[m] = win[m], win[i]
			}
			dst.Pix[y*dst.Stride+x] = win[4]
		}
	}
	return dst
}

// threshold is a global Otsu threshold of the page.
func threshold(g *image.Gray) uint8 {
	var hist [256]int
	for _, v := range g.Pix {
		hist[v]++
	}
	total := len(g.Pix)
	var sum float64
	for i, c := range hist {
		sum += float64(i * c)
	}
	var sumB, wB float64
	best, t := 0.0, 128
	for i := 0; i < 256; i++ {
		wB += float64(hist[i])
		if wB == 0 {
			continue
		}
		wF := float64(total) - wB
		if wF == 0 {
			break
		}
		sumB += float64(i * hist[i])
		mB, mF := sumB/wB, (sum-sumB)/wF
		if v := wB * wF * (mB - mF) * (mB - mF); v > best {
			best, t = v, i
		}
	}
	return uint8(t)
}

// skewAngle estimates the page's skew in degrees (positive: the text runs
// downhill to the right... as image y grows) from the dark pixels of a
// quarter-size copy.
func skewAngle(g *image.Gray) float64 {
	t := threshold(g)
	const f = 4
	w, h := g.Rect.Dx()/f, g.Rect.Dy()/f
	type pt struct{ x, y float64 }
	var pts []pt
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if g.Pix[(y*f)*g.Stride+x*f] < t {
				pts = append(pts, pt{float64(x), float64(y)})
			}
		}
	}
	if len(pts) < 100 {
		return 0
	}
	score := func(deg float64) float64 {
		rad := deg * math.Pi / 180
		s, c := math.Sin(rad), math.Cos(rad)
		bins := make([]float64, h*2+w)
		off := float64(w)
		for _, p := range pts {
			y := -s*p.x + c*p.y + off
			if i := int(y); i >= 0 && i < len(bins) {
				bins[i]++
			}
		}
		var v float64
		for _, b := range bins {
			v += b * b
		}
		return v
	}
	best, bestDeg := -1.0, 0.0
	for deg := -maxSkew; deg <= maxSkew+1e-9; deg += 0.5 {
		if v := score(deg); v > best {
			best, bestDeg = v, deg
		}
	}
	for deg := bestDeg - 0.4; deg <= bestDeg+0.4+1e-9; deg += 0.1 {
		if v := score(deg); v > best {
			best, bestDeg = v, deg
		}
	}
	return bestDeg
}

// rotate turns g by deg degrees about its centre (bilinear, white outside).
func rotate(g *image.Gray, deg float64) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	out := image.NewGray(g.Rect)
	rad := deg * math.Pi / 180
	s, c := math.Sin(rad), math.Cos(rad)
	cx, cy := float64(w)/2, float64(h)/2
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= w || y >= h {
			return 255
		}
		return float64(g.Pix[y*g.Stride+x])
	}
	for y := 0; y < h; y++ {
		dy := float64(y) - cy
		for x := 0; x < w; x++ {
			dx := float64(x) - cx
			sx, sy := c*dx+s*dy+cx, -s*dx+c*dy+cy
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := sx-float64(x0), sy-float64(y0)
			v := at(x0, y0)*(1-fx)*(1-fy) + at(x0+1, y0)*fx*(1-fy) + at(x0, y0+1)*(1-fx)*fy + at(x0+1, y0+1)*fx*fy
			out.Pix[y*out.Stride+x] = uint8(v + 0.5)
		}
	}
	return out
}

// removeRules whitens long straight runs of dark pixels: table borders and
// underlines, never strokes of characters (far shorter). Runs are found in
// both directions on the page as it is, then whitened (so a border crossing
// another is still one run).
func removeRules(g *image.Gray) {
	t := threshold(g)
	w, h := g.Rect.Dx(), g.Rect.Dy()
	type run struct {
		at          func(j, i int) int
		m           int // lines in this direction
		j, from, to int
	}
	var runs []run
	// along finds the runs of one direction: m lines of length n, position
	// i of line j at pixel index at(j, i).
	along := func(n, m, minRun int, at func(j, i int) int) {
		for j := 0; j < m; j++ {
			for i := 0; i < n; {
				if g.Pix[at(j, i)] >= t {
					i++
					continue
				}
				i0 := i
				for i < n && g.Pix[at(j, i)] < t {
					i++
				}
				if i-i0 >= minRun {
					runs = append(runs, run{at, m, j, i0, i})
				}
			}
		}
	}
	along(w, h, w*8/100, func(y, x int) int { return y*g.Stride + x })
	along(h, w, h*8/100, func(x, y int) int { return y*g.Stride + x })
	// Whiten each run and its anti-aliased fringe (one pixel either side).
	for _, r := range runs {
		for _, j := range []int{r.j - 1, r.j, r.j + 1} {
			if j >= 0 && j < r.m {
				for i := r.from; i < r.to; i++ {
					g.Pix[r.at(j, i)] = 255
				}
			}
		}
	}
}
