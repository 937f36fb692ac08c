package normalize_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/petition"
)

func TestDecodersRegisterPanics(t *testing.T) {
	dec := func(*normalize.Normalizer, petition.ChannelRef, *channels.Item) (*petition.Petition, error) {
		return nil, errors.New("x")
	}
	for name, reg := range map[string]func(ds *normalize.Decoders){
		"duplicate": func(ds *normalize.Decoders) { ds.Register("k", dec); ds.Register("k", dec) },
		"fields":    func(ds *normalize.Decoders) { ds.Register(channels.KindFields, dec) },
		"empty":     func(ds *normalize.Decoders) { ds.Register("", dec) },
		"nil":       func(ds *normalize.Decoders) { ds.Register("k", nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			reg(normalize.NewDecoders())
		})
	}
}

// TestDecoderByKind: an item of a registered kind goes to its decoder and
// gets the common finish (id, tracking number, parsed case numbers); an
// unknown kind is an error that names it.
func TestDecoderByKind(t *testing.T) {
	ds := normalize.NewDecoders()
	ds.Register("test-kind", func(n *normalize.Normalizer, ch petition.ChannelRef, it *channels.Item) (*petition.Petition, error) {
		p := n.NewPetition(ch, it)
		p.Content = "案号（2024）赣0102民初100号 " + it.Fields["x"]
		return p, nil
	})
	n := &normalize.Normalizer{Decoders: ds}
	ch := petition.ChannelRef{Name: "t", Type: "test"}
	pets, err := n.Normalize(ch, &channels.Item{Kind: "test-kind", SourceID: "s1", Fields: map[petition.Field]string{"x": "y"}})
	if err != nil {
		t.Fatal(err)
	}
	p := pets[0]
	if p.ID != petition.ID("t", "s1") || p.TrackingNo == "" || len(p.Cases) != 1 || !strings.HasSuffix(p.Content, "y") {
		t.Errorf("record = %+v", p)
	}
	_, err = n.Normalize(ch, &channels.Item{Kind: "other-kind", SourceID: "s2"})
	if err == nil || !strings.Contains(err.Error(), `"other-kind"`) {
		t.Errorf("unknown kind: err = %v", err)
	}
}
