package mail

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The reference comparison: every message of every vendored corpus
// (testdata/corpus/*/, see their READMEs) is parsed and its subject,
// sender, text and attachment names are compared with what Python's email
// package (policy=default) makes of it: testdata/corpus/reference.json,
// written by testdata/corpus/reference.py (run it again after adding
// mail). Every difference must be listed, with the reason our reading is
// right, in testdata/corpus/DIFFERENCES.tsv, and every listed difference
// must still occur: the list stays exact.
//
// To rewrite the list after a change, keeping the reasons of the entries
// that did not change (new ones get "TODO", which fails the test):
//
//	PETITIOND_CORPUS_DIFF=testdata/corpus/DIFFERENCES.tsv go test -run TestCorpusReference ./normalize/mail
const (
	corpusRoot      = "testdata/corpus"
	corpusRefFile   = "testdata/corpus/reference.json"
	corpusDiffFile  = "testdata/corpus/DIFFERENCES.tsv"
	forwardedMarker = "---------- Forwarded message ----------"
)

// refMessage is one entry of reference.json.
type refMessage struct {
	Subject     *string           `json:"subject"`
	FromName    string            `json:"from_name"`
	FromEmail   *string           `json:"from_email"`
	Text        *string           `json:"text"`
	TextHTML    bool              `json:"text_html"`
	PlainParts  []string          `json:"plain_parts"`
	Attachments []string          `json:"attachments"`
	Errors      map[string]string `json:"errors"`
}

// corpusMessages lists the messages of all corpora by the rule of
// reference.py: every file except licences, READMEs, .gitattributes and
// images.
func corpusMessages(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(corpusRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() || filepath.Dir(path) == corpusRoot || name == "LICENSE" || name == "README" ||
			name == ".gitattributes" || strings.HasPrefix(name, "COPYING") || strings.HasSuffix(name, ".png") {
			return nil
		}
		rel, _ := filepath.Rel(corpusRoot, path)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diffKey identifies one difference.
type diffKey struct{ file, field, ours, ref string }

// normText is the comparison form of a text value: NFC, without control
// characters, every run of white space (including no-break space) one
// space, trimmed.
func normText(s string) string {
	s = norm.NFC.String(s)
	s = strings.Map(func(r rune) rune {
		if (unicode.IsControl(r) && !unicode.IsSpace(r)) || r == '\ufeff' || r == '\u200b' {
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// show is how a value is written in DIFFERENCES.tsv: as it is when short,
// else its start and a hash of the whole.
func show(s string) string {
	r := []rune(s)
	if len(r) <= 100 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%s…#%x", string(r[:60]), sum[:6])
}

// lowerDomain lower-cases the domain of an address, as Parse does.
func lowerDomain(e string) string {
	if i := strings.LastIndexByte(e, '@'); i >= 0 {
		return e[:i+1] + strings.ToLower(e[i+1:])
	}
	return e
}

// synthesized reports whether name is one Parse made up for a forwarded
// message that had none ("message.eml" or its subject and ".eml"): the
// reference has no name for those, and they are not compared.
func synthesized(l *Letter, name string) bool {
	if name == "message.eml" {
		return true
	}
	for _, n := range l.Nested {
		if s := sanitizeFilename(n.Subject); s != "" && name == clip(s, 200)+".eml" {
			return true
		}
		if synthesized(n, name) {
			return true
		}
	}
	return false
}

// compareLetter lists the differences between our letter and the
// reference, in the comparison form; hint says how a text difference
// relates to Python's other reading, to help write a reason.
func compareLetter(file string, l *Letter, ref refMessage) (diffs []diffKey, hints map[string]string, equal map[string]bool) {
	hints = map[string]string{}
	equal = map[string]bool{}
	refVal := func(field string, v *string) string {
		if e, ok := ref.Errors[field]; ok {
			return "<python error: " + e + ">"
		}
		if v == nil {
			return ""
		}
		return *v
	}
	add := func(field, ours, theirs string) {
		if ours == theirs {
			equal[field] = true
			return
		}
		diffs = append(diffs, diffKey{file, field, show(ours), show(theirs)})
	}

	add("subject", normText(l.Subject), normText(refVal("subject", ref.Subject)))
	add("from_name", normText(l.From.Name), normText(ref.FromName))
	add("from_email", lowerDomain(normText(l.From.Email)), lowerDomain(normText(refVal("from_email", ref.FromEmail))))

	own := l.Text
	if len(l.Nested) > 0 {
		if i := strings.Index(own, forwardedMarker); i >= 0 {
			own = own[:i] // forwarded messages' text is our addition
		}
	}
	ours, theirs := normText(own), normText(refVal("text", ref.Text))
	add("text", ours, theirs)
	if ours != theirs {
		var h []string
		if ref.Errors["text"] == "" && ours == normText(strings.Join(ref.PlainParts, "\n")) && len(ref.PlainParts) > 1 {
			h = append(h, "ours = all inline plain parts joined")
		}
		if ref.TextHTML {
			h = append(h, "python body is html")
		}
		if l.TextFromHTML {
			h = append(h, "ours from html")
		}
		if strings.Contains(ours, theirs) {
			h = append(h, "ours contains python's")
		} else if strings.Contains(theirs, ours) {
			h = append(h, "python's contains ours")
		}
		h = append(h, firstDiff(ours, theirs))
		hints["text"] = strings.Join(h, "; ")
	}

	var oa, ra []string
	for _, a := range l.Attachments {
		if a.Filename != "" && !(a.ContentType == "message/rfc822" && synthesized(l, a.Filename)) {
			oa = append(oa, normText(a.Filename))
		}
	}
	if e, ok := ref.Errors["attachments"]; ok {
		ra = []string{"<python error: " + e + ">"}
	}
	for _, n := range ref.Attachments {
		if n = sanitizeFilename(n); n != "" {
			ra = append(ra, normText(n))
		}
	}
	slices.Sort(oa)
	slices.Sort(ra)
	add("attachments", strings.Join(oa, " | "), strings.Join(ra, " | "))
	return diffs, hints, equal
}

// firstDiff shows where two values part.
func firstDiff(a, b string) string {
	ra, rb := []rune(a), []rune(b)
	i := 0
	for i < len(ra) && i < len(rb) && ra[i] == rb[i] {
		i++
	}
	from := max(0, i-25)
	return fmt.Sprintf("at %d: ours %q, ref %q", i, string(ra[from:min(len(ra), i+25)]), string(rb[from:min(len(rb), i+25)]))
}

// allowed is one line of DIFFERENCES.tsv.
type allowed struct {
	diffKey
	reason string
}

func readAllowlist(t *testing.T) []allowed {
	t.Helper()
	f, err := os.Open(corpusDiffFile)
	if err != nil {
		t.Fatalf("allowlist: %v", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.Comment = '#'
	r.LazyQuotes = true
	r.FieldsPerRecord = 5
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("allowlist %s: %v", corpusDiffFile, err)
	}
	var out []allowed
	for i, rec := range recs {
		if i == 0 && rec[0] == "file" {
			continue // header line
		}
		out = append(out, allowed{diffKey{rec[0], rec[1], rec[2], rec[3]}, rec[4]})
	}
	return out
}

func writeAllowlist(t *testing.T, path string, entries []allowed) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# Differences between Parse and Python's email package (policy=default) on the\n")
	b.WriteString("# vendored corpora, each with the reason our reading is right. See DIFFERENCES.md\n")
	b.WriteString("# for the categories, and corpus_ref_test.go for how values are compared.\n")
	w := csv.NewWriter(&b)
	w.Comma = '\t'
	w.Write([]string{"file", "field", "ours", "reference", "reason"})
	for _, e := range entries {
		w.Write([]string{e.file, e.field, e.ours, e.ref, e.reason})
	}
	w.Flush()
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCorpusReference(t *testing.T) {
	raw, err := os.ReadFile(corpusRefFile)
	if err != nil {
		t.Fatalf("reference: %v (regenerate with testdata/corpus/reference.py)", err)
	}
	var refs map[string]refMessage
	if err := json.Unmarshal(raw, &refs); err != nil {
		t.Fatalf("reference %s: %v", corpusRefFile, err)
	}
	files := corpusMessages(t)
	if len(files) < 300 {
		t.Fatalf("%d corpus messages, want the vendored corpora (over 300)", len(files))
	}
	for _, f := range files {
		if _, ok := refs[f]; !ok {
			t.Errorf("%s: not in %s: run reference.py again", f, corpusRefFile)
		}
	}
	inCorpus := map[string]bool{}
	for _, f := range files {
		inCorpus[f] = true
	}
	for f := range refs {
		if !inCorpus[f] {
			t.Errorf("%s: in %s but missing from the corpora", f, corpusRefFile)
		}
	}
	if len(refs) != len(files) {
		t.Errorf("%s has %d messages, the corpora %d: run reference.py again", corpusRefFile, len(refs), len(files))
	}

	list := readAllowlist(t)
	reasons := map[diffKey]string{}
	for _, a := range list {
		if _, dup := reasons[a.diffKey]; dup {
			t.Errorf("allowlist: %s %s listed twice", a.file, a.field)
		}
		reasons[a.diffKey] = a.reason
		if strings.TrimSpace(a.reason) == "" || strings.HasPrefix(a.reason, "TODO") {
			t.Errorf("allowlist: %s %s has no reason", a.file, a.field)
		}
	}

	st := newStore(t)
	seen := map[diffKey]bool{}
	var now []allowed
	equalCount := map[string]int{}
	perCorpus := map[string]int{}
	for _, f := range files {
		perCorpus[strings.SplitN(f, "/", 2)[0]]++
		l, err := parseFile(t, st, filepath.Join(corpusRoot, f))
		if err != nil {
			l = &Letter{Subject: "<parse error: " + err.Error() + ">"}
		}
		diffs, hints, equal := compareLetter(f, l, refs[f])
		for k := range equal {
			equalCount[k]++
		}
		for _, d := range diffs {
			seen[d] = true
			reason, ok := reasons[d]
			if !ok {
				t.Errorf("%s: %s differs from the reference and is not in %s:\n ours: %q\n  ref: %q\n hint: %s",
					f, d.field, corpusDiffFile, d.ours, d.ref, hints[d.field])
				reason = "TODO " + hints[d.field]
			}
			now = append(now, allowed{d, reason})
		}
	}
	for _, a := range list {
		if !seen[a.diffKey] {
			t.Errorf("allowlist: stale entry, the difference is gone: %s %s (ours %q, ref %q)", a.file, a.field, a.ours, a.ref)
		}
	}
	t.Logf("%d messages %v; equal per field: %v; listed differences: %d", len(files), perCorpus, equalCount, len(now))
	if out := os.Getenv("PETITIOND_CORPUS_DIFF"); out != "" {
		writeAllowlist(t, out, now)
		t.Logf("wrote %d entries to %s", len(now), out)
	}
}
