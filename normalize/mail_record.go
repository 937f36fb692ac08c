package normalize

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/normalize/mail"
	"github.com/court12368/petitiond/petition"
)

// Item meta keys the imap channel sets and MailRecord reads.
const (
	// MetaMailRefused says why the channel did not store the message (it
	// is larger than max_message_size); the letter is dead-lettered.
	MetaMailRefused = "mail.refused"
	// MetaMailThreadTrackingNo is the tracking number of an earlier letter
	// of the channel that this one replies to (the channel keeps the
	// Message-ID index, since it sees the acknowledgements).
	MetaMailThreadTrackingNo = "mail.thread_tracking_no"
)

// MailTextLimit is the most text, in characters, kept in a letter's
// content (the same bound as a web petition's); the whole text is in the
// original.
var MailTextLimit = fieldLimits["content"]

// MailRecord turns a stored e-mail (an item of kind KindMail) into a
// petition record. It is the Normalizer.Mail hook.
//
//   - Auto-replies, bounces, read receipts, loops and bulk mail yield an
//     error wrapping ErrNotPetition (the channel moves them aside).
//   - A letter with neither text nor attachments, or one the channel could
//     not store, yields an error (the item is dead-lettered).
//   - The petitioner is the Reply-To address when there is one (answers go
//     there), else From; the name falls back to From's display name.
//   - follow_up_of is the tracking number in the subject, else the one the
//     channel found for In-Reply-To/References (MetaMailThreadTrackingNo).
func MailRecord(n *Normalizer, ch petition.ChannelRef, it *channels.Item) (*petition.Petition, error) {
	if it.Original.IsZero() {
		if r, _ := it.Meta[MetaMailRefused].(string); r != "" {
			return nil, fmt.Errorf("letter not taken in: %s", r)
		}
		return nil, errors.New("letter without a stored original")
	}
	if n.Blobs == nil {
		return nil, errors.New("no blob store to read the letter from")
	}
	rc, err := n.Blobs.Open(it.Original.SHA256)
	if err != nil {
		return nil, Transient(fmt.Errorf("opening the stored letter: %w", err))
	}
	defer rc.Close()
	// Enough text for MailTextLimit characters of any script.
	l, err := mail.Parse(rc, n.Blobs, mail.Options{MaxTextSize: int64(4 * MailTextLimit)})
	if err != nil && !errors.Is(err, mail.ErrEmpty) {
		// Reading the original or storing an attachment failed: retry.
		return nil, Transient(fmt.Errorf("parsing the letter: %w", err))
	}
	if err != nil {
		return nil, fmt.Errorf("parsing the letter: %w", err)
	}
	if l.Auto.IsAuto() {
		return nil, fmt.Errorf("%w: %s (%s)", ErrNotPetition, l.Auto, l.AutoReason)
	}

	p := n.NewPetition(ch, it)
	if p.Source.ID == "" {
		p.Source.ID = mail.SourceID(l, it.Original.SHA256)
	}
	who := l.From
	if len(l.ReplyTo) > 0 && l.ReplyTo[0].Email != "" {
		who = l.ReplyTo[0]
		if who.Name == "" {
			who.Name = l.From.Name
		}
		if !strings.EqualFold(who.Email, l.From.Email) && l.From.Email != "" {
			p.Meta["mail.from"] = strings.ToLower(l.From.Email)
		}
	}
	p.Petitioner.Name = CleanLine(who.Name)
	p.Petitioner.Email = strings.ToLower(strings.TrimSpace(who.Email))
	p.Subject = CleanLine(l.Subject)
	p.Content = CleanText(l.Text)
	if utf8.RuneCountInString(p.Content) > MailTextLimit {
		p.Content = truncateRunes(p.Content, MailTextLimit)
		l.TextTruncated = true
	}
	var skipped []map[string]any
	for _, a := range l.Attachments {
		if a.TooLarge || a.SHA256 == "" {
			skipped = append(skipped, map[string]any{"filename": a.Filename, "content_type": a.ContentType, "size": a.Size, "part": a.Part})
			continue
		}
		p.Attachments = append(p.Attachments, petition.Attachment{
			Filename: a.Filename, ContentType: a.ContentType, Size: a.Size, SHA256: a.SHA256, URI: a.URI,
		})
	}
	if p.Content == "" && len(p.Attachments) == 0 {
		return nil, errors.New("the letter has neither text nor attachments")
	}

	if l.MessageID != "" {
		p.Meta["mail.message_id"] = l.MessageID
	}
	if !l.Date.IsZero() {
		p.Meta["mail.date"] = l.Date.Format(time.RFC3339)
	} else if l.DateRaw != "" {
		p.Meta["mail.date_raw"] = l.DateRaw
	}
	if len(l.InReplyTo) > 0 {
		p.Meta["mail.in_reply_to"] = l.InReplyTo
	}
	if len(l.References) > 0 {
		p.Meta["mail.references"] = l.References
	}
	if len(l.Problems) > 0 {
		p.Meta["mail.problems"] = l.Problems
	}
	if len(l.Charsets) > 0 {
		p.Meta["mail.charsets"] = l.Charsets
	}
	if l.TextFromHTML {
		p.Meta["mail.text_from_html"] = true
	}
	if l.TextTruncated {
		p.Meta["mail.text_truncated"] = true
	}
	if len(l.Nested) > 0 {
		p.Meta["mail.forwarded"] = len(l.Nested)
	}
	if len(skipped) > 0 {
		p.Meta["mail.attachments_not_stored"] = skipped
	}
	if len(l.Headers) > 0 {
		p.Meta["mail.headers"] = l.Headers
	}

	if tn := petition.FindTrackingNo(p.Subject); tn != "" {
		p.FollowUpOf = tn
	} else if tn, _ := it.Meta[MetaMailThreadTrackingNo].(string); tn != "" {
		p.FollowUpOf = tn
	}
	return p, nil
}

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return strings.TrimSpace(s[:j])
		}
		i++
	}
	return s
}
