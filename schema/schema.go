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
