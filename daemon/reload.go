package daemon

import (
	"github.com/court12368/petitiond/config"
)

// Reload reads the config file again. An invalid file leaves the running
// configuration in place; the error is logged and counted.
func (d *Daemon) Reload(file string) error {
	cfg, err := config.Load(file, d.Registry)
	if err == nil {
		_, err = Build(cfg, d.Registry)
	}
	if err != nil {
		d.reloads.WithLabelValues("failure").Inc()
		d.Log.Error("reload rejected; keeping the running configuration", "err", err)
		return err
	}
	d.reloads.WithLabelValues("success").Inc()
	d.Log.Warn("reload: configuration is valid, but applying changes is not implemented yet; restart to apply")
	return nil
}
