package deploy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/court12368/petitiond/internal/testutil"
)

// TestDebPackage builds the .deb (make deb: nfpm), installs it with dpkg,
// checks what it installed, verifies the installed unit, runs the unit's
// ExecStartPre and ExecStart as the unit's user with NOTIFY_SOCKET set
// (systemd is not PID 1 here), waits for READY=1 and /healthz, submits a
// petition, stops it with SIGTERM (STOPPING=1, exit 0) and purges the
// package, checking nothing is left.
func TestDebPackage(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("installing the .deb needs root in CI")
		}
		t.Skip("installing the .deb needs root")
	}
	dpkg := tool(t, "dpkg", "dpkg")
	setpriv := tool(t, "setpriv", "util-linux")
	tool(t, "make", "make")
	const marker = "/var/lib/petitiond/.deb-test"
	if exec.Command("dpkg-query", "-W", "petitiond").Run() == nil {
		if _, err := os.Stat(marker); err != nil {
			t.Fatal("petitiond is installed on this machine and not by this test; it installs and purges its own (dpkg --purge petitiond first)")
		}
		purge(t, dpkg) // left by an earlier run of this test
	}

	dir := t.TempDir()
	mk := exec.Command("make", "deb", "BIN="+filepath.Join(dir, "petitiond"), "DEB_DIR="+dir, "DEB_VERSION=0.0.0+test")
	mk.Dir = repoRoot(t)
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "petitiond_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v", debs)
	}
	if out, err := exec.Command(dpkg, "-i", debs[0]).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	t.Cleanup(func() { purge(t, dpkg) })
	os.WriteFile(marker, nil, 0o600)

	for _, p := range []string{"/usr/bin/petitiond", "/lib/systemd/system/petitiond.service", "/etc/petitiond/petitiond.yaml",
		"/etc/default/petitiond", "/usr/share/doc/petitiond/README.md", "/usr/share/doc/petitiond/deploy.md",
		"/usr/share/petitiond/prometheus/petitiond-alerts.yml", "/usr/share/petitiond/grafana/petitiond-dashboard.json"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	out, _ := exec.Command("dpkg-query", "-W", "-f=${Conffiles}", "petitiond").Output()
	if !strings.Contains(string(out), "/etc/petitiond/petitiond.yaml") {
		t.Errorf("/etc/petitiond/petitiond.yaml is not a conffile: %q", out)
	}
	usr, err := user.Lookup("petitiond")
	if err != nil {
		t.Fatalf("postinst made no petitiond user: %v", err)
	}
	if usr.Uid == "0" {
		t.Fatal("petitiond user is root")
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/var/lib/petitiond", &st); err != nil || fmt.Sprint(st.Uid) != usr.Uid || st.Mode&0o007 != 0 {
		t.Errorf("/var/lib/petitiond: %v, owner %d mode %o; want owned by petitiond (%s), no access for others", err, st.Uid, st.Mode&0o777, usr.Uid)
	}
	verifyUnit(t, "/lib/systemd/system/petitiond.service")

	// Run it as the unit does: its user, its working directory, its
	// environment file, ExecStartPre then ExecStart, NOTIFY_SOCKET set.
	u := readUnit(t, "/lib/systemd/system/petitiond.service")
	sockDir, err := os.MkdirTemp("", "petitiond-deb-notify-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockDir)
	os.Chmod(sockDir, 0o755)
	sock := filepath.Join(sockDir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	os.Chmod(sock, 0o666)
	web, admin := testutil.FreeAddr(), testutil.FreeAddr()
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "NOTIFY_SOCKET=" + sock,
		"PETITIOND_KAFKA_LISTEN=" + testutil.FreeAddr(), "PETITIOND_WEB_LISTEN=" + web, "PETITIOND_ADMIN_LISTEN=" + admin}
	env = append(env, environmentFile(t, strings.TrimPrefix(u.get("EnvironmentFile"), "-"))...)
	asUnit := func(cmdline string) *exec.Cmd {
		args := append([]string{"--reuid=" + u.get("User"), "--regid=" + u.get("Group"), "--init-groups",
			"--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"}, strings.Fields(cmdline)...)
		c := exec.Command(setpriv, args...)
		c.Dir, c.Env = u.get("WorkingDirectory"), env
		return c
	}
	if out, err := asUnit(u.get("ExecStartPre")).CombinedOutput(); err != nil {
		t.Fatalf("ExecStartPre %s: %v\n%s", u.get("ExecStartPre"), err, out)
	}
	cmd := asUnit(u.get("ExecStart"))
	logs := &strings.Builder{}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { err := cmd.Wait(); pw.Close(); exited <- err }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	waitFor := func(prefix string) string {
		t.Helper()
		for {
			select {
			case m := <-msgs:
				if strings.HasPrefix(m, prefix) {
					return m
				}
			case err := <-exited:
				<-logDone
				t.Fatalf("the installed petitiond exited (%v) before %s:\n%s", err, prefix, logs.String())
			case <-time.After(60 * time.Second):
				t.Fatalf("no %s from the installed petitiond within 60s", prefix)
			}
		}
	}
	ready := waitFor("READY=1")
	if !strings.Contains(ready, "STATUS=1 channels: 1 running") {
		t.Errorf("READY=1 without the status line: %q", ready)
	}
	r, err := http.Get("http://" + admin + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("/healthz: %s", r.Status)
	}
	if ok := testutil.Eventually(30*time.Second, func() bool {
		r, err := http.Post("http://"+web+"/petitions", "application/json", strings.NewReader(`{"name":"张三","content":"立案咨询"}`))
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 201
	}); !ok {
		t.Errorf("the installed petitiond did not take a petition")
	}
	// Its files are its own: written by the unit's user.
	if err := syscall.Stat("/var/lib/petitiond/blobs", &st); err != nil || fmt.Sprint(st.Uid) != usr.Uid {
		t.Errorf("/var/lib/petitiond/blobs: %v, owner %d, want %s", err, st.Uid, usr.Uid)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	waitFor("STOPPING=1")
	select {
	case err := <-exited:
		if err != nil {
			<-logDone
			t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the installed petitiond did not stop within 60s of SIGTERM")
	}
}

// environmentFile reads KEY=VALUE lines of an EnvironmentFile= (comments
// and blank lines skipped; a missing file is no error, as with "-").
func environmentFile(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var env []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && l[0] != '#' && strings.Contains(l, "=") {
			env = append(env, l)
		}
	}
	return env
}

// purge removes the package and checks it left nothing behind.
func purge(t *testing.T, dpkg string) {
	t.Helper()
	if out, err := exec.Command(dpkg, "--purge", "petitiond").CombinedOutput(); err != nil {
		t.Errorf("dpkg --purge: %v\n%s", err, out)
		return
	}
	for _, p := range []string{"/usr/bin/petitiond", "/lib/systemd/system/petitiond.service", "/etc/petitiond",
		"/etc/default/petitiond", "/var/lib/petitiond", "/usr/share/doc/petitiond", "/usr/share/petitiond"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("left after purge: %s", p)
		}
	}
	if _, err := user.Lookup("petitiond"); err == nil {
		t.Error("the petitiond user is left after purge")
	}
	if _, err := user.LookupGroup("petitiond"); err == nil {
		t.Error("the petitiond group is left after purge")
	}
}
