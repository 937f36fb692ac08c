// Package cdr parses call-detail records (CDRs) of call-centre switches,
// one line at a time, into Calls: who called, when, whether the call was
// answered, and the operator's notes when the switch or form records them.
//
// Formats (see the Format constants for the exact column lists):
//
//   - asterisk-csv: cdr_csv Master.csv, 16 to 21 columns by cdr.conf.
//   - asterisk-custom: cdr_custom with the default Master.csv template.
//   - freeswitch-csv: mod_cdr_csv "example" template (unescaped values; a
//     caller name holding quotes and commas is resolved from the right,
//     ErrAmbiguous when that cannot be done with certainty).
//   - freeswitch-json: mod_json_cdr, one object per line, URL-encoded
//     variables.
//   - csv, jsonl: any vendor's layout described by a Mapping (YAML).
//
// Encodings: UTF-8 (a byte-order mark is dropped) or GB18030 (GBK,
// GB2312), decoded before parsing. In UTF-8 mode a value that is not valid
// UTF-8 is decoded as GB18030 when possible (Chinese SIP phones send GBK
// display names that switches copy raw into UTF-8 files); see
// Call.Extra["charset_repaired"].
//
// Times: CDR times without a zone are in Options.Location (default
// Asia/Shanghai), or UTC with Options.GMT (Asterisk usegmtime). Epoch
// values and RFC 3339 times carry their own zone. Returned times are in
// Options.Location.
//
// Dispositions are normalised to ANSWERED, NO ANSWER, BUSY, FAILED,
// CONGESTION or ABANDONED:
//
//   - A vendor value is looked up in Mapping.Dispositions, then in the
//     built-in table (Asterisk values, Asterisk DIALSTATUS values, common
//     Chinese ones such as 已接听, 未接通, 占线, 放弃); case, "_" and "-"
//     do not matter. A value that differs from the result is kept in
//     Extra["disposition_raw"].
//   - Without a (known) vendor value, a FreeSWITCH hangup cause gives it
//     (see causeDisposition); else the answer time or a billed second
//     makes it ANSWERED, and their absence NO ANSWER.
//   - ABANDONED overrides when the record shows the caller gave up:
//     Asterisk lastapp Queue with no dstchannel on an ANSWERED record (the
//     queue answered, no agent was ever bridged); FreeSWITCH cc_cause
//     "cancel" (mod_callcenter) or an unanswered sip_hangup_disposition
//     "recv_cancel".
//
// Call.Missed (the caller needs a call-back) is true when the disposition
// is not ANSWERED, or when the record has an answer or billsec value and
// shows neither an answer time nor a billed second: it errs on the side of
// calling back. A vendor layout with none of disposition, hangup_cause,
// answer and billsec makes every call NO ANSWER, hence Missed.
//
// Ids: Call.SourceID is uniqueid[/sequence] (Asterisk 12+ writes several
// records per uniqueid, one per dial attempt, told apart by sequence) or
// the FreeSWITCH uuid; records without one (16-column Master.csv) use
// LineHash of the line bytes.
//
// The package does no I/O and keeps no state: a Parser is immutable and
// safe for concurrent use. Errors never quote caller names or numbers.
package cdr
