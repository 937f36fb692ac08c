package mail

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/transform"
)

// utf7Labels name UTF-7 (RFC 2152), which x/text does not implement.
var utf7Labels = map[string]bool{
	"utf-7": true, "utf7": true, "unicode-1-1-utf-7": true, "csunicode11utf7": true,
	"x-utf-7": true, "unicode-2-0-utf-7": true, "x-unicode20utf7": true,
}

// UTF7 is a decoder-only encoding.Encoding for UTF-7 (RFC 2152): '+'
// starts a run of modified base64 (no padding) holding UTF-16, ended by
// '-' (absorbed) or any other character outside the base64 alphabet (kept);
// "+-" is a plus sign. Malformed input (a lone surrogate, 8-bit bytes) is
// replaced with U+FFFD. Only decoding is implemented: the encoder fails
// on any input.
var UTF7 encoding.Encoding = utf7Encoding{}

type utf7Encoding struct{}

func (utf7Encoding) NewDecoder() *encoding.Decoder {
	return &encoding.Decoder{Transformer: &utf7Decoder{}}
}

func (utf7Encoding) NewEncoder() *encoding.Encoder {
	return &encoding.Encoder{Transformer: noUTF7Encoder{}}
}

var errUTF7Encode = errors.New("mail: encoding to UTF-7 is not supported")

type noUTF7Encoder struct{ transform.NopResetter }

func (noUTF7Encoder) Transform(dst, src []byte, atEOF bool) (int, int, error) {
	if len(src) == 0 {
		return 0, 0, nil
	}
	return 0, 0, errUTF7Encode
}

func (utf7Encoding) String() string { return "UTF-7" }

type utf7Decoder struct {
	shifted bool   // inside a base64 run
	fresh   bool   // just after '+': "-" here means a literal '+'
	bits    uint32 // base64 bits not yet consumed
	nbits   uint
	high    rune // pending high surrogate, or 0
}

func (d *utf7Decoder) Reset() { *d = utf7Decoder{} }

// maxOut is the most one input byte can produce: U+FFFD for a dangling
// high surrogate followed by a four-byte character.
const maxOut = 7

func (d *utf7Decoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		if len(dst)-nDst < maxOut {
			return nDst, nSrc, transform.ErrShortDst
		}
		c := src[nSrc]
		nSrc++
		if d.shifted {
			if v, ok := b64Value(c); ok {
				d.fresh = false
				d.bits = d.bits<<6 | uint32(v)
				d.nbits += 6
				if d.nbits >= 16 {
					d.nbits -= 16
					unit := rune(d.bits >> d.nbits & 0xffff)
					d.bits &= 1<<d.nbits - 1
					nDst += d.unit(dst[nDst:], unit)
				}
				continue
			}
			// end of the base64 run
			wasFresh := d.fresh
			nDst += d.endShift(dst[nDst:])
			if c == '-' {
				if wasFresh {
					dst[nDst] = '+'
					nDst++
				}
				continue
			}
		}
		switch {
		case c == '+':
			d.shifted, d.fresh = true, true
		case c >= 0x80:
			nDst += utf8.EncodeRune(dst[nDst:], utf8.RuneError)
		default:
			dst[nDst] = c
			nDst++
		}
	}
	if atEOF && d.shifted {
		if len(dst)-nDst < maxOut {
			return nDst, nSrc, transform.ErrShortDst
		}
		wasFresh := d.fresh
		nDst += d.endShift(dst[nDst:])
		if wasFresh { // a '+' at the very end
			dst[nDst] = '+'
			nDst++
		}
	}
	return nDst, nSrc, nil
}

// unit writes the character for one UTF-16 code unit, pairing surrogates.
func (d *utf7Decoder) unit(dst []byte, u rune) int {
	n := 0
	if d.high != 0 {
		h := d.high
		d.high = 0
		if utf16.IsSurrogate(u) && u >= 0xdc00 {
			return utf8.EncodeRune(dst, utf16.DecodeRune(h, u))
		}
		n += utf8.EncodeRune(dst, utf8.RuneError)
	}
	switch {
	case u >= 0xd800 && u < 0xdc00:
		d.high = u
	case u >= 0xdc00 && u < 0xe000:
		n += utf8.EncodeRune(dst[n:], utf8.RuneError)
	default:
		n += utf8.EncodeRune(dst[n:], u)
	}
	return n
}

// endShift leaves a base64 run: leftover bits are discarded (RFC 2152),
// a dangling high surrogate becomes U+FFFD.
func (d *utf7Decoder) endShift(dst []byte) int {
	n := 0
	if d.high != 0 {
		n = utf8.EncodeRune(dst, utf8.RuneError)
	}
	*d = utf7Decoder{}
	return n
}

func b64Value(c byte) (byte, bool) {
	switch {
	case 'A' <= c && c <= 'Z':
		return c - 'A', true
	case 'a' <= c && c <= 'z':
		return c - 'a' + 26, true
	case '0' <= c && c <= '9':
		return c - '0' + 52, true
	case c == '+':
		return 62, true
	case c == '/':
		return 63, true
	}
	return 0, false
}
