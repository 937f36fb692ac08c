// Package cli implements petitiond's subcommands.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/daemon"
	"github.com/court12368/petitiond/internal/logging"
	"github.com/court12368/petitiond/internal/sdnotify"
)

const usage = `petitiond — intake daemon of a court's public opinion centre (12368)

Usage:
  petitiond run -c FILE [-pid-file PIDFILE] [-watch=false]
                              run the configured channels
  petitiond check -c FILE     validate a config; list every error with file:line
  petitiond channels          list the channel types
  petitiond example TYPE      print a commented example config for a channel type
  petitiond schema            print the JSON Schema of the config file
  petitiond schema register -c FILE -registry URL
                              register the record JSON Schemas as <topic>-value
                              subjects in a Confluent-API schema registry
  petitiond blobs gc -c FILE  delete blobs no record references (-min-age 24h, -dry-run)
  petitiond version           print the version

Signals (run): SIGTERM/SIGINT stop intake, drain in-flight petitions, exit 0;
SIGHUP reloads the configuration: kill -HUP $(cat PIDFILE).
`

// Main runs a subcommand and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	reg := channels.Default
	switch args[0] {
	case "run":
		return run(args[1:], reg, stderr)
	case "check":
		return check(args[1:], reg, stdout, stderr)
	case "channels":
		for _, t := range reg.Types() {
			fmt.Fprintf(stdout, "%-10s %s\n", t.Name, t.Summary)
		}
		return 0
	case "example":
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: petitiond example TYPE")
			return 2
		}
		t, ok := reg.Lookup(args[1])
		if !ok {
			fmt.Fprintf(stderr, "unknown channel type %q (known: %v)\n", args[1], reg.Names())
			return 2
		}
		stdout.Write(t.Example)
		return 0
	case "schema":
		if len(args) > 1 && args[1] == "register" {
			return schemaRegister(args[2:], reg, stdout, stderr)
		}
		if len(args) > 1 {
			fmt.Fprintln(stderr, "usage: petitiond schema | petitiond schema register -c FILE -registry URL")
			return 2
		}
		b, err := config.JSONSchema(reg)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return 0
	case "blobs":
		return blobsCmd(args[1:], reg, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "petitiond", daemon.Version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return 2
}

// options are the flags of run and check.
type options struct {
	file    string // -c
	watch   bool   // -watch (run)
	pidFile string // -pid-file (run)
}

// flags parses -c FILE (and -watch, -pid-file for run).
func flags(name string, args []string, stderr io.Writer) (o options, ok bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.file, "c", "petitiond.yaml", "configuration file")
	if name == "run" {
		fs.BoolVar(&o.watch, "watch", true, "reload when the configuration file changes")
		fs.StringVar(&o.pidFile, "pid-file", "", "write the process id to this file while running (signal this instance: kill -HUP $(cat FILE))")
	}
	if err := fs.Parse(args); err != nil {
		return o, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", name, fs.Arg(0))
		return o, false
	}
	return o, true
}

func printErrors(w io.Writer, err error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			printErrors(w, e)
		}
		return
	}
	var es config.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fmt.Fprintln(w, e)
		}
		return
	}
	fmt.Fprintln(w, err)
}

func check(args []string, reg *channels.Registry, stdout, stderr io.Writer) int {
	o, ok := flags("check", args, stderr)
	if !ok {
		return 2
	}
	file := o.file
	cfg, err := config.Load(file, reg)
	if cfg != nil {
		if _, berr := daemon.Build(cfg, reg); berr != nil {
			err = errors.Join(err, berr)
		}
	}
	if err == nil {
		// Build each channel as a start would (without binding or
		// connecting): what only its type's New finds is reported too.
		err = daemon.CheckChannels(cfg, reg)
	}
	if err != nil {
		printErrors(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (%d channels)\n", file, len(cfg.Channels))
	return 0
}

func run(args []string, reg *channels.Registry, stderr io.Writer) int {
	o, ok := flags("run", args, stderr)
	if !ok {
		return 2
	}
	file := o.file
	cfg, err := config.Load(file, reg)
	if err != nil {
		printErrors(stderr, err)
		return 1
	}
	if o.pidFile != "" {
		// Fail before any port is bound or input taken.
		if err := checkPIDFile(o.pidFile); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	log := logging.New(stderr, cfg.Log.Level, cfg.Log.Format)
	d, err := daemon.Start(cfg, reg, log)
	if err != nil {
		fmt.Fprintln(stderr, "petitiond did not start:")
		printErrors(stderr, err)
		return 1
	}
	ctx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	if o.watch {
		go func() {
			if err := d.WatchConfig(ctx, file); err != nil {
				log.Warn("not watching the config file; reload with SIGHUP", "err", err)
			}
		}()
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	// The pid file is written once the signals are caught, so a SIGHUP
	// sent to the pid it names reloads instead of killing the process.
	if o.pidFile != "" {
		if err := writePIDFile(o.pidFile); err != nil {
			log.Error("pid file", "err", err)
			signal.Stop(sigs)
			stopWatch()
			d.Shutdown()
			return 1
		}
		defer removePIDFile(o.pidFile)
	}
	// Under systemd (Type=notify): READY=1 once the channels run, STATUS=
	// lines with channel counts, WATCHDOG=1 from this loop while the
	// daemon is alive, STOPPING=1 at the end. All no-ops without
	// $NOTIFY_SOCKET.
	notify := sdnotify.FromEnv()
	d.SetNotifier(notify)
	var tick <-chan time.Time
	watchdog, wdOK := sdnotify.WatchdogInterval()
	status := ""
	if notify.Enabled() {
		d.WaitStarted(10 * time.Second)
		status = d.StatusLine()
		if err := notify.Ready(status); err != nil {
			log.Warn("systemd notification", "err", err)
		}
		every := 10 * time.Second // STATUS= refresh
		if wdOK {
			every = min(every, watchdog)
			notify.Watchdog()
		}
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
loop:
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				go d.Reload(file) // a SIGTERM is not kept waiting behind it
				continue
			}
			log.Info("signal received", "signal", sig.String())
			break loop
		case <-tick:
			// Fed from the main loop, and only while the daemon answers:
			// a stuck loop or daemon lets the watchdog restart us.
			if wdOK && d.Alive() {
				notify.Watchdog()
			}
			if s := d.StatusLine(); s != status {
				status = s
				notify.Status(s)
			}
		}
	}
	notify.Stopping()
	signal.Stop(sigs)
	stopWatch()
	if err := d.Shutdown(); err != nil {
		log.Error("shutdown incomplete: unacknowledged items will be redelivered on the next start", "err", err)
	}
	return 0
}
