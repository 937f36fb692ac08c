package normalize

// parsePetitionerFields fills identity fields (id number, phone) and explicit
// case numbers. It is replaced by the Chinese parsers.
var parsePetitionerFields = func(p *Petition, f map[string]string) error {
	p.Petitioner.IDNumber = f["id_number"]
	p.Petitioner.Phone = f["phone"]
	return nil
}
