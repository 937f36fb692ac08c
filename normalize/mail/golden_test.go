package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/court12368/petitiond/blob"
)

var update = flag.Bool("update", false, "rewrite testdata/*/want.json from the current output")

// testBaseURI makes blob URIs stable across machines.
const testBaseURI = "blob://test"

func newStore(t testing.TB) *blob.Dir {
	t.Helper()
	st, err := blob.NewDir(t.TempDir(), testBaseURI)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// golden is what want.json holds for a case.
type golden struct {
	SourceID string  `json:"source_id"`
	Letter   *Letter `json:"letter"`
}

func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "input.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases")
	}
	st := newStore(t) // one store for all cases: it is content-addressed
	for _, in := range dirs {
		dir := filepath.Dir(in)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			l, err := Parse(bytes.NewReader(raw), st, Options{})
			if err != nil {
				t.Fatalf("Parse(%s) error: %v", name, err)
			}
			sum := sha256.Sum256(raw)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(golden{SourceID(l, hex.EncodeToString(sum[:])), l}); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			wantPath := filepath.Join(dir, "want.json")
			if *update {
				if err := os.WriteFile(wantPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Parse(%s) differs from %s (rerun with -update and review the diff):\n%s", name, wantPath, got)
			}
			checkStored(t, st, l)
		})
	}
}

// checkStored verifies that every attachment that claims to be stored is in
// the store with its size and hash.
func checkStored(t *testing.T, st blob.Store, l *Letter) {
	t.Helper()
	for _, a := range l.Attachments {
		if a.TooLarge {
			continue
		}
		rc, err := st.Open(a.SHA256)
		if err != nil {
			t.Errorf("attachment part %s: Open(%s): %v", a.Part, a.SHA256, err)
			continue
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != a.SHA256 || n != a.Size {
			t.Errorf("attachment part %s: stored %d bytes with sha256 %s, letter says %d bytes, %s", a.Part, n, got, a.Size, a.SHA256)
		}
	}
}
