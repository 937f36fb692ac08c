package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// duplicateKey finds a key given twice in one JSON object, anywhere in the
// document. encoding/json keeps the last one silently, so {"name":"A",
// "name":"B"} would be a petition from B to a reader that keeps the first:
// refused like a repeated form field. It returns the key's dotted path.
func duplicateKey(body []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	path, err := dupValue(dec, "")
	if err == errDuplicate {
		return path, fmt.Errorf("field %q given twice", path)
	}
	return "", nil // syntax errors are reported by the real decoder
}

var errDuplicate = fmt.Errorf("duplicate key")

func dupValue(dec *json.Decoder, path string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return "", nil
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", err
			}
			k, _ := kt.(string)
			p := k
			if path != "" {
				p = path + "." + k
			}
			if seen[k] {
				return p, errDuplicate
			}
			seen[k] = true
			if dp, err := dupValue(dec, p); err != nil {
				return dp, err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if dp, err := dupValue(dec, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return dp, err
			}
		}
	}
	if _, err := dec.Token(); err != nil && err != io.EOF { // the closing delimiter
		return "", err
	}
	return "", nil
}
