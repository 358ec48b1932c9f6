package httprange

import "testing"

func TestHeader(t *testing.T) {
	if got := Header(100, 200); got != "bytes=100-199" {
		t.Fatalf("Header(100, 200) = %q", got)
	}
}

func TestParseContentRange(t *testing.T) {
	for s, want := range map[string][3]int64{
		"bytes 0-99/1000": {0, 99, 1},
		"bytes 5-5/*":     {5, 5, 1},
		"bytes 10-9/100":  {0, 0, 0}, // last before first
		"bytes 0-100/100": {0, 0, 0}, // last beyond the size
		"bytes -5/100":    {0, 0, 0},
		"bytes 1-2":       {0, 0, 0},
		"items 0-1/2":     {0, 0, 0},
		"bytes +1-2/3":    {0, 0, 0},
		"":                {0, 0, 0},
	} {
		first, last, ok := ParseContentRange(s)
		if ok != (want[2] == 1) || (ok && (first != want[0] || last != want[1])) {
			t.Errorf("ParseContentRange(%q) = %d, %d, %v", s, first, last, ok)
		}
	}
}

func TestParseLength(t *testing.T) {
	for s, want := range map[string]bool{"0": true, "123": true, "": false, "-1": false, "1e3": false, " 1": false,
		"9223372036854775807": true, "9223372036854775808": false, "99999999999999999999": false, "007": true} {
		if _, ok := ParseLength(s); ok != want {
			t.Errorf("ParseLength(%q) ok = %v", s, ok)
		}
	}
	for s, want := range map[string]int64{"0": 0, "123": 123, "007": 7, "9223372036854775807": 1<<63 - 1} {
		if n, _ := ParseLength(s); n != want {
			t.Errorf("ParseLength(%q) = %d, want %d", s, n, want)
		}
	}
}
