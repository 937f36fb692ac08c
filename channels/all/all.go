// Package all registers every built-in channel type in channels.Default.
// A custom build can import a subset instead.
package all

import (
	_ "github.com/court12368/petitiond/channels/calllog" // hotline call-detail records and CTI notes
	_ "github.com/court12368/petitiond/channels/imap"    // e-mail letters from IMAP mailboxes
	_ "github.com/court12368/petitiond/channels/web"     // HTTP submissions
)
