package mail

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	xunicode "golang.org/x/text/encoding/unicode"
)

// charsetClass says how a declared charset label is treated.
type charsetClass int

const (
	// classGuess: no label, US-ASCII or a placeholder such as unknown-8bit.
	// ASCII stays ASCII; 8-bit data is decoded as UTF-8 when valid, else as
	// GB18030 or Big5, whichever reads as Chinese.
	classGuess charsetClass = iota
	// classUnknown: a label that names no encoding we know. Same guess as
	// classGuess, reported as a problem.
	classUnknown
	// classUTF8: UTF-8; invalid data is guessed like classGuess.
	classUTF8
	// classGB: every GB2312/GBK/GB18030 label, decoded as GB18030 (a
	// superset, so GBK characters outside GB2312 such as 镕 喆 堃 survive).
	classGB
	// classBig5: Big5 and Big5-HKSCS (x/text's Big5 is the WHATWG table,
	// which includes the HKSCS extensions).
	classBig5
	// classWestern: a single-byte Western table (ISO 8859-x, windows-125x,
	// KOI8...). Chinese mail mislabelled this way is common, so valid UTF-8
	// and text that clearly reads as GB18030 win over the label.
	classWestern
	// classOther: any other encoding x/text knows (Shift_JIS, EUC-KR,
	// UTF-16, ISO-2022-JP, HZ...), trusted as declared.
	classOther
)

type charsetInfo struct {
	class charsetClass
	enc   encoding.Encoding // nil for classGuess, classUnknown, classUTF8
	label string            // normalised label
}

var gbLabels = map[string]bool{
	"gb2312": true, "gbk": true, "gb_2312-80": true, "gb_2312": true, "gb2312-80": true,
	"x-gbk": true, "cp936": true, "ms936": true, "windows-936": true, "x-cp936": true,
	"euc-cn": true, "x-euc-cn": true, "euccn": true, "eucgb2312_cn": true, "csgb2312": true,
	"chinese": true, "csiso58gb231280": true, "iso-ir-58": true, "gb18030": true,
	"gb-18030": true, "x-gb18030": true, "gb18030-2000": true, "gb18030-2005": true,
	"gb18030-2022": true, "gb_18030-2000": true, "x-mac-chinesesimp": true, "gb": true,
	"cn-gb": true, "csgbk": true, "936": true,
}

var big5Labels = map[string]bool{
	"big5": true, "big-5": true, "big5-hkscs": true, "big5hkscs": true, "big5_hkscs": true,
	"x-x-big5": true, "cn-big5": true, "csbig5": true, "x-big5": true, "cp950": true,
	"ms950": true, "windows-950": true, "x-windows-950": true, "x-mac-chinesetrad": true,
	"950": true,
}

var utf8Labels = map[string]bool{
	"utf-8": true, "utf8": true, "unicode-1-1-utf-8": true, "x-unicode20utf8": true,
	"unicode-2-0-utf-8": true, "x-utf_8j": true, "x-utf-8": true, "utf_8": true,
}

var guessLabels = map[string]bool{
	"": true, "us-ascii": true, "ascii": true, "ansi_x3.4-1968": true, "ansi_x3.4-1986": true,
	"iso646-us": true, "iso_646.irv:1991": true, "us": true, "csascii": true, "iso-ir-6": true,
	"ibm367": true, "cp367": true, "646": true, "x-unknown": true, "unknown-8bit": true,
	"unknown": true, "x-user-defined": true, "default": true, "none": true, "8bit": true,
	"x-binaryenc": true,
}

// normaliseCharset lower-cases a charset label and removes what mailers
// wrap it in: quotes, an RFC 2231 language suffix, a stray "charset=".
func normaliseCharset(label string) string {
	s := strings.ToLower(strings.TrimSpace(label))
	s = strings.Trim(s, "\"' ")
	s = strings.TrimPrefix(s, "charset=")
	s = strings.Trim(s, "\"' ")
	if i := strings.IndexAny(s, "* \t;"); i >= 0 { // RFC 2231 charset*lang; junk
		s = s[:i]
	}
	return clip(s, 40)
}

func lookupCharset(label string) charsetInfo {
	s := normaliseCharset(label)
	switch {
	case guessLabels[s]:
		return charsetInfo{class: classGuess, label: s}
	case utf8Labels[s]:
		return charsetInfo{class: classUTF8, label: s}
	case gbLabels[s]:
		return charsetInfo{class: classGB, enc: simplifiedchinese.GB18030, label: s}
	case big5Labels[s]:
		return charsetInfo{class: classBig5, enc: traditionalchinese.Big5, label: s}
	case utf7Labels[s]:
		return charsetInfo{class: classOther, enc: UTF7, label: s}
	case s == "hz-gb-2312" || s == "hz":
		// htmlindex maps HZ to the replacement encoding; x/text decodes it.
		return charsetInfo{class: classOther, enc: simplifiedchinese.HZGB2312, label: s}
	}
	enc, err := htmlindex.Get(s)
	if err != nil || enc == nil || enc == encoding.Replacement {
		enc = nil
		for _, idx := range []*ianaindex.Index{ianaindex.MIME, ianaindex.IANA} {
			if e, err := idx.Encoding(s); err == nil && e != nil && e != encoding.Replacement {
				enc = e
				break
			}
		}
	}
	if enc == nil {
		return charsetInfo{class: classUnknown, label: s}
	}
	if enc == encoding.Nop || enc == xunicode.UTF8 {
		return charsetInfo{class: classUTF8, label: s}
	}
	if isWestern(s) {
		return charsetInfo{class: classWestern, enc: enc, label: s}
	}
	return charsetInfo{class: classOther, enc: enc, label: s}
}

func isWestern(label string) bool {
	for _, p := range []string{"iso-8859", "iso8859", "iso_8859", "latin", "l1", "l2", "l9", "windows-125", "cp125", "x-cp125", "koi8", "ibm8", "cp8", "macintosh", "x-mac-", "csisolatin"} {
		if strings.HasPrefix(label, p) {
			return true
		}
	}
	return false
}

// decodeCharset converts b, declared as label, to UTF-8. The returned note,
// when not empty, describes a guess or a mismatch worth recording.
func decodeCharset(label string, b []byte) (s, note string) {
	info := lookupCharset(label)
	switch info.class {
	case classGuess:
		if isASCII(b) || utf8.Valid(b) {
			return string(b), ""
		}
		s, name := guessText(b)
		if info.label == "" {
			return s, "8-bit text without charset decoded as " + name
		}
		return s, fmt.Sprintf("8-bit text labelled %q decoded as %s", info.label, name)
	case classUnknown:
		if isASCII(b) || utf8.Valid(b) {
			return string(b), fmt.Sprintf("unknown charset %q, text kept as UTF-8", info.label)
		}
		s, name := guessText(b)
		return s, fmt.Sprintf("unknown charset %q, text decoded as %s", info.label, name)
	case classUTF8:
		if utf8.Valid(b) {
			return string(b), ""
		}
		if mostlyUTF8(b) {
			return strings.ToValidUTF8(string(b), "\uFFFD"), "invalid UTF-8 bytes replaced"
		}
		s, name := guessDecode(b)
		return s, fmt.Sprintf("text labelled %q is not valid UTF-8, decoded as %s", info.label, name)
	case classGB, classBig5:
		if isASCII(b) {
			return string(b), ""
		}
		s := decodeWith(info.enc, b)
		if utf8.Valid(b) && utf8Better(string(b), s) {
			return string(b), fmt.Sprintf("text labelled %q is valid UTF-8, kept as UTF-8", info.label)
		}
		return s, ""
	case classWestern:
		if isASCII(b) {
			return string(b), ""
		}
		if utf8.Valid(b) && !hasC1(string(b)) {
			return string(b), fmt.Sprintf("text labelled %q is valid UTF-8, kept as UTF-8", info.label)
		}
		if s, name, ok := chineseDecode(b); ok {
			return s, fmt.Sprintf("text labelled %q reads as Chinese, decoded as %s", info.label, name)
		}
		return decodeWith(info.enc, b), ""
	default:
		return decodeWith(info.enc, b), ""
	}
}

func decodeWith(enc encoding.Encoding, b []byte) string {
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		// x/text decoders replace bad input; an error here is internal
		// (e.g. a transformer refusing input). Keep the bytes.
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// mostlyUTF8 reports whether b, not valid UTF-8, is nevertheless UTF-8
// text with a few broken bytes (a damaged tail, a cut character) rather
// than text in another charset: it has valid multi-byte sequences and
// invalid bytes are at most a quarter of its 8-bit bytes (GBK read as
// UTF-8 is nearly all invalid).
func mostlyUTF8(b []byte) bool {
	multi, invalid, high := 0, 0, 0
	for i := 0; i < len(b); {
		if b[i] < 0x80 {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			invalid++
			high++
		} else {
			multi++
			high += size
		}
		i += size
	}
	return multi > 0 && invalid*4 <= high
}

// hasC1 reports whether s holds C1 control characters, which real text
// does not: valid UTF-8 with them is more likely a single-byte charset.
func hasC1(s string) bool {
	for _, r := range s {
		if r >= 0x80 && r < 0xa0 {
			return true
		}
	}
	return false
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// guessText decodes 8-bit text that is not valid UTF-8 and carries no
// trustworthy label: as UTF-8 with the broken bytes replaced when it is
// mostly UTF-8, otherwise as guessDecode says.
func guessText(b []byte) (string, string) {
	if mostlyUTF8(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD"), "UTF-8 (invalid bytes replaced)"
	}
	return guessDecode(b)
}

// guessDecode decodes 8-bit text that is not valid UTF-8 and carries no
// trustworthy label. GB18030 is the default (this is a Chinese court's
// mailbox); Big5 is chosen when it reads clearly more like Chinese, and
// windows-1252 when the text is Western (accented letters standing alone
// between ASCII letters) and reads as Chinese in neither table.
func guessDecode(b []byte) (string, string) {
	gb := decodeWith(simplifiedchinese.GB18030, b)
	gbScore, gbHan := hanScore(gb)
	if gbHan >= 4 && gbScore >= 0.4 {
		return gb, "GB18030"
	}
	big := decodeWith(traditionalchinese.Big5, b)
	bigScore, bigHan := hanScore(big)
	if bigHan >= 4 && bigScore >= 0.4 && bigScore > gbScore+0.2 {
		return big, "Big5"
	}
	if latinPattern(b) || westernPlausible(b) && !chinesePlausible(b) {
		// (the second: too few accented letters for a pattern, as in
		// "Det h\xe4r \xe4r ett ...", read like a header value)
		return decodeWith(charmap.Windows1252, b), "windows-1252"
	}
	return gb, "GB18030"
}

// utf8Better reports whether valid UTF-8 text declared as GBK or Big5 is
// really UTF-8 (mailers and bulk senders label UTF-8 text "gb2312"): the
// table's reading has replacement characters where the UTF-8 one has
// none, or the UTF-8 reading has the larger share of frequent Chinese
// characters. Real GBK text is valid UTF-8 only by rare chance, for a
// few characters, and then reads as rare ones.
func utf8Better(u, decoded string) bool {
	if strings.ContainsRune(decoded, utf8.RuneError) && !strings.ContainsRune(u, utf8.RuneError) {
		return true
	}
	us, uhan := hanScore(u)
	ds, _ := hanScore(decoded)
	return uhan > 0 && us > ds
}

// latinPattern reports whether most runs of 8-bit bytes in b are single
// bytes between ASCII letters, as accented letters in Western text are;
// in GBK and Big5 text 8-bit bytes come in pairs and longer runs.
func latinPattern(b []byte) bool {
	runs, single := 0, 0
	for i := 0; i < len(b); {
		if b[i] < 0x80 {
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] >= 0x80 {
			j++
		}
		runs++
		if j-i == 1 && i > 0 && j < len(b) && isLetter(b[i-1]) && isLetter(b[j]) {
			single++
		}
		i = j
	}
	return runs >= 3 && single*10 >= runs*6
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// chineseDecode reports whether 8-bit text labelled as a Western charset
// clearly reads as Chinese in GB18030 (or Big5), and returns that decoding.
func chineseDecode(b []byte) (string, string, bool) {
	s, name := guessDecode(b)
	score, han := hanScore(s)
	if han >= 4 && score >= 0.5 && !strings.ContainsRune(s, '\uFFFD') {
		return s, name, true
	}
	return "", "", false
}

// hanScore returns the share of Han characters in s that are among the most
// frequent Chinese characters (simplified and traditional), and the number
// of Han characters. Real Chinese text scores well above 0.5; bytes decoded
// with the wrong Chinese table score near 0.
func hanScore(s string) (float64, int) {
	var han, common int
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			han++
			if commonHan[r] {
				common++
			}
		}
	}
	if han == 0 {
		return 0, 0
	}
	return float64(common) / float64(han), han
}

var commonHan = func() map[rune]bool {
	m := make(map[rune]bool, 1200)
	for _, r := range commonHanChars {
		m[r] = true
	}
	return m
}()

// commonHanChars: about 750 of the most frequent characters in Chinese text
// (they cover well over half of any ordinary letter), the words of court
// petitions, and the traditional forms of the frequent ones.
const commonHanChars = "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵" +
	"诉讼状纠纷赔偿借贷欠款合同工资拖欠劳动仲裁执行申请立案审理判决裁定调解撤诉上诉再审被告原告法官庭院号盼复谢致敬礼尊敬领导投举报信访反映问题诉求情况属实恳请帮助解决维护合法权益依据事实理由证据材料附件联系电话身份住址" +
	"這個們來為國說時會對發後裡過學現當沒動麼經種與長機無從關點業將兩間實頭還進體開見應戰員門樣東話變題總電數報結區選達傳書認條氣聽讓識記難處親則產類義決師標議術萬裝廣顯願濟價號務辦車聯紀醫歷藝遠響壓邊請據覺歡觀權單華爾齊們條當級離況請變訴訟狀糾紛賠償貸欠資勞執審調撤證據聯繫電話謝領導舉報訪題實幫護權益臺灣區縣鄉鎮劉陳張楊趙黃吳鄭孫謝馬許蘇錢葉呂韓見給與萬門們這還讓們說來對時後會過經當發問現並於" +
	"零壹贰叁肆伍陆柒捌玖拾佰仟元角分年月日时点整号"

// CharsetReader returns a reader that converts input from the named charset
// to UTF-8, with this package's label table: every GB2312/GBK label decodes
// as GB18030, Big5 labels as Big5-HKSCS, HZ as HZ-GB-2312. For an unknown
// label it returns an error wrapping the label and a nil reader.
//
// It fits message.CharsetReader in github.com/emersion/go-message and
// mime.WordDecoder.CharsetReader; Parse itself does not depend on either.
// Labels without a real table (us-ascii, unknown-8bit...) pass the bytes
// through unchanged.
func CharsetReader(charset string, input io.Reader) (io.Reader, error) {
	info := lookupCharset(charset)
	switch info.class {
	case classUnknown:
		return nil, fmt.Errorf("mail: unknown charset %q", info.label)
	case classGuess, classUTF8:
		return input, nil
	}
	return info.enc.NewDecoder().Reader(input), nil
}

// decodeRaw8bit turns a raw header value into UTF-8. Valid UTF-8 (and
// ASCII) is kept. Other bytes are decoded with the first charset declared
// for them in which they are valid and which the bytes do not plainly
// contradict: those of the encoded words in the value itself, then the
// labels in declared (the message's Content-Type charset, then that of its
// text). Otherwise guessHeader guesses. The second result names the
// charset used when it was not UTF-8. ASCII bytes, and so RFC 2047 encoded
// words, are left as they are by every table tried.
func decodeRaw8bit(v string, declared []string) (string, string) {
	if utf8.ValidString(v) {
		return v, ""
	}
	b := []byte(v)
	labels := wordCharsets(v)
	labels = append(labels, declared...)
	tried := map[string]bool{}
	for _, label := range labels {
		info := lookupCharset(label)
		if tried[info.label] {
			continue
		}
		tried[info.label] = true
		if s, ok := decodeDeclared(info, b); ok {
			return s, info.label + " (declared)"
		}
	}
	return guessHeader(b)
}

// wordCharsets returns the charsets of the RFC 2047 encoded words in v.
func wordCharsets(v string) []string {
	var out []string
	for pos := 0; ; {
		k := strings.Index(v[pos:], "=?")
		if k < 0 {
			return out
		}
		w, ok := parseWord(v, pos+k)
		if !ok {
			pos += k + 2
			continue
		}
		out = append(out, w.charset)
		pos = w.end
	}
}

// decodeDeclared decodes b, which is not valid UTF-8, with a declared
// charset when the bytes are valid in it and do not read plainly as the
// other family (Western accented letters vs Chinese).
func decodeDeclared(info charsetInfo, b []byte) (string, bool) {
	switch info.class {
	case classGB, classBig5, classOther:
		if !asciiCompatible(info.label) {
			return "", false
		}
		s := decodeWith(info.enc, b)
		if strings.ContainsRune(s, utf8.RuneError) {
			return "", false
		}
		if westernPlausible(b) && !chinesePlausible(b) {
			return "", false
		}
		return s, true
	case classWestern:
		s := decodeWith(info.enc, b)
		if hasC1(s) || strings.ContainsRune(s, utf8.RuneError) {
			return "", false
		}
		if chinesePlausible(b) && !westernPlausible(b) {
			return "", false
		}
		return s, true
	}
	return "", false // UTF-8 (not valid here), no label, unknown label
}

// asciiCompatible reports whether a label's table keeps ASCII bytes as
// ASCII, which header text needs (UTF-16 and UTF-32 do not; UTF-7 and
// ISO-2022 reject 8-bit bytes anyway).
func asciiCompatible(label string) bool {
	for _, p := range []string{"utf-16", "utf16", "utf-32", "utf32", "ucs", "unicode", "iso-10646", "csunicode"} {
		if strings.HasPrefix(label, p) {
			return false
		}
	}
	return true
}

// guessHeader decodes raw 8-bit header bytes that are not valid UTF-8 and
// carry no usable declaration. Header values are short, often a single
// name, so Western text is recognised by its shape (each accented letter
// or pair of them next to an ASCII letter, as in "M\xfcller" or
// "Jo\xe3o") as long as GB18030 does not read it as common Chinese
// characters; everything else goes to guessText.
func guessHeader(b []byte) (string, string) {
	if !mostlyUTF8(b) && westernPlausible(b) && !chinesePlausible(b) {
		return decodeWith(charmap.Windows1252, b), "windows-1252"
	}
	return guessText(b)
}

// westernPlausible reports whether every run of 8-bit bytes in b is one or
// two bytes that windows-1252 reads as accented Latin letters, touching an
// ASCII letter: the shape of a German, French or Portuguese name. GBK and
// Big5 text has longer runs, or pairs that read as symbols or stand apart.
func westernPlausible(b []byte) bool {
	runs := 0
	for i := 0; i < len(b); {
		if b[i] < 0x80 {
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] >= 0x80 {
			j++
		}
		if j-i > 2 {
			return false
		}
		if !(i > 0 && isLetter(b[i-1]) || j < len(b) && isLetter(b[j])) {
			return false
		}
		for _, c := range b[i:j] {
			if !isLatinLetter(charmap.Windows1252.DecodeByte(c)) {
				return false
			}
		}
		runs++
		i = j
	}
	return runs > 0
}

// isLatinLetter: the windows-1252 letters with diacritics (and ß, æ, ø,
// œ ...), not ª º µ or symbols.
func isLatinLetter(r rune) bool {
	switch r {
	case 'Š', 'š', 'Œ', 'œ', 'Ž', 'ž', 'Ÿ':
		return true
	}
	return r >= 0xc0 && r <= 0xff && unicode.IsLetter(r)
}

// chinesePlausible reports whether b reads in GB18030 without errors as
// Han characters of which most are frequent ones.
func chinesePlausible(b []byte) bool {
	s := decodeWith(simplifiedchinese.GB18030, b)
	if strings.ContainsRune(s, utf8.RuneError) {
		return false
	}
	score, han := hanScore(s)
	return han > 0 && score >= 0.5
}
