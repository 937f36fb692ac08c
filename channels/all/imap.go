package all

import (
	_ "github.com/court12368/petitiond/channels/imap"        // e-mail letters from IMAP mailboxes
	_ "github.com/court12368/petitiond/channels/imap/decode" // reads the letters into records
)
