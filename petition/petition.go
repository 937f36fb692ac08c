// Package petition is the record petitiond produces: the petition (schema
// petition.v1), the dead-letter record, and the ids every record carries
// (a deterministic UUIDv5 and the petitioner's tracking number). It is the
// contract between normalize, which fills records, and router and engine,
// which route and produce them; it imports nothing of petitiond.
package petition

import (
	"time"
)

// Schema is the record schema name.
const Schema = "petition.v1"

// DeadLetterSchema is the dead-letter record schema name.
const DeadLetterSchema = "petition.deadletter.v1"

// Petition is the record produced to Kafka. Field names are a contract
// (see docs/record.md and schema/petition.v1.json): add fields, rename none.
type Petition struct {
	Schema      string       `json:"schema" expr:"schema"`
	ID          string       `json:"id" expr:"id"`
	TrackingNo  string       `json:"tracking_no" expr:"tracking_no"`
	Channel     ChannelRef   `json:"channel" expr:"channel"`
	ReceivedAt  time.Time    `json:"received_at" expr:"received_at"`
	IngestedAt  time.Time    `json:"ingested_at" expr:"ingested_at"`
	Petitioner  Petitioner   `json:"petitioner" expr:"petitioner"`
	Subject     string       `json:"subject" expr:"subject"`
	Content     string       `json:"content" expr:"content"`
	Cases       []Case       `json:"cases" expr:"cases"`
	Category    string       `json:"category" expr:"category"`
	Labels      []string     `json:"labels" expr:"labels"`
	Priority    string       `json:"priority" expr:"priority"`
	FollowUpOf  string       `json:"follow_up_of,omitempty" expr:"follow_up_of"`
	Attachments []Attachment `json:"attachments" expr:"attachments"`
	Source      Source       `json:"source" expr:"source"`
	Meta        Meta         `json:"meta" expr:"meta"`
}

// ChannelRef names the channel a petition came through.
type ChannelRef struct {
	Name string `json:"name" expr:"name"`
	Type string `json:"type" expr:"type"`
}

// Petitioner is the person who raised the petition.
type Petitioner struct {
	Name          string `json:"name" expr:"name"`
	IDNumber      string `json:"id_number" expr:"id_number"`
	IDNumberValid bool   `json:"id_number_valid" expr:"id_number_valid"`
	Phone         string `json:"phone" expr:"phone"`
	Email         string `json:"email" expr:"email"`
	Address       string `json:"address" expr:"address"`
	// PhoneExtension is the extension of Phone (转/分机), when given.
	PhoneExtension string `json:"phone_extension,omitempty" expr:"phone_extension"`
	// OtherPhones are further numbers found in the petition.
	OtherPhones []string `json:"other_phones,omitempty" expr:"other_phones"`
	// Key is a stable pseudonymous key for the person (hash of the id
	// number, else phone, else e-mail) used to link repeat petitions.
	Key string `json:"key,omitempty" expr:"key"`
}

// Case is a court case number (案号) named in the petition.
type Case struct {
	Number      string `json:"number" expr:"number"`
	Year        int    `json:"year" expr:"year"`
	CourtCode   string `json:"court_code" expr:"court_code"`
	TypeCode    string `json:"type_code" expr:"type_code"`
	Seq         int    `json:"seq" expr:"seq"`
	SpecialCode string `json:"special_code,omitempty" expr:"special_code"`
	CourtName   string `json:"court_name,omitempty" expr:"court_name"`
	Kind        string `json:"kind,omitempty" expr:"kind"`
	OldStyle    bool   `json:"old_style,omitempty" expr:"old_style"`
	// Suspicious says why a well-formed number is doubtful (a court code
	// with digits in a year before 2016); empty otherwise.
	Suspicious string `json:"suspicious,omitempty" expr:"suspicious"`
	Raw        string `json:"raw,omitempty" expr:"raw"`
}

// Attachment is a file that came with the petition, in the blob store.
type Attachment struct {
	Filename    string `json:"filename" expr:"filename"`
	ContentType string `json:"content_type" expr:"content_type"`
	// SniffedContentType is the type sniffed from the content, beside the
	// declared ContentType (they differ for a renamed executable).
	SniffedContentType string `json:"sniffed_content_type,omitempty" expr:"sniffed_content_type"`
	Size               int64  `json:"size" expr:"size"`
	SHA256             string `json:"sha256" expr:"sha256"`
	URI                string `json:"uri" expr:"uri"`
}

// Source says where the petition came from.
type Source struct {
	ID       string  `json:"id" expr:"id"`
	Ref      string  `json:"ref" expr:"ref"`
	Original BlobRef `json:"original" expr:"original"`
}

// BlobRef points at a stored original.
type BlobRef struct {
	SHA256 string `json:"sha256" expr:"sha256"`
	URI    string `json:"uri" expr:"uri"`
}

// DeadLetter is the value written to the dead-letter topic.
type DeadLetter struct {
	Schema  string     `json:"schema"`
	ID      string     `json:"id,omitempty"`
	Channel ChannelRef `json:"channel"`
	Source  Source     `json:"source"`
	Error   string     `json:"error"`
	Stage   string     `json:"stage"`
	// Original duplicates Source.Original at the top level, as the
	// dead-letter contract names it.
	Original BlobRef        `json:"original"`
	At       time.Time      `json:"at"`
	Meta     map[string]any `json:"meta,omitempty"`
}
