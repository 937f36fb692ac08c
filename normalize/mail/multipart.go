package mail

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// mpBufSize is the read-ahead of a multipart reader: the window in which
// a delimiter is looked for. It bounds memory per nesting level.
const mpBufSize = 64 << 10

// maxBoundary is the longest boundary accepted (RFC 2046 allows 70).
const maxBoundary = 1000

// maxPadding bounds the whitespace allowed after a delimiter.
const maxPadding = 256

// multipartReader splits a multipart body into parts, streaming. Unlike
// mime/multipart it never fails: a part without header, a missing final
// delimiter, a delimiter at the very start of the body, LF line endings and
// boundaries that merely start like ours ("--b_alt" for "--b") are all
// handled; malformed part headers are read by readHeader.
type multipartReader struct {
	br     *bufio.Reader
	dash   []byte // "--" + boundary
	nlDash []byte // "\n--" + boundary
	cur    *partBody
	done   bool
	closed bool // the closing delimiter was seen

	preamble    []byte // first bytes of the preamble, kept when capPreamble > 0
	capPreamble int
}

// bufPool recycles the read-ahead buffers of multipart levels and messages.
var bufPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, mpBufSize) }}

func getReader(r io.Reader) *bufio.Reader {
	br := bufPool.Get().(*bufio.Reader)
	br.Reset(r)
	return br
}

// putReader returns br to the pool; br must not be used afterwards.
func putReader(br *bufio.Reader) {
	br.Reset(nil)
	bufPool.Put(br)
}

// newMultipartReader returns a reader of r's parts; release gives its
// buffer back when done.
func newMultipartReader(r io.Reader, boundary string, capPreamble int) *multipartReader {
	return &multipartReader{
		br:          getReader(r),
		dash:        []byte("--" + boundary),
		nlDash:      []byte("\n--" + boundary),
		capPreamble: capPreamble,
	}
}

// release returns the read-ahead buffer to the pool.
func (m *multipartReader) release() {
	putReader(m.br)
	m.br, m.done = nil, true
}

// next skips what is left of the preamble or of the current part, then the
// delimiter line. It reports false when there are no more parts: after the
// closing delimiter (closed is then set) or at the end of the input. After
// true, the part's header is read from m.br and its body from m.cur.
func (m *multipartReader) next() bool {
	if m.done {
		return false
	}
	if m.cur == nil {
		m.cur = &partBody{m: m, atStart: true}
		if m.capPreamble > 0 {
			m.preamble, _ = io.ReadAll(io.LimitReader(m.cur, int64(m.capPreamble)))
		}
	}
	if _, err := io.Copy(io.Discard, m.cur); err != nil || !m.cur.found {
		m.done = true
		return false
	}
	if c, _ := m.br.Peek(1); len(c) == 1 && c[0] == '\r' {
		m.br.Discard(1)
	}
	if c, _ := m.br.Peek(1); len(c) == 1 && c[0] == '\n' {
		m.br.Discard(1)
	}
	m.br.Discard(len(m.dash))
	if c, _ := m.br.Peek(2); len(c) == 2 && c[0] == '-' && c[1] == '-' {
		m.closed, m.done = true, true
		return false
	}
	discardLine(m.br)
	m.cur = &partBody{m: m, atStart: true}
	m.preamble = nil // only needed when there is no part at all
	return true
}

// delimiter answers of delimiterAt.
const (
	delimNo = iota
	delimYes
	delimMaybe // more input is needed to decide
)

// delimiterAt reports whether a delimiter line ("--boundary" then "--", or
// optional whitespace and a line end, or the end of input) starts at buf[j].
func (m *multipartReader) delimiterAt(buf []byte, j int, eof bool) int {
	rest := buf[j:]
	if len(rest) < len(m.dash) {
		if !eof && bytes.HasPrefix(m.dash, rest) {
			return delimMaybe
		}
		return delimNo
	}
	if !bytes.Equal(rest[:len(m.dash)], m.dash) {
		return delimNo
	}
	k := len(m.dash)
	if k < len(rest) && rest[k] == '-' {
		if k+1 < len(rest) {
			if rest[k+1] == '-' {
				return delimYes
			}
			return delimNo
		}
		if eof {
			return delimNo
		}
		return delimMaybe
	}
	for k < len(rest) && (rest[k] == ' ' || rest[k] == '\t') {
		k++
		if k-len(m.dash) > maxPadding {
			return delimNo
		}
	}
	if k == len(rest) {
		if eof {
			return delimYes
		}
		return delimMaybe
	}
	if rest[k] == '\n' || rest[k] == '\r' {
		return delimYes
	}
	return delimNo
}

// scan returns how many bytes at the start of buf are certainly content,
// and whether a delimiter follows them. atStart says buf[0] begins a line
// (the start of a body), where a delimiter needs no preceding line break.
func (m *multipartReader) scan(buf []byte, atStart, eof bool) (int, bool) {
	if atStart {
		switch m.delimiterAt(buf, 0, eof) {
		case delimYes:
			return 0, true
		case delimMaybe:
			return 0, false
		}
	}
	from := 0
	for {
		i := bytes.Index(buf[from:], m.nlDash)
		if i < 0 {
			break
		}
		i += from
		d := m.delimiterAt(buf, i+1, eof)
		if d != delimNo {
			end := i
			if end > 0 && buf[end-1] == '\r' {
				end--
			}
			return end, d == delimYes
		}
		from = i + 1
	}
	if eof {
		return len(buf), false
	}
	keep := len(m.nlDash) + 1 // a delimiter may start in the tail
	if len(buf) <= keep {
		return 0, false
	}
	return len(buf) - keep, false
}

// partBody reads one part's body (or the preamble) up to its delimiter.
type partBody struct {
	m       *multipartReader
	atStart bool
	avail   int  // bytes known to be content, not yet returned
	pending bool // a delimiter follows the avail bytes
	found   bool // the body ended at a delimiter (not at end of input)
	eof     bool
}

func (b *partBody) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	br := b.m.br
	if b.avail == 0 {
		if b.pending {
			b.eof, b.found = true, true
			return 0, io.EOF
		}
		buf, err := br.Peek(mpBufSize)
		eof := err != nil && err != bufio.ErrBufferFull
		n, found := b.m.scan(buf, b.atStart, eof)
		switch {
		case n == 0 && found:
			b.eof, b.found = true, true
			return 0, io.EOF
		case n == 0 && eof:
			b.eof = true
			return 0, io.EOF
		case n == 0:
			// Only reachable with a window too small to decide, which the
			// buffer size rules out; move on by one byte rather than stall.
			n = 1
		}
		b.avail, b.pending = n, found
	}
	n := min(len(p), b.avail)
	buf, _ := br.Peek(n)
	n = copy(p, buf)
	br.Discard(n)
	b.avail -= n
	b.atStart = false
	return n, nil
}
