package integration

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime/quotedprintable"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"

	"github.com/court12368/petitiond/internal/testutil"
	tu "github.com/court12368/petitiond/internal/testutil"
	"github.com/court12368/petitiond/petition"
)

// The imap tests run the daemon against the real Dovecot of
// scripts/dovecot.sh (PETITIOND_DOVECOT, default 127.0.0.1:10143, user
// petitions/secret). Each test works in mailboxes of its own.

const (
	dovecotUser = "petitions"
	dovecotPass = "secret"
)

// dovecot returns the server's plain/STARTTLS address, skipping (or
// failing in CI) when it does not answer.
func dovecot(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("PETITIOND_DOVECOT")
	if addr == "" {
		addr = "127.0.0.1:10143"
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real Dovecot required in CI: %v (run scripts/dovecot.sh start and set PETITIOND_DOVECOT)", err)
		}
		t.Skipf("no Dovecot at %s: %v (scripts/dovecot.sh start)", addr, err)
	}
	c.Close()
	return addr
}

// dovecotEnv returns the settings printed by `scripts/dovecot.sh env`.
func dovecotEnv(t *testing.T) map[string]string {
	t.Helper()
	script := os.Getenv("PETITIOND_DOVECOT_SCRIPT")
	if script == "" {
		script = filepath.Join("..", "..", "scripts", "dovecot.sh")
	}
	out, err := exec.Command("bash", script, "env").Output()
	if err != nil {
		t.Fatalf("dovecot.sh env: %v", err)
	}
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = v
		}
	}
	return m
}

// mailboxes are one test's mailboxes on the server.
type mailboxes struct {
	t                            *testing.T
	addr                         string
	user, pass                   string
	inbox, done, failed, ignored string
	extra                        []string
	cl                           *imapclient.Client
}

func imapLogin(t testing.TB, addr string, userPass ...string) *imapclient.Client {
	t.Helper()
	user, pass := dovecotUser, dovecotPass
	if len(userPass) == 2 {
		user, pass = userPass[0], userPass[1]
	}
	cl, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatalf("imap dial: %v", err)
	}
	if err := cl.Login(user, pass).Wait(); err != nil {
		t.Fatalf("imap login: %v", err)
	}
	return cl
}

func newMailboxes(t *testing.T, addr string, userPass ...string) *mailboxes {
	t.Helper()
	base := "it-" + randomSuffix()
	m := &mailboxes{t: t, addr: addr, user: dovecotUser, pass: dovecotPass,
		inbox: base, done: base + "/Done", failed: base + "/Failed", ignored: base + "/Ignored"}
	if len(userPass) == 2 {
		m.user, m.pass = userPass[0], userPass[1]
	}
	m.cl = imapLogin(t, addr, m.user, m.pass)
	for _, b := range []string{m.inbox, m.done, m.failed, m.ignored} {
		m.create(b)
	}
	t.Cleanup(func() {
		cl := imapLogin(t, addr, m.user, m.pass)
		defer cl.Close()
		for _, b := range append(append([]string(nil), m.extra...), m.done, m.failed, m.ignored, m.inbox) {
			cl.Delete(b).Wait()
		}
		m.cl.Close()
	})
	return m
}

func (m *mailboxes) create(box string) {
	m.t.Helper()
	if err := m.cl.Create(box, nil).Wait(); err != nil {
		m.t.Fatalf("create %s: %v", box, err)
	}
	if box != m.inbox && box != m.done && box != m.failed && box != m.ignored {
		m.extra = append([]string{box}, m.extra...)
	}
}

// appendMsg stores raw in box with the given internal date.
func (m *mailboxes) appendMsg(box string, raw []byte, at time.Time) {
	m.t.Helper()
	cmd := m.cl.Append(box, int64(len(raw)), &goimap.AppendOptions{Time: at})
	if _, err := cmd.Write(raw); err != nil {
		m.t.Fatalf("append: %v", err)
	}
	if err := cmd.Close(); err != nil {
		m.t.Fatalf("append: %v", err)
	}
	if _, err := cmd.Wait(); err != nil {
		m.t.Fatalf("append: %v", err)
	}
}

func (m *mailboxes) count(box string) int {
	m.t.Helper()
	st, err := m.cl.Status(box, &goimap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		m.t.Fatalf("status %s: %v", box, err)
	}
	return int(*st.NumMessages)
}

// waitCounts waits until every mailbox holds the wanted number of messages.
func (m *mailboxes) waitCounts(within time.Duration, want map[string]int) {
	m.t.Helper()
	got := map[string]int{}
	if !testutil.Eventually(within, func() bool {
		ok := true
		for b, n := range want {
			got[b] = m.count(b)
			ok = ok && got[b] == n
		}
		return ok
	}) {
		m.t.Fatalf("mailbox counts %v, want %v", got, want)
	}
}

// channelYAML is one imap channel entry for newEnv.
func (m *mailboxes) channelYAML(name string, settings ...string) string {
	s := fmt.Sprintf(`  - name: %s
    type: imap
    settings:
      address: %q
      tls: none
      username: %s
      password: %s
      mailbox: %q
      done_mailbox: %q
      failed_mailbox: %q
      ignored_mailbox: %q
      poll_interval: 5s
      retry_interval: 1s
`, name, m.addr, m.user, m.pass, m.inbox, m.done, m.failed, m.ignored)
	for _, kv := range settings {
		s += "      " + kv + "\n"
	}
	return s
}

// ---------------------------------------------------------------- letters

func enc(e encoding.Encoding, s string) string {
	b, err := e.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return b
}

func gbk(s string) string  { return enc(simplifiedchinese.GBK, s) }
func big5(s string) string { return enc(traditionalchinese.Big5, s) }

func bWord(charset, raw string) string {
	return "=?" + charset + "?B?" + base64.StdEncoding.EncodeToString([]byte(raw)) + "?="
}

func b64Body(raw string) string {
	s := base64.StdEncoding.EncodeToString([]byte(raw))
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

func qpBody(raw string) string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(raw))
	w.Close()
	return strings.ReplaceAll(strings.ReplaceAll(b.String(), "\r\n", "\n"), "\n", "\r\n")
}

func eml(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

// testLetter is a letter and what its record must say.
type testLetter struct {
	name        string
	raw         []byte
	messageID   string // "" when the letter has none
	subject     string
	content     string // exact content, or
	contains    []string
	petitioner  string
	email       string
	attachments []string // file names
}

const letterDate = "Tue, 05 Mar 2024 09:30:00 +0800"

func letters(tag string) []testLetter {
	id := func(n string) string { return n + "." + tag + "@it.example.cn" }
	var ls []testLetter

	// GB2312 label on GBK text (镕 and 堃 are outside GB2312).
	subj := "关于朱镕基路拆迁补偿的申诉"
	text := "法院您好：\n我的案件（2023）赣0102执1234号判决已生效半年，执行款至今没有到账。\n申诉人：王堃"
	ls = append(ls, testLetter{
		name: "gb2312-label", messageID: id("gb"), subject: subj, content: text, petitioner: "王堃", email: "wangkun@example.cn",
		raw: eml("Message-ID: <"+id("gb")+">", "Date: "+letterDate,
			"From: "+bWord("gb2312", gbk("王堃"))+" <WangKun@Example.CN>", "To: petitions@court.example",
			"Subject: "+bWord("gb2312", gbk(subj)), "MIME-Version: 1.0",
			"Content-Type: text/plain; charset=gb2312", "Content-Transfer-Encoding: base64", "",
			b64Body(gbk(strings.ReplaceAll(text, "\n", "\r\n")))),
	})

	// Big5, quoted-printable, Q-encoded subject.
	subj = "關於執行案件進度的查詢"
	text = "法院您好：我於去年提起訴訟，至今未有回覆，請協助查詢。"
	ls = append(ls, testLetter{
		name: "big5", messageID: id("big5"), subject: subj, content: text, petitioner: "陳大文", email: "chan@example.hk",
		raw: eml("Message-ID: <"+id("big5")+">", "Date: "+letterDate,
			"From: "+bWord("big5", big5("陳大文"))+" <chan@example.hk>", "To: petitions@court.example",
			"Subject: "+bWord("big5", big5(subj)), "MIME-Version: 1.0",
			"Content-Type: text/plain; charset=big5", "Content-Transfer-Encoding: quoted-printable", "",
			qpBody(big5(text))),
	})

	// Raw 8-bit GBK in the headers, no encoded words.
	subj = "请求联系承办法官"
	text = "承办法官您好，我想了解案件的开庭时间，谢谢。"
	ls = append(ls, testLetter{
		name: "raw-gbk-headers", messageID: id("raw"), subject: subj, content: text, petitioner: "李四", email: "lisi@example.cn",
		raw: eml("Message-ID: <"+id("raw")+">", "Date: "+letterDate,
			"From: "+gbk("李四")+" <lisi@example.cn>", "To: petitions@court.example",
			"Subject: "+gbk(subj), "MIME-Version: 1.0",
			"Content-Type: text/plain; charset=GBK", "Content-Transfer-Encoding: 8bit", "",
			gbk(text)),
	})

	// RFC 2047 word split inside a character; RFC 2231 file name in GB18030.
	subj = "起诉材料补充：请查收附件"
	sb := []byte(subj)
	text = "附件是起诉状，请查收。"
	fname := "起诉状.pdf"
	var pct strings.Builder
	for _, c := range []byte(enc(simplifiedchinese.GB18030, fname)) {
		fmt.Fprintf(&pct, "%%%02X", c)
	}
	ls = append(ls, testLetter{
		name: "rfc2047-2231", messageID: id("2231"), subject: subj, content: text, petitioner: "赵六", email: "zhao6@example.cn",
		attachments: []string{fname},
		raw: eml("Message-ID: <"+id("2231")+">", "Date: "+letterDate,
			"From: =?utf-8?Q?=E8=B5=B5=E5=85=AD?= <zhao6@example.cn>", "To: petitions@court.example",
			"Subject: "+bWord("utf-8", string(sb[:4]))+" "+bWord("utf-8", string(sb[4:])),
			"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b2231"`, "",
			"--b2231", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", "",
			b64Body(text),
			"--b2231", "Content-Type: application/pdf", "Content-Transfer-Encoding: base64",
			"Content-Disposition: attachment; filename*=gb18030''"+pct.String(), "",
			b64Body("%PDF-1.4\n% test\n"),
			"--b2231--"),
	})

	// HTML only.
	subj = "网上立案遇到困难"
	text = "我在网上提交立案申请三次都被退回，请法院说明原因。"
	ls = append(ls, testLetter{
		name: "html-only", messageID: id("html"), subject: subj, content: text, petitioner: "孙七", email: "sun7@example.cn",
		raw: eml("Message-ID: <"+id("html")+">", "Date: "+letterDate,
			"From: =?utf-8?B?"+base64.StdEncoding.EncodeToString([]byte("孙七"))+"?= <sun7@example.cn>", "To: petitions@court.example",
			"Subject: "+bWord("utf-8", subj), "MIME-Version: 1.0",
			"Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: base64", "",
			b64Body("<html><head><style>p{color:red}</style><title>信</title></head><body><p>"+text+"</p></body></html>")),
	})

	// A forwarded letter (nested message/rfc822).
	subj = "转发：群众来信"
	inner := "这是原始信件的内容，反映执行难问题。"
	ls = append(ls, testLetter{
		name: "nested-rfc822", messageID: id("fwd"), subject: subj, petitioner: "周八", email: "zhou8@example.cn",
		contains: []string{"请看转发的信件。", "---------- Forwarded message ----------", "原始来信", inner},
		raw: eml("Message-ID: <"+id("fwd")+">", "Date: "+letterDate,
			"From: =?utf-8?B?"+base64.StdEncoding.EncodeToString([]byte("周八"))+"?= <zhou8@example.cn>", "To: petitions@court.example",
			"Subject: "+bWord("utf-8", subj), "MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="outer"`, "",
			"--outer", "Content-Type: text/plain; charset=utf-8", "", "请看转发的信件。",
			"--outer", "Content-Type: message/rfc822", "",
			"Message-ID: <inner."+tag+"@it.example.cn>", "From: someone@example.cn", "Subject: "+bWord("gbk", gbk("原始来信")),
			"Content-Type: text/plain; charset=gbk", "Content-Transfer-Encoding: base64", "", b64Body(gbk(inner)),
			"--outer--"),
	})

	// No Message-ID: the source id is the hash of the raw message.
	subj = "没有邮件标识的来信"
	text = "这封信没有Message-ID。"
	ls = append(ls, testLetter{
		name: "no-message-id", subject: subj, content: text, petitioner: "吴九", email: "wu9@example.cn",
		raw: eml("Date: "+letterDate, "From: =?utf-8?B?"+base64.StdEncoding.EncodeToString([]byte("吴九"))+"?= <wu9@example.cn>",
			"To: petitions@court.example", "Subject: "+bWord("utf-8", subj), "X-Tag: "+tag, "MIME-Version: 1.0",
			"Content-Type: text/plain; charset=utf-8", "", text),
	})
	return ls
}

func autoLetters(tag string) [][]byte {
	return [][]byte{
		eml("Message-ID: <auto."+tag+"@it.example.cn>", "Date: "+letterDate, "From: petitioner@example.cn",
			"To: petitions@court.example", "Subject: "+bWord("utf-8", "自动回复：我正在休假"), "Auto-Submitted: auto-replied",
			"Content-Type: text/plain; charset=utf-8", "", "我将于下周回来。"),
		eml("Message-ID: <bounce."+tag+"@it.example.cn>", "Date: "+letterDate, "From: MAILER-DAEMON@mail.example.cn",
			"To: petitions@court.example", "Subject: Undelivered Mail Returned to Sender", "MIME-Version: 1.0",
			`Content-Type: multipart/report; report-type=delivery-status; boundary="r"`, "",
			"--r", "Content-Type: text/plain", "", "The mail system could not deliver your message.",
			"--r", "Content-Type: message/delivery-status", "", "Reporting-MTA: dns; mail.example.cn", "",
			"Final-Recipient: rfc822; nobody@example.cn", "Action: failed", "Status: 5.1.1",
			"--r--"),
	}
}

// ---------------------------------------------------------------- tests

func recordsByID(recs []record) map[string]record {
	m := map[string]record{}
	for _, r := range recs {
		m[r.Key] = r
	}
	return m
}

func TestImapLettersReachKafka(t *testing.T) {
	addr := dovecot(t)
	kafka := broker(t)
	m := newMailboxes(t, addr)
	tag := randomSuffix()
	ls := letters(tag)
	at := time.Date(2024, 3, 5, 9, 31, 7, 0, time.FixedZone("CST", 8*3600))
	for _, l := range ls {
		m.appendMsg(m.inbox, l.raw, at)
	}
	for _, raw := range autoLetters(tag) {
		m.appendMsg(m.inbox, raw, at)
	}
	// Neither text nor attachments: dead-lettered.
	m.appendMsg(m.inbox, eml("Message-ID: <empty."+tag+"@it.example.cn>", "From: x@example.cn", "Subject: "+bWord("utf-8", "空白"), "", ""), at)
	// Over max_message_size: dead-lettered without download.
	big := eml("Message-ID: <big."+tag+"@it.example.cn>", "From: y@example.cn", "Subject: big", "Content-Type: text/plain", "",
		strings.Repeat("大文件内容。\r\n", 30000))
	m.appendMsg(m.inbox, big, at)

	const name = "letters-it"
	e := newEnv(t, kafka, m.channelYAML(name, "max_message_size: 256KiB"))
	e.start()

	m.waitCounts(60*time.Second, map[string]int{m.inbox: 0, m.done: len(ls), m.ignored: 2, m.failed: 2})
	// Filing refusals (网上立案…三次都被退回) are routed to the priority topic.
	recs := consumeRouted(t, e, len(ls), 30*time.Second)
	if len(recs) != len(ls) {
		t.Fatalf("%d records, want %d", len(recs), len(ls))
	}
	byID := recordsByID(recs)
	wantReceived := at.UTC().Format(time.RFC3339)
	for _, l := range ls {
		srcID := l.messageID
		if srcID == "" {
			sum := sha256.Sum256(l.raw)
			srcID = "sha256:" + hex.EncodeToString(sum[:])
		}
		id := petition.ID(name, srcID)
		rec, ok := byID[id]
		if !ok {
			t.Errorf("%s: no record with id %s (source id %s)", l.name, id, srcID)
			continue
		}
		tu.ValidatePetition(t, rec.Raw)
		v := rec.Value
		if v["subject"] != l.subject {
			t.Errorf("%s: subject %q, want %q", l.name, v["subject"], l.subject)
		}
		content, _ := v["content"].(string)
		if l.content != "" && content != l.content {
			t.Errorf("%s: content %q, want %q", l.name, content, l.content)
		}
		for _, s := range l.contains {
			if !strings.Contains(content, s) {
				t.Errorf("%s: content %q lacks %q", l.name, content, s)
			}
		}
		p := v["petitioner"].(map[string]any)
		if p["name"] != l.petitioner || p["email"] != l.email {
			t.Errorf("%s: petitioner %v / %v, want %s / %s", l.name, p["name"], p["email"], l.petitioner, l.email)
		}
		if v["received_at"] != wantReceived {
			t.Errorf("%s: received_at %v, want the INTERNALDATE %s", l.name, v["received_at"], wantReceived)
		}
		src := v["source"].(map[string]any)
		if src["id"] != srcID {
			t.Errorf("%s: source.id %v, want %s", l.name, src["id"], srcID)
		}
		if ref, _ := src["ref"].(string); !strings.HasPrefix(ref, "imap://") || !strings.Contains(ref, ";UID=") ||
			!strings.Contains(ref, url.PathEscape(m.inbox)) {
			t.Errorf("%s: source.ref %q", l.name, ref)
		}
		orig := src["original"].(map[string]any)
		sum := sha256.Sum256(l.raw)
		if orig["sha256"] != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: original sha256 %v is not the raw message's", l.name, orig["sha256"])
		}
		meta := v["meta"].(map[string]any)
		if meta["mail.mailbox"] != m.inbox || meta["mail.uid"] == nil || meta["mail.uidvalidity"] == nil {
			t.Errorf("%s: meta %v lacks mail.uid/mailbox/uidvalidity", l.name, meta)
		}
		if meta["mail.date"] != "2024-03-05T09:30:00+08:00" {
			t.Errorf("%s: meta mail.date %v", l.name, meta["mail.date"])
		}
		atts, _ := v["attachments"].([]any)
		var names []string
		for _, a := range atts {
			names = append(names, a.(map[string]any)["filename"].(string))
		}
		for _, want := range l.attachments {
			if !strings.Contains(strings.Join(names, "\n"), want) {
				t.Errorf("%s: attachments %q lack %q", l.name, names, want)
			}
		}
	}
	dead := consume(t, e.brokers, e.dead, 2, 20*time.Second)
	if len(dead) != 2 {
		t.Errorf("%d dead letters, want 2 (empty and too large)", len(dead))
	}
	for _, d := range dead {
		tu.ValidateDeadLetter(t, d.Raw)
	}

	// Follow-ups: a reply to a letter taken in (In-Reply-To), and a
	// tracking number in the subject.
	first := petition.TrackingNo(petition.ID(name, ls[0].messageID))
	second := petition.TrackingNo(petition.ID(name, ls[1].messageID))
	m.appendMsg(m.inbox, eml("Message-ID: <reply."+tag+"@it.example.cn>", "Date: "+letterDate, "From: wangkun@example.cn",
		"In-Reply-To: <court-answer."+tag+"@court.example>", "References: <"+ls[0].messageID+"> <court-answer."+tag+"@court.example>",
		"Subject: "+bWord("utf-8", "Re: 关于拆迁补偿"), "Content-Type: text/plain; charset=utf-8", "", "补充一份材料。"), at)
	m.appendMsg(m.inbox, eml("Message-ID: <tn."+tag+"@it.example.cn>", "Date: "+letterDate, "From: chan@example.hk",
		"Subject: "+bWord("utf-8", "补充说明 受理编号 "+strings.ToLower(second)), "Content-Type: text/plain; charset=utf-8", "", "补充说明。"), at)
	m.waitCounts(30*time.Second, map[string]int{m.inbox: 0, m.done: len(ls) + 2})
	recs = consumeRouted(t, e, len(ls)+2, 30*time.Second)
	byID = recordsByID(recs)
	for _, c := range []struct{ id, want string }{{"reply." + tag + "@it.example.cn", first}, {"tn." + tag + "@it.example.cn", second}} {
		r, ok := byID[petition.ID(name, c.id)]
		if !ok {
			t.Errorf("no record for %s", c.id)
			continue
		}
		if r.Value["follow_up_of"] != c.want {
			t.Errorf("%s: follow_up_of %v, want %s", c.id, r.Value["follow_up_of"], c.want)
		}
	}
	if err := e.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	for _, s := range []string{"王堃", "wangkun@", "拆迁", "执行款"} {
		if strings.Contains(e.logs(), s) {
			t.Errorf("logs contain petition data %q", s)
		}
	}
}

// TestImapTLS reads over IMAPS and over STARTTLS with the test CA.
func TestImapTLS(t *testing.T) {
	addr := dovecot(t)
	kafka := broker(t)
	env := dovecotEnv(t)
	ca, tlsAddr := env["DOVECOT_CA_CERT"], env["DOVECOT_TLS_ADDR"]
	if _, err := os.Stat(ca); err != nil {
		t.Skipf("no Dovecot CA certificate (%v): set DOVECOT_STATE_DIR as for the running server", err)
	}
	m := newMailboxes(t, addr)
	tag := randomSuffix()
	ls := letters(tag)[:2]
	for _, l := range ls {
		m.appendMsg(m.inbox, l.raw, time.Now())
	}
	for _, mode := range []struct{ tls, addr string }{{"tls", tlsAddr}, {"starttls", addr}} {
		t.Run(mode.tls, func(t *testing.T) {
			yaml := strings.Replace(m.channelYAML("letters-"+mode.tls, "tls_ca_file: "+ca), "tls: none",
				"tls: "+mode.tls, 1)
			yaml = strings.Replace(yaml, fmt.Sprintf("address: %q", addr), fmt.Sprintf("address: %q", mode.addr), 1)
			e := newEnv(t, kafka, yaml)
			e.start()
			m.waitCounts(30*time.Second, map[string]int{m.inbox: 0})
			if recs := consumeRouted(t, e, len(ls), 30*time.Second); len(recs) != len(ls) {
				t.Errorf("%d records, want %d", len(recs), len(ls))
			}
			e.stop()
			// Put them back for the next mode.
			m.cl.Select(m.done, nil).Wait()
			m.cl.Move(goimap.SeqSetNum(1, 2), m.inbox).Wait()
			m.cl.Unselect().Wait()
		})
	}
}

// bulkLetters returns n plain letters with distinct Message-IDs.
func bulkLetters(tag string, n int) ([][]byte, []string) {
	var raws [][]byte
	var ids []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("bulk-%d.%s@it.example.cn", i, tag)
		ids = append(ids, id)
		raws = append(raws, eml("Message-ID: <"+id+">", "Date: "+letterDate,
			"From: "+bWord("gb2312", gbk("群众"))+fmt.Sprintf(" <p%d@example.cn>", i),
			"Subject: "+bWord("gb2312", gbk(fmt.Sprintf("来信第%d号", i))), "Content-Type: text/plain; charset=gbk",
			"Content-Transfer-Encoding: base64", "", b64Body(gbk(fmt.Sprintf("这是第%d封信的内容。", i)+strings.Repeat("请求法院依法处理。", 50)))))
	}
	return raws, ids
}

// TestImapKillAndRestart kills the daemon (SIGKILL) in the middle of a
// batch: after a restart every letter is in Kafka, a letter produced twice
// has the same id both times, and the mailbox ends empty.
func TestImapKillAndRestart(t *testing.T) {
	addr := dovecot(t)
	kafka := broker(t)
	m := newMailboxes(t, addr)
	const n = 400
	raws, ids := bulkLetters(randomSuffix(), n)
	for _, raw := range raws {
		m.appendMsg(m.inbox, raw, time.Now())
	}
	const name = "letters-kill"
	e := newEnv(t, kafka, m.channelYAML(name, "batch_size: 10", "max_in_flight: 20", "workers: 1"))
	e.start()
	if !testutil.Eventually(60*time.Second, func() bool { return m.count(m.done) >= 20 }) {
		t.Fatalf("nothing moved to done\n%s", e.logs())
	}
	e.kill()
	done := m.count(m.done)
	t.Logf("killed with %d of %d letters moved to done", done, n)
	if done == n {
		t.Log("the daemon finished before the kill: the restart has nothing left to do")
	}
	e.start()
	m.waitCounts(90*time.Second, map[string]int{m.inbox: 0, m.done: n})
	e.stop()
	recs := consumeAll(t, e.brokers, e.topic)
	want := map[string]bool{}
	for _, id := range ids {
		want[petition.ID(name, id)] = true
	}
	got := map[string]int{}
	for _, r := range recs {
		if !want[r.Key] || r.Value["id"] != r.Key {
			t.Errorf("record with unexpected id %s (value id %v)", r.Key, r.Value["id"])
		}
		got[r.Key]++
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
	t.Logf("%d records for %d letters (%d letters produced twice, with the same id)", len(recs), n, dups)
}

// TestImapServerRestart restarts Dovecot under the running daemon: it
// reconnects and takes in letters that arrive afterwards.
func TestImapServerRestart(t *testing.T) {
	addr := dovecot(t)
	kafka := broker(t)
	script := os.Getenv("PETITIOND_DOVECOT_SCRIPT")
	if script == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PETITIOND_DOVECOT_SCRIPT must name scripts/dovecot.sh in CI")
		}
		t.Skip("PETITIOND_DOVECOT_SCRIPT not set: cannot restart Dovecot")
	}
	m := newMailboxes(t, addr)
	const name, n = "letters-restart", 300
	raws, ids := bulkLetters(randomSuffix(), n+6)
	e := newEnv(t, kafka, m.channelYAML(name, "reconnect_backoff_max: 2s", "batch_size: 10", "max_in_flight: 20", "workers: 1"))
	e.start()
	restart := func() {
		t.Helper()
		out, err := exec.Command("bash", script, "restart").CombinedOutput()
		if err != nil {
			t.Fatalf("dovecot.sh restart: %v\n%s", err, out)
		}
		m.cl.Close()
		m.cl = imapLogin(t, addr, m.user, m.pass)
	}
	// While idle.
	for _, raw := range raws[:3] {
		m.appendMsg(m.inbox, raw, time.Now())
	}
	m.waitCounts(30*time.Second, map[string]int{m.inbox: 0, m.done: 3})
	restart()
	for _, raw := range raws[3:6] {
		m.appendMsg(m.inbox, raw, time.Now())
	}
	m.waitCounts(60*time.Second, map[string]int{m.inbox: 0, m.done: 6})
	// In the middle of a backlog.
	for _, raw := range raws[6:] {
		m.appendMsg(m.inbox, raw, time.Now())
	}
	if !testutil.Eventually(60*time.Second, func() bool { return m.count(m.done) >= 6+20 }) {
		t.Fatal("backlog not started")
	}
	restart()
	t.Logf("restarted Dovecot with %d of %d letters done", m.count(m.done), n+6)
	m.waitCounts(90*time.Second, map[string]int{m.inbox: 0, m.done: n + 6})
	recs := consume(t, e.brokers, e.topic, n+6, 30*time.Second)
	got := map[string]bool{}
	for _, r := range recs {
		got[r.Key] = true
	}
	for _, id := range ids {
		if !got[petition.ID(name, id)] {
			t.Errorf("letter %s missing from Kafka", id)
		}
	}
	if len(got) != n+6 {
		t.Errorf("%d distinct ids, want %d", len(got), n+6)
	}
	select {
	case <-e.d.Exited():
		t.Fatalf("daemon exited: %v", e.d.Err())
	default:
	}
	if !strings.Contains(e.logs(), "reconnecting") {
		t.Errorf("no reconnection in the logs")
	}
	if err := e.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// TestImapProcessingMailboxes runs two daemons on one shared mailbox, each
// claiming letters into its own processing mailbox; one of them starts
// with a letter left in its processing mailbox by an earlier crash.
func TestImapProcessingMailboxes(t *testing.T) {
	addr := dovecot(t)
	kafka := broker(t)
	m := newMailboxes(t, addr)
	procA, procB := m.inbox+"/ProcA", m.inbox+"/ProcB"
	m.create(procA)
	m.create(procB)
	const n = 150
	raws, ids := bulkLetters(randomSuffix(), n+1)
	for _, raw := range raws[:n] {
		m.appendMsg(m.inbox, raw, time.Now())
	}
	m.appendMsg(procA, raws[n], time.Now()) // left over from a crash
	const name = "letters-shared"
	a := newEnv(t, kafka, m.channelYAML(name, "processing_mailbox: "+procA, "batch_size: 10", "max_in_flight: 20"))
	b := newEnv(t, kafka, m.channelYAML(name, "processing_mailbox: "+procB, "batch_size: 10", "max_in_flight: 20"))
	// b produces to a's topics.
	cfg, _ := os.ReadFile(b.cfgFile)
	cfg = bytes.ReplaceAll(cfg, []byte(b.topic), []byte(a.topic))
	cfg = bytes.ReplaceAll(cfg, []byte(b.dead), []byte(a.dead))
	os.WriteFile(b.cfgFile, cfg, 0o600)
	a.start()
	b.start()
	m.waitCounts(90*time.Second, map[string]int{m.inbox: 0, procA: 0, procB: 0, m.done: n + 1})
	a.stop()
	b.stop()
	recs := consumeAll(t, a.brokers, a.topic)
	got := map[string]int{}
	share := map[any]int{}
	for _, r := range recs {
		got[r.Key]++
		share[r.Value["meta"].(map[string]any)["mail.mailbox"]]++
	}
	t.Logf("letters per instance: %v", share)
	for _, id := range ids {
		if got[petition.ID(name, id)] == 0 {
			t.Errorf("letter %s missing", id)
		}
	}
	if len(got) != n+1 || len(recs) != n+1 {
		t.Errorf("%d records with %d distinct ids, want %d: claims must not let two instances take the same letter", len(recs), len(got), n+1)
	}
	t.Logf("%d records for %d letters", len(recs), n+1)
	for _, e := range []*env{a, b} {
		if !strings.Contains(e.logs(), "imap connected") {
			t.Errorf("daemon did not connect")
		}
	}
}

// TestImapTwoAccounts runs two imap channels (two accounts) in one daemon.
func TestImapTwoAccounts(t *testing.T) {
	addr := dovecot(t)
	kafka := broker(t)
	a := newMailboxes(t, addr)
	b := newMailboxes(t, addr, "letters2", "secret2")
	tag := randomSuffix()
	ra, ida := bulkLetters("a"+tag, 5)
	rb, idb := bulkLetters("b"+tag, 7)
	for _, raw := range ra {
		a.appendMsg(a.inbox, raw, time.Now())
	}
	for _, raw := range rb {
		b.appendMsg(b.inbox, raw, time.Now())
	}
	e := newEnv(t, kafka, a.channelYAML("letters-a")+b.channelYAML("letters-b"))
	e.start()
	a.waitCounts(30*time.Second, map[string]int{a.inbox: 0, a.done: 5})
	b.waitCounts(30*time.Second, map[string]int{b.inbox: 0, b.done: 7})
	recs := recordsByID(consume(t, e.brokers, e.topic, 12, 30*time.Second))
	for ch, ids := range map[string][]string{"letters-a": ida, "letters-b": idb} {
		for _, id := range ids {
			r, ok := recs[petition.ID(ch, id)]
			if !ok {
				t.Errorf("%s: letter %s missing", ch, id)
				continue
			}
			if c := r.Value["channel"].(map[string]any); c["name"] != ch || c["type"] != "imap" {
				t.Errorf("%s: channel %v", id, c)
			}
		}
	}
	if err := e.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}
