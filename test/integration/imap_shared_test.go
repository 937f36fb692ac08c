package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/court12368/petitiond/petition"
)

// claimedBy counts the letters of box flagged with the claim keyword of the
// instance whose processing mailbox is proc (claimed, not moved yet).
func (m *mailboxes) claimedBy(box, proc string) int {
	m.t.Helper()
	sum := sha256.Sum256([]byte(proc))
	kw := "$PetitiondClaim-" + hex.EncodeToString(sum[:4])
	cl := imapLogin(m.t, m.addr, m.user, m.pass)
	defer cl.Close()
	if _, err := cl.Select(box, &goimap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		m.t.Fatalf("select %s: %v", box, err)
	}
	data, err := cl.UIDSearch(&goimap.SearchCriteria{Flag: []goimap.Flag{goimap.Flag(kw)}}, nil).Wait()
	if err != nil {
		m.t.Fatalf("search %s: %v", box, err)
	}
	return len(data.AllUIDs())
}

// pollUntil checks cond every 100 ms until it holds (true) or within
// passes (false).
func pollUntil(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// TestImapSharedMailboxKill runs two daemons with the same channel on one
// shared mailbox (each with its own processing mailbox, state and blob
// dirs, as on two hosts), SIGKILLs one in the middle of the backlog, lets
// the other go on, and restarts the killed one: every letter reaches Kafka
// under the one id its Message-ID gives, and every letter ends in Done.
// It measures what the dead instance held and when it was taken back.
func TestImapSharedMailboxKill(t *testing.T) {
	addr := dovecot(t)
	kafka := broker(t)
	m := newMailboxes(t, addr)
	procA, procB := m.inbox+"/ProcA", m.inbox+"/ProcB"
	m.create(procA)
	m.create(procB)
	const n = 200
	raws, ids := bulkLetters(randomSuffix(), n)
	for _, raw := range raws {
		m.appendMsg(m.inbox, raw, time.Now())
	}
	const name = "letters-shared-kill"
	settings := []string{"batch_size: 10", "max_in_flight: 20", "workers: 1"}
	a := newEnv(t, kafka, m.channelYAML(name, append([]string{"processing_mailbox: " + procA}, settings...)...))
	b := newEnv(t, kafka, m.channelYAML(name, append([]string{"processing_mailbox: " + procB}, settings...)...))
	// b produces to a's topics.
	cfg, _ := os.ReadFile(b.cfgFile)
	cfg = bytes.ReplaceAll(cfg, []byte(b.topic), []byte(a.topic))
	cfg = bytes.ReplaceAll(cfg, []byte(b.dead), []byte(a.dead))
	if err := os.WriteFile(b.cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	a.start()
	b.start()
	if !pollUntil(60*time.Second, func() bool { return m.count(m.done) >= 30 }) {
		t.Fatalf("nothing moved to done\nA:\n%s\nB:\n%s", a.logs(), b.logs())
	}
	a.kill()
	killed := time.Now()
	heldBox, heldFlag := m.count(procA), m.claimedBy(m.inbox, procA)
	t.Logf("killed A with %d of %d letters in done; A held %d in its processing mailbox and %d flagged but not moved",
		m.count(m.done), n, heldBox, heldFlag)

	// B goes on alone: it takes every letter nobody claimed, but not the
	// dead instance's.
	if !pollUntil(60*time.Second, func() bool {
		return m.count(m.inbox) == m.claimedBy(m.inbox, procA) && m.count(procB) == 0
	}) {
		t.Fatalf("B did not finish the unclaimed letters: inbox %d, procB %d\nB:\n%s", m.count(m.inbox), m.count(procB), b.logs())
	}
	t.Logf("B finished the unclaimed letters %.1fs after the kill; done %d of %d", time.Since(killed).Seconds(), m.count(m.done), n)
	time.Sleep(3 * time.Second) // B, polling and idle, still leaves them alone
	strandedBox, strandedFlag := m.count(procA), m.claimedBy(m.inbox, procA)
	t.Logf("%.1fs after the kill A's claims still hold %d letters in its processing mailbox and %d flagged in the shared one (nobody else takes them)",
		time.Since(killed).Seconds(), strandedBox, strandedFlag)
	if strandedBox+strandedFlag > 0 && m.count(m.done)+strandedBox+strandedFlag != n {
		t.Errorf("done %d + stranded %d+%d != %d", m.count(m.done), strandedBox, strandedFlag, n)
	}

	a.start()
	restarted := time.Now()
	m.waitCounts(60*time.Second, map[string]int{m.inbox: 0, procA: 0, procB: 0, m.done: n})
	t.Logf("A took back its claims %.1fs after its restart (%.1fs after the kill)",
		time.Since(restarted).Seconds(), time.Since(killed).Seconds())
	if err := a.stop(); err != nil {
		t.Errorf("stop A: %v", err)
	}
	if err := b.stop(); err != nil {
		t.Errorf("stop B: %v", err)
	}

	recs := consumeAll(t, a.brokers, a.topic)
	want := map[string]bool{}
	for _, id := range ids {
		want[petition.ID(name, id)] = true
	}
	got := map[string]int{}
	share := map[any]int{}
	for _, r := range recs {
		if !want[r.Key] || r.Value["id"] != r.Key {
			t.Errorf("record with unexpected id %s (value id %v)", r.Key, r.Value["id"])
		}
		got[r.Key]++
		if meta, ok := r.Value["meta"].(map[string]any); ok {
			share[meta["mail.mailbox"]]++
		}
	}
	dups := 0
	for id := range want {
		if got[id] == 0 {
			t.Errorf("letter %s missing from Kafka", id)
		}
		if got[id] > 1 {
			dups++
		}
	}
	if len(got) != n {
		t.Errorf("%d distinct ids for %d letters", len(got), n)
	}
	t.Logf("%d records for %d letters, %d distinct ids, %d letters produced more than once (same id); records per processing mailbox: %v",
		len(recs), n, len(got), dups, share)
}

// TestImapSharedMailboxLeftovers places what an instance A killed in each
// window of the claim leaves behind (a letter flagged with its keyword but
// not moved, a letter moved but still flagged, a letter plainly in its
// processing mailbox), runs instance B alone, which must not take them,
// then starts A, which takes them all back.
func TestImapSharedMailboxLeftovers(t *testing.T) {
	addr := dovecot(t)
	kafka := broker(t)
	m := newMailboxes(t, addr)
	procA, procB := m.inbox+"/ProcA", m.inbox+"/ProcB"
	m.create(procA)
	m.create(procB)
	sum := sha256.Sum256([]byte(procA))
	kwA := goimap.Flag("$PetitiondClaim-" + hex.EncodeToString(sum[:4]))
	const n = 10
	raws, ids := bulkLetters(randomSuffix(), n+3)
	for _, raw := range raws[:n] {
		m.appendMsg(m.inbox, raw, time.Now())
	}
	flagged := []goimap.Flag{"$PetitiondClaimed", kwA}
	appendFlagged := func(box string, raw []byte, flags []goimap.Flag) {
		t.Helper()
		cmd := m.cl.Append(box, int64(len(raw)), &goimap.AppendOptions{Flags: flags})
		if _, err := cmd.Write(raw); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	appendFlagged(m.inbox, raws[n], flagged) // killed between STORE and MOVE
	appendFlagged(procA, raws[n+1], flagged) // killed between MOVE and unflagging
	appendFlagged(procA, raws[n+2], nil)     // killed before the ack
	const name = "letters-shared-left"
	a := newEnv(t, kafka, m.channelYAML(name, "processing_mailbox: "+procA))
	b := newEnv(t, kafka, m.channelYAML(name, "processing_mailbox: "+procB))
	cfg, _ := os.ReadFile(b.cfgFile)
	cfg = bytes.ReplaceAll(cfg, []byte(b.topic), []byte(a.topic))
	cfg = bytes.ReplaceAll(cfg, []byte(b.dead), []byte(a.dead))
	if err := os.WriteFile(b.cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	b.start()
	m.waitCounts(30*time.Second, map[string]int{m.inbox: 1, procB: 0, procA: 2, m.done: n})
	time.Sleep(2 * time.Second)
	if got := m.claimedBy(m.inbox, procA); got != 1 || m.count(procA) != 2 || m.count(m.done) != n {
		t.Fatalf("B took A's claims: flagged in inbox %d, procA %d, done %d", got, m.count(procA), m.count(m.done))
	}
	a.start()
	started := time.Now()
	m.waitCounts(30*time.Second, map[string]int{m.inbox: 0, procA: 0, procB: 0, m.done: n + 3})
	t.Logf("A took back its 3 leftovers %.1fs after its restart", time.Since(started).Seconds())
	if got := m.claimedBy(m.done, procA); got != 0 {
		t.Errorf("%d letters in done still carry A's claim keyword", got)
	}
	a.stop()
	b.stop()
	recs := consumeAll(t, a.brokers, a.topic)
	got := map[string]int{}
	for _, r := range recs {
		got[r.Key]++
	}
	for _, id := range ids {
		if got[petition.ID(name, id)] != 1 {
			t.Errorf("letter %s produced %d times", id, got[petition.ID(name, id)])
		}
	}
}
