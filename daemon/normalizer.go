package daemon

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/normalize/classify"
)

// buildNormalizer makes the normalizer from the config. With a nil store it
// only validates (petitiond check). repeats is shared across reloads.
func buildNormalizer(cfg *config.Config, store blob.Store, repeats *normalize.Repeats) (*normalize.Normalizer, error) {
	cls, err := classify.Compile(cfg.Normalize.Classify)
	if err != nil {
		var errs config.Errors
		for _, line := range strings.Split(err.Error(), "\n") {
			errs = append(errs, cfg.Errorf("normalize.classify", "%s", line))
		}
		return nil, errs
	}
	if cfg.Normalize.Repeats.MaxEntries < 0 {
		return nil, config.Errors{cfg.Errorf("normalize.repeats.max_entries", "must not be negative")}
	}
	n := &normalize.Normalizer{Blobs: store, Classifier: cls}
	if store == nil {
		return n, nil
	}
	if n.KeySecret, err = petitionerSecret(cfg); err != nil {
		return nil, err
	}
	if r := cfg.Normalize.Repeats; r.Enabled == nil || *r.Enabled {
		n.Repeats = repeats
	}
	return n, nil
}

// petitionerSecret is normalize.repeats.key, or a random key created once
// in the state dir (so pseudonyms stay stable across restarts).
func petitionerSecret(cfg *config.Config) ([]byte, error) {
	if k := cfg.Normalize.Repeats.Key; k != "" {
		return []byte(k), nil
	}
	file := filepath.Join(cfg.State.Dir, "petitioner.key")
	if b, err := os.ReadFile(file); err == nil && len(b) >= 32 {
		return b, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("petitioner key: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(file, key, 0o600); err != nil {
		return nil, fmt.Errorf("petitioner key: %w", err)
	}
	return key, nil
}
