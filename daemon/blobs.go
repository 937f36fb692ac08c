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
	d, err := blob.Open(bc.Dir, blob.Options{
		BaseURI: bc.BaseURI,
		NoSync:  noSync,
		Staging: blob.StagingLimits{MaxBytes: int64(bc.Staging.MaxBytes), MaxBytesPerClient: int64(bc.Staging.MaxBytesPerClient)},
	})
	if err != nil {
		return nil, err
	}
	if n, bytes := d.RemoveStaleStaging(time.Hour); n > 0 {
		log.Info("removed staged uploads left by an earlier run", "files", n, "bytes", bytes)
	}
	return d, nil
}
