package cdr

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// decode turns the line bytes into a string: the line ending and a
// byte-order mark are dropped, GB18030 is decoded (bytes that are not
// GB18030 become U+FFFD). In utf-8 mode invalid is true when the line is
// not valid UTF-8; build then repairs each value (see repair).
func (p *Parser) decode(line []byte) (s string, invalid bool) {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	if p.gb {
		if isASCII(line) {
			return string(line), false
		}
		b, err := simplifiedchinese.GB18030.NewDecoder().Bytes(line)
		if err != nil {
			return toValidUTF8(string(line)), false
		}
		return strings.TrimPrefix(string(b), "\uFEFF"), false
	}
	if len(line) >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF {
		line = line[3:]
	}
	s = string(line)
	return s, !utf8.ValidString(s)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// repair makes a value of a line that is not valid UTF-8 readable. Such a
// value is most often GB18030 (GBK) bytes in an otherwise UTF-8 file: a
// Chinese SIP phone's display name copied raw into the CDR. A value that
// is not valid UTF-8 is decoded as GB18030 when that succeeds without
// replacement characters; otherwise its invalid bytes become U+FFFD. What
// was done is recorded in Extra["charset_repaired"] ("gb18030" or
// "replacement"). Commas and quotes cannot occur inside GB18030 multi-byte
// characters, so splitting before the repair is safe.
func (r *record) repair(v string) string {
	if utf8.ValidString(v) {
		return v
	}
	if b, err := simplifiedchinese.GB18030.NewDecoder().String(v); err == nil && !strings.ContainsRune(b, utf8.RuneError) {
		if r.repaired == "" {
			r.repaired = "gb18030"
		}
		return b
	}
	r.repaired = "replacement"
	return toValidUTF8(v)
}

func toValidUTF8(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}
