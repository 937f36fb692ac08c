package cli_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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

// TestCheckListsEverySettingsProblem: check shows every invalid setting of
// a channel, each at its line, not only the first one.
func TestCheckListsEverySettingsProblem(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(`kafka: {brokers: [x]}
channels:
  - name: w
    type: web
    settings:
      path: petitions
      max_body_size: 10
      tls_key_file: /etc/key.pem
`), 0o600)
	code, _, errs := run("check", "-c", bad)
	if code != 1 {
		t.Fatalf("check bad: exit %d, want 1", code)
	}
	for _, want := range []string{
		bad + ":6: channels[0].settings.path: must start with /",
		bad + ":7: channels[0].settings.max_body_size: must be at least 1KiB",
		bad + ":8: channels[0].settings.tls_key_file: set both",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("check output lacks %q:\n%s", want, errs)
		}
	}
}

// TestRunPIDFile: run -pid-file writes this process's id once signals are
// caught (kill -HUP $(cat FILE) reloads, SIGTERM stops) and removes it on
// exit.
func TestRunPIDFile(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	kafkaAddr := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(dir, "petitiond.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`kafka: {embedded: {listen: %q, data_dir: %q}}
blobs: {dir: %q}
state: {dir: %q}
admin: {listen: ""}
`, kafkaAddr, filepath.Join(dir, "kafka"), filepath.Join(dir, "blobs"), filepath.Join(dir, "state"))), 0o600)
	pidFile := filepath.Join(dir, "petitiond.pid")
	logs := &syncWriter{}
	done := make(chan int, 1)
	go func() {
		done <- cli.Main([]string{"run", "-c", cfg, "-watch=false", "-pid-file", pidFile}, io.Discard, logs)
	}()

	want := strconv.Itoa(os.Getpid()) + "\n"
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(pidFile)
		if string(b) == want {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("run exited with %d before writing the pid file:\n%s", code, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid file %q after 60s, want %q:\n%s", b, want, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP) // a reload, not the end
	for !strings.Contains(logs.String(), "configuration reloaded") {
		select {
		case code := <-done:
			t.Fatalf("SIGHUP ended run (exit %d):\n%s", code, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged after SIGHUP:\n%s", logs.String())
		}
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run exit %d after SIGTERM, want 0", code)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("run did not stop after SIGTERM")
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file left after exit: %v", err)
	}
}

// syncWriter is a buffer safe for the daemon's goroutines.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
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
	if code != 1 || !strings.Contains(errs, file+":7: channels[0].mapping: the imap channel type does not apply an entry-level mapping (types that do: scan, web)") {
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

// TestRunNotifiesSystemd: under systemd (NOTIFY_SOCKET set) run sends
// READY=1 with a status line once its channels run, WATCHDOG=1 every
// WATCHDOG_USEC/2, RELOADING=1 with MONOTONIC_USEC then READY=1 around a
// SIGHUP reload, and STOPPING=1 on SIGTERM.
func TestRunNotifiesSystemd(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "400000") // a ping every 200ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	cfg := filepath.Join(dir, "petitiond.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`kafka: {embedded: {listen: %q, data_dir: %q}}
blobs: {dir: %q}
state: {dir: %q}
admin: {listen: ""}
channels:
  - {name: web-a, type: web, settings: {listen: %q}}
`, free(), filepath.Join(dir, "kafka"), filepath.Join(dir, "blobs"), filepath.Join(dir, "state"), free())), 0o600)
	logs := &syncWriter{}
	done := make(chan int, 1)
	go func() { done <- cli.Main([]string{"run", "-c", cfg, "-watch=false"}, io.Discard, logs) }()

	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	// next returns the next datagram that is not a watchdog ping or a
	// status refresh, counting the pings.
	pings := 0
	next := func(what string) string {
		t.Helper()
		for {
			select {
			case m := <-msgs:
				if m == "WATCHDOG=1\n" {
					pings++
					continue
				}
				if strings.HasPrefix(m, "STATUS=") {
					continue
				}
				return m
			case code := <-done:
				t.Fatalf("run exited (%d) before %s:\n%s", code, what, logs.String())
			case <-time.After(60 * time.Second):
				t.Fatalf("no %s within 60s:\n%s", what, logs.String())
			}
		}
	}
	if m := next("READY=1"); m != "READY=1\nSTATUS=1 channels: 1 running; kafka up\n" &&
		m != "READY=1\nSTATUS=1 channels: 1 running; kafka down\n" {
		t.Fatalf("first notification %q, want READY=1 with 1 running channel", m)
	}
	for start := time.Now(); pings < 3; {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%d watchdog pings in 10s with WATCHDOG_USEC=400000", pings)
		}
		select {
		case m := <-msgs:
			if m == "WATCHDOG=1\n" {
				pings++
			}
		case <-time.After(time.Second):
		}
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	m := next("RELOADING=1")
	if !strings.HasPrefix(m, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Fatalf("after SIGHUP: %q, want RELOADING=1 and MONOTONIC_USEC", m)
	}
	if m := next("READY=1 after the reload"); !strings.HasPrefix(m, "READY=1\nSTATUS=1 channels: 1 running") {
		t.Fatalf("after the reload: %q, want READY=1", m)
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	if m := next("STOPPING=1"); !strings.HasPrefix(m, "STOPPING=1\n") {
		t.Fatalf("after SIGTERM: %q, want STOPPING=1", m)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("run did not stop after SIGTERM")
	}
}
