package daemon

import (
	"log/slog"
	"time"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/config"
)

// openBlobs opens the blob store with its staging bounds and removes
// staged files a crash left behind (older than an hour, so that uploads of
// another instance sharing the directory are not touched).
func openBlobs(bc config.Blobs, noSync bool, log *slog.Logger) (*blob.Dir, error) {
	d, err := blob.Open(bc.Dir, BlobOptions(bc, noSync))
	if err != nil {
		return nil, err
	}
	if bc.S3 != nil {
		log.Info("blobs are kept in an S3 bucket", "location", d.Location(), "endpoint", bc.S3.Endpoint)
	}
	if n, bytes := d.RemoveStaleStaging(time.Hour); n > 0 {
		log.Info("removed staged uploads left by an earlier run", "files", n, "bytes", bytes)
	}
	return d, nil
}

// BlobOptions are the blob store's options from its configuration.
func BlobOptions(bc config.Blobs, noSync bool) blob.Options {
	o := blob.Options{
		BaseURI: bc.BaseURI,
		NoSync:  noSync,
		Staging: blob.StagingLimits{MaxBytes: int64(bc.Staging.MaxBytes), MaxBytesPerClient: int64(bc.Staging.MaxBytesPerClient)},
	}
	if s := bc.S3; s != nil {
		o.S3 = &blob.S3Options{
			Endpoint: s.Endpoint, Bucket: s.Bucket, Region: s.Region, Prefix: s.Prefix,
			AccessKey: s.AccessKey, SecretKey: s.SecretKey,
			TLS: s.TLS, CAFile: s.CAFile, Timeout: time.Duration(s.Timeout),
		}
	}
	return o
}
