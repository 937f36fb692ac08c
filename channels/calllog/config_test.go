package calllog

import (
	"errors"
	"strings"
	"testing"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/calllog/cdr"
	"github.com/court12368/petitiond/config"
)

func TestValidate(t *testing.T) {
	ok := func(c *Config) {}
	for _, tc := range []struct {
		name  string
		mod   func(*Config)
		field string
	}{
		{"defaults with path and format", ok, ""},
		{"no path", func(c *Config) { c.Path = "" }, "path"},
		{"bad glob", func(c *Config) { c.Path = "/x/[a" }, "path"},
		{"no format", func(c *Config) { c.Format = "" }, "format"},
		{"unknown format", func(c *Config) { c.Format = "cisco" }, "format"},
		{"mode", func(c *Config) { c.Mode = "follow" }, "mode"},
		{"encoding", func(c *Config) { c.Encoding = "big5" }, "encoding"},
		{"timezone", func(c *Config) { c.Timezone = "Mars/Olympus" }, "timezone"},
		{"csv without mapping", func(c *Config) { c.Format = "csv" }, "mapping"},
		{"mapping for asterisk", func(c *Config) { c.Mapping = &cdr.Mapping{Header: true} }, "mapping"},
		{"bad mapping", func(c *Config) {
			c.Format = "csv"
			c.Mapping = &cdr.Mapping{Header: true, Fields: map[string]string{"caller": "x"}}
		}, "mapping"},
		{"area code with trunk 0", func(c *Config) { c.AreaCode = "0791" }, "area_code"},
		{"area code letters", func(c *Config) { c.AreaCode = "NC" }, "area_code"},
		{"small max_line_size", func(c *Config) { c.MaxLineSize = 100 }, "max_line_size"},
		{"originals", func(c *Config) { c.Originals = "none" }, "originals"},
		{"start_at", func(c *Config) { c.StartAt = "middle" }, "start_at"},
		{"dirs in tail mode", func(c *Config) { c.DoneDir = "/done" }, "done_dir"},
		{"start_at in export", func(c *Config) { c.Mode = ModeExport; c.StartAt = "end" }, "start_at"},
		{"cti without listen", func(c *Config) { c.CTI = &CTIConfig{} }, "cti.listen"},
		{"cti hold", func(c *Config) { c.CTI = &CTIConfig{Listen: ":1", Hold: "some"} }, "cti.hold"},
		{"cti path", func(c *Config) { c.CTI = &CTIConfig{Listen: ":1", Path: "cti"} }, "cti.path"},
	} {
		c := NewConfig()
		c.Path, c.Format = "/var/log/asterisk/cdr-csv/Master.csv", "asterisk-csv"
		tc.mod(c)
		err := c.Validate()
		var ie *channels.InvalidError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field != "" && (!errors.As(err, &ie) || ie.Field != tc.field):
			t.Errorf("%s: error %v, want one naming %s", tc.name, err, tc.field)
		}
	}
	c := NewConfig()
	c.Path, c.Format = "/x", "asterisk-csv"
	c.CTI = &CTIConfig{Listen: "127.0.0.1:8091"}
	if err := c.Validate(); err != nil || c.CTI.Path != "/cti" || c.CTI.Window.D() == 0 || c.CTI.Hold != HoldAnswered {
		t.Errorf("cti defaults: %v %+v", err, c.CTI)
	}
}

// TestCheckNamesTheLine: a bad setting is reported at its line, an unknown
// key (also inside the mapping) is an error.
func TestCheckNamesTheLine(t *testing.T) {
	reg := channels.NewRegistry()
	reg.Register(channels.Type{Name: "calllog", NewConfig: func() any { return NewConfig() },
		New: func(cfg any, env channels.Env) (channels.Channel, error) { return New(cfg.(*Config), env) }})
	src := `kafka: {brokers: ["127.0.0.1:9092"]}
channels:
  - name: hotline
    type: calllog
    settings:
      path: /var/log/asterisk/cdr-csv/Master.csv
      format: asterisk-csv
      cti:
        listen: 127.0.0.1:8091
        hold: sometimes
  - name: export
    type: calllog
    settings:
      path: /srv/in/*.csv
      format: csv
      mode: export
      mapping:
        header: true
        colums: [a, b]
`
	_, err := config.Parse("petitiond.yaml", []byte(src), reg)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"petitiond.yaml:10", "cti.hold", "petitiond.yaml:19", "colums"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not name %q:\n%s", want, msg)
		}
	}
}
