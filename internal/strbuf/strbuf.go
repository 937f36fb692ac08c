// Package strbuf builds strings that are often equal to their input (text
// that is already clean, a number already in its canonical form) without
// allocating for them: a pooled byte buffer with strings.Builder's write
// methods whose Done returns the input itself when nothing changed.
package strbuf

import (
	"sync"
	"unicode/utf8"
)

// Buffer is a pooled byte buffer. Get one, write to it, and call Done
// exactly once; the Buffer must not be used after Done.
type Buffer struct{ b []byte }

var pool = sync.Pool{New: func() any { return &Buffer{b: make([]byte, 0, 512)} }}

// maxPooled keeps a buffer grown by one huge text out of the pool.
const maxPooled = 64 << 10

// Get returns an empty buffer.
func Get() *Buffer {
	b := pool.Get().(*Buffer)
	b.b = b.b[:0]
	return b
}

// WriteString appends s.
func (b *Buffer) WriteString(s string) { b.b = append(b.b, s...) }

// WriteByte appends c.
func (b *Buffer) WriteByte(c byte) error { b.b = append(b.b, c); return nil }

// WriteRune appends r in UTF-8.
func (b *Buffer) WriteRune(r rune) { b.b = utf8.AppendRune(b.b, r) }

// Len returns the bytes written.
func (b *Buffer) Len() int { return len(b.b) }

// HasSuffix reports whether what was written ends in s.
func (b *Buffer) HasSuffix(s string) bool {
	return len(b.b) >= len(s) && string(b.b[len(b.b)-len(s):]) == s
}

// Done returns what was written — in itself, without allocating, when it
// is equal to in — and returns the buffer to the pool.
func (b *Buffer) Done(in string) string {
	out := in
	if string(b.b) != in {
		out = string(b.b)
	}
	if cap(b.b) <= maxPooled {
		pool.Put(b)
	}
	return out
}
