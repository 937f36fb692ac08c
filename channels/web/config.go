package web

import (
	_ "embed"
	"fmt"
	"strings"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config/units"
)

// Config is the web channel's settings.
type Config struct {
	// Listen is the address of the HTTP listener.
	Listen string `yaml:"listen"`
	// Path is where petitions are POSTed.
	Path string `yaml:"path"`
	// MaxBodySize bounds a JSON or urlencoded body.
	MaxBodySize units.ByteSize `yaml:"max_body_size"`
	// MaxRequestSize bounds a multipart body (all attachments together).
	MaxRequestSize units.ByteSize `yaml:"max_request_size"`
	// MaxAttachmentSize bounds one attachment.
	MaxAttachmentSize units.ByteSize `yaml:"max_attachment_size"`
	// MaxAttachments bounds the number of attachments.
	MaxAttachments int `yaml:"max_attachments"`
	// AuthToken, when set, is the bearer token clients must send
	// (use auth_token_file or ${ENV} to keep it out of the file).
	AuthToken string `yaml:"auth_token"`
	// RateLimit limits requests per client address.
	RateLimit RateLimit `yaml:"rate_limit"`
	// TrustedProxies are addresses whose X-Forwarded-For is believed when
	// telling clients apart for the rate limit.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// AllowUnknownFields accepts JSON fields petitiond does not know
	// (they go to meta.extra) instead of answering 422.
	AllowUnknownFields bool `yaml:"allow_unknown_fields"`
	// RetryAfter is the Retry-After given with 503 and 429 answers.
	RetryAfter units.Duration `yaml:"retry_after"`
	// QueueWait is how long a request waits for room in the pipeline
	// before it is answered 503.
	QueueWait units.Duration `yaml:"queue_wait"`
	// IdempotencyTTL is how long Idempotency-Key replies are remembered.
	IdempotencyTTL units.Duration `yaml:"idempotency_ttl"`
	// IdempotencyMaxKeys and IdempotencyMaxBytes bound the remembered
	// replies (memory index and disk); over them the oldest answered keys
	// are forgotten first.
	IdempotencyMaxKeys  int            `yaml:"idempotency_max_keys"`
	IdempotencyMaxBytes units.ByteSize `yaml:"idempotency_max_bytes"`
	// IdempotencyMaxKeysPerClient is one client address's share: over it
	// that client's own oldest keys are forgotten first.
	IdempotencyMaxKeysPerClient int `yaml:"idempotency_max_keys_per_client"`
	// ReadTimeout bounds reading a request body, plus the time its bytes
	// buy at MinReadRate: a client trickling bytes is cut off after about
	// ReadTimeout, a large upload at a fair rate goes through.
	ReadTimeout units.Duration `yaml:"read_timeout"`
	// MinReadRate (bytes per second) is the upload rate that extends the
	// body's deadline; 0 gives every body ReadTimeout and no more.
	MinReadRate units.ByteSize `yaml:"min_read_rate"`
	// MaxConnections bounds the open connections of the listener; over it
	// a connection gets 503 and is closed.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerClient bounds the open connections of one client
	// address (trusted proxies are exempt); 0 = no per-client cap.
	MaxConnectionsPerClient int `yaml:"max_connections_per_client"`
	// AuthFailureLimit limits failed authentications per client: over it
	// wrong tokens are answered 429 without being checked.
	AuthFailureLimit RateLimit `yaml:"auth_failure_limit"`
	// CORS lets browser forms on the listed origins submit.
	CORS CORS `yaml:"cors"`
	// Attachments says which attachments are accepted.
	Attachments AttachmentPolicy `yaml:"attachments"`
	// TLS serves HTTPS when both files are set.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
}

// AttachmentPolicy checks each attachment before the petition is accepted.
type AttachmentPolicy struct {
	// AllowedTypes lists the accepted content types as sniffed from the
	// content (not as declared); "image/*" matches a family. Empty: any.
	// Another type is refused 415 naming the part.
	AllowedTypes []string `yaml:"allowed_types"`
	// Antivirus scans every attachment with clamd.
	Antivirus Antivirus `yaml:"antivirus"`
}

// Antivirus is a clamd to scan attachments with (INSTREAM).
type Antivirus struct {
	// Address of clamd: unix:/run/clamav/clamd.ctl, tcp:host:port or
	// host:port. Empty: no scanning.
	Address string `yaml:"address"`
	// Timeout bounds one scan.
	Timeout units.Duration `yaml:"timeout"`
	// OnError says what happens when clamd cannot scan (unreachable, over
	// its StreamMaxLength): reject (503, retry later) or accept (the
	// petition goes on unscanned, meta web.antivirus = "unscanned").
	OnError string `yaml:"on_error"`
}

// CORS is the browser-origin allow-list.
type CORS struct {
	// AllowedOrigins (scheme://host[:port], or "*") may submit from a
	// browser; a request with another Origin is refused 403. Empty: no
	// CORS headers, Origin not checked.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxAge is how long a browser may cache a preflight answer.
	MaxAge units.Duration `yaml:"max_age"`
}

// RateLimit is a token bucket per client.
type RateLimit struct {
	// PerSecond is the sustained rate; 0 disables the limit.
	PerSecond float64 `yaml:"per_second"`
	// Burst is how many requests may come at once.
	Burst int `yaml:"burst"`
}

// NewConfig returns the defaults.
func NewConfig() *Config {
	return &Config{
		Listen:                      "127.0.0.1:8080",
		Path:                        "/petitions",
		MaxBodySize:                 1 << 20,
		MaxRequestSize:              64 << 20,
		MaxAttachmentSize:           20 << 20,
		MaxAttachments:              10,
		RetryAfter:                  units.Duration(5e9),
		QueueWait:                   units.Duration(2e9),
		IdempotencyTTL:              units.Duration(7 * 24 * 3600e9),
		IdempotencyMaxKeys:          100000,
		IdempotencyMaxBytes:         256 << 20,
		IdempotencyMaxKeysPerClient: 10000,
		ReadTimeout:                 units.Duration(20e9),
		MinReadRate:                 64 << 10,
		MaxConnections:              1024,
		MaxConnectionsPerClient:     32,
		RateLimit:                   RateLimit{Burst: 20},
		AuthFailureLimit:            RateLimit{PerSecond: 0.1, Burst: 10},
		CORS:                        CORS{MaxAge: units.Duration(600e9)},
		Attachments:                 AttachmentPolicy{Antivirus: Antivirus{Timeout: units.Duration(30e9), OnError: "reject"}},
	}
}

// Validate implements channels.Validator.
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &channels.InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case c.Listen == "":
		return bad("listen", "required")
	case !strings.HasPrefix(c.Path, "/"):
		return bad("path", "must start with /")
	case c.MaxBodySize < 1024:
		return bad("max_body_size", "must be at least 1KiB")
	case c.MaxAttachmentSize < 1:
		return bad("max_attachment_size", "must be positive")
	case c.MaxRequestSize < c.MaxBodySize:
		return bad("max_request_size", "must be at least max_body_size")
	case c.MaxAttachments < 0:
		return bad("max_attachments", "must not be negative")
	case c.RateLimit.PerSecond < 0:
		return bad("rate_limit", "per_second must not be negative")
	case c.RateLimit.PerSecond > 0 && c.RateLimit.Burst < 1:
		return bad("rate_limit", "burst must be at least 1")
	case c.IdempotencyMaxKeys < 1 || c.IdempotencyMaxBytes < 1<<20 || c.IdempotencyMaxKeysPerClient < 0:
		return bad("idempotency_max_keys", "idempotency_max_keys must be at least 1, idempotency_max_bytes at least 1MiB, idempotency_max_keys_per_client not negative")
	case c.ReadTimeout.D() < time.Second:
		return bad("read_timeout", "must be at least 1s")
	case c.MinReadRate < 0:
		return bad("min_read_rate", "must not be negative")
	case c.MaxConnections < 1:
		return bad("max_connections", "must be at least 1")
	case c.MaxConnectionsPerClient < 0:
		return bad("max_connections_per_client", "must not be negative")
	case c.AuthFailureLimit.PerSecond < 0 || (c.AuthFailureLimit.PerSecond > 0 && c.AuthFailureLimit.Burst < 1):
		return bad("auth_failure_limit", "per_second must not be negative, burst at least 1")
	case c.Attachments.Antivirus.OnError != "reject" && c.Attachments.Antivirus.OnError != "accept":
		return bad("attachments", "antivirus.on_error: want reject or accept")
	case c.Attachments.Antivirus.Address != "" && badClamd(c.Attachments.Antivirus.Address):
		return bad("attachments", "antivirus.address: want unix:/path, tcp:host:port or host:port")
	case badTypes(c.Attachments.AllowedTypes):
		return bad("attachments", "allowed_types: want type/subtype or type/*")
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		return bad("tls_cert_file", "set both tls_cert_file and tls_key_file")
	}
	return nil
}

//go:embed example.yaml
var example []byte

func init() {
	channels.Register(channels.Type{
		Name:      "web",
		Summary:   "HTTP submissions (JSON, form, multipart with attachments); answers 201 after Kafka acknowledged",
		NewConfig: func() any { return NewConfig() },
		New: func(cfg any, env channels.Env) (channels.Channel, error) {
			return New(cfg.(*Config), env)
		},
		Example: example,
	})
}
