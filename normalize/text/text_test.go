package text

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestClean(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"only space", " \t\u3000\n\r\n ", ""},
		{"trim", "  您好，法官  ", "您好，法官"},
		{"crlf", "第一行\r\n第二行\r第三行", "第一行\n第二行\n第三行"},
		{"nel and ls", "甲\u0085乙\u2028丙", "甲\n乙\n丙"},
		{"paragraph separator", "甲\u2029乙", "甲\n\n乙"},
		{"blank lines collapse", "甲\n\n\n\n乙", "甲\n\n乙"},
		{"blank lines with spaces", "甲\n  \n\t\n乙", "甲\n\n乙"},
		{"single newline kept", "甲\n乙", "甲\n乙"},
		{"controls stripped", "反\x00映\x07问\x1b题\x7f", "反映问题"},
		{"c1 control stripped", "反\u0090映", "反映"},
		{"bom and zwsp", "\ufeff案\u200b号", "案号"},
		{"zwj kept", "👨\u200d👩", "👨\u200d👩"},
		{"form feed is a line break", "第1页\f第2页", "第1页\n第2页"},
		{"tab kept", "姓名\t张三", "姓名\t张三"},
		{"space run", "张三    男", "张三 男"},
		{"run with tab", "张三 \t 男", "张三\t男"},
		{"ideographic run kept", "张三\u3000\u3000男", "张三\u3000男"},
		{"mixed run", "张三\u3000 男", "张三 男"},
		{"nbsp", "a\u00a0\u00a0b", "a b"},
		{"indent removed", "\u3000\u3000我叫张三。\n\u3000\u3000我要反映。", "我叫张三。\n我要反映。"},
		{"invalid utf8", "a\xffb\xc3", "a\ufffdb\ufffd"},
		{"nfc", "e\u0301", "\u00e9"},
		{"nfc across stripped control", "e\x01\u0301", "\u00e9"},
		{"full width kept in prose", "（２０２１）赣０１民初１２３号", "（２０２１）赣０１民初１２３号"},
		{"compat kept in prose", "ﬁ ①", "ﬁ ①"},
	}
	for _, tt := range tests {
		if got := Clean(tt.in); got != tt.want {
			t.Errorf("%s: Clean(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestIdentifier(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"３６０１０２ １９８００１０１ ００１ｘ", "36010219800101001x"},
		{"（２０２１）赣０１民初１２３号", "(2021)赣01民初123号"},
		{"〔2021〕 赣01 民初 123号", "〔2021〕赣01民初123号"},
		{"【2021】赣01民初123号", "【2021】赣01民初123号"},
		{"ＡＢＣ－１２３", "ABC-123"},
		{"139\u200b1234\ufeff5678", "13912345678"},
		{"0791\u3000８６１２\t3456\n", "079186123456"},
		{"a\xffb", "a\ufffdb"},
	}
	for _, tt := range tests {
		if got := Identifier(tt.in); got != tt.want {
			t.Errorf("Identifier(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFoldRune(t *testing.T) {
	tests := []struct{ in, want rune }{
		{'０', '0'}, {'９', '9'}, {'Ａ', 'A'}, {'ｚ', 'z'}, {'（', '('}, {'）', ')'},
		{'～', '~'}, {'！', '!'}, {'\u3000', ' '}, {'〔', '〔'}, {'【', '【'}, {'号', '号'}, {'a', 'a'},
	}
	for _, tt := range tests {
		if got := FoldRune(tt.in); got != tt.want {
			t.Errorf("FoldRune(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// FoldRune agrees with NFKC on the whole full-width ASCII block.
	for r := rune(0xFF01); r <= 0xFF5E; r++ {
		if got, want := string(FoldRune(r)), norm.NFKC.String(string(r)); got != want {
			t.Errorf("FoldRune(%U) = %q, want NFKC %q", r, got, want)
		}
	}
}

func TestMasks(t *testing.T) {
	tests := []struct {
		name string
		f    func(string) string
		in   string
		want string
	}{
		{"MaskID", MaskID, "360102198001010013", "360102********0013"},
		{"MaskID", MaskID, "11010519491231002X", "110105********002X"},
		{"MaskID", MaskID, "610104620927690", "610104*****7690"},
		{"MaskID", MaskID, "E12345678", "E12****78"},
		{"MaskID", MaskID, "", ""},
		{"MaskID", MaskID, "12", "**"},
		{"MaskPhone", MaskPhone, "13912345678", "*******5678"},
		{"MaskPhone", MaskPhone, "+8613912345678", "+*********5678"},
		{"MaskPhone", MaskPhone, "0791-86123456", "****-****3456"},
		{"MaskPhone", MaskPhone, "12368", "*2368"},
		{"MaskPhone", MaskPhone, "110", "***"},
		{"MaskPhone", MaskPhone, "", ""},
		{"MaskName", MaskName, "张三丰", "张**"},
		{"MaskName", MaskName, "欧阳娜娜", "欧***"},
		{"MaskName", MaskName, "张", "*"},
		{"MaskName", MaskName, "", ""},
		{"MaskEmail", MaskEmail, "zhangsan@example.org", "z***@example.org"},
		{"MaskEmail", MaskEmail, "张三@example.org", "张***@example.org"},
		{"MaskEmail", MaskEmail, "no-at-sign", "***"},
		{"MaskEmail", MaskEmail, "@example.org", "***"},
	}
	for _, tt := range tests {
		if got := tt.f(tt.in); got != tt.want {
			t.Errorf("%s(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// checkClean asserts the invariants Clean promises for any input.
func checkClean(t *testing.T, in string) {
	t.Helper()
	got := Clean(in)
	if !utf8.ValidString(got) {
		t.Fatalf("Clean(%q) = %q: not valid UTF-8", in, got)
	}
	if again := Clean(got); again != got {
		t.Fatalf("Clean(Clean(%q)) = %q, want %q (idempotent)", in, again, got)
	}
	if !norm.NFC.IsNormalString(got) {
		t.Fatalf("Clean(%q) = %q: not NFC", in, got)
	}
	for _, r := range got {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			t.Fatalf("Clean(%q) = %q: contains control %U", in, got, r)
		}
	}
	if strings.TrimFunc(got, unicode.IsSpace) != got {
		t.Fatalf("Clean(%q) = %q: not trimmed", in, got)
	}
	if strings.Contains(got, "\n\n\n") {
		t.Fatalf("Clean(%q) = %q: more than one blank line", in, got)
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"", "  您好\r\n\r\n\r\n法官  ", "a\xffb", "e\u0301\u3000\u3000x", "\u2029\u2028\f", "ᄀ ᅡ"} {
		f.Add(s)
	}
	f.Fuzz(checkClean)
}

func FuzzIdentifier(f *testing.F) {
	for _, s := range []string{"（２０２１）赣０１民初１２３号", "３６０１０２ １９８００１０１ ００１ｘ", "\xff\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := Identifier(in)
		if !utf8.ValidString(got) {
			t.Fatalf("Identifier(%q) = %q: not valid UTF-8", in, got)
		}
		if again := Identifier(got); again != got {
			t.Fatalf("Identifier(Identifier(%q)) = %q, want %q", in, again, got)
		}
		for _, r := range got {
			if unicode.IsSpace(r) || r >= 0xFF01 && r <= 0xFF5E {
				t.Fatalf("Identifier(%q) = %q: contains %U", in, got, r)
			}
		}
	})
}

// letter is a 2 KB petition letter used by benchmarks.
var letter = strings.Repeat("\u3000\u3000尊敬的法官：您好！我叫张三，身份证号３６０１０２１９８００１０１００１３，"+
	"联系电话：0791-8612 3456转8001。关于（2021）赣01民初123号案件，  至今没有进展。\r\n\r\n\r\n", 8)

func BenchmarkClean(b *testing.B) {
	b.SetBytes(int64(len(letter)))
	b.ReportAllocs()
	for b.Loop() {
		Clean(letter)
	}
}

func BenchmarkIdentifier(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Identifier("（２０２１）赣０１民初１２３号")
	}
}

// plainNFC never calls a text NFC that is not (it may only miss some that
// are, which then go to the norm package).
func FuzzPlainNFC(f *testing.F) {
	for _, s := range []string{"咨询案件进度", "e\u0301", "\uF900", "が", "か\u3099", "Ａ１，", "한"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if plainNFC(s) && !norm.NFC.IsNormalString(s) {
			t.Fatalf("plainNFC(%q) but it is not NFC", s)
		}
	})
}
