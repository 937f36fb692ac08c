package idcard

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var fixedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, cst)

// withCheck appends the check character to 17 digits.
func withCheck(first17 string) string { return first17 + string(CheckChar(first17)) }

func TestCheckChar(t *testing.T) {
	tests := []struct {
		in   string
		want byte
	}{
		{"11010519491231002", 'X'},
		{"44030819990110151", '2'},
		{"36010219800101001", '3'},
		{"61010419620927690", '8'},
		{"1101051949123100", 0},
		{"1101051949123100A", 0},
	}
	for _, tt := range tests {
		if got := CheckChar(tt.in); got != tt.want {
			t.Errorf("CheckChar(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  string
		valid bool
	}{
		{"valid X", "11010519491231002X", "11010519491231002X", true},
		{"valid lower x", "11010519491231002x", "11010519491231002X", true},
		{"valid Shenzhen", "440308199901101512", "440308199901101512", true},
		{"valid Nanchang", "360102198001010013", "360102198001010013", true},
		{"full width", "３６０１０２１９８００１０１００１３", "360102198001010013", true},
		{"full width x", "１１０１０５１９４９１２３１００２ｘ", "11010519491231002X", true},
		{"times sign for X", "11010519491231002×", "11010519491231002X", true},
		{"spaces and hyphens", " 360102 19800101 0013 ", "360102198001010013", true},
		{"hyphens", "360102-19800101-0013", "360102198001010013", true},
		{"ideographic space", "360102\u300019800101\u30000013", "360102198001010013", true},
		{"15 digit upgrade", "610104620927690", "610104196209276908", true},
		{"leap day", withCheck("36010219800229001"), withCheck("36010219800229001"), true},
		{"2000 leap day", withCheck("36010220000229001"), withCheck("36010220000229001"), true},
		{"HK residence permit", withCheck("81000019900101001"), withCheck("81000019900101001"), true},
		{"TW residence permit", withCheck("83000019900101002"), withCheck("83000019900101002"), true},
		{"today", withCheck("36010220250601001"), withCheck("36010220250601001"), true},

		{"bad checksum", "360102198001010014", "360102198001010014", false},
		{"bad checksum X", "36010219800101001X", "36010219800101001X", false},
		{"1900 not leap", withCheck("36010219000229001"), withCheck("36010219000229001"), false},
		{"month 13", withCheck("36010219801301001"), withCheck("36010219801301001"), false},
		{"day 00", withCheck("36010219800100001"), withCheck("36010219800100001"), false},
		{"april 31", withCheck("36010219800431001"), withCheck("36010219800431001"), false},
		{"before 1890", withCheck("36010218891231001"), withCheck("36010218891231001"), false},
		{"future", withCheck("36010220250602001"), withCheck("36010220250602001"), false},
		{"province 91", withCheck("91010219800101001"), withCheck("91010219800101001"), false},
		{"province 00", withCheck("00010219800101001"), withCheck("00010219800101001"), false},
		{"province 16", withCheck("16010219800101001"), withCheck("16010219800101001"), false},
		{"15 digit bad date", "610104621327690", "610104621327690", false},
		{"15 digit bad region", "990104620927690", "990104620927690", false},
		{"17 digits", "36010219800101001", "36010219800101001", false},
		{"19 digits", "3601021980010100133", "3601021980010100133", false},
		{"X in the middle", "3601021980X1010013", "3601021980X1010013", false},
		{"passport", "e12345678", "E12345678", false},
		{"empty", "", "", false},
		{"blank", "  ", "", false},
	}
	for _, tt := range tests {
		got, valid := normalizeAt(tt.in, fixedNow)
		if got != tt.want || valid != tt.valid {
			t.Errorf("%s: Normalize(%q) = %q, %v, want %q, %v", tt.name, tt.in, got, valid, tt.want, tt.valid)
		}
	}
	// The exported function uses the real clock.
	if got, valid := Normalize("360102198001010013"); got != "360102198001010013" || !valid {
		t.Errorf("Normalize(%q) = %q, %v, want %q, true", "360102198001010013", got, valid, "360102198001010013")
	}
}

func TestInfo(t *testing.T) {
	d, ok := Info("11010519491231002x")
	want := Details{Birth: time.Date(1949, 12, 31, 0, 0, 0, 0, cst), Male: false, Region: "110105", Province: "北京市"}
	if !ok || !d.Birth.Equal(want.Birth) || d.Male != want.Male || d.Region != want.Region || d.Province != want.Province {
		t.Errorf("Info(11010519491231002x) = %+v, %v, want %+v, true", d, ok, want)
	}
	d, ok = Info("610104620927690")
	if !ok || d.Male || d.Birth.Year() != 1962 || d.Birth.Month() != 9 || d.Birth.Day() != 27 || d.Province != "陕西省" {
		t.Errorf("Info(610104620927690) = %+v, %v, want female born 1962-09-27 in 陕西省", d, ok)
	}
	d, ok = Info("360102198001010013")
	if !ok || !d.Male || d.Province != "江西省" || d.Region != "360102" {
		t.Errorf("Info(360102198001010013) = %+v, %v, want male, 360102, 江西省", d, ok)
	}
	if d, ok := Info("360102198001010014"); ok {
		t.Errorf("Info(bad checksum) = %+v, true, want false", d)
	}
}

func TestMask(t *testing.T) {
	if got, want := Mask("360102198001010013"), "360102********0013"; got != want {
		t.Errorf("Mask(%q) = %q, want %q", "360102198001010013", got, want)
	}
}

func TestFind(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"plain", "我叫张三，身份证号360102198001010013，住南昌。", []string{"360102198001010013"}},
		{"full width and x", "身份证：１１０１０５１９４９１２３１００２ｘ。", []string{"11010519491231002X"}},
		{"grouped", "证件号 360102 19800101 0013 电话", []string{"360102198001010013"}},
		{"grouped hyphen", "证件号360102-19800101-0013", []string{"360102198001010013"}},
		{"15 digit", "老身份证610104620927690已作废", []string{"610104196209276908"}},
		{"several and duplicate", "原告440308199901101512，被告11010519491231002X，原告440308199901101512",
			[]string{"440308199901101512", "11010519491231002X"}},
		{"next to phone", "360102198001010013 13912345678", []string{"360102198001010013"}},
		{"bad checksum", "身份证号360102198001010014", nil},
		{"longer digit run", "账号6222360102198001010013", nil},
		{"part of 19 digits", "3601021980010100131", nil},
		{"letter prefix", "NO360102198001010013", nil},
		{"bank card grouped", "卡号6222 0212 3456 7890 123", nil},
		{"case number", "（2021）赣01民初123号", nil},
		{"phone", "13912345678", nil},
		{"empty", "", nil},

		// 6-4-4-4 grouping and the check character typed as ×, Ｘ or x
		{"grouped 6-4-4-4", "身份证 360102 1980 0101 0013 电话", []string{"360102198001010013"}},
		{"grouped 6-4-4-4 hyphen", "360102-1980-0101-0013", []string{"360102198001010013"}},
		{"grouped 6-4-4-4 x", "110105 1949 1231 002x", []string{"11010519491231002X"}},
		{"grouped 6-4-4-4 bad checksum", "360102 1980 0101 0014", nil},
		{"times sign", "身份证号11010519491231002×。", []string{"11010519491231002X"}},
		{"full-width X", "11010519491231002Ｘ", []string{"11010519491231002X"}},
		{"times sign bad checksum", "身份证号36010219800101001×", nil},

		// 15 digits only after an id label
		{"15 labelled 身份证号码", "身份证号码：610104620927690", []string{"610104196209276908"}},
		{"15 labelled 公民身份号码 为", "公民身份号码为 610104620927690", []string{"610104196209276908"}},
		{"15 labelled 证件号 是", "证件号是610104620927690", []string{"610104196209276908"}},
		{"15 labelled 身份号码 colon space", "身份号码: 610104620927690", []string{"610104196209276908"}},
		{"15 labelled grouped 6-6-3", "身份证号 610104 620927 690", []string{"610104196209276908"}},
		{"15 unlabelled", "610104620927690", nil},
		{"15 other label", "编号610104620927690", nil},
		{"15 label far before", "身份证号丢了，编号610104620927690", nil},
		{"15 IMEI", "手机IMEI：350101900101234", nil},
		{"15 串号", "串号350101900101234", nil},
		{"15 营业执照注册号", "营业执照注册号：110105800101234", nil},
		{"15 注册号", "注册号110105800101234", nil},
		{"15 营业执照证件号", "营业执照证件号码：110105800101234", nil},
		{"15 labelled invalid date", "身份证号610104621327690", nil},
		{"15 after labelled 18", "身份证号360102198001010013 610104620927690", []string{"360102198001010013"}},
	}
	for _, tt := range tests {
		if got := Find(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Find(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"11010519491231002x", "610104620927690", "３６０１０２１９８００１０１００１３", "360102-19800101-0013", "e12345678", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		id, valid := Normalize(in)
		if again, valid2 := Normalize(id); again != id || valid2 != valid {
			t.Fatalf("Normalize(Normalize(%q)) = %q, %v, want %q, %v", in, again, valid2, id, valid)
		}
		if valid {
			if len(id) != 18 || CheckChar(id[:17]) != id[17] {
				t.Fatalf("Normalize(%q) = %q, true: not a checked 18-character id", in, id)
			}
			if _, ok := Info(id); !ok {
				t.Fatalf("Info(%q) not ok for a valid id", id)
			}
		}
		if strings.ContainsAny(id, " -x") {
			t.Fatalf("Normalize(%q) = %q: not cleaned", in, id)
		}
	})
}

func FuzzFind(f *testing.F) {
	for _, s := range []string{"身份证号360102198001010013，电话13912345678", "360102 19800101 0013", "1234567890123456789012", "610104620927690x", "身份证号：610104620927690", "IMEI 350101900101234", "110105 1949 1231 002×"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, id := range Find(in) {
			if got, valid := Normalize(id); got != id || !valid {
				t.Fatalf("Find(%q) returned %q, which Normalize gives as %q, %v", in, id, got, valid)
			}
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Normalize("３６０１０２ １９８００１０１ ００１３")
	}
}

func BenchmarkFind(b *testing.B) {
	letter := strings.Repeat("尊敬的法官：我叫张三，身份证号360102198001010013，联系电话13912345678，"+
		"关于（2021）赣01民初123号案件，账号6222021234567890123，至今没有进展。", 8)
	b.SetBytes(int64(len(letter)))
	b.ReportAllocs()
	for b.Loop() {
		Find(letter)
	}
}
