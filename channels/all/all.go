// Package all registers every built-in channel type in channels.Default,
// and the decoders of their item kinds in normalize.DefaultDecoders: one
// file per type, so a custom build can leave some out.
package all
