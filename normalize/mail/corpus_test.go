package mail

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/court12368/petitiond/blob"
)

// corpusDir is the corpus of real-world malformed mail: enmime's test
// messages (MIT, see its LICENSE and README), vendored so that the tests
// run in a fresh clone. A missing or empty corpus is a failure, not a skip.
var corpusDir = filepath.Join("testdata", "corpus", "enmime")

// corpusFiles lists the corpus messages; it fails the test when there are
// none.
func corpusFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*", "*.raw"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no corpus messages in %s (want %s/*/*.raw)", corpusDir, corpusDir)
	}
	return files
}

// parseFile parses one file with a watchdog, turning a panic into an error.
func parseFile(t *testing.T, st blob.Store, path string) (l *Letter, err error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type result struct {
		l   *Letter
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r.err = fmt.Errorf("panic: %v", p)
			}
			done <- r
		}()
		r.l, r.err = Parse(f, st, Options{})
	}()
	select {
	case r := <-done:
		return r.l, r.err
	case <-time.After(30 * time.Second):
		t.Fatalf("Parse(%s) did not return within 30s", path)
		return nil, nil
	}
}

func TestCorpus(t *testing.T) {
	files := corpusFiles(t)
	st := newStore(t)
	for _, path := range files {
		l, err := parseFile(t, st, path)
		name, _ := filepath.Rel(corpusDir, path)
		switch {
		case err != nil && strings.HasPrefix(err.Error(), "panic"):
			t.Errorf("Parse(%s) %v", name, err)
		case err != nil && !errors.Is(err, ErrEmpty):
			t.Errorf("Parse(%s) error = %v, want a letter or ErrEmpty", name, err)
		case err == nil && l == nil:
			t.Errorf("Parse(%s) = nil, nil", name)
		}
	}
}

// TestCorpusExpectations checks what matters in a few corpus messages,
// inspected by hand.
func TestCorpusExpectations(t *testing.T) {
	corpusFiles(t)
	tests := []struct {
		file  string
		check func(t *testing.T, l *Letter)
	}{
		{"mail/attachment.raw", func(t *testing.T, l *Letter) {
			wantText(t, l, "A text section")
			wantAttachment(t, l, "test.html", "text/html", 7)
		}},
		{"mail/attachment-only.raw", func(t *testing.T, l *Letter) {
			wantText(t, l, "")
			wantAttachment(t, l, "favicon.jpg", "image/jpeg", 687)
		}},
		{"mail/html-only-inline.raw", func(t *testing.T, l *Letter) {
			wantText(t, l, "Test of HTML section")
			if !l.TextFromHTML {
				t.Errorf("TextFromHTML = false, want true")
			}
			a := wantAttachment(t, l, "favicon.png", "image/png", 687)
			if !a.Inline || a.ContentID != "8B8481A2-25CA-4886-9B5A-8EB9115DD064@skynet" {
				t.Errorf("favicon.png Inline = %v, ContentID = %q, want inline with its Content-ID", a.Inline, a.ContentID)
			}
		}},
		{"mail/mime-bad-8bit-filename.raw", func(t *testing.T, l *Letter) {
			wantAttachment(t, l, "管理.doc", "application/msword", 7)
		}},
		{"mail/mime-bad-content-type.raw", func(t *testing.T, l *Letter) {
			wantAttachment(t, l, "Invoice_302232133150612.pdf", "application/pdf", 524)
		}},
		{"mail/mime-bad-content-transfer-encoding.raw", func(t *testing.T, l *Letter) {
			if !strings.HasPrefix(l.Text, "ploozdect  nispplul") {
				t.Errorf("Text = %q..., want the body read as 8bit", clip(l.Text, 40))
			}
		}},
		{"mail/malformed-multiple-address-header-values.raw", func(t *testing.T, l *Letter) {
			if l.From != (Address{Name: "Bob Dunite", Email: "bob@extern"}) {
				t.Errorf("From = %+v, want Bob Dunite <bob@extern>", l.From)
			}
		}},
		{"mail/multipart-wo-boundary.raw", func(t *testing.T, l *Letter) {
			wantText(t, l, "I'm  multipart message without boundary")
			if l.Auto != AutoBounce {
				t.Errorf("Auto = %q, want %q", l.Auto, AutoBounce)
			}
		}},
		{"mail/qp-utf8-header-no-break.raw", func(t *testing.T, l *Letter) {
			if l.Subject != "MIME UTF8 Test ¢ More Text" {
				t.Errorf("Subject = %q", l.Subject)
			}
			if len(l.To) != 1 || l.To[0].Name != "Mirosław Marczak" {
				t.Errorf("To = %+v, want Mirosław Marczak", l.To)
			}
		}},
		{"mail/erroneous.raw", func(t *testing.T, l *Letter) {
			wantText(t, l, "// Not an RFC-822 Document")
		}},
		{"low-quality/malformed-base64-attach.raw", func(t *testing.T, l *Letter) {
			wantAttachment(t, l, "some.doc", "application/msword", 7)
			wantProblem(t, l, "base64")
		}},
		{"low-quality/unk-encoding-part.raw", func(t *testing.T, l *Letter) {
			wantAttachment(t, l, "foo_9E5D72.zip", "application/x-zip-compressed", 13)
			wantProblem(t, l, "base9000")
		}},
		{"low-quality/bad-final-boundary.raw", func(t *testing.T, l *Letter) {
			wantText(t, l, "A text section")
			wantAttachment(t, l, "foo_9E5D72.zip", "application/x-zip-compressed", 7)
		}},
		{"low-quality/bad-header-wrap.raw", func(t *testing.T, l *Letter) {
			wantAttachment(t, l, "7DDA4_foo_9E5D72.zip", "application/x-zip-compressed", 7)
		}},
		{"low-quality/unk-charset-html-only.raw", func(t *testing.T, l *Letter) {
			wantText(t, l, "Hello World!")
		}},
		{"parts/chardet-success-big-5.raw", func(t *testing.T, l *Letter) {
			if !strings.HasPrefix(l.Text, "顏是家訓  北齊  顏之推") {
				t.Errorf("Text = %q..., want Big5 decoded", clip(l.Text, 40))
			}
		}},
		{"parts/chardet-success-iso-8859-1.raw", func(t *testing.T, l *Letter) {
			if !strings.HasPrefix(l.Text, "DIE Drachenköpfe") {
				t.Errorf("Text = %q..., want Latin-1 decoded", clip(l.Text, 40))
			}
		}},
		{"parts/similar-boundary.raw", func(t *testing.T, l *Letter) {
			wantText(t, l, "Section one\n\nA text section")
		}},
		{"parts/multi-malformed.raw", func(t *testing.T, l *Letter) {
			wantText(t, l, "Section one\n\nI'm section without headers\n\nSection two")
		}},
		{"parts/extra-base64-character.raw", func(t *testing.T, l *Letter) {
			wantText(t, l, "Hello World!")
		}},
	}
	st := newStore(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			l, err := parseFile(t, st, filepath.Join(corpusDir, tt.file))
			if err != nil {
				t.Fatalf("Parse(%s) error: %v", tt.file, err)
			}
			tt.check(t, l)
		})
	}
}

func wantText(t *testing.T, l *Letter, want string) {
	t.Helper()
	if l.Text != want {
		t.Errorf("Text = %q, want %q", l.Text, want)
	}
}

func wantAttachment(t *testing.T, l *Letter, filename, ctype string, size int64) Attachment {
	t.Helper()
	for _, a := range l.Attachments {
		if a.Filename == filename {
			if a.ContentType != ctype || a.Size != size || a.SHA256 == "" {
				t.Errorf("attachment %q = %+v, want %s of %d bytes, stored", filename, a, ctype, size)
			}
			return a
		}
	}
	t.Errorf("no attachment %q in %+v", filename, l.Attachments)
	return Attachment{}
}

func wantProblem(t *testing.T, l *Letter, substr string) {
	t.Helper()
	for _, p := range l.Problems {
		if strings.Contains(p, substr) {
			return
		}
	}
	t.Errorf("Problems = %q, want one mentioning %q", l.Problems, substr)
}
