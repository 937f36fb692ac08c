// Package gen makes the inputs of petitiond's load harnesses (bench/…):
// web petitions, Asterisk CDR lines and IMAP letters, so that every
// harness and the side-by-side report (bench/report) send the same data.
package gen

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// WebPetition is the JSON body posted to the web channel (~1.4 KB). Its
// content ends with a serial slot (serialMark and ten letters) that
// NumberedWebPetition fills, so that every posted petition is a distinct
// original, as real ones are: the same body every time would measure the
// blob store's "already stored" path instead of a write.
func WebPetition() []byte {
	b, _ := json.Marshal(map[string]string{
		"name": "王小明", "phone": "13907911234", "email": "wang@example.cn", "address": "江西省南昌市红谷滩区丰和中大道1号",
		"subject": "关于执行款迟迟未到账", "case_number": "（2023）赣0102执1234号",
		"content": strings.Repeat("我的案件判决已生效半年，执行款至今没有到账，请法院尽快处理。", 8) + serialMark + "aaaaaaaaaa",
	})
	return b
}

// serialMark precedes the serial slot: letters, not digits, so that no
// phone or id number finder reads it.
const serialMark = "来信序号"

// NumberedWebPetition returns a copy of body (WebPetition) with serial n
// in its slot, at the same length.
func NumberedWebPetition(body []byte, n uint64) []byte {
	b := append([]byte(nil), body...)
	i := bytes.Index(b, []byte(serialMark))
	if i < 0 {
		return b
	}
	slot := b[i+len(serialMark) : i+len(serialMark)+10]
	for j := len(slot) - 1; j >= 0; j-- {
		slot[j] = 'a' + byte(n%26)
		n /= 26
	}
	return b
}

// CDR writes Asterisk Master.csv lines from..from+n-1 (21 columns, 20%
// missed calls, Chinese notes) with ids unique under tag.
func CDR(w io.Writer, from, n int, tag string) error {
	var b strings.Builder
	notes := []string{"咨询案件进度，要求联系承办法官", "反映执行款未到账", "询问立案所需材料", "投诉法官态度", ""}
	for i := from; i < from+n; i++ {
		answer, disp, bill := `"2024-03-01 09:15:03"`, "ANSWERED", 462
		if i%5 == 4 {
			answer, disp, bill = "", "NO ANSWER", 0
		}
		fmt.Fprintf(&b, `"","139%08d","12368","from-trunk","""张三"" <139%08d>","PJSIP/trunk-%08x","PJSIP/8001-%08x","Queue","petitions,t,,,300","2024-03-01 09:15:02",%s,"2024-03-01 09:22:45",463,%d,"%s","DOCUMENTATION","%s.%d","%s","","%s.%d",%d`+"\n",
			i%100000000, i%100000000, i, i+1, answer, bill, disp, tag, i, notes[i%len(notes)], tag, i, i)
		if b.Len() > 1<<20 {
			if _, err := io.WriteString(w, b.String()); err != nil {
				return err
			}
			b.Reset()
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func encode(e encoding.Encoding, s string) string {
	b, err := e.NewEncoder().String(s)
	must(err)
	return b
}

func bWord(charset, raw string) string {
	return "=?" + charset + "?B?" + base64.StdEncoding.EncodeToString([]byte(raw)) + "?="
}

func b64(raw []byte) string {
	s := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

func qp(raw string) string {
	var b strings.Builder
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(raw))
	w.Close()
	return strings.ReplaceAll(strings.ReplaceAll(b.String(), "\r\n", "\n"), "\n", "\r\n")
}

func lines(ls ...string) []byte { return []byte(strings.Join(ls, "\r\n") + "\r\n") }

// Prose is a petition sentence with a case number and a phone.
const Prose = "法院您好：我的案件（2023）赣0102执1234号判决已生效半年，执行款至今没有到账，请求法院依法督促执行。联系电话13907911234。"

// Letter is letter i of a backfill: five kinds in turn, ~100 KB on average.
func Letter(i int, tag string) []byte {
	id := fmt.Sprintf("<bf-%d.%s@bench.example.cn>", i, tag)
	date := "Date: Tue, 05 Mar 2024 09:30:00 +0800"
	text := strings.Repeat(Prose+"\n", 20+i%20)
	switch i % 5 {
	case 0: // GB2312 label, GBK text, PDF attachment
		return lines("Message-ID: "+id, date, "From: "+bWord("gb2312", encode(simplifiedchinese.GBK, "王小明"))+" <wang@example.cn>",
			"Subject: "+bWord("gb2312", encode(simplifiedchinese.GBK, fmt.Sprintf("关于执行款的申诉（第%d号）", i))),
			"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b0"`, "",
			"--b0", "Content-Type: text/plain; charset=gb2312", "Content-Transfer-Encoding: base64", "",
			b64([]byte(encode(simplifiedchinese.GBK, text))),
			"--b0", "Content-Type: application/pdf; name=\"judgement.pdf\"", "Content-Transfer-Encoding: base64",
			"Content-Disposition: attachment; filename=\"judgement.pdf\"", "", b64(randBytes(70_000)), "--b0--")
	case 1: // Big5, quoted-printable, JPEG attachment with an RFC 2231 name
		return lines("Message-ID: "+id, date, "From: "+bWord("big5", encode(traditionalchinese.Big5, "陳大文"))+" <chan@example.hk>",
			"Subject: "+bWord("big5", encode(traditionalchinese.Big5, fmt.Sprintf("關於案件進度的查詢 %d", i))),
			"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b1"`, "",
			"--b1", "Content-Type: text/plain; charset=big5", "Content-Transfer-Encoding: quoted-printable", "",
			qp(encode(traditionalchinese.Big5, strings.Repeat("法院您好：我於去年提起訴訟，至今未有回覆，請協助查詢。\n", 30))),
			"--b1", "Content-Type: image/jpeg", "Content-Transfer-Encoding: base64",
			"Content-Disposition: attachment; filename*=utf-8''%E7%85%A7%E7%89%87.jpg", "", b64(randBytes(60_000)), "--b1--")
	case 2: // HTML only with an inline image
		return lines("Message-ID: "+id, date, "From: =?utf-8?B?"+base64.StdEncoding.EncodeToString([]byte("孙七"))+"?= <sun7@example.cn>",
			"Subject: "+bWord("utf-8", fmt.Sprintf("网上立案遇到困难 %d", i)), "MIME-Version: 1.0",
			`Content-Type: multipart/related; boundary="b2"`, "",
			"--b2", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: base64", "",
			b64([]byte("<html><body><p>"+strings.ReplaceAll(text, "\n", "</p><p>")+"</p><img src=\"cid:img1\"></body></html>")),
			"--b2", "Content-Type: image/png", "Content-ID: <img1>", "Content-Transfer-Encoding: base64", "", b64(randBytes(50_000)), "--b2--")
	case 3: // raw 8-bit GBK headers and body, a .docx attachment
		return lines("Message-ID: "+id, date, "From: "+encode(simplifiedchinese.GBK, "李四")+" <lisi@example.cn>",
			"Subject: "+encode(simplifiedchinese.GBK, fmt.Sprintf("请求联系承办法官 %d", i)), "MIME-Version: 1.0",
			`Content-Type: multipart/mixed; boundary="b3"`, "",
			"--b3", "Content-Type: text/plain; charset=GBK", "Content-Transfer-Encoding: 8bit", "",
			encode(simplifiedchinese.GBK, text),
			"--b3", "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Content-Transfer-Encoding: base64",
			"Content-Disposition: attachment; filename=\""+bWord("gbk", encode(simplifiedchinese.GBK, "起诉状.docx"))+"\"", "",
			b64(randBytes(110_000)), "--b3--")
	default: // a forwarded letter with an attachment inside
		return lines("Message-ID: "+id, date, "From: zhou8@example.cn", "Subject: "+bWord("utf-8", fmt.Sprintf("转发：群众来信 %d", i)),
			"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b4"`, "",
			"--b4", "Content-Type: text/plain; charset=utf-8", "", "请看转发的信件。",
			"--b4", "Content-Type: message/rfc822", "",
			"Message-ID: <inner-"+strings.Trim(id, "<>")+">", "From: someone@example.cn", "Subject: "+bWord("gbk", encode(simplifiedchinese.GBK, "原始来信")),
			"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="in4"`, "",
			"--in4", "Content-Type: text/plain; charset=gbk", "Content-Transfer-Encoding: base64", "", b64([]byte(encode(simplifiedchinese.GBK, text))),
			"--in4", "Content-Type: application/pdf", "Content-Transfer-Encoding: base64", "Content-Disposition: attachment; filename=a.pdf", "",
			b64(randBytes(60_000)), "--in4--", "--b4--")
	}
}

// SmallLetter is a short GBK text letter with Message-ID id.
func SmallLetter(id string) []byte {
	return lines("Message-ID: <"+id+">", "Date: Tue, 05 Mar 2024 09:30:00 +0800", "From: wang@example.cn",
		"Subject: "+bWord("utf-8", "新来信"), "Content-Type: text/plain; charset=gbk", "Content-Transfer-Encoding: base64", "",
		b64([]byte(encode(simplifiedchinese.GBK, Prose))))
}

// BigLetter is a letter with one attachment of size random bytes.
func BigLetter(id string, size int) []byte {
	return lines("Message-ID: <"+id+">", "Date: Tue, 05 Mar 2024 09:30:00 +0800", "From: wang@example.cn",
		"Subject: "+bWord("utf-8", "大附件"), "MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="bb"`, "",
		"--bb", "Content-Type: text/plain; charset=utf-8", "", "附件是录像。",
		"--bb", "Content-Type: video/mp4", "Content-Transfer-Encoding: base64", "Content-Disposition: attachment; filename=v.mp4", "",
		b64(randBytes(size)), "--bb--")
}

// WebPetitions is the body of the n-th posted petition: WebPetition with
// serial n.
func WebPetitions() func(n uint64) []byte {
	body := WebPetition()
	return func(n uint64) []byte { return NumberedWebPetition(body, n) }
}
