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

// Reload reads the config file again and applies it without a restart,
// all or nothing: the new file is loaded and validated, every added or
// changed channel is built and bound (and a failed one built again), and
// only when all of that succeeded are routes and normalization rules
// swapped, removed and changed channels drained and stopped, and the new
// ones run. Unchanged channels (same decoded settings: comments and
// formatting do not count) are not touched. Anything that fails leaves
// everything running as it was; the error is logged, counted and returned,
// and the same file can simply be reloaded again. Changes to kafka, blobs,
// state, admin and pipeline need a restart and are reported.
func (d *Daemon) Reload(file string) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if d.shuttingDown {
		return nil
	}
	// systemd (Type=notify-reload) waits for READY=1 after RELOADING=1,
	// whether the reload was applied or rejected.
	if d.notifier.Enabled() {
		d.notifier.Reloading()
		defer func() { d.notifier.Ready(d.StatusLine()) }()
	}
	d.statusMu.Lock()
	d.reloadAt = time.Now()
	d.statusMu.Unlock()
	if err := d.reload(file); err != nil {
		d.reloads.WithLabelValues("failure").Inc()
		d.reloadOK.Set(0)
		d.Log.Error("reload rejected; keeping the running configuration", "err", err)
		return err
	}
	return nil
}

func (d *Daemon) reload(file string) error {
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
		return err
	}
	c, err := d.prepare(cfg)
	if err != nil {
		return err
	}
	d.eng.SetRules(rules)
	if d.prod != nil {
		// Readiness follows the topics records now go to.
		d.prod.ProbeTopics(rules.Topics())
	}
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
	// Sections that need a restart keep their running values.
	cfg.Kafka, cfg.Blobs, cfg.State, cfg.Admin, cfg.Pipeline = d.cfg.Kafka, d.cfg.Blobs, d.cfg.State, d.cfg.Admin, d.cfg.Pipeline
	d.cfg = cfg
	d.rules = rules
	d.commit(c)
	d.reloads.WithLabelValues("success").Inc()
	d.loaded(cfg)
	d.Log.Info("configuration reloaded", "added", c.added, "removed", c.removed, "changed", c.changed)
	return nil
}

// loaded records that cfg is running, in the reload metrics.
func (d *Daemon) loaded(cfg *config.Config) {
	d.reloadOK.Set(1)
	d.reloadTime.SetToCurrentTime()
	d.configInfo.Reset()
	d.configInfo.WithLabelValues(cfg.Hash).Set(1)
	d.statusMu.Lock()
	d.configFile = cfg.File
	d.statusMu.Unlock()
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
