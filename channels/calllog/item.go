package calllog

import (
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/calllog/callitem"
	"github.com/court12368/petitiond/channels/calllog/cdr"
	"github.com/court12368/petitiond/petition"
)

// callEntry builds the entry of a parsed CDR line (SourceRef and Original
// are set by the caller). Only transport facts go into the item: the
// record's phone form, subject and labels are decided by normalize.
func callEntry(cfg *Config, c cdr.Call, line []byte) *entry {
	id := c.SourceID()
	if id == "" {
		id = "line:" + cdr.LineHash(line)
	}
	f := make(map[petition.Field]string, 4)
	f[petition.FieldName], f[petition.FieldPhone], f[petition.FieldContent] = c.CallerName, c.CallerNumber, c.Notes
	if cfg.AreaCode != "" {
		f[callitem.FieldAreaCode] = cfg.AreaCode
	}
	m := make(map[string]any, 20)
	m[callitem.MetaFormat] = cfg.Format
	m["call.caller_number"] = c.CallerNumber
	m["call.destination"] = c.Destination
	m["call.duration"] = c.Duration
	m["call.billsec"] = c.Billsec
	m["call.disposition"] = c.Disposition
	m[callitem.MetaMissed] = c.Missed
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put(callitem.MetaUniqueID, c.UniqueID)
	put("call.linked_id", c.LinkedID)
	put("call.sequence", c.Sequence)
	put(callitem.MetaQueue, c.Queue)
	put(callitem.MetaAgent, c.Agent)
	put("call.recording", c.Recording)
	put("call.context", c.Context)
	put("call.account_code", c.AccountCode)
	put("call.hangup_cause", c.HangupCause)
	if c.Notes != "" {
		m[callitem.MetaNotesSource] = "cdr"
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
			Kind:       callitem.Kind,
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
