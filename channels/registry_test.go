package channels_test

import (
	"strings"
	"testing"

	"github.com/court12368/petitiond/channels"
)

func typ(name string) channels.Type {
	return channels.Type{
		Name:      name,
		NewConfig: func() any { return &struct{}{} },
		New:       func(any, channels.Env) (channels.Channel, error) { return nil, nil },
	}
}

func mustPanic(t *testing.T, what, want string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), want) {
			t.Errorf("%s: panic %v, want one mentioning %q", what, r, want)
		}
	}()
	f()
}

func TestRegistry(t *testing.T) {
	r := channels.NewRegistry()
	if len(r.Types()) != 0 {
		t.Fatal("a new registry is not empty")
	}
	r.Register(typ("web"))
	r.Register(typ("calllog"))
	if got := strings.Join(r.Names(), ","); got != "calllog,web" {
		t.Errorf("Names() = %s, want calllog,web", got)
	}
	if _, ok := r.Lookup("web"); !ok {
		t.Error("Lookup(web) failed")
	}
	if _, ok := r.Lookup("imap"); ok {
		t.Error("Lookup(imap) found an unregistered type")
	}
	mustPanic(t, "duplicate", "registered twice", func() { r.Register(typ("web")) })
	mustPanic(t, "bad name", "bad type name", func() { r.Register(typ("Web Portal")) })
	mustPanic(t, "no constructor", "lacks", func() { r.Register(channels.Type{Name: "x"}) })
}
