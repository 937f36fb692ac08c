package redact

import "testing"

func TestLiterals(t *testing.T) {
	for in, want := range map[string]string{
		"error parsing regexp: missing closing ): `11010519491231002X(` (1:22)": "error parsing regexp: missing closing ): `…` (1:22)",
		`unexpected token String("欧阳明月") (1:20)`:                                `unexpected token String("…") (1:20)`,
		`invalid character 'æ' looking for beginning of value`:                  `invalid character '…' looking for beginning of value`,
		`parsing "a\"b" failed`:                                                 `parsing "…" failed`,
		`it doesn't quote`:                                                      `it doesn't quote`,
		`unclosed "15870791234 and more`:                                        `unclosed "…`,
		`no quotes at all`:                                                      `no quotes at all`,
	} {
		if got := Literals(in); got != want {
			t.Errorf("Literals(%q) = %q, want %q", in, got, want)
		}
	}
}
