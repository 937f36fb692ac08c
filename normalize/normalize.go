package normalize

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/normalize/classify"
	"github.com/court12368/petitiond/normalize/text"
	"github.com/court12368/petitiond/petition"
)

// ErrNotPetition is returned for items that are valid input but no petition
// (an auto-reply, a bounce). The channel releases them without a record.
var ErrNotPetition = errors.New("not a petition")

// ErrTransient marks a normalization failure that is not the input's fault
// (the blob store could not be read or written): the item is not
// dead-lettered but left with its source for a retry.
var ErrTransient = errors.New("transient failure")

// Transient wraps err as ErrTransient.
func Transient(err error) error { return fmt.Errorf("%w: %w", ErrTransient, err) }

// Normalizer builds petition records from channel items.
type Normalizer struct {
	Blobs blob.Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Classifier sets category, labels and priority; nil leaves "other".
	Classifier *classify.Classifier
	// Repeats links petitions of one petitioner about one case; nil: off.
	Repeats *Repeats
	// KeySecret keys the petitioner pseudonym (HMAC).
	KeySecret []byte
	// Enrich, when set, runs last (tests, extensions).
	Enrich func(p *petition.Petition, it *channels.Item)
	// Decoders read items of kinds other than channels.KindFields;
	// DefaultDecoders when nil.
	Decoders *Decoders

	macs atomic.Pointer[macPool] // petitionerKey's HMACs
}

func (n *Normalizer) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

// Normalize turns one item into its petition records. A returned
// *channels.InvalidError names the input at fault; ErrNotPetition means the
// item is to be released without a record.
func (n *Normalizer) Normalize(ch petition.ChannelRef, it *channels.Item) ([]*petition.Petition, error) {
	var p *petition.Petition
	var err error
	if it.Kind == channels.KindFields || it.Kind == "" {
		p, err = n.FromFields(ch, it)
	} else {
		ds := n.Decoders
		if ds == nil {
			ds = DefaultDecoders
		}
		dec, ok := ds.Lookup(it.Kind)
		if !ok {
			return nil, fmt.Errorf("no decoder for item kind %q (is its channel type's decode package linked in?)", it.Kind)
		}
		p, err = dec(n, ch, it)
	}
	if err != nil {
		return nil, err
	}
	n.finish(p, it)
	return []*petition.Petition{p}, nil
}

// NewPetition returns a record with the envelope filled from the item.
func (n *Normalizer) NewPetition(ch petition.ChannelRef, it *channels.Item) *petition.Petition {
	p := &petition.Petition{
		Schema:     petition.Schema,
		Channel:    ch,
		ReceivedAt: it.ReceivedAt.UTC().Truncate(time.Millisecond),
		IngestedAt: n.now().UTC().Truncate(time.Millisecond),
		Cases:      []petition.Case{},
		Labels:     []string{},
		Priority:   "normal",
		Category:   "other",
		Source: petition.Source{
			ID:       it.SourceID,
			Ref:      it.SourceRef,
			Original: petition.BlobRef{SHA256: it.Original.SHA256, URI: it.Original.URI},
		},
		Attachments: []petition.Attachment{},
		Meta:        make(map[string]any, len(it.Meta)+1),
	}
	if p.ReceivedAt.IsZero() {
		p.ReceivedAt = p.IngestedAt
	}
	for k, v := range it.Meta {
		p.Meta[k] = v
	}
	for _, a := range it.Attachments {
		p.Attachments = append(p.Attachments, petition.Attachment{
			Filename: a.Filename, ContentType: a.ContentType, SniffedContentType: a.SniffedType, Size: a.Size, SHA256: a.SHA256, URI: a.URI,
		})
	}
	return p
}

// Invalid is the error of an input a client can fix: it names the field.
// The reason must not quote the value (it may be personal data).
func Invalid(field petition.Field, format string, args ...any) error {
	return &channels.InvalidError{Field: string(field), Reason: fmt.Sprintf(format, args...)}
}

// CheckFields refuses fields that are not valid UTF-8 or longer than their
// limit (petition.FieldLimit).
func CheckFields(f map[petition.Field]string) error {
	for k, v := range f {
		if !utf8.ValidString(v) {
			return Invalid(k, "not valid UTF-8")
		}
		if lim := petition.FieldLimit(k); lim > 0 && utf8.RuneCountInString(v) > lim {
			return Invalid(k, "longer than %d characters", lim)
		}
	}
	return nil
}

// FromFields builds the record of an item whose Fields hold the petition
// input fields (channels.KindFields). Decoders of other kinds may use it
// once they have turned their input into fields. The content is required.
func (n *Normalizer) FromFields(ch petition.ChannelRef, it *channels.Item) (*petition.Petition, error) {
	f := it.Fields
	if err := CheckFields(f); err != nil {
		return nil, err
	}
	p := n.NewPetition(ch, it)
	p.Petitioner.Name = CleanLine(f[petition.FieldName])
	p.Petitioner.Address = CleanLine(f[petition.FieldAddress])
	p.Subject = CleanLine(f[petition.FieldSubject])
	p.Content = text.Clean(f[petition.FieldContent])
	if p.Content == "" {
		return nil, Invalid(petition.FieldContent, "required: the petition text is empty")
	}
	if e := strings.TrimSpace(f[petition.FieldEmail]); e != "" {
		a, err := mail.ParseAddress(e)
		if err != nil || strings.ContainsAny(a.Address, " \t") {
			return nil, Invalid(petition.FieldEmail, "not an e-mail address")
		}
		p.Petitioner.Email = strings.ToLower(a.Address)
	}
	if err := parsePetitionerFields(p, f); err != nil {
		return nil, err
	}
	return p, nil
}

// finish sets the derived fields every record has.
func (n *Normalizer) finish(p *petition.Petition, it *channels.Item) {
	if p.Source.ID == "" {
		p.Source.ID = it.SourceID
	}
	p.ID = petition.ID(p.Channel.Name, p.Source.ID)
	p.TrackingNo = petition.TrackingNo(p.ID)
	if p.FollowUpOf == "" {
		if t := petition.FindTrackingNo(p.Subject); t != "" && t != p.TrackingNo {
			p.FollowUpOf = t
		}
	}
	n.enrich(p)
	if n.Enrich != nil {
		n.Enrich(p, it)
	}
	if p.FollowUpOf != "" && !hasLabel(p.Labels, petition.LabelFollowUp) {
		p.Labels = append(p.Labels, petition.LabelFollowUp)
	}
}

func hasLabel(ls []string, l string) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
}
