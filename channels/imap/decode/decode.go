// Package decode reads the items of the imap channel (stored e-mails, kind
// imap.KindMail) into petition records. It registers itself with
// normalize.Register; channels/all imports it.
package decode

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/attach"
	"github.com/court12368/petitiond/channels/imap"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/normalize/mail"
	"github.com/court12368/petitiond/petition"
)

// Record meta keys the decoder sets (the channel's own are in package imap).
const (
	MetaFrom                 = "mail.from"
	MetaMessageID            = "mail.message_id"
	MetaDate                 = "mail.date"
	MetaDateRaw              = "mail.date_raw"
	MetaInReplyTo            = "mail.in_reply_to"
	MetaReferences           = "mail.references"
	MetaProblems             = "mail.problems"
	MetaCharsets             = "mail.charsets"
	MetaTextFromHtml         = "mail.text_from_html"
	MetaTextTruncated        = "mail.text_truncated"
	MetaForwarded            = "mail.forwarded"
	MetaAttachmentsNotStored = "mail.attachments_not_stored"
	MetaHeaders              = "mail.headers"
)

func init() { normalize.Register(imap.KindMail, Letter) }

// TextLimit is the most text, in characters, kept in a letter's content
// (the same bound as a web petition's); the whole text is in the original.
var TextLimit = petition.FieldLimit(petition.FieldContent)

// Letter turns a stored e-mail (an item of kind imap.KindMail) into a
// petition record.
//
//   - Auto-replies, bounces, read receipts, loops and bulk mail yield an
//     error wrapping normalize.ErrNotPetition (the channel moves them aside).
//   - A letter with neither text nor attachments, or one the channel could
//     not store, yields an error (the item is dead-lettered).
//   - The petitioner is the Reply-To address when there is one (answers go
//     there), else From; the name falls back to From's display name.
//   - follow_up_of is the tracking number in the subject, else the one the
//     channel found for In-Reply-To/References (imap.MetaThreadTrackingNo).
func Letter(n *normalize.Normalizer, ch petition.ChannelRef, it *channels.Item) (*petition.Petition, error) {
	if r, _ := it.Meta[imap.MetaRefused].(string); r != "" {
		return nil, fmt.Errorf("letter not taken in: %s", r)
	}
	if it.Original.IsZero() {
		return nil, errors.New("letter without a stored original")
	}
	if n.Blobs == nil {
		return nil, errors.New("no blob store to read the letter from")
	}
	rc, err := n.Blobs.Open(it.Original.SHA256)
	if err != nil {
		return nil, normalize.Transient(fmt.Errorf("opening the stored letter: %w", err))
	}
	defer rc.Close()
	// Enough text for TextLimit characters of any script.
	l, err := mail.Parse(rc, n.Blobs, mail.Options{MaxTextSize: int64(4 * TextLimit)})
	if err != nil && !errors.Is(err, mail.ErrEmpty) {
		// Reading the original or storing an attachment failed: retry.
		return nil, normalize.Transient(fmt.Errorf("parsing the letter: %w", err))
	}
	if err != nil {
		return nil, fmt.Errorf("parsing the letter: %w", err)
	}
	if l.Auto.IsAuto() {
		return nil, fmt.Errorf("%w: %s (%s)", normalize.ErrNotPetition, l.Auto, l.AutoReason)
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
			p.Meta[MetaFrom] = strings.ToLower(l.From.Email)
		}
	}
	p.Petitioner.Name = normalize.CleanLine(who.Name)
	p.Petitioner.Email = strings.ToLower(strings.TrimSpace(who.Email))
	p.Subject = normalize.CleanLine(l.Subject)
	p.Content = normalize.CleanText(l.Text)
	if utf8.RuneCountInString(p.Content) > TextLimit {
		p.Content = truncateRunes(p.Content, TextLimit)
		l.TextTruncated = true
	}
	allowed, _ := it.Meta[imap.MetaAllowedTypes].([]string)
	delete(p.Meta, imap.MetaAllowedTypes) // the channel's policy, not the letter's
	var skipped []map[string]any
	for _, a := range l.Attachments {
		if a.TooLarge || a.SHA256 == "" {
			skipped = append(skipped, map[string]any{"filename": a.Filename, "content_type": a.ContentType, "size": a.Size, "part": a.Part})
			continue
		}
		sniffed := sniff(n.Blobs, a.SHA256)
		if !attach.TypeAllowed(allowed, sniffed) {
			// Left out of the record; the letter (the original) keeps it.
			skipped = append(skipped, map[string]any{"filename": a.Filename, "content_type": a.ContentType, "sniffed_content_type": sniffed,
				"size": a.Size, "part": a.Part, "reason": "type not allowed"})
			continue
		}
		p.Attachments = append(p.Attachments, petition.Attachment{
			Filename: a.Filename, ContentType: a.ContentType, SniffedContentType: sniffed,
			Size: a.Size, SHA256: a.SHA256, URI: a.URI,
		})
	}
	if p.Content == "" && len(p.Attachments) == 0 {
		return nil, errors.New("the letter has neither text nor attachments")
	}

	if l.MessageID != "" {
		p.Meta[MetaMessageID] = l.MessageID
	}
	if !l.Date.IsZero() {
		p.Meta[MetaDate] = l.Date.Format(time.RFC3339)
	} else if l.DateRaw != "" {
		p.Meta[MetaDateRaw] = l.DateRaw
	}
	if len(l.InReplyTo) > 0 {
		p.Meta[MetaInReplyTo] = l.InReplyTo
	}
	if len(l.References) > 0 {
		p.Meta[MetaReferences] = l.References
	}
	if len(l.Problems) > 0 {
		p.Meta[MetaProblems] = l.Problems
	}
	if len(l.Charsets) > 0 {
		p.Meta[MetaCharsets] = l.Charsets
	}
	if l.TextFromHTML {
		p.Meta[MetaTextFromHtml] = true
	}
	if l.TextTruncated {
		p.Meta[MetaTextTruncated] = true
	}
	if len(l.Nested) > 0 {
		p.Meta[MetaForwarded] = len(l.Nested)
	}
	if len(skipped) > 0 {
		p.Meta[MetaAttachmentsNotStored] = skipped
	}
	if len(l.Headers) > 0 {
		p.Meta[MetaHeaders] = l.Headers
	}

	if tn := petition.FindTrackingNo(p.Subject); tn != "" {
		p.FollowUpOf = tn
	} else if tn, _ := it.Meta[imap.MetaThreadTrackingNo].(string); tn != "" {
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

// sniff returns the content type sniffed from a stored attachment's first
// bytes, to record beside the type the letter declared.
func sniff(store blob.Store, sum string) string {
	rc, err := store.Open(sum)
	if err != nil {
		return ""
	}
	defer rc.Close()
	b := make([]byte, 512)
	n, _ := io.ReadFull(rc, b)
	return blob.SniffContentType(b[:n])
}
