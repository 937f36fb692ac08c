package casenum

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Case // Raw is checked to equal the trimmed input
	}{
		{"（2021）赣01民初123号", Case{Number: "（2021）赣01民初123号", Year: 2021, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "民初", Kind: KindCivil, Seq: 123}},
		{"(2021)赣01民初123号", Case{Number: "（2021）赣01民初123号", Year: 2021, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "民初", Kind: KindCivil, Seq: 123}},
		{"〔2021〕赣01民初123号", Case{Number: "（2021）赣01民初123号", Year: 2021, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "民初", Kind: KindCivil, Seq: 123}},
		{"【2021】赣01民初123号", Case{Number: "（2021）赣01民初123号", Year: 2021, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "民初", Kind: KindCivil, Seq: 123}},
		{"[2021]赣01民初123号", Case{Number: "（2021）赣01民初123号", Year: 2021, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "民初", Kind: KindCivil, Seq: 123}},
		{"（２０２１）赣０１民初１２３号", Case{Number: "（2021）赣01民初123号", Year: 2021, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "民初", Kind: KindCivil, Seq: 123}},
		{" （ 2021 ） 赣 01 民 初 第 123 号 ", Case{Number: "（2021）赣01民初123号", Year: 2021, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "民初", Kind: KindCivil, Seq: 123}},
		{"(2021)赣01民初12 3号", Case{Number: "（2021）赣01民初123号", Year: 2021, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "民初", Kind: KindCivil, Seq: 123}},
		{"（2021）赣01民初123", Case{Number: "（2021）赣01民初123号", Year: 2021, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "民初", Kind: KindCivil, Seq: 123}},
		{"（2021）赣0102民初4567号之一", Case{Number: "（2021）赣0102民初4567号之一", Year: 2021, CourtCode: "赣0102", Province: "赣",
			Level: LevelBasic, CourtName: "南昌市东湖区人民法院", TypeCode: "民初", Kind: KindCivil, Seq: 4567, SeqSuffix: "之一"}},
		{"（2022）赣0121执恢88号之十二", Case{Number: "（2022）赣0121执恢88号之十二", Year: 2022, CourtCode: "赣0121", Province: "赣",
			Level: LevelBasic, CourtName: "南昌县人民法院", TypeCode: "执恢", Kind: KindEnforcement, Seq: 88, SeqSuffix: "之十二"}},
		{"（2021）最高法知民终2270号", Case{Number: "（2021）最高法知民终2270号", Year: 2021, CourtCode: "最高法",
			Level: LevelSupreme, CourtName: "最高人民法院", SpecialCode: "知", TypeCode: "民终", Kind: KindCivil, Seq: 2270}},
		{"（2019）最高法民申1234号", Case{Number: "（2019）最高法民申1234号", Year: 2019, CourtCode: "最高法",
			Level: LevelSupreme, CourtName: "最高人民法院", TypeCode: "民申", Kind: KindCivil, Seq: 1234}},
		{"（2020）赣刑终45号", Case{Number: "（2020）赣刑终45号", Year: 2020, CourtCode: "赣", Province: "赣",
			Level: LevelHigh, CourtName: "江西省高级人民法院", TypeCode: "刑终", Kind: KindCriminal, Seq: 45}},
		{"（2015）赣民一终字第12号", Case{Number: "（2015）赣民一终字第12号", Year: 2015, CourtCode: "赣", Province: "赣",
			Level: LevelHigh, CourtName: "江西省高级人民法院", TypeCode: "民一终", Kind: KindCivil, Seq: 12, OldStyle: true}},
		{"（2014）赣01执字第7号", Case{Number: "（2014）赣01执字第7号", Year: 2014, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "执", Kind: KindEnforcement, Seq: 7, OldStyle: true, Suspicious: SuspiciousOldDigits}},
		{"（2021）赣71行初3号", Case{Number: "（2021）赣71行初3号", Year: 2021, CourtCode: "赣71", Province: "赣",
			Level: LevelSpecial, CourtName: "南昌铁路运输中级法院", TypeCode: "行初", Kind: KindAdministrative, Seq: 3}},
		{"（2021）赣7101民初3号", Case{Number: "（2021）赣7101民初3号", Year: 2021, CourtCode: "赣7101", Province: "赣",
			Level: LevelSpecial, TypeCode: "民初", Kind: KindCivil, Seq: 3}},
		{"（2021）赣0199民初3号", Case{Number: "（2021）赣0199民初3号", Year: 2021, CourtCode: "赣0199", Province: "赣",
			Level: LevelBasic, TypeCode: "民初", Kind: KindCivil, Seq: 3}},
		{"（2021）京73民初1号", Case{Number: "（2021）京73民初1号", Year: 2021, CourtCode: "京73", Province: "京",
			Level: LevelSpecial, CourtName: "北京知识产权法院", TypeCode: "民初", Kind: KindCivil, Seq: 1}},
		{"（2020）兵08民终9号", Case{Number: "（2020）兵08民终9号", Year: 2020, CourtCode: "兵08", Province: "兵",
			Level: LevelIntermediate, TypeCode: "民终", Kind: KindCivil, Seq: 9}},
		{"（2021）军刑初2号", Case{Number: "（2021）军刑初2号", Year: 2021, CourtCode: "军", Province: "军",
			Level: LevelHigh, CourtName: "中国人民解放军军事法院", TypeCode: "刑初", Kind: KindCriminal, Seq: 2}},
		{"（2021）粤0111民诉前调5号", Case{Number: "（2021）粤0111民诉前调5号", Year: 2021, CourtCode: "粤0111", Province: "粤",
			Level: LevelBasic, TypeCode: "民诉前调", Kind: KindCivil, Seq: 5}},
		{"（2021）赣01司救民6号", Case{Number: "（2021）赣01司救民6号", Year: 2021, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "司救民", Kind: KindJudicialRelief, Seq: 6}},
		{"（2021）赣01财保6号", Case{Number: "（2021）赣01财保6号", Year: 2021, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "财保", Kind: KindPreservation, Seq: 6}},
		{"（2021）赣01破申6号", Case{Number: "（2021）赣01破申6号", Year: 2021, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "破申", Kind: KindBankruptcy, Seq: 6}},
		{"（2021）赣01民辖终6号", Case{Number: "（2021）赣01民辖终6号", Year: 2021, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "民辖终", Kind: KindJurisdiction, Seq: 6}},
		{"（2021）赣委赔6号", Case{Number: "（2021）赣委赔6号", Year: 2021, CourtCode: "赣", Province: "赣",
			Level: LevelHigh, CourtName: "江西省高级人民法院", TypeCode: "委赔", Kind: KindStateCompensation, Seq: 6}},
		{"（2021）赣协外认6号", Case{Number: "（2021）赣协外认6号", Year: 2021, CourtCode: "赣", Province: "赣",
			Level: LevelHigh, CourtName: "江西省高级人民法院", TypeCode: "协外认", Kind: KindJudicialAssistance, Seq: 6}},
		{"（2021）赣01行赔初6号", Case{Number: "（2021）赣01行赔初6号", Year: 2021, CourtCode: "赣01", Province: "赣",
			Level: LevelIntermediate, CourtName: "江西省南昌市中级人民法院", TypeCode: "行赔初", Kind: KindAdministrative, Seq: 6}},
	}
	for _, tt := range tests {
		want := tt.want
		want.Raw = strings.TrimSpace(tt.in)
		got, err := Parse(tt.in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v, want %+v, nil", tt.in, got, err, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"法释〔2020〕17号", ErrSyntax},
		{"〔2020〕17号", ErrCourt},
		{"国办发〔2021〕15号", ErrSyntax},
		{"（2021）粤0111民初30063、30062、30064号", ErrSeveral},
		{"（2021）赣01民初123号、124号", ErrSeveral},
		{"（2021）赣01民初123号、", ErrSyntax},
		{"（1948）赣01民初1号", ErrYear},
		{"（2999）赣01民初1号", ErrYear},
		{"（21）赣01民初1号", ErrSyntax},
		{"（20211）赣01民初1号", ErrSyntax},
		{"（2021）港01民初1号", ErrCourt},
		{"（2021）赣1民初1号", ErrCourt},
		{"（2021）赣012民初1号", ErrCourt},
		{"（2021）赣00民初1号", ErrCourt},
		{"（2021）赣0100民初1号", ErrCourt},
		{"（2021）赣01号", ErrType},
		{"（2021）赣01123号", ErrCourt},
		{"（2021）赣01案件123号", ErrType},
		{"（2021）赣01民初号", ErrSyntax},
		{"（2021）赣01民初0号", ErrSyntax},
		{"（2021）赣01民初123456789号", ErrSyntax},
		{"（2021）赣01民初123号，请查收", ErrSyntax},
		{"2021赣01民初123号", ErrSyntax},
		{"", ErrSyntax},
	}
	for _, tt := range tests {
		if got, err := Parse(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("Parse(%q) = %+v, %v, want error %v", tt.in, got, err, tt.want)
		}
	}
}

func TestFind(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // Number of each case
	}{
		{"prose", "我是（2021）赣01民初123号案件的原告，该案至今未判。", []string{"（2021）赣01民初123号"}},
		{"several serials", "（2021）粤0111民初30063、30062、30064号",
			[]string{"（2021）粤0111民初30063号", "（2021）粤0111民初30062号", "（2021）粤0111民初30064号"}},
		{"several serials with 第 and commas", "(2021)赣0102民初第1号，第2号",
			[]string{"（2021）赣0102民初1号"}},
		{"serials each with 号", "…民事案件（2021）赣01民初123号、124号已审结",
			[]string{"（2021）赣01民初123号", "（2021）赣01民初124号"}},
		{"serials each with 号, 第 and suffix", "（2021）赣01民初123号、第124号之一、125、126号",
			[]string{"（2021）赣01民初123号", "（2021）赣01民初124号之一", "（2021）赣01民初125号", "（2021）赣01民初126号"}},
		{"serials each with 号, spaces", "（2021）赣01民初123号 、 124 号",
			[]string{"（2021）赣01民初123号", "（2021）赣01民初124号"}},
		{"号 then a year", "（2021）赣01民初123号、2022年再审", []string{"（2021）赣01民初123号"}},
		{"号 then a list without 号", "（2021）赣01民初123号、124、125", []string{"（2021）赣01民初123号"}},
		{"号 then serial 0", "（2021）赣01民初123号、0号", []string{"（2021）赣01民初123号"}},
		{"号 then a full number", "（2021）赣01民初123号、（2021）赣01民初124号",
			[]string{"（2021）赣01民初123号", "（2021）赣01民初124号"}},
		{"list with 第", "(2021)赣0102民初第1、第2号", []string{"（2021）赣0102民初1号", "（2021）赣0102民初2号"}},
		{"two numbers and a duplicate", "一审（2020）赣0102民初88号，二审（2021）赣01民终99号，一审（2020）赣0102民初88号",
			[]string{"（2020）赣0102民初88号", "（2021）赣01民终99号"}},
		{"no 号 then prose", "案号（2021）赣01民初123 2022年3月开庭", []string{"（2021）赣01民初123号"}},
		{"no 号 with comma", "案号(2021)赣01民初123，2022年判决", []string{"（2021）赣01民初123号"}},
		{"suffix", "（2021）赣01执123号之二裁定", []string{"（2021）赣01执123号之二"}},
		{"之 that is no suffix", "（2021）赣01执123号之后", []string{"（2021）赣01执123号"}},
		{"old style", "（2015）赣民一终字第12号判决书", []string{"（2015）赣民一终字第12号"}},
		{"ip", "见（2021）最高法知民终2270号", []string{"（2021）最高法知民终2270号"}},
		{"newline inside", "（2021）\n赣01民初\n123号", []string{"（2021）赣01民初123号"}},
		{"judicial interpretation", "根据法释〔2020〕17号第三条", nil},
		{"state council", "国办发〔2021〕15号文件", nil},
		{"provincial document", "赣高法〔2020〕12号", nil},
		{"unknown court", "（2014）洪民初字第123号", nil},
		{"bracketed year only", "（2021）年度报告", nil},
		{"brackets in prose", "（注：见附件）", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, c := range Find(tt.in) {
			got = append(got, c.Number)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Find(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestFindRaw(t *testing.T) {
	in := "关于（2021）粤0111民初30063、30062号案件"
	got := Find(in)
	for _, c := range got {
		if c.Raw != "（2021）粤0111民初30063、30062号" {
			t.Errorf("Find(%q) Raw = %q, want %q", in, c.Raw, "（2021）粤0111民初30063、30062号")
		}
	}
	if len(got) != 2 || got[0].Seq != 30063 || got[1].Seq != 30062 {
		t.Errorf("Find(%q) = %+v, want serials 30063 and 30062", in, got)
	}
}

func TestFindRawRepeated(t *testing.T) {
	in := "关于（2021）赣01民初123号、124号之二的意见"
	const raw = "（2021）赣01民初123号、124号之二"
	got := Find(in)
	if len(got) != 2 || got[0].Seq != 123 || got[0].SeqSuffix != "" || got[1].Seq != 124 || got[1].SeqSuffix != "之二" {
		t.Fatalf("Find(%q) = %+v, want 123 and 124之二", in, got)
	}
	for _, c := range got {
		if c.Raw != raw {
			t.Errorf("Find(%q) Raw = %q, want %q", in, c.Raw, raw)
		}
	}
}

func TestJSON(t *testing.T) {
	c, err := Parse("（2021）赣01民初123号")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{"number": "（2021）赣01民初123号", "year": 2021.0, "court_code": "赣01", "type_code": "民初", "seq": 123.0,
		"court_name": "江西省南昌市中级人民法院", "kind": "civil", "level": "intermediate", "province": "赣", "raw": "（2021）赣01民初123号"} {
		if m[key] != want {
			t.Errorf("json %s = %v, want %v", key, m[key], want)
		}
	}
}

func TestTables(t *testing.T) {
	for code, name := range courtNames {
		c, err := Parse("（2021）" + code + "民初1号")
		if err != nil || c.CourtName != name {
			t.Errorf("Parse(court %s) = %+v, %v, want court name %s", code, c, err, name)
		}
	}
	for code, kind := range typeCodes {
		c, err := Parse("（2021）赣01" + code + "1号")
		if err != nil || c.TypeCode != code || c.Kind != kind || kindOf(code) != kind {
			t.Errorf("Parse(type %s) = %+v, %v, want kind %s", code, c, err, kind)
		}
	}
	if len(highCourts) != 33 {
		t.Errorf("len(highCourts) = %d, want 33 (31 provinces, 兵, 军)", len(highCourts))
	}
}

func FuzzFind(f *testing.F) {
	for _, s := range []string{"（2021）赣01民初123号", "（2021）粤0111民初30063、30062、30064号", "（2015）赣民一终字第12号",
		"法释〔2020〕17号", "（２０２１）最高法知民终２２７０号之一", "（2021）赣01民初123号、第124号之一、125号", "(2021)赣01民初12 3 号", "【2021】赣0102执恢1号"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, c := range Find(in) {
			again, err := Parse(c.Number)
			if err != nil {
				t.Fatalf("Find(%q) returned %q, which Parse rejects: %v", in, c.Number, err)
			}
			again.Raw = c.Raw
			if again != c {
				t.Fatalf("Find(%q) = %+v, but Parse(Number) = %+v", in, c, again)
			}
			if c.Seq <= 0 || c.Year < minYear || !strings.Contains(in, c.Raw) {
				t.Fatalf("Find(%q) returned %+v", in, c)
			}
		}
	})
}

func BenchmarkFind(b *testing.B) {
	letter := strings.Repeat("尊敬的法官：我是（2021）赣01民初123号案件的原告（注：一审为（2020）赣0102民初88号），"+
		"根据法释〔2020〕17号规定，该案至今未判，请尽快处理。", 8)
	b.SetBytes(int64(len(letter)))
	b.ReportAllocs()
	for b.Loop() {
		Find(letter)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Parse("（2021）赣01民初123号")
	}
}

// TestTypeCodes checks the closed table: codes of the standard pass with
// their kind, words that only start like a code do not.
func TestTypeCodes(t *testing.T) {
	accepted := []struct{ code, kind string }{
		{"强清申", KindBankruptcy},
		{"强清", KindBankruptcy},
		{"强清终", KindBankruptcy},
		{"破", KindBankruptcy},
		{"台请送", KindJudicialAssistance},
		{"请港调", KindJudicialAssistance},
		{"认台", KindJudicialAssistance},
		{"协外认", KindJudicialAssistance},
		{"执保", KindEnforcement},
		{"执", KindEnforcement},
		{"财保", KindPreservation},
		{"司惩复", KindSanction},
		{"司救访", KindJudicialRelief},
		{"民特监", KindCivil},
		{"民诉前调", KindCivil},
		{"刑没", KindCriminal},
		{"行赔申", KindAdministrative},
		{"委赔监", KindStateCompensation},
		{"行辖终", KindJurisdiction},
	}
	for _, tt := range accepted {
		in := "（2021）赣01" + tt.code + "1号"
		c, err := Parse(in)
		if err != nil || c.TypeCode != tt.code || c.Kind != tt.kind {
			t.Errorf("Parse(%q) = %+v, %v, want type %s of kind %s", in, c, err, tt.code, tt.kind)
		}
	}
	for _, code := range []string{"民事", "执行", "刑事判决", "知识产权", "民", "刑", "执行异议", "民初审", "民一终", "商初", "案"} {
		in := "（2021）赣01" + code + "1号"
		if c, err := Parse(in); !errors.Is(err, ErrType) {
			t.Errorf("Parse(%q) = %+v, %v, want ErrType", in, c, err)
		}
		if got := Find("见" + in + "。"); got != nil {
			t.Errorf("Find(%q) = %+v, want none", in, got)
		}
	}
	// The special code 知 still goes before a listed code.
	if c, err := Parse("（2021）最高法知民终1号"); err != nil || c.SpecialCode != "知" || c.TypeCode != "民终" {
		t.Errorf("Parse(知民终) = %+v, %v", c, err)
	}
	// Old-style numbers keep their free codes.
	if c, err := Parse("（2012）赣民三终字第5号"); err != nil || c.TypeCode != "民三终" || c.Kind != KindCivil {
		t.Errorf("Parse(old style 民三终) = %+v, %v", c, err)
	}
}

// TestYears checks that a year after the current one is refused and that
// court codes with digits before 2016 are flagged.
func TestYears(t *testing.T) {
	this := time.Now().Year()
	next := "（" + strconv.Itoa(this+1) + "）赣01民初1号"
	if c, err := Parse(next); !errors.Is(err, ErrYear) {
		t.Errorf("Parse(%q) = %+v, %v, want ErrYear", next, c, err)
	}
	if got := Find("见" + next); got != nil {
		t.Errorf("Find(%q) = %+v, want none", next, got)
	}
	if _, err := Parse("（" + strconv.Itoa(this) + "）赣01民初1号"); err != nil {
		t.Errorf("Parse(this year) = %v", err)
	}
	tests := []struct {
		in   string
		want string
	}{
		{"（2015）赣0102民初1号", SuspiciousOldDigits},
		{"（2010）赣01民终1号", SuspiciousOldDigits},
		{"（2015）赣01民一终字第1号", SuspiciousOldDigits},
		{"（2016）赣0102民初1号", ""},
		{"（2021）赣01民初1号", ""},
		{"（2015）赣民一终字第12号", ""},
		{"（2015）赣刑终1号", ""},
		{"（2015）最高法民申1号", ""},
	}
	for _, tt := range tests {
		c, err := Parse(tt.in)
		if err != nil || c.Suspicious != tt.want {
			t.Errorf("Parse(%q) = %+v, %v, want Suspicious %q", tt.in, c, err, tt.want)
		}
		if got := Find(tt.in); len(got) != 1 || got[0].Suspicious != tt.want {
			t.Errorf("Find(%q) = %+v, want one case with Suspicious %q", tt.in, got, tt.want)
		}
	}
}

// TestStandardTableCodes: codes added from the standard's table (see
// typeCodes) are case numbers of their kind; codes found in no source are
// still not.
func TestStandardTableCodes(t *testing.T) {
	for _, tt := range []struct{ in, code, kind string }{
		{"（2021）最高法刑止1号", "刑止", KindCriminal},
		{"（2021）最高法刑止核2号", "刑止核", KindCriminal},
		{"（2022）赣01刑医解3号", "刑医解", KindCriminal},
		{"（2022）赣0102刑更备4号", "刑更备", KindCriminal},
		{"（2021）赣01民督监1号", "民督监", KindCivil},
		{"（2021）赣赔辖终1号", "赔辖终", KindJurisdiction},
		{"（2021）赣委赔再1号", "委赔再", KindStateCompensation},
		{"（2021）赣01赔他1号", "赔他", KindStateCompensation},
		{"（2021）赣0102行保复1号", "行保复", KindPreservation},
		{"（2021）最高法请外引1号", "请外引", KindJudicialAssistance},
		{"（2021）闽助移赃1号", "助移赃", KindJudicialAssistance},
	} {
		c, err := Parse(tt.in)
		if err != nil || c.TypeCode != tt.code || c.Kind != tt.kind {
			t.Errorf("Parse(%q) = %+v, %v, want type %s of kind %s", tt.in, c, err, tt.code, tt.kind)
		}
		if got := Find("见" + tt.in + "。"); len(got) != 1 || got[0].TypeCode != tt.code {
			t.Errorf("Find(%q) = %+v, want the number", tt.in, got)
		}
	}
	// Not in the standard's table: 民诉前保, 执督 (pre-2016 "执督字" only),
	// 安置教育 (刑教, one transcription only).
	for _, code := range []string{"民诉前保", "执督", "刑教"} {
		in := "（2021）赣01" + code + "1号"
		if c, err := Parse(in); !errors.Is(err, ErrType) {
			t.Errorf("Parse(%q) = %+v, %v, want ErrType", in, c, err)
		}
	}
}

// TestLiquidationAndTransferCodes: the forced-liquidation codes and the
// transfer of sentenced persons are case numbers.
func TestLiquidationAndTransferCodes(t *testing.T) {
	for _, s := range []string{"（2020）赣01清申3号", "（2021）赣清终1号", "（2022）最高法清监2号", "（2023）赣助移管1号", "（2023）赣请移管2号"} {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%s): %v", s, err)
		}
	}
	c, err := Parse("（2020）赣01清申3号")
	if err != nil || c.Kind != KindBankruptcy {
		t.Errorf("清申: %+v %v", c, err)
	}
	c, err = Parse("（2023）赣助移管1号")
	if err != nil || c.Kind != KindJudicialAssistance {
		t.Errorf("助移管: %+v %v", c, err)
	}
}
