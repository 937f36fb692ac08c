// Package s3test holds what the tests of the S3 blob backend (blob,
// test/integration, test/cluster) do with the S3 server the scripts start
// (scripts/seaweedfs.sh): an independent client, a fresh bucket, and
// reading an object by the URI a record carries, as downstream does. It
// depends on minio-go only, so that the blob package's own tests can use it.
package s3test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Client is a client of its own, not petitiond's.
func Client(t testing.TB, endpoint, accessKey, secretKey string) *minio.Client {
	t.Helper()
	c, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// MakeBucket makes a bucket and uploads to it once: SeaweedFS grows a new
// bucket's volumes at its first upload, which takes seconds on a loaded
// machine — not inside a test's short timeouts.
func MakeBucket(t testing.TB, c *minio.Client, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket %s: %v", name, err)
	}
	if _, err := c.PutObject(ctx, name, "warm-up", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("first upload to %s: %v", name, err)
	}
	if err := c.RemoveObject(ctx, name, "warm-up", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("remove the first upload: %v", err)
	}
}

// Key splits a record's s3://bucket/key URI (a call-log record names a
// byte range of its object: #bytes=a-b, dropped).
func Key(t testing.TB, uri string) (bucket, key string) {
	t.Helper()
	uri, _, _ = strings.Cut(uri, "#")
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		t.Fatalf("uri %q is not s3://", uri)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	return bucket, key
}

// Get reads the object a record's URI names.
func Get(t testing.TB, c *minio.Client, uri string) ([]byte, minio.ObjectInfo) {
	t.Helper()
	bucket, key := Key(t, uri)
	obj, err := c.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("get %s: %v", uri, err)
	}
	info, _ := obj.Stat()
	return b, info
}
