package normalize

import (
	"fmt"
	"sort"
	"sync"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/petition"
)

// Decoder reads one item of its kind into a petition record. It fills what
// its input says (petitioner, subject, content, attachments, meta); the
// Normalizer then sets the id, tracking number, parsed case numbers,
// phones and ids found in the text, the category and repeat links.
//
// Errors: a *channels.InvalidError (Invalid) names input a client can fix;
// ErrNotPetition releases the item without a record; an error wrapping
// ErrTransient (Transient) leaves the item with its source for a retry;
// any other error dead-letters the item.
type Decoder func(n *Normalizer, ch petition.ChannelRef, it *channels.Item) (*petition.Petition, error)

// Decoders maps item kinds to their decoders. The zero value is not
// usable; use NewDecoders.
type Decoders struct {
	mu sync.RWMutex
	m  map[channels.Kind]Decoder
}

// NewDecoders returns an empty set of decoders.
func NewDecoders() *Decoders { return &Decoders{m: map[channels.Kind]Decoder{}} }

// Register adds the decoder of a kind. It panics on a duplicate kind, on
// channels.KindFields (built in) or on a nil decoder: registration happens
// from init, and such a mistake is a programming error.
func (ds *Decoders) Register(kind channels.Kind, d Decoder) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	switch {
	case kind == "" || kind == channels.KindFields:
		panic(fmt.Sprintf("normalize: kind %q cannot be registered", kind))
	case d == nil:
		panic(fmt.Sprintf("normalize: nil decoder for kind %q", kind))
	}
	if _, dup := ds.m[kind]; dup {
		panic(fmt.Sprintf("normalize: decoder for kind %q registered twice", kind))
	}
	ds.m[kind] = d
}

// Lookup returns the decoder of a kind.
func (ds *Decoders) Lookup(kind channels.Kind) (Decoder, bool) {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	d, ok := ds.m[kind]
	return d, ok
}

// Kinds returns the registered kinds, sorted.
func (ds *Decoders) Kinds() []channels.Kind {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	out := make([]channels.Kind, 0, len(ds.m))
	for k := range ds.m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// DefaultDecoders is the set the daemon uses; decode packages register into
// it from init (see channels/all). Tests may build their own.
var DefaultDecoders = NewDecoders()

// Register adds a decoder to DefaultDecoders.
func Register(kind channels.Kind, d Decoder) { DefaultDecoders.Register(kind, d) }
