package mail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/court12368/petitiond/blob"
)

const (
	maxDepth    = 12   // multipart and message/rfc822 nesting
	maxParts    = 1000 // parts walked in one message, nested ones included
	maxProblems = 50
	maxIDs      = 100 // message ids kept from References / In-Reply-To
)

// parser holds the state of one Parse call.
type parser struct {
	store blob.Store
	opts  Options

	problems []string
	charsets []string
	parts    int
	held     int64 // bytes of text held in collectors

	// declared: the charsets the current message declares, for raw 8-bit
	// header bytes (its Content-Type charset, then its text's).
	declared []string
	// textCharset: the charset label of the current message's first text
	// part that has one.
	textCharset string

	readErr error // first error reading the input (or a stored message)
	err     error // hard error: stops the walk
}

func (p *parser) notef(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if len(p.problems) >= maxProblems {
		return
	}
	for _, q := range p.problems {
		if q == msg {
			return
		}
	}
	if len(p.problems) == maxProblems-1 {
		msg = "more problems not listed"
	}
	p.problems = append(p.problems, msg)
}

func (p *parser) sawCharset(label string) {
	label = clip(normaliseCharset(label), 40)
	if label == "" {
		return
	}
	for _, c := range p.charsets {
		if c == label {
			return
		}
	}
	if len(p.charsets) < 20 {
		p.charsets = append(p.charsets, label)
	}
}

// collector gathers what the parts of one letter (or of one alternative)
// yield.
type collector struct {
	plain    []string // text/plain bodies, decoded
	html     []string // text/html bodies, rendered as text
	atts     []Attachment
	nested   []*Letter
	forwards []string // rendered forwarded messages
	cut      bool     // some text was cut at the text limit
	skipHTML bool     // an earlier alternative has plain text: HTML is not needed
	// named: text/plain parts with a name= or an inline filename=, stored
	// as attachments; when there is no other plain text, the only one of
	// them is the letter's text (see finish).
	named []namedText
}

// namedText is a text/plain part stored as an attachment because it has a
// name, which may still turn out to be the letter's text.
type namedText struct {
	pi   partInfo
	path string
	sha  string
}

func (c *collector) hasPlain() bool { return nonEmpty(c.plain) }
func (c *collector) hasHTML() bool  { return nonEmpty(c.html) }

// joinPieces joins the text of several body parts with a blank line.
func joinPieces(ss []string) string {
	var keep []string
	for _, s := range ss {
		if s = strings.Trim(s, "\r\n"); strings.TrimSpace(s) != "" {
			keep = append(keep, s)
		}
	}
	return strings.Join(keep, "\n\n")
}

func nonEmpty(ss []string) bool {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return true
		}
	}
	return false
}

// parseMessage reads a header and walks the body. prefix is the part
// number of the enclosing message/rfc822 part ("" at the top). It returns
// the letter and the number of header fields read.
func (p *parser) parseMessage(br *bufio.Reader, prefix string, depth int) (*Letter, int) {
	loc := "header"
	if prefix != "" {
		loc = "part " + prefix + " header"
	}
	h := readHeader(br, nil, true, func(s string) { p.notef("%s: %s", loc, s) })
	l := &Letter{}
	savedDeclared, savedText := p.declared, p.textCharset
	defer func() { p.declared, p.textCharset = savedDeclared, savedText }()
	p.declared, p.textCharset = nil, ""
	if cs := parseParamHeader(h.get("Content-Type"), func(string) {}).params["charset"]; cs != "" {
		p.declared = append(p.declared, cs)
	}
	// The header is decoded after the body is read, so that raw 8-bit
	// header bytes can follow the charset of the text part; its problems
	// and charsets are put back before those of the body.
	nProblems, nCharsets := len(p.problems), len(p.charsets)
	c := &collector{}
	p.walk(&h, br, prefix, true, depth, "text/plain", false, c)
	if p.textCharset != "" {
		p.declared = append(p.declared, p.textCharset)
	}
	bodyProblems := append([]string(nil), p.problems[nProblems:]...)
	bodyCharsets := append([]string(nil), p.charsets[nCharsets:]...)
	p.problems, p.charsets = p.problems[:nProblems], p.charsets[:nCharsets]
	p.fillHeaders(l, &h)
	for _, q := range bodyProblems {
		p.notef("%s", q)
	}
	for _, cs := range bodyCharsets {
		p.sawCharset(cs)
	}
	p.finish(l, c)
	l.Auto, l.AutoReason = detectAuto(&h, l.From, l.Subject)
	return l, len(h.fields)
}

func (p *parser) fillHeaders(l *Letter, h *header) {
	l.MessageID = firstID(h.get("Message-Id"))
	l.InReplyTo = msgIDs(h.get("In-Reply-To"))
	l.References = msgIDs(strings.Join(h.values("References"), " "))
	l.Subject = clip(cleanLine(p.decodeHeader("header Subject", h.get("Subject"))), 2000)
	if from := p.parseAddresses("From", h.get("From")); len(from) > 0 {
		l.From = from[0]
		if len(from) > 1 {
			p.notef("header From: %d addresses, the first is used", len(from))
		}
	} else if sender := p.parseAddresses("Sender", h.get("Sender")); len(sender) > 0 {
		l.From = sender[0]
	}
	l.ReplyTo = p.parseAddresses("Reply-To", h.get("Reply-To"))
	l.To = p.parseAddresses("To", strings.Join(h.values("To"), ", "))
	l.Cc = p.parseAddresses("Cc", strings.Join(h.values("Cc"), ", "))
	l.DateRaw = clip(cleanLine(h.get("Date")), 200)
	if l.DateRaw != "" {
		t, note := parseDate(l.DateRaw)
		if note != "" {
			p.notef("header Date: %s", note)
		}
		l.Date = t
	}
	for _, k := range metaHeaders {
		if !h.has(k) {
			continue
		}
		if l.Headers == nil {
			l.Headers = map[string]string{}
		}
		l.Headers[k] = clip(cleanLine(p.decodeHeader("header "+k, h.get(k))), 256)
	}
}

// finish assembles the letter's text and attachments from c.
func (p *parser) finish(l *Letter, c *collector) {
	if !c.hasPlain() && len(c.named) == 1 {
		p.namedAsText(c)
	}
	var own string
	switch {
	case c.hasPlain():
		own = joinPieces(c.plain)
	case c.hasHTML():
		own = joinPieces(c.html)
		l.TextFromHTML = true
	}
	blocks := []string{cleanText(own)}
	blocks = append(blocks, c.forwards...)
	var keep []string
	for _, b := range blocks {
		if b != "" {
			keep = append(keep, b)
		}
	}
	text := strings.Join(keep, "\n\n")
	l.TextTruncated = c.cut
	if int64(len(text)) > p.opts.MaxTextSize {
		text = strings.TrimSpace(clip(text, int(p.opts.MaxTextSize)))
		l.TextTruncated = true
		p.notef("text longer than %d bytes was cut", p.opts.MaxTextSize)
	}
	l.Text = text
	l.Attachments = c.atts
	l.Nested = c.nested
}

// partInfo is what walk works out about a part from its header.
type partInfo struct {
	mediaType string
	ct, disp  paramHeader
	filename  string
	contentID string
	cte       string
}

// walk handles one entity: h is its header, body its raw body. path is its
// part number, or for a root entity (the body of a message) the prefix of
// its parts. defType is the default media type; inRelated marks parts of
// a multipart/related other than text and multipart ones.
func (p *parser) walk(h *header, body io.Reader, path string, root bool, depth int, defType string, inRelated bool, c *collector) {
	if p.err != nil {
		return
	}
	p.parts++
	if p.parts > maxParts {
		if p.parts == maxParts+1 {
			p.notef("more than %d parts: the rest was skipped", maxParts)
		}
		return
	}
	pi := p.partInfo(h, defType, path)
	own := path
	if root && !strings.HasPrefix(pi.mediaType, "multipart/") {
		own = child(path, 1)
	}
	mt := pi.mediaType

	if strings.HasPrefix(mt, "multipart/") {
		boundary := pi.ct.params["boundary"]
		switch {
		case boundary == "" || len(boundary) > maxBoundary:
			p.notef("%s: %s without a usable boundary, read as text/plain", where(own), mt)
			mt = "text/plain"
			if root {
				own = child(path, 1)
			}
		case depth >= maxDepth:
			p.notef("%s: nested too deeply, stored as a whole", where(own))
			p.attach(body, pi, own, inRelated, c)
			return
		default:
			p.walkMultipart(body, pi, path, depth, c)
			return
		}
	}

	switch {
	case mt == "message/rfc822" || mt == "message/global" || mt == "message/rfc2822":
		p.nested(body, pi, own, depth, c)
	case (mt == "text/plain" || mt == "text/html") && pi.disp.value != "attachment" && pi.filename == "":
		p.text(body, pi, own, mt == "text/html", c)
	case mt == "text/plain" && pi.disp.value != "attachment" && !inRelated:
		// A name= or inline filename= alone does not make the text an
		// attachment: mailers (and webmail "save as") name the letter's
		// only text part. It is stored, and finish reads it back as the
		// text when there is no other plain text.
		p.attach(body, pi, own, inRelated, c)
		if n := len(c.atts); n > 0 && p.err == nil && !c.atts[n-1].TooLarge {
			c.named = append(c.named, namedText{pi: pi, path: own, sha: c.atts[n-1].SHA256})
		}
	default:
		p.attach(body, pi, own, inRelated, c)
	}
}

// where names a part in problems; the root multipart has no number.
func where(path string) string {
	if path == "" {
		return "body"
	}
	return "part " + path
}

func child(path string, i int) string {
	if path == "" {
		return strconv.Itoa(i)
	}
	return path + "." + strconv.Itoa(i)
}

func (p *parser) partInfo(h *header, defType, path string) partInfo {
	note := func(s string) { p.notef("%s: %s", where(path), s) }
	var pi partInfo
	rawCT := h.get("Content-Type")
	pi.ct = parseParamHeader(rawCT, note)
	pi.mediaType = mediaType(pi.ct.value)
	if pi.mediaType == "" {
		if strings.Trim(rawCT, " \t;") != "" {
			note(fmt.Sprintf("invalid Content-Type %q, taken as %s", clip(cleanLine(rawCT), 60), defType))
		}
		pi.mediaType = defType
	}
	pi.disp = parseParamHeader(h.get("Content-Disposition"), note)
	pi.cte = h.get("Content-Transfer-Encoding")
	pi.contentID = strings.Trim(cleanLine(h.get("Content-Id")), "<> ")
	pi.filename = p.filename(pi, path)
	return pi
}

// filename picks the attachment's name: Content-Disposition filename
// (RFC 2231 form first), then Content-Type name; decodes encoded words and
// raw 8-bit bytes; and keeps only a clean base name.
func (p *parser) filename(pi partInfo, partPath string) string {
	var raw string
	var isUTF8, found bool
	for _, src := range []struct {
		ph  paramHeader
		key string
	}{{pi.disp, "filename"}, {pi.ct, "name"}, {pi.disp, "name"}, {pi.ct, "filename"}} {
		if v, ok := src.ph.params[src.key]; ok && strings.TrimSpace(v) != "" {
			raw, isUTF8, found = v, src.ph.utf8[src.key], true
			break
		}
	}
	if !found {
		return ""
	}
	name := raw
	if !isUTF8 {
		name = p.decodeHeader(where(partPath)+" filename", raw)
	}
	return sanitizeFilename(name)
}

// sanitizeFilename keeps the base name (no directories, Windows or Unix),
// without control characters, NFC, at most 255 bytes.
func sanitizeFilename(name string) string {
	name = cleanLine(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Trim(name, " .")
	if name == "" {
		return ""
	}
	if len(name) > 255 {
		ext := path.Ext(name)
		if len(ext) > 20 {
			ext = ""
		}
		name = clip(name, 255-len(ext)) + ext
	}
	return name
}

func (p *parser) walkMultipart(body io.Reader, pi partInfo, path string, depth int, c *collector) {
	decoded := p.transferDecoder(pi.cte, body, path)
	mr := newMultipartReader(decoded, pi.ct.params["boundary"], int(p.opts.MaxTextSize))
	defer mr.release()
	sub := strings.TrimPrefix(pi.mediaType, "multipart/")
	defType := "text/plain"
	if sub == "digest" {
		defType = "message/rfc822"
	}
	var alts []*collector
	n := 0
	for mr.next() {
		n++
		cp := child(path, n)
		ph := readHeader(mr.br, mr.dash, false, func(s string) { p.notef("part %s: %s", cp, s) })
		switch sub {
		case "alternative":
			ac := &collector{skipHTML: c.skipHTML}
			for _, a := range alts {
				ac.skipHTML = ac.skipHTML || a.hasPlain()
			}
			p.walk(&ph, mr.cur, cp, false, depth+1, defType, false, ac)
			alts = append(alts, ac)
		case "related":
			t := mediaType(parseParamHeader(ph.get("Content-Type"), func(string) {}).value)
			resource := !(t == "" || t == "text/plain" || t == "text/html" || strings.HasPrefix(t, "multipart/"))
			p.walk(&ph, mr.cur, cp, false, depth+1, defType, resource, c)
		default:
			p.walk(&ph, mr.cur, cp, false, depth+1, defType, false, c)
		}
		if p.err != nil || p.parts > maxParts {
			return
		}
	}
	if n == 0 {
		p.notef("%s: %s without any part, its body read as text", where(path), pi.mediaType)
		if text, _ := decodeCharset(pi.ct.params["charset"], mr.preamble); strings.TrimSpace(text) != "" {
			c.plain = append(c.plain, text)
		}
	} else if !mr.closed {
		p.notef("%s: %s not closed by its final boundary", where(path), pi.mediaType)
	}
	if len(alts) > 0 {
		p.chooseAlternative(alts, c)
	}
}

// chooseAlternative keeps the text of the first alternative with plain
// text, else of the first with HTML; attachments and forwarded messages of
// every alternative are kept (they are stored already).
func (p *parser) chooseAlternative(alts []*collector, c *collector) {
	var best *collector
	for _, a := range alts {
		if a.hasPlain() {
			best = a
			break
		}
	}
	if best == nil {
		for _, a := range alts {
			if a.hasHTML() {
				best = a
				break
			}
		}
	}
	if best != nil {
		c.cut = c.cut || best.cut
		if best.hasPlain() {
			c.plain = append(c.plain, best.plain...)
		} else {
			c.html = append(c.html, best.html...)
		}
	}
	for _, a := range alts {
		if a != best {
			for _, s := range a.plain {
				p.held -= int64(len(s))
			}
			for _, s := range a.html {
				p.held -= int64(len(s))
			}
		}
		c.atts = append(c.atts, a.atts...)
		c.named = append(c.named, a.named...)
		c.nested = append(c.nested, a.nested...)
		c.forwards = append(c.forwards, a.forwards...)
	}
}

// text reads a text/plain or text/html body part, bounded.
func (p *parser) text(body io.Reader, pi partInfo, path string, isHTML bool, c *collector) {
	r := p.transferDecoder(pi.cte, body, path)
	if isHTML && c.skipHTML {
		io.Copy(io.Discard, r) // the plain alternative wins anyway
		return
	}
	budget := 3*p.opts.MaxTextSize - p.held // text held at once, all parts together
	limit := p.opts.MaxTextSize
	if isHTML {
		limit *= 4 // markup is dropped after reading
	}
	if budget <= 0 {
		p.notef("part %s: text beyond the text limit was skipped", path)
		io.Copy(io.Discard, r)
		c.cut = true
		return
	}
	limit = min(limit, budget)
	raw, _ := io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(raw)) > limit {
		raw = trimPartialUTF8(raw[:limit])
		p.notef("part %s: text longer than %d bytes was cut", path, limit)
		io.Copy(io.Discard, r)
		c.cut = true
	}
	label, declared := pi.ct.params["charset"]
	if !declared && isHTML {
		label = htmlCharset(raw)
	}
	if label != "" {
		p.sawCharset(label)
		if declared && p.textCharset == "" {
			p.textCharset = label
		}
	}
	text, note := decodeCharset(label, raw)
	if note != "" {
		p.notef("part %s: %s", path, note)
	}
	if isHTML {
		text = htmlToText(text)
	} else if strings.EqualFold(pi.ct.params["format"], "flowed") {
		text = unflow(text, strings.EqualFold(pi.ct.params["delsp"], "yes"))
	}
	if int64(len(text)) > p.opts.MaxTextSize {
		text = clip(text, int(p.opts.MaxTextSize))
		c.cut = true
	}
	p.held += int64(len(text))
	if isHTML {
		c.html = append(c.html, text)
	} else {
		c.plain = append(c.plain, text)
	}
}

// namedAsText makes the only named text/plain part of c the letter's text:
// it is read back from the store and taken out of the attachments.
func (p *parser) namedAsText(c *collector) {
	nt := c.named[0]
	c.named = nil
	rc, err := p.store.Open(nt.sha)
	if err != nil {
		p.err = fmt.Errorf("mail: reopening stored part %s: %w", nt.path, err)
		return
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	if head, _ := br.Peek(4096); bytes.IndexByte(head, 0) >= 0 {
		// NUL bytes: not text whatever its label says (an image or a
		// document sent as "text/plain; name=x.txt"): it stays an
		// attachment rather than becoming a page of mojibake.
		p.notef("%s: text/plain part named %q holds binary data, kept as an attachment", where(nt.path), nt.pi.filename)
		return
	}
	pi := nt.pi
	pi.cte = "" // stored decoded
	p.text(br, pi, nt.path, false, c)
	if !c.hasPlain() {
		return // empty: it stays an attachment
	}
	for i, a := range c.atts {
		if a.Part == nt.path && a.SHA256 == nt.sha {
			c.atts = append(c.atts[:i:i], c.atts[i+1:]...)
			break
		}
	}
	p.notef("%s: text/plain part named %q read as the letter's text", where(nt.path), nt.pi.filename)
}

// trimPartialUTF8 drops a UTF-8 sequence cut short at the end of b, left
// by a cut at a byte limit.
func trimPartialUTF8(b []byte) []byte {
	for k := 1; k <= 3 && k < len(b); k++ {
		if utf8.RuneStart(b[len(b)-k]) {
			if !utf8.FullRune(b[len(b)-k:]) {
				return b[:len(b)-k]
			}
			break
		}
	}
	return b
}

// attach stores a part in the blob store, streaming.
func (p *parser) attach(body io.Reader, pi partInfo, path string, inRelated bool, c *collector) {
	a := p.newAttachment(pi, path, inRelated)
	a = p.put(p.transferDecoder(pi.cte, body, path), a)
	c.atts = append(c.atts, a)
}

func (p *parser) newAttachment(pi partInfo, path string, inRelated bool) Attachment {
	inline := pi.disp.value == "inline" ||
		(pi.disp.value == "" && (inRelated || (pi.contentID != "" && strings.HasPrefix(pi.mediaType, "image/"))))
	return Attachment{
		Filename:    pi.filename,
		ContentType: pi.mediaType,
		Inline:      inline,
		ContentID:   clip(pi.contentID, 256),
		Part:        path,
	}
}

// put streams r into the store. Over MaxAttachmentSize, the rest is read
// and counted, and the attachment marked TooLarge.
func (p *parser) put(r io.Reader, a Attachment) Attachment {
	cr := &countReader{r: r}
	ref, err := p.store.Put(cr, p.opts.MaxAttachmentSize)
	switch {
	case err == nil:
		a.SHA256, a.Size, a.URI = ref.SHA256, ref.Size, ref.URI
	case errors.Is(err, blob.ErrTooLarge):
		io.Copy(io.Discard, cr)
		a.Size, a.TooLarge = cr.n, true
		p.notef("part %s: attachment of %d bytes over the %d-byte limit was not stored", a.Part, cr.n, p.opts.MaxAttachmentSize)
	case p.readErr != nil:
		// reported by Parse as a read error
		p.err = p.readErr
	default:
		p.err = fmt.Errorf("mail: storing part %s: %w", a.Part, err)
	}
	return a
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// nested stores a message/rfc822 part as a whole (.eml), then reads it back
// from the store and parses it: its text is appended to the letter's under
// a forwarded-message block, its parts become attachments too.
func (p *parser) nested(body io.Reader, pi partInfo, path string, depth int, c *collector) {
	a := p.newAttachment(pi, path, false)
	a.ContentType = "message/rfc822"
	a = p.put(p.transferDecoder(pi.cte, body, path), a)
	if p.err != nil {
		return
	}
	if a.TooLarge || a.Size == 0 || depth >= maxDepth {
		if depth >= maxDepth {
			p.notef("part %s: nested too deeply, stored but not parsed", path)
		}
		if a.Filename == "" {
			a.Filename = "message.eml"
		}
		c.atts = append(c.atts, a)
		return
	}
	rc, err := p.store.Open(a.SHA256)
	if err != nil {
		p.err = fmt.Errorf("mail: reopening stored part %s: %w", path, err)
		return
	}
	defer rc.Close()
	br := getReader(&srcReader{r: rc, p: p})
	nl, _ := p.parseMessage(br, path, depth+1)
	putReader(br)
	if a.Filename == "" {
		a.Filename = "message.eml"
		if s := sanitizeFilename(nl.Subject); s != "" {
			a.Filename = clip(s, 200) + ".eml"
		}
	}
	c.atts = append(c.atts, a)
	c.atts = append(c.atts, nl.Attachments...)
	c.nested = append(c.nested, nl)
	c.cut = c.cut || nl.TextTruncated
	if block := forwardBlock(nl); block != "" {
		c.forwards = append(c.forwards, block)
	}
}

// forwardBlock renders a forwarded message for the outer letter's text.
func forwardBlock(l *Letter) string {
	var b strings.Builder
	b.WriteString("---------- Forwarded message ----------\n")
	if l.From.Email != "" || l.From.Name != "" {
		b.WriteString("From: " + formatAddress(l.From) + "\n")
	}
	if l.DateRaw != "" {
		b.WriteString("Date: " + l.DateRaw + "\n")
	}
	if l.Subject != "" {
		b.WriteString("Subject: " + l.Subject + "\n")
	}
	if len(l.To) > 0 {
		var to []string
		for _, a := range l.To {
			to = append(to, formatAddress(a))
		}
		b.WriteString("To: " + strings.Join(to, ", ") + "\n")
	}
	if l.Text != "" {
		b.WriteString("\n" + l.Text)
	}
	return strings.TrimSpace(b.String())
}

func formatAddress(a Address) string {
	switch {
	case a.Name == "":
		return a.Email
	case a.Email == "":
		return a.Name
	}
	return a.Name + " <" + a.Email + ">"
}

var angleID = regexp.MustCompile(`<([^<>\s]+)>`)

// msgIDs extracts message ids ("<...>" tokens, or bare words when there
// are no brackets), without brackets.
func msgIDs(v string) []string {
	v = cleanLine(v)
	var ids []string
	if m := angleID.FindAllStringSubmatch(v, maxIDs); m != nil {
		for _, x := range m {
			ids = append(ids, clip(x[1], 998))
		}
		return ids
	}
	for _, f := range strings.Fields(v) {
		if strings.Contains(f, "@") && len(ids) < maxIDs {
			ids = append(ids, clip(strings.Trim(f, "<>,;"), 998))
		}
	}
	return ids
}

func firstID(v string) string {
	if ids := msgIDs(v); len(ids) > 0 {
		return ids[0]
	}
	return clip(strings.Trim(cleanLine(v), "<> "), 998)
}

// chinaTime is the zone assumed for dates written without one.
var chinaTime = time.FixedZone("CST", 8*3600)

var (
	dateComment = regexp.MustCompile(`\s*\([^()]*\)\s*$`)
	gmtOffset   = regexp.MustCompile(`(?i)\b(?:GMT|UTC)\s*([+-]\d{1,2}):?(\d{2})?\b`)
)

var zonedLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700", "Mon, 2 Jan 2006 15:04 -0700", "2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700", "Mon, 2 January 2006 15:04:05 -0700", "Monday, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 -07:00", "Mon Jan 2 15:04:05 -0700 2006", "Mon Jan 2 15:04:05 MST 2006",
	"Mon, 2 Jan 2006 15:04:05 MST", "2 Jan 2006 15:04:05 MST", time.RFC3339,
	"2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05 -07:00", "2006-01-02 15:04:05 MST",
	"2006/01/02 15:04:05 -0700",
}

var zonelessLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05", "2 Jan 2006 15:04:05", "Mon Jan 2 15:04:05 2006", "2006-01-02T15:04:05",
	"2006-01-02 15:04:05", "2006-1-2 15:04:05", "2006/01/02 15:04:05", "2006/1/2 15:04:05",
	"2006-01-02 15:04", "2006年1月2日 15:04:05", "2006年1月2日 15:04", "2006年01月02日 15:04:05",
}

// parseDate reads a Date header leniently. A date without a zone is taken
// as China time; "CST" (which Go reads as UTC) is read as China Standard
// Time, +08:00, as Chinese servers mean it.
func parseDate(v string) (time.Time, string) {
	s := strings.TrimSpace(v)
	// "GMT+8": Go would read the zone name and get the offset wrong
	s = gmtOffset.ReplaceAllStringFunc(s, func(m string) string {
		g := gmtOffset.FindStringSubmatch(m)
		h, _ := strconv.Atoi(g[1])
		mm := "00"
		if g[2] != "" {
			mm = g[2]
		}
		sign := "+"
		if h < 0 || strings.HasPrefix(g[1], "-") {
			sign, h = "-", -h
		}
		return fmt.Sprintf("%s%02d%s", sign, h, mm)
	})
	if t, err := netmail.ParseDate(s); err == nil {
		return fixCST(t), ""
	}
	s = strings.TrimSpace(dateComment.ReplaceAllString(s, ""))
	s = strings.Join(strings.Fields(s), " ")
	if t, err := netmail.ParseDate(s); err == nil {
		return fixCST(t), ""
	}
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return fixCST(t), ""
		}
	}
	for _, l := range zonelessLayouts {
		if t, err := time.ParseInLocation(l, s, chinaTime); err == nil {
			return t, "date without a time zone, +08:00 assumed"
		}
	}
	return time.Time{}, fmt.Sprintf("unreadable date %q", clip(s, 60))
}

func fixCST(t time.Time) time.Time {
	if name, off := t.Zone(); off == 0 && (name == "CST" || name == "BJT") {
		y, mo, d := t.Date()
		return time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), chinaTime)
	}
	return t
}
