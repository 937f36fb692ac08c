package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"

	"gopkg.in/yaml.v3"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/mapping"
	"github.com/court12368/petitiond/normalize/classify"
)

// Config is the whole configuration file.
type Config struct {
	Kafka     Kafka     `yaml:"kafka"`
	Blobs     Blobs     `yaml:"blobs"`
	State     State     `yaml:"state"`
	Pipeline  Pipeline  `yaml:"pipeline"`
	Normalize Normalize `yaml:"normalize"`
	Routes    Routes    `yaml:"routes"`
	Channels  []Channel `yaml:"channels"`
	Admin     Admin     `yaml:"admin"`
	Log       Log       `yaml:"log"`

	// File is the path the config was read from.
	File string `yaml:"-"`
	// lines maps a dotted path (routes.rules[0].when) to its line.
	lines map[string]int
}

// Kafka says where records go.
type Kafka struct {
	// Brokers are the bootstrap addresses of a real cluster.
	Brokers []string `yaml:"brokers"`
	// Embedded starts an in-process, single-node Kafka-compatible broker
	// for evaluation when Brokers is empty.
	Embedded *Embedded `yaml:"embedded"`
	ClientID string    `yaml:"client_id"`
	// CreateTopics creates the route topics when they are missing.
	CreateTopics *bool `yaml:"create_topics"`
	// Partitions and ReplicationFactor for created topics; -1 means the
	// broker's default.
	Partitions        int `yaml:"partitions"`
	ReplicationFactor int `yaml:"replication_factor"`
	// BatchSize and BatchTimeout bound how long a record waits to be sent.
	BatchSize    int      `yaml:"batch_size"`
	BatchTimeout Duration `yaml:"batch_timeout"`
	// WriteTimeout bounds one produce attempt; MaxAttempts bounds retries.
	WriteTimeout Duration `yaml:"write_timeout"`
	MaxAttempts  int      `yaml:"max_attempts"`
	// Compression: none, gzip, snappy, lz4, zstd.
	Compression string `yaml:"compression"`
	// TLS encrypts the connections to the brokers (present = on); the
	// producer, topic creation and the health probe all use it.
	TLS *KafkaTLS `yaml:"tls"`
	// SASL authenticates to the brokers.
	SASL *KafkaSASL `yaml:"sasl"`
}

// KafkaTLS configures TLS to the brokers. An empty block ({}) verifies the
// brokers against the system's trusted CAs.
type KafkaTLS struct {
	// CAFile is a PEM bundle of the CAs that sign the brokers' certificates
	// (default: the system's).
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate and key (PEM) for
	// brokers that require mutual TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the broker's certificate
	// (default: the host of the broker address).
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any broker certificate. Never in
	// production: anyone on the path can read petitions and the SASL
	// password. petitiond logs a warning at every start.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// KafkaSASL configures SASL authentication to the brokers.
type KafkaSASL struct {
	// Mechanism: plain, scram-sha-256, scram-sha-512.
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	// Password: give it as password_file or ${VAR}, not in the file.
	Password string `yaml:"password"`
}

// Protocol is the Kafka security protocol the settings amount to
// (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), for messages.
func (k Kafka) Protocol() string {
	switch {
	case k.TLS != nil && k.SASL != nil:
		return "SASL_SSL"
	case k.TLS != nil:
		return "SSL"
	case k.SASL != nil:
		return "SASL_PLAINTEXT"
	}
	return "PLAINTEXT"
}

// Embedded is the in-process evaluation broker.
type Embedded struct {
	Listen     string `yaml:"listen"`
	DataDir    string `yaml:"data_dir"`
	Partitions int    `yaml:"partitions"`
}

// Blobs is the content-addressed store for originals and attachments.
type Blobs struct {
	Dir string `yaml:"dir"`
	// BaseURI, when set, is how downstream systems reach the blobs
	// (e.g. an HTTP server over Dir); default file:// URIs.
	BaseURI string `yaml:"base_uri"`
	// Sync makes every blob durable (fsync, batched) before the item it
	// belongs to goes on; default true. Turn off only for tests and
	// benchmarks.
	Sync *bool `yaml:"sync"`
	// Staging bounds the area where uploads wait (in <dir>/staging) until
	// their petition is accepted; rejected uploads are deleted at once.
	Staging BlobStaging `yaml:"staging"`
}

// BlobStaging bounds the staging area of the blob store.
type BlobStaging struct {
	// MaxBytes bounds everything staged (over it: 503 + Retry-After).
	MaxBytes ByteSize `yaml:"max_bytes"`
	// MaxBytesPerClient bounds what one client address has staged (over
	// it: 429 + Retry-After).
	MaxBytesPerClient ByteSize `yaml:"max_bytes_per_client"`
}

// State is where channels keep offsets and idempotency keys.
type State struct {
	Dir string `yaml:"dir"`
}

// Pipeline bounds the work in flight.
type Pipeline struct {
	// MaxInFlight bounds items taken but not yet acknowledged.
	MaxInFlight int `yaml:"max_in_flight"`
	// DrainTimeout bounds how long shutdown waits for in-flight items.
	DrainTimeout Duration `yaml:"drain_timeout"`
}

// Normalize configures record cleaning and classification.
type Normalize struct {
	// Classify holds classification rules; see normalize/classify.
	Classify classify.Config `yaml:"classify"`
	// Repeats configures repeat-petition detection.
	Repeats Repeats `yaml:"repeats"`
}

// Repeats configures the local memory of petitioners and cases.
type Repeats struct {
	Enabled *bool `yaml:"enabled"`
	// MaxEntries bounds the memory (least recently seen forgotten first).
	MaxEntries int `yaml:"max_entries"`
	// Key is the secret of the petitioner pseudonym (HMAC); use key_file
	// or ${ENV}. Without it a random key is kept in the state dir.
	Key string `yaml:"key"`
}

// Routes choose topics and keys.
type Routes struct {
	DefaultTopic    string `yaml:"default_topic"`
	DeadLetterTopic string `yaml:"dead_letter_topic"`
	Rules           []Rule `yaml:"rules"`
}

// Rule sends records matching When to Topic, keyed by Key.
type Rule struct {
	Name string `yaml:"name"`
	// When is an expression over the record (expr-lang), e.g.
	// category == "filing_refusal".
	When  string `yaml:"when"`
	Topic string `yaml:"topic"`
	// Key is an expression giving the Kafka key; default the record id.
	Key string `yaml:"key"`
	// Continue also evaluates later rules (a record may go to several
	// topics); by default the first matching rule wins.
	Continue bool `yaml:"continue"`
}

// Channel is one channel instance.
type Channel struct {
	Name     string    `yaml:"name"`
	Type     string    `yaml:"type"`
	Settings yaml.Node `yaml:"settings"`
	// Mapping maps a foreign input shape to petition fields (see package
	// mapping); channels that take structured input apply it.
	Mapping mapping.Spec `yaml:"mapping"`
	// Mapper is Mapping compiled, nil without a mapping.
	Mapper *mapping.Mapper `yaml:"-"`
	// Decoded is the channel type's config struct, filled from Settings.
	Decoded any `yaml:"-"`
	// Line is where the entry starts.
	Line int `yaml:"-"`
	// Raw is the entry's settings re-encoded, to tell changed channels on
	// reload.
	Raw string `yaml:"-"`
}

// Admin is the operations listener.
type Admin struct {
	Listen string `yaml:"listen"`
	// Pprof serves Go's profiler under /debug/pprof/ (keep the admin
	// listener private).
	Pprof bool `yaml:"pprof"`
	// AuthToken, when set, is required as "Authorization: Bearer …" for
	// /metrics and /debug/pprof/ (not /healthz, /readyz); use
	// auth_token_file or ${VAR}.
	AuthToken string `yaml:"auth_token"`
	// TLSCertFile and TLSKeyFile serve the admin listener over HTTPS.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text, json
}

// Defaults returns a config with every default filled in.
func Defaults() *Config {
	return &Config{
		Kafka: Kafka{
			ClientID:          "petitiond",
			Partitions:        3,
			ReplicationFactor: -1,
			BatchSize:         1000,
			BatchTimeout:      Duration(2_000_000), // 2ms
			WriteTimeout:      Duration(10_000_000_000),
			MaxAttempts:       3,
			Compression:       "none",
		},
		Blobs:     Blobs{Dir: "./var/blobs", Staging: BlobStaging{MaxBytes: 2 << 30, MaxBytesPerClient: 512 << 20}},
		State:     State{Dir: "./var/state"},
		Pipeline:  Pipeline{MaxInFlight: 10000, DrainTimeout: Duration(30_000_000_000)},
		Normalize: Normalize{Repeats: Repeats{MaxEntries: 1_000_000}},
		Routes:    Routes{DefaultTopic: "petitions.intake", DeadLetterTopic: "petitions.deadletter"},
		Admin:     Admin{Listen: "127.0.0.1:9464"},
		Log:       Log{Level: "info", Format: "text"},
	}
}

// CreateTopics reports whether missing topics are created.
func (k Kafka) CreateTopicsEnabled() bool { return k.CreateTopics == nil || *k.CreateTopics }

// Pos returns the line of a dotted path, or 0.
func (c *Config) Pos(path string) int { return c.lines[path] }

// Errorf builds an Error at the position of path.
func (c *Config) Errorf(path, format string, args ...any) *Error {
	return &Error{File: c.File, Line: c.Pos(path), Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Load reads and validates a config file. Channel settings are decoded with
// the types in reg. All problems are returned together as Errors.
func Load(file string, reg *channels.Registry) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return Parse(file, data, reg)
}

var channelName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Parse is Load from bytes.
func Parse(file string, data []byte, reg *channels.Registry) (*Config, error) {
	return parse(file, data, reg, newDecoder(file))
}

func parse(file string, data []byte, reg *channels.Registry, d *decoder) (*Config, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(trimBOM(data)))
	if err := dec.Decode(&root); err != nil && err != io.EOF {
		d.yamlError(err, 0, "")
		return nil, d.errs
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(extra.Line, "", "a second YAML document (after ---): put everything in one")
	}
	cfg := Defaults()
	cfg.File = file
	cfg.lines = d.lines
	if len(root.Content) == 0 {
		return nil, Errors{{File: file, Msg: "empty configuration"}}
	}
	d.expand(&root)
	d.decodeInto(root.Content[0], cfg, "")
	cfg.validate(d, reg)
	if len(d.errs) > 0 {
		// The partial config comes back too, so check can go on to
		// compile routes and rules and list their errors as well.
		return cfg, d.errs
	}
	return cfg, nil
}

func (c *Config) validate(d *decoder, reg *channels.Registry) {
	at := func(path string) int { return c.lines[path] }
	if len(c.Kafka.Brokers) == 0 && c.Kafka.Embedded == nil {
		d.errorf(at("kafka"), "kafka", "set brokers, or embedded for the single-node evaluation broker")
	}
	if len(c.Kafka.Brokers) > 0 && c.Kafka.Embedded != nil {
		d.errorf(at("kafka.embedded"), "kafka", "set either brokers or embedded, not both")
	}
	if e := c.Kafka.Embedded; e != nil {
		if e.Listen == "" {
			e.Listen = "127.0.0.1:9092"
		}
		if e.DataDir == "" {
			e.DataDir = "./var/kafka"
		}
		if e.Partitions == 0 {
			e.Partitions = 3
		}
	}
	switch c.Kafka.Compression {
	case "none", "gzip", "snappy", "lz4", "zstd":
	default:
		d.errorf(at("kafka.compression"), "kafka.compression", "unknown codec %q (none, gzip, snappy, lz4, zstd)", c.Kafka.Compression)
	}
	c.validateKafkaSecurity(d)
	if c.Kafka.BatchSize < 1 {
		d.errorf(at("kafka.batch_size"), "kafka.batch_size", "must be at least 1")
	}
	if c.Kafka.MaxAttempts < 1 {
		d.errorf(at("kafka.max_attempts"), "kafka.max_attempts", "must be at least 1")
	}
	if st := c.Blobs.Staging; st.MaxBytes < 1<<20 || st.MaxBytesPerClient < 1<<20 || st.MaxBytesPerClient > st.MaxBytes {
		d.errorf(at("blobs.staging"), "blobs.staging", "max_bytes and max_bytes_per_client must be at least 1MiB, and max_bytes_per_client at most max_bytes")
	}
	if c.Pipeline.MaxInFlight < 1 {
		d.errorf(at("pipeline.max_in_flight"), "pipeline.max_in_flight", "must be at least 1")
	}
	if c.Routes.DefaultTopic == "" {
		d.errorf(at("routes"), "routes.default_topic", "required")
	}
	if c.Routes.DeadLetterTopic == "" {
		d.errorf(at("routes"), "routes.dead_letter_topic", "required")
	}
	for i, r := range c.Routes.Rules {
		p := fmt.Sprintf("routes.rules[%d]", i)
		if r.When == "" {
			d.errorf(at(p), p+".when", "required")
		}
		if r.Topic == "" {
			d.errorf(at(p), p+".topic", "required")
		}
	}
	if (c.Admin.TLSCertFile == "") != (c.Admin.TLSKeyFile == "") {
		d.errorf(at("admin"), "admin", "set both tls_cert_file and tls_key_file, or neither")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		d.errorf(at("log.level"), "log.level", "unknown level %q (debug, info, warn, error)", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		d.errorf(at("log.format"), "log.format", "unknown format %q (text, json)", c.Log.Format)
	}
	names := map[string]int{}
	for i := range c.Channels {
		ch := &c.Channels[i]
		p := fmt.Sprintf("channels[%d]", i)
		ch.Line = at(p)
		switch {
		case ch.Name == "":
			d.errorf(ch.Line, p+".name", "required")
		case !channelName.MatchString(ch.Name):
			d.errorf(at(p+".name"), p+".name", "%q: use lower-case letters, digits, '.', '_' and '-'", ch.Name)
		default:
			if prev, dup := names[ch.Name]; dup {
				d.errorf(at(p+".name"), p+".name", "duplicate channel name %q (first on line %d)", ch.Name, prev)
			}
			names[ch.Name] = at(p + ".name")
		}
		if len(ch.Mapping) > 0 {
			m, err := mapping.Compile(ch.Mapping)
			if err != nil {
				path, msg := p+".mapping", err.Error()
				var me *mapping.Error
				if errors.As(err, &me) {
					path, msg = path+"."+me.Target, me.Reason
				}
				d.errorf(at(path), path, "%s", msg)
			}
			ch.Mapper = m
		}
		t, ok := reg.Lookup(ch.Type)
		if !ok {
			d.errorf(at(p+".type"), p+".type", "unknown channel type %q (known: %v)", ch.Type, reg.Names())
			continue
		}
		sc := t.NewConfig()
		settings := &ch.Settings
		if settings.Kind == 0 {
			settings = nil
		}
		before := len(d.errs)
		d.decodeInto(settings, sc, p+".settings")
		if len(d.errs) > before {
			continue
		}
		if v, ok := sc.(channels.Validator); ok {
			if err := v.Validate(); err != nil {
				line := at(p + ".settings")
				if line == 0 {
					line = ch.Line
				}
				var ie *channels.InvalidError
				if asInvalid(err, &ie) && ie.Field != "" {
					if l := at(p + ".settings." + ie.Field); l > 0 {
						line = l
					}
					d.errorf(line, p+".settings."+ie.Field, "%s", ie.Reason)
				} else {
					d.errorf(line, p+".settings", "%v", err)
				}
			}
		}
		ch.Decoded = sc
		ch.Raw = ch.Type + "\n"
		if settings != nil {
			b, _ := yaml.Marshal(resolveAliases(settings))
			ch.Raw += string(b)
		}
		if len(ch.Mapping) > 0 {
			b, _ := yaml.Marshal(ch.Mapping)
			ch.Raw += "mapping:\n" + string(b)
		}
	}
}

func (c *Config) validateKafkaSecurity(d *decoder) {
	at := func(path string) int { return c.lines[path] }
	if c.Kafka.Embedded != nil && (c.Kafka.TLS != nil || c.Kafka.SASL != nil) {
		d.errorf(at("kafka.embedded"), "kafka", "tls and sasl apply to brokers, not to the embedded evaluation broker")
	}
	if t := c.Kafka.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		d.errorf(at("kafka.tls"), "kafka.tls", "set both cert_file and key_file (client certificate for mutual TLS), or neither")
	}
	if s := c.Kafka.SASL; s != nil {
		switch s.Mechanism {
		case "plain", "scram-sha-256", "scram-sha-512":
		case "":
			d.errorf(at("kafka.sasl"), "kafka.sasl.mechanism", "required (plain, scram-sha-256, scram-sha-512)")
		default:
			d.errorf(at("kafka.sasl.mechanism"), "kafka.sasl.mechanism", "unknown mechanism %q (plain, scram-sha-256, scram-sha-512)", s.Mechanism)
		}
		if s.Username == "" {
			d.errorf(at("kafka.sasl"), "kafka.sasl.username", "required")
		}
		if s.Password == "" {
			d.errorf(at("kafka.sasl"), "kafka.sasl.password", "required (password_file: PATH or password: ${VAR})")
		}
	}
}

// resolveAliases copies a node with every alias replaced by what it points
// to, so that a change inside an anchored block changes the copy.
func resolveAliases(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	c := *n
	c.Anchor = ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = resolveAliases(k)
	}
	return &c
}

func asInvalid(err error, target **channels.InvalidError) bool {
	for err != nil {
		if ie, ok := err.(*channels.InvalidError); ok {
			*target = ie
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// DecodeNode decodes a node (e.g. normalize.classify) strictly into out,
// reporting errors at their lines in this config's file.
func (c *Config) DecodeNode(n *yaml.Node, out any, path string) error {
	if n == nil || n.Kind == 0 {
		return nil
	}
	d := newDecoder(c.File)
	d.lines = c.lines
	d.decodeInto(n, out, path)
	if len(d.errs) > 0 {
		return d.errs
	}
	return nil
}
