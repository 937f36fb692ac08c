package normalize

import (
	"strings"

	"github.com/court12368/petitiond/normalize/text"
)

// CleanText makes prose clean (see text.Clean): valid UTF-8, NFC, no
// control characters but newlines and tabs, LF line ends, tidy white space.
func CleanText(s string) string { return text.Clean(s) }

// CleanLine is CleanText for one-line fields: all white space runs become
// one space.
func CleanLine(s string) string {
	return strings.Join(strings.Fields(text.Clean(s)), " ")
}
