package casenum

import "strings"

// Kinds of cases, derived from the type code.
const (
	KindCivil              = "civil"               // 民事
	KindCriminal           = "criminal"            // 刑事
	KindAdministrative     = "administrative"      // 行政 (行政赔偿 included)
	KindEnforcement        = "enforcement"         // 执行
	KindStateCompensation  = "state_compensation"  // 国家赔偿 (法赔, 委赔, …)
	KindJudicialRelief     = "judicial_relief"     // 司法救助 (司救…)
	KindJudicialAssistance = "judicial_assistance" // 区际和国际司法协助 (协…, 请…)
	KindPreservation       = "preservation"        // 非诉保全 (财保, 证保, 行保, 执保)
	KindBankruptcy         = "bankruptcy"          // 破产, 强制清算
	KindJurisdiction       = "jurisdiction"        // 管辖 (民辖, 刑辖, 行辖, …)
	KindSanction           = "sanction"            // 司法制裁 (司惩)
	KindOther              = "other"
)

// typeCodes is the table of type codes (类型代字) of 《人民法院案件类型及其
// 代字标准》 (annex of 法〔2015〕137号 as amended by 法〔2018〕335号), with
// codes seen in practice (民诉前调). A code that is not listed but starts
// like one (民…, 刑…, 执…) is accepted and its kind taken from its first
// characters, see kindOf.
var typeCodes = map[string]string{
	// 刑事
	"刑初": KindCriminal, "刑终": KindCriminal, "刑监": KindCriminal, "刑申": KindCriminal,
	"刑抗": KindCriminal, "刑再": KindCriminal, "刑核": KindCriminal, "刑更": KindCriminal,
	"刑医": KindCriminal, "刑没": KindCriminal, "刑他": KindCriminal, "刑止": KindCriminal,
	"刑请": KindCriminal, "刑赔": KindCriminal,
	// 民事
	"民初": KindCivil, "民终": KindCivil, "民监": KindCivil, "民申": KindCivil,
	"民抗": KindCivil, "民再": KindCivil, "民撤": KindCivil, "民特": KindCivil,
	"民催": KindCivil, "民督": KindCivil, "民他": KindCivil, "民特监": KindCivil,
	"民诉前调": KindCivil, "民诉前保": KindPreservation,
	// 行政
	"行初": KindAdministrative, "行终": KindAdministrative, "行监": KindAdministrative,
	"行申": KindAdministrative, "行抗": KindAdministrative, "行再": KindAdministrative,
	"行审": KindAdministrative, "行审复": KindAdministrative, "行他": KindAdministrative,
	"行赔初": KindAdministrative, "行赔终": KindAdministrative, "行赔申": KindAdministrative,
	"行赔监": KindAdministrative, "行赔抗": KindAdministrative, "行赔再": KindAdministrative,
	// 管辖
	"民辖": KindJurisdiction, "民辖终": KindJurisdiction, "民辖监": KindJurisdiction,
	"刑辖": KindJurisdiction, "行辖": KindJurisdiction, "行辖终": KindJurisdiction,
	"行赔辖": KindJurisdiction, "执辖": KindJurisdiction,
	// 非诉保全
	"财保": KindPreservation, "行保": KindPreservation, "证保": KindPreservation,
	"执保": KindPreservation, "行保复": KindPreservation,
	// 执行
	"执": KindEnforcement, "执恢": KindEnforcement, "执异": KindEnforcement,
	"执复": KindEnforcement, "执监": KindEnforcement, "执协": KindEnforcement,
	"执他": KindEnforcement, "执督": KindEnforcement, "执请": KindEnforcement,
	// 破产与强制清算
	"破申": KindBankruptcy, "破": KindBankruptcy, "破终": KindBankruptcy, "破监": KindBankruptcy,
	"强清": KindBankruptcy, "强清终": KindBankruptcy, "强清申": KindBankruptcy,
	// 国家赔偿
	"法赔": KindStateCompensation, "委赔": KindStateCompensation, "委赔监": KindStateCompensation,
	"委赔提": KindStateCompensation, "赔他": KindStateCompensation,
	// 司法救助
	"司救刑": KindJudicialRelief, "司救民": KindJudicialRelief, "司救行": KindJudicialRelief,
	"司救执": KindJudicialRelief, "司救访": KindJudicialRelief, "司救赔": KindJudicialRelief,
	"司救他": KindJudicialRelief,
	// 司法制裁
	"司惩": KindSanction, "司惩复": KindSanction,
	// 区际和国际司法协助
	"认港": KindJudicialAssistance, "认澳": KindJudicialAssistance, "认台": KindJudicialAssistance,
	"认外": KindJudicialAssistance, "协外认": KindJudicialAssistance, "协港认": KindJudicialAssistance,
	"协澳认": KindJudicialAssistance, "协台认": KindJudicialAssistance, "协他": KindJudicialAssistance,
	"请外送": KindJudicialAssistance, "请港送": KindJudicialAssistance, "请澳送": KindJudicialAssistance,
	"请台送": KindJudicialAssistance, "请外调": KindJudicialAssistance, "请港调": KindJudicialAssistance,
	"请澳调": KindJudicialAssistance, "请台调": KindJudicialAssistance,
	"协外送": KindJudicialAssistance, "协港送": KindJudicialAssistance, "协澳送": KindJudicialAssistance,
	"协台送": KindJudicialAssistance, "协外调": KindJudicialAssistance, "协港调": KindJudicialAssistance,
	"协澳调": KindJudicialAssistance, "协台调": KindJudicialAssistance,
}

// heads are the characters a type code may start with; an unlisted code
// must start with one of them. The old format (before 2016) also had the
// division numbers 民一…民五, 刑一, 刑二, and 商, 知, 立, 提, 监, 审.
const heads = "刑民行执破强法委司财证认协请赔商知立审监提海"

// kindOf returns the kind of a type code: from the table, else from its
// leading characters, else "other".
func kindOf(code string) string {
	if k, ok := typeCodes[code]; ok {
		return k
	}
	switch {
	case strings.Contains(code, "辖"):
		return KindJurisdiction
	case strings.HasPrefix(code, "司救"):
		return KindJudicialRelief
	case strings.HasPrefix(code, "司惩"):
		return KindSanction
	case strings.Contains(code, "保") && !strings.HasPrefix(code, "民") && !strings.HasPrefix(code, "刑"):
		return KindPreservation
	case strings.HasPrefix(code, "行赔"):
		return KindAdministrative
	case strings.HasPrefix(code, "刑"):
		return KindCriminal
	case strings.HasPrefix(code, "民"), strings.HasPrefix(code, "商"):
		return KindCivil
	case strings.HasPrefix(code, "行"):
		return KindAdministrative
	case strings.HasPrefix(code, "执"):
		return KindEnforcement
	case strings.HasPrefix(code, "破"), strings.HasPrefix(code, "强清"):
		return KindBankruptcy
	case strings.HasPrefix(code, "法赔"), strings.HasPrefix(code, "委赔"), strings.HasPrefix(code, "赔"):
		return KindStateCompensation
	case strings.HasPrefix(code, "协"), strings.HasPrefix(code, "请"), strings.HasPrefix(code, "认"):
		return KindJudicialAssistance
	}
	return KindOther
}

// specialCodes are the special trial codes (专门审判代字) that may stand
// between the court code and the type code; 知 marks cases of the
// intellectual property tribunals (法〔2018〕335号).
const specialCodes = "知"
