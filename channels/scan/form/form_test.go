package form_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/court12368/petitiond/channels/scan/form"
	"github.com/court12368/petitiond/petition"
)

func extractor(t testing.TB) *form.Extractor {
	t.Helper()
	x, err := form.Compile(form.DefaultSpec())
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func load(t *testing.T, name string) []*form.Page {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pages, err := form.ParseTSV(f)
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

// The testdata TSVs are tesseract's real output (chi_sim, --psm 4) for
// rendered forms (channels/scan/scantest): a clean lines form, a clean table
// and a noisy, rotated table after page preparation.
func TestExtractRealOCR(t *testing.T) {
	x := extractor(t)
	for _, tc := range []struct {
		file string
		want map[petition.Field]string
	}{
		{"lines-clean.tsv", map[petition.Field]string{
			petition.FieldName: "任宇燕", petition.FieldIDNumber: "360104195206131328", petition.FieldPhone: "15044478897",
			petition.FieldAddress: "江西省南昌市青云谱区解放西路37号8栋1276室", form.FieldGender: "女", form.FieldReceptionist: "刘洋",
			form.FieldVisitDate: "2026年4月2日", petition.FieldCaseNumber: "〈2020) 闭0104刑初5086号",
			petition.FieldContent: "我父亲的案子从2020年3月拖到现在，我想了解一下申请再审需要准备哪些材料，去哪个窗口办理。请求法院给个说法。",
		}},
		{"table-clean.tsv", map[petition.Field]string{
			petition.FieldName: "曾伟祥", petition.FieldIDNumber: "360403195505268420", petition.FieldPhone: "13905338312",
			form.FieldGender: "女", form.FieldVisitDate: "2026年10月19日", form.FieldReceptionist: "吴涛",
		}},
		{"table-noisy.tsv", map[petition.Field]string{
			petition.FieldIDNumber: "360104195206131328", petition.FieldPhone: "15044478897",
			petition.FieldAddress: "江西省南昌市青云谱区解放西路37号8栋1276室", form.FieldReceptionist: "刘洋",
			// The request's text starts beside the first half of the
			// two-line label 反映/问题 and continues below it.
			petition.FieldContent: "我父亲的案子从2020年3月拖到现在，我想了解一下申请再审需要准备哪些材料，去哪个窗口办理。请求法院给个说法。",
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := x.Extract(load(t, tc.file))
			for f, want := range tc.want {
				if got[f].Text != want {
					t.Errorf("%s = %q, want %q", f, got[f].Text, want)
				}
				if got[f].Conf <= 0 || got[f].Conf > 100 {
					t.Errorf("%s: confidence %v", f, got[f].Conf)
				}
			}
		})
	}
}

// tsv builds tesseract TSV for lines of words (each word "text" at a
// position that leaves a wide gap where the line has "  ").
func tsv(lines ...string) string {
	var b strings.Builder
	b.WriteString("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n")
	for i, l := range lines {
		x := 100
		for j, w := range strings.Split(l, " ") {
			if w == "" {
				x += 200
				continue
			}
			width := 50 * len([]rune(w))
			fmt.Fprintf(&b, "5\t1\t1\t1\t%d\t%d\t%d\t%d\t%d\t48\t91.5\t%s\n", i+1, j+1, x, 100*i, width, w)
			x += width + 5
		}
	}
	return b.String()
}

func TestExtractLayouts(t *testing.T) {
	x := extractor(t)
	for _, tc := range []struct {
		name  string
		lines []string
		want  map[petition.Field]string
	}{
		{"colon lines", []string{"姓名：张三", "联系电话: 13912345678", "反映问题：", "对方欠款不还，", "请求执行。", "接待人：李四"},
			map[petition.Field]string{petition.FieldName: "张三", petition.FieldPhone: "13912345678", petition.FieldContent: "对方欠款不还，请求执行。", form.FieldReceptionist: "李四"}},
		{"two pairs on a table row", []string{"姓名  王五  性别  男", "身份证号  11010519491231002X"},
			map[petition.Field]string{petition.FieldName: "王五", form.FieldGender: "男", petition.FieldIDNumber: "11010519491231002X"}},
		{"spaced label", []string{"姓 名：赵六"}, map[petition.Field]string{petition.FieldName: "赵六"}},
		{"value below a label alone", []string{"住址", "南昌市东湖区八一大道1号", "案号  （2024）赣0102民初1号"},
			map[petition.Field]string{petition.FieldAddress: "南昌市东湖区八一大道1号", petition.FieldCaseNumber: "（2024）赣0102民初1号"}},
		{"request above and beside a two-line label", []string{"身份证号  360102198001010013", "我于三月起诉，", "反映  至今没有立案，", "问题  请求处理。", "接待人  周七"},
			map[petition.Field]string{petition.FieldIDNumber: "360102198001010013", petition.FieldContent: "我于三月起诉，至今没有立案，请求处理。", form.FieldReceptionist: "周七"}},
		// A label word inside the request text is not a label: it is not
		// at a boundary followed by a separator.
		{"label words in prose", []string{"反映问题：", "我打电话一直没人接，地址也找不到。"},
			map[petition.Field]string{petition.FieldContent: "我打电话一直没人接，地址也找不到。"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pages, err := form.ParseTSV(strings.NewReader(tsv(tc.lines...)))
			if err != nil {
				t.Fatal(err)
			}
			got := x.Extract(pages)
			for f, want := range tc.want {
				if got[f].Text != want {
					t.Errorf("%s = %q, want %q", f, got[f].Text, want)
				}
			}
			for f, v := range got {
				if _, ok := tc.want[f]; !ok {
					t.Errorf("unexpected %s = %q", f, v.Text)
				}
			}
		})
	}
}

func TestParseTSVErrors(t *testing.T) {
	for _, in := range []string{"5\t1\t1\n", "x\t1\t1\t1\t1\t1\t0\t0\t1\t1\t90\ta\n", "5\t1\t1\t1\t1\t1\t0\t0\t1\t1\tninety\ta\n"} {
		if _, err := form.ParseTSV(strings.NewReader(in)); err == nil {
			t.Errorf("ParseTSV(%q): no error", in)
		}
	}
	pages, err := form.ParseTSV(strings.NewReader(tsv("甲 乙")))
	if err != nil || len(pages) != 1 || form.MeanConf(pages) != 91.5 || form.Text(pages) != "甲乙" {
		t.Errorf("pages %v conf %v text %q err %v", pages, form.MeanConf(pages), form.Text(pages), err)
	}
}

func TestCompileRejectsEmptyLabel(t *testing.T) {
	if _, err := form.Compile(form.Spec{petition.FieldName: {" "}}); err == nil {
		t.Error("empty label accepted")
	}
}

func FuzzExtract(f *testing.F) {
	for _, name := range []string{"lines-clean.tsv", "table-clean.tsv", "table-noisy.tsv"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(tsv("姓名  王五  性别  男", "反映", "问题  x"))
	x := extractor(f)
	f.Fuzz(func(t *testing.T, in string) {
		pages, err := form.ParseTSV(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, v := range x.Extract(pages) {
			if v.Conf < -1 || v.Conf > 100 || strings.TrimSpace(v.Text) != v.Text {
				t.Fatalf("value %+v", v)
			}
		}
		form.Text(pages)
	})
}
