package jsonstr

import (
	"encoding/json"
	"testing"
)

func TestAppendRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "\x00\x01\"\\\u00e9\u00ff", "tab\tnl\ncr\r", "\u2028\u2029", "emoji \U0001F600", "\x7f"} {
		var got string
		out := Append(nil, s)
		if err := json.Unmarshal(out, &got); err != nil || got != s {
			t.Errorf("Append(%q) = %s → %q, %v", s, out, got, err)
		}
	}
	if got := string(Append(nil, "a\xffb")); got != `"a\ufffdb"` {
		t.Errorf("invalid UTF-8: %s", got)
	}
	if got := string(Append(nil, "\u2028")); got != `"\u2028"` {
		t.Errorf("U+2028 not escaped: %s", got)
	}
}
