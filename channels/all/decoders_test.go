package all_test

import (
	"slices"
	"testing"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/calllog/callitem"
	"github.com/court12368/petitiond/channels/imap"
	"github.com/court12368/petitiond/normalize"
)

// TestDecodersRegistered: importing all links the decoder of every item
// kind a built-in channel emits.
func TestDecodersRegistered(t *testing.T) {
	kinds := normalize.DefaultDecoders.Kinds()
	for _, k := range []string{string(imap.KindMail), string(callitem.Kind)} {
		if !slices.ContainsFunc(kinds, func(x channels.Kind) bool { return string(x) == k }) {
			t.Errorf("no decoder for kind %q (have %v)", k, kinds)
		}
	}
}
