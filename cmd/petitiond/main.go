// Command petitiond is the intake daemon of a court's public opinion
// centre: it turns web submissions, letters, calls and scans into petition
// records in Kafka.
package main

import (
	"os"

	_ "github.com/court12368/petitiond/channels/all"
	"github.com/court12368/petitiond/cmd/petitiond/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
