// Package schema ships the JSON Schemas of the records petitiond produces.
package schema

import _ "embed"

// PetitionV1 is the JSON Schema of petition.v1 records.
//
//go:embed petition.v1.json
var PetitionV1 []byte

// DeadLetterV1 is the JSON Schema of petition.deadletter.v1 records.
//
//go:embed deadletter.v1.json
var DeadLetterV1 []byte

// The schemas' $id, which every record names in its CloudEvents
// ce_dataschema header. They are names, not locations: the admin listener
// serves the files under /schemas/ and `petitiond schema register` puts them
// in a schema registry. A test checks they equal the files' "$id".
const (
	PetitionV1ID   = "https://petitiond.court12368.cn/schema/petition.v1.json"
	DeadLetterV1ID = "https://petitiond.court12368.cn/schema/deadletter.v1.json"
)

// File is one record schema: the name it is served and registered under,
// its $id and its bytes.
type File struct {
	Name string // "petition.v1.json"
	ID   string // the $id
	Data []byte
}

// Records are the record schemas, petition first.
func Records() []File {
	return []File{
		{Name: "petition.v1.json", ID: PetitionV1ID, Data: PetitionV1},
		{Name: "deadletter.v1.json", ID: DeadLetterV1ID, Data: DeadLetterV1},
	}
}
