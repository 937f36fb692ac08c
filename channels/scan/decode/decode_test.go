package decode_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/scan"
	"github.com/court12368/petitiond/channels/scan/decode"
	"github.com/court12368/petitiond/channels/scan/form"
	tu "github.com/court12368/petitiond/internal/testutil"
	"github.com/court12368/petitiond/petition"
)

var ch = petition.ChannelRef{Name: "visits", Type: "scan"}

// item is what the channel makes of a form with these OCR readings (all
// read twice and agreed, at confidence 90).
func item(fields map[petition.Field]string) *channels.Item {
	conf := map[string]float64{}
	agree := map[string]bool{}
	for f := range fields {
		conf[string(f)] = 90
		agree[string(f)] = true
	}
	if _, ok := fields[scan.FieldCourtHint]; !ok {
		fields[scan.FieldCourtHint] = "赣0102"
	}
	return &channels.Item{
		Kind: scan.Kind, SourceID: "sha256:abc", SourceRef: "file:///scans/a.png",
		ReceivedAt: time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC),
		Fields:     fields,
		Meta: map[string]any{scan.MetaFile: "a.png", scan.MetaFieldConfidence: conf, scan.MetaReread: agree,
			scan.MetaMinConfidence: 70.0},
	}
}

func decodeOK(t *testing.T, it *channels.Item) *petition.Petition {
	t.Helper()
	pets, err := tu.Normalizer(t).Normalize(ch, it)
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	b, _ := json.Marshal(pets[0])
	tu.ValidatePetition(t, b)
	return pets[0]
}

func review(p *petition.Petition) []string {
	if !slices.Contains(p.Labels, petition.LabelNeedsReview) {
		return nil
	}
	r, _ := p.Meta[scan.MetaReviewReasons].([]string)
	return r
}

func base() map[petition.Field]string {
	return map[petition.Field]string{
		petition.FieldName: "张三丰", petition.FieldIDNumber: "360102198001010013", petition.FieldPhone: "13912345678",
		petition.FieldAddress: "江西省南昌市东湖区八一大道1号", petition.FieldCaseNumber: "（2024）赣0102民初100号",
		petition.FieldContent: "我于三月提交的起诉材料至今未立案。", form.FieldGender: "男", form.FieldVisitDate: "2026年11月30日",
	}
}

func TestCleanForm(t *testing.T) {
	p := decodeOK(t, item(base()))
	if r := review(p); r != nil {
		t.Errorf("needs review: %v", r)
	}
	pt := p.Petitioner
	if pt.Name != "张三丰" || pt.IDNumber != "360102198001010013" || !pt.IDNumberValid || pt.Phone != "+8613912345678" {
		t.Errorf("petitioner %+v", pt)
	}
	if len(p.Cases) != 1 || p.Cases[0].Number != "（2024）赣0102民初100号" || p.Subject != decode.Subject || p.Meta[scan.MetaGender] != "男" {
		t.Errorf("cases %+v subject %q meta %v", p.Cases, p.Subject, p.Meta)
	}
	if p.Channel.Type != "scan" || p.ID != petition.ID("visits", "sha256:abc") {
		t.Errorf("channel %+v id %s", p.Channel, p.ID)
	}
}

func TestIdentifierReadings(t *testing.T) {
	for _, tc := range []struct {
		name      string
		field     petition.Field
		read      string
		want      string // what the record holds ("" = left empty)
		reason    string // a review reason expected ("" = none)
		corrected bool
	}{
		{"id with O for 0", petition.FieldIDNumber, "36O1O2198OO1O1OO13", "360102198001010013", "", true},
		{"id with × for X", petition.FieldIDNumber, "11010519491231002×", "11010519491231002X", "", true},
		{"id spaced out, one box per digit", petition.FieldIDNumber, "3 6 0 1 0 2 1 9 8 0 0 1 0 1 0 0 1 3", "360102198001010013", "", false},
		{"id with a misread digit", petition.FieldIDNumber, "360102198001010018", "", decode.ReasonIDUnreadable, false},
		{"id too short", petition.FieldIDNumber, "3601021980010", "", decode.ReasonIDUnreadable, false},
		{"phone with l for 1", petition.FieldPhone, "l3912345678", "+8613912345678", "", false},
		{"phone with a dropped digit", petition.FieldPhone, "1391234567", "", decode.ReasonPhoneUnreadable, false},
		{"case: province misread as no court", petition.FieldCaseNumber, "(2024) 闭0104刑初5086号", "（2024）赣0104刑初5086号", "", true},
		{"case: dropped 号", petition.FieldCaseNumber, "（2024）赣0102民初100", "（2024）赣0102民初100号", "", false},
		{"case: O in the serial", petition.FieldCaseNumber, "（2024）赣0102民初1O0号", "（2024）赣0102民初100号", "", false},
		// Read with doubt (confidence 70, below): another province's court
		// where the desk's province has one with these digits.
		{"case: province read as another province", petition.FieldCaseNumber, "（2024）闽0102民初100号", "（2024）赣0102民初100号", decode.ReasonCaseCourt, true},
		{"case: unknown court digits", petition.FieldCaseNumber, "（2024）闭9988民初100号", "", decode.ReasonCaseUnreadable, false},
		{"case: not a case number", petition.FieldCaseNumber, "无", "", decode.ReasonCaseUnreadable, false},
		{"name implausible", petition.FieldName, "徐舌艳", "", decode.ReasonNameUncommon, false},
		{"name with junk", petition.FieldName, "张三丰3", "", decode.ReasonNameUnsure, false},
		{"compound surname", petition.FieldName, "欧阳娜娜", "欧阳娜娜", "", false},
		{"minority name", petition.FieldName, "买买提·艾力", "买买提·艾力", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := base()
			f[tc.field] = tc.read
			it := item(f)
			if tc.field == petition.FieldCaseNumber {
				it.Meta[scan.MetaFieldConfidence].(map[string]float64)["case_number"] = 70
			}
			p := decodeOK(t, it)
			var got string
			switch tc.field {
			case petition.FieldIDNumber:
				got = p.Petitioner.IDNumber
			case petition.FieldPhone:
				got = p.Petitioner.Phone
			case petition.FieldName:
				got = p.Petitioner.Name
			case petition.FieldCaseNumber:
				if len(p.Cases) > 0 {
					got = p.Cases[0].Number
				}
			}
			if got != tc.want {
				t.Errorf("%s = %q, want %q", tc.field, got, tc.want)
			}
			r := review(p)
			if tc.reason == "" && r != nil {
				t.Errorf("needs review %v", r)
			}
			if tc.reason != "" && !slices.Contains(r, tc.reason) {
				t.Errorf("review reasons %v, want %s", r, tc.reason)
			}
			_, corr := p.Meta[scan.MetaCorrections]
			if corr != tc.corrected {
				t.Errorf("corrections %v, want corrected=%v", p.Meta[scan.MetaCorrections], tc.corrected)
			}
		})
	}
}

func TestNameNeedsAgreementOrConfidence(t *testing.T) {
	it := item(base())
	it.Meta[scan.MetaReread] = map[string]bool{"name": false}
	if p := decodeOK(t, it); p.Petitioner.Name != "" || !slices.Contains(review(p), decode.ReasonNameUnsure) {
		t.Errorf("disagreeing readings: name %q review %v", p.Petitioner.Name, review(p))
	}
	it = item(base())
	delete(it.Meta, scan.MetaReread)
	it.Meta[scan.MetaFieldConfidence] = map[string]float64{"name": 50}
	if p := decodeOK(t, it); p.Petitioner.Name != "" {
		t.Errorf("unsure single reading taken: %q", p.Petitioner.Name)
	}
}

func TestMissingRequestUsesPageText(t *testing.T) {
	f := base()
	delete(f, petition.FieldContent)
	delete(f, petition.FieldName)
	f[scan.FieldText] = "来访登记表\n张三丰 我要见法官"
	p := decodeOK(t, item(f))
	if p.Content != "来访登记表\n张三丰 我要见法官" {
		t.Errorf("content = %q", p.Content)
	}
	r := review(p)
	if !slices.Contains(r, decode.ReasonContentMissing) || !slices.Contains(r, decode.ReasonNameMissing) {
		t.Errorf("review %v", r)
	}
}

func TestUnreadableIsAnError(t *testing.T) {
	it := item(base())
	it.Fields[scan.FieldUnreadable] = "not a PNG, JPEG, TIFF or PDF file"
	_, err := tu.Normalizer(t).Normalize(ch, it)
	if err == nil || !strings.Contains(err.Error(), "not a PNG") {
		t.Errorf("err = %v", err)
	}
	var inv *channels.InvalidError
	_ = inv
}

func TestSidecarFieldsAreNotSecondGuessed(t *testing.T) {
	f := base()
	f[petition.FieldName] = "徐舌艳" // implausible, but the capture software typed it
	it := item(f)
	it.Meta[scan.MetaSidecarFields] = []string{"name"}
	p := decodeOK(t, it)
	if p.Petitioner.Name != "徐舌艳" || review(p) != nil {
		t.Errorf("name %q review %v", p.Petitioner.Name, review(p))
	}
}

func TestFormDateAndTrackingNumber(t *testing.T) {
	f := base()
	f[form.FieldVisitDate] = "2026年11月2日"
	earlier := petition.TrackingNo(petition.ID("web", "x"))
	f[scan.FieldText] = "回执号 " + earlier
	p := decodeOK(t, item(f))
	if want := time.Date(2026, 11, 1, 16, 0, 0, 0, time.UTC); !p.ReceivedAt.Equal(want) || p.Meta[scan.MetaReceivedFrom] != "form_date" {
		t.Errorf("received_at %v (%v), want %v", p.ReceivedAt, p.Meta[scan.MetaReceivedFrom], want)
	}
	if p.FollowUpOf != earlier {
		t.Errorf("follow_up_of %q, want %q", p.FollowUpOf, earlier)
	}
	f[form.FieldVisitDate] = "2026年13月40日"
	if p := decodeOK(t, item(f)); !p.ReceivedAt.Equal(time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("implausible form date used: %v", p.ReceivedAt)
	}
}

func FuzzForm(f *testing.F) {
	f.Add("张三丰", "36O1O2198OO1O1OO13", "l3912345678", "(2024) 闭0104刑初5086号", "请求立案", "2026年4月2日")
	f.Add("", "", "", "（2015）赣民一终字第12号", "", "")
	n := tu.Normalizer(f)
	f.Fuzz(func(t *testing.T, name, id, phone, cn, content, date string) {
		fs := map[petition.Field]string{petition.FieldName: name, petition.FieldIDNumber: id, petition.FieldPhone: phone,
			petition.FieldCaseNumber: cn, petition.FieldContent: content, form.FieldVisitDate: date, scan.FieldText: name + content}
		p, err := n.Normalize(ch, item(fs))
		if err != nil {
			return
		}
		pt := p[0].Petitioner
		if pt.IDNumber != "" && !pt.IDNumberValid {
			t.Fatalf("an id that fails its checksum was taken: %q", pt.IDNumber)
		}
	})
}

func TestFixCity(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"江西省闽州市章贡区胜利路256号", "江西省赣州市章贡区胜利路256号"},
		{"江西省上侥市信州区八一大道88号", "江西省上饶市信州区八一大道88号"},
		{"江西省南昌市东湖区", "江西省南昌市东湖区"},
		{"福建省福州市鼓楼区", "福建省福州市鼓楼区"}, // another province: left alone
		{"闽州市章贡区", "闽州市章贡区"},       // no province: not sure it is Jiangxi
		{"江西省某某市", "江西省某某市"},       // no near city
	} {
		f := base()
		f[petition.FieldAddress] = tc.in
		if p := decodeOK(t, item(f)); p.Petitioner.Address != tc.want {
			t.Errorf("%s → %s, want %s", tc.in, p.Petitioner.Address, tc.want)
		}
	}
}

func TestSidecarValueThatIsNoNumberGoesToReview(t *testing.T) {
	f := base()
	f[petition.FieldPhone] = "1380013800" // one digit short, typed by the clerk
	it := item(f)
	it.Meta[scan.MetaSidecarFields] = []string{"phone"}
	p := decodeOK(t, it)
	if p.Petitioner.Phone != "" || !slices.Contains(review(p), decode.ReasonSidecarInvalid) {
		t.Errorf("phone %q review %v", p.Petitioner.Phone, review(p))
	}
}

func TestCaseReadWithLittleConfidenceGoesToReview(t *testing.T) {
	it := item(base())
	it.Meta[scan.MetaFieldConfidence].(map[string]float64)["case_number"] = 5
	p := decodeOK(t, it)
	if len(p.Cases) != 1 || !slices.Contains(review(p), decode.ReasonCaseUnsure) {
		t.Errorf("cases %v review %v", p.Cases, review(p))
	}
}

// TestDigitsThatDisagreeGoToReview: when the line read alone gives other
// digits than the page, the phone or case number is left empty, with review.
func TestDigitsThatDisagreeGoToReview(t *testing.T) {
	for _, f := range []petition.Field{petition.FieldPhone, petition.FieldCaseNumber} {
		it := item(base())
		it.Meta[scan.MetaReread].(map[string]bool)[string(f)] = false
		p := decodeOK(t, it)
		switch f {
		case petition.FieldPhone:
			if p.Petitioner.Phone != "" || !slices.Contains(review(p), decode.ReasonPhoneUnsure) {
				t.Errorf("phone %q review %v", p.Petitioner.Phone, review(p))
			}
		case petition.FieldCaseNumber:
			if len(p.Cases) != 0 || !slices.Contains(review(p), decode.ReasonCaseUnsure) {
				t.Errorf("cases %v review %v", p.Cases, review(p))
			}
		}
	}
}
