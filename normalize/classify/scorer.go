package classify

import (
	"regexp"
	"slices"
	"strings"
	"sync"
)

// The scorer decides the category when no rule sets one. Every category
// collects evidence from hand-written phrase lexicons (lexicon below); the
// category with the highest score wins, ties going to the order of
// scoreOrder, and a letter without evidence is other.
//
// The text (subject, then content, compacted like keywords and with common
// traditional characters folded to simplified ones) is split into clauses
// at Chinese and ASCII punctuation. A lexicon entry is a phrase ("终本")
// or a sequence of parts that must follow each other within one clause
// ("补…还是不收", "对方…不还"), which is how the scorer tells who is
// acted on: 对方不履行 is enforcement, 法官态度 a complaint. An entry
// preceded in its clause by a negation (不是, 并非, 不要, 不想, …) does not
// count — "我不是要告法官，就想了解一下流程" has no complaint evidence —
// unless the clause is a rhetorical question ending in 吗. A letter with
// questions (？, 吗, 请问, 怎么, 哪里, 多少, …) leans to consultation, or to
// case_query when it speaks of the writer's own case. An enforcement case
// number (Input.Fields["case_kinds"] containing "enforcement", or 执 in a
// case number in the text) is evidence for enforcement.

// scoreOrder breaks ties: the centre's lanes first, then the specific
// hotline functions, then the generic ones.
var scoreOrder = [...]string{FilingRefusal, Enforcement, Complaint, ContactJudge, CaseQuery, Suggestion, Consultation, Other}

type entry struct {
	parts  []string
	weight float64
	id     int // index in the text's presence set
}

type lane struct {
	category string
	rank     int // index in scoreOrder
	entries  []entry
}

// lexicon is parsed from lexiconText: a line "= category" starts a lane,
// and every other line is "weight entry entry …", an entry being phrase
// parts joined by "…".
var lexicon = parseLexicon(lexiconText)

// words answers, in one pass over a letter (phraseSet), every "does the
// text contain …" the scorer asks: the parts of the lexicon's entries and
// the word lists below.
var words = buildWords()

type scorerWords struct {
	set *phraseSet
	// first and later are the phrase ids of each lexicon entry's parts.
	first []int32
	later [][]int32
	// byFirst lists, for each phrase id, the lexicon entries (ids, in
	// lexicon order) whose first part it is: a letter's candidate entries
	// come from the phrases it holds instead of a test of every entry.
	byFirst [][]int32
	// entries maps an entry id to its lane and index in the lexicon.
	entries                                  []entryAt
	mask, notCourt, question, ownCase, court group
	zhi                                      int32
}

type entryAt struct{ lane, index int32 }

func buildWords() *scorerWords {
	var ids phraseIDs
	w := &scorerWords{}
	n := 0
	for li := range lexicon {
		for ei := range lexicon[li].entries {
			e := &lexicon[li].entries[ei]
			e.id = n
			n++
			w.first = append(w.first, ids.id(e.parts[0]))
			w.later = append(w.later, ids.group(e.parts[1:]))
			w.entries = append(w.entries, entryAt{int32(li), int32(ei)})
		}
	}
	w.mask = ids.group(maskKeys)
	w.notCourt = ids.group(notCourt)
	w.question = ids.group(questionMarks)
	w.ownCase = ids.group(ownCase)
	w.court = ids.group(courtWords)
	w.zhi = ids.id("执")
	w.set = newPhraseSet(ids.list)
	w.byFirst = make([][]int32, len(ids.list))
	for id, f := range w.first {
		w.byFirst[f] = append(w.byFirst[f], int32(id))
	}
	return w
}

// candidates appends the ids of the lexicon entries all of whose parts
// occur in the text (found), in lexicon order.
func (w *scorerWords) candidates(dst []int32, found []bool) []int32 {
	for ph, ok := range found {
		if !ok {
			continue
		}
		for _, id := range w.byFirst[ph] {
			if w.has(int(id), found) {
				dst = append(dst, id)
			}
		}
	}
	slices.Sort(dst)
	return dst
}

// has reports whether every part of lexicon entry id occurs in the text
// found describes (a necessary condition for a match within one clause).
func (w *scorerWords) has(id int, found []bool) bool {
	if !found[w.first[id]] {
		return false
	}
	for _, p := range w.later[id] {
		if !found[p] {
			return false
		}
	}
	return true
}

var foundBufs = sync.Pool{New: func() any { b := make([]bool, len(words.set.phrases)); return &b }}

const lexiconText = `
= filing_refusal
3 有案不立 立案难 不予立案 不立案 拒绝立案 拒不立案 不给立案 不给我立案 不让立案 立不了案 不予受理 未予立案 不给立 不立也不 不受理 不接收 拒收 拒绝接收 不给登记 不予登记 不收我的 不收材料 不收诉状
3 至今未立案 迟迟未立案 一直未立案 至今没有立案 一直没有立案 迟迟没有立案 没有案号 立案指标 不想立案 不好立 拖着不立 还是不立
3 补…还是不收 补…又说 补正…又 补完又 退回…次 被退回 退回来 都被退 被打回来 打回来 扔出来 材料…丢了 材料找不到 不收…又说 又不收 也不收 不收也不退 既不…立案 没下文 审核不通过
2 立案庭 立案窗口 立按 立案大厅 起诉状 诉状 起诉材料 起诉书 递交 交上去 递上去 材料不齐 材料不全 补材料 补正 不予受理裁定 不予立案裁定 回执 收据 待审核 登记
2 不收 不给…裁定 也不给…裁定 不出…裁定 也未…裁定 不归…管 不符合条件 
= enforcement
3 执行难 执行不到位 强制执行 被执行人 执行款 申请执行 执行案件 执行不力 消极执行 拖延执行 迟迟不执行 终结本次执行 终本 拒不履行 不履行 失信 老赖 限制高消费 恢复执行 查封 冻结 扣划 拍卖 转移财产 可供执行 执行回来 执行不了 执行法院 履行能力 没财产 无财产
3 赢了…钱 赢了…拿不到 赢了…没见 判了…不给 判了…不还 判了…不执行 判了…白判 白判 判了…一分 判决…废纸 一分…没到 一分钱…没 一分没 一毛不拔 钱…要不回来 钱要不回来 拿不到钱 钱拿不到 不给钱 不还钱 不还 欠着 赔偿…不给 拖着不给 不给抚养费 判…赔 豪车 别墅 晒旅游 执行不到钱
2 执行局 对方…不给 对方…没钱 对方…有房 名下…有 欠款人 欠我钱 调解书…付清 判决生效后 生效了…执行 财产线索 发放 发给我 打给我 到账 划过来
= complaint
3 投诉 举报 违纪 违法办案 枉法 吃拿卡要 态度恶劣 态度蛮横 态度差 态度很差 徇私 受贿 索贿 贪污 不作为 乱作为 刁难 辱骂 关系案 人情案 金钱案 偏袒 偏向 偏听偏信 不公正 不公 颠倒黑白 收了…钱 收受 好处 回避 私下 逼我 吼 骂 训斥 大吼 推搡 赶出 不耐烦 看不起 难听 说话阴阳怪气 阴阳怪气 爱理不理 不讲道理 称兄道弟 玩手机 接电话、 迟到 故意 弄丢 丢了…原件 不承认 程序…违法 违反程序 违反规定 超过审限 超审限 拖了…不判 还在审 拖拖拉拉 换法官 告法官 告…法官 缺席判决 不让我说话 不许我说话 不让我辩解 不看证据 没调查 聊天 扔在门口 错过 写错
= contact_judge
3 联系法官 联系…法官 联系承办 联系书记员 联系…书记员 联系法官助理 找法官 找…法官 找承办 找执行法官 找书记员 约见 见法官 见…法官 跟法官 和法官 跟承办法官 联系不上 联系不到 打不通 没人接 不接电话 不接…电话 占线 回电话 回个电话 回我个电话 回个话 给我回 转告 转达 转交 转给 交给…法官 交给谁 联系方式 电话…给我 法官的电话 法官电话 空号 联系我 跟我联系 约一下 约个时间 当面 沟通 说一声 视频说明
1 承办法官 主审法官 主办法官 审判长 承办人 书记员 法官助理
= case_query
3 进度 进展 审到 审理到 到哪了 到哪一步 哪个阶段 什么阶段 什么程度 什么时候开庭 开庭时间 什么时候判 什么时候宣判 什么时候出判决 什么时候能有结果 判了没 判没判 判了没有 结了 结果出来 出来没 有没有立上 立上 是否已经立案 有没有立案 立案了没 立案了吗 排期 审理情况 审理期限 审限 审理状态 啥状态 什么状态 现在是什么 有没有上诉 有没有被受理 移送 归档 生效证明 批了没 做完了吗 中止审理 有没有取消 卷宗 寄给我 判决书什么时候 查一下…案 查询…案 帮查 查一下我 案件信息 查询 确认一下
= suggestion
3 建议 希望 提个意见 提一个 提个 意见: 意见： 能不能在 能不能建 应该修 应该多 应该更新 应当同时 增设 增加 扩建 开通 延长 简化 改进 放大 公开 开放 设立 设个 设几个 多开展 方便老百姓 方便
= consultation
1 请问 想问 问一下 问问 想知道
3 咨询 怎么办 了解一下流程 怎么申请 如何申请 怎么办理 怎么操作 怎么算 怎么补办 怎么做 怎么走 需要什么 需要哪些 需要怎么 带什么材料 准备什么 要交多少 多少钱 是多少 多长时间 几天 能不能告 能告吗 可以起诉吗 能起诉吗 还能起诉 能去法院告 该去哪里告 哪里告 在哪里起诉 哪个法院起诉 哪个法院打 到哪个法院 去法院还是 先仲裁还是 管不管 有法律效力吗 是怎么回事 可以不请律师 需要担保 需要他的 诉讼时效 法律援助 有人帮忙写 能在…起诉 会不会判 能要求 可以起诉
= other
3 派出所 公安 警察 报警 报案 政府 村委会 村干部 村支书 镇长 信访局 检察院 物业 业委会 社保 医保 低保 教育局 城管 劳动监察 看守所 护照 锦旗 谢谢 感谢 拆迁 医院
`

func parseLexicon(s string) []lane {
	var out []lane
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if c, ok := strings.CutPrefix(line, "= "); ok {
			out = append(out, lane{category: c, rank: rankOf(c)})
			continue
		}
		f := strings.Fields(line)
		w := 0.0
		switch f[0] {
		case "1":
			w = 1
		case "2":
			w = 2
		case "3":
			w = 3
		default:
			panic("classify: lexicon: bad weight in " + line)
		}
		l := &out[len(out)-1]
		for _, e := range f[1:] {
			parts := strings.Split(normalizeScript(compact(e)), "…")
			l.entries = append(l.entries, entry{parts: parts, weight: w})
		}
	}
	return out
}

// notCourt names other bodies whose refusals are not filing refusals.
var notCourt = []string{"派出所", "公安", "警察", "检察院", "政府", "仲裁委"}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// negations cancel evidence after them in the same clause.
var negations = []string{"不是", "并非", "并不是", "不要", "不想", "无意", "不为", "没想"}

// questionMarks make a clause a question.
var questionMarks = []string{"?", "吗", "请问", "怎么", "如何", "哪里", "哪个", "多少", "能不能", "可不可以", "是否", "有没有", "什么时候", "了没", "是不是", "呢"}

// ownCase words tie a question to the writer's own case.
var ownCase = []string{"我的案", "我们的案", "案子", "案件", "案号", "号案", "上诉", "判决书", "开庭", "判了", "立案了"}

var enforcementCaseNumber = regexp.MustCompile(`[（(]\d{4}[)）][^号]{0,12}执[^号]{0,8}号`)

// splitClauses splits compacted text at punctuation.
func splitClauses(t string) []string {
	return strings.FieldsFunc(t, func(r rune) bool {
		switch r {
		case ',', '.', '!', '?', ';', ':', '。', '，', '、', '！', '？', '；', '：', '\n', '…', '~', '—':
			return true
		}
		return false
	})
}

// matchEntry returns the byte offset of the first part and the matched
// span of e in clause c, or -1.
func matchEntry(c string, e entry) (int, string) {
	start, pos := -1, 0
	for _, p := range e.parts {
		i := strings.Index(c[pos:], p)
		if i < 0 {
			return -1, ""
		}
		if start < 0 {
			start = pos + i
		}
		pos += i + len(p)
	}
	return start, c[start:pos]
}

func negated(c string, at int) bool {
	if strings.HasSuffix(c, "吗") {
		return false
	}
	for _, n := range negations {
		if i := strings.Index(c, n); i >= 0 && i+len(n) <= at && !strings.HasSuffix(c[:i], "是") {
			return true // 是不是 asks, it does not negate
		}
	}
	return false
}

// masks rewrite words that contain lexicon phrases in another sense
// before matching: 转告法官 and 告诉法官 do not sue the judge, and
// 建议 and 意见 in legal documents or in what a judge told the writer are
// not the writer's suggestion.
var maskPairs = []string{"转告", "转达", "告诉", "说给",
	"法官建议", "法官劝", "法院建议", "法院劝", "建议我", "劝我", "建议原告", "劝原告", "建议被告", "劝被告", "司法建议", "司法文书",
	"不建议", "不劝", "鉴定意见", "鉴定结论", "处理意见", "处理结论", "审查意见", "审查结论", "审核意见", "审核结论", "意见书", "结论书", "判决意见", "判决结论"}

var masks = strings.NewReplacer(maskPairs...)

// maskKeys are the words masks rewrites: most letters hold none, and the
// replacer is not run for them.
var maskKeys = func() []string {
	var k []string
	for i := 0; i < len(maskPairs); i += 2 {
		k = append(k, maskPairs[i])
	}
	return k
}()

// courtWords show that a letter concerns the courts at all; a letter
// without them but with evidence for other (police, government, village
// committee, …) is about another body and is other.
var courtWords = []string{"法院", "法官", "庭", "立案", "判", "起诉", "诉状", "诉讼", "上诉", "申诉", "执行", "书记员", "案件", "案子", "案号", "仲裁", "调解", "律师", "官司", "告"}

// score returns the best category and the evidence for it; subject and
// content are in.Subject and in.Content compacted.
func score(in Input, subject, content string) (string, []string) {
	full := normalizeScript(subject + "。" + content)
	fb := foundBufs.Get().(*[]bool)
	defer foundBufs.Put(fb)
	found := *fb
	words.set.scan(full, found)
	if words.mask.any(found) {
		full = masks.Replace(full)
		words.set.scan(full, found)
	}
	clauses := splitClauses(full)
	var otherBody []bool // clauses that name another body (police, …)
	if words.notCourt.any(found) {
		otherBody = make([]bool, len(clauses))
		for i, c := range clauses {
			otherBody[i] = containsAny(c, notCourt)
		}
	}
	var scores [len(scoreOrder)]float64
	var evidence [len(scoreOrder)][]string
	type counted struct{ clause, start, end int }
	var doneBuf [16]counted
	var candBuf [64]int32
	lastLane := int32(-1)
	done := doneBuf[:0]
	for _, id := range words.candidates(candBuf[:0], found) {
		at := words.entries[id]
		l := &lexicon[at.lane]
		e := l.entries[at.index]
		if at.lane != lastLane {
			// Entries of a lane that overlap one already counted (联系承办
			// in 联系承办法官) do not count again.
			lastLane, done = at.lane, doneBuf[:0]
		}
		for ci, c := range clauses {
			if l.category == FilingRefusal && otherBody != nil && otherBody[ci] {
				continue // the police's refusal to open a case is not a court's
			}
			at, span := matchEntry(c, e)
			if at < 0 || negated(c, at) {
				continue
			}
			end := at + len(span)
			if slices.ContainsFunc(done, func(s counted) bool { return s.clause == ci && s.start < end && at < s.end }) {
				continue
			}
			done = append(done, counted{ci, at, end})
			scores[l.rank] += e.weight
			evidence[l.rank] = append(evidence[l.rank], l.category+":"+span)
			break
		}
	}
	if words.question.any(found) {
		target := Consultation
		if words.ownCase.any(found) {
			target = CaseQuery
		}
		scores[rankOf(target)] += 1.5
		evidence[rankOf(target)] = append(evidence[rankOf(target)], target+":question")
	}
	kinds := in.CaseKinds
	if kinds == nil {
		kinds, _ = in.Fields["case_kinds"].([]string)
	}
	enf := rankOf(Enforcement)
	if slices.Contains(kinds, "enforcement") || (found[words.zhi] && enforcementCaseNumber.MatchString(full)) {
		scores[enf] += 3
		evidence[enf] = append(evidence[enf], Enforcement+":执 case number")
	}
	other := rankOf(Other)
	if scores[other] > 0 && !words.court.any(found) {
		return Other, evidence[other]
	}
	best, bestScore := other, 0.0
	for k := range scoreOrder {
		if scores[k] > bestScore {
			best, bestScore = k, scores[k]
		}
	}
	return scoreOrder[best], evidence[best]
}

// rankOf returns a category's index in scoreOrder.
func rankOf(category string) int {
	i := slices.Index(scoreOrder[:], category)
	if i < 0 {
		panic("classify: no lane for " + category)
	}
	return i
}

// traditional folds the traditional characters common in petitions to
// simplified ones, so that one lexicon serves both scripts.
var traditional = func() map[rune]rune {
	pairs := []rune("訴诉狀状遞递絕绝後后說说導导領领執执決决錢钱沒没對对為为無无網网請请問问審审聯联繫系辦办證证據据調调員员簽签敗败態态惡恶語语陰阴陽阳議议體体當当裡里騙骗顯显麼么經经連连續续過过書书記记東东應应該该個个們们這这還还來来時时間间會会號号處处給给讓让寫写開开與与從从總总關关門门長长錯错斷断訟讼報报達达轉转發发擊击幫帮電电話话聽听見见點点樣样實实歲岁難难雖虽親亲產产車车華华貨货營营銀银財财權权協协勞劳動动務务費费額额償偿賠赔執执違违規规據据險险邊边題题認认識识設设計计護护團团縣县鎮镇鄉乡紅红")
	m := make(map[rune]rune, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return m
}()

// normalizeScript folds traditional characters; a text without any is
// returned as it is (strings.Map does not copy it).
func normalizeScript(s string) string {
	return strings.Map(func(r rune) rune {
		if t, ok := traditional[r]; ok {
			return t
		}
		return r
	}, s)
}
