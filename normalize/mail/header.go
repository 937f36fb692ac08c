package mail

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
)

// maxHeaderBytes bounds one header block (the message's or a part's). What
// goes beyond is read and dropped.
const maxHeaderBytes = 1 << 20

// peekLen is how much of a line is looked at to classify it.
const peekLen = 1024

type field struct{ key, value string }

// header is a header block in order of appearance. Values are unfolded
// and still raw: bytes as sent, encoded words not decoded.
type header struct{ fields []field }

// get returns the first value of key (case-insensitive), or "".
func (h *header) get(key string) string {
	for _, f := range h.fields {
		if strings.EqualFold(f.key, key) {
			return f.value
		}
	}
	return ""
}

// has reports whether key is present at all, even empty.
func (h *header) has(key string) bool {
	for _, f := range h.fields {
		if strings.EqualFold(f.key, key) {
			return true
		}
	}
	return false
}

// values returns every value of key.
func (h *header) values(key string) []string {
	var vs []string
	for _, f := range h.fields {
		if strings.EqualFold(f.key, key) {
			vs = append(vs, f.value)
		}
	}
	return vs
}

// readHeader reads a header block leniently. It never fails: malformed
// lines become problems. It stops after the blank line that ends the block,
// or without consuming anything of the line that cannot belong to a header
// (that line is the start of the body). stop, when set, is the enclosing
// multipart's dash-boundary: a line starting with it ends the header too.
// top is set for the header of a whole message, where an mbox "From " line
// and a first line indented by mistake are accepted.
func readHeader(br *bufio.Reader, stop []byte, top bool, note func(string)) header {
	var h header
	size := 0
	dropped := false
	add := func(b []byte, newField bool, sep string) {
		size += len(b)
		if size > maxHeaderBytes {
			if !dropped {
				note("header larger than 1 MiB, the rest was dropped")
				dropped = true
			}
			return
		}
		if newField {
			i := bytes.IndexByte(b, ':')
			key := string(bytes.TrimSpace(b[:i]))
			h.fields = append(h.fields, field{key: key, value: string(b[i+1:])})
			return
		}
		if n := len(h.fields); n > 0 {
			h.fields[n-1].value += sep + string(b)
		}
	}
	first := true
	for {
		head, _ := br.Peek(peekLen)
		if len(head) == 0 {
			break // EOF: a header-only message
		}
		line := head
		complete := false
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, complete = head[:i], true
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if first && top && complete && len(bytes.Trim(line, " \t")) == 0 {
			if n := leadingBlank(head); n > 0 {
				note("blank line before the header skipped")
				br.Discard(n) //nolint:errcheck // n bytes are buffered
				continue
			}
		}
		if len(line) == 0 && (complete || len(head) < peekLen) {
			discardLine(br)
			break
		}
		if stop != nil && bytes.HasPrefix(line, stop) {
			if len(h.fields) > 0 {
				note("part header not ended by a blank line")
			}
			break
		}
		switch {
		case line[0] == ' ' || line[0] == '\t':
			if len(h.fields) > 0 {
				add(readLine(br), false, "")
				break
			}
			if trimmed := bytes.TrimLeft(line, " \t"); first && top && isFieldLine(trimmed) {
				note("header starts with whitespace")
				add(bytes.TrimLeft(readLine(br), " \t"), true, "")
				break
			}
			return h.trimmed() // indented text: no header, this is the body
		case isFieldLine(line):
			add(readLine(br), true, "")
		case first && top && bytes.HasPrefix(line, []byte("From ")):
			discardLine(br) // mbox separator
		case len(h.fields) > 0 && looksContinued(h.fields[len(h.fields)-1].value, line):
			note("header line without indentation taken as a continuation")
			add(readLine(br), false, " ")
		default:
			if len(h.fields) > 0 {
				note("header not ended by a blank line")
			}
			return h.trimmed()
		}
		first = false
	}
	return h.trimmed()
}

// leadingBlank returns the length of the blank (empty or whitespace-only)
// lines at the start of head when they are followed, within head, by a
// header field line, possibly indented: webmail "show original" exports
// often start that way. Otherwise it returns 0 and the blank line ends an
// empty header as usual.
func leadingBlank(head []byte) int {
	n := 0
	for {
		i := bytes.IndexByte(head[n:], '\n')
		if i < 0 {
			return 0
		}
		line := bytes.TrimSuffix(head[n:n+i], []byte("\r"))
		if len(bytes.Trim(line, " \t")) != 0 {
			if isFieldLine(bytes.TrimLeft(line, " \t")) {
				return n
			}
			return 0
		}
		n += i + 1
	}
}

func (h header) trimmed() header {
	for i := range h.fields {
		h.fields[i].value = strings.Trim(h.fields[i].value, " \t\r\n")
	}
	return h
}

// isFieldLine reports whether line starts with "name:", name being
// printable ASCII without spaces (spaces before the colon are tolerated).
func isFieldLine(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	key := bytes.TrimRight(line[:i], " \t")
	if len(key) == 0 {
		return false
	}
	for _, c := range key {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// looksContinued reports whether a header line that is neither indented nor
// a field is a continuation folded without indentation, as some mailers do
// with parameters: the previous value ended with ';' or the line is a
// "name=value" parameter.
func looksContinued(prev string, line []byte) bool {
	if bytes.HasPrefix(line, []byte("--")) {
		return false
	}
	if strings.HasSuffix(strings.TrimRight(prev, " \t\r\n"), ";") {
		return true
	}
	eq := bytes.IndexByte(line, '=')
	if eq <= 0 {
		return false
	}
	for _, c := range line[:eq] {
		if !isTokenByte(c) {
			return false
		}
	}
	return true
}

func isTokenByte(c byte) bool {
	return c > ' ' && c < 0x7f && !strings.ContainsRune("()<>@,;:\\\"/[]?=", rune(c))
}

// readLine consumes one line and returns it without its line ending,
// capped at maxHeaderBytes (the rest of a longer line is discarded).
func readLine(br *bufio.Reader) []byte {
	var out []byte
	for {
		b, err := br.ReadSlice('\n')
		if len(out)+len(b) <= maxHeaderBytes+2 {
			out = append(out, b...)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			break
		}
	}
	out = bytes.TrimSuffix(out, []byte("\n"))
	return bytes.TrimSuffix(out, []byte("\r"))
}

// discardLine consumes one line.
func discardLine(br *bufio.Reader) {
	for {
		_, err := br.ReadSlice('\n')
		if !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}
