package imap

import (
	"testing"
	"time"

	"github.com/court12368/petitiond/internal/clamd"
)

// TestAntivirus: with clamd configured every letter is scanned whole; a
// letter carrying malware becomes a refused item (dead-lettered with its
// original by the decoder), a clean one is marked clean, and while clamd
// cannot scan (on_error: reject) letters wait in the mailbox.
func TestAntivirus(t *testing.T) {
	fake, err := clamd.NewFake()
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	srv := newServer(t)
	at := time.Date(2024, 3, 5, 9, 30, 0, 0, time.UTC)
	srv.append("INBOX", rawLetter("clean@example.cn", "hello"), at)
	srv.append("INBOX", rawLetter("bad@example.cn", "see attachment "+clamd.EICAR), at)
	cfg := testConfig(srv.addr)
	cfg.Attachments.Antivirus.Address = fake.Addr()
	cfg.Attachments.AllowedTypes = []string{"image/*", "application/pdf"}
	sk := newSink(nil)
	r := run(t, cfg, sk)
	waitSubmitted(t, sk, 2)
	for _, it := range sk.submitted() {
		switch it.SourceID {
		case "clean@example.cn":
			if it.Meta[MetaAntivirus] != "clean" || it.Meta[MetaRefused] != nil {
				t.Errorf("clean letter: meta %v", it.Meta)
			}
		case "bad@example.cn":
			if it.Meta[MetaAntivirus] != "infected" || it.Meta[MetaRefused] == nil || it.Original.IsZero() {
				t.Errorf("infected letter: meta %v, original %v", it.Meta, it.Original)
			}
		}
		if ts, _ := it.Meta[MetaAllowedTypes].([]string); len(ts) != 2 {
			t.Errorf("allow-list not handed to the decoder: %v", it.Meta[MetaAllowedTypes])
		}
	}
	if fake.Scans() < 2 {
		t.Errorf("%d scans, want every letter scanned", fake.Scans())
	}
	r.stop(t)

	// clamd gone, on_error: reject: nothing is submitted, the letter stays.
	srv2 := newServer(t)
	srv2.append("INBOX", rawLetter("later@example.cn", "hello"), at)
	cfg2 := testConfig(srv2.addr)
	cfg2.Attachments.Antivirus.Address = "127.0.0.1:1"
	cfg2.Attachments.Antivirus.Timeout = 0
	sk2 := newSink(nil)
	r2 := run(t, cfg2, sk2)
	r2.waitLog(t, "cannot be scanned")
	if n := len(sk2.submitted()); n != 0 {
		t.Errorf("%d letters submitted unscanned, want none", n)
	}
	if n := srv2.count("INBOX"); n != 1 {
		t.Errorf("INBOX holds %d letters, want the unscanned one", n)
	}
	r2.stop(t)
}
