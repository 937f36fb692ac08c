// Package decode reads the items of the calllog channel (calls, kind
// callitem.Kind) into petition records. It registers itself with
// normalize.Register; channels/all imports it.
package decode

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/calllog/callitem"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/normalize/phone"
	"github.com/court12368/petitiond/normalize/text"
	"github.com/court12368/petitiond/petition"
)

// Subjects of call records.
const (
	CallSubject         = "12368热线来电"
	CallSubjectMissed   = "12368热线来电（未接）"
	CallSubjectLateNote = "12368热线来电（补充记录）"
)

func init() { normalize.Register(callitem.Kind, Call) }

// LabelCallbackNeeded marks a missed or abandoned call: the centre calls
// the petitioner back.
const LabelCallbackNeeded = "callback_needed"

// Call builds the record of a hotline call (callitem.Kind, made by the
// calllog channel from a parsed CDR line and CTI events):
//
//   - Fields: name (caller name), phone (caller number), content (the
//     operator's notes; may be empty, a missed call has none), area_code
//     (for local numbers), follow_up_of; parse_error for a line that could
//     not be parsed: the item is then an error (dead-lettered with its
//     stored line).
//   - Meta (copied into the record): call.duration, call.billsec,
//     call.disposition, call.missed, call.queue, call.agent, … — see the
//     calllog channel's README.
//
// The caller number becomes petitioner.phone in E.164 (+8613912345678,
// +8679186123456), service numbers such as 12368 as dialled; a number the
// numbering plan does not know (an internal extension) is kept as its
// digits. received_at is the call's start (the item's ReceivedAt). Missed
// and abandoned calls get the label callback_needed.
func Call(n *normalize.Normalizer, ch petition.ChannelRef, it *channels.Item) (*petition.Petition, error) {
	f := it.Fields
	if msg, bad := f[callitem.FieldParseError]; bad {
		return nil, fmt.Errorf("unusable call-detail record: %s", msg)
	}
	for k, v := range f {
		if !utf8.ValidString(v) {
			return nil, normalize.Invalid(k, "not valid UTF-8")
		}
	}
	if lim := petition.FieldLimit(petition.FieldContent); utf8.RuneCountInString(f[petition.FieldContent]) > lim {
		return nil, normalize.Invalid(petition.FieldContent, "longer than %d characters", lim)
	}
	p := n.NewPetition(ch, it)
	p.Petitioner.Name = callerName(f[petition.FieldName])
	setCallerPhone(p, f[petition.FieldPhone], f[callitem.FieldAreaCode])
	p.Content = text.Clean(f[petition.FieldContent])
	missed := metaBool(it.Meta, callitem.MetaMissed)
	switch {
	case metaBool(it.Meta, callitem.MetaLateNote):
		p.Subject = CallSubjectLateNote
	case missed:
		p.Subject = CallSubjectMissed
	default:
		p.Subject = CallSubject
	}
	if missed {
		p.Labels = append(p.Labels, LabelCallbackNeeded)
	}
	if fu := strings.TrimSpace(f[callitem.FieldFollowUpOf]); fu != "" {
		p.FollowUpOf = fu
	}
	return p, nil
}

// callerName cleans a caller id name: switches fill it with the number,
// "anonymous" or "unknown" when the network gave none.
func callerName(s string) string {
	s = normalize.CleanLine(s)
	if s == "" || !hasLetter(s) {
		return ""
	}
	switch strings.ToLower(strings.Trim(s, "<>\"' ")) {
	case "anonymous", "unknown", "unavailable", "private", "restricted", "withheld", "no caller id":
		return ""
	}
	if utf8.RuneCountInString(s) > petition.FieldLimit(petition.FieldName) {
		r := []rune(s)
		s = string(r[:petition.FieldLimit(petition.FieldName)])
	}
	return s
}

func hasLetter(s string) bool {
	for _, r := range s {
		if r > 0x7f || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return true
		}
	}
	return false
}

// setCallerPhone puts the caller number in the record: E.164 for mobile
// and fixed lines, service numbers as dialled, anything else (an internal
// extension, a number the plan does not know) as its digits. Withheld
// numbers leave the phone empty. call.caller_kind tells which it was.
func setCallerPhone(p *petition.Petition, raw, area string) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > petition.FieldLimit(petition.FieldPhone) {
		return
	}
	num := phone.ParseIn(raw, area)
	if num.Valid {
		normalize.SetPhone(p, num)
		p.Meta[callitem.MetaCallerKind] = num.Kind
		return
	}
	var b strings.Builder
	for _, r := range raw {
		if r = text.FoldRune(r); (r >= '0' && r <= '9') || (r == '+' && b.Len() == 0) {
			b.WriteRune(r)
		}
	}
	if d := strings.TrimPrefix(b.String(), "+"); d != "" && strings.Trim(d, "0") != "" {
		p.Petitioner.Phone = b.String()
		p.Meta[callitem.MetaCallerKind] = phone.KindUnknown
	}
}

func metaBool(m map[string]any, k string) bool {
	b, _ := m[k].(bool)
	return b
}
