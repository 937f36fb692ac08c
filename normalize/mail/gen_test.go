package mail

import (
	"bytes"
	"encoding/base64"
	"flag"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// The golden inputs that need GBK, GB18030 or Big5 bytes are written by
// this generator (go test -run TestGeneratedInputs -gen) and committed;
// TestGeneratedInputs checks that the committed files still match it.
var gen = flag.Bool("gen", false, "rewrite the generated testdata/*/input.eml files")

func encodeWith(e encoding.Encoding, s string) string {
	out, err := e.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return out
}

func gbk(s string) string     { return encodeWith(simplifiedchinese.GBK, s) }
func gb18030(s string) string { return encodeWith(simplifiedchinese.GB18030, s) }
func big5(s string) string    { return encodeWith(traditionalchinese.Big5, s) }

// b64 encodes s as a base64 body with 76-column CRLF lines.
func b64(s string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	return b.String()
}

// qp encodes s (raw bytes) as a quoted-printable body.
func qp(s string) string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

// bWord is an RFC 2047 B word over raw bytes.
func bWord(charset, raw string) string {
	return "=?" + charset + "?B?" + base64.StdEncoding.EncodeToString([]byte(raw)) + "?="
}

// qWord is an RFC 2047 Q word over raw bytes.
func qWord(charset, raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == ' ':
			b.WriteByte('_')
		case c < 0x80 && c > ' ' && c != '=' && c != '?' && c != '_':
			b.WriteByte(c)
		default:
			b.WriteString("=" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return "=?" + charset + "?Q?" + b.String() + "?="
}

func eml(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

// Generated golden inputs, by case directory.
var generated = map[string]func() []byte{
	"gb2312-label-gbk-body": func() []byte {
		body := "尊敬的法官：\r\n\r\n我叫朱镕基，邻居叫王喆、李堃。GB2312 没有“镕”“喆”“堃”这几个字，GBK 有。\r\n四字节字符：𠀀。\r\n\r\n此致\r\n敬礼"
		return eml(
			"From: "+bWord("gb2312", gbk("朱镕基"))+" <zhu@example.cn>",
			"To: 12368@court.example",
			"Subject: "+bWord("GB2312", gbk("关于喆、堃、镕三字的反映")),
			"Date: Mon, 15 Jan 2024 09:30:00 +0800",
			"Message-ID: <gbk-body-1@example.cn>",
			"MIME-Version: 1.0",
			"Content-Type: text/plain; charset=gb2312",
			"Content-Transfer-Encoding: base64",
			"",
			b64(gb18030(body)))
	},
	"big5-body": func() []byte {
		body := "法官您好：\r\n本人於臺灣高等法院之案件，請協助查詢進度。\r\n謝謝！許功蓋"
		return eml(
			"From: "+qWord("big5", big5("陳大文"))+" <chan@example.hk>",
			"To: 12368@court.example",
			"Subject: "+qWord("Big5", big5("查詢案件進度")),
			"Date: Tue, 16 Jan 2024 10:00:00 +0800",
			"Message-ID: <big5-1@example.hk>",
			"MIME-Version: 1.0",
			"Content-Type: text/plain; charset=\"big5\"",
			"Content-Transfer-Encoding: quoted-printable",
			"",
			qp(big5(body)))
	},
	"raw-gbk-headers": func() []byte {
		return eml(
			"From: "+gbk("张三")+" <zhangsan@qq.com>",
			"To: \""+gbk("南昌中院")+"\" <12368@court.example>",
			"Subject: "+gbk("关于（2023）赣01民初123号案件执行的反映"),
			"Date: Wed, 17 Jan 2024 08:00:00 +0800",
			"Message-ID: <raw-gbk-1@qq.com>",
			"X-Mailer: Foxmail 6, 15, 201, 22 [cn]",
			"Content-Type: text/plain",
			"Content-Transfer-Encoding: 8bit",
			"",
			gbk("法官：执行款至今未到账，请帮助。"))
	},
	"rfc2047-split": func() []byte {
		subj := []byte("执行案件进展查询")
		// split the UTF-8 bytes in the middle of a character, and the
		// base64 in the middle of a quantum
		a, b := string(subj[:4]), string(subj[4:])
		g := gbk("李四")
		return eml(
			"From: "+qWord("gb2312", g[:3])+" "+qWord("gb2312", g[3:])+" <lisi@example.cn>",
			"To: =?utf-8?q?12368_=E7=83=AD=E7=BA=BF?= <12368@court.example>",
			"Subject: Re: "+bWord("UTF-8", a)+"\r\n "+bWord("UTF-8", b)+" =?utf-8?Q?_=E2=80=94_?=done",
			"Date: Thu, 18 Jan 2024 12:00:00 +0800",
			"Message-ID: <split-1@example.cn>",
			"In-Reply-To: <ack-0001@court.example> (your ack)",
			"References: <first@example.cn>\r\n <ack-0001@court.example>",
			"Content-Type: text/plain; charset=utf-8",
			"",
			"正文。")
	},
	"rfc2231-filename": func() []byte {
		g := gbk("证据.pdf")
		pct := func(s string) string {
			var b strings.Builder
			for i := 0; i < len(s); i++ {
				b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[s[i]>>4])+string("0123456789abcdef"[s[i]&15])))
			}
			return b.String()
		}
		return eml(
			"From: wang@example.cn",
			"To: 12368@court.example",
			"Subject: attachments",
			"Date: Fri, 19 Jan 2024 12:00:00 +0800",
			"Message-ID: <rfc2231-1@example.cn>",
			"MIME-Version: 1.0",
			"Content-Type: multipart/mixed; boundary=\"b1\"",
			"",
			"--b1",
			"Content-Type: text/plain; charset=utf-8",
			"",
			"见附件。",
			"--b1",
			"Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document",
			"Content-Disposition: attachment; filename=\"qisuzhuang.docx\";",
			" filename*=UTF-8''"+pct("起诉状.docx"),
			"Content-Transfer-Encoding: base64",
			"",
			b64("docx bytes"),
			"--b1",
			"Content-Type: application/pdf",
			"Content-Disposition: attachment;",
			" filename*0*=gbk''"+pct(g[:3])+";",
			" filename*1*="+pct(g[3:]),
			"Content-Transfer-Encoding: base64",
			"",
			b64("pdf bytes"),
			"--b1",
			"Content-Type: image/jpeg; name=\""+bWord("gb2312", gbk("现场照片.jpg"))+"\"",
			"Content-Transfer-Encoding: base64",
			"",
			b64("jpeg bytes"),
			"--b1",
			"Content-Type: application/octet-stream",
			"Content-Disposition: attachment; filename=\""+gbk("判决书.pdf")+"\"",
			"Content-Transfer-Encoding: base64",
			"",
			b64("judgement"),
			"--b1",
			"Content-Type: application/octet-stream",
			"Content-Disposition: attachment; filename=\"C:\\Documents\\..\\"+gbk("材料")+".zip\"",
			"",
			"zip",
			"--b1--")
	},
	"forward-nested": func() []byte {
		return eml(
			"From: \"Zhao\" <zhao@example.cn>",
			"To: 12368@court.example",
			"Subject: Fwd: "+bWord("gb2312", gbk("申请执行")),
			"Date: Sat, 20 Jan 2024 12:00:00 +0800",
			"Message-ID: <fwd-1@example.cn>",
			"MIME-Version: 1.0",
			"Content-Type: multipart/mixed; boundary=\"outer\"",
			"",
			"This is a multi-part message in MIME format.",
			"",
			"--outer",
			"Content-Type: text/plain; charset=utf-8",
			"Content-Transfer-Encoding: 8bit",
			"",
			"请看我上次写给执行局的信，至今没有答复。",
			"",
			"--outer",
			"Content-Type: message/rfc822",
			"Content-Disposition: attachment",
			"",
			"From: "+bWord("gb2312", gbk("赵六"))+" <zhao@example.cn>",
			"To: zhixing@court.example",
			"Subject: "+bWord("gb2312", gbk("申请执行")),
			"Date: Mon, 1 Jan 2024 09:00:00 +0800",
			"Message-ID: <orig-1@example.cn>",
			"MIME-Version: 1.0",
			"Content-Type: multipart/mixed; boundary=\"inner\"",
			"",
			"--inner",
			"Content-Type: text/plain; charset=gbk",
			"Content-Transfer-Encoding: 8bit",
			"",
			gbk("执行局：请依法强制执行（2023）赣0102民初45号判决。"),
			"--inner",
			"Content-Type: application/pdf; name=\"judgement.pdf\"",
			"Content-Disposition: attachment; filename=\"judgement.pdf\"",
			"Content-Transfer-Encoding: base64",
			"",
			b64("%PDF-1.4 judgement"),
			"--inner--",
			"",
			"--outer--",
			"")
	},
	"qp-raw-gbk": func() []byte {
		raw := gbk("第一段有原始八位字节，") + "=\r\n" + "=D6=D0=CE=C4" + gbk("混合。") + "\r\n" + "trailing spaces   \r\n= broken =ZZ escape"
		return eml(
			"From: a@example.cn",
			"Subject: qp",
			"Date: Sun, 21 Jan 2024 12:00:00 +0800",
			"Message-ID: <qp-1@example.cn>",
			"Content-Type: text/plain; charset=GB_2312-80",
			"Content-Transfer-Encoding: Quoted-Printable",
			"",
			raw)
	},
	"mislabelled-charsets": func() []byte {
		return eml(
			"From: b@example.cn",
			"Subject: mislabelled",
			"Date: Sun, 21 Jan 2024 12:00:00 +0800",
			"Message-ID: <mislabel-1@example.cn>",
			"Content-Type: multipart/mixed; boundary=zz",
			"",
			"--zz",
			"Content-Type: text/plain; charset=iso-8859-1",
			"Content-Transfer-Encoding: 8bit",
			"",
			gbk("标为西欧字符集，实为国标码的中文来信。请法院帮助解决问题。"),
			"--zz",
			"Content-Type: text/plain; charset=utf-8",
			"Content-Transfer-Encoding: 8bit",
			"",
			gbk("标为 UTF-8，实为 GBK 的第二段。"),
			"--zz",
			"Content-Type: text/plain; charset=x-unknown-cn",
			"Content-Transfer-Encoding: 8bit",
			"",
			gbk("未知字符集的第三段。"),
			"--zz--")
	},
}

func TestGeneratedInputs(t *testing.T) {
	for name, f := range generated {
		path := filepath.Join("testdata", name, "input.eml")
		want := f()
		if *gen {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestGeneratedInputs -gen)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its generator (run go test -run TestGeneratedInputs -gen)", path)
		}
	}
}
