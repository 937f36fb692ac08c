package cli_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/court12368/petitiond/channels/all"
	"github.com/court12368/petitiond/cmd/petitiond/cli"
)

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cli.Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCommands(t *testing.T) {
	if code, out, _ := run("version"); code != 0 || !strings.HasPrefix(out, "petitiond ") {
		t.Errorf("version: %d %q", code, out)
	}
	code, out, _ := run("channels")
	for _, typ := range []string{"web", "imap", "calllog"} {
		if code != 0 || !strings.Contains(out, typ+" ") {
			t.Errorf("channels: %d, %q lacks %s", code, out, typ)
		}
	}
	if code, out, _ := run("example", "web"); code != 0 || !strings.Contains(out, "type: web") {
		t.Errorf("example web: %d %q", code, out)
	}
	if code, _, errs := run("example", "fax"); code != 2 || !strings.Contains(errs, "unknown channel type") {
		t.Errorf("example fax: %d %q", code, errs)
	}
	if code, out, _ := run("schema"); code != 0 || !strings.Contains(out, `"$schema"`) {
		t.Errorf("schema: %d", code)
	}
	if code, _, _ := run("frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

func TestCheck(t *testing.T) {
	if code, out, errs := run("check", "-c", "../../../examples/petitiond.yaml"); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("check sample: %d %q %q", code, out, errs)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("kafka: {brokers: [x]}\nroutes: {rules: [{when: 'nope ==', topic: t}]}\nchannels:\n  - {name: w, type: web, settings: {lisen: x}}\n  - {name: w, type: web}\n"), 0o600)
	code, _, errs := run("check", "-c", bad)
	if code != 1 {
		t.Fatalf("check bad: exit %d, want 1", code)
	}
	for _, want := range []string{bad + `:4: channels[0].settings: unknown key "lisen"`, bad + `:5: channels[1].name: duplicate channel name "w"`,
		bad + `:2: routes.rules[0].when:`} {
		if !strings.Contains(errs, want) {
			t.Errorf("check output lacks %q:\n%s", want, errs)
		}
	}
}

// TestCheckBuildsChannels: check reports what only a channel's New finds,
// and a mapping: on a type that does not apply one.
func TestCheckBuildsChannels(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.yaml")
	os.WriteFile(file, []byte(`kafka: {brokers: [x]}
channels:
  - name: letters
    type: imap
    settings:
      address: "imap.example.org:993"
      username: u
      password: p
      tls_ca_file: `+filepath.Join(dir, "missing-ca.pem")+`
`), 0o600)
	code, _, errs := run("check", "-c", file)
	if code != 1 || !strings.Contains(errs, file+":9: channels[0].settings.tls_ca_file: open ") {
		t.Errorf("check with an unreadable CA file: exit %d\n%s", code, errs)
	}
	os.WriteFile(file, []byte(`kafka: {brokers: [x]}
channels:
  - name: letters
    type: imap
    settings: {address: "imap.example.org:993", username: u, password: p}
    mapping:
      content: {from: body}
`), 0o600)
	code, _, errs = run("check", "-c", file)
	if code != 1 || !strings.Contains(errs, file+":7: channels[0].mapping: the imap channel type does not apply an entry-level mapping (types that do: web)") {
		t.Errorf("check with a mapping on imap: exit %d\n%s", code, errs)
	}
}

// TestRunFailsWhenAListenerCannotBind: the daemon exits 1 naming the
// channel and the address instead of starting without it.
func TestRunFailsWhenAListenerCannotBind(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	kafka := free.Addr().String()
	free.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "p.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf(`kafka: {embedded: {listen: %q, data_dir: %q}}
blobs: {dir: %q}
state: {dir: %q}
admin: {listen: "127.0.0.1:0"}
channels:
  - {name: web-portal, type: web, settings: {listen: %q}}
`, kafka, filepath.Join(dir, "kafka"), filepath.Join(dir, "blobs"), filepath.Join(dir, "state"), taken.Addr())), 0o600)
	code, _, errs := run("run", "-watch=false", "-c", file)
	want := file + ":6: channels[0]: web-portal: web: listen: listen tcp " + taken.Addr().String() + ": bind: address already in use"
	if code != 1 || !strings.Contains(errs, want) {
		t.Errorf("run with a taken port: exit %d, want 1 and %q in\n%s", code, want, errs)
	}
}
