package channels

// Backlog is how much a channel's source holds that the channel has not
// taken yet, in one unit.
type Backlog struct {
	// Unit is one of the Unit constants.
	Unit string `json:"unit"`
	// N is how many of Unit wait.
	N int64 `json:"n"`
}

// The units of a Backlog: they label petitiond_channel_backlog.
const (
	UnitMessages = "messages" // letters in a mailbox
	UnitBytes    = "bytes"    // bytes of a file not yet read
	UnitFiles    = "files"    // files waiting in a folder
	UnitPages    = "pages"    // scanned pages waiting for OCR
)

// Backlogger is implemented by channels whose source knows how much waits
// there (imap: messages in the mailbox, calllog: bytes behind in the CDR
// files, scan: files in the hot folder and pages waiting for OCR). Backlog
// is called on every /metrics scrape and status page view: it returns what
// the channel learnt while reading its source, without I/O of its own, and
// nil while it does not know (not connected, not running).
type Backlogger interface {
	Backlog() []Backlog
}
