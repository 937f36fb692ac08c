package strbuf

import "testing"

func TestDoneReturnsInputWhenEqual(t *testing.T) {
	in := "咨询案件进度"
	b := Get()
	b.WriteString("咨询")
	b.WriteRune('案')
	b.WriteString("件进度")
	if got := b.Done(in); got != in {
		t.Fatalf("Done = %q", got)
	}
	if n := testing.AllocsPerRun(100, func() {
		b := Get()
		b.WriteString(in)
		b.Done(in)
	}); n != 0 {
		t.Errorf("%v allocations for an unchanged string, want 0", n)
	}
}

func TestDoneReturnsWhatWasWritten(t *testing.T) {
	b := Get()
	b.WriteString("a")
	b.WriteByte('-')
	b.WriteRune('乙')
	if !b.HasSuffix("-乙") || b.HasSuffix("x-乙") || b.Len() != 5 {
		t.Errorf("HasSuffix/Len wrong on %q", b.b)
	}
	if got := b.Done("a乙"); got != "a-乙" {
		t.Errorf("Done = %q, want a-乙", got)
	}
	// A recycled buffer starts empty.
	b = Get()
	if got := b.Done("x"); got != "" {
		t.Errorf("a new buffer held %q", got)
	}
}
