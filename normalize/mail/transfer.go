package mail

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// transferDecoder returns a reader that undoes the Content-Transfer-Encoding
// cte of r. Unknown encodings pass the bytes through (as 8bit) with a
// problem; malformed base64 and quoted-printable decode as much as they can.
func (p *parser) transferDecoder(cte string, r io.Reader, path string) io.Reader {
	switch enc := strings.ToLower(strings.Trim(cte, " \t\"'")); enc {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit":
		return r
	case "base64", "base-64", "x-base64":
		br := bufio.NewReaderSize(r, 4096)
		if head, _ := br.Peek(2048); !looksBase64(head) {
			p.notef("%s: labelled base64 but is not, read as 8bit", where(path))
			return br
		}
		return &base64Reader{src: br, done: func(bad, dangling bool) {
			if bad {
				p.notef("%s: invalid characters in base64 data were skipped", where(path))
			}
			if dangling {
				p.notef("%s: base64 data ends with an incomplete quantum", where(path))
			}
		}}
	case "quoted-printable", "quoted_printable", "quotedprintable", "qp", "x-quoted-printable":
		return &qpReader{src: r, done: func(bad bool) {
			if bad {
				p.notef("%s: malformed quoted-printable escapes kept as they are", where(path))
			}
		}}
	default:
		p.notef("%s: unknown transfer encoding %q treated as 8bit", where(path), clip(enc, 40))
		return r
	}
}

// looksBase64 reports whether the start of a body labelled base64 is
// base64 at all: not when most lines have spaces inside them (text sent
// with a wrong label) or when many characters are outside the alphabet.
func looksBase64(head []byte) bool {
	lines, spaced, bad, chars := 0, 0, 0, 0
	for _, line := range bytes.Split(head, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		lines++
		if bytes.ContainsAny(line, " \t") {
			spaced++
		}
		for _, c := range line {
			chars++
			if b64Table[c] == -1 {
				bad++
			}
		}
	}
	if spaced*2 > lines {
		return false
	}
	return bad*4 <= chars
}

var b64Table = func() [256]int8 {
	var t [256]int8
	for i := range t {
		t[i] = -1 // invalid
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alpha); i++ {
		t[alpha[i]] = int8(i)
	}
	for _, c := range []byte(" \t\r\n\f\v") {
		t[c] = -2 // skipped silently
	}
	t['='] = -3
	return t
}()

// b64State decodes base64 leniently: whitespace and invalid characters are
// skipped, '=' ends a quantum wherever it is (so concatenated base64 blocks
// decode), and an unpadded final quantum is kept.
type b64State struct {
	q        [4]byte
	n        int
	bad      bool // invalid characters were skipped
	dangling bool // a lone character was left over at a quantum's end
}

func (s *b64State) feed(dst, src []byte) []byte {
	for _, c := range src {
		v := b64Table[c]
		switch {
		case v >= 0:
			s.q[s.n] = byte(v)
			s.n++
			if s.n == 4 {
				dst = append(dst, s.q[0]<<2|s.q[1]>>4, s.q[1]<<4|s.q[2]>>2, s.q[2]<<6|s.q[3])
				s.n = 0
			}
		case v == -3:
			dst = s.flush(dst)
		case v == -1:
			s.bad = true
		}
	}
	return dst
}

func (s *b64State) flush(dst []byte) []byte {
	switch s.n {
	case 1:
		s.dangling = true
	case 2:
		dst = append(dst, s.q[0]<<2|s.q[1]>>4)
	case 3:
		dst = append(dst, s.q[0]<<2|s.q[1]>>4, s.q[1]<<4|s.q[2]>>2)
	}
	s.n = 0
	return dst
}

// decodeBase64 decodes b leniently; bad reports skipped or dangling input.
func decodeBase64(b []byte) ([]byte, bool) {
	var s b64State
	out := s.feed(make([]byte, 0, len(b)*3/4+3), b)
	out = s.flush(out)
	return out, s.bad || s.dangling
}

// base64Reader streams b64State over src.
type base64Reader struct {
	src  io.Reader
	st   b64State
	in   []byte
	out  []byte
	off  int
	err  error
	done func(bad, dangling bool)
}

func (r *base64Reader) Read(p []byte) (int, error) {
	for r.off == len(r.out) {
		if r.err != nil {
			return 0, r.err
		}
		if r.in == nil {
			r.in = make([]byte, 8192)
			r.out = make([]byte, 0, 8192*3/4+3)
		}
		n, err := r.src.Read(r.in)
		r.out, r.off = r.st.feed(r.out[:0], r.in[:n]), 0
		if err != nil {
			if err == io.EOF {
				r.out = r.st.flush(r.out)
				if r.done != nil {
					r.done(r.st.bad, r.st.dangling)
					r.done = nil
				}
			}
			r.err = err
		}
	}
	n := copy(p, r.out[r.off:])
	r.off += n
	return n, nil
}

// qpReader decodes quoted-printable leniently: soft line breaks (also with
// trailing whitespace after the '='), =XX in either case, trailing
// whitespace dropped; a malformed '=' sequence and raw 8-bit bytes are
// kept as they are (Chinese mailers put raw GBK into QP bodies).
type qpReader struct {
	src  io.Reader
	in   []byte
	out  []byte
	off  int
	err  error
	done func(bad bool)

	state int    // qpNormal, qpEq, qpEqHex, qpEqCR, qpEqWS
	hi    byte   // first hex digit after '='
	ws    []byte // pending whitespace (dropped at end of line)
	bad   bool
}

const (
	qpNormal = iota
	qpEq
	qpEqHex
	qpEqCR
	qpEqWS
)

// maxPendingWS bounds the whitespace held back while looking for a line end.
const maxPendingWS = 1024

func (r *qpReader) Read(p []byte) (int, error) {
	for r.off == len(r.out) {
		if r.err != nil {
			return 0, r.err
		}
		if r.in == nil {
			r.in = make([]byte, 8192)
			r.out = make([]byte, 0, 8192+maxPendingWS+4)
		}
		n, err := r.src.Read(r.in)
		r.out, r.off = r.out[:0], 0
		for _, c := range r.in[:n] {
			r.step(c)
		}
		if err != nil {
			if err == io.EOF {
				r.finish()
				if r.done != nil {
					r.done(r.bad)
					r.done = nil
				}
			}
			r.err = err
		}
	}
	n := copy(p, r.out[r.off:])
	r.off += n
	return n, nil
}

func (r *qpReader) step(c byte) {
	switch r.state {
	case qpEq:
		switch {
		case isHex(c):
			r.hi, r.state = c, qpEqHex
		case c == '\n':
			r.state = qpNormal // soft line break
		case c == '\r':
			r.state = qpEqCR
		case c == ' ' || c == '\t':
			r.ws = append(r.ws, c)
			r.state = qpEqWS
		default:
			r.bad = true
			r.out = append(r.out, '=')
			r.state = qpNormal
			r.step(c)
		}
		return
	case qpEqHex:
		r.state = qpNormal
		if isHex(c) {
			h, _ := unhex(r.hi)
			l, _ := unhex(c)
			r.out = append(r.out, h<<4|l)
			return
		}
		r.bad = true
		r.out = append(r.out, '=', r.hi)
		r.step(c)
		return
	case qpEqCR:
		r.state = qpNormal
		if c == '\n' {
			return
		}
		r.step(c) // "=\r" alone: a soft break all the same
		return
	case qpEqWS:
		switch c {
		case ' ', '\t':
			if len(r.ws) < maxPendingWS {
				r.ws = append(r.ws, c)
			}
			return
		case '\r':
			r.ws = r.ws[:0]
			r.state = qpEqCR
			return
		case '\n':
			r.ws = r.ws[:0]
			r.state = qpNormal
			return
		}
		r.bad = true
		r.out = append(r.out, '=')
		r.flushWS()
		r.state = qpNormal
		r.step(c)
		return
	}
	switch c {
	case '=':
		r.flushWS()
		r.state = qpEq
	case ' ', '\t':
		if len(r.ws) >= maxPendingWS {
			r.flushWS()
		}
		r.ws = append(r.ws, c)
	case '\r', '\n':
		r.ws = r.ws[:0] // trailing whitespace is not part of the data
		r.out = append(r.out, c)
	default:
		r.flushWS()
		r.out = append(r.out, c)
	}
}

func (r *qpReader) flushWS() {
	r.out = append(r.out, r.ws...)
	r.ws = r.ws[:0]
}

func (r *qpReader) finish() {
	switch r.state {
	case qpEqHex:
		r.bad = true
		r.out = append(r.out, '=', r.hi)
	}
	r.state = qpNormal
	r.ws = r.ws[:0]
}

func isHex(c byte) bool {
	_, ok := unhex(c)
	return ok
}

// clip shortens s to at most n bytes (at a rune boundary when possible).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
