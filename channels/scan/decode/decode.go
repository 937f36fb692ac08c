// Package decode reads the items of the scan channel (scanned visitor
// forms, kind scan.Kind) into petition records. OCR output is noisy in
// exactly the places that matter, so every identifier read off a page is
// checked with what normalize knows — resident-id checksums, phone
// numbering rules, the case-number grammar with the court and type-code
// tables and the desk's court — and corrected only where the rules leave
// one reading (O/0 and l/1 in digits, a misread province character where
// the desk's court and the court table agree, a dropped 号). A field that
// cannot be read with confidence is left empty and the record is labelled
// needs_review, with the reasons in meta["scan.review_reasons"]: a wrong
// name on a petition is worse than an empty one. It registers itself with
// normalize.Register; channels/all imports it.
package decode

import (
	"errors"
	"maps"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/scan"
	"github.com/court12368/petitiond/channels/scan/form"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/normalize/casenum"
	"github.com/court12368/petitiond/normalize/idcard"
	"github.com/court12368/petitiond/normalize/phone"
	"github.com/court12368/petitiond/normalize/text"
	"github.com/court12368/petitiond/petition"
)

func init() { normalize.Register(scan.Kind, Form) }

// Subject is the subject of a visit record whose sidecar gives none.
const Subject = "来访登记"

// DefaultMinConfidence is the least word confidence (0–100) at which a
// name or address read by OCR is taken without review.
const DefaultMinConfidence = 70

// Review reasons the decoder sets, besides scan.ReasonLowConfidence.
const (
	ReasonNameMissing     = "name_missing"
	ReasonNameUnsure      = "name_unsure"
	ReasonNameUncommon    = "name_uncommon_characters"
	ReasonContentMissing  = "request_missing"
	ReasonIDUnreadable    = "id_number_unreadable"
	ReasonPhoneUnreadable = "phone_unreadable"
	ReasonPhoneUnsure     = "phone_readings_differ"
	ReasonCaseUnreadable  = "case_number_unreadable"
	ReasonCaseCourt       = "case_number_court_unsure"
	ReasonCaseUnsure      = "case_number_unsure"
	ReasonAddressUnsure   = "address_unsure"
	ReasonTooLong         = "value_too_long"
	ReasonSidecarInvalid  = "sidecar_value_invalid"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

// Form builds the record of a scanned form.
func Form(n *normalize.Normalizer, ch petition.ChannelRef, it *channels.Item) (*petition.Petition, error) {
	if why := it.Fields[scan.FieldUnreadable]; why != "" {
		return nil, errors.New("unreadable scan: " + why)
	}
	// The raw readings are not length-checked: OCR spaces out a form with
	// one box per digit; what goes into the record is (read's clip).
	r := &reading{
		in:      it.Fields,
		out:     map[petition.Field]string{},
		meta:    map[string]any{},
		sidecar: map[petition.Field]bool{},
		minConf: DefaultMinConfidence,
		hint:    strings.TrimSpace(it.Fields[scan.FieldCourtHint]),
	}
	for _, f := range metaStrings(it.Meta[scan.MetaSidecarFields]) {
		r.sidecar[petition.Field(f)] = true
	}
	if c, ok := metaFloat(it.Meta[scan.MetaMinConfidence]); ok {
		r.minConf = c
	}
	if m, ok := it.Meta[scan.MetaFieldConfidence].(map[string]float64); ok {
		r.conf = m
	}
	if m, ok := it.Meta[scan.MetaReread].(map[string]bool); ok {
		r.agree = m
	}
	r.reasons = slices.Clone(metaStrings(it.Meta[scan.MetaReviewReasons])) // appended to: not the item's
	r.read()

	cp := *it
	cp.Fields = r.out
	cp.Meta = maps.Clone(it.Meta)
	if cp.Meta == nil {
		cp.Meta = map[string]any{}
	}
	for k, v := range r.meta {
		cp.Meta[k] = v
	}
	if d, ok := visitDate(it.Fields[form.FieldVisitDate]); ok && it.Meta[scan.MetaReceivedFrom] != "sidecar" {
		if !sameDay(d, it.ReceivedAt) {
			cp.ReceivedAt = d
			cp.Meta[scan.MetaReceivedFrom] = "form_date"
		}
	}
	if len(r.reasons) > 0 {
		cp.Meta[scan.MetaReviewReasons] = dedupe(r.reasons)
	} else {
		delete(cp.Meta, scan.MetaReviewReasons)
	}
	p, err := n.FromFields(ch, &cp)
	if err != nil {
		return nil, err
	}
	if len(r.reasons) > 0 {
		p.Labels = append(p.Labels, petition.LabelNeedsReview)
	}
	if p.FollowUpOf == "" {
		if t := petition.FindTrackingNo(it.Fields[scan.FieldText]); t != "" {
			p.FollowUpOf = t
		}
	}
	return p, nil
}

type reading struct {
	in, out    map[petition.Field]string
	meta       map[string]any
	sidecar    map[petition.Field]bool
	conf       map[string]float64
	agree      map[string]bool // second readings: field → agreed (absent: not read twice)
	minConf    float64
	hint       string
	reasons    []string
	corrected  []string
	unreadable []string
}

func (r *reading) confOf(f petition.Field) float64 {
	if c, ok := r.conf[string(f)]; ok {
		return c
	}
	return 100
}

func (r *reading) review(reason string, f petition.Field) {
	r.reasons = append(r.reasons, reason)
	if f != "" {
		r.unreadable = append(r.unreadable, string(f))
	}
}

func (r *reading) read() {
	for _, f := range petition.InputFields {
		if v := strings.TrimSpace(r.in[f]); v != "" && r.sidecar[f] {
			// The capture software's values win over OCR and are not
			// second-guessed; only a value the record cannot hold (a typed
			// phone that is no number) is left out, with review.
			if sidecarValid(f, v) {
				r.out[f] = v
			} else {
				r.review(ReasonSidecarInvalid, f)
			}
		}
	}
	if _, ok := r.out[petition.FieldSubject]; !ok {
		r.out[petition.FieldSubject] = Subject
	}
	r.readName()
	r.readID()
	r.readPhone()
	r.readCase()
	r.readAddress()
	r.readContent()
	if v := strings.TrimSpace(r.in[petition.FieldEmail]); v != "" && !r.sidecar[petition.FieldEmail] {
		r.out[petition.FieldEmail] = v
	}
	for f, k := range map[petition.Field]string{form.FieldGender: scan.MetaGender, form.FieldReceptionist: scan.MetaReceptionist, form.FieldVisitDate: scan.MetaVisitDate} {
		if v := normalize.CleanLine(r.in[f]); v != "" {
			r.meta[k] = v
		}
	}
	if r.hint != "" {
		r.meta[scan.MetaCourt] = r.hint
		if _, ok := r.out[petition.FieldCourt]; !ok {
			r.out[petition.FieldCourt] = r.hint
		}
	}
	r.clip()
	if len(r.corrected) > 0 {
		r.meta[scan.MetaCorrections] = r.corrected
	}
	if len(r.unreadable) > 0 {
		r.meta[scan.MetaUnreadable] = dedupe(r.unreadable)
	}
}

// clip drops a value that is not valid UTF-8 or longer than its field
// allows, with review: the record must not be refused for what OCR read.
func (r *reading) clip() {
	for f, v := range r.out {
		if !utf8.ValidString(v) {
			delete(r.out, f)
			r.review(ReasonTooLong, f)
			continue
		}
		if lim := petition.FieldLimit(f); lim > 0 && utf8.RuneCountInString(v) > lim {
			if f == petition.FieldContent {
				r.out[f] = string([]rune(v)[:lim])
				r.review(ReasonTooLong, "")
			} else {
				delete(r.out, f)
				r.review(ReasonTooLong, f)
			}
		}
	}
}

// ocr returns the OCR reading of a field that the sidecar did not give.
func (r *reading) ocr(f petition.Field) (string, bool) {
	if r.sidecar[f] {
		return "", false
	}
	v := strings.TrimSpace(r.in[f])
	return v, v != ""
}

func sidecarValid(f petition.Field, v string) bool {
	switch f {
	case petition.FieldIDNumber:
		id, _ := idcard.Normalize(v)
		return len(id) == 18
	case petition.FieldPhone:
		return phone.Parse(v).Valid
	case petition.FieldEmail:
		a, err := mail.ParseAddress(v)
		return err == nil && !strings.ContainsAny(a.Address, " \t")
	}
	return true
}

var nameRe = regexp.MustCompile(`^\p{Han}[\p{Han}·•]{1,9}$`)

func (r *reading) readName() {
	if r.sidecar[petition.FieldName] {
		return
	}
	v, ok := r.ocr(petition.FieldName)
	if !ok {
		r.review(ReasonNameMissing, "")
		return
	}
	tokens := strings.Fields(v)
	name := strings.ReplaceAll(tokens[0], "•", "·")
	agreed, reread := r.agree[string(petition.FieldName)]
	switch {
	case !nameRe.MatchString(name) || (len(tokens) > 1 && !reread):
		// Something else ran into the name's cell, and the name was not
		// read again alone.
		r.review(ReasonNameUnsure, petition.FieldName)
	case reread && !agreed:
		// Two readings differ: a wrong name is worse than none.
		r.review(ReasonNameUnsure, petition.FieldName)
	case !plausibleName(name):
		r.review(ReasonNameUncommon, petition.FieldName)
	case reread && r.confOf(petition.FieldName) >= r.minConf/2, !reread && r.confOf(petition.FieldName) >= r.minConf:
		r.out[petition.FieldName] = name
	default:
		r.review(ReasonNameUnsure, petition.FieldName)
	}
}

// digits folds width, drops spaces and separators, and maps look-alikes
// to digits; keepX keeps a final X (or x, ×) of a resident id.
func digits(s string, keepX bool) string {
	var b strings.Builder
	rs := []rune(s)
	for i, c := range rs {
		c = text.FoldRune(c)
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case keepX && i == len(rs)-1 && (c == 'X' || c == 'x' || c == '×' || c == 'Ⅹ'):
			b.WriteByte('X')
		case form.DigitFix[c] != 0:
			b.WriteRune(form.DigitFix[c])
		case c == ' ' || c == '-' || c == '—' || c == '.' || c == '·':
		default:
			b.WriteRune(c) // anything else stays and fails the checks below
		}
	}
	return b.String()
}

func (r *reading) readID() {
	v, ok := r.ocr(petition.FieldIDNumber)
	if !ok {
		return
	}
	d := digits(v, true)
	id, valid := idcard.Normalize(d)
	switch {
	case len(id) == 18 && valid:
		r.out[petition.FieldIDNumber] = id
		if d != strings.ToUpper(strings.Join(strings.Fields(v), "")) {
			r.corrected = append(r.corrected, "id_number: look-alike characters read as digits")
		}
	default:
		// A checksum that fails is a misread digit: OCR cannot say which.
		r.review(ReasonIDUnreadable, petition.FieldIDNumber)
	}
}

func (r *reading) readPhone() {
	v, ok := r.ocr(petition.FieldPhone)
	if !ok {
		return
	}
	num := phone.Parse(digits(v, false))
	if agreed, reread := r.agree[string(petition.FieldPhone)]; reread && !agreed {
		r.review(ReasonPhoneUnsure, petition.FieldPhone)
		return
	}
	if !num.Valid || r.confOf(petition.FieldPhone) < r.minConf/2 {
		r.review(ReasonPhoneUnreadable, petition.FieldPhone)
		return
	}
	r.out[petition.FieldPhone] = num.National
	if num.Extension != "" {
		r.out[petition.FieldPhone] += "转" + num.Extension
	}
}

var (
	caseShape = regexp.MustCompile(`^[(（\[［【〔〈<《‹]?\s*([0-9]{4})\s*[)）\]］】〕〉>》›]?\s*(\p{Han})\s*([0-9]{0,4})\s*(\p{Han}{1,4}?)\s*(第?)\s*([0-9]+)\s*(号?)(.*)$`)
)

func (r *reading) readCase() {
	v, ok := r.ocr(petition.FieldCaseNumber)
	if !ok {
		return
	}
	if agreed, reread := r.agree[string(petition.FieldCaseNumber)]; reread && !agreed {
		// The line read alone gives other digits: which serial is right
		// cannot be told.
		r.meta["scan.case_number_ocr"] = normalize.CleanLine(v)
		r.review(ReasonCaseUnsure, petition.FieldCaseNumber)
		return
	}
	raw := v
	// Digits: O/0, l/1 inside the number parts only.
	var b strings.Builder
	for _, c := range v {
		c = text.FoldRune(c)
		if d := form.DigitFix[c]; d != 0 {
			c = d
		}
		b.WriteRune(c)
	}
	v = b.String()
	if c, err := casenum.Parse(v); err == nil && (r.hint == "" || c.Province == firstRune(r.hint)) {
		r.acceptCase(c, raw, false)
		return
	}
	m := caseShape.FindStringSubmatch(v)
	if m == nil {
		r.meta["scan.case_number_ocr"] = normalize.CleanLine(raw)
		r.review(ReasonCaseUnreadable, petition.FieldCaseNumber)
		return
	}
	year, prov, code, typ, seq, suffix := m[1], m[2], m[3], m[4], m[6], m[8]
	var notes []string
	if m[7] == "" {
		notes = append(notes, "号 added")
	}
	try := func(p string) (casenum.Case, error) {
		return casenum.Parse("（" + year + "）" + p + code + typ + seq + "号" + strings.TrimSpace(suffix))
	}
	c, err := try(prov)
	hp, _ := utf8.DecodeRuneInString(r.hint)
	if r.hint != "" && string(hp) != prov && (err != nil || r.confOf(petition.FieldCaseNumber) < 85) {
		if c2, err2 := try(string(hp)); err2 == nil && c2.CourtName != "" {
			// The character read is no court, or another province's read
			// with doubt, while under the desk's province these digits name
			// a known court: the desk's province it is. When the character
			// read was itself a court, a person should look.
			if err == nil {
				r.review(ReasonCaseCourt, "")
			}
			c, err = c2, nil
			notes = append(notes, "court "+prov+"→"+string(hp)+" (desk court "+r.hint+")")
		}
	}
	if err != nil {
		r.meta["scan.case_number_ocr"] = normalize.CleanLine(raw)
		r.review(ReasonCaseUnreadable, petition.FieldCaseNumber)
		return
	}
	for _, n := range notes {
		r.corrected = append(r.corrected, "case_number: "+n)
	}
	r.acceptCase(c, raw, len(notes) > 0)
}

func firstRune(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	return string(r)
}

func (r *reading) acceptCase(c casenum.Case, raw string, corrected bool) {
	r.out[petition.FieldCaseNumber] = c.Number
	if r.confOf(petition.FieldCaseNumber) < r.minConf/2 {
		// A serial has no checksum: a number read with little confidence
		// may be another, valid case.
		r.review(ReasonCaseUnsure, petition.FieldCaseNumber)
	}
	if r.hint == "" || corrected {
		return
	}
	hp, _ := utf8.DecodeRuneInString(r.hint)
	if c.Province != string(hp) && r.confOf(petition.FieldCaseNumber) < 85 {
		// Another province's court read with doubt: a misread province
		// character that happens to be another court is possible.
		r.review(ReasonCaseCourt, petition.FieldCaseNumber)
	}
}

func (r *reading) readAddress() {
	v, ok := r.ocr(petition.FieldAddress)
	if !ok {
		return
	}
	if fixed, ok := fixCity(v); ok {
		v = fixed
		r.corrected = append(r.corrected, "address: Jiangxi city name")
	}
	r.out[petition.FieldAddress] = v
	if agreed, reread := r.agree[string(petition.FieldAddress)]; (reread && !agreed) || r.confOf(petition.FieldAddress) < r.minConf {
		r.review(ReasonAddressUnsure, petition.FieldAddress)
	}
}

func (r *reading) readContent() {
	if r.sidecar[petition.FieldContent] {
		return
	}
	if v, ok := r.ocr(petition.FieldContent); ok {
		r.out[petition.FieldContent] = v
		return
	}
	// No labelled request: the page's text is the petition, to be read by
	// a person.
	r.review(ReasonContentMissing, "")
	if t := strings.TrimSpace(r.in[scan.FieldText]); t != "" {
		r.out[petition.FieldContent] = t
	}
}

var dateRe = regexp.MustCompile(`([0-9]{4})\s*[年./\-]\s*([0-9]{1,2})\s*[月./\-]\s*([0-9]{1,2})`)

// visitDate reads the form's date (2026年4月2日, 2026-04-02) as midnight in
// China; implausible dates are ignored.
func visitDate(s string) (time.Time, bool) {
	m := dateRe.FindStringSubmatch(text.Identifier(s))
	if m == nil {
		return time.Time{}, false
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, shanghai)
	if t.Month() != time.Month(mo) || t.Day() != d || y < 2000 || t.After(time.Now().Add(48*time.Hour)) {
		return time.Time{}, false
	}
	return t, true
}

func sameDay(a, b time.Time) bool {
	a, b = a.In(shanghai), b.In(shanghai)
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

func metaStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func metaFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

func dedupe(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
