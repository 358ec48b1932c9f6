package jsonscan

import (
	"encoding/json"
	"testing"
)

// Str agrees with encoding/json on what a string decodes to, across runs of
// plain ASCII, escapes, multi-byte UTF-8 and surrogate pairs, and refuses
// what RFC 8259 forbids.
func TestStrMatchesEncodingJSON(t *testing.T) {
	valid := []string{
		`""`, `"plain sdp text v=0 o=- 1 2 IN IP4 127.0.0.1"`,
		`"line\r\nnext\tend"`, `"quote \" and backslash \\ and slash \/"`,
		`"caf\u00e9 and café"`, `"emoji \ud83d\ude00 and 😀"`,
		`"lone \ud800 surrogate"`, `"a=fingerprint:sha-256 0D:1B:2C"`,
	}
	for _, in := range valid {
		s := Scanner{Data: []byte(in)}
		got, err := s.Str(nil, true)
		if err != nil {
			t.Fatalf("Str(%s): %v", in, err)
		}
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if string(got) != want || s.Pos != len(in) {
			t.Errorf("Str(%s) = %q at %d, want %q at %d", in, got, s.Pos, want, len(in))
		}
	}
	invalid := []string{`"unterminated`, "\"tab\tinside\"", "\"bad utf8 \xff\"", `"bad \x escape"`, `"\u12"`}
	for _, in := range invalid {
		s := Scanner{Data: []byte(in)}
		if _, err := s.Str(nil, true); err == nil {
			t.Errorf("Str(%q) accepted", in)
		} else if _, ok := err.(*SyntaxError); !ok {
			t.Errorf("Str(%q) error %T is not a *SyntaxError", in, err)
		}
	}
}
