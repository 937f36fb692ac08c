package calllog

import (
	_ "embed"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/calllog/cdr"
	"github.com/court12368/petitiond/config/units"
)

// Modes.
const (
	// ModeTail follows growing files (Master.csv) across rotation, with a
	// persisted offset.
	ModeTail = "tail"
	// ModeExport takes whole files dropped into a folder, claims them by
	// rename and moves them to done/ (or error/) once acknowledged.
	ModeExport = "export"
)

// Where originals are stored.
const (
	// OriginalsLine stores every CDR line as its own blob: the record's
	// source.original.sha256 is the hash of exactly the line's bytes. A
	// durable write per line: for low volumes only.
	OriginalsLine = "line"
	// OriginalsChunk (the default) stores the lines of one read (up to
	// 128 KiB of whole lines) as one blob: the CDR file's own bytes, by
	// byte range; the record's source.original.uri names the range of the
	// line within it. One durable write per chunk instead of per line.
	OriginalsChunk = "chunk"
)

// Config is the calllog channel's settings.
type Config struct {
	// Path is the CDR file or a glob of files (tail), or a glob or folder
	// of exported files (export).
	Path string `yaml:"path" desc:"tail: the CDR file or a glob of files (each match followed); export: a glob such as /srv/cdr-inbox/*.csv, or the folder"`
	// Format is one of the channels/calllog/cdr formats: asterisk-csv,
	// asterisk-custom, freeswitch-csv, freeswitch-json, csv, jsonl.
	Format string `yaml:"format" desc:"CDR format: asterisk-csv (cdr_csv Master.csv), asterisk-custom (cdr_custom default template), freeswitch-csv (mod_cdr_csv example template), freeswitch-json (mod_json_cdr), csv and jsonl (any vendor's layout, described by mapping)" enum:"asterisk-csv,asterisk-custom,freeswitch-csv,freeswitch-json,csv,jsonl"`
	// Mode is tail or export.
	Mode string `yaml:"mode" desc:"tail: follow growing files across rotation with a saved offset; export: take whole files dropped into a folder" enum:"tail,export"`
	// Encoding of the files: utf-8 or gb18030 (gbk and gb2312 are read as
	// gb18030, their superset).
	Encoding string `yaml:"encoding" desc:"encoding of the files; gbk and gb2312 are read as gb18030, their superset" enum:"utf-8,utf8,gb18030,gbk,gb2312"`
	// Timezone of CDR times that carry no zone (IANA name).
	Timezone string `yaml:"timezone" desc:"IANA zone of CDR times that carry none"`
	// GMT says the CDR times are UTC (Asterisk cdr.conf usegmtime=yes).
	GMT bool `yaml:"gmt" desc:"the CDR times are UTC (Asterisk cdr.conf usegmtime=yes)"`
	// AreaCode is the local area code without the trunk 0 ("791" for
	// Nanchang), applied to 7- and 8-digit caller numbers that come
	// without one.
	AreaCode string `yaml:"area_code" desc:"local area code without the trunk 0 (791 for Nanchang), given to 7- and 8-digit caller numbers that come without one; empty: none"`
	// Mapping describes a vendor's layout for the formats csv and jsonl
	// (see channels/calllog/cdr.Mapping).
	Mapping *cdr.Mapping `yaml:"mapping" desc:"the vendor's layout for the formats csv and jsonl: columns or header, fields, time_layout, comma, dispositions (see the channel's README)"`

	// PollInterval is how often files are checked for growth, rotation
	// and new arrivals when there is nothing to read.
	PollInterval units.Duration `yaml:"poll_interval" desc:"how often files are checked for growth, rotation and new arrivals when there is nothing to read"`
	// StartAt is where tailing starts in a file seen for the first time:
	// beginning or end.
	StartAt string `yaml:"start_at" desc:"tail: where reading starts in a file seen at the very first start (no saved offset); files that appear later are read from their beginning" enum:"beginning,end"`
	// RotateWait is how long a rotated (renamed or deleted) file is still
	// read after it stopped growing, before its last line is taken even
	// without a newline and the file is let go.
	RotateWait units.Duration `yaml:"rotate_wait" desc:"tail: how long a rotated (renamed or deleted) file is still read after it stopped growing, before its last line is taken even without a newline"`
	// MaxLineSize bounds one CDR line; longer lines are dead-lettered
	// (their first max_line_size bytes kept as the original).
	MaxLineSize units.ByteSize `yaml:"max_line_size" desc:"longest CDR line; longer lines are dead-lettered with their first max_line_size bytes kept as the original"`
	// MaxInFlight bounds the items submitted and not yet acknowledged.
	MaxInFlight int `yaml:"max_in_flight" desc:"this channel's lines submitted and not yet acknowledged"`
	// CheckpointInterval is how often the offsets are saved.
	CheckpointInterval units.Duration `yaml:"checkpoint_interval" desc:"how often the offsets are saved (only over lines whose records were acknowledged)"`
	// RetryBackoff is the wait before an item whose delivery failed is
	// submitted again.
	RetryBackoff units.Duration `yaml:"retry_backoff" desc:"wait before a line whose record Kafka failed is submitted again"`
	// Originals is line or chunk (see the constants).
	Originals string `yaml:"originals" desc:"line: every CDR line stored as its own blob; chunk: the whole lines of one read (up to 128 KiB) stored as one blob, the record naming the line's byte range" enum:"line,chunk"`

	// MinAge (export) is how long a file must not have been modified
	// before it is claimed.
	MinAge units.Duration `yaml:"min_age" desc:"export: how long a file must not have been modified before it is claimed"`
	// ProcessingDir (export) holds the claim folders, one per running
	// instance (<host>[-N], locked); default <folder>/processing/<channel name>.
	ProcessingDir string `yaml:"processing_dir" desc:"export: holds the claim folders, one per running instance (<host>[-N], locked); default <folder>/processing/<channel name>"`
	// DoneDir (export) receives files whose every line was delivered;
	// default <folder>/done.
	DoneDir string `yaml:"done_dir" desc:"export: where files whose every line was delivered are moved; default <folder>/done"`
	// ErrorDir (export) receives files with lines that went to the
	// dead-letter topic; default <folder>/error.
	ErrorDir string `yaml:"error_dir" desc:"export: where files with lines that went to the dead-letter topic are moved; default <folder>/error"`

	// CTI, when set, receives the call centre's CTI events by webhook and
	// joins their notes to the CDRs by call id.
	CTI *CTIConfig `yaml:"cti" desc:"a webhook for the call centre's CTI events, whose notes are joined to the CDR lines by call id"`
}

// CTIConfig configures the CTI webhook and the join.
type CTIConfig struct {
	// Listen is the address of the webhook's HTTP listener.
	Listen string `yaml:"listen" desc:"host:port of the webhook's HTTP listener (required with cti)"`
	// Path is where events are POSTed.
	Path string `yaml:"path" desc:"URL path CTI events are POSTed to (JSON); default /cti"`
	// Window is how long a CDR line waits for its note, and a note for
	// its CDR line.
	Window units.Duration `yaml:"window" desc:"how long a CDR line waits for its note, and a note for its CDR line; default 2m"`
	// Hold says which calls wait for a note: answered (missed calls are
	// produced at once) or all.
	Hold string `yaml:"hold" desc:"which calls wait for a note: answered (missed calls are produced at once) or all; default answered" enum:"answered,all"`
	// MaxPending bounds the CDR lines and the calls with CTI events
	// waiting for each other; beyond it the oldest is released early.
	MaxPending int `yaml:"max_pending" desc:"most CDR lines (and calls with CTI events) waiting for each other; beyond it the oldest is released early. Default 10000"`
	// MaxBodySize bounds one webhook request.
	MaxBodySize units.ByteSize `yaml:"max_body_size" desc:"largest webhook request (413 above); default 1MiB"`
	// AuthToken, when set, is the bearer token the CTI must send (use
	// auth_token_file or ${ENV} to keep it out of the file).
	AuthToken string `yaml:"auth_token" desc:"bearer token the CTI must send; use auth_token_file or ${ENV}"`
}

// Hold values.
const (
	HoldAnswered = "answered"
	HoldAll      = "all"
)

// NewConfig returns the defaults.
func NewConfig() *Config {
	return &Config{
		Mode:               ModeTail,
		Encoding:           "utf-8",
		Timezone:           "Asia/Shanghai",
		PollInterval:       units.Duration(250 * time.Millisecond),
		StartAt:            "beginning",
		RotateWait:         units.Duration(5 * time.Second),
		MaxLineSize:        64 << 10,
		MaxInFlight:        5000,
		CheckpointInterval: units.Duration(time.Second),
		RetryBackoff:       units.Duration(5 * time.Second),
		Originals:          OriginalsChunk,
		MinAge:             units.Duration(5 * time.Second),
	}
}

// defaultCTI fills the CTI defaults for fields left empty.
func (c *CTIConfig) withDefaults() {
	if c.Path == "" {
		c.Path = "/cti"
	}
	if c.Window == 0 {
		c.Window = units.Duration(2 * time.Minute)
	}
	if c.Hold == "" {
		c.Hold = HoldAnswered
	}
	if c.MaxPending == 0 {
		c.MaxPending = 10000
	}
	if c.MaxBodySize == 0 {
		c.MaxBodySize = 1 << 20
	}
}

// Validate implements channels.Validator. It does no I/O beyond loading
// the time zone, and reports every problem, not only the first.
func (c *Config) Validate() error {
	var p channels.Problems
	if c.CTI != nil {
		c.CTI.withDefaults()
	}
	if strings.TrimSpace(c.Path) == "" {
		p.Add("path", "required: the CDR file, or a glob")
	} else if _, err := filepath.Match(c.Path, ""); err != nil {
		p.Add("path", "bad glob pattern: %v", err)
	}
	if c.Mode != ModeTail && c.Mode != ModeExport {
		p.Add("mode", "%q: want tail or export", c.Mode)
	}
	if c.StartAt != "beginning" && c.StartAt != "end" {
		p.Add("start_at", "%q: want beginning or end", c.StartAt)
	} else if c.Mode == ModeExport && c.StartAt != "beginning" {
		p.Add("start_at", "only used with mode: tail")
	}
	if c.PollInterval.D() < time.Millisecond {
		p.Add("poll_interval", "must be at least 1ms")
	}
	if c.MaxLineSize < 1024 {
		p.Add("max_line_size", "must be at least 1KiB")
	} else if c.MaxLineSize > 64<<20 {
		p.Add("max_line_size", "must be at most 64MiB")
	}
	if c.MaxInFlight < 1 {
		p.Add("max_in_flight", "must be at least 1")
	}
	if c.CheckpointInterval.D() < time.Millisecond {
		p.Add("checkpoint_interval", "must be at least 1ms")
	}
	if c.Originals != OriginalsLine && c.Originals != OriginalsChunk {
		p.Add("originals", "%q: want line or chunk", c.Originals)
	}
	if strings.ContainsAny(c.AreaCode, "-+ ") || !allDigits(c.AreaCode) || len(c.AreaCode) > 4 {
		p.Add("area_code", "%q: want 2 to 4 digits without the trunk 0, e.g. 791", c.AreaCode)
	} else if strings.HasPrefix(c.AreaCode, "0") {
		p.Add("area_code", "%q: give it without the trunk 0, e.g. 791", c.AreaCode)
	}
	if _, err := c.location(); err != nil {
		p.Add("timezone", "%v", err)
	} else if _, err := c.parser(); err != nil {
		field := "format"
		msg := err.Error()
		switch {
		case strings.HasPrefix(msg, "cdr: encoding"):
			field = "encoding"
		case strings.Contains(msg, "mapping"):
			field = "mapping"
		}
		p.Add(field, "%s", strings.TrimPrefix(msg, "cdr: "))
	}
	if c.Mode == ModeTail {
		for _, d := range []struct{ field, v string }{
			{"processing_dir", c.ProcessingDir}, {"done_dir", c.DoneDir}, {"error_dir", c.ErrorDir},
		} {
			if d.v != "" {
				p.Add(d.field, "only used with mode: export")
			}
		}
	}
	if t := c.CTI; t != nil {
		if t.Listen == "" {
			p.Add("cti.listen", "required: host:port of the webhook listener")
		}
		if !strings.HasPrefix(t.Path, "/") {
			p.Add("cti.path", "must start with /")
		}
		if t.Window.D() < time.Millisecond {
			p.Add("cti.window", "must be at least 1ms")
		}
		if t.Hold != HoldAnswered && t.Hold != HoldAll {
			p.Add("cti.hold", "%q: want answered or all", t.Hold)
		}
		if t.MaxPending < 1 {
			p.Add("cti.max_pending", "must be at least 1")
		}
		if t.MaxBodySize < 1024 {
			p.Add("cti.max_body_size", "must be at least 1KiB")
		}
	}
	return p.Err()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// location returns the zone of CDR times.
func (c *Config) location() (*time.Location, error) {
	name := c.Timezone
	if name == "" {
		name = "Asia/Shanghai"
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		if name == "Asia/Shanghai" {
			// No zone database: China has had no DST since 1991.
			return time.FixedZone("CST", 8*3600), nil
		}
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name such as Asia/Shanghai)", name)
	}
	return loc, nil
}

// parser builds the CDR parser the settings describe.
func (c *Config) parser() (*cdr.Parser, error) {
	loc, err := c.location()
	if err != nil {
		return nil, err
	}
	if c.Format == "" {
		return nil, errors.New("required: one of " + formatNames())
	}
	return cdr.NewParser(cdr.Options{
		Format:   cdr.Format(c.Format),
		Location: loc,
		GMT:      c.GMT,
		Encoding: c.Encoding,
		Mapping:  c.Mapping,
	})
}

func formatNames() string {
	var s []string
	for _, f := range cdr.Formats() {
		s = append(s, string(f))
	}
	return strings.Join(s, ", ")
}

//go:embed example.yaml
var example []byte

func init() {
	channels.Register(channels.Type{
		Name:      "calllog",
		Summary:   "hotline call-detail records (Asterisk, FreeSWITCH, vendor CSV/JSON), tailed or exported, joined to CTI notes",
		NewConfig: func() any { return NewConfig() },
		New: func(cfg any, env channels.Env) (channels.Channel, error) {
			return New(cfg.(*Config), env)
		},
		Example: example,
	})
}
