// Package idcard validates and normalises resident identity numbers of the
// People's Republic of China (公民身份号码) as defined by GB 11643-1999.
//
// An 18-character number is made of
//
//	RRRRRR YYYYMMDD SSS C
//
// a 6-digit address code (GB/T 2260 administrative division of the first
// registration), the date of birth, a 3-digit sequence (odd for men, even
// for women) and a check character computed with ISO 7064 MOD 11-2: the
// first 17 digits are weighted 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, the sum
// is taken mod 11 and mapped to 1 0 X 9 8 7 6 5 4 3 2.
//
// The 15-digit numbers issued before 1999 (GB 11643-1989) have a 2-digit
// year and no check character; they are upgraded by inserting "19" before
// the year and appending the check character
// (610104620927690 → 610104196209276908).
//
// Residence permits for residents of Hong Kong, Macao and Taiwan
// (港澳台居民居住证, 国办发〔2018〕81号) use the same structure with the
// address codes 810000, 820000 and 830000 and are accepted.
//
// Besides the checksum a number is valid only when its first two digits
// are a province-level code of GB/T 2260 (11–15, 21–23, 31–37, 41–46,
// 50–54, 61–65, 71, 81–83) and its birth date is a real calendar date
// from 1890 on that is not in the future.
//
// Id numbers are personal data: never log them; use Mask.
package idcard

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/court12368/petitiond/normalize/text"
)

var weights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const checkChars = "10X98765432"

// provinces maps the province-level codes of GB/T 2260 (and 81–83 of the
// residence permits) to their names.
var provinces = map[string]string{
	"11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
	"21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
	"31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
	"41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区", "46": "海南省",
	"50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
	"61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
	"71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区", "83": "台湾地区（居住证）",
}

// CheckChar returns the GB 11643-1999 check character for the first 17
// digits of an id number, or 0 when first17 is not 17 ASCII digits.
func CheckChar(first17 string) byte {
	if len(first17) != 17 {
		return 0
	}
	sum := 0
	for i := range 17 {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0
		}
		sum += int(c-'0') * weights[i]
	}
	return checkChars[sum%11]
}

// Normalize cleans an id number given by a petitioner and tells whether it
// is a valid resident id number.
//
// Full-width characters are folded to ASCII, white space and hyphens are
// removed and a lower-case x (or a × typed for it) becomes X. When the
// result has the shape of an id number (17 digits and a digit or X, or 15
// digits) it is returned even if invalid, so the record keeps what was
// given; a valid 15-digit number is returned upgraded to 18 characters.
// Anything else (a passport number, a typo) is returned in its cleaned form
// with valid false.
func Normalize(s string) (id string, valid bool) {
	return normalizeAt(s, time.Now())
}

func normalizeAt(s string, now time.Time) (string, bool) {
	id := clean(s)
	if len(id) == 17+len("×") && isDigits(id[:17]) && strings.HasSuffix(id, "×") {
		id = id[:17] + "X" // the multiplication sign typed for the check character
	}
	switch {
	case len(id) == 18 && isDigits(id[:17]) && (isDigit(id[17]) || id[17] == 'X'):
		return id, valid18(id, now)
	case len(id) == 15 && isDigits(id):
		if valid15(id, now) {
			return upgrade(id), true
		}
		return id, false
	}
	return id, false
}

// clean folds width, drops spaces and hyphens and upper-cases ASCII
// letters.
func clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r = text.FoldRune(r)
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '-' || text.IsHorizontalSpace(r):
			continue
		case r == '‐' || r == '‑' || r == '–' || r == '—' || r == '\u200b' || r == '\ufeff':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		case r == utf8.RuneError:
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// upgrade turns a 15-digit number into its 18-character form.
func upgrade(id15 string) string {
	first17 := id15[:6] + "19" + id15[6:]
	return first17 + string(CheckChar(first17))
}

func valid18(id string, now time.Time) bool {
	return CheckChar(id[:17]) == id[17] && validRegion(id) && validBirth(id[6:14], now)
}

func valid15(id string, now time.Time) bool {
	return validRegion(id) && validBirth("19"+id[6:12], now)
}

func validRegion(id string) bool {
	_, ok := provinces[id[:2]]
	return ok
}

// validBirth reports whether yyyymmdd is a real date from 1890-01-01 up to
// the current date (in China Standard Time).
func validBirth(yyyymmdd string, now time.Time) bool {
	_, ok := birthDate(yyyymmdd, now)
	return ok
}

var cst = time.FixedZone("CST", 8*3600)

func birthDate(yyyymmdd string, now time.Time) (time.Time, bool) {
	if len(yyyymmdd) != 8 || !isDigits(yyyymmdd) {
		return time.Time{}, false
	}
	y := atoi(yyyymmdd[:4])
	m := atoi(yyyymmdd[4:6])
	d := atoi(yyyymmdd[6:8])
	if y < 1890 || m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, cst)
	if t.Day() != d || t.Month() != time.Month(m) { // 2月30日 and the like
		return time.Time{}, false
	}
	if t.After(now) {
		return time.Time{}, false
	}
	return t, true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// Details are what a valid id number says about its holder.
type Details struct {
	Birth    time.Time // date of birth, midnight China Standard Time
	Male     bool      // the sequence number is odd
	Region   string    // 6-digit address code of first registration, e.g. "360102"
	Province string    // province-level name of the address code, e.g. "江西省"
}

// Info decodes a valid id number (as returned by Normalize; 15-digit input
// is upgraded first). ok is false when id is not valid.
func Info(id string) (d Details, ok bool) {
	now := time.Now()
	id, ok = normalizeAt(id, now)
	if !ok {
		return Details{}, false
	}
	birth, _ := birthDate(id[6:14], now)
	return Details{
		Birth:    birth,
		Male:     (id[16]-'0')%2 == 1,
		Region:   id[:6],
		Province: provinces[id[:2]],
	}, true
}

// Mask hides the middle of an id number, keeping at most its first 6 and
// last 4 characters: 360102********0013. It is text.MaskID.
func Mask(id string) string { return text.MaskID(id) }
