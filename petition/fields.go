package petition

// Field names an input field of a petition: what a web client posts, what
// a mapping fills, what a channel puts in an item's Fields. The names are a
// contract with partners (the web channel's JSON and form names).
type Field string

// The petition input fields.
const (
	FieldName       Field = "name"
	FieldIDNumber   Field = "id_number"
	FieldPhone      Field = "phone"
	FieldEmail      Field = "email"
	FieldAddress    Field = "address"
	FieldSubject    Field = "subject"
	FieldContent    Field = "content"
	FieldCaseNumber Field = "case_number"
	FieldCourt      Field = "court"
)

// InputFields lists the petition input fields in their documented order.
var InputFields = []Field{
	FieldName, FieldIDNumber, FieldPhone, FieldEmail, FieldAddress,
	FieldSubject, FieldContent, FieldCaseNumber, FieldCourt,
}

// IsInput reports whether f is one of InputFields.
func IsInput(f Field) bool {
	for _, x := range InputFields {
		if x == f {
			return true
		}
	}
	return false
}

// FieldLimit is the most characters a field may have (0: no limit).
func FieldLimit(f Field) int { return fieldLimits[f] }

var fieldLimits = map[Field]int{
	FieldName: 100, FieldIDNumber: 32, FieldPhone: 64, FieldEmail: 254, FieldAddress: 500,
	FieldSubject: 500, FieldContent: 100_000, FieldCaseNumber: 500, FieldCourt: 100,
}

// Labels and meta keys shared by several channels or by normalize.
const (
	// LabelNeedsReview marks a record a person should check before acting
	// on it (an OCR reading with low confidence, a missing field).
	LabelNeedsReview = "needs_review"
	// LabelFollowUp marks a record that continues an earlier one
	// (follow_up_of is set).
	LabelFollowUp = "follow_up"
	// LabelRepeat marks a repeat petition of one person about one case.
	LabelRepeat = "repeat"
	// MetaRepeatOf is the id of the earlier petition of a repeat.
	MetaRepeatOf = "repeat_of"
	// MetaCourt is the court named in the input.
	MetaCourt = "court"
	// MetaCaseNumberRaw keeps a case-number input that could not be parsed.
	MetaCaseNumberRaw = "case_number_raw"
)
