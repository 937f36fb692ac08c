package calllog

import (
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/normalize/cdr"
)

// Item fields and meta keys (normalize.fromCall reads them).
const (
	fieldName       = "name"
	fieldPhone      = "phone"
	fieldContent    = "content"
	fieldAreaCode   = "area_code"
	fieldFollowUpOf = "follow_up_of"
	fieldParseError = "parse_error"

	metaMissed      = "call.missed"
	metaNotesSource = "call.notes_source"
	metaCTIEvents   = "call.cti_events"
	metaAgent       = "call.agent"
	metaQueue       = "call.queue"
	metaCDRMissing  = "call.cdr_missing"
	metaLateNote    = "call.late_note"
	metaNoteFor     = "call.note_for"
	metaUniqueID    = "call.unique_id"
)

// callEntry builds the entry of a parsed CDR line (SourceRef and Original
// are set by the caller). Only transport facts go into the item: the
// record's phone form, subject and labels are decided by normalize.
func callEntry(cfg *Config, c cdr.Call, line []byte) *entry {
	id := c.SourceID()
	if id == "" {
		id = "line:" + cdr.LineHash(line)
	}
	f := make(map[string]string, 4)
	f[fieldName], f[fieldPhone], f[fieldContent] = c.CallerName, c.CallerNumber, c.Notes
	if cfg.AreaCode != "" {
		f[fieldAreaCode] = cfg.AreaCode
	}
	m := make(map[string]any, 20)
	m["call.format"] = cfg.Format
	m["call.caller_number"] = c.CallerNumber
	m["call.destination"] = c.Destination
	m["call.duration"] = c.Duration
	m["call.billsec"] = c.Billsec
	m["call.disposition"] = c.Disposition
	m[metaMissed] = c.Missed
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put(metaUniqueID, c.UniqueID)
	put("call.linked_id", c.LinkedID)
	put("call.sequence", c.Sequence)
	put(metaQueue, c.Queue)
	put(metaAgent, c.Agent)
	put("call.recording", c.Recording)
	put("call.context", c.Context)
	put("call.account_code", c.AccountCode)
	put("call.hangup_cause", c.HangupCause)
	if c.Notes != "" {
		m[metaNotesSource] = "cdr"
	}
	if !c.Answer.IsZero() {
		m["call.answer_at"] = c.Answer.UTC().Format(time.RFC3339)
	}
	if !c.End.IsZero() {
		m["call.end_at"] = c.End.UTC().Format(time.RFC3339)
	}
	if len(c.Extra) > 0 {
		x := make(map[string]any, len(c.Extra))
		for k, v := range c.Extra {
			x[k] = v
		}
		m["call.extra"] = x
	}
	e := &entry{
		it: &channels.Item{
			Kind:       "cdr",
			SourceID:   id,
			ReceivedAt: c.Start,
			Fields:     f,
			Meta:       m,
		},
		missed:   c.Missed,
		hasNotes: c.Notes != "",
	}
	if c.UniqueID != "" {
		e.keys = append(e.keys, c.UniqueID)
	}
	if c.LinkedID != "" && c.LinkedID != c.UniqueID {
		e.keys = append(e.keys, c.LinkedID)
	}
	return e
}
