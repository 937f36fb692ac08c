package scan

import (
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/petition"
)

// Kind is the item kind of a scanned form. Fields hold what was read:
// the petition input fields found on the form (or given by the sidecar),
// the form's own fields (form.FieldGender …) and the fields below; Meta
// the facts of the scan. Package scan/decode reads it.
const Kind channels.Kind = "scan"

// Item fields besides the petition and form fields.
const (
	// FieldText is all the text read off the pages, for the request when
	// the form has no labelled one, and for tracking numbers.
	FieldText petition.Field = "scan_text"
	// FieldCourtHint is the desk's court code (settings.court).
	FieldCourtHint petition.Field = "court_hint"
	// FieldUnreadable says why the file could not be read at all (not an
	// image or PDF, a broken PDF): the item is dead-lettered with it.
	FieldUnreadable petition.Field = "scan_unreadable"
)

// Meta keys of scan items and records.
const (
	MetaFile            = "scan.file"                                 // the file's original base name
	MetaPages           = "scan.pages"                                // number of pages
	MetaFormat          = "scan.format"                               // png, jpeg, tiff, pdf
	MetaOCRConfidence   = "scan.ocr_confidence"                       // mean word confidence per page, 0–100
	MetaFieldConfidence = "scan.field_confidence"                     // per field read by OCR, 0–100
	MetaReread          = "scan.second_reading_agrees"                // per field read twice: did the readings agree
	MetaLeastCharConf   = "scan.second_reading_least_char_confidence" // per field that agreed: its least sure character
	MetaSkew            = "scan.skew_degrees"                         // per page, the skew that was undone
	MetaRegistrationNo  = "scan.registration_no"                      // the visit registration number (QR/barcode, sidecar)
	MetaBarcodes        = "scan.barcodes"                             // every code decoded on the pages
	MetaSidecar         = "scan.sidecar"                              // the sidecar's base name
	MetaSidecarFields   = "scan.sidecar_fields"                       // fields the sidecar gave (they win over OCR)
	MetaReviewReasons   = "scan.review_reasons"                       // why the record needs review
	MetaMinConfidence   = "scan.min_field_confidence"
	MetaCorrections     = "scan.corrections" // what domain rules corrected in an OCR reading
	MetaUnreadable      = "scan.unreadable"  // fields on the form that could not be read with confidence
	MetaGender          = "scan.gender"
	MetaReceptionist    = "scan.receptionist"
	MetaVisitDate       = "scan.visit_date"
	MetaCourt           = "scan.court" // the desk's court code
	MetaReceivedFrom    = "scan.received_at_from"
)

// Review reasons the channel itself sets.
const (
	ReasonLowConfidence = "low_ocr_confidence"
)
