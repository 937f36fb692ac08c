package web

import (
	_ "embed"
	"strings"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/attach"
	"github.com/court12368/petitiond/config/units"
)

// Config is the web channel's settings.
type Config struct {
	// Listen is the address of the HTTP listener.
	Listen string `yaml:"listen" desc:"host:port of the HTTP listener"`
	// Path is where petitions are POSTed.
	Path string `yaml:"path" desc:"URL path petitions are POSTed to (JSON, urlencoded or multipart/form-data)"`
	// MaxBodySize bounds a JSON or urlencoded body.
	MaxBodySize units.ByteSize `yaml:"max_body_size" desc:"largest JSON or urlencoded body; 413 above"`
	// MaxRequestSize bounds a multipart body (all attachments together).
	MaxRequestSize units.ByteSize `yaml:"max_request_size" desc:"largest multipart request, all attachments together; 413 above"`
	// MaxAttachmentSize bounds one attachment.
	MaxAttachmentSize units.ByteSize `yaml:"max_attachment_size" desc:"largest attachment; 413 above"`
	// MaxAttachments bounds the number of attachments.
	MaxAttachments int `yaml:"max_attachments" desc:"most attachments in one petition; 413 above"`
	// AuthToken, when set, is the bearer token clients must send
	// (use auth_token_file or ${ENV} to keep it out of the file).
	AuthToken string `yaml:"auth_token" desc:"bearer token clients must send (Authorization: Bearer ...); empty: no authentication. Use auth_token_file or ${ENV}"`
	// RateLimit limits requests per client address.
	RateLimit RateLimit `yaml:"rate_limit" desc:"requests per client address (token bucket); 429 with Retry-After above"`
	// TrustedProxies are addresses whose X-Forwarded-For is believed when
	// telling clients apart for the rate limit.
	TrustedProxies []string `yaml:"trusted_proxies" desc:"addresses of proxies whose X-Forwarded-For names the client, for the rate limit"`
	// AllowUnknownFields accepts JSON fields petitiond does not know
	// (they go to meta.extra) instead of answering 422.
	AllowUnknownFields bool `yaml:"allow_unknown_fields" desc:"keep JSON fields petitiond does not know in meta.extra instead of answering 422"`
	// RetryAfter is the Retry-After given with 503 and 429 answers.
	RetryAfter units.Duration `yaml:"retry_after" desc:"Retry-After given with 503 and 429 answers"`
	// QueueWait is how long a request waits for room in the pipeline
	// before it is answered 503.
	QueueWait units.Duration `yaml:"queue_wait" desc:"how long a request waits for room in the pipeline before it is answered 503"`
	// IdempotencyTTL is how long Idempotency-Key replies are remembered.
	IdempotencyTTL units.Duration `yaml:"idempotency_ttl" desc:"how long replies to requests with an Idempotency-Key are remembered (on disk, across restarts)"`
	// IdempotencyMaxKeys and IdempotencyMaxBytes bound the remembered
	// replies (memory index and disk); over them the oldest answered keys
	// are forgotten first.
	IdempotencyMaxKeys  int            `yaml:"idempotency_max_keys" desc:"most Idempotency-Key replies remembered; over it the oldest answered keys are forgotten first"`
	IdempotencyMaxBytes units.ByteSize `yaml:"idempotency_max_bytes" desc:"most bytes of remembered Idempotency-Key replies (memory index and disk, at least 1MiB); over it the oldest answered keys are forgotten first"`
	// IdempotencyMaxKeysPerClient is one client address's share: over it
	// that client's own oldest keys are forgotten first.
	IdempotencyMaxKeysPerClient int `yaml:"idempotency_max_keys_per_client" desc:"most remembered Idempotency-Keys of one client address; over it that client's own oldest keys are forgotten first (0: no per-client share)"`
	// ReadTimeout bounds reading a request body, plus the time its bytes
	// buy at MinReadRate: a client trickling bytes is cut off after about
	// ReadTimeout, a large upload at a fair rate goes through.
	ReadTimeout units.Duration `yaml:"read_timeout" desc:"bounds reading one request, uploads included, plus the time its bytes buy at min_read_rate: a client trickling bytes is cut off after about read_timeout, a large upload at a fair rate goes through (at least 1s)"`
	// MinReadRate (bytes per second) is the upload rate that extends the
	// body's deadline; 0 gives every body ReadTimeout and no more.
	MinReadRate units.ByteSize `yaml:"min_read_rate" desc:"upload rate (bytes per second) that extends a body's read deadline beyond read_timeout; 0: every body gets read_timeout and no more"`
	// MaxConnections bounds the open connections of the listener; over it
	// a connection gets 503 and is closed.
	MaxConnections int `yaml:"max_connections" desc:"most open connections of the listener; over it a new connection is answered 503 and closed"`
	// MaxConnectionsPerClient bounds the open connections of one client
	// address (trusted proxies are exempt); 0 = no per-client cap.
	MaxConnectionsPerClient int `yaml:"max_connections_per_client" desc:"most open connections of one client address (trusted proxies are exempt); 0: no per-client cap"`
	// AuthFailureLimit limits failed authentications per client: over it
	// wrong tokens are answered 429 without being checked.
	AuthFailureLimit RateLimit `yaml:"auth_failure_limit" desc:"failed authentications per client address (token bucket); over it requests are answered 429 without the token being checked"`
	// CORS lets browser forms on the listed origins submit.
	CORS CORS `yaml:"cors" desc:"browser origins allowed to submit (CORS); empty: no CORS headers, Origin not checked"`
	// Attachments says which attachments are accepted.
	Attachments attach.Policy `yaml:"attachments" desc:"which attachments are accepted: sniffed content types (another type is refused 415 naming the part), antivirus scan (malware: 422; clamd unreachable: 503 with on_error reject, or unscanned with meta web.antivirus = unscanned)"`
	// TLS serves HTTPS when both files are set.
	TLSCertFile string `yaml:"tls_cert_file" desc:"PEM certificate (chain): with tls_key_file, serve HTTPS"`
	TLSKeyFile  string `yaml:"tls_key_file" desc:"PEM private key of tls_cert_file"`
}

// CORS is the browser-origin allow-list.
type CORS struct {
	// AllowedOrigins (scheme://host[:port], or "*") may submit from a
	// browser; a request with another Origin is refused 403. Empty: no
	// CORS headers, Origin not checked.
	AllowedOrigins []string `yaml:"allowed_origins" desc:"origins (scheme://host[:port], or *) allowed to submit from a browser; a request with another Origin is refused 403. Empty: no CORS headers, Origin not checked"`
	// MaxAge is how long a browser may cache a preflight answer.
	MaxAge units.Duration `yaml:"max_age" desc:"how long a browser may cache a preflight answer"`
}

// RateLimit is a token bucket per client.
type RateLimit struct {
	// PerSecond is the sustained rate; 0 disables the limit.
	PerSecond float64 `yaml:"per_second" desc:"sustained requests per second per client; 0 turns the limit off"`
	// Burst is how many requests may come at once.
	Burst int `yaml:"burst" desc:"requests a client may send at once above the sustained rate"`
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
		Attachments:                 attach.Default(),
	}
}

// Validate implements channels.Validator. It reports every problem, not
// only the first.
func (c *Config) Validate() error {
	var p channels.Problems
	if c.Listen == "" {
		p.Add("listen", "required")
	}
	if !strings.HasPrefix(c.Path, "/") {
		p.Add("path", "must start with /")
	}
	if c.MaxBodySize < 1024 {
		p.Add("max_body_size", "must be at least 1KiB")
	}
	if c.MaxAttachmentSize < 1 {
		p.Add("max_attachment_size", "must be positive")
	}
	if c.MaxRequestSize < c.MaxBodySize {
		p.Add("max_request_size", "must be at least max_body_size")
	}
	if c.MaxAttachments < 0 {
		p.Add("max_attachments", "must not be negative")
	}
	if c.RateLimit.PerSecond < 0 {
		p.Add("rate_limit.per_second", "must not be negative")
	}
	if c.RateLimit.PerSecond > 0 && c.RateLimit.Burst < 1 {
		p.Add("rate_limit.burst", "must be at least 1 when per_second is set")
	}
	if c.IdempotencyMaxKeys < 1 {
		p.Add("idempotency_max_keys", "must be at least 1")
	}
	if c.IdempotencyMaxBytes < 1<<20 {
		p.Add("idempotency_max_bytes", "must be at least 1MiB")
	}
	if c.IdempotencyMaxKeysPerClient < 0 {
		p.Add("idempotency_max_keys_per_client", "must not be negative")
	}
	if c.ReadTimeout.D() < time.Second {
		p.Add("read_timeout", "must be at least 1s")
	}
	if c.MinReadRate < 0 {
		p.Add("min_read_rate", "must not be negative")
	}
	if c.MaxConnections < 1 {
		p.Add("max_connections", "must be at least 1")
	}
	if c.MaxConnectionsPerClient < 0 {
		p.Add("max_connections_per_client", "must not be negative")
	}
	if c.AuthFailureLimit.PerSecond < 0 {
		p.Add("auth_failure_limit.per_second", "must not be negative")
	}
	if c.AuthFailureLimit.PerSecond > 0 && c.AuthFailureLimit.Burst < 1 {
		p.Add("auth_failure_limit.burst", "must be at least 1 when per_second is set")
	}
	c.Attachments.Check(&p, "attachments")
	switch {
	case c.TLSCertFile != "" && c.TLSKeyFile == "":
		p.Add("tls_cert_file", "set both tls_cert_file and tls_key_file")
	case c.TLSKeyFile != "" && c.TLSCertFile == "":
		p.Add("tls_key_file", "set both tls_cert_file and tls_key_file")
	}
	return p.Err()
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
		Mapping: true, // JSON and form bodies in a partner's shape
	})
}
