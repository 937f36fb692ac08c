package normalize_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/court12368/petitiond/channels"
	tu "github.com/court12368/petitiond/internal/testutil"
	"github.com/court12368/petitiond/petition"
)

// FuzzNormalizeFields: any input fields give a valid record or a named
// InvalidError, never a panic or a record outside the schema.
func FuzzNormalizeFields(f *testing.F) {
	f.Add("张三", "360102198001010013", "0791-8612 3456转8001", "有案不立", "（2021）赣01民初123号、124号 执行难 13912345678", "(2023)赣0102执1234号")
	f.Add("", "61010462092769", "12368", "", "法释〔2020〕17号", "")
	f.Add("\x00", "ｘ", "+86 139", "\r\n", "\u2028\u2029\ufeff跳楼", "（）号")
	n := newNormalizer(f)
	f.Fuzz(func(t *testing.T, name, id, phone, subject, content, caseNo string) {
		it := &channels.Item{SourceID: "fuzz", Kind: channels.KindFields, Fields: map[petition.Field]string{
			"name": name, "id_number": id, "phone": phone, "subject": subject, "content": content, "case_number": caseNo,
		}}
		pets, err := n.Normalize(petition.ChannelRef{Name: "w", Type: "web"}, it)
		if err != nil {
			var ie *channels.InvalidError
			if !errors.As(err, &ie) || ie.Field == "" {
				t.Fatalf("error %v is not an InvalidError naming a field", err)
			}
			return
		}
		b, err := json.Marshal(pets[0])
		if err != nil {
			t.Fatal(err)
		}
		tu.ValidatePetition(t, b)
	})
}
