package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/internal/schemaregistry"
)

const schemaRegisterUsage = `usage: petitiond schema register -c FILE -registry URL [-basic-auth-file FILE | -token-file FILE] [-dry-run]

Registers the record JSON Schemas in a schema registry that speaks the
Confluent Schema Registry REST API (Confluent, Karapace, Redpanda; Apicurio
under /apis/ccompat/v7), by the topic name strategy: petition.v1.json as
subject "<topic>-value" for routes.default_topic and every rule's topic,
deadletter.v1.json as "<routes.dead_letter_topic>-value". Idempotent: a
schema a subject already has keeps its id and adds no version.

Credentials are never read from the config: -basic-auth-file (one line
user:password) or $PETITIOND_SCHEMA_REGISTRY_BASIC_AUTH, or -token-file
(a bearer token) or $PETITIOND_SCHEMA_REGISTRY_TOKEN.
`

// schemaRegister runs `petitiond schema register`.
func schemaRegister(args []string, reg *channels.Registry, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schema register", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, schemaRegisterUsage); fs.PrintDefaults() }
	file := fs.String("c", "petitiond.yaml", "configuration file (its routes give the topics)")
	url := fs.String("registry", os.Getenv("PETITIOND_SCHEMA_REGISTRY_URL"), "registry API base URL (default $PETITIOND_SCHEMA_REGISTRY_URL)")
	basicFile := fs.String("basic-auth-file", "", "file holding user:password for HTTP basic auth")
	tokenFile := fs.String("token-file", "", "file holding a bearer token")
	dry := fs.Bool("dry-run", false, "print the subjects without registering")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "schema register: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *url == "" && !*dry {
		fmt.Fprint(stderr, "schema register: -registry is required\n\n"+schemaRegisterUsage)
		return 2
	}
	cfg, err := config.Load(*file, reg)
	if err != nil {
		printErrors(stderr, err)
		return 1
	}
	plan, err := schemaregistry.Plan(cfg.Routes)
	if err != nil {
		fmt.Fprintln(stderr, "schema register:", err)
		return 1
	}
	if *dry {
		for _, s := range plan {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", s.Name, s.Schema.Name, s.Schema.ID)
		}
		return 0
	}
	c := &schemaregistry.Client{URL: *url}
	if err := credentials(c, *basicFile, *tokenFile); err != nil {
		fmt.Fprintln(stderr, "schema register:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	failed := 0
	for _, s := range plan {
		id, err := c.Register(ctx, s.Name, s.Schema.Data)
		if err != nil {
			fmt.Fprintln(stderr, "schema register:", err)
			failed++
			continue
		}
		fmt.Fprintf(stdout, "%s\t%s\tid %d\n", s.Name, s.Schema.Name, id)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// credentials fills in the registry credentials from the files or, without
// them, the environment.
func credentials(c *schemaregistry.Client, basicFile, tokenFile string) error {
	if basicFile != "" && tokenFile != "" {
		return errors.New("-basic-auth-file and -token-file exclude each other")
	}
	basic := os.Getenv("PETITIOND_SCHEMA_REGISTRY_BASIC_AUTH")
	token := os.Getenv("PETITIOND_SCHEMA_REGISTRY_TOKEN")
	if basicFile != "" || tokenFile != "" {
		basic, token = "", ""
	}
	read := func(f string) (string, error) {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	var err error
	if basicFile != "" {
		if basic, err = read(basicFile); err != nil {
			return err
		}
	}
	if tokenFile != "" {
		if token, err = read(tokenFile); err != nil {
			return err
		}
	}
	if basic != "" {
		u, p, ok := strings.Cut(basic, ":")
		if !ok || u == "" {
			return errors.New("basic auth credentials must be user:password")
		}
		c.User, c.Password = u, p
	}
	c.Token = token
	return nil
}
