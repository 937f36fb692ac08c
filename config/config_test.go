package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/config/units"
)

type fakeSettings struct {
	Address  string         `yaml:"address"`
	Password string         `yaml:"password"`
	Interval units.Duration `yaml:"interval"`
	Size     units.ByteSize `yaml:"size"`
	Port     int            `yaml:"port"`
	Inner    struct {
		Deep string `yaml:"deep"`
	} `yaml:"inner"`
}

func (s *fakeSettings) Validate() error {
	var p channels.Problems
	if s.Port < 0 {
		p.Add("port", "must not be negative")
	}
	if s.Inner.Deep == "forbidden" {
		p.Add("inner.deep", "must not be %q", s.Inner.Deep)
	}
	return p.Err()
}

func registry() *channels.Registry {
	r := channels.NewRegistry()
	r.Register(channels.Type{
		Name:      "fake",
		NewConfig: func() any { return &fakeSettings{Interval: units.Duration(5e9)} },
		New:       func(any, channels.Env) (channels.Channel, error) { return nil, nil },
	})
	return r
}

func parse(t *testing.T, src string) (*config.Config, []string) {
	t.Helper()
	cfg, err := config.Parse("petitiond.yaml", []byte(src), registry())
	if err == nil {
		return cfg, nil
	}
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("Parse error is %T, want config.Errors: %v", err, err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Error())
	}
	return nil, out
}

const base = `kafka:
  brokers: ["127.0.0.1:9092"]
routes:
  default_topic: p.intake
  dead_letter_topic: p.dead
`

func wantErrors(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("error %d = %q, want it to contain %q", i, got[i], want[i])
		}
	}
}

func TestUnknownKeyInsideSettingsHasLine(t *testing.T) {
	_, errs := parse(t, base+`channels:
  - name: one
    type: fake
    settings:
      address: x
      inner:
        deep: y
        deeep: z
      mailbx: INBOX
`)
	wantErrors(t, errs,
		`petitiond.yaml:13: channels[0].settings.inner: unknown key "deeep"`,
		`petitiond.yaml:14: channels[0].settings: unknown key "mailbx"`)
}

func TestEveryErrorListed(t *testing.T) {
	_, errs := parse(t, `kafka:
  brokers: ["127.0.0.1:9092"]
  batch_timeout: soon
  brokerz: []
routes:
  default_topic: p.intake
  dead_letter_topic: p.dead
channels:
  - name: one
    type: fake
    settings: {interval: 3 days, port: many, size: 12XB}
  - name: one
    type: fake
  - name: two
    type: nosuch
  - name: Bad Name
    type: fake
`)
	wantErrors(t, errs,
		`petitiond.yaml:3: kafka.batch_timeout: invalid duration "soon"`,
		`petitiond.yaml:4: kafka: unknown key "brokerz"`,
		`petitiond.yaml:11: channels[0].settings.interval: invalid duration "3 days"`,
		`petitiond.yaml:11: channels[0].settings.size: invalid size "12XB"`,
		`petitiond.yaml:11: channels[0].settings: cannot unmarshal !!str`,
		`petitiond.yaml:12: channels[1].name: duplicate channel name "one" (first on line 9)`,
		`petitiond.yaml:15: channels[2].type: unknown channel type "nosuch"`,
		`petitiond.yaml:16: channels[3].name: "Bad Name"`,
	)
	_, errs = parse(t, base+`channels:
  - name: one
    type: fake
    settings: {port: -1}
  - name: one
    type: fake
  - name: two
    type: nosuch
  - name: Bad Name
    type: fake
`)
	wantErrors(t, errs,
		`petitiond.yaml:9: channels[0].settings.port: must not be negative`,
		`petitiond.yaml:10: channels[1].name: duplicate channel name "one" (first on line 7)`,
		`petitiond.yaml:13: channels[2].type: unknown channel type "nosuch"`,
		`petitiond.yaml:14: channels[3].name: "Bad Name"`,
	)
}

func TestEnvAndSecretFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "pw")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PD_TEST_ADDR", "imap.example.org:993")
	t.Setenv("PD_TEST_PORT", "1143")
	cfg, errs := parse(t, base+`channels:
  - name: one
    type: fake
    settings:
      address: ${PD_TEST_ADDR}
      port: ${PD_TEST_PORT}
      password_file: `+secret+`
      inner: {deep: "${PD_TEST_UNSET:-fallback} costs $$5"}
`)
	if errs != nil {
		t.Fatalf("unexpected errors: %v", errs)
	}
	s := cfg.Channels[0].Decoded.(*fakeSettings)
	if s.Address != "imap.example.org:993" || s.Port != 1143 || s.Password != "s3cret" || s.Inner.Deep != "fallback costs $5" {
		t.Errorf("decoded %+v", s)
	}
	if s.Interval.D().Seconds() != 5 {
		t.Errorf("default interval lost: %v", s.Interval.D())
	}
	_, errs = parse(t, base+`channels:
  - name: one
    type: fake
    settings:
      password: ${PD_TEST_NOT_SET}
      address_file: /nonexistent/secret
`)
	wantErrors(t, errs,
		`petitiond.yaml:10: environment variable PD_TEST_NOT_SET is not set`,
		`petitiond.yaml:11: channels[0].settings.address_file: reading secret`)
}

// TestEmptyEnv: an empty variable is not reported as unset (the operator
// would look for a missing export), and ${VAR:-…} covers empty as in sh.
func TestEmptyEnv(t *testing.T) {
	t.Setenv("PD_TEST_EMPTY", "")
	cfg, errs := parse(t, base+`channels:
  - name: one
    type: fake
    settings:
      address: "${PD_TEST_EMPTY:-fallback}"
      password: "${PD_TEST_EMPTY:-}"
`)
	if errs != nil {
		t.Fatalf("unexpected errors: %v", errs)
	}
	if s := cfg.Channels[0].Decoded.(*fakeSettings); s.Address != "fallback" || s.Password != "" {
		t.Errorf("decoded %+v, want address fallback and an empty password", s)
	}
	_, errs = parse(t, base+`channels:
  - name: one
    type: fake
    settings:
      password: ${PD_TEST_EMPTY}
`)
	wantErrors(t, errs, `petitiond.yaml:10: environment variable PD_TEST_EMPTY is set but empty`)
	if strings.Contains(strings.Join(errs, "\n"), "not set") {
		t.Errorf("an empty variable reported as not set: %v", errs)
	}
}

// TestEverySettingsProblem: check lists every invalid setting of a channel
// at its own line, together with unknown keys, not only the first.
func TestEverySettingsProblem(t *testing.T) {
	_, errs := parse(t, base+`channels:
  - name: one
    type: fake
    settings:
      port: -1
      bogus: 1
      inner:
        deep: forbidden
`)
	wantErrors(t, errs,
		`petitiond.yaml:11: channels[0].settings: unknown key "bogus"`,
		`petitiond.yaml:10: channels[0].settings.port: must not be negative`,
		`petitiond.yaml:13: channels[0].settings.inner.deep: must not be "forbidden"`)
}

func TestAliasesAndMergeKeys(t *testing.T) {
	_, errs := parse(t, base+`x-common: &common
  address: a
  bogus: 1
channels:
  - name: one
    type: fake
    settings:
      <<: *common
      port: 2
`)
	// x-common is itself an unknown top-level key; the alias target's
	// unknown key is reported where it is written.
	wantErrors(t, errs, `petitiond.yaml:6: unknown key "x-common"`, `petitiond.yaml:8: channels[0].settings: unknown key "bogus"`)
}

func TestNeedsKafka(t *testing.T) {
	_, errs := parse(t, "routes: {default_topic: a, dead_letter_topic: b}\n")
	wantErrors(t, errs, `kafka: set brokers, or embedded`)
}

func TestDecodeStrict(t *testing.T) {
	var s fakeSettings
	err := config.DecodeStrict("x.yaml", []byte("address: a\nadress: b\n"), &s)
	if err == nil || !strings.Contains(err.Error(), `x.yaml:2: unknown key "adress"`) {
		t.Errorf("DecodeStrict error = %v", err)
	}
}

func TestSecondDocumentRejected(t *testing.T) {
	_, errs := parse(t, base+"---\nchannels: []\n")
	wantErrors(t, errs, `petitiond.yaml:6: a second YAML document`)
}

// TestSameFollowsAliases: a change inside an anchored block changes the
// channels that use it, so a reload restarts them.
func TestSameFollowsAliases(t *testing.T) {
	reg := registry()
	src := func(addr string) string {
		return base + "channels:\n  - {name: zero, type: fake, settings: &c {address: " + addr + "}}\n  - {name: one, type: fake, settings: *c}\n"
	}
	c1, err := config.Parse("a.yaml", []byte(src("a")), reg)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := config.Parse("a.yaml", []byte(src("b")), reg)
	if err != nil {
		t.Fatal(err)
	}
	if c1.Channels[1].Same(&c2.Channels[1]) {
		t.Errorf("an aliased settings block is the same after its anchor changed")
	}
}

// TestSameIgnoresHowItIsWritten: comments, key order, flow or block style
// and quoting do not change a channel (a comment-only edit must not
// restart it); a changed value, type or mapping does.
func TestSameIgnoresHowItIsWritten(t *testing.T) {
	reg := registry()
	reg.Register(channels.Type{
		Name: "mapped", NewConfig: func() any { return &fakeSettings{} }, Mapping: true,
		New: func(any, channels.Env) (channels.Channel, error) { return nil, nil },
	})
	one := func(t *testing.T, src string) *config.Channel {
		t.Helper()
		cfg, err := config.Parse("a.yaml", []byte(base+"channels:\n"+src), reg)
		if err != nil {
			t.Fatal(err)
		}
		return &cfg.Channels[0]
	}
	orig := one(t, "  - {name: w, type: fake, settings: {address: a, port: 1}}\n")
	for _, same := range []string{
		"  # the portal\n  - name: w # its name\n    type: fake\n    settings:\n      port: 1 # the port\n      address: \"a\"\n",
		"  - {name: w, type: fake, settings: {port: 1, address: a, interval: 5s}}\n",
	} {
		if !orig.Same(one(t, same)) {
			t.Errorf("not the same channel:\n%s", same)
		}
	}
	for _, other := range []string{
		"  - {name: w, type: fake, settings: {address: b, port: 1}}\n",
		"  - {name: w, type: mapped, settings: {address: a, port: 1}}\n",
		"  - {name: v, type: fake, settings: {address: a, port: 1}}\n",
	} {
		if orig.Same(one(t, other)) {
			t.Errorf("the same channel:\n%s", other)
		}
	}
	m1 := one(t, "  - {name: w, type: mapped, mapping: {content: {from: text}}}\n")
	m2 := one(t, "  - {name: w, type: mapped, mapping: {content: {from: body}}}\n")
	if m1.Same(m2) || !m1.Same(one(t, "  - name: w\n    type: mapped\n    mapping:\n      content: {from: text} # the text\n")) {
		t.Errorf("mapping changes are not told apart from how the mapping is written")
	}
}

// TestMappingOnlyWhereApplied: a mapping: on a type that does not apply
// one is an error at its line.
func TestMappingOnlyWhereApplied(t *testing.T) {
	_, errs := parse(t, base+"channels:\n  - name: c\n    type: fake\n    mapping:\n      content: {from: text}\n")
	wantErrors(t, errs, `petitiond.yaml:10: channels[0].mapping: the fake channel type does not apply an entry-level mapping`)
}

func TestPartitioning(t *testing.T) {
	cfg, errs := parse(t, base)
	if errs != nil || cfg.Kafka.Partitioning != "healthy" {
		t.Fatalf("default partitioning = %q (%v), want healthy", cfg.Kafka.Partitioning, errs)
	}
	cfg, errs = parse(t, strings.Replace(base, "kafka:\n", "kafka:\n  partitioning: key\n", 1))
	if errs != nil || cfg.Kafka.Partitioning != "key" {
		t.Fatalf("partitioning = %q (%v), want key", cfg.Kafka.Partitioning, errs)
	}
	_, errs = parse(t, strings.Replace(base, "kafka:\n", "kafka:\n  partitioning: random\n", 1))
	wantErrors(t, errs, `petitiond.yaml:2: kafka.partitioning: unknown partitioning "random" (healthy, key)`)
}

// TestBlobsS3: the bucket's keys come from files (or the environment), and
// a half-given or malformed setting is an error at its line.
func TestBlobsS3(t *testing.T) {
	dir := t.TempDir()
	ak, sk := filepath.Join(dir, "ak"), filepath.Join(dir, "sk")
	os.WriteFile(ak, []byte("AKIA1\n"), 0o600)
	os.WriteFile(sk, []byte("s3cret-key\n"), 0o600)
	t.Setenv("PD_TEST_S3", "s3.court.example:9000")
	cfg, errs := parse(t, base+`blobs:
  s3:
    endpoint: ${PD_TEST_S3}
    bucket: originals
    prefix: petitiond/
    access_key_file: `+ak+`
    secret_key_file: `+sk+`
    tls: true
    timeout: 30s
`)
	if errs != nil {
		t.Fatalf("unexpected errors: %v", errs)
	}
	s := cfg.Blobs.S3
	if s == nil || s.Endpoint != "s3.court.example:9000" || s.Bucket != "originals" || s.AccessKey != "AKIA1" ||
		s.SecretKey != "s3cret-key" || !s.TLS || s.Timeout.D().Seconds() != 30 || s.Prefix != "petitiond/" {
		t.Fatalf("decoded %+v", s)
	}
	_, errs = parse(t, base+`blobs:
  s3:
    endpoint: https://s3.example/
    prefix: /x
    access_key: only-half
    ca_file: /etc/ca.pem
`)
	wantErrors(t, errs,
		`petitiond.yaml:8: blobs.s3.endpoint: give host[:port] without a scheme or path (tls: true for https)`,
		`petitiond.yaml:8: blobs.s3.bucket: required`,
		`petitiond.yaml:9: blobs.s3.prefix: must end in / and not start with one, e.g. petitiond/`,
		`petitiond.yaml:8: blobs.s3: set both access_key and secret_key (*_file or ${VAR}), or neither to take them from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`,
		`petitiond.yaml:11: blobs.s3.ca_file: only with tls: true`)
}
