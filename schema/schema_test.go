package schema

import (
	"encoding/json"
	"testing"
)

func TestIDsMatchFiles(t *testing.T) {
	for _, f := range Records() {
		var doc struct {
			ID string `json:"$id"`
		}
		if err := json.Unmarshal(f.Data, &doc); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if doc.ID != f.ID {
			t.Errorf("%s: $id = %q, the constant says %q", f.Name, doc.ID, f.ID)
		}
	}
}
