package blob

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options configure the S3-compatible backend: blobs are objects
// <prefix><aa>/<sha256> in one bucket, shared by every instance that names
// it. The local directory keeps only the staging area and temporary files.
type S3Options struct {
	// Endpoint is host[:port] of the S3 API (no scheme).
	Endpoint string
	Bucket   string
	// Region of the bucket; empty lets the client ask the server.
	Region string
	// Prefix is prepended to every object name ("" or ending in "/").
	Prefix string
	// AccessKey and SecretKey sign the requests. Both empty: taken from
	// the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, then
	// MINIO_ROOT_USER/MINIO_ROOT_PASSWORD).
	AccessKey, SecretKey string
	// TLS: talk HTTPS; CAFile adds the CAs that sign the server's
	// certificate (default: the system's).
	TLS    bool
	CAFile string
	// Timeout bounds one operation (an upload of a large original
	// included); default 5 minutes.
	Timeout time.Duration
}

// s3Remote stores blobs in an S3 bucket.
type s3Remote struct {
	c       *minio.Client
	bucket  string
	prefix  string
	timeout time.Duration
	uriBase string // "" → s3://bucket/
}

// s3HeadFirst: blobs at least this large are looked up before they are
// uploaded (an original sent twice is not uploaded twice); smaller ones are
// just put, which costs the same round trip.
const s3HeadFirst = 1 << 20

func newS3Remote(o S3Options, baseURI string) (*s3Remote, error) {
	if o.Endpoint == "" || o.Bucket == "" {
		return nil, errors.New("s3: endpoint and bucket are required")
	}
	if strings.Contains(o.Endpoint, "://") {
		return nil, fmt.Errorf("s3: endpoint %q: give host[:port] without a scheme (tls: true for https)", o.Endpoint)
	}
	var creds *credentials.Credentials
	switch {
	case o.AccessKey != "" && o.SecretKey != "":
		creds = credentials.NewStaticV4(o.AccessKey, o.SecretKey, "")
	case o.AccessKey == "" && o.SecretKey == "":
		creds = credentials.NewChainCredentials([]credentials.Provider{&credentials.EnvAWS{}, &credentials.EnvMinio{}})
	default:
		return nil, errors.New("s3: set both access_key and secret_key, or neither (then they come from the environment)")
	}
	tr, err := minio.DefaultTransport(o.TLS)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	if o.TLS && o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("s3: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("s3: ca_file %s: no PEM certificate", o.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	}
	c, err := minio.New(o.Endpoint, &minio.Options{
		Creds:     creds,
		Secure:    o.TLS,
		Region:    o.Region,
		Transport: tr,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	r := &s3Remote{c: c, bucket: o.Bucket, prefix: o.Prefix, timeout: o.Timeout, uriBase: baseURI}
	if r.timeout <= 0 {
		r.timeout = 5 * time.Minute
	}
	return r, nil
}

func (r *s3Remote) key(sum string) string { return r.prefix + sum[:2] + "/" + sum }

func (r *s3Remote) uri(sum string) string {
	if r.uriBase != "" {
		return strings.TrimRight(r.uriBase, "/") + "/" + sum[:2] + "/" + sum
	}
	return "s3://" + r.bucket + "/" + r.key(sum)
}

func (r *s3Remote) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), r.timeout)
}

// check makes sure the bucket is there and the credentials reach it.
func (r *s3Remote) check() error {
	ctx, cancel := r.ctx()
	defer cancel()
	ok, err := r.c.BucketExists(ctx, r.bucket)
	if err != nil {
		return fmt.Errorf("s3: bucket %q at %s: %w", r.bucket, r.c.EndpointURL().Host, err)
	}
	if !ok {
		return fmt.Errorf("s3: bucket %q does not exist at %s (petitiond does not create it: create it with the retention the court keeps evidence for)", r.bucket, r.c.EndpointURL().Host)
	}
	return nil
}

// exists reports whether the blob is stored.
func (r *s3Remote) exists(sum string) (bool, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	_, err := r.c.StatObject(ctx, r.bucket, r.key(sum), minio.StatObjectOptions{})
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, err
}

// put uploads size bytes of body under sum. Content-addressed: uploading
// the same blob again writes the same bytes. The object records its sha256
// as metadata, for downstream checks.
func (r *s3Remote) put(sum string, body io.Reader, size int64) error {
	if size >= s3HeadFirst {
		if ok, err := r.exists(sum); err == nil && ok {
			return nil
		}
	}
	ctx, cancel := r.ctx()
	defer cancel()
	_, err := r.c.PutObject(ctx, r.bucket, r.key(sum), body, size, minio.PutObjectOptions{
		ContentType:  "application/octet-stream",
		UserMetadata: map[string]string{"Sha256": sum},
	})
	return err
}

// open returns the blob's content.
func (r *s3Remote) open(sum string) (io.ReadCloser, error) {
	ctx, cancel := r.ctx()
	obj, err := r.c.GetObject(ctx, r.bucket, r.key(sum), minio.GetObjectOptions{})
	if err == nil {
		_, err = obj.Stat() // GetObject is lazy: a missing object shows here
	}
	if err != nil {
		cancel()
		if obj != nil {
			obj.Close()
		}
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, sum)
		}
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return &cancelCloser{ReadCloser: obj, cancel: cancel}, nil
}

type cancelCloser struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelCloser) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func isNotFound(err error) bool {
	resp := minio.ToErrorResponse(err)
	return resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound
}
