package cdr

import "strings"

// dispositions maps vendor dispositions (upper-cased, "_" and "-" read as
// spaces) to the canonical ones. Mapping.Dispositions is consulted first.
var dispositions = map[string]string{
	// Asterisk ast_cdr_disp2str and common spellings.
	"ANSWERED":   Answered,
	"ANSWER":     Answered,
	"NO ANSWER":  NoAnswer,
	"NOANSWER":   NoAnswer,
	"NULL":       NoAnswer, // AST_CDR_NULL is written as NO ANSWER; some exports keep NULL
	"BUSY":       Busy,
	"FAILED":     Failed,
	"FAIL":       Failed,
	"CONGESTION": Congestion,
	"ABANDONED":  Abandoned,
	"ABANDON":    Abandoned,
	"CANCEL":     Abandoned,
	"CANCELED":   Abandoned,
	"CANCELLED":  Abandoned,
	// Asterisk DIALSTATUS values, seen in custom exports.
	"CHANUNAVAIL": Failed,
	"DONTCALL":    Failed,
	"TORTURE":     Failed,
	"INVALIDARGS": Failed,
	// Chinese call-centre exports.
	"已接听":  Answered,
	"已接通":  Answered,
	"接通":   Answered,
	"已应答":  Answered,
	"应答":   Answered,
	"未接听":  NoAnswer,
	"未接通":  NoAnswer,
	"未接":   NoAnswer,
	"未应答":  NoAnswer,
	"无应答":  NoAnswer,
	"振铃未接": NoAnswer,
	"忙":    Busy,
	"占线":   Busy,
	"用户忙":  Busy,
	"失败":   Failed,
	"呼叫失败": Failed,
	"放弃":   Abandoned,
	"呼损":   Abandoned,
	"用户放弃": Abandoned,
	"排队放弃": Abandoned,
	"早释":   Abandoned,
}

// canonicalDisposition returns the canonical form of one of the six
// canonical dispositions written in any case, with "_" or "-" for the
// space, or "" when d is not one of them.
func canonicalDisposition(d string) string {
	switch dispositionKey(d) {
	case Answered:
		return Answered
	case NoAnswer, "NOANSWER":
		return NoAnswer
	case Busy:
		return Busy
	case Failed:
		return Failed
	case Congestion:
		return Congestion
	case Abandoned:
		return Abandoned
	}
	return ""
}

var dispositionSpaces = strings.NewReplacer("_", " ", "-", " ")

func dispositionKey(d string) string {
	d = strings.TrimSpace(d)
	if isCanonical(d) {
		return d
	}
	d = strings.ToUpper(d)
	d = dispositionSpaces.Replace(d)
	return strings.Join(strings.Fields(d), " ")
}

func isCanonical(d string) bool {
	switch d {
	case Answered, NoAnswer, Busy, Failed, Congestion, Abandoned:
		return true
	}
	return false
}

// normalizeDisposition maps a vendor disposition, or returns "" when it is
// unknown (the caller then derives one).
func (p *Parser) normalizeDisposition(vendor string) string {
	if isCanonical(vendor) {
		return vendor
	}
	key := dispositionKey(vendor)
	if d, ok := p.disp[key]; ok {
		return d
	}
	return dispositions[key]
}

// causeDisposition derives a disposition from a FreeSWITCH hangup cause.
// An answered call is ANSWERED whatever the cause; otherwise:
//
//	ORIGINATOR_CANCEL                                 ABANDONED (the caller hung up first)
//	USER_BUSY, CALL_REJECTED                          BUSY
//	NORMAL_CIRCUIT_CONGESTION, SWITCH_CONGESTION      CONGESTION
//	NO_ANSWER, NO_USER_RESPONSE, ALLOTTED_TIMEOUT,
//	RECOVERY_ON_TIMER_EXPIRE, NORMAL_CLEARING,
//	LOSE_RACE, PICKED_OFF, ATTENDED_TRANSFER          NO ANSWER
//	anything else                                     FAILED
func causeDisposition(cause string, answered bool) string {
	if answered {
		return Answered
	}
	switch strings.ToUpper(strings.TrimSpace(cause)) {
	case "ORIGINATOR_CANCEL":
		return Abandoned
	case "USER_BUSY", "CALL_REJECTED":
		return Busy
	case "NORMAL_CIRCUIT_CONGESTION", "SWITCH_CONGESTION":
		return Congestion
	case "NO_ANSWER", "NO_USER_RESPONSE", "ALLOTTED_TIMEOUT", "RECOVERY_ON_TIMER_EXPIRE",
		"NORMAL_CLEARING", "LOSE_RACE", "PICKED_OFF", "ATTENDED_TRANSFER":
		return NoAnswer
	}
	return Failed
}
