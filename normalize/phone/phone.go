// Package phone parses Chinese telephone numbers as petitioners write them
// and as call-centre records carry them, using the libphonenumber data of
// github.com/nyaruka/phonenumbers for validity and number types.
//
// Domain rules (numbering plan of the Ministry of Industry and Information
// Technology, 《电信网编号计划》(2017年版)):
//
//   - Mobile numbers have 11 digits and start with 1; not every 1xx block
//     is assigned, so validity comes from the library data, not from the
//     first digit (13912345678 is valid, 12012345678 is not).
//   - Fixed lines are dialled with the trunk prefix 0 and an area code:
//     2 digits for Beijing (010) and the 02x cities (Shanghai 021,
//     Guangzhou 020, …), 3 digits elsewhere (Nanchang 0791, with 8-digit
//     local numbers). 0791-86123456 becomes +8679186123456.
//   - 400 (shared cost) and 800 (toll free) numbers have 10 digits and no
//     trunk prefix; both are reported as Kind "toll_free".
//   - The international forms +86… and 0086… are accepted, and numbers of
//     other countries when written with + or 00.
//   - Service numbers — 3-digit emergency numbers (110, 119, 120, 122),
//     5-digit government hotlines (12368 courts, 12345 citizen hotline,
//     12309 procuratorates, 12348 legal aid), carrier numbers (10086,
//     10000), 95xxx/96xxx enterprise numbers and 1010xxxx — are not in the
//     library's geographic data. They are kept as dialled, also when
//     written with an area code (0791-12368): Kind "service", Valid true,
//     National holds the digits, E164 stays empty because such a number
//     cannot be dialled from abroad and has no E.164 form.
//   - Extensions are written 转, 分机, 分机号, ext, x, # or as a short last
//     group after a hyphen (0791-86123456-8001).
//
// Full-width digits and the separators space, ideographic space, hyphen,
// dash, dot, slash and brackets are accepted. Phone numbers are personal
// data: never log them; use text.MaskPhone.
package phone

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"

	"github.com/court12368/petitiond/internal/strbuf"
	"github.com/court12368/petitiond/normalize/text"
)

// Kinds of numbers.
const (
	KindMobile   = "mobile"
	KindFixed    = "fixed"
	KindTollFree = "toll_free" // 800 toll free and 400 shared cost
	KindService  = "service"   // short and national service numbers, see the package doc
	KindOther    = "other"     // valid, of another type (VoIP, premium rate, a foreign number that may be fixed or mobile, …)
	KindUnknown  = "unknown"   // not a valid number
)

// Number is a parsed telephone number.
type Number struct {
	// E164 is the number in E.164 form, "+8613912345678"; empty for
	// service numbers and invalid input.
	E164 string `json:"e164,omitempty"`
	// National is the number as dialled inside mainland China, digits
	// only: "13912345678", "079186123456", "4008001234", "12368",
	// "079112368". For invalid input it holds the digits that were found.
	National string `json:"national,omitempty"`
	// Extension is the extension, digits only, or empty.
	Extension string `json:"extension,omitempty"`
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`
	// Raw is the text the number was read from, unchanged.
	Raw string `json:"raw"`
	// Valid tells whether the number can be dialled.
	Valid bool `json:"valid"`
}

// Parse reads one phone number from a field such as the web form's phone
// or a CDR's caller number. Surrounding labels ("手机：") are tolerated as
// long as the field holds exactly one number. Local numbers given without
// an area code are invalid; see ParseIn.
func Parse(s string) Number {
	return ParseIn(s, "")
}

// ParseIn is Parse with a default area code (without the trunk 0, e.g.
// "791" for Nanchang) for local fixed-line numbers of 7 or 8 digits given
// without one, as callers of a local centre often do.
func ParseIn(s, area string) Number {
	main, ext, ok := splitField(s)
	if ok {
		n := parseDigits(main, ext, area)
		if !n.Valid && ext == "" {
			// 0791-86123456-8001: a short last hyphen group is an extension.
			if i := strings.LastIndexByte(main.groups, '-'); i > 0 && len(main.groups)-i-1 <= 5 {
				shorter := cleaned{plus: main.plus, groups: main.groups[:i]}
				if m := parseDigits(shorter, main.groups[i+1:], area); m.Valid && m.Kind == KindFixed {
					n = m
				}
			}
		}
		n.Raw = s
		return n
	}
	// Not a bare number: accept a field holding exactly one number.
	if found := Find(s); len(found) == 1 {
		n := found[0]
		n.Raw = s
		return n
	}
	return Number{Kind: KindUnknown, Raw: s, National: digitsOf(s)}
}

// cleaned is a phone field reduced to digits, with '-' kept between
// groups that were separated by a hyphen (for the extension rule).
type cleaned struct {
	plus   bool
	groups string // digits and '-'
}

func (c cleaned) digits() string { return strings.ReplaceAll(c.groups, "-", "") }

// splitField folds width, separates an extension and drops separators. ok
// is false when the field contains anything but a number.
func splitField(s string) (c cleaned, ext string, ok bool) {
	f := foldString(s)
	body := f
	if i, j := extMarker(f); i >= 0 {
		rest := strings.TrimLeft(f[j:], " :.")
		d := leadingDigits(rest)
		if d == "" || strings.TrimSpace(rest[len(d):]) != "" {
			return c, "", false
		}
		body, ext = f[:i], d
	}
	var b strings.Builder
	for _, r := range body {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0 && !c.plus:
			c.plus = true
		case r == '-' || r == '–' || r == '—':
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		case r == ' ' || r == '\t' || r == '.' || r == '/' || r == '(' || r == ')' ||
			r == '\u00a0' || r == '\u200b' || r == '\ufeff' || text.IsHorizontalSpace(r):
		default:
			return c, "", false
		}
	}
	c.groups = strings.Trim(b.String(), "-")
	if c.groups == "" {
		return c, "", false
	}
	return c, ext, true
}

// extMarker finds an extension marker in a folded field and returns its
// start and end, or -1, -1.
func extMarker(f string) (int, int) {
	lower := strings.ToLower(f)
	for _, m := range []string{"分机号", "分机", "转", "ext.", "ext", "x", "#"} {
		if i := strings.Index(lower, m); i > 0 {
			return i, i + len(m)
		}
	}
	return -1, -1
}

func parseDigits(c cleaned, ext, area string) Number {
	d := c.digits()
	if !c.plus && area != "" && len(d) >= 7 && len(d) <= 8 && d[0] >= '2' && d[0] <= '8' {
		d = "0" + area + d
	}
	n := classify(d, c.plus)
	if n.Valid && ext != "" {
		n.Extension = ext
	}
	return n
}

// classify decides what a digit string is. plus tells that it was written
// with a leading '+'.
func classify(d string, plus bool) Number {
	if !plus && strings.HasPrefix(d, "00") {
		plus, d = true, d[2:]
	}
	if plus {
		if !strings.HasPrefix(d, "86") {
			return foreign(d)
		}
		rest := d[2:]
		if isService(rest) {
			return Number{National: rest, Kind: KindService, Valid: true}
		}
		// "+86 0791 …": the trunk 0 is often kept by mistake.
		return chinese(strings.TrimPrefix(rest, "0"), rest)
	}
	if isService(d) {
		return Number{National: d, Kind: KindService, Valid: true}
	}
	if len(d) > 3 && d[0] == '0' {
		n := chinese(d[1:], d)
		if n.Valid && isService(d[1:]) {
			// 0 and a service number (010-100000 reads as 0 + 1010xxxx):
			// kept as dialled, as +86 with the same digits is, not given
			// an E.164 form that reads back as a service number.
			return Number{National: d, Kind: KindService, Valid: true}
		}
		if !n.Valid {
			// An area code and a service number: 0791-12368.
			al := 3
			if d[1] == '1' || d[1] == '2' {
				al = 2
			}
			if len(d) > al+1 && isService(d[al+1:]) {
				return Number{National: d, Kind: KindService, Valid: true}
			}
		}
		return n
	}
	if len(d) == 13 && strings.HasPrefix(d, "861") {
		return chinese(d[2:], d) // 86 and a mobile, the '+' forgotten
	}
	return chinese(d, d)
}

var (
	cnCode  = int32(86)
	maxNSN  = 17
	typeMap = map[phonenumbers.PhoneNumberType]string{
		phonenumbers.MOBILE:      KindMobile,
		phonenumbers.FIXED_LINE:  KindFixed,
		phonenumbers.TOLL_FREE:   KindTollFree,
		phonenumbers.SHARED_COST: KindTollFree,
	}
)

// chinese checks a national significant number (no trunk 0) of +86
// against the library's data. national is reported for invalid numbers.
//
// The PhoneNumber is built directly rather than through
// phonenumbers.Parse, whose extension and punctuation handling is done
// here already and costs more than the validation; GetNumberType is the
// validity test (IsValidNumber is GetNumberType != UNKNOWN plus a region
// check that +86 numbers pass).
func chinese(nsn, national string) Number {
	invalid := Number{National: national, Kind: KindUnknown}
	if nsn == "" || len(nsn) > maxNSN || nsn[0] == '0' {
		return invalid
	}
	v, err := strconv.ParseUint(nsn, 10, 64)
	if err != nil {
		return invalid
	}
	typ := numberType(nsn, v)
	if typ == phonenumbers.UNKNOWN {
		return invalid
	}
	n := Number{E164: "+86" + nsn, National: nsn, Kind: KindOther, Valid: true}
	if k, ok := typeMap[typ]; ok {
		n.Kind = k
	}
	if n.Kind == KindFixed {
		// Geographic numbers are dialled with the trunk prefix 0 inside
		// China; mobile, 400/800 and other non-geographic ones without.
		n.National = "0" + nsn
	}
	return n
}

// mobileTypes caches the library's verdict for 11-digit numbers starting
// with 1 by their first 7 digits: China's mobile number ranges are
// allocated by prefixes of at most 7 digits, so the verdict depends on
// nothing else. The library's pattern matching is the costliest step of
// parsing a caller's number (a hotline sees the same ranges all day).
var (
	mobileTypes     sync.Map // string → phonenumbers.PhoneNumberType
	mobileTypeCount atomic.Int32
)

func numberType(nsn string, v uint64) phonenumbers.PhoneNumberType {
	cacheable := len(nsn) == 11 && nsn[0] == '1'
	if cacheable {
		if t, ok := mobileTypes.Load(nsn[:7]); ok {
			return t.(phonenumbers.PhoneNumberType)
		}
	}
	p := &phonenumbers.PhoneNumber{CountryCode: &cnCode, NationalNumber: &v}
	typ := phonenumbers.GetNumberType(p)
	if cacheable {
		if mobileTypeCount.Add(1) > 1<<16 { // bounded: start over
			mobileTypes.Clear()
			mobileTypeCount.Store(0)
		}
		mobileTypes.Store(nsn[:7], typ)
	}
	return typ
}

// foreign asks the library about a number after an international prefix
// other than 86 (digits without '+').
func foreign(d string) Number {
	p, err := phonenumbers.Parse("+"+d, "ZZ")
	if err != nil {
		return Number{Kind: KindUnknown}
	}
	typ := phonenumbers.GetNumberType(p)
	if typ == phonenumbers.UNKNOWN {
		return Number{Kind: KindUnknown}
	}
	n := Number{
		E164:  "+" + strconv.Itoa(int(p.GetCountryCode())) + phonenumbers.GetNationalSignificantNumber(p),
		Kind:  KindOther,
		Valid: true,
	}
	if k, ok := typeMap[typ]; ok {
		n.Kind = k
	}
	return n
}

// isService reports the service numbers described in the package doc.
func isService(d string) bool {
	switch {
	case len(d) == 3:
		return d[0] == '1' && d[1] != '0'
	case len(d) == 5 && d[0] == '1':
		return d[1] == '0' || d[1] == '1' || d[1] == '2'
	case len(d) >= 5 && len(d) <= 8 && d[0] == '9' && (d[1] == '5' || d[1] == '6'):
		return true
	case len(d) == 8 && strings.HasPrefix(d, "1010"):
		return true
	}
	return false
}

func foldString(s string) string { return strings.Map(text.FoldRune, s) }

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 6 {
		return ""
	}
	return s[:i]
}

func digitsOf(s string) string {
	b := strbuf.Get()
	for _, r := range s {
		if r = text.FoldRune(r); r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.Done(s)
}
