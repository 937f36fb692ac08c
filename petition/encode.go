package petition

import (
	"encoding/json"
	"strconv"
	"time"
)

// AppendJSON appends the record's JSON to b: byte for byte what
// encoding/json gives (a test compares every field, filled by
// reflection, so a field added to the record and not here fails it),
// without the reflection and the compaction pass encoding/json makes —
// the encoding was a fifth of the daemon's CPU per record.
func (p *Petition) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"schema":`...)
	b = appendString(b, p.Schema)
	b = append(b, `,"id":`...)
	b = appendString(b, p.ID)
	b = append(b, `,"tracking_no":`...)
	b = appendString(b, p.TrackingNo)
	b = append(b, `,"channel":{"name":`...)
	b = appendString(b, p.Channel.Name)
	b = append(b, `,"type":`...)
	b = appendString(b, p.Channel.Type)
	b = append(b, `},"received_at":`...)
	var err error
	if b, err = appendTime(b, p.ReceivedAt); err != nil {
		return b, err
	}
	b = append(b, `,"ingested_at":`...)
	if b, err = appendTime(b, p.IngestedAt); err != nil {
		return b, err
	}
	b = append(b, `,"petitioner":`...)
	b = p.Petitioner.appendJSON(b)
	b = append(b, `,"subject":`...)
	b = appendString(b, p.Subject)
	b = append(b, `,"content":`...)
	b = appendString(b, p.Content)
	b = append(b, `,"cases":`...)
	if p.Cases == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Cases {
			if i > 0 {
				b = append(b, ',')
			}
			b = p.Cases[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"category":`...)
	b = appendString(b, p.Category)
	b = append(b, `,"labels":`...)
	b = appendStrings(b, p.Labels)
	b = append(b, `,"priority":`...)
	b = appendString(b, p.Priority)
	if p.FollowUpOf != "" {
		b = append(b, `,"follow_up_of":`...)
		b = appendString(b, p.FollowUpOf)
	}
	b = append(b, `,"attachments":`...)
	if p.Attachments == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Attachments {
			if i > 0 {
				b = append(b, ',')
			}
			b = p.Attachments[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"source":{"id":`...)
	b = appendString(b, p.Source.ID)
	b = append(b, `,"ref":`...)
	b = appendString(b, p.Source.Ref)
	b = append(b, `,"original":{"sha256":`...)
	b = appendString(b, p.Source.Original.SHA256)
	b = append(b, `,"uri":`...)
	b = appendString(b, p.Source.Original.URI)
	b = append(b, `}},"meta":`...)
	if p.Meta == nil {
		b = append(b, "null"...)
	} else if b, err = appendMap(b, p.Meta); err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

func (pt *Petitioner) appendJSON(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, pt.Name)
	b = append(b, `,"id_number":`...)
	b = appendString(b, pt.IDNumber)
	b = append(b, `,"id_number_valid":`...)
	b = strconv.AppendBool(b, pt.IDNumberValid)
	b = append(b, `,"phone":`...)
	b = appendString(b, pt.Phone)
	b = append(b, `,"email":`...)
	b = appendString(b, pt.Email)
	b = append(b, `,"address":`...)
	b = appendString(b, pt.Address)
	if pt.PhoneExtension != "" {
		b = append(b, `,"phone_extension":`...)
		b = appendString(b, pt.PhoneExtension)
	}
	if len(pt.OtherPhones) > 0 {
		b = append(b, `,"other_phones":`...)
		b = appendStrings(b, pt.OtherPhones)
	}
	if pt.Key != "" {
		b = append(b, `,"key":`...)
		b = appendString(b, pt.Key)
	}
	return append(b, '}')
}

func (c *Case) appendJSON(b []byte) []byte {
	b = append(b, `{"number":`...)
	b = appendString(b, c.Number)
	b = append(b, `,"year":`...)
	b = strconv.AppendInt(b, int64(c.Year), 10)
	b = append(b, `,"court_code":`...)
	b = appendString(b, c.CourtCode)
	b = append(b, `,"type_code":`...)
	b = appendString(b, c.TypeCode)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, int64(c.Seq), 10)
	for _, f := range [...]struct{ key, v string }{
		{`,"special_code":`, c.SpecialCode}, {`,"court_name":`, c.CourtName}, {`,"kind":`, c.Kind},
	} {
		if f.v != "" {
			b = append(b, f.key...)
			b = appendString(b, f.v)
		}
	}
	if c.OldStyle {
		b = append(b, `,"old_style":true`...)
	}
	if c.Suspicious != "" {
		b = append(b, `,"suspicious":`...)
		b = appendString(b, c.Suspicious)
	}
	if c.Raw != "" {
		b = append(b, `,"raw":`...)
		b = appendString(b, c.Raw)
	}
	return append(b, '}')
}

func (a *Attachment) appendJSON(b []byte) []byte {
	b = append(b, `{"filename":`...)
	b = appendString(b, a.Filename)
	b = append(b, `,"content_type":`...)
	b = appendString(b, a.ContentType)
	if a.SniffedContentType != "" {
		b = append(b, `,"sniffed_content_type":`...)
		b = appendString(b, a.SniffedContentType)
	}
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, a.Size, 10)
	b = append(b, `,"sha256":`...)
	b = appendString(b, a.SHA256)
	b = append(b, `,"uri":`...)
	b = appendString(b, a.URI)
	return append(b, '}')
}

func appendStrings(b []byte, xs []string) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendTime is time.Time's JSON (RFC 3339 with nanoseconds); a year
// outside 0–9999 fails as encoding/json fails.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		_, err := json.Marshal(t)
		return b, err
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}
