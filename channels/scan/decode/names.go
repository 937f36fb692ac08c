package decode

import "strings"

// Chinese personal names are drawn from a small alphabet: a few hundred
// surnames cover almost everyone, and given names repeat a few thousand
// characters. OCR misreads turn 香 into 舌 or 曹 into 旦 — characters that
// are real, read with confidence, and agreed on by a second reading, but
// that almost never stand in a name. A name whose surname is not among the
// common ones, or with a given-name character outside the common set, is not
// taken without review: a false alarm costs a clerk a glance, a wrong name
// sends a court's answer to nobody.

// surnames are common single-character surnames (百家姓 and the national
// surname statistics) and the compound ones still in use.
var surnames = setOf(`王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程魏苏吕丁任沈姚卢钟姜崔谭陆范汪廖石金贾夏韦付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔赖文施洪辛柯庄樊殷温牛阎葛甘伍仇祝左包单舒涂关兰焦柳齐倪俞鲁翟季麦申耿聂时梅邢刁晏窦楚安管景虞明纪路苗宁欧谷章阮詹靳卓屈项蒙岳游尚於竺童霍佟滕盛邬颜华晋鞍卞凌骆房符连卜凤霍毕卫裴廉蓝巫冉桂成苑练车冷裘全刑古丛苟曲鲍晁荣娄谈蔺揭司郎浦奚植宫戚强栗褚廷邰阳容池喻巴隋干井茅乐雍郦蒯厉岑冀阙衣佘卓柴仲宗丘滑边荆汲都邸和台步桑郁蔚荀米姬诸晏储仝乌艾那习鄢粟敖缪花秋云双瞿尤柏班郜来计籍农银勾亓相巩国宣风帅弓利禹芦缑贝危冼居闵藏门铁东伏宿寇索燕权仉阚逯钮曲苍薄狄隆习`)

var compoundSurnames = []string{"欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯", "长孙", "宇文", "司徒", "端木", "独孤", "南宫", "西门", "呼延", "澹台", "轩辕", "万俟", "闻人", "赫连", "钟离", "申屠", "第五", "濮阳", "太史"}

// givenChars are characters common in given names.
var givenChars = setOf(`一丁七万丈三上东丝中丰丹为主丽举乃久义之乐乔九也书云亚亦京亭亮人仁今仕付仙代令以仪仲任份伊伍伟传伦伯佑佳俊俏保信修倩健偲儒允元兆光克兰兴其兵典军冠冬冰凌凡凤凯刚创利力功加务劲勇勤勋化北千升华卓南博卫印友双发叶吉同名君启和咏品哲唯善喜嘉器四园国圣坚均坤城培基堂塘士壮声夏多大天太夫奇奎奕好如妍妙妮姗姝姣姿娅娇娜娟娥娴婉婕婧婷媛嫣子孝孟季学宁宇安宏宗官定宜宝实宣家容宾富寒寿尊小少尔尚山岚岩岭峰峻崇川州巧巨帅师希帆平年幸广庆庭康廷建强彤彦彩彪影征德心忠志忻怀思怡恒恩恺悦情惠意慈慧成战才振敏教敬文斌斐新方旋旗日旦旭时昆昊昌明易昕星春昭晓晖晨晴晶智暖曙曦月有朋服望朝木本朱杉杰松林果枫柏柔树栋格桂桃梅梓梦森楠楷榕欢欣歌正武毅民永江池汝汉汐沁沛沐沙河治泉泽波泰洁洋洪浩海涛涵润淑清渊温湘源溪滨漫潇澜灵炎炜点烁烨然煜照熙燕爱父琪琳琴琼瑜瑞瑶瑾璇璐玉王玮环玲珊珍珠琦琛瑛生田由甲申男畅白百皓盈益真睿知石砚硕磊祖祥福秀秋科秦程稳立竹笑笛筱管箐红纯纳纶经维绮绿缘美羽翔翠翰翼耀聪肖育胜能舒航良艳艺芊芝芬芮芳芸花苑若英茂茜茹荣莉莎莲莹菁菊萍萌萱落蒙蓉蓓蕊蕾薇虹融行衡西诗诚语豪贝贞贤贵赫超越路轩辉达迎远进连迪通逸道邦郁金钊钦钧钰铁铭锋锐锦镇长闻阳阿陆陶雄雅雨雪雯雷霏霖霞露青静非韦韩音韵顺颖飘飞香馨驰骏高鸣鸿鹏鹤黎龙丙乾亮俐俭倪兮冉卉咸嘉圆坚尧岳巍弘彬徽怡恬慕旺昱晏晟曼朗杨松枝柯柳棋楚樱歆毓沫泓浚涌淼渝滢漪澄灿炫焕琰琨瑄瑟璟甜盛眉矗祺禾秉穆筠紫罡翊聿艾芙芷茵莺菲蔚薪蝶裕谦谷贺赞钢铮闯雁霆霄靖韬颂颜馥骞鹃黛鼎仪伶佩俞倬偈僖冕凛卿叙吟哲墨姚娉婵媚嫦宵尹巾帆庚彰徐忆恋惟慎敦旻昶晋晗暄曜柔桦梁梵棠椿槐欧汀沅泳洲浦涓淳湛滔潼澈灏炳烽焰熠燃琦琬瑗璋畴皎睦瞳砾碧祯禧秀稷筝篱粲纬绍缨罗翎耕臻舟芃苇苹茁荷莎莘菱萝蓝蓬蔷藻蘅虎蛟衍袁谨豫贻赢轶辰迅逍遥邱醇钏铃锡闽阅隽霓靓韧颐飒馗骄鲲鸥鹰黔`)

func setOf(s string) map[rune]bool {
	m := map[rune]bool{}
	for _, r := range s {
		m[r] = true
	}
	return m
}

// plausibleName tells whether a name read by OCR looks like a Chinese
// name: a common surname and common given-name characters. Names with a
// middle dot (transliterated minority names) are not judged here.
func plausibleName(name string) bool {
	if strings.ContainsAny(name, "·•") {
		return true
	}
	rest := ""
	for _, c := range compoundSurnames {
		if strings.HasPrefix(name, c) && len(name) > len(c) {
			rest = name[len(c):]
			break
		}
	}
	if rest == "" {
		r := []rune(name)
		if len(r) < 2 || !surnames[r[0]] {
			return false
		}
		rest = string(r[1:])
	}
	for _, r := range rest {
		if !givenChars[r] {
			return false
		}
	}
	return true
}
