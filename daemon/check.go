package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config"
)

// CheckChannels builds every channel of cfg with its type's New, as a
// start would, without running or binding anything: what only New finds
// (an unreadable CA file, a parser the settings cannot make) is reported
// by `petitiond check`. State goes to a scratch directory.
func CheckChannels(cfg *config.Config, reg *channels.Registry) error {
	scratch, err := os.MkdirTemp("", "petitiond-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	var errs config.Errors
	for i, cc := range cfg.Channels {
		t, ok := reg.Lookup(cc.Type)
		if !ok || cc.Decoded == nil {
			continue // reported by the config already
		}
		env := channels.Env{
			Name:     cc.Name,
			Logger:   slog.New(slog.DiscardHandler),
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
