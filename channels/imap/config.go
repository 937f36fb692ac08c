package imap

import (
	_ "embed"
	"net"
	"strings"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/attach"
	"github.com/court12368/petitiond/config/units"
)

// TLS modes.
const (
	TLSImplicit = "tls"      // implicit TLS (IMAPS, usually port 993)
	TLSStart    = "starttls" // plain connection upgraded with STARTTLS (port 143)
	TLSNone     = "none"     // no encryption: only for a server on the same host
)

// Config is the imap channel's settings.
type Config struct {
	// Address is the server's host:port.
	Address string `yaml:"address" desc:"host:port of the IMAP server, e.g. imap.example.org:993"`
	// TLS is tls, starttls or none.
	TLS string `yaml:"tls" desc:"tls: implicit TLS (IMAPS, usually port 993); starttls: plain connection upgraded with STARTTLS (143); none: no encryption, only for a server on the same host" enum:"tls,starttls,none"`
	// TLSCAFile is a PEM file of CA certificates trusted in addition to
	// the system's (for a server with a private or self-signed
	// certificate).
	TLSCAFile string `yaml:"tls_ca_file" desc:"PEM file of CA certificates trusted besides the system's, for a server with a private or self-signed certificate"`
	// TLSServerName overrides the name checked in the server certificate
	// (default: the host of Address).
	TLSServerName string `yaml:"tls_server_name" desc:"name checked in the server certificate; default the host of address"`
	// InsecureSkipVerify accepts any server certificate. Prefer
	// tls_ca_file: this lets anyone on the path read the mailbox.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify" desc:"accept any server certificate: anyone on the path could read the mailbox. Prefer tls_ca_file"`
	// Username and Password log in (LOGIN). Use password_file or
	// ${ENV} to keep the password out of the file.
	Username string `yaml:"username" desc:"login name (IMAP LOGIN)"`
	Password string `yaml:"password" desc:"login password; use password_file or ${ENV} to keep it out of the file"`

	// Mailbox is where letters arrive.
	Mailbox string `yaml:"mailbox" desc:"mailbox where letters arrive; every message in it not flagged deleted is a pending letter"`
	// DoneMailbox receives letters whose records Kafka acknowledged.
	DoneMailbox string `yaml:"done_mailbox" desc:"letters whose records Kafka acknowledged are moved here"`
	// FailedMailbox receives letters that could not be made into a
	// petition (they went to the dead-letter topic).
	FailedMailbox string `yaml:"failed_mailbox" desc:"letters that could not be made into a petition (dead-lettered) are moved here"`
	// IgnoredMailbox receives auto-replies, bounces, loops and bulk mail.
	IgnoredMailbox string `yaml:"ignored_mailbox" desc:"auto-replies, bounces, read receipts, loops and bulk mail are moved here, never answered"`
	// ProcessingMailbox, when set, makes this instance claim letters by
	// moving them there before fetching them, so several instances can
	// share one mailbox. It must be different for every instance.
	ProcessingMailbox string `yaml:"processing_mailbox" desc:"set it, different on every instance, to share one mailbox between instances: letters are claimed by a conditional flag and moved here before they are fetched"`
	// CreateMailboxes creates missing done/failed/ignored/processing
	// mailboxes at connect.
	CreateMailboxes bool `yaml:"create_mailboxes" desc:"create missing done, failed, ignored and processing mailboxes at connect"`

	// Idle waits for new mail with IMAP IDLE when the server offers it.
	Idle bool `yaml:"idle" desc:"wait for new mail with IMAP IDLE when the server offers it, else poll"`
	// PollInterval is how often the mailbox is searched when IDLE is off
	// or missing; with IDLE it is how often the connection is checked and
	// the mailbox searched again in case a notification was lost.
	PollInterval units.Duration `yaml:"poll_interval" desc:"how often the mailbox is searched without IDLE; with IDLE, how often the connection is checked and the mailbox searched again"`
	// RetryInterval is how long a letter whose delivery failed (Kafka
	// unreachable) waits before it is fetched again.
	RetryInterval units.Duration `yaml:"retry_interval" desc:"how long a letter whose delivery failed (Kafka unreachable) waits before it is fetched again"`
	// MaxMessageSize bounds one message; a larger one is not downloaded
	// but dead-lettered and moved to failed_mailbox.
	// Attachments is the attachment policy: each letter is scanned whole
	// by clamd (which reads MIME), and attachments of types not allowed are
	// left out of the record (the letter itself is kept).
	Attachments    attach.Policy  `yaml:"attachments" desc:"attachment policy: clamd scans each whole letter (malware: dead-lettered to failed_mailbox; clamd unreachable: the letter waits with on_error reject, or goes on unscanned); attachments whose sniffed type is not allowed are left out of the record and listed in meta mail.attachments_not_stored"`
	MaxMessageSize units.ByteSize `yaml:"max_message_size" desc:"largest message; a larger one is not downloaded but dead-lettered and moved to failed_mailbox"`
	// BatchSize is how many messages one FETCH asks for.
	BatchSize int `yaml:"batch_size" desc:"messages asked for in one FETCH"`
	// MaxInFlight bounds this channel's letters fetched and not yet
	// acknowledged.
	MaxInFlight int `yaml:"max_in_flight" desc:"this channel's letters fetched and not yet acknowledged"`
	// Workers is how many letters are handed to the pipeline (and
	// parsed) at once. 1 keeps strict UID order.
	Workers int `yaml:"workers" desc:"letters handed to the pipeline (and parsed) at once; 1 keeps strict UID order"`
	// ReconnectBackoffMin and ReconnectBackoffMax bound the exponential
	// backoff between connection attempts.
	ReconnectBackoffMin units.Duration `yaml:"reconnect_backoff_min" desc:"first wait before reconnecting after a dropped connection; it doubles up to reconnect_backoff_max"`
	ReconnectBackoffMax units.Duration `yaml:"reconnect_backoff_max" desc:"longest wait between connection attempts"`
	// CommandTimeout bounds how long the server may stay silent while a
	// command is waiting for its answer before the connection is dropped.
	CommandTimeout units.Duration `yaml:"command_timeout" desc:"how long the server may stay silent while a command waits for its answer before the connection is dropped"`
	// ThreadIndexSize is how many Message-ID → tracking number pairs of
	// letters taken in are remembered (in the channel state dir) to link
	// replies (In-Reply-To/References) as follow-ups.
	ThreadIndexSize int `yaml:"thread_index_size" desc:"Message-IDs (and their tracking numbers) remembered to link replies as follow-ups; 0 turns it off"`
}

// NewConfig returns the defaults.
func NewConfig() *Config {
	return &Config{
		TLS:                 TLSImplicit,
		Mailbox:             "INBOX",
		DoneMailbox:         "Petitions/Done",
		FailedMailbox:       "Petitions/Failed",
		IgnoredMailbox:      "Petitions/Ignored",
		CreateMailboxes:     true,
		Idle:                true,
		PollInterval:        units.Duration(time.Minute),
		RetryInterval:       units.Duration(15 * time.Second),
		MaxMessageSize:      64 << 20,
		BatchSize:           50,
		MaxInFlight:         500,
		Workers:             8,
		ReconnectBackoffMin: units.Duration(time.Second),
		ReconnectBackoffMax: units.Duration(2 * time.Minute),
		CommandTimeout:      units.Duration(2 * time.Minute),
		ThreadIndexSize:     100_000,
		Attachments:         attach.Default(),
	}
}

// Validate implements channels.Validator. It does no I/O, and reports
// every problem, not only the first.
func (c *Config) Validate() error {
	var p channels.Problems
	if c.Address == "" {
		p.Add("address", "required (host:port)")
	} else if host, port, err := net.SplitHostPort(c.Address); err != nil || host == "" || port == "" {
		p.Add("address", "want host:port, e.g. imap.example.org:993")
	}
	switch c.TLS {
	case TLSImplicit, TLSStart, TLSNone:
	default:
		p.Add("tls", "must be tls, starttls or none, not %q", c.TLS)
	}
	if c.TLS == TLSNone && (c.TLSCAFile != "" || c.InsecureSkipVerify || c.TLSServerName != "") {
		p.Add("tls", "tls_ca_file, tls_server_name and insecure_skip_verify need tls or starttls")
	}
	if c.Username == "" {
		p.Add("username", "required")
	}
	if c.Password == "" {
		p.Add("password", "required (or password_file)")
	}
	boxes := []struct{ field, name string }{
		{"mailbox", c.Mailbox}, {"done_mailbox", c.DoneMailbox},
		{"failed_mailbox", c.FailedMailbox}, {"ignored_mailbox", c.IgnoredMailbox},
	}
	if c.ProcessingMailbox != "" {
		boxes = append(boxes, struct{ field, name string }{"processing_mailbox", c.ProcessingMailbox})
	}
	seen := map[string]string{}
	for _, b := range boxes {
		if strings.TrimSpace(b.name) == "" {
			p.Add(b.field, "required")
			continue
		}
		if strings.ContainsAny(b.name, "\r\n\x00*%") {
			p.Add(b.field, "invalid mailbox name")
			continue
		}
		key := b.name
		if strings.EqualFold(key, "INBOX") {
			key = "INBOX"
		}
		if other, dup := seen[key]; dup {
			p.Add(b.field, "must differ from %s", other)
			continue
		}
		seen[key] = b.field
	}
	if c.PollInterval.D() < time.Second {
		p.Add("poll_interval", "must be at least 1s")
	}
	if c.RetryInterval.D() < 100*time.Millisecond {
		p.Add("retry_interval", "must be at least 100ms")
	}
	if c.MaxMessageSize < 1024 {
		p.Add("max_message_size", "must be at least 1KiB")
	}
	if c.BatchSize < 1 || c.BatchSize > 1000 {
		p.Add("batch_size", "must be between 1 and 1000")
	} else if c.MaxInFlight < c.BatchSize {
		p.Add("max_in_flight", "must be at least batch_size (%d)", c.BatchSize)
	}
	if c.Workers < 1 || c.Workers > 64 {
		p.Add("workers", "must be between 1 and 64")
	}
	if c.ReconnectBackoffMin.D() <= 0 {
		p.Add("reconnect_backoff_min", "must be positive")
	} else if c.ReconnectBackoffMax < c.ReconnectBackoffMin {
		p.Add("reconnect_backoff_max", "must be at least reconnect_backoff_min")
	}
	if c.CommandTimeout.D() < time.Second {
		p.Add("command_timeout", "must be at least 1s")
	}
	if c.ThreadIndexSize < 0 {
		p.Add("thread_index_size", "must not be negative")
	}
	c.Attachments.Check(&p, "attachments")
	return p.Err()
}

//go:embed example.yaml
var example []byte

func init() {
	channels.Register(channels.Type{
		Name:      "imap",
		Summary:   "letters from an IMAP mailbox (IDLE or polling); moved to a done mailbox after Kafka acknowledged",
		NewConfig: func() any { return NewConfig() },
		New: func(cfg any, env channels.Env) (channels.Channel, error) {
			return New(cfg.(*Config), env)
		},
		Example: example,
	})
}
