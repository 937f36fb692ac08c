package web

import (
	_ "embed"
	"strings"

	"github.com/court12368/petitiond/channels"
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
	// ReadTimeout bounds reading one request (uploads included).
	ReadTimeout units.Duration `yaml:"read_timeout" desc:"bounds reading one request, uploads included"`
	// TLS serves HTTPS when both files are set.
	TLSCertFile string `yaml:"tls_cert_file" desc:"PEM certificate (chain): with tls_key_file, serve HTTPS"`
	TLSKeyFile  string `yaml:"tls_key_file" desc:"PEM private key of tls_cert_file"`
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
		Listen:            "127.0.0.1:8080",
		Path:              "/petitions",
		MaxBodySize:       1 << 20,
		MaxRequestSize:    64 << 20,
		MaxAttachmentSize: 20 << 20,
		MaxAttachments:    10,
		RetryAfter:        units.Duration(5e9),
		QueueWait:         units.Duration(2e9),
		IdempotencyTTL:    units.Duration(7 * 24 * 3600e9),
		ReadTimeout:       units.Duration(120e9),
		RateLimit:         RateLimit{Burst: 20},
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
