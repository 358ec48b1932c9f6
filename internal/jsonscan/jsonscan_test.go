package jsonscan

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
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

// TestParseUint compares ParseUint with strconv.ParseFloat on numbers where
// float64 is exact enough to judge.
func TestParseUint(t *testing.T) {
	const max = math.MaxInt32
	cases := []string{
		"0", "-0", "-0.0", "0e5", "1", "7", "120", "2147483647", "2147483648", "-1", "1.5", "1.0", "10e-1",
		"1e9", "1e10", "2.147483647e9", "21474836470e-1", "21474836471e-1", "1E+2", "100e-2", "0.5e1",
		"123456789012345678901234567890", "1234567890123456789012345678.9e-20", "99999999999999999999e-11",
		"1e400", "1e-400", "0.000000000000000000000000000001e30", "3.00000000000000000000000000000",
		"3.00000000000000000000000000001", "1" + strings.Repeat("0", 500) + "e-500", "1e1000000000000",
	}
	// Numbers that float64 rounds to an integer but are none.
	notIntegers := map[string]bool{
		"3.00000000000000000000000000001": true, "99999999999999999999e-11": true, "1e-400": true,
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := r.Uint64N(1 << 33)
		frac := ""
		if r.IntN(2) == 0 {
			frac = "." + strconv.Itoa(r.IntN(1000))
		}
		cases = append(cases, strconv.FormatUint(n, 10)+frac, strconv.FormatUint(n, 10)+frac+"e-"+strconv.Itoa(r.IntN(4)))
	}
	for _, tok := range cases {
		s := Scanner{Data: []byte(tok)}
		if num, err := s.Number(); err != nil || len(num) != len(tok) {
			t.Fatalf("%q is not a JSON number: %v", tok, err)
		}
		f, err := strconv.ParseFloat(tok, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			t.Fatal(err)
		}
		// Exact integers (counts).
		got, ok := ParseUint([]byte(tok), 0, max, true)
		wantOK := f >= 0 && f <= max && f == math.Trunc(f) && !notIntegers[tok]
		if ok != wantOK || ok && float64(got) != f {
			t.Errorf("ParseUint(%q, exact) = %d, %v; float says %v", tok, got, ok, f)
		}
		// Truncated nanoseconds (intervals).
		ns, ok := ParseUint([]byte(tok), 9, max*1e9, false)
		wantNS := f * 1e9
		wantOK = f >= 0 && wantNS <= max*1e9
		if ok != wantOK || ok && math.Abs(float64(ns)-math.Trunc(wantNS)) > 1+wantNS*1e-15 {
			t.Errorf("ParseUint(%q, 9) = %d, %v; float says %v", tok, ns, ok, wantNS)
		}
	}
}
