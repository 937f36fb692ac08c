package casenum

import (
	"strings"
	"unicode/utf8"
)

// Kinds of cases, derived from the type code.
const (
	KindCivil              = "civil"               // 民事
	KindCriminal           = "criminal"            // 刑事
	KindAdministrative     = "administrative"      // 行政 (行政赔偿 included)
	KindEnforcement        = "enforcement"         // 执行 (执保 included)
	KindStateCompensation  = "state_compensation"  // 国家赔偿 (法赔, 委赔, 委赔监)
	KindJudicialRelief     = "judicial_relief"     // 司法救助 (司救…)
	KindJudicialAssistance = "judicial_assistance" // 区际和国际司法协助 (认…, …请送, 协外…, 请外…)
	KindPreservation       = "preservation"        // 非诉保全审查 (财保, 行保, 证保)
	KindBankruptcy         = "bankruptcy"          // 破产, 强制清算
	KindJurisdiction       = "jurisdiction"        // 管辖 (民辖, 刑辖, 行辖, …)
	KindSanction           = "sanction"            // 司法制裁 (司惩)
	KindOther              = "other"
)

// typeCodes is the closed table of type codes (类型代字) of 《人民法院案件类型
// 及其代字标准》 (annex of 法〔2015〕137号 as amended by 法〔2018〕335号), with
// the kind of each. A new-style number whose type code is not listed is not
// a case number: 民事, 执行, 刑事判决 or 知识产权 after a court code are words,
// not codes.
//
// Only codes we are sure of are listed; codes seen in practice but not in
// the standard are marked. A code missing here makes a real number
// disappear from the record, so add one when it is attested, not guessed.
//
// The codes marked "[table]" were added from a transcription of the
// standard's table with its category numbers (0102 刑事提级管辖案件 刑辖 …
// 1114 破产和解案件 破) in a court-system vendor's code,
// github.com/xy-daniel/autodeploy,
// src/main/groovy/com/hxht/autodeploy/utils/CaseTypeNewUtil.groovy (commit
// 219ca5f), and each is also in a second, independent list of the
// standard's codes, in its order (the case-type table of a Guangdong court
// jury-assignment app's mock data); the number before each is its category
// in the first. Codes in the first list only (刑教…
// 安置教育, 民保令 民保更 人身安全保护令, 行赔他, 赔确监) and codes of neither
// (民诉前保, 执督) are not added.
var typeCodes = map[string]string{
	// 管辖
	"刑辖": KindJurisdiction,
	"民辖": KindJurisdiction, "民辖终": KindJurisdiction, "民辖监": KindJurisdiction,
	"行辖": KindJurisdiction, "行辖终": KindJurisdiction,
	// [table] 行政赔偿管辖: 0116-0118 赔辖, 0119 赔辖终.
	"赔辖": KindJurisdiction, "赔辖终": KindJurisdiction,

	// 刑事
	"刑初": KindCriminal, "刑终": KindCriminal, "刑申": KindCriminal, "刑抗": KindCriminal,
	"刑再": KindCriminal, "刑监": KindCriminal, "刑核": KindCriminal, "刑更": KindCriminal,
	"刑医": KindCriminal, "刑没": KindCriminal, "刑他": KindCriminal,
	// [table] 强制医疗: 0215 解除 刑医解, 0216 复议 刑医复, 0217 监督 刑医监;
	// 停止执行死刑: 0219-0220 刑止, 0221 调查 刑止调, 0222 调查审核 刑止核;
	// 刑罚与执行变更: 0225 监督 刑更监, 0226 备案 刑更备.
	"刑医解": KindCriminal, "刑医复": KindCriminal, "刑医监": KindCriminal,
	"刑止": KindCriminal, "刑止调": KindCriminal, "刑止核": KindCriminal,
	"刑更监": KindCriminal, "刑更备": KindCriminal,

	// 民事
	"民初": KindCivil, "民终": KindCivil, "民申": KindCivil, "民抗": KindCivil,
	"民再": KindCivil, "民监": KindCivil, "民撤": KindCivil, "民特": KindCivil,
	"民特监": KindCivil, "民催": KindCivil, "民督": KindCivil, "民他": KindCivil,
	// [table] 0329 支付令监督案件.
	"民督监": KindCivil,
	// Not in the standard, seen in practice (诉前调解, pre-filing mediation).
	"民诉前调": KindCivil,

	// 行政 (行政赔偿 included)
	"行初": KindAdministrative, "行终": KindAdministrative, "行申": KindAdministrative,
	"行抗": KindAdministrative, "行再": KindAdministrative, "行监": KindAdministrative,
	"行审": KindAdministrative, "行审复": KindAdministrative, "行他": KindAdministrative,
	"行赔初": KindAdministrative, "行赔终": KindAdministrative, "行赔申": KindAdministrative,
	"行赔抗": KindAdministrative, "行赔再": KindAdministrative, "行赔监": KindAdministrative,

	// 国家赔偿
	"法赔": KindStateCompensation, "委赔": KindStateCompensation, "委赔监": KindStateCompensation,
	// [table] 司法赔偿监督: 0514 上级法院赔偿委员会重审 委赔提, 0515 本院赔偿
	// 委员会重审 委赔再; 0516 其他赔偿案件 赔他.
	"委赔提": KindStateCompensation, "委赔再": KindStateCompensation, "赔他": KindStateCompensation,

	// 司法救助
	"司救刑": KindJudicialRelief, "司救民": KindJudicialRelief, "司救行": KindJudicialRelief,
	"司救赔": KindJudicialRelief, "司救执": KindJudicialRelief, "司救访": KindJudicialRelief,
	"司救他": KindJudicialRelief,

	// 执行; 执保 (财产保全执行) is an enforcement case, not a preservation
	// review.
	"执": KindEnforcement, "执恢": KindEnforcement, "执保": KindEnforcement,
	"执异": KindEnforcement, "执复": KindEnforcement, "执监": KindEnforcement,
	"执协": KindEnforcement, "执他": KindEnforcement,

	// 非诉保全审查
	"财保": KindPreservation, "行保": KindPreservation, "证保": KindPreservation,
	// [table] 0903 非诉行为保全复议案件.
	"行保复": KindPreservation,

	// 强制清算与破产
	"强清申": KindBankruptcy, "强清": KindBankruptcy, "强清终": KindBankruptcy, "强清监": KindBankruptcy,
	// 强制清算 as the 2015 standard abbreviates it (清申 申请, 清终 上诉,
	// 清监 监督); courts number with both forms.
	"清申": KindBankruptcy, "清终": KindBankruptcy, "清监": KindBankruptcy,
	"破申": KindBankruptcy, "破": KindBankruptcy, "破终": KindBankruptcy, "破监": KindBankruptcy,

	// 司法制裁
	"司惩": KindSanction, "司惩复": KindSanction,

	// 区际司法协助: 认可与执行 (认台 认港 认澳, 复议 认复, 其他 认他); 送达
	// and 调查取证 requested by a mainland court (请台送 …) and by the
	// region (台请送 …).
	"认台": KindJudicialAssistance, "认港": KindJudicialAssistance, "认澳": KindJudicialAssistance,
	"认复": KindJudicialAssistance, "认他": KindJudicialAssistance,
	"请台送": KindJudicialAssistance, "台请送": KindJudicialAssistance,
	"请港送": KindJudicialAssistance, "港请送": KindJudicialAssistance,
	"请澳送": KindJudicialAssistance, "澳请送": KindJudicialAssistance,
	"请台调": KindJudicialAssistance, "台请调": KindJudicialAssistance,
	"请港调": KindJudicialAssistance, "港请调": KindJudicialAssistance,
	"请澳调": KindJudicialAssistance, "澳请调": KindJudicialAssistance,
	// 被判刑人移管: requested by (请移管) and of (助移管) a mainland court.
	"请移管": KindJudicialAssistance, "助移管": KindJudicialAssistance,
	// [table] 罪赃移交 (Taiwan): 0634 接收 请移赃, 0635 移交 助移赃.
	"请移赃": KindJudicialAssistance, "助移赃": KindJudicialAssistance,

	// 国际司法协助: 承认与执行 (协外认), 送达 and 调查取证 requested by
	// (请外…) and of (协外…) a mainland court, 其他 (协他).
	"协外认": KindJudicialAssistance, "协他": KindJudicialAssistance,
	"请外送": KindJudicialAssistance, "协外送": KindJudicialAssistance,
	"请外调": KindJudicialAssistance, "协外调": KindJudicialAssistance,
	// [table] 被判刑人移管: 0714 接收 请外移, 0715 移管 协外移; 引渡: 0717
	// 请求外国引渡 请外引, 0718 协助外国引渡 协外引.
	"请外移": KindJudicialAssistance, "协外移": KindJudicialAssistance,
	"请外引": KindJudicialAssistance, "协外引": KindJudicialAssistance,
}

// oldHeads are the characters a type code of the pre-2016 format may start
// with. Those codes were not standardised (民一终, 商初, 知民初, 立民终 …), so
// old-style numbers are checked against these heads, not against
// typeCodes.
const oldHeads = "刑民行执破强法委司财证认协请赔商知立审监提海"

// oldTypeLimit is the longest old-style type code, in characters.
const oldTypeLimit = 5

// validType reports whether code is a type code: for new-style numbers one
// of typeCodes; for old-style ones a code of at most oldTypeLimit
// characters that starts with one of oldHeads.
func validType(code string, old bool) bool {
	if _, ok := typeCodes[code]; ok {
		return true
	}
	if !old {
		return false
	}
	first, _ := utf8.DecodeRuneInString(code)
	return utf8.RuneCountInString(code) <= oldTypeLimit && strings.ContainsRune(oldHeads, first)
}

// kindOf returns the kind of a type code: from the table, else (old-style
// codes) from its leading characters, else "other".
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
	case strings.HasPrefix(code, "执"):
		return KindEnforcement
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
