package imap_test

import (
	"strings"
	"testing"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/imap"
	"github.com/court12368/petitiond/config"
)

// TestExampleIsAValidConfig decodes example.yaml strictly, as part of a
// whole configuration file.
func TestExampleIsAValidConfig(t *testing.T) {
	t.Setenv("IMAP_PASSWORD", "secret")
	reg := channels.NewRegistry()
	typ, ok := channels.Default.Lookup("imap")
	if !ok {
		t.Fatal("imap type not registered")
	}
	reg.Register(typ)
	doc := "kafka: {brokers: [\"127.0.0.1:9092\"]}\nchannels:\n" + indent(string(typ.Example))
	cfg, err := config.Parse("example.yaml", []byte(doc), reg)
	if err != nil {
		t.Fatalf("example.yaml: %v", err)
	}
	got := cfg.Channels[0].Decoded.(*imap.Config)
	want := imap.NewConfig()
	if got.Workers != want.Workers || got.BatchSize != want.BatchSize || got.MaxInFlight != want.MaxInFlight ||
		got.PollInterval != want.PollInterval || got.MaxMessageSize != want.MaxMessageSize || got.Idle != want.Idle ||
		got.ThreadIndexSize != want.ThreadIndexSize || got.CommandTimeout != want.CommandTimeout ||
		got.ReconnectBackoffMin != want.ReconnectBackoffMin || got.ReconnectBackoffMax != want.ReconnectBackoffMax ||
		got.RetryInterval != want.RetryInterval || got.CreateMailboxes != want.CreateMailboxes {
		t.Errorf("example.yaml does not show the defaults:\n got %+v\nwant %+v", got, want)
	}
	if got.Password != "secret" {
		t.Errorf("password ${IMAP_PASSWORD} not expanded: %q", got.Password)
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
