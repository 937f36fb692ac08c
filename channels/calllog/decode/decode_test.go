package decode_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/calllog/callitem"
	"github.com/court12368/petitiond/channels/calllog/decode"
	tu "github.com/court12368/petitiond/internal/testutil"
	"github.com/court12368/petitiond/petition"
)

func callItem(fields map[petition.Field]string, meta map[string]any) *channels.Item {
	return &channels.Item{
		Kind:       callitem.Kind,
		SourceID:   "1709255702.20/42",
		SourceRef:  "/var/log/asterisk/cdr-csv/Master.csv:1234",
		ReceivedAt: time.Date(2024, 3, 1, 9, 15, 2, 0, time.FixedZone("CST", 8*3600)),
		Fields:     fields,
		Meta:       meta,
	}
}

func normalizeCall(t *testing.T, it *channels.Item) *petition.Petition {
	t.Helper()
	pets, err := tu.Normalizer(t).Normalize(petition.ChannelRef{Name: "hotline", Type: "calllog"}, it)
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	if len(pets) != 1 {
		t.Fatalf("%d records, want 1", len(pets))
	}
	b, err := json.Marshal(pets[0])
	if err != nil {
		t.Fatal(err)
	}
	tu.ValidatePetition(t, b)
	return pets[0]
}

func TestCallAnswered(t *testing.T) {
	it := callItem(map[petition.Field]string{"name": `张三`, "phone": "13912345678", "content": " 咨询案件进度，要求联系承办法官 "},
		map[string]any{"call.missed": false, "call.duration": 463, "call.billsec": 462, "call.disposition": "ANSWERED", "call.agent": "8001"})
	p := normalizeCall(t, it)
	if p.Petitioner.Phone != "+8613912345678" {
		t.Errorf("phone = %q, want +8613912345678", p.Petitioner.Phone)
	}
	if p.Petitioner.Name != "张三" {
		t.Errorf("name = %q", p.Petitioner.Name)
	}
	if p.Content != "咨询案件进度，要求联系承办法官" {
		t.Errorf("content = %q", p.Content)
	}
	if p.Subject != decode.CallSubject {
		t.Errorf("subject = %q", p.Subject)
	}
	if want := time.Date(2024, 3, 1, 1, 15, 2, 0, time.UTC); !p.ReceivedAt.Equal(want) || p.ReceivedAt.Location() != time.UTC {
		t.Errorf("received_at = %v, want %v (the call start, in UTC)", p.ReceivedAt, want)
	}
	if slices.Contains(p.Labels, decode.LabelCallbackNeeded) {
		t.Errorf("answered call labelled %v", p.Labels)
	}
	if p.Meta["call.billsec"] != 462 || p.Meta["call.agent"] != "8001" || p.Meta["call.caller_kind"] != "mobile" {
		t.Errorf("meta = %v", p.Meta)
	}
	if p.Priority != "normal" {
		t.Errorf("priority = %q", p.Priority)
	}
	if want := petition.ID("hotline", "1709255702.20/42"); p.ID != want {
		t.Errorf("id = %s, want %s (UUIDv5 of channel and source id)", p.ID, want)
	}
	if p.Source.ID != "1709255702.20/42" || p.Source.Ref != it.SourceRef {
		t.Errorf("source = %+v", p.Source)
	}
}

func TestCallMissed(t *testing.T) {
	p := normalizeCall(t, callItem(map[petition.Field]string{"name": "13712345678", "phone": "13712345678", "content": ""},
		map[string]any{"call.missed": true, "call.disposition": "NO ANSWER"}))
	if !slices.Contains(p.Labels, decode.LabelCallbackNeeded) {
		t.Errorf("labels = %v, want %s", p.Labels, decode.LabelCallbackNeeded)
	}
	if p.Subject != decode.CallSubjectMissed {
		t.Errorf("subject = %q", p.Subject)
	}
	if p.Content != "" {
		t.Errorf("content = %q, want empty", p.Content)
	}
	if p.Petitioner.Name != "" {
		t.Errorf("name = %q: a caller name that is the number is no name", p.Petitioner.Name)
	}
	if p.Petitioner.Phone != "+8613712345678" {
		t.Errorf("phone = %q", p.Petitioner.Phone)
	}
}

func TestCallPhones(t *testing.T) {
	for _, tc := range []struct {
		raw, area, want, kind string
	}{
		{"+8613912345678", "", "+8613912345678", "mobile"},
		{"013912345678", "", "+8613912345678", "mobile"},
		{"079186123456", "", "+8679186123456", "fixed"},
		{"86123456", "791", "+8679186123456", "fixed"},
		{"12368", "", "12368", "service"},
		{"0791-12368", "", "079112368", "service"},
		{"8001", "", "8001", "unknown"},
		{"anonymous", "", "", ""},
		{"", "", "", ""},
	} {
		f := map[petition.Field]string{"phone": tc.raw}
		if tc.area != "" {
			f["area_code"] = tc.area
		}
		p := normalizeCall(t, callItem(f, map[string]any{"call.missed": false}))
		if p.Petitioner.Phone != tc.want {
			t.Errorf("phone %q (area %q) → %q, want %q", tc.raw, tc.area, p.Petitioner.Phone, tc.want)
		}
		if got, _ := p.Meta["call.caller_kind"].(string); got != tc.kind {
			t.Errorf("phone %q: call.caller_kind = %q, want %q", tc.raw, got, tc.kind)
		}
	}
}

func TestCallParseErrorIsNotARecord(t *testing.T) {
	it := callItem(map[petition.Field]string{"parse_error": "cdr: asterisk-csv: 3 columns, want 16 to 21"}, nil)
	_, err := tu.Normalizer(t).Normalize(petition.ChannelRef{Name: "hotline", Type: "calllog"}, it)
	if err == nil {
		t.Fatal("a line that could not be parsed gave a record")
	}
}

func TestCallLateNote(t *testing.T) {
	p := normalizeCall(t, callItem(map[petition.Field]string{"phone": "13912345678", "content": "补充：当事人要求书面答复", "follow_up_of": "7K3M-Q9TX-2BHF"},
		map[string]any{"call.late_note": true}))
	if p.FollowUpOf != "7K3M-Q9TX-2BHF" || !slices.Contains(p.Labels, "follow_up") {
		t.Errorf("follow_up_of = %q, labels %v", p.FollowUpOf, p.Labels)
	}
	if p.Subject != decode.CallSubjectLateNote {
		t.Errorf("subject = %q", p.Subject)
	}
}

func TestCallInvalidUTF8(t *testing.T) {
	it := callItem(map[petition.Field]string{"name": "\xff\xfe"}, nil)
	_, err := tu.Normalizer(t).Normalize(petition.ChannelRef{Name: "hotline", Type: "calllog"}, it)
	if err == nil {
		t.Fatal("invalid UTF-8 accepted")
	}
}

// BenchmarkNormalizeCall is the normalizer's cost for one CDR line's item
// (as the calllog channel builds it: 4 fields, 17 meta keys); the item's
// own construction is not counted.
func BenchmarkNormalizeCall(b *testing.B) {
	n := tu.Normalizer(b)
	ch := petition.ChannelRef{Name: "hotline", Type: "calllog"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		it := callItem(map[petition.Field]string{"name": `张三`, "phone": "13912345678", "content": "咨询案件进度，要求联系承办法官"},
			map[string]any{callitem.MetaFormat: "asterisk-csv", "call.caller_number": "13912345678", "call.destination": "12368",
				"call.duration": 463, "call.billsec": 462, "call.disposition": "ANSWERED", callitem.MetaMissed: false,
				callitem.MetaUniqueID: "1709255702.20", "call.linked_id": "1709255702.20", callitem.MetaQueue: "petitions",
				callitem.MetaAgent: "8001", "call.context": "from-trunk", "call.account_code": "DOCUMENTATION",
				callitem.MetaNotesSource: "cdr", "call.answer_at": "2024-03-01T01:15:03Z", "call.end_at": "2024-03-01T01:22:45Z"})
		it.SourceID = "1709255702." + strconv.Itoa(i)
		b.StartTimer()
		if _, err := n.Normalize(ch, it); err != nil {
			b.Fatal(err)
		}
	}
}
