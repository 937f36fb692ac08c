package mail

import (
	"strings"
)

// maxAddresses bounds the addresses kept from one header.
const maxAddresses = 200

// parseAddresses parses an address list leniently. It never fails:
// a missing comma between two "Name <addr>" entries, unquoted specials,
// group syntax, comments as names ("a@b (Name)"), a bare address with a
// name but no angle brackets, raw 8-bit names and encoded words inside
// quotes are all accepted. Entries with neither a name nor an address are
// dropped.
func (p *parser) parseAddresses(name, raw string) []Address {
	s, table := decodeRaw8bit(raw, p.declared)
	if table != "" {
		p.notef("header %s: raw 8-bit bytes decoded as %s", name, table)
	}
	name = "header " + name
	var (
		out     []Address
		phrase  strings.Builder // display name, raw (encoded words kept)
		comment strings.Builder
		angle   string
		hasAng  bool
	)
	finish := func() {
		if strings.TrimSpace(phrase.String()) == "" && !hasAng {
			phrase.Reset() // nothing, or only a comment: not an address
			comment.Reset()
			return
		}
		a := p.makeAddress(name, phrase.String(), comment.String(), angle, hasAng)
		if (a.Name != "" || a.Email != "") && len(out) < maxAddresses {
			out = append(out, a)
		}
		phrase.Reset()
		comment.Reset()
		angle, hasAng = "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			j := i + 1
			var q strings.Builder
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				q.WriteByte(s[j])
				j++
			}
			if phrase.Len() > 0 {
				phrase.WriteByte(' ')
			}
			phrase.WriteString(q.String())
			i = j
		case '(':
			depth := 1
			j := i + 1
			var cm strings.Builder
			for j < len(s) && depth > 0 {
				switch s[j] {
				case '\\':
					if j+1 < len(s) {
						j++
					}
				case '(':
					depth++
				case ')':
					depth--
				}
				if depth > 0 {
					cm.WriteByte(s[j])
				}
				j++
			}
			if comment.Len() > 0 {
				comment.WriteByte(' ')
			}
			comment.WriteString(cm.String())
			i = j - 1
		case '<':
			j := strings.IndexByte(s[i+1:], '>')
			if j < 0 {
				angle, hasAng = s[i+1:], true
				i = len(s)
			} else {
				angle, hasAng = s[i+1:i+1+j], true
				i += 1 + j
			}
			finish() // "A <a@x> B <b@y>": a closed angle ends the entry
		case ',', ';':
			finish()
		case ':':
			// group syntax "name: a, b;" — unless it is inside an address
			if !hasAng && !strings.Contains(phrase.String(), "@") {
				phrase.Reset()
				comment.Reset()
			} else {
				phrase.WriteByte(c)
			}
		default:
			phrase.WriteByte(c)
		}
	}
	finish()
	return out
}

func (p *parser) makeAddress(header, phrase, comment, angle string, hasAngle bool) Address {
	phrase = strings.TrimSpace(phrase)
	var a Address
	if hasAngle {
		a.Email = cleanEmail(angle)
	} else {
		// bare address, possibly with a name but no brackets
		fields := strings.Fields(phrase)
		for k := len(fields) - 1; k >= 0; k-- {
			if strings.Contains(fields[k], "@") {
				a.Email = cleanEmail(fields[k])
				phrase = strings.Join(append(fields[:k:k], fields[k+1:]...), " ")
				break
			}
		}
	}
	n := phrase
	if strings.TrimSpace(n) == "" {
		n = comment
	}
	if strings.Contains(n, "=?") {
		n = p.decodeWords(header, n)
	}
	a.Name = cleanLine(strings.Trim(cleanLine(n), `"'`))
	if strings.EqualFold(a.Name, a.Email) {
		a.Name = ""
	}
	return a
}

// cleanEmail trims an address, drops comments ("pete(his account)@x"),
// a source route ("@a,@b:x@y") and a "mailto:" prefix, and lower-cases
// the domain.
func cleanEmail(s string) string {
	s = cleanLine(dropComments(s))
	s = strings.Trim(s, `"'<> `)
	if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.HasPrefix(s, "@") {
		s = s[i+1:]
	}
	if len(s) > 7 && strings.EqualFold(s[:7], "mailto:") {
		s = s[7:]
	}
	s = strings.ReplaceAll(s, " ", "")
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		s = s[:at+1] + strings.ToLower(s[at+1:])
	}
	return clip(s, 320)
}

// dropComments removes RFC 5322 comments, nested and with quoted-pairs,
// from an addr-spec, leaving quoted strings alone. An unclosed comment runs
// to the end.
func dropComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (quoted || depth > 0) && i+1 < len(s):
			if depth == 0 {
				b.WriteString(s[i : i+2])
			}
			i++
		case depth == 0 && c == '"':
			quoted = !quoted
			b.WriteByte(c)
		case !quoted && c == '(':
			depth++
		case depth > 0 && c == ')':
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}
