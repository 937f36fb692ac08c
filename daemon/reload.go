package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/router"
)

// Reload reads the config file again and applies it without a restart:
// routes and normalization rules are swapped, added channels start, removed
// channels drain (their in-flight items are acknowledged) and stop, changed
// channels restart, unchanged channels are not touched. An invalid file
// leaves everything running as it was; the error is logged and counted.
// Changes to kafka, blobs, state and admin need a restart and are reported.
func (d *Daemon) Reload(file string) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if d.shuttingDown {
		return nil
	}
	cfg, err := config.Load(file, d.Registry)
	var rules *router.Rules
	if err == nil {
		rules, err = Build(cfg, d.Registry)
	}
	var norm *normalize.Normalizer
	if err == nil {
		norm, err = buildNormalizer(cfg, d.blobs, d.repeats)
	}
	if err == nil && d.cfg.Kafka.CreateTopicsEnabled() {
		// New rules may name new topics: create them before any record
		// is routed there.
		if terr := d.ensureTopics(rules); terr != nil {
			err = fmt.Errorf("creating the topics of the new routes: %w", terr)
		}
	}
	if err != nil {
		d.reloads.WithLabelValues("failure").Inc()
		d.Log.Error("reload rejected; keeping the running configuration", "err", err)
		return err
	}
	d.eng.SetRules(rules)
	d.eng.SetNormalizer(norm)
	for section, same := range map[string]bool{
		"kafka":    reflect.DeepEqual(cfg.Kafka, d.cfg.Kafka),
		"blobs":    reflect.DeepEqual(cfg.Blobs, d.cfg.Blobs),
		"state":    reflect.DeepEqual(cfg.State, d.cfg.State),
		"admin":    reflect.DeepEqual(cfg.Admin, d.cfg.Admin),
		"pipeline": reflect.DeepEqual(cfg.Pipeline, d.cfg.Pipeline),
	} {
		if !same {
			d.Log.Warn("reload: this section changed but applies only after a restart", "section", section)
		}
	}

	old := map[string]config.Channel{}
	for _, c := range d.cfg.Channels {
		old[c.Name] = c
	}
	next := map[string]config.Channel{}
	for _, c := range cfg.Channels {
		next[c.Name] = c
	}
	var added, removed, changed []string
	// Stop removed and changed channels first (a changed web channel may
	// keep its port), draining their in-flight items.
	for name, oc := range old {
		nc, ok := next[name]
		switch {
		case !ok:
			removed = append(removed, name)
			d.stopChannel(name)
			d.metrics.Forget(name)
		case nc.Raw != oc.Raw:
			changed = append(changed, name)
			d.stopChannel(name)
		}
	}
	var startErr error
	for _, nc := range cfg.Channels {
		oc, existed := old[nc.Name]
		if existed && oc.Raw == nc.Raw {
			continue
		}
		if !existed {
			added = append(added, nc.Name)
		}
		if err := d.startChannel(nc); err != nil {
			d.Log.Error("reload: channel did not start", "channel", nc.Name, "err", err)
			startErr = err
		}
	}
	// Sections that need a restart keep their running values.
	cfg.Kafka, cfg.Blobs, cfg.State, cfg.Admin, cfg.Pipeline = d.cfg.Kafka, d.cfg.Blobs, d.cfg.State, d.cfg.Admin, d.cfg.Pipeline
	d.cfg = cfg
	d.rules = rules
	if startErr != nil {
		d.reloads.WithLabelValues("failure").Inc()
		return startErr
	}
	d.reloads.WithLabelValues("success").Inc()
	d.Log.Info("configuration reloaded", "added", added, "removed", removed, "changed", changed)
	return nil
}

// stopChannel cancels a channel and waits until it has drained and stopped.
func (d *Daemon) stopChannel(name string) {
	d.mu.Lock()
	r := d.channels[name]
	delete(d.channels, name)
	d.mu.Unlock()
	if r == nil {
		return
	}
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(d.cfg.Pipeline.DrainTimeout.D() + 5*time.Second):
		d.Log.Error("channel did not stop within the drain timeout", "channel", name)
	}
}

// WatchConfig reloads when the config file changes (editors replace files,
// so the directory is watched). It returns when ctx is done.
func (d *Daemon) WatchConfig(ctx context.Context, file string) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	abs, _ := filepath.Abs(file)
	if err := w.Add(filepath.Dir(abs)); err != nil {
		return err
	}
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-w.Events:
			if p, _ := filepath.Abs(ev.Name); p == abs && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
				debounce = time.After(300 * time.Millisecond) // let the writer finish
			}
		case err := <-w.Errors:
			d.Log.Warn("config watcher", "err", err)
		case <-debounce:
			debounce = nil
			d.Log.Info("config file changed; reloading")
			d.Reload(file)
		}
	}
}
