// Package callitem is the contract between the calllog channel's transport
// (package calllog) and its decoder (package calllog/decode): the item
// kind of a call, its fields and meta keys. It imports no petitiond code
// but channels and petition, so both sides and their tests can use it.
package callitem

import (
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/petition"
)

// Kind is the item kind of a call: Fields hold the caller's name
// (petition.FieldName), number (FieldPhone), the operator's notes
// (FieldContent) and the fields below; Meta the call facts. Package
// calllog/decode reads it.
const Kind channels.Kind = "cdr"

// Item fields of a call besides the petition fields.
const (
	// FieldAreaCode is the area code for local caller numbers.
	FieldAreaCode petition.Field = "area_code"
	// FieldFollowUpOf is the tracking number a late note continues.
	FieldFollowUpOf petition.Field = "follow_up_of"
	// FieldParseError says why a line could not be parsed: the item is
	// dead-lettered with its stored line.
	FieldParseError petition.Field = "parse_error"
)

// Item meta keys.
const (
	MetaFormat     = "call.format"
	MetaCallerKind = "call.caller_kind"

	MetaMissed      = "call.missed"
	MetaNotesSource = "call.notes_source"
	MetaCTIEvents   = "call.cti_events"
	MetaAgent       = "call.agent"
	MetaQueue       = "call.queue"
	MetaCDRMissing  = "call.cdr_missing"
	MetaLateNote    = "call.late_note"
	MetaNoteFor     = "call.note_for"
	MetaUniqueID    = "call.unique_id"
)
