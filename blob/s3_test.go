package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/court12368/petitiond/internal/testutil/s3test"
	"github.com/minio/minio-go/v7"
)

// s3Server returns the options of the real S3-compatible server the test
// scripts start (scripts/seaweedfs.sh: PETITIOND_S3_*), with a fresh bucket
// made for the test. Without one the test skips, and fails under CI=true.
func s3Server(t *testing.T) S3Options {
	t.Helper()
	ep := os.Getenv("PETITIOND_S3_ENDPOINT")
	if ep == "" {
		ep = "127.0.0.1:18333"
	}
	c, err := net.DialTimeout("tcp", ep, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a real S3 server is required in CI: %v (scripts/seaweedfs.sh start; PETITIOND_S3_*)", err)
		}
		t.Skipf("no S3 server at %s: %v (scripts/seaweedfs.sh start)", ep, err)
	}
	c.Close()
	read := func(env, def string) string {
		p := os.Getenv(env)
		if p == "" {
			p = def
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%s: %v", env, err)
		}
		return strings.TrimSpace(string(b))
	}
	o := S3Options{
		Endpoint:  ep,
		AccessKey: read("PETITIOND_S3_ACCESS_KEY_FILE", "/tmp/petitiond-seaweedfs/keys/access_key"),
		SecretKey: read("PETITIOND_S3_SECRET_KEY_FILE", "/tmp/petitiond-seaweedfs/keys/secret_key"),
		Bucket:    fmt.Sprintf("t-%d-%s", time.Now().UnixNano()%1e9, strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))),
	}
	if len(o.Bucket) > 63 {
		o.Bucket = o.Bucket[:63]
	}
	o.Bucket = strings.TrimRight(o.Bucket, "-")
	s3test.MakeBucket(t, s3Client(t, o), o.Bucket)
	return o
}

// s3Client is an independent client, to look at the bucket the way a
// downstream system would.
func s3Client(t *testing.T, o S3Options) *minio.Client {
	return s3test.Client(t, o.Endpoint, o.AccessKey, o.SecretKey)
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestS3Store: every way a blob enters the store (in memory, streamed small
// and large, staged on disk and in memory) ends as an object named by its
// sha256 that another client reads back byte for byte by the record's URI;
// nothing stays on local disk; Open reads through the bucket.
func TestS3Store(t *testing.T) {
	o := s3Server(t)
	o.Prefix = "originals/"
	dir := t.TempDir()
	d, err := Open(dir, Options{S3: &o})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	mc := s3Client(t, o)

	small := []byte("来信：请求法院尽快执行（2024）京0105执1234号判决。")
	large := randomBytes(t, 3<<20+17) // over the head-first threshold
	medium := randomBytes(t, 300<<10) // over the journal's size, streamed
	stagedFile := randomBytes(t, 700<<10)
	stagedMem := []byte("a small posted body")

	var refs []Ref
	r, err := d.Put(bytes.NewReader(small), 0)
	if err != nil {
		t.Fatal(err)
	}
	refs = append(refs, r)
	for _, b := range [][]byte{large, medium} {
		r, err := d.Put(io.MultiReader(bytes.NewReader(b[:1000]), bytes.NewReader(b[1000:])), 0)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r)
	}
	st, err := d.Stage(bytes.NewReader(stagedFile), 0, "client-a")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Promote(); err != nil {
		t.Fatal(err)
	}
	refs = append(refs, st.Ref)
	sm := d.StageBytes(stagedMem)
	if err := sm.Promote(); err != nil {
		t.Fatal(err)
	}
	refs = append(refs, sm.Ref)
	if d.StagedBytes() != 0 {
		t.Errorf("staged bytes after promotion: %d", d.StagedBytes())
	}

	for i, want := range [][]byte{small, large, medium, stagedFile, stagedMem} {
		ref := refs[i]
		if ref.SHA256 != sumOf(want) || ref.Size != int64(len(want)) {
			t.Errorf("blob %d: ref %+v, want sha %s size %d", i, ref, sumOf(want), len(want))
		}
		wantURI := "s3://" + o.Bucket + "/originals/" + ref.SHA256[:2] + "/" + ref.SHA256
		if ref.URI != wantURI {
			t.Errorf("blob %d: uri %q, want %q", i, ref.URI, wantURI)
		}
		got, info := s3test.Get(t, mc, ref.URI)
		if !bytes.Equal(got, want) {
			t.Errorf("blob %d: object differs (%d bytes, want %d)", i, len(got), len(want))
		}
		if info.UserMetadata["Sha256"] != ref.SHA256 {
			t.Errorf("blob %d: sha256 metadata %q", i, info.UserMetadata)
		}
		rc, err := d.Open(ref.SHA256)
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(b, want) {
			t.Errorf("Open %d: %d bytes, %v", i, len(b), err)
		}
	}
	// The same original again: the same reference, and still one object.
	again, err := d.Put(bytes.NewReader(large), 0)
	if err != nil || again != refs[1] {
		t.Errorf("second put of the large blob: %+v, %v", again, err)
	}
	n := 0
	for obj := range mc.ListObjects(context.Background(), o.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n++
	}
	if n != 5 {
		t.Errorf("%d objects in the bucket, want 5", n)
	}
	// Nothing of the blobs stays on local disk: only staging/tmp, empty.
	for _, sub := range []string{"tmp", "staging"} {
		ents, _ := os.ReadDir(dir + "/" + sub)
		if len(ents) != 0 {
			t.Errorf("%s/ keeps %d files", sub, len(ents))
		}
	}
	for _, sum := range []string{refs[0].SHA256, refs[1].SHA256} {
		if _, err := os.Stat(d.path(sum)); err == nil {
			t.Errorf("blob %s also written locally", sum[:8])
		}
	}

	if _, err := d.Open(strings.Repeat("ab", 32)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open of a missing blob: %v, want ErrNotFound", err)
	}
	if _, err := d.Put(bytes.NewReader(large), 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v, want ErrTooLarge", err)
	}
	if _, err := d.GC(GCOptions{MinAge: 24 * time.Hour}); err == nil || !strings.Contains(err.Error(), "s3://"+o.Bucket) {
		t.Errorf("GC on a bucket: %v, want a refusal naming it", err)
	}
	if d.Location() != "s3://"+o.Bucket+"/originals/" {
		t.Errorf("location %q", d.Location())
	}
}

// TestS3BaseURI: with blobs.base_uri the records carry the operator's URL
// (a gateway in front of the bucket), not s3://.
func TestS3BaseURI(t *testing.T) {
	o := s3Server(t)
	d, err := Open(t.TempDir(), Options{S3: &o, BaseURI: "https://blobs.court.example/evidence/"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r, err := d.Put(bytes.NewReader([]byte("x")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://blobs.court.example/evidence/" + r.SHA256[:2] + "/" + r.SHA256; r.URI != want {
		t.Errorf("uri %q, want %q", r.URI, want)
	}
}

// TestS3OpenErrors: a missing bucket or wrong keys stop the start with a
// message that says which, never with the secret in it.
func TestS3OpenErrors(t *testing.T) {
	o := s3Server(t)
	missing := o
	missing.Bucket = o.Bucket + "-missing"
	if _, err := Open(t.TempDir(), Options{S3: &missing}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing bucket: %v", err)
	}
	wrong := o
	wrong.SecretKey = "not-the-secret-key-at-all"
	_, err := Open(t.TempDir(), Options{S3: &wrong})
	if err == nil {
		t.Fatal("wrong secret key accepted")
	}
	if strings.Contains(err.Error(), wrong.SecretKey) {
		t.Errorf("error shows the secret: %v", err)
	}
	down := o
	down.Endpoint = "127.0.0.1:1"
	down.Timeout = 3 * time.Second
	if _, err := Open(t.TempDir(), Options{S3: &down}); err == nil {
		t.Error("unreachable endpoint accepted")
	}
}

// TestS3PutFailsUnreleased: when the server stops answering, Put fails with
// ErrStore (the channel keeps its item and retries), never with a reference
// to an object that is not there.
func TestS3PutFailsUnreleased(t *testing.T) {
	o := s3Server(t)
	d, err := Open(t.TempDir(), Options{S3: &o})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Point the store at a dead endpoint after the start check, as when
	// the server goes away mid-run.
	dead := o
	dead.Endpoint = "127.0.0.1:1"
	dead.Timeout = 2 * time.Second
	r, err := newS3Remote(dead, "")
	if err != nil {
		t.Fatal(err)
	}
	d.remote = r
	if _, err := d.Put(bytes.NewReader([]byte("lost?")), 0); !errors.Is(err, ErrStore) {
		t.Errorf("put to a dead server: %v, want ErrStore", err)
	}
	st, err := d.Stage(bytes.NewReader(randomBytes(t, 1000)), 0, "c")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Promote(); !errors.Is(err, ErrStore) {
		t.Errorf("promote to a dead server: %v, want ErrStore", err)
	}
	// The staged upload is still there to retry.
	if d.StagedBytes() != 1000 {
		t.Errorf("staged bytes %d after a failed promotion, want 1000", d.StagedBytes())
	}
	st.Discard()
}
