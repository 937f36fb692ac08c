package channels

import (
	"fmt"
	"regexp"
	"sort"
	"sync"
)

// Type describes a channel type.
type Type struct {
	// Name is the type name used in the config's "type" key.
	Name string
	// Summary is one line for `petitiond channels`.
	Summary string
	// NewConfig returns a pointer to a config struct filled with defaults.
	// The config loader decodes the channel's settings into it strictly.
	NewConfig func() any
	// New builds a channel from a decoded, validated config. It must not do
	// I/O that can fail transiently: connections are opened in Run.
	New func(cfg any, env Env) (Channel, error)
	// Example is a commented YAML example of one channel entry.
	Example []byte
	// Mapping says the channel applies the entry's mapping: (Env.Mapper)
	// to its input; the config refuses a mapping: on other types.
	Mapping bool
}

// Registry maps type names to channel types. The zero value is not usable;
// use NewRegistry.
type Registry struct {
	mu    sync.RWMutex
	types map[string]Type
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{types: map[string]Type{}} }

var typeName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// Register adds a type. It panics on a duplicate or malformed type, as
// registration happens from init and such a mistake is a programming error.
func (r *Registry) Register(t Type) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !typeName.MatchString(t.Name) {
		panic(fmt.Sprintf("channels: bad type name %q", t.Name))
	}
	if t.NewConfig == nil || t.New == nil {
		panic(fmt.Sprintf("channels: type %q lacks NewConfig or New", t.Name))
	}
	if _, dup := r.types[t.Name]; dup {
		panic(fmt.Sprintf("channels: type %q registered twice", t.Name))
	}
	r.types[t.Name] = t
}

// Lookup returns the type with that name.
func (r *Registry) Lookup(name string) (Type, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[name]
	return t, ok
}

// Types returns all types sorted by name.
func (r *Registry) Types() []Type {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Type, 0, len(r.types))
	for _, t := range r.types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the registered type names, sorted.
func (r *Registry) Names() []string {
	ts := r.Types()
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// Default is the registry the daemon uses; channel packages register into
// it from init. Tests build their own with NewRegistry.
var Default = NewRegistry()

// Register adds a type to the Default registry.
func Register(t Type) { Default.Register(t) }
