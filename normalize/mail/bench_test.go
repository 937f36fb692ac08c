package mail

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchLetter builds a letter of about 100 KB in mixed encodings: GBK
// encoded-word headers, a GBK quoted-printable text part and a UTF-8 base64
// HTML alternative, and a 45 KB base64 attachment with an RFC 2231 name.
func benchLetter() []byte {
	para := "尊敬的法官：本人于二〇二三年向贵院提起诉讼，案号（2023）赣01民初123号，判决生效后对方至今未履行，恳请依法强制执行。联系电话 13912345678。\r\n"
	plain := strings.Repeat(para, 60)
	html := "<html><body>" + strings.Repeat("<p>"+strings.TrimSpace(para)+"</p>\r\n", 40) + "</body></html>"
	att := make([]byte, 45<<10)
	rand.NewChaCha8([32]byte{7}).Read(att)
	return eml(
		"From: "+bWord("gb2312", gbk("张三"))+" <zhangsan@example.cn>",
		"To: 12368@court.example",
		"Subject: "+bWord("gb2312", gbk("关于（2023）赣01民初123号案件"))+" "+bWord("gb2312", gbk("执行的反映")),
		"Date: Mon, 15 Jan 2024 09:30:00 +0800",
		"Message-ID: <bench-1@example.cn>",
		"X-Mailer: Foxmail 7.2",
		"MIME-Version: 1.0",
		"Content-Type: multipart/mixed; boundary=\"----=_NextPart_000_0001\"",
		"",
		"This is a multi-part message in MIME format.",
		"",
		"------=_NextPart_000_0001",
		"Content-Type: multipart/alternative; boundary=\"----=_NextPart_001_0002\"",
		"",
		"------=_NextPart_001_0002",
		"Content-Type: text/plain; charset=\"gb2312\"",
		"Content-Transfer-Encoding: quoted-printable",
		"",
		qp(gbk(plain)),
		"------=_NextPart_001_0002",
		"Content-Type: text/html; charset=\"utf-8\"",
		"Content-Transfer-Encoding: base64",
		"",
		b64(html),
		"------=_NextPart_001_0002--",
		"",
		"------=_NextPart_000_0001",
		"Content-Type: image/jpeg; name=\"scan.jpg\"",
		"Content-Disposition: attachment; filename*=UTF-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87.jpg",
		"Content-Transfer-Encoding: base64",
		"",
		b64(string(att)),
		"------=_NextPart_000_0001--")
}

func BenchmarkParse(b *testing.B) {
	msg := benchLetter()
	st := newMemStore()
	l, err := Parse(bytes.NewReader(msg), st, Options{})
	if err != nil || len(l.Attachments) != 1 || !strings.HasPrefix(l.Text, "尊敬的法官") {
		b.Fatalf("Parse(bench letter) = %+v, %v", l, err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(msg), st, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
