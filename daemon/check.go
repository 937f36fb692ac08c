package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config"
)

// CheckChannels builds every channel of cfg with its type's New, as a
// start would, without running or binding anything: what only New finds
// (an unreadable CA file, a parser the settings cannot make) is reported
// by `petitiond check`. State and blobs go to a scratch directory.
func CheckChannels(cfg *config.Config, reg *channels.Registry) error {
	scratch, err := os.MkdirTemp("", "petitiond-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	// A scratch blob store: channels that stage uploads (web) need one
	// with a staging area to be built at all.
	blobs, err := blob.Open(filepath.Join(scratch, "blobs"), blob.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer blobs.Close()
	var errs config.Errors
	for i, cc := range cfg.Channels {
		t, ok := reg.Lookup(cc.Type)
		if !ok || cc.Decoded == nil {
			continue // reported by the config already
		}
		env := channels.Env{
			Name:     cc.Name,
			Logger:   slog.New(slog.DiscardHandler),
			Blobs:    blobs,
			StateDir: filepath.Join(scratch, fmt.Sprint(i)),
			Mapper:   cc.Mapper,
			Listener: func(string, string) (net.Listener, error) {
				return nil, errors.New("petitiond check does not listen")
			},
		}
		if err := os.MkdirAll(env.StateDir, 0o700); err != nil {
			return err
		}
		if _, err := t.New(cc.Decoded, env); err != nil {
			errs = append(errs, cfg.ChannelError(i, err))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
