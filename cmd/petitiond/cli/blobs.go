package cli

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/daemon"
)

// blobsCmd runs `petitiond blobs gc`: it deletes the blobs that no record
// references (not in the store's reference log) and that are older than
// -min-age, and staged uploads a crash left behind. It is safe while the
// daemon runs.
func blobsCmd(args []string, reg *channels.Registry, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "gc" {
		fmt.Fprintln(stderr, "usage: petitiond blobs gc -c FILE [-min-age 24h] [-dry-run]")
		return 2
	}
	fs := flag.NewFlagSet("blobs gc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "petitiond.yaml", "configuration file")
	minAge := fs.Duration("min-age", 24*time.Hour, "keep blobs and staged files younger than this (at least 1h)")
	dry := fs.Bool("dry-run", false, "only report what would be deleted")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, err := config.Load(*file, reg)
	if err != nil {
		printErrors(stderr, err)
		return 1
	}
	d, err := blob.Open(cfg.Blobs.Dir, daemon.BlobOptions(cfg.Blobs, false))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer d.Close()
	res, err := d.GC(blob.GCOptions{MinAge: *minAge, DryRun: *dry})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	verb := "deleted"
	if *dry {
		verb = "would delete"
	}
	fmt.Fprintf(stdout, "%s: %d blobs (%d younger than %v, %d referenced); %s %d unreferenced blobs (%d bytes) and %d stale staged files (%d bytes)\n",
		cfg.Blobs.Dir, res.Blobs, res.Young, *minAge, res.Referenced, verb, res.Deleted, res.DeletedBytes, res.StaleStaged, res.StaleStagedBytes)
	return 0
}
