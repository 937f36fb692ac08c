package cdr

import (
	"strconv"
	"strings"
)

// asteriskCSV reads a cdr_csv Master.csv line:
//
//	accountcode,src,dst,dcontext,clid,channel,dstchannel,lastapp,lastdata,
//	start,answer,end,duration,billsec,disposition,amaflags
//	[,uniqueid][,userfield][,peeraccount,linkedid,sequence]
//
// cdr_csv quotes every string and doubles quotes inside; duration,
// billsec and sequence are bare numbers and an unset time (the answer time
// of an unanswered call) is an empty, unquoted field. The optional columns
// follow cdr.conf [csv]: loguniqueid, loguserfield, newcdrcolumns. The
// column count tells them apart: 16, 18 (uniqueid, userfield) and 21 (all)
// are the usual forms; 19 is 16 + the three new columns; 17 and 20 hold
// either the uniqueid or the userfield: a value shaped like a uniqueid
// ([system-]seconds.counter) is taken as the uniqueid.
func (p *Parser) asteriskCSV(r *record) error {
	var buf [24]string
	f := splitCSV(buf[:0], r.raw, ',')
	n := len(f)
	if n < 16 || n > 21 {
		return p.malformed("", "%d columns, want 16 to 21 (usually 16, 18 or 21)", n)
	}
	r.asterisk = true
	r.set(fAccountCode, f[0], 1)
	r.set(fCallerNumber, f[1], 2)
	r.set(fDst, f[2], 3)
	r.set(fContext, f[3], 4)
	r.set(fCLID, f[4], 5)
	r.set(fChannel, f[5], 6)
	r.set(fDstChannel, f[6], 7)
	r.set(fLastApp, f[7], 8)
	r.set(fLastData, f[8], 9)
	r.set(fStart, f[9], 10)
	r.set(fAnswer, f[10], 11)
	r.set(fEnd, f[11], 12)
	r.set(fDuration, f[12], 13)
	r.set(fBillsec, f[13], 14)
	r.set(fDisposition, f[14], 15)
	r.addExtra("amaflags", f[15])
	uid, uf, newCols := false, false, false
	switch n {
	case 17, 20:
		if looksLikeUniqueID(f[16]) {
			uid = true
		} else {
			uf = true
		}
		newCols = n == 20
	case 18:
		uid, uf = true, true
	case 19:
		newCols = true
	case 21:
		uid, uf, newCols = true, true, true
	}
	col := 16
	if uid {
		r.set(fUniqueID, f[col], col+1)
		col++
	}
	if uf {
		r.set(fUserField, f[col], col+1)
		col++
	}
	if newCols {
		r.addExtra("peeraccount", f[col])
		r.set(fLinkedID, f[col+1], col+2)
		r.set(fSequence, f[col+2], col+3)
		if s := f[col+2]; s != "" && !allDigits(s) {
			return p.malformed(r.where(fSequence), "not a number: %s", quoteShort(s))
		}
	}
	return nil
}

// asteriskCustom reads a line of cdr_custom's default Master.csv template:
//
//	clid,src,dst,dcontext,channel,dstchannel,lastapp,lastdata,start,answer,
//	end,duration,billsec,disposition,amaflags,accountcode,uniqueid,userfield
//	[,sequence]
//
// (Asterisk 1.8's sample has no sequence column.) Values written with
// "${CDR(x)}" instead of CSV_QUOTE are read leniently: a quote inside a
// quoted value that is not followed by a comma is kept.
func (p *Parser) asteriskCustom(r *record) error {
	var buf [24]string
	f := splitCSV(buf[:0], r.raw, ',')
	n := len(f)
	if n != 18 && n != 19 {
		return p.malformed("", "%d columns, want 18 or 19", n)
	}
	r.asterisk = true
	r.set(fCLID, f[0], 1)
	r.set(fCallerNumber, f[1], 2)
	r.set(fDst, f[2], 3)
	r.set(fContext, f[3], 4)
	r.set(fChannel, f[4], 5)
	r.set(fDstChannel, f[5], 6)
	r.set(fLastApp, f[6], 7)
	r.set(fLastData, f[7], 8)
	r.set(fStart, f[8], 9)
	r.set(fAnswer, f[9], 10)
	r.set(fEnd, f[10], 11)
	r.set(fDuration, f[11], 12)
	r.set(fBillsec, f[12], 13)
	r.set(fDisposition, f[13], 14)
	r.addExtra("amaflags", f[14])
	r.set(fAccountCode, f[15], 16)
	r.set(fUniqueID, f[16], 17)
	r.set(fUserField, f[17], 18)
	if n == 19 {
		r.set(fSequence, f[18], 19)
		if s := f[18]; s != "" && !allDigits(s) {
			return p.malformed(r.where(fSequence), "not a number: %s", quoteShort(s))
		}
	}
	return nil
}

// looksLikeUniqueID reports whether s has the shape of an Asterisk
// uniqueid: [systemname-]seconds.counter.
func looksLikeUniqueID(s string) bool {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '-' {
			s = s[i+1:]
			break
		}
	}
	sec, cnt, ok := strings.Cut(s, ".")
	if !ok || !allDigits(sec) || !allDigits(cnt) {
		return false
	}
	n, err := strconv.Atoi(sec)
	return err == nil && n > 0
}
