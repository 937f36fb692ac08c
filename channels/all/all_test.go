package all_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/court12368/petitiond/channels"
	_ "github.com/court12368/petitiond/channels/all"
	"github.com/court12368/petitiond/config"
)

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// TestExamplesAndReadmes keeps every channel folder's README in sync with its
// embedded example, and proves each example is a valid channel entry.
func TestExamplesAndReadmes(t *testing.T) {
	types := channels.Default.Types()
	if len(types) == 0 {
		t.Fatal("no channel types registered")
	}
	for _, typ := range types {
		readme, err := os.ReadFile(filepath.Join("..", typ.Name, "README.md"))
		if err != nil {
			t.Errorf("%s: %v", typ.Name, err)
			continue
		}
		if !strings.Contains(string(readme), string(typ.Example)) {
			t.Errorf("%s: README.md does not contain example.yaml verbatim", typ.Name)
		}
		var entries []yaml.Node
		if err := yaml.Unmarshal(typ.Example, &entries); err != nil || len(entries) == 0 {
			t.Errorf("%s: example is not a YAML list of channel entries: %v", typ.Name, err)
			continue
		}
		// Secrets in examples come from the environment: give them values.
		for _, m := range envRef.FindAllStringSubmatch(string(typ.Example), -1) {
			t.Setenv(m[1], "example-secret")
		}
		src := "kafka: {brokers: [\"127.0.0.1:9092\"]}\nchannels:\n"
		for _, line := range strings.Split(strings.TrimRight(string(typ.Example), "\n"), "\n") {
			src += "  " + line + "\n"
		}
		cfg, err := config.Parse(typ.Name+"/example.yaml", []byte(src), channels.Default)
		if err != nil {
			t.Errorf("%s: example does not pass check:\n%v", typ.Name, err)
			continue
		}
		// Decoded settings are plain data: the same file parsed again is
		// the same channel, so a reload does not restart it.
		again, err := config.Parse(typ.Name+"/example.yaml", []byte(src), channels.Default)
		if err != nil {
			t.Fatal(err)
		}
		for i := range cfg.Channels {
			if !cfg.Channels[i].Same(&again.Channels[i]) {
				t.Errorf("%s: the example's entry %d is not the same when parsed again (a reload would restart it)", typ.Name, i)
			}
		}
		for _, ch := range cfg.Channels {
			if ch.Type != typ.Name {
				t.Errorf("%s: example entry has type %q", typ.Name, ch.Type)
			}
		}
	}
}
