package decode

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/court12368/petitiond/normalize/casenum"
)

// Prefecture-level cities of Jiangxi, whose courts the case-number table
// knows. OCR reads their rare characters wrongly in addresses exactly as in
// case numbers (赣州 → 闽州, 上饶 → 上侥); a city name that is not one of
// them but differs from exactly one in a single character is that city.
var jiangxiCities = []string{"南昌市", "景德镇市", "萍乡市", "九江市", "新余市", "鹰潭市", "赣州市", "吉安市", "宜春市", "抚州市", "上饶市"}

var cityRe = regexp.MustCompile(`^(江西省|江西)?(\p{Han}{2,3}市)`)

// fixCity corrects a misread Jiangxi city name at the start of an address;
// it returns the address and whether it changed it.
func fixCity(addr string) (string, bool) {
	m := cityRe.FindStringSubmatchIndex(addr)
	if m == nil {
		return addr, false
	}
	city := addr[m[4]:m[5]]
	var cands []string
	for _, c := range jiangxiCities {
		if c == city {
			return addr, false
		}
		if oneOff(c, city) {
			cands = append(cands, c)
		}
	}
	var match string
	switch len(cands) {
	case 0:
	case 1:
		match = cands[0]
	default:
		// 闽州 is one character from 赣州 and from 抚州: the district that
		// follows (章贡区) tells which.
		rest := addr[m[5]:]
		for _, c := range cands {
			for _, d := range districts()[c] {
				if strings.HasPrefix(rest, d) {
					if match != "" && match != c {
						return addr, false
					}
					match = c
				}
			}
		}
	}
	if match == "" || m[2] < 0 {
		// Without 江西 before it, a near miss may be another province's city.
		return addr, false
	}
	return addr[:m[4]] + match + addr[m[5]:], true
}

// oneOff reports whether a and b have the same length in characters and
// differ in exactly one.
func oneOff(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) != len(rb) {
		return false
	}
	diff := 0
	for i := range ra {
		if ra[i] != rb[i] {
			diff++
		}
	}
	return diff == 1
}

var (
	districtsOnce sync.Once
	districtMap   map[string][]string // city → its districts and counties
)

// districts maps each Jiangxi city to the districts and counties of its
// basic courts, from the case-number court table (casenum).
func districts() map[string][]string {
	districtsOnce.Do(func() {
		districtMap = map[string][]string{}
		for nn := 1; nn <= 11; nn++ {
			mid, err := casenum.Parse(fmt.Sprintf("（2020）赣%02d民初1号", nn))
			if err != nil || mid.CourtName == "" {
				continue
			}
			city := strings.TrimSuffix(strings.TrimPrefix(mid.CourtName, "江西省"), "中级人民法院")
			for mm := 1; mm <= 99; mm++ {
				c, err := casenum.Parse(fmt.Sprintf("（2020）赣%02d%02d民初1号", nn, mm))
				if err != nil || c.CourtName == "" {
					continue
				}
				d := strings.TrimPrefix(strings.TrimSuffix(c.CourtName, "人民法院"), city)
				if d != "" {
					districtMap[city] = append(districtMap[city], d)
				}
			}
		}
	})
	return districtMap
}
