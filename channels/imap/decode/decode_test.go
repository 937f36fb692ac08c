package decode_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/imap"
	"github.com/court12368/petitiond/channels/imap/decode"
	tu "github.com/court12368/petitiond/internal/testutil"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/petition"
)

var mailCh = petition.ChannelRef{Name: "letters", Type: "imap"}

func mailSetup(t *testing.T) (*normalize.Normalizer, *blob.Dir) {
	t.Helper()
	store, err := blob.Open(t.TempDir(), blob.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	n := &normalize.Normalizer{Blobs: store,
		Now: func() time.Time { return time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC) }}
	return n, store
}

// mailItem stores raw and returns the item the imap channel would submit.
func mailItem(t *testing.T, store blob.Store, raw string) *channels.Item {
	t.Helper()
	ref, err := store.Put(bytes.NewReader([]byte(raw)), 0)
	if err != nil {
		t.Fatal(err)
	}
	return &channels.Item{
		Kind: imap.KindMail, SourceID: "m1@example.cn", SourceRef: "imap://petitions@127.0.0.1:143/INBOX;UIDVALIDITY=1/;UID=7",
		ReceivedAt: time.Date(2024, 3, 5, 1, 31, 0, 0, time.UTC), Original: ref,
		Meta: map[string]any{"mail.uid": uint32(7), "mail.mailbox": "INBOX", "mail.uidvalidity": uint32(1)},
	}
}

func gbk(s string) string {
	b, _ := simplifiedchinese.GBK.NewEncoder().String(s)
	return b
}

func b64w(charset, raw string) string {
	return "=?" + charset + "?B?" + base64.StdEncoding.EncodeToString([]byte(raw)) + "?="
}

func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

func TestMailRecord(t *testing.T) {
	n, store := mailSetup(t)
	text := "法院您好：\n我的案件（2023）赣0102执1234号判决已生效半年，执行款至今没有到账。"
	raw := crlf("Message-ID: <m1@example.cn>", "Date: Tue, 05 Mar 2024 09:30:00 +0800",
		"From: "+b64w("gb2312", gbk("王堃"))+" <WangKun@Example.CN>", "To: petitions@court.example",
		"Subject: "+b64w("gb2312", gbk("关于执行款的申诉")), "MIME-Version: 1.0",
		`Content-Type: multipart/mixed; boundary="b"`, "",
		"--b", "Content-Type: text/plain; charset=gb2312", "Content-Transfer-Encoding: base64", "",
		base64.StdEncoding.EncodeToString([]byte(gbk(strings.ReplaceAll(text, "\n", "\r\n")))),
		"--b", "Content-Type: application/pdf", "Content-Disposition: attachment; filename=a.pdf", "Content-Transfer-Encoding: base64", "",
		base64.StdEncoding.EncodeToString([]byte("%PDF-1.4")), "--b--")
	it := mailItem(t, store, raw)
	ps, err := n.Normalize(mailCh, it)
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	b, _ := json.Marshal(p)
	tu.ValidatePetition(t, b)
	if p.Subject != "关于执行款的申诉" || p.Content != text {
		t.Errorf("subject/content = %q / %q", p.Subject, p.Content)
	}
	if p.Petitioner.Name != "王堃" || p.Petitioner.Email != "wangkun@example.cn" {
		t.Errorf("petitioner = %+v", p.Petitioner)
	}
	if p.ID != petition.ID("letters", "m1@example.cn") || p.Source.ID != "m1@example.cn" {
		t.Errorf("id %s source %s", p.ID, p.Source.ID)
	}
	if !p.ReceivedAt.Equal(it.ReceivedAt) {
		t.Errorf("received_at %v, want the item's (INTERNALDATE) %v", p.ReceivedAt, it.ReceivedAt)
	}
	if len(p.Attachments) != 1 || p.Attachments[0].Filename != "a.pdf" || p.Attachments[0].SHA256 == "" {
		t.Errorf("attachments %+v", p.Attachments)
	}
	for k, want := range map[string]any{"mail.date": "2024-03-05T09:30:00+08:00", "mail.message_id": "m1@example.cn", "mail.uid": uint32(7)} {
		if p.Meta[k] != want {
			t.Errorf("meta[%s] = %v, want %v", k, p.Meta[k], want)
		}
	}
	if cs, _ := p.Meta["mail.charsets"].([]string); len(cs) == 0 {
		t.Errorf("meta mail.charsets missing: %v", p.Meta)
	}
	if len(p.Cases) != 1 {
		t.Errorf("cases %+v: the letter's case number was not found", p.Cases)
	}
}

func TestMailRecordNotPetitions(t *testing.T) {
	n, store := mailSetup(t)
	for name, raw := range map[string]string{
		"auto-reply": crlf("From: a@example.cn", "Auto-Submitted: auto-replied", "Subject: 自动回复", "", "我在休假。"),
		"bounce": crlf("From: MAILER-DAEMON@example.cn", "Subject: Undelivered Mail Returned to Sender",
			`Content-Type: multipart/report; report-type=delivery-status; boundary="r"`, "", "--r", "", "failed", "--r--"),
		"loop": crlf("From: a@example.cn", "X-Loop: petitions@court.example", "Subject: x", "", "text"),
		"bulk": crlf("From: news@example.cn", "Precedence: bulk", "Subject: 通讯", "", "text"),
	} {
		_, err := n.Normalize(mailCh, mailItem(t, store, raw))
		if !errors.Is(err, normalize.ErrNotPetition) {
			t.Errorf("%s: err = %v, want ErrNotPetition", name, err)
		}
	}
}

func TestMailRecordErrors(t *testing.T) {
	n, store := mailSetup(t)
	_, err := n.Normalize(mailCh, mailItem(t, store, crlf("From: a@example.cn", "Subject: 空", "", "")))
	if err == nil || errors.Is(err, normalize.ErrNotPetition) {
		t.Errorf("empty letter: err = %v, want an error (dead letter)", err)
	}
	it := &channels.Item{Kind: imap.KindMail, SourceID: "big@example.cn",
		Meta: map[string]any{imap.MetaRefused: "message of 70000000 bytes exceeds max_message_size 67108864"}}
	if _, err := n.Normalize(mailCh, it); err == nil || !strings.Contains(err.Error(), "exceeds max_message_size") {
		t.Errorf("refused letter: err = %v, want the reason", err)
	}
	it = mailItem(t, store, "x")
	it.Original.SHA256 = strings.Repeat("0", 64)
	if _, err := n.Normalize(mailCh, it); err == nil {
		t.Errorf("missing original: no error")
	}
}

func TestMailRecordReplyToAndFollowUps(t *testing.T) {
	n, store := mailSetup(t)
	earlier := petition.TrackingNo(petition.ID("letters", "first@example.cn"))
	other := petition.TrackingNo(petition.ID("letters", "other@example.cn"))

	raw := crlf("Message-ID: <m1@example.cn>", "From: 网上信访平台 <noreply@portal.example>", "Reply-To: <Citizen@Example.CN>",
		"Subject: 补充材料", "", "补充一份材料。")
	it := mailItem(t, store, raw)
	it.Meta[imap.MetaThreadTrackingNo] = earlier
	ps, err := n.Normalize(mailCh, it)
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	if p.Petitioner.Email != "citizen@example.cn" || p.Petitioner.Name != "网上信访平台" {
		t.Errorf("petitioner %+v, want the Reply-To address (name from From)", p.Petitioner)
	}
	if p.FollowUpOf != earlier {
		t.Errorf("follow_up_of %q, want %q from the thread index", p.FollowUpOf, earlier)
	}

	// A tracking number in the subject wins over the thread.
	raw = crlf("Message-ID: <m2@example.cn>", "From: a@example.cn", "Subject: 受理编号 "+strings.ToLower(other)+" 的补充", "", "补充。")
	it = mailItem(t, store, raw)
	it.SourceID = "m2@example.cn"
	it.Meta[imap.MetaThreadTrackingNo] = earlier
	ps, err = n.Normalize(mailCh, it)
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].FollowUpOf != other {
		t.Errorf("follow_up_of %q, want the subject's %q", ps[0].FollowUpOf, other)
	}
}

func TestMailRecordHTMLAndTruncation(t *testing.T) {
	n, store := mailSetup(t)
	raw := crlf("Message-ID: <h@example.cn>", "From: a@example.cn", "Subject: html", "Content-Type: text/html; charset=utf-8", "",
		"<html><body><p>"+strings.Repeat("很长的信。", decode.TextLimit/5+100)+"</p></body></html>")
	ps, err := n.Normalize(mailCh, mailItem(t, store, raw))
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	if got := len([]rune(p.Content)); got > decode.TextLimit || got < decode.TextLimit-10 {
		t.Errorf("content of %d characters, want about %d", got, decode.TextLimit)
	}
	if p.Meta["mail.text_truncated"] != true || p.Meta["mail.text_from_html"] != true {
		t.Errorf("meta %v", p.Meta)
	}
	b, _ := json.Marshal(p)
	if len(b) > 900<<10 {
		t.Errorf("record of %d bytes: too large for Kafka", len(b))
	}
}

// TestAttachmentAllowList: attachments whose sniffed type the channel does
// not allow are left out of the record and listed as not stored; the
// letter goes on.
func TestAttachmentAllowList(t *testing.T) {
	n, store := mailSetup(t)
	raw := crlf("Message-ID: <al@example.cn>", "Date: Tue, 05 Mar 2024 09:30:00 +0800",
		"From: a@example.cn", "To: petitions@court.example", "Subject: x", "MIME-Version: 1.0",
		`Content-Type: multipart/mixed; boundary="b"`, "",
		"--b", "Content-Type: text/plain; charset=utf-8", "", "请立案",
		"--b", "Content-Type: application/pdf", "Content-Disposition: attachment; filename=a.pdf", "", "%PDF-1.4 x",
		"--b", "Content-Type: image/png", "Content-Disposition: attachment; filename=b.exe", "", "MZ\x90\x00 this is a program",
		"--b--")
	it := mailItem(t, store, raw)
	it.Meta[imap.MetaAllowedTypes] = []string{"application/pdf", "image/*"}
	ps, err := n.Normalize(mailCh, it)
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	if len(p.Attachments) != 1 || p.Attachments[0].Filename != "a.pdf" {
		t.Errorf("attachments %+v, want only the PDF", p.Attachments)
	}
	if ns, _ := p.Meta["mail.attachments_not_stored"].([]map[string]any); len(ns) != 1 || ns[0]["reason"] != "type not allowed" {
		t.Errorf("not stored: %v", p.Meta["mail.attachments_not_stored"])
	}
	if _, kept := p.Meta[imap.MetaAllowedTypes]; kept {
		t.Error("the channel's allow-list leaked into the record's meta")
	}
}
