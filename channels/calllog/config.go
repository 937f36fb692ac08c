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
	// source.original.sha256 is the hash of exactly the line's bytes.
	OriginalsLine = "line"
	// OriginalsChunk stores the lines of one read (up to 128 KiB of whole
	// lines) as one blob; the record's source.original.uri names the byte
	// range of the line within it. One file write per chunk instead of
	// per line, for very high volumes.
	OriginalsChunk = "chunk"
)

// Config is the calllog channel's settings.
type Config struct {
	// Path is the CDR file or a glob of files (tail), or a glob or folder
	// of exported files (export).
	Path string `yaml:"path"`
	// Format is one of the channels/calllog/cdr formats: asterisk-csv,
	// asterisk-custom, freeswitch-csv, freeswitch-json, csv, jsonl.
	Format string `yaml:"format"`
	// Mode is tail or export.
	Mode string `yaml:"mode"`
	// Encoding of the files: utf-8 or gb18030 (gbk and gb2312 are read as
	// gb18030, their superset).
	Encoding string `yaml:"encoding"`
	// Timezone of CDR times that carry no zone (IANA name).
	Timezone string `yaml:"timezone"`
	// GMT says the CDR times are UTC (Asterisk cdr.conf usegmtime=yes).
	GMT bool `yaml:"gmt"`
	// AreaCode is the local area code without the trunk 0 ("791" for
	// Nanchang), applied to 7- and 8-digit caller numbers that come
	// without one.
	AreaCode string `yaml:"area_code"`
	// Mapping describes a vendor's layout for the formats csv and jsonl
	// (see channels/calllog/cdr.Mapping).
	Mapping *cdr.Mapping `yaml:"mapping"`

	// PollInterval is how often files are checked for growth, rotation
	// and new arrivals when there is nothing to read.
	PollInterval units.Duration `yaml:"poll_interval"`
	// StartAt is where tailing starts in a file seen for the first time:
	// beginning or end.
	StartAt string `yaml:"start_at"`
	// RotateWait is how long a rotated (renamed or deleted) file is still
	// read after it stopped growing, before its last line is taken even
	// without a newline and the file is let go.
	RotateWait units.Duration `yaml:"rotate_wait"`
	// MaxLineSize bounds one CDR line; longer lines are dead-lettered
	// (their first max_line_size bytes kept as the original).
	MaxLineSize units.ByteSize `yaml:"max_line_size"`
	// MaxInFlight bounds the items submitted and not yet acknowledged.
	MaxInFlight int `yaml:"max_in_flight"`
	// CheckpointInterval is how often the offsets are saved.
	CheckpointInterval units.Duration `yaml:"checkpoint_interval"`
	// RetryBackoff is the wait before an item whose delivery failed is
	// submitted again.
	RetryBackoff units.Duration `yaml:"retry_backoff"`
	// Originals is line or chunk (see the constants).
	Originals string `yaml:"originals"`

	// MinAge (export) is how long a file must not have been modified
	// before it is claimed.
	MinAge units.Duration `yaml:"min_age"`
	// ProcessingDir (export) receives the files this instance claimed;
	// default <folder>/processing/<channel name>.
	ProcessingDir string `yaml:"processing_dir"`
	// DoneDir (export) receives files whose every line was delivered;
	// default <folder>/done.
	DoneDir string `yaml:"done_dir"`
	// ErrorDir (export) receives files with lines that went to the
	// dead-letter topic; default <folder>/error.
	ErrorDir string `yaml:"error_dir"`

	// CTI, when set, receives the call centre's CTI events by webhook and
	// joins their notes to the CDRs by call id.
	CTI *CTIConfig `yaml:"cti"`
}

// CTIConfig configures the CTI webhook and the join.
type CTIConfig struct {
	// Listen is the address of the webhook's HTTP listener.
	Listen string `yaml:"listen"`
	// Path is where events are POSTed.
	Path string `yaml:"path"`
	// Window is how long a CDR line waits for its note, and a note for
	// its CDR line.
	Window units.Duration `yaml:"window"`
	// Hold says which calls wait for a note: answered (missed calls are
	// produced at once) or all.
	Hold string `yaml:"hold"`
	// MaxPending bounds the CDR lines and the calls with CTI events
	// waiting for each other; beyond it the oldest is released early.
	MaxPending int `yaml:"max_pending"`
	// MaxBodySize bounds one webhook request.
	MaxBodySize units.ByteSize `yaml:"max_body_size"`
	// AuthToken, when set, is the bearer token the CTI must send (use
	// auth_token_file or ${ENV} to keep it out of the file).
	AuthToken string `yaml:"auth_token"`
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
		Originals:          OriginalsLine,
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
// the time zone.
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &channels.InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if c.CTI != nil {
		c.CTI.withDefaults()
	}
	switch {
	case strings.TrimSpace(c.Path) == "":
		return bad("path", "required: the CDR file, or a glob")
	case c.Mode != ModeTail && c.Mode != ModeExport:
		return bad("mode", "%q: want tail or export", c.Mode)
	case c.StartAt != "beginning" && c.StartAt != "end":
		return bad("start_at", "%q: want beginning or end", c.StartAt)
	case c.PollInterval.D() < time.Millisecond:
		return bad("poll_interval", "must be at least 1ms")
	case c.MaxLineSize < 1024:
		return bad("max_line_size", "must be at least 1KiB")
	case c.MaxLineSize > 64<<20:
		return bad("max_line_size", "must be at most 64MiB")
	case c.MaxInFlight < 1:
		return bad("max_in_flight", "must be at least 1")
	case c.CheckpointInterval.D() < time.Millisecond:
		return bad("checkpoint_interval", "must be at least 1ms")
	case c.Originals != OriginalsLine && c.Originals != OriginalsChunk:
		return bad("originals", "%q: want line or chunk", c.Originals)
	}
	if _, err := filepath.Match(c.Path, ""); err != nil {
		return bad("path", "bad glob pattern: %v", err)
	}
	if strings.ContainsAny(c.AreaCode, "-+ ") || !allDigits(c.AreaCode) || len(c.AreaCode) > 4 {
		return bad("area_code", "%q: want 2 to 4 digits without the trunk 0, e.g. 791", c.AreaCode)
	}
	if strings.HasPrefix(c.AreaCode, "0") {
		return bad("area_code", "%q: give it without the trunk 0, e.g. 791", c.AreaCode)
	}
	if _, err := c.location(); err != nil {
		return bad("timezone", "%v", err)
	}
	if _, err := c.parser(); err != nil {
		field := "format"
		msg := err.Error()
		switch {
		case strings.HasPrefix(msg, "cdr: encoding"):
			field = "encoding"
		case strings.Contains(msg, "mapping"):
			field = "mapping"
		}
		return bad(field, "%s", strings.TrimPrefix(msg, "cdr: "))
	}
	if c.Mode == ModeTail {
		for field, v := range map[string]string{"processing_dir": c.ProcessingDir, "done_dir": c.DoneDir, "error_dir": c.ErrorDir} {
			if v != "" {
				return bad(field, "only used with mode: export")
			}
		}
	}
	if c.Mode == ModeExport && c.StartAt != "beginning" {
		return bad("start_at", "only used with mode: tail")
	}
	if t := c.CTI; t != nil {
		switch {
		case t.Listen == "":
			return bad("cti.listen", "required: host:port of the webhook listener")
		case !strings.HasPrefix(t.Path, "/"):
			return bad("cti.path", "must start with /")
		case t.Window.D() < time.Millisecond:
			return bad("cti.window", "must be at least 1ms")
		case t.Hold != HoldAnswered && t.Hold != HoldAll:
			return bad("cti.hold", "%q: want answered or all", t.Hold)
		case t.MaxPending < 1:
			return bad("cti.max_pending", "must be at least 1")
		case t.MaxBodySize < 1024:
			return bad("cti.max_body_size", "must be at least 1KiB")
		}
	}
	return nil
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
