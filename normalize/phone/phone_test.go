package phone

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Number // Raw is checked to equal in
	}{
		// mobiles
		{"13912345678", Number{E164: "+8613912345678", National: "13912345678", Kind: KindMobile, Valid: true}},
		{"139 1234 5678", Number{E164: "+8613912345678", National: "13912345678", Kind: KindMobile, Valid: true}},
		{"139-1234-5678", Number{E164: "+8613912345678", National: "13912345678", Kind: KindMobile, Valid: true}},
		{"１３９１２３４５６７８", Number{E164: "+8613912345678", National: "13912345678", Kind: KindMobile, Valid: true}},
		{"+86 139 1234 5678", Number{E164: "+8613912345678", National: "13912345678", Kind: KindMobile, Valid: true}},
		{"＋８６１３９１２３４５６７８", Number{E164: "+8613912345678", National: "13912345678", Kind: KindMobile, Valid: true}},
		{"0086-13912345678", Number{E164: "+8613912345678", National: "13912345678", Kind: KindMobile, Valid: true}},
		{"(+86)13912345678", Number{E164: "+8613912345678", National: "13912345678", Kind: KindMobile, Valid: true}},
		{"8613912345678", Number{E164: "+8613912345678", National: "13912345678", Kind: KindMobile, Valid: true}},
		{"手机：13912345678", Number{E164: "+8613912345678", National: "13912345678", Kind: KindMobile, Valid: true}},
		{"19912345678", Number{E164: "+8619912345678", National: "19912345678", Kind: KindMobile, Valid: true}},
		// fixed lines
		{"0791-86123456", Number{E164: "+8679186123456", National: "079186123456", Kind: KindFixed, Valid: true}},
		{"(0791)86123456", Number{E164: "+8679186123456", National: "079186123456", Kind: KindFixed, Valid: true}},
		{"（０７９１）８６１２ ３４５６", Number{E164: "+8679186123456", National: "079186123456", Kind: KindFixed, Valid: true}},
		{"010-12345678", Number{E164: "+861012345678", National: "01012345678", Kind: KindFixed, Valid: true}},
		{"021 12345678", Number{E164: "+862112345678", National: "02112345678", Kind: KindFixed, Valid: true}},
		{"+86 791 86123456", Number{E164: "+8679186123456", National: "079186123456", Kind: KindFixed, Valid: true}},
		{"0791-86123456转8001", Number{E164: "+8679186123456", National: "079186123456", Extension: "8001", Kind: KindFixed, Valid: true}},
		{"0791-86123456 分机：8001", Number{E164: "+8679186123456", National: "079186123456", Extension: "8001", Kind: KindFixed, Valid: true}},
		{"0791-86123456 ext. 8001", Number{E164: "+8679186123456", National: "079186123456", Extension: "8001", Kind: KindFixed, Valid: true}},
		{"0791-86123456x8001", Number{E164: "+8679186123456", National: "079186123456", Extension: "8001", Kind: KindFixed, Valid: true}},
		{"0791-86123456-8001", Number{E164: "+8679186123456", National: "079186123456", Extension: "8001", Kind: KindFixed, Valid: true}},
		// 400 / 800
		{"400-800-1234", Number{E164: "+864008001234", National: "4008001234", Kind: KindTollFree, Valid: true}},
		{"800 800 1234", Number{E164: "+868008001234", National: "8008001234", Kind: KindTollFree, Valid: true}},
		// service numbers
		{"12368", Number{National: "12368", Kind: KindService, Valid: true}},
		{"0791-12368", Number{National: "079112368", Kind: KindService, Valid: true}},
		{"12345", Number{National: "12345", Kind: KindService, Valid: true}},
		{"110", Number{National: "110", Kind: KindService, Valid: true}},
		{"95588", Number{National: "95588", Kind: KindService, Valid: true}},
		{"10086", Number{National: "10086", Kind: KindService, Valid: true}},
		// foreign
		{"+1 202-555-0123", Number{E164: "+12025550123", Kind: KindOther, Valid: true}},
		{"+852 2123 4567", Number{E164: "+85221234567", Kind: KindFixed, Valid: true}},
		// invalid
		{"12012345678", Number{National: "12012345678", Kind: KindUnknown}},
		{"1391234567", Number{National: "1391234567", Kind: KindUnknown}},
		{"86123456", Number{National: "86123456", Kind: KindUnknown}},
		{"", Number{Kind: KindUnknown}},
		{"无", Number{Kind: KindUnknown}},
		{"13912345678，13812345678", Number{National: "1391234567813812345678", Kind: KindUnknown}},
		{"0791-86123456转", Number{E164: "+8679186123456", National: "079186123456", Kind: KindFixed, Valid: true}},
	}
	for _, tt := range tests {
		want := tt.want
		want.Raw = tt.in
		if got := Parse(tt.in); got != want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, want)
		}
	}
}

func TestParseIn(t *testing.T) {
	tests := []struct {
		in, area string
		want     Number
	}{
		{"86123456", "791", Number{E164: "+8679186123456", National: "079186123456", Kind: KindFixed, Valid: true}},
		{"8612 3456转12", "791", Number{E164: "+8679186123456", National: "079186123456", Extension: "12", Kind: KindFixed, Valid: true}},
		{"13912345678", "791", Number{E164: "+8613912345678", National: "13912345678", Kind: KindMobile, Valid: true}},
		{"12368", "791", Number{National: "12368", Kind: KindService, Valid: true}},
		{"010-12345678", "791", Number{E164: "+861012345678", National: "01012345678", Kind: KindFixed, Valid: true}},
	}
	for _, tt := range tests {
		want := tt.want
		want.Raw = tt.in
		if got := ParseIn(tt.in, tt.area); got != want {
			t.Errorf("ParseIn(%q, %q) = %+v, want %+v", tt.in, tt.area, got, want)
		}
	}
}

type found struct{ e164, ext, raw string }

func TestFind(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []found
	}{
		{"brief example", "联系电话：0791-8612 3456转8001，手机13912345678",
			[]found{{"+8679186123456", "8001", "0791-8612 3456转8001"}, {"+8613912345678", "", "13912345678"}}},
		{"spaced mobile", "我的手机是139 1234 5678，请回电。", []found{{"+8613912345678", "", "139 1234 5678"}}},
		{"plus86", "电话+86 139-1234-5678", []found{{"+8613912345678", "", "+86 139-1234-5678"}}},
		{"brackets", "电话（0791）86123456", []found{{"+8679186123456", "", "（0791）86123456"}}},
		{"hyphen extension", "座机0791-86123456-8001。", []found{{"+8679186123456", "8001", "0791-86123456-8001"}}},
		{"two mobiles", "13912345678、13812345678", []found{{"+8613912345678", "", "13912345678"}, {"+8613812345678", "", "13812345678"}}},
		{"two mobiles spaced", "13912345678 13812345678", []found{{"+8613912345678", "", "13912345678"}, {"+8613812345678", "", "13812345678"}}},
		{"duplicate", "13912345678，再说一遍13912345678", []found{{"+8613912345678", "", "13912345678"}}},
		{"full width", "手机１３９１２３４５６７８", []found{{"+8613912345678", "", "１３９１２３４５６７８"}}},
		{"400", "客服热线400-800-1234", []found{{"+864008001234", "", "400-800-1234"}}},
		{"id then phone", "身份证360102198001010013 电话13912345678", []found{{"+8613912345678", "", "13912345678"}}},
		{"id alone", "身份证号360102198001010013", nil},
		{"id with x", "身份证号11010519491231002X", nil},
		{"case number", "（2021）赣01民初13912345678号", nil},
		{"case number plain", "关于（2021）赣01民初123号案件", nil},
		{"date", "2021-03-15 13:00开庭，2021年3月15日", nil},
		{"date compact", "20210315", nil},
		{"money", "执行款13912345678元", nil},
		{"currency", "￥13912345678", nil},
		{"qq", "QQ号：13912345678", nil},
		{"letters", "订单号AB13912345678", nil},
		{"longer run", "账号613912345678", nil},
		{"service", "拨打12368热线，或者110", nil},
		{"local only", "电话86123456", nil},
		{"bank card", "卡号6222 0212 3456 7890 123", nil},
		{"invalid mobile", "12012345678", nil},
		{"empty", "", nil},

		// A mobile number followed directly by prose is a phone number;
		// followed by a unit of money it is a sum.
		{"mobile then name", "请联系13912345678张律师", []found{{"+8613912345678", "", "13912345678"}}},
		{"mobile then 两个号", "13912345678两个号都能打通", []found{{"+8613912345678", "", "13912345678"}}},
		{"mobile then 万分感谢", "我的电话13912345678万分感谢", []found{{"+8613912345678", "", "13912345678"}}},
		{"mobile then 万一", "13912345678万一打不通请发短信", []found{{"+8613912345678", "", "13912345678"}}},
		{"mobile then 元旦", "13912345678元旦后联系", []found{{"+8613912345678", "", "13912345678"}}},
		{"mobile then 个", "13912345678个人手机", []found{{"+8613912345678", "", "13912345678"}}},
		{"full width then 万分", "１３９１２３４５６７８万分感谢", []found{{"+8613912345678", "", "１３９１２３４５６７８"}}},
		{"spaced mobile then prose", "139 1234 5678张律师", []found{{"+8613912345678", "", "139 1234 5678"}}},
		{"money 块", "欠款13912345678块", nil},
		{"money 万元", "标的额13912345678万元", nil},
		{"money 万", "损失13912345678万", nil},
		{"money 余万元", "13912345678余万元", nil},
		{"money 多元", "13912345678多元", nil},
		{"money 美元", "13912345678美元", nil},
		{"money full width", "１３９１２３４５６７８元", nil},
		{"percent", "13912345678%", nil},
		{"serial 号", "第13912345678号", nil},
		{"landline money", "执行款079186123456元", nil},
	}
	for _, tt := range tests {
		var got []found
		for _, n := range Find(tt.in) {
			if !n.Valid {
				t.Errorf("%s: Find(%q) returned invalid %+v", tt.name, tt.in, n)
			}
			got = append(got, found{n.E164, n.Extension, n.Raw})
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: Find(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: Find(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
				break
			}
		}
	}
}

func TestJSON(t *testing.T) {
	b, err := json.Marshal(Parse("0791-86123456转8001"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"e164":"+8679186123456","national":"079186123456","extension":"8001","kind":"fixed","raw":"0791-86123456转8001","valid":true}`
	if string(b) != want {
		t.Errorf("json.Marshal(Parse(...)) = %s, want %s", b, want)
	}
}

func checkNumber(t *testing.T, where string, n Number) {
	t.Helper()
	if n.Valid {
		switch n.Kind {
		case KindService:
			if n.E164 != "" || n.National == "" {
				t.Fatalf("%s: service %+v: want empty E164 and National set", where, n)
			}
		case KindMobile, KindFixed, KindTollFree, KindOther:
			if !strings.HasPrefix(n.E164, "+") {
				t.Fatalf("%s: %+v: valid without E164", where, n)
			}
		default:
			t.Fatalf("%s: %+v: valid with kind %q", where, n, n.Kind)
		}
	} else if n.Kind != KindUnknown || n.E164 != "" || n.Extension != "" {
		t.Fatalf("%s: invalid %+v: want kind unknown, no E164, no extension", where, n)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"13912345678", "0791-86123456转8001", "（０７９１）８６１２ ３４５６", "+1 202-555-0123", "0791-12368", "0791-86123456-8001", "手机：13912345678", "x#ext"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n := Parse(in)
		if n.Raw != in {
			t.Fatalf("Parse(%q).Raw = %q", in, n.Raw)
		}
		checkNumber(t, "Parse("+in+")", n)
		if n.Valid && n.E164 != "" {
			// The canonical form parses to the same number.
			m := Parse(n.E164)
			if m.E164 != n.E164 || m.Kind != n.Kind {
				t.Fatalf("Parse(%q) = %+v, but Parse(%q) = %+v", in, n, n.E164, m)
			}
		}
	})
}

func FuzzFind(f *testing.F) {
	for _, s := range []string{"联系电话：0791-8612 3456转8001，手机13912345678", "身份证360102198001010013 电话13912345678",
		"（2021）赣01民初13912345678号", "+86 139-1234-5678", "2021-03-15 13:00", "0791-86123456-8001",
		"13912345678张律师", "13912345678万分感谢", "13912345678万元"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, n := range Find(in) {
			checkNumber(t, "Find("+in+")", n)
			if !n.Valid || n.Kind == KindService {
				t.Fatalf("Find(%q) returned %+v", in, n)
			}
			if !strings.Contains(in, n.Raw) || n.Raw == "" {
				t.Fatalf("Find(%q) returned Raw %q not in the input", in, n.Raw)
			}
		}
	})
}

var letter = strings.Repeat("尊敬的法官：我叫张三，身份证号360102198001010013，联系电话：0791-8612 3456转8001，"+
	"手机13912345678。关于（2021）赣01民初123号案件，2021年3月15日开庭，执行款12345元至今未到位。", 6)

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Parse("0791-8612 3456转8001")
	}
}

func BenchmarkFind(b *testing.B) {
	b.SetBytes(int64(len(letter)))
	b.ReportAllocs()
	for b.Loop() {
		Find(letter)
	}
}

// TestMobilePrefixCacheAgrees checks the 7-digit prefix cache against the
// library for every 4-digit mobile prefix with varied endings.
func TestMobilePrefixCacheAgrees(t *testing.T) {
	for p := 1000; p < 2000; p++ {
		for _, mid := range []string{"000", "123", "555", "999"} {
			// The same 7-digit prefix with different endings: the later
			// ones come from the cache.
			for _, tail := range []string{"0000", "9999", "4321"} {
				nsn := strconv.Itoa(p) + mid + tail
				v, _ := strconv.ParseUint(nsn, 10, 64)
				want := phonenumbers.GetNumberType(&phonenumbers.PhoneNumber{CountryCode: &cnCode, NationalNumber: &v})
				if got := numberType(nsn, v); got != want {
					t.Fatalf("numberType(%s) = %v, want %v", nsn, got, want)
				}
			}
		}
	}
}
