package blob

import (
	"bytes"
	"net/http"
	"strings"
)

// SniffContentType guesses the type of content from its first bytes (at
// most 512 are looked at): the WHATWG sniffing of net/http plus the scan
// formats it does not know (TIFF) and the usual office containers. The
// parameters (charset) are dropped.
func SniffContentType(b []byte) string {
	if len(b) > 512 {
		b = b[:512]
	}
	switch {
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "image/tiff"
	case bytes.HasPrefix(b, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		return "application/x-ole-storage" // .doc, .xls, .msg
	case len(b) >= 12 && string(b[4:8]) == "ftyp" && (string(b[8:12]) == "heic" || string(b[8:12]) == "heix" || string(b[8:12]) == "mif1"):
		return "image/heic"
	}
	t := http.DetectContentType(b)
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	return t
}
