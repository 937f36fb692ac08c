package scantest

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

var (
	surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程魏苏吕丁任沈姚卢钟姜崔谭陆范汪廖石金贾")
	given    = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红文辉鹏飞丹宇浩凯雪梅琳晨阳春海燕志斌德福荣龙庆祥安新生")
	streets  = []string{"八一大道", "阳明路", "北京西路", "象山北路", "胜利路", "中山路", "叠山路", "井冈山大道", "洪都中大道", "昌北大道", "青山南路", "解放西路"}
	areas    = []struct{ city, district, court string }{
		{"南昌市", "东湖区", "赣0102"}, {"南昌市", "西湖区", "赣0103"}, {"南昌市", "青云谱区", "赣0104"},
		{"南昌市", "青山湖区", "赣0111"}, {"南昌市", "新建区", "赣0112"}, {"景德镇市", "珠山区", "赣0203"},
		{"九江市", "浔阳区", "赣0403"}, {"赣州市", "章贡区", "赣0702"}, {"吉安市", "吉州区", "赣0802"},
		{"上饶市", "信州区", "赣1102"},
	}
	types      = []string{"民初", "民终", "执", "执恢", "执异", "民申", "行初", "刑初"}
	mobiles    = []string{"139", "138", "137", "136", "135", "158", "159", "186", "187", "188", "189", "177", "133", "153", "180", "150"}
	openings   = []string{"我于%d年%d月向法院提交起诉材料，", "我和对方的借款纠纷在%d年%d月判决生效，", "本人%d年%d月在贵院立案，", "我父亲的案子从%d年%d月拖到现在，"}
	complaints = []string{
		"立案庭一直让我回去补材料，补了四次还是不收，也不给出书面裁定。",
		"对方名下有房有车，法院却迟迟不执行，执行款至今一分未到。",
		"承办法官电话一直打不通，我想当面把新证据交给法官。",
		"我想了解一下申请再审需要准备哪些材料，去哪个窗口办理。",
		"判决书送达后对方拒不履行，请求法院依法强制执行。",
		"窗口工作人员态度很差，说话不耐烦，希望法院加强管理。",
		"案件已经超过审限，一直没有开庭，请求尽快审理。",
		"我年纪大了，行动不便，请法院考虑上门调解。",
	}
	closings = []string{"恳请法院依法处理。", "望领导重视，尽快答复。", "请求法院给个说法。", "特此反映，谢谢。"}
	recep    = []string{"刘洋", "陈静", "黄磊", "周敏", "吴涛"}
)

// RandomForm returns a plausible form: a valid resident id of a Jiangxi
// district, a mobile number, an address there, a case number of its basic
// court and a request of two to four sentences.
func RandomForm(rng *rand.Rand) Form {
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	name := string(surnames[rng.IntN(len(surnames))]) + string(given[rng.IntN(len(given))])
	if rng.IntN(2) == 0 {
		name += string(given[rng.IntN(len(given))])
	}
	a := areas[rng.IntN(len(areas))]
	year := 1950 + rng.IntN(55)
	month, day := 1+rng.IntN(12), 1+rng.IntN(28)
	seq := rng.IntN(999)
	gender := "女"
	if seq%2 == 1 {
		gender = "男"
	}
	region := "36" + a.court[len("赣"):]
	id17 := fmt.Sprintf("%s%04d%02d%02d%03d", region, year, month, day, seq)
	caseYear := 2019 + rng.IntN(7)
	f := Form{
		Name:         name,
		Gender:       gender,
		IDNumber:     id17 + string(checkChar(id17)),
		Phone:        pick(mobiles) + fmt.Sprintf("%08d", rng.IntN(100000000)),
		Address:      fmt.Sprintf("江西省%s%s%s%d号%d栋%d室", a.city, a.district, pick(streets), 1+rng.IntN(300), 1+rng.IntN(20), 101+rng.IntN(1500)),
		CaseNumber:   fmt.Sprintf("（%d）%s%s%d号", caseYear, a.court, pick(types), 1+rng.IntN(9999)),
		Receptionist: pick(recep),
		Date:         fmt.Sprintf("2026年%d月%d日", 1+rng.IntN(11), 1+rng.IntN(28)),
	}
	var req strings.Builder
	fmt.Fprintf(&req, pick(openings), caseYear, 1+rng.IntN(12))
	n := 1 + rng.IntN(3)
	for _, i := range rng.Perm(len(complaints))[:n] {
		req.WriteString(complaints[i])
	}
	req.WriteString(pick(closings))
	f.Request = req.String()
	return f
}

// checkChar is the GB 11643 check character of the first 17 digits.
func checkChar(first17 string) byte {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(first17[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}
