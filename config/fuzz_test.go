package config_test

import (
	"testing"

	"github.com/court12368/petitiond/channels"
	_ "github.com/court12368/petitiond/channels/all"
	"github.com/court12368/petitiond/config"
)

// FuzzParse: any file gives a config or errors, never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte("kafka: {brokers: [x]}\nchannels:\n  - {name: w, type: web, settings: {listen: ':1', max_body_size: 1MiB}}\n"))
	f.Add([]byte("x: &a [*a]\n"))
	f.Add([]byte("kafka:\n  embedded: {}\nchannels: [{name: c, type: calllog, settings: {path: /x, format: csv, mapping: {columns: [a]}}}]\n"))
	f.Add([]byte("channels: [{name: m, type: imap, settings: {password_file: /nonexistent}, mapping: {name: {from: [a, b]}}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		config.Parse("fuzz.yaml", data, channels.Default)
	})
}
