package mapping_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/mapping"
	"github.com/court12368/petitiond/petition"
)

// A partner (a WeChat mini-program back end) posts its own shape.
const partnerJSON = `{
  "msgId": "wx-20261125-0001",
  "createTime": "2026-11-25 09:30:00",
  "user": {"realName": "李华", "mobile": "", "tel": "0791-86123456", "openid": "oX1"},
  "detail": {"title": "执行款", "body": "判决生效半年未执行", "tags": ["执行", "催办"]},
  "addr": "%E5%8D%97%E6%98%8C%E5%B8%82"
}`

const spec = `
name:        {from: user.realName, required: true}
phone:       {from: [user.mobile, user.tel]}
content:     {join: [detail.title, detail.body], sep: "\n"}
subject:     {from: detail.missing, default: 小程序留言}
court:       {const: 南昌市中级人民法院}
address:     {from: addr, decode: url}
received_at: {from: createTime, layout: "2006-01-02 15:04:05", timezone: Asia/Shanghai}
source_id:   {from: msgId}
meta.wx_openid: {from: user.openid}
meta.first_tag: {from: detail.tags.0}
`

func compile(t *testing.T, src string) *mapping.Mapper {
	t.Helper()
	var s mapping.Spec
	if err := config.DecodeStrict("m.yaml", []byte(src), &s); err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPartnerJSON(t *testing.T) {
	m := compile(t, spec)
	var doc any
	d := json.NewDecoder(strings.NewReader(partnerJSON))
	d.UseNumber()
	d.Decode(&doc)
	res, err := m.Apply(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[petition.Field]string{
		"name": "李华", "phone": "0791-86123456", "content": "执行款\n判决生效半年未执行",
		"subject": "小程序留言", "court": "南昌市中级人民法院", "address": "南昌市",
	}
	for k, v := range want {
		if res.Fields[k] != v {
			t.Errorf("Fields[%s] = %q, want %q", k, res.Fields[k], v)
		}
	}
	if len(res.Fields) != len(want) {
		t.Errorf("Fields = %v, want exactly %v", res.Fields, want)
	}
	if res.SourceID != "wx-20261125-0001" {
		t.Errorf("SourceID = %q", res.SourceID)
	}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	if w := time.Date(2026, 11, 25, 9, 30, 0, 0, shanghai); !res.ReceivedAt.Equal(w) {
		t.Errorf("ReceivedAt = %v, want %v", res.ReceivedAt, w)
	}
	if res.Meta["wx_openid"] != "oX1" || res.Meta["first_tag"] != "执行" {
		t.Errorf("Meta = %v", res.Meta)
	}
}

func TestFormValues(t *testing.T) {
	m := compile(t, "name: {from: xm}\ncontent: {from: nr, decode: gb18030-base64}\n")
	gb, _ := simplifiedchinese.GB18030.NewEncoder().String("请立案，𠀀")
	res, err := m.Apply(map[string][]string{"xm": {"赵六"}, "nr": {base64.StdEncoding.EncodeToString([]byte(gb))}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Fields["name"] != "赵六" || res.Fields["content"] != "请立案，𠀀" {
		t.Errorf("Fields = %v", res.Fields)
	}
}

func TestApplyErrorsNameTheTarget(t *testing.T) {
	m := compile(t, "name: {from: who, required: true}\nreceived_at: {from: t, layout: unix}\n")
	_, err := m.Apply(map[string]any{"t": "1700000000"})
	var me *mapping.Error
	if !errors.As(err, &me) || me.Target != "name" || me.Path != "who" {
		t.Errorf("err = %v, want a mapping.Error on name (from who)", err)
	}
	_, err = m.Apply(map[string]any{"who": "x", "t": "yesterday"})
	if !errors.As(err, &me) || me.Target != "received_at" {
		t.Errorf("err = %v, want a mapping.Error on received_at", err)
	}
}

func TestCompileErrors(t *testing.T) {
	for src, want := range map[string]string{
		"nmae: {from: a}":                      "unknown target",
		"name: {from: a, const: b}":            "exactly one of",
		"name: {}":                             "exactly one of",
		"name: {from: a..b}":                   "bad path",
		"name: {from: a, decode: rot13}":       "unknown decode",
		"name: {from: a, layout: unix}":        "layout applies to received_at only",
		"received_at: {from: a, timezone: Xx}": "unknown timezone",
	} {
		var s mapping.Spec
		if err := config.DecodeStrict("m.yaml", []byte(src), &s); err != nil {
			t.Errorf("%s: decode: %v", src, err)
			continue
		}
		if _, err := mapping.Compile(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Compile(%s) = %v, want %q", src, err, want)
		}
	}
	var s mapping.Spec
	if err := config.DecodeStrict("m.yaml", []byte("name: {from: a, sep: x, frm: b}"), &s); err == nil || !strings.Contains(err.Error(), `m.yaml:1: name: unknown key "frm"`) {
		t.Errorf("unknown rule key: %v", err)
	}
}
