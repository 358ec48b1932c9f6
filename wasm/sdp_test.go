//go:build js && wasm

package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/nearcast/nearcast/engine"
)

const testSDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=candidate:1 1 udp 1 192.0.2.1 5000 typ host\r\n"

func TestSDPRoundTrip(t *testing.T) {
	for _, sdp := range []string{
		testSDP,
		testSDP + "a=x:\"quoted\" \\ back\tslash \u2028\u2029 é 😀\x01\r\n",
	} {
		for _, typ := range []string{"offer", "answer"} {
			b := encodeSDP(typ, sdp)
			got, err := parseSDP(b, typ)
			if err != nil || got != sdp {
				t.Errorf("parseSDP(encodeSDP(%q)) = %q, %v", typ, got, err)
			}
		}
	}
	if got := string(encodeSDP("offer", "v=0\n")); got != `{"type":"offer","sdp":"v=0\n"}` {
		t.Errorf("encodeSDP = %s", got)
	}
}

func TestParseSDP(t *testing.T) {
	esc := strings.ReplaceAll(strings.ReplaceAll(testSDP, "\r", `\r`), "\n", `\n`)
	ok := []string{
		`{"type":"offer","sdp":"` + esc + `"}`,
		` { "sdp" : "` + esc + `", "extra": [1, {"a": null}], "type":"offer" } `,
		`{"type":"\u006fffer","sdp":"` + esc + `"}`,
	}
	for _, in := range ok {
		if got, err := parseSDP(engine.SDP(in), "offer"); err != nil || got != testSDP {
			t.Errorf("parseSDP(%s) = %q, %v", in, got, err)
		}
	}
	bad := []string{
		``,
		`null`,
		`[]`,
		`"offer"`,
		`{"type":"offer"}`,
		`{"sdp":"` + esc + `"}`,
		`{"type":"answer","sdp":"` + esc + `"}`,
		`{"type":1,"sdp":"` + esc + `"}`,
		`{"type":"offer","sdp":"v=0\r\nm=audio 9 RTP/AVP 0\r\n"}`,
		`{"type":"offer","sdp":"no version"}`,
		`{"type":"offer","sdp":"` + esc + `"`,
		`{"type":"offer","sdp":"` + esc + `"} trailing`,
		`{"type":"offer","sdp":"` + esc + strings.Repeat("a", maxSDPSize) + `"}`,
	}
	for _, in := range bad {
		if _, err := parseSDP(engine.SDP(in), "offer"); !errors.Is(err, ErrInvalidSDP) {
			t.Errorf("parseSDP(%.60s) = %v, want ErrInvalidSDP", in, err)
		}
	}
}
