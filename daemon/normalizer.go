package daemon

import (
	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/normalize"
)

// buildNormalizer makes the normalizer from the config. With a nil store it
// only validates.
func buildNormalizer(cfg *config.Config, store blob.Store) (*normalize.Normalizer, error) {
	return &normalize.Normalizer{Blobs: store}, nil
}
