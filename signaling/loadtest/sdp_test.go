package loadtest

import (
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nearcast/nearcast/signaling/wtproto"
)

func TestMakeSDP(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pwd := regexp.MustCompile(`(?m)^a=ice-pwd:([A-Za-z0-9+/]+)\r$`)
	for _, size := range []int{MinSDPBytes, 700, DefaultSDPBytes, 1301, 2000, 4099, MaxSDPBytes} {
		for _, offer := range []bool{true, false} {
			s := makeSDP(r, offer, size)
			if len(s) != size {
				t.Errorf("size %d: got %d bytes", size, len(s))
			}
			if !strings.HasPrefix(s, "v=0\r\n") || !strings.HasSuffix(s, "\r\n") || strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
				t.Errorf("size %d: not CRLF-terminated SDP lines:\n%s", size, s)
			}
			m := pwd.FindStringSubmatch(s)
			if m == nil || len(m[1]) < 22 || len(m[1]) > 256 {
				t.Errorf("size %d: ice-pwd %q, want 22 to 256 ICE characters", size, m)
			}
			for _, want := range []string{"m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=ice-ufrag:", "a=fingerprint:sha-256 ", "a=sctp-port:5000"} {
				if !strings.Contains(s, want) {
					t.Errorf("size %d: no %q", size, want)
				}
			}
			if size >= DefaultSDPBytes && strings.Count(s, "a=candidate:") < 3 {
				t.Errorf("size %d: only %d candidates", size, strings.Count(s, "a=candidate:"))
			}
			if setup := map[bool]string{true: "a=setup:actpass", false: "a=setup:active"}[offer]; !strings.Contains(s, setup) {
				t.Errorf("offer %v: no %s", offer, setup)
			}
		}
	}
	for _, o := range sdpObjects(r, true, DefaultSDPBytes, 3) {
		var v struct{ Type, SDP string }
		if err := json.Unmarshal(o, &v); err != nil || v.Type != "offer" || len(v.SDP) != DefaultSDPBytes {
			t.Errorf("offer object %.60s…: %+v, %v", o, v.Type, err)
		}
	}
}

func TestRandomIDNeedsNoEscape(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		id := randomID(r)
		if !wtproto.ValidID(id) || !utf8.ValidString(id) {
			t.Fatalf("invalid ID %q", id)
		}
		enc := wtproto.AppendString(nil, id)
		if string(enc) != `"`+id+`"` {
			t.Fatalf("ID %q is escaped: %s", id, enc)
		}
		// JSON.stringify escapes only the characters below U+0020, the
		// quote, the backslash and lone surrogates.
		if strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == '"' || r == '\\' || r > 0xFF }) {
			t.Fatalf("ID %q has a character JSON.stringify escapes", id)
		}
	}
}
