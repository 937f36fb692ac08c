package channels

import (
	"errors"
	"fmt"
)

// Problems collects what is wrong with a channel's settings, so that a
// Validate method reports every problem at once and `petitiond check` can
// list them all with their lines, instead of one per run.
//
//	var p channels.Problems
//	if c.Listen == "" {
//		p.Add("listen", "required")
//	}
//	return p.Err()
type Problems []error

// Add records that the setting field (a key of the settings, dotted for a
// nested one: "cti.listen") is invalid for the reason given.
func (p *Problems) Add(field, format string, args ...any) {
	*p = append(*p, &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was added, else every problem joined
// (errors.Join: errors.As finds the first *InvalidError).
func (p Problems) Err() error { return errors.Join(p...) }
