package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/mapping"
	"github.com/court12368/petitiond/normalize/classify"
)

// Config is the whole configuration file.
type Config struct {
	Kafka     Kafka     `yaml:"kafka" desc:"where records go: a real Kafka cluster (brokers) or the embedded evaluation broker"`
	Blobs     Blobs     `yaml:"blobs" desc:"the content-addressed store of originals and attachments, referenced from the records"`
	State     State     `yaml:"state" desc:"where channels keep their state: offsets, idempotency replies, indexes"`
	Pipeline  Pipeline  `yaml:"pipeline" desc:"bounds on the items in flight, and on the drain at shutdown"`
	Normalize Normalize `yaml:"normalize" desc:"how records are cleaned: classification rules and the repeat-petition memory"`
	Routes    Routes    `yaml:"routes" desc:"which topic (and key) each record goes to, and the dead-letter topic"`
	Channels  []Channel `yaml:"channels" desc:"the channel instances: each takes petitions from one source (petitiond channels lists the types)"`
	Admin     Admin     `yaml:"admin" desc:"the operations listener: /metrics, /healthz, /readyz"`
	Log       Log       `yaml:"log" desc:"logging: structured, never personal data"`

	// File is the path the config was read from.
	File string `yaml:"-"`
	// Hash identifies the file's content (hex SHA-256 of its bytes).
	Hash string `yaml:"-"`
	// lines maps a dotted path (routes.rules[0].when) to its line.
	lines map[string]int
}

// Kafka says where records go.
type Kafka struct {
	// Brokers are the bootstrap addresses of a real cluster.
	Brokers []string `yaml:"brokers" desc:"bootstrap addresses (host:port) of a real Kafka cluster; exclusive with embedded"`
	// Embedded starts an in-process, single-node Kafka-compatible broker
	// for evaluation when Brokers is empty.
	Embedded *Embedded `yaml:"embedded" desc:"start the in-process, single-node Kafka-compatible broker (franz-go kfake) instead of using brokers: for evaluation only, no replication"`
	ClientID string    `yaml:"client_id" desc:"Kafka client id of the producer"`
	// CreateTopics creates the route topics when they are missing.
	CreateTopics *bool `yaml:"create_topics" desc:"create the route and dead-letter topics at start and on reload when they are missing (default true)"`
	// Partitions and ReplicationFactor for created topics; -1 means the
	// broker's default.
	Partitions        int `yaml:"partitions" desc:"partitions of the topics petitiond creates; 0 or -1 means the broker's default"`
	ReplicationFactor int `yaml:"replication_factor" desc:"replication factor of the topics petitiond creates; -1 means the broker's default"`
	// BatchSize and BatchTimeout bound how long a record waits to be sent.
	BatchSize    int      `yaml:"batch_size" desc:"most records sent in one produce request to a partition"`
	BatchTimeout Duration `yaml:"batch_timeout" desc:"how long a record may wait for its batch to fill before the batch is sent"`
	// WriteTimeout bounds one produce attempt; MaxAttempts bounds retries.
	WriteTimeout Duration `yaml:"write_timeout" desc:"bounds one produce attempt: sending the batch and reading Kafka's acknowledgement"`
	MaxAttempts  int      `yaml:"max_attempts" desc:"produce attempts before a record fails; the item then stays with its source, which retries it"`
	// Compression: none, gzip, snappy, lz4, zstd.
	Compression string `yaml:"compression" desc:"codec that compresses produced batches" enum:"none,gzip,snappy,lz4,zstd"`
	// Partitioning chooses the partition of records whose key is the
	// petition id (no rule set key): healthy spreads them over the
	// partitions that have a live leader; key hashes the id over all.
	Partitioning string `yaml:"partitioning" desc:"partition choice for records keyed by the petition id (routes without key): healthy = murmur2 of the id, but never a partition without a live leader while one with a leader exists; key = murmur2 over all partitions, so records wait while their partition has no leader. Records of rules that set key always use murmur2 over all partitions" enum:"healthy,key"`
	// TLS encrypts the connections to the brokers (present = on); the
	// producer, topic creation and the health probe all use it.
	TLS *KafkaTLS `yaml:"tls" desc:"encrypt the connections to the brokers (present = on, {} verifies against the system's CAs); the producer, topic creation and the readiness probe all use it"`
	// SASL authenticates to the brokers.
	SASL *KafkaSASL `yaml:"sasl" desc:"authenticate to the brokers with SASL; without tls the password crosses the network in clear text"`
}

// KafkaTLS configures TLS to the brokers. An empty block ({}) verifies the
// brokers against the system's trusted CAs.
type KafkaTLS struct {
	// CAFile is a PEM bundle of the CAs that sign the brokers' certificates
	// (default: the system's).
	CAFile string `yaml:"ca_file" desc:"PEM bundle of the CAs that sign the brokers' certificates; empty: the system's trusted CAs"`
	// CertFile and KeyFile are the client certificate and key (PEM) for
	// brokers that require mutual TLS.
	CertFile string `yaml:"cert_file" desc:"client certificate (PEM) for brokers that require mutual TLS; with key_file"`
	KeyFile  string `yaml:"key_file" desc:"private key (PEM) of cert_file"`
	// ServerName overrides the name checked in the broker's certificate
	// (default: the host of the broker address).
	ServerName string `yaml:"server_name" desc:"name checked in the brokers' certificates; empty: the host of each broker address"`
	// InsecureSkipVerify accepts any broker certificate. Never in
	// production: anyone on the path can read petitions and the SASL
	// password. petitiond logs a warning at every start.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify" desc:"accept any broker certificate: never in production, anyone on the network path can impersonate the broker and read petitions and the SASL password; logged as a warning at every start"`
}

// KafkaSASL configures SASL authentication to the brokers.
type KafkaSASL struct {
	// Mechanism: plain, scram-sha-256, scram-sha-512.
	Mechanism string `yaml:"mechanism" desc:"SASL mechanism" enum:"plain,scram-sha-256,scram-sha-512"`
	Username  string `yaml:"username" desc:"SASL user name"`
	// Password: give it as password_file or ${VAR}, not in the file.
	Password string `yaml:"password" desc:"SASL password; give it as password_file or ${VAR}, not in the configuration itself. Never logged"`
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
	Listen     string `yaml:"listen" desc:"host:port the embedded broker listens on (127.0.0.1:9092 when empty); Kafka clients such as kcat connect here"`
	DataDir    string `yaml:"data_dir" desc:"where the embedded broker keeps its data, written synchronously (./var/kafka when empty)"`
	Partitions int    `yaml:"partitions" desc:"partitions of the topics the embedded broker creates (3 when 0)"`
}

// Blobs is the content-addressed store for originals and attachments.
type Blobs struct {
	Dir string `yaml:"dir" desc:"directory of the store: a blob is <dir>/<first two hex digits>/<sha256>"`
	// BaseURI, when set, is how downstream systems reach the blobs
	// (e.g. an HTTP server over Dir); default file:// URIs.
	BaseURI string `yaml:"base_uri" desc:"how downstream systems reach the blobs, e.g. https://blobs.court.example/ (the record's uri is this plus <aa>/<sha256>); empty: file:// paths"`
	// Sync makes every blob durable (fsync, batched) before the item it
	// belongs to goes on; default true. Turn off only for tests and
	// benchmarks.
	Sync *bool `yaml:"sync" desc:"fsync every blob (and its directory entry) before its item goes on (default true); turn off only for tests and benchmarks"`
	// Staging bounds the area where uploads wait (in <dir>/staging) until
	// their petition is accepted; rejected uploads are deleted at once.
	Staging BlobStaging `yaml:"staging" desc:"bounds of <dir>/staging, where uploads wait until their petition is accepted; rejected uploads are deleted at once"`
	// S3 keeps the blobs in an S3-compatible bucket shared by every
	// instance; Dir then holds only staging and temporary files.
	S3 *BlobsS3 `yaml:"s3" desc:"keep the blobs in an S3-compatible bucket (shared by every instance) instead of dir, which then holds only staging and temporary files; an original is uploaded and acknowledged before its record is produced. Records reference s3://<bucket>/<prefix><aa>/<sha256>, or base_uri plus <aa>/<sha256>"`
}

// BlobsS3 is an S3-compatible bucket for the blob store.
type BlobsS3 struct {
	Endpoint string `yaml:"endpoint" desc:"host[:port] of the S3 API, without a scheme (e.g. s3.court.example:9000)"`
	Bucket   string `yaml:"bucket" desc:"the bucket; it must exist (petitiond does not create it, so that its retention and object lock are the court's choice)"`
	Region   string `yaml:"region" desc:"region of the bucket; empty: asked from the server"`
	Prefix   string `yaml:"prefix" desc:"prefix of every object name, e.g. petitiond/ (empty, or ending in /)"`
	// AccessKey and SecretKey: give them as *_file or ${VAR}; both empty
	// reads AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
	AccessKey string   `yaml:"access_key" desc:"access key; access_key_file or ${VAR}; with secret_key empty too, taken from AWS_ACCESS_KEY_ID (or MINIO_ROOT_USER) in the environment"`
	SecretKey string   `yaml:"secret_key" desc:"secret key; give it as secret_key_file or ${VAR}, not in the configuration itself; empty with access_key: AWS_SECRET_ACCESS_KEY (or MINIO_ROOT_PASSWORD). Never logged"`
	TLS       bool     `yaml:"tls" desc:"talk HTTPS to the endpoint (off: plain HTTP, only on a trusted network: originals cross it in clear)"`
	CAFile    string   `yaml:"ca_file" desc:"PEM bundle of the CAs that sign the endpoint's certificate; empty: the system's trusted CAs"`
	Timeout   Duration `yaml:"timeout" desc:"bounds one operation, the upload of a large original included (default 5m); a failed upload leaves the item unreleased, to be retried"`
}

// BlobStaging bounds the staging area of the blob store.
type BlobStaging struct {
	// MaxBytes bounds everything staged (over it: 503 + Retry-After).
	MaxBytes ByteSize `yaml:"max_bytes" desc:"most bytes staged in all; an upload beyond it is answered 503 with Retry-After"`
	// MaxBytesPerClient bounds what one client address has staged (over
	// it: 429 + Retry-After).
	MaxBytesPerClient ByteSize `yaml:"max_bytes_per_client" desc:"most bytes one client address may have staged; an upload beyond it is answered 429 with Retry-After"`
}

// State is where channels keep offsets and idempotency keys.
type State struct {
	Dir string `yaml:"dir" desc:"directory of per-channel state (<dir>/channels/<name>/) and of the repeat-petition memory"`
}

// Pipeline bounds the work in flight.
type Pipeline struct {
	// MaxInFlight bounds items taken but not yet acknowledged.
	MaxInFlight int `yaml:"max_in_flight" desc:"items taken from all channels and not yet acknowledged; beyond it channels slow down (backpressure)"`
	// DrainTimeout bounds how long shutdown waits for in-flight items.
	DrainTimeout Duration `yaml:"drain_timeout" desc:"how long shutdown (and removing a channel on reload) waits for in-flight items to be acknowledged"`
}

// Normalize configures record cleaning and classification.
type Normalize struct {
	// Classify holds classification rules; see normalize/classify.
	Classify classify.Config `yaml:"classify" desc:"classification rules (category, labels, priority); the operator's run before the shipped defaults"`
	// Repeats configures repeat-petition detection.
	Repeats Repeats `yaml:"repeats" desc:"the memory of which petitioner raised which case, to label repeat petitions"`
}

// Repeats configures the local memory of petitioners and cases.
type Repeats struct {
	Enabled *bool `yaml:"enabled" desc:"label repeat petitions (default true)"`
	// MaxEntries bounds the memory (least recently seen forgotten first).
	MaxEntries int `yaml:"max_entries" desc:"most (petitioner, case) pairs remembered; the least recently seen are forgotten first"`
	// Key is the secret of the petitioner pseudonym (HMAC); use key_file
	// or ${ENV}. Without it a random key is kept in the state dir.
	Key string `yaml:"key" desc:"secret of the HMAC that makes the petitioner key (a pseudonym); use key_file or ${ENV}. Empty: a random key kept in state.dir"`
}

// Routes choose topics and keys.
type Routes struct {
	DefaultTopic    string `yaml:"default_topic" desc:"topic of records that match no rule"`
	DeadLetterTopic string `yaml:"dead_letter_topic" desc:"topic of items that could not be made into records (petition.deadletter.v1)"`
	Rules           []Rule `yaml:"rules" desc:"routing rules, evaluated in order: the first match decides unless it says continue"`
}

// Rule sends records matching When to Topic, keyed by Key.
type Rule struct {
	Name string `yaml:"name" desc:"names the rule in errors and logs"`
	// When is an expression over the record (expr-lang), e.g.
	// category == "filing_refusal".
	When  string `yaml:"when" desc:"expr-lang expression over the record with its JSON field names, e.g. category == 'filing_refusal'"`
	Topic string `yaml:"topic" desc:"topic of the records the rule matches"`
	// Key is an expression giving the Kafka key; default the record id.
	Key string `yaml:"key" desc:"expr-lang expression giving the Kafka key; default the record id"`
	// Continue also evaluates later rules (a record may go to several
	// topics); by default the first matching rule wins.
	Continue bool `yaml:"continue" desc:"go on to later rules after a match, so a record may go to several topics"`
}

// Channel is one channel instance.
type Channel struct {
	Name     string    `yaml:"name" desc:"unique name of this channel instance: lower-case letters, digits, dot, underscore, hyphen. It is part of every petition id: renaming a channel changes the ids of what it reads again"`
	Type     string    `yaml:"type" desc:"channel type (petitiond channels lists them)"`
	Settings yaml.Node `yaml:"settings" desc:"the channel type's settings; petitiond example TYPE prints them commented"`
	// Mapping maps a foreign input shape to petition fields (see package
	// mapping); channels that take structured input apply it.
	Mapping mapping.Spec `yaml:"mapping" desc:"maps a foreign input shape (a partner's JSON or form) to petition fields: target -> rule; for channels with structured input (web; calllog has settings.mapping instead)"`
	// Mapper is Mapping compiled, nil without a mapping.
	Mapper *mapping.Mapper `yaml:"-"`
	// Decoded is the channel type's config struct, filled from Settings.
	Decoded any `yaml:"-"`
	// Line is where the entry starts.
	Line int `yaml:"-"`
}

// Same reports whether two entries configure the same channel: the same
// name and type, decoded settings and mapping. How the YAML is written
// (comments, key order, quoting, anchors) does not count, so a reload
// leaves such a channel running.
func (ch *Channel) Same(o *Channel) bool {
	if ch.Name != o.Name || ch.Type != o.Type || !reflect.DeepEqual(ch.Decoded, o.Decoded) {
		return false
	}
	return len(ch.Mapping) == 0 && len(o.Mapping) == 0 || reflect.DeepEqual(ch.Mapping, o.Mapping)
}

// Admin is the operations listener.
type Admin struct {
	Listen string `yaml:"listen" desc:"host:port of the operations listener (status page /, /status.json, /metrics, /healthz, /readyz); empty: none. Keep it private"`
	// Pprof serves Go's profiler under /debug/pprof/ (keep the admin
	// listener private).
	Pprof bool `yaml:"pprof" desc:"serve Go's profiler under /debug/pprof/ on the admin listener"`
	// AuthToken, when set, is required as "Authorization: Bearer …" for
	// everything but /healthz, /readyz and the record schemas under
	// /schemas/ (the status page, /metrics, /debug/pprof/); use
	// auth_token_file or ${VAR}.
	AuthToken string `yaml:"auth_token" desc:"bearer token required for the status page, /status.json, /metrics and /debug/pprof/ (not /healthz, /readyz, /schemas/); use auth_token_file or ${VAR}"`
	// TLSCertFile and TLSKeyFile serve the admin listener over HTTPS.
	TLSCertFile string `yaml:"tls_cert_file" desc:"certificate (PEM) to serve the admin listener over HTTPS; with tls_key_file"`
	TLSKeyFile  string `yaml:"tls_key_file" desc:"private key (PEM) of tls_cert_file"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level" desc:"least severe level logged" enum:"debug,info,warn,error"` // debug, info, warn, error
	Format string `yaml:"format" desc:"log line format" enum:"text,json"`                      // text, json
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
			Partitioning:      "healthy",
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
	sum := sha256.Sum256(data)
	cfg.Hash = hex.EncodeToString(sum[:])
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
	switch c.Kafka.Partitioning {
	case "healthy", "key":
	default:
		d.errorf(at("kafka.partitioning"), "kafka.partitioning", "unknown partitioning %q (healthy, key)", c.Kafka.Partitioning)
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
	c.validateS3(d)
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
		if len(ch.Mapping) > 0 && !t.Mapping {
			var takers []string
			for _, o := range reg.Types() {
				if o.Mapping {
					takers = append(takers, o.Name)
				}
			}
			d.errorf(at(p+".mapping"), p+".mapping", "the %s channel type does not apply an entry-level mapping (types that do: %s); see `petitiond example %s`",
				ch.Type, strings.Join(takers, ", "), ch.Type)
		}
		sc := t.NewConfig()
		settings := &ch.Settings
		if settings.Kind == 0 {
			settings = nil
		}
		before := len(d.errs)
		d.decodeInto(settings, sc, p+".settings")
		decodeFailed := len(d.errs) > before
		// Validate even when decoding reported errors (the rest of the
		// settings is decoded), so that check lists every problem at once.
		if v, ok := sc.(channels.Validator); ok {
			if err := v.Validate(); err != nil {
				line := at(p + ".settings")
				if line == 0 {
					line = ch.Line
				}
				for _, err := range leafErrors(err) {
					var ie *channels.InvalidError
					if asInvalid(err, &ie) && ie.Field != "" {
						l := line
						if fl := at(p + ".settings." + ie.Field); fl > 0 {
							l = fl
						}
						d.errorf(l, p+".settings."+ie.Field, "%s", ie.Reason)
					} else {
						d.errorf(line, p+".settings", "%v", err)
					}
				}
			}
		}
		if decodeFailed {
			continue
		}
		ch.Decoded = sc
	}
}

func (c *Config) validateS3(d *decoder) {
	s := c.Blobs.S3
	if s == nil {
		return
	}
	at := func(path string) int { return c.lines[path] }
	if s.Endpoint == "" {
		d.errorf(at("blobs.s3"), "blobs.s3.endpoint", "required (host[:port])")
	} else if strings.Contains(s.Endpoint, "://") || strings.Contains(s.Endpoint, "/") {
		d.errorf(at("blobs.s3.endpoint"), "blobs.s3.endpoint", "give host[:port] without a scheme or path (tls: true for https)")
	}
	if s.Bucket == "" {
		d.errorf(at("blobs.s3"), "blobs.s3.bucket", "required")
	}
	if s.Prefix != "" && (!strings.HasSuffix(s.Prefix, "/") || strings.HasPrefix(s.Prefix, "/")) {
		d.errorf(at("blobs.s3.prefix"), "blobs.s3.prefix", "must end in / and not start with one, e.g. petitiond/")
	}
	if (s.AccessKey == "") != (s.SecretKey == "") {
		d.errorf(at("blobs.s3"), "blobs.s3", "set both access_key and secret_key (*_file or ${VAR}), or neither to take them from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
	}
	if s.CAFile != "" && !s.TLS {
		d.errorf(at("blobs.s3.ca_file"), "blobs.s3.ca_file", "only with tls: true")
	}
	if s.Timeout < 0 {
		d.errorf(at("blobs.s3.timeout"), "blobs.s3.timeout", "must not be negative")
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

// ChannelError places an error about channels[i] found after parsing (by
// its type's New, or when binding its address) in the file: an
// InvalidError naming a setting points at that setting.
func (c *Config) ChannelError(i int, err error) *Error {
	p := fmt.Sprintf("channels[%d]", i)
	var ie *channels.InvalidError
	if asInvalid(err, &ie) && ie.Field != "" {
		fp := p + ".settings." + ie.Field
		line := c.lines[fp]
		if line == 0 {
			line = c.lines[p]
		}
		return &Error{File: c.File, Line: line, Path: fp, Msg: ie.Reason}
	}
	return &Error{File: c.File, Line: c.lines[p], Path: p, Msg: c.Channels[i].Name + ": " + err.Error()}
}

// leafErrors lists the errors joined in err (errors.Join, as
// channels.Problems returns them), or err alone.
func leafErrors(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, leafErrors(e)...)
	}
	return out
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
