package normalize

import (
	"bytes"
	"hash"
	"io"
	"strings"
	"sync"

	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"

	"github.com/court12368/petitiond/normalize/casenum"
	"github.com/court12368/petitiond/normalize/classify"
	"github.com/court12368/petitiond/normalize/idcard"
	"github.com/court12368/petitiond/normalize/phone"
	"github.com/court12368/petitiond/petition"
)

// enrich parses what the free text says (case numbers, phones, id
// numbers), classifies the petition and links repeat petitions.
func (n *Normalizer) enrich(p *petition.Petition) {
	text := p.Subject + "\n" + p.Content
	// Cheap prefilters: every case number ends in 号, a phone number has at
	// least 7 digits, an id number 15.
	if strings.Contains(text, "号") {
		for _, c := range casenum.Find(text) {
			addCase(p, c)
		}
	}
	digits := countDigits(p.Content)
	var phones []phone.Number
	if digits >= 7 {
		phones = phone.Find(p.Content)
	}
	for _, num := range phones {
		if !num.Valid {
			continue
		}
		if p.Petitioner.Phone == "" {
			SetPhone(p, num)
			continue
		}
		v := num.E164
		if v == "" {
			v = num.National
		}
		if v != p.Petitioner.Phone && !contains(p.Petitioner.OtherPhones, v) {
			p.Petitioner.OtherPhones = append(p.Petitioner.OtherPhones, v)
		}
	}
	if p.Petitioner.IDNumber == "" && digits >= 15 {
		if ids := idcard.Find(p.Content); len(ids) > 0 {
			p.Petitioner.IDNumber, p.Petitioner.IDNumberValid = ids[0], true
		}
	}
	if n.Classifier != nil {
		var kinds []string
		for _, c := range p.Cases {
			kinds = append(kinds, c.Kind)
		}
		in := classify.Input{Subject: p.Subject, Content: p.Content, CaseKinds: kinds}
		if n.Classifier.UsesFields() {
			if kinds == nil {
				kinds = []string{}
			}
			in.Fields = map[string]any{
				"channel": p.Channel.Name, "channel_type": p.Channel.Type,
				"has_case": len(p.Cases) > 0, "case_kinds": kinds,
				"has_id_number": p.Petitioner.IDNumber != "", "has_phone": p.Petitioner.Phone != "",
			}
		}
		res := n.Classifier.Classify(in)
		if p.Category == "" || p.Category == "other" {
			p.Category = res.Category
			// Why this category, for the operator reading the record.
			if len(res.Evidence) > 0 {
				if p.Meta == nil {
					p.Meta = map[string]any{}
				}
				p.Meta["classify.evidence"] = res.Evidence
			}
		}
		for _, l := range res.Labels {
			if !contains(p.Labels, l) {
				p.Labels = append(p.Labels, l)
			}
		}
		if res.Priority == "high" {
			p.Priority = "high"
		}
	}
	p.Petitioner.Key = n.petitionerKey(p)
	if n.Repeats != nil && p.Petitioner.Key != "" {
		for _, c := range p.Cases {
			if prev := n.Repeats.Lookup(p.Petitioner.Key+"|"+c.Number, p.ID); prev != "" {
				if !contains(p.Labels, petition.LabelRepeat) {
					p.Labels = append(p.Labels, petition.LabelRepeat)
				}
				p.Meta[petition.MetaRepeatOf] = prev
				break
			}
		}
	}
}

// Committed remembers petitions Kafka acknowledged, for repeat detection.
// Only acknowledged petitions count: a submission that failed and is
// retried under a new id must not be labelled a repeat of itself.
func (n *Normalizer) Committed(pets []*petition.Petition) {
	if n == nil || n.Repeats == nil {
		return
	}
	for _, p := range pets {
		if p.Petitioner.Key == "" {
			continue
		}
		for _, c := range p.Cases {
			n.Repeats.Record(p.Petitioner.Key+"|"+c.Number, p.ID, p.TrackingNo)
		}
	}
}

// petitionerKey is a stable pseudonym of the person: HMAC-SHA256 (with the
// deployment's secret, so it cannot be reversed by enumerating id numbers)
// of the id number, else the phone, else the e-mail address.
func (n *Normalizer) petitionerKey(p *petition.Petition) string {
	var basis string
	switch {
	case p.Petitioner.IDNumber != "" && p.Petitioner.IDNumberValid:
		basis = "id:" + p.Petitioner.IDNumber
	case p.Petitioner.Phone != "":
		basis = "phone:" + p.Petitioner.Phone
	case p.Petitioner.Email != "":
		basis = "email:" + p.Petitioner.Email
	default:
		return ""
	}
	return n.keyOf(basis)
}

// keyOf is the first 128 bits of HMAC-SHA256(KeySecret, basis) in hex.
// The HMACs are pooled: hmac.New costs nine allocations a record.
func (n *Normalizer) keyOf(basis string) string {
	pool := n.macs.Load()
	if pool == nil || !bytes.Equal(pool.secret, n.KeySecret) {
		secret := bytes.Clone(n.KeySecret)
		pool = &macPool{secret: secret, p: sync.Pool{New: func() any { return hmac.New(sha256.New, secret) }}}
		n.macs.Store(pool)
	}
	m := pool.p.Get().(hash.Hash)
	m.Reset()
	io.WriteString(m, basis)
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	pool.p.Put(m)
	var out [32]byte
	hex.Encode(out[:], sum[:16])
	return string(out[:])
}

// macPool pools the HMACs of one key secret.
type macPool struct {
	secret []byte
	p      sync.Pool
}

// countDigits counts ASCII and full-width digits.
func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if (r >= '0' && r <= '9') || (r >= '０' && r <= '９') {
			n++
		}
	}
	return n
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
