package classify

import (
	"bytes"
	_ "embed"
	"fmt"

	"gopkg.in/yaml.v3"
)

//go:embed defaults.yaml
var defaultsYAML []byte

// DefaultsYAML returns the shipped default rules as YAML, for operators
// who want to copy and adapt them.
func DefaultsYAML() []byte { return bytes.Clone(defaultsYAML) }

// DefaultRules returns the shipped default rules (defaults.yaml), decoded
// strictly. Each call returns a fresh copy.
func DefaultRules() ([]Rule, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(defaultsYAML))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("classify: defaults.yaml: %w", err)
	}
	return cfg.Rules, nil
}

// DefaultConfig returns a configuration made of the shipped rules alone
// (with Defaults false, so compiling it does not add them twice, and
// Scorer true):
// Compile(DefaultConfig()) behaves like Compile(Config{}).
func DefaultConfig() Config {
	rules, err := DefaultRules()
	if err != nil {
		panic(err) // defaults.yaml is tested; it cannot fail at run time
	}
	off, on := false, true
	return Config{Rules: rules, Defaults: &off, Scorer: &on}
}
