package normalize

import (
	"github.com/court12368/petitiond/normalize/casenum"
	"github.com/court12368/petitiond/normalize/idcard"
	"github.com/court12368/petitiond/normalize/phone"
	"github.com/court12368/petitiond/petition"
)

// parsePetitionerFields fills identity fields (id number, phone) and the
// explicit case number from input fields. Malformed values a client can fix
// are an *channels.InvalidError naming the field; a well-formed id number
// with a wrong checksum is kept with id_number_valid false.
func parsePetitionerFields(p *petition.Petition, f map[petition.Field]string) error {
	if raw := f[petition.FieldIDNumber]; raw != "" {
		id, valid := idcard.Normalize(raw)
		if len(id) != 18 {
			return Invalid(petition.FieldIDNumber, "not a resident id number (18 characters, or 15 digits)")
		}
		p.Petitioner.IDNumber, p.Petitioner.IDNumberValid = id, valid
	}
	if raw := f[petition.FieldPhone]; raw != "" {
		num := phone.Parse(raw)
		if !num.Valid {
			return Invalid(petition.FieldPhone, "not a telephone number")
		}
		SetPhone(p, num)
	}
	if raw := f[petition.FieldCaseNumber]; raw != "" {
		found := casenum.Find(raw)
		if len(found) == 0 {
			p.Labels = append(p.Labels, "case_number_unparsed")
			p.Meta[petition.MetaCaseNumberRaw] = CleanLine(raw)
		}
		for _, c := range found {
			addCase(p, c)
		}
	}
	if court := CleanLine(f[petition.FieldCourt]); court != "" {
		p.Meta[petition.MetaCourt] = court
	}
	return nil
}

// SetPhone puts a parsed number in the record: E.164 when it has one,
// service numbers (12368) as dialled.
func SetPhone(p *petition.Petition, num phone.Number) {
	if num.E164 != "" {
		p.Petitioner.Phone = num.E164
	} else {
		p.Petitioner.Phone = num.National
	}
	p.Petitioner.PhoneExtension = num.Extension
}

func addCase(p *petition.Petition, c casenum.Case) {
	for _, have := range p.Cases {
		if have.Number == c.Number {
			return
		}
	}
	p.Cases = append(p.Cases, petition.Case{
		Number: c.Number, Year: c.Year, CourtCode: c.CourtCode, TypeCode: c.TypeCode, Seq: c.Seq,
		SpecialCode: c.SpecialCode, CourtName: c.CourtName, Kind: c.Kind, OldStyle: c.OldStyle, Raw: c.Raw,
		Suspicious: c.Suspicious,
	})
}
