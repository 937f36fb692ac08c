// Package attach is the attachment policy channel types share: which
// content types (as sniffed from the content, not as declared) are
// accepted, and the clamd antivirus scan. The web channel applies it to
// uploads before it answers; the imap channel scans each whole letter
// (clamd parses MIME) and its decoder leaves attachments of other types out
// of the record.
package attach

import (
	"strings"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config/units"
	"github.com/court12368/petitiond/internal/clamd"
)

// Policy checks the attachments of an item before it is accepted.
type Policy struct {
	// AllowedTypes lists the accepted content types as sniffed from the
	// content (not as declared); "image/*" matches a family. Empty: any.
	AllowedTypes []string `yaml:"allowed_types" desc:"accepted content types as sniffed from the content (not as declared); image/* matches a family. Empty: any"`
	// Antivirus scans with clamd.
	Antivirus Antivirus `yaml:"antivirus" desc:"scan with clamd (INSTREAM) before the item is accepted"`
}

// Antivirus is a clamd to scan with (INSTREAM).
type Antivirus struct {
	// Address of clamd: unix:/run/clamav/clamd.ctl, tcp:host:port or
	// host:port. Empty: no scanning.
	Address string `yaml:"address" desc:"clamd address: unix:/run/clamav/clamd.ctl, tcp:host:port or host:port; empty: no scanning"`
	// Timeout bounds one scan.
	Timeout units.Duration `yaml:"timeout" desc:"bounds one scan"`
	// OnError says what happens when clamd cannot scan (unreachable, over
	// its StreamMaxLength): reject (retry later) or accept (unscanned).
	OnError string `yaml:"on_error" desc:"when clamd cannot scan (unreachable, over its StreamMaxLength): reject (the source keeps the item and retries later) or accept (it goes on unscanned, recorded in meta)" enum:"reject,accept"`
}

// Default is the policy of a channel whose settings say nothing: any type,
// no scan; a scan that cannot be made would reject.
func Default() Policy {
	return Policy{Antivirus: Antivirus{Timeout: units.Duration(30e9), OnError: "reject"}}
}

// Check adds the policy's problems, under the settings key prefix
// ("attachments").
func (p Policy) Check(ps *channels.Problems, prefix string) {
	if av := p.Antivirus; av.OnError != "reject" && av.OnError != "accept" {
		ps.Add(prefix+".antivirus.on_error", "want reject or accept")
	}
	if av := p.Antivirus; av.Address != "" {
		if _, err := clamd.Parse(av.Address, 0); err != nil {
			ps.Add(prefix+".antivirus.address", "want unix:/path, tcp:host:port or host:port")
		}
	}
	for _, t := range p.AllowedTypes {
		main, sub, ok := strings.Cut(t, "/")
		if !ok || main == "" || sub == "" || strings.ContainsAny(t, " ;,") {
			ps.Add(prefix+".allowed_types", "want type/subtype or type/*")
			break
		}
	}
}

// Scanner returns the clamd client of the policy, nil without one.
func (p Policy) Scanner() (*clamd.Client, error) {
	if p.Antivirus.Address == "" {
		return nil, nil
	}
	return clamd.Parse(p.Antivirus.Address, p.Antivirus.Timeout.D())
}

// TypeAllowed matches a sniffed type against an allow-list (empty: any).
func TypeAllowed(allowed []string, t string) bool {
	if len(allowed) == 0 {
		return true
	}
	main, _, _ := strings.Cut(t, "/")
	for _, a := range allowed {
		if strings.EqualFold(a, t) || strings.EqualFold(a, main+"/*") {
			return true
		}
	}
	return false
}
