package tracker

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/signaling/wtproto"
)

// FuzzDecode checks that decode never panics, that it refuses with
// ErrMalformed or ErrTooLarge, that whatever it accepts is valid JSON to
// encoding/json with the same strings, and that an accepted offer or answer
// survives being relayed again by the server's encoder.
func FuzzDecode(f *testing.F) {
	h := wtproto.InfoHash(binStr(testHash[:]))
	p := wtproto.PeerID(binStr(testPeer[:]))
	for _, frame := range [][]byte{
		wtproto.AppendAnnounceResponse(nil, h, 120, 3, 7),
		wtproto.AppendOffer(nil, h, p, "offer-\u00e9\u00ff", json.RawMessage(testSDP)),
		wtproto.AppendAnswer(nil, h, p, "o1", json.RawMessage(`{"type":"answer","sdp":"v=0\r\n","x":[1,2.5e-3,true,null,{}]}`)),
		wtproto.AppendFailure(nil, "announce", h, "answer does not match an offer relayed to you"),
		wtproto.AppendFailure(nil, "scrape", "", "invalid join token: \"expired\""),
		wtproto.AppendScrapeResponse(nil, []wtproto.ScrapeFile{{InfoHash: h, Complete: 1}}),
		[]byte(`{"action":"announce","info_hash":"\u0000\u0001\"\\\u00e9\u00ff\u007f\u0080\n\u001fabcdefghij","complete":0,"warning message":"w"}`),
		[]byte(`{"failure reason":"a\ud800b\udc00c\ud83d\ude00"}`),
		[]byte(`{"x":[[[[[{"y":-0.5e+3}]]]]],"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","interval":1.5}`),
		[]byte(`{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","complete":1e400}`),
		[]byte(`{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaa\u0100","interval":1}`),
		[]byte(`{"action":"announce","action":"announce"}`),
		[]byte("{\"failure reason\":\"a\xffb\"}"),
		[]byte(`[]`), []byte(`null`), []byte(`{`), []byte(``), []byte(`{"a":"\u12`),
	} {
		f.Add(frame)
	}
	for _, frame := range hostileFrames() {
		f.Add([]byte(frame))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		sig, ok, err := decode(frame, testSelf)
		if err != nil {
			if ok || !(errors.Is(err, ErrMalformed) || errors.Is(err, ErrTooLarge)) {
				t.Fatalf("decode(%q) = %v, %v", frame, ok, err)
			}
			return
		}
		if !json.Valid(frame) || !utf8.Valid(frame) {
			t.Fatalf("decode accepted invalid JSON %q", frame)
		}
		if !ok {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(frame, &m); err != nil {
			t.Fatalf("encoding/json refuses accepted %q: %v", frame, err)
		}
		switch sig.Kind {
		case engine.SignalFailure:
			var e *Error
			if !errors.As(sig.Err, &e) || !errors.Is(sig.Err, ErrFailure) {
				t.Fatalf("failure signal with Err %v", sig.Err)
			}
			if reason, _ := m["failure reason"].(string); len(e.Detail) > maxReasonLength || !strings.HasPrefix(reason, e.Detail) {
				t.Fatalf("reason %q decoded as %q", reason, e.Detail)
			}
		case engine.SignalAnnounced:
			if m["info_hash"] != binStr(sig.Swarm[:]) || sig.Complete < 0 || sig.Incomplete < 0 || sig.Interval < 0 {
				t.Fatalf("announced %+v from %q", sig, frame)
			}
			// The numbers agree with encoding/json's float64 (exact for
			// integers below 2^31, within rounding for the interval).
			for key, got := range map[string]int{"complete": sig.Complete, "incomplete": sig.Incomplete} {
				if v, ok := m[key].(float64); ok && v != float64(got) || !ok && got != 0 {
					t.Fatalf("%s %v decoded as %d from %q", key, m[key], got, frame)
				}
			}
			if v, ok := m["interval"].(float64); ok && math.Abs(v*1e9-float64(sig.Interval)) > 1+v*1e9*1e-12 || !ok && sig.Interval != 0 {
				t.Fatalf("interval %v decoded as %v from %q", m["interval"], sig.Interval, frame)
			}
		case engine.SignalOffer, engine.SignalAnswer:
			if m["info_hash"] != binStr(sig.Swarm[:]) || m["peer_id"] != binStr(sig.Peer[:]) || m["offer_id"] != string(sig.OfferID) {
				t.Fatalf("identities of %+v differ from encoding/json's %q", sig, frame)
			}
			if !validObject(sig.SDP) {
				t.Fatalf("SDP %q is not an object", sig.SDP)
			}
			relay := wtproto.AppendOffer
			if sig.Kind == engine.SignalAnswer {
				relay = wtproto.AppendAnswer
			}
			again := relay(nil, wtproto.InfoHash(binStr(sig.Swarm[:])), wtproto.PeerID(binStr(sig.Peer[:])),
				wtproto.OfferID(sig.OfferID), json.RawMessage(sig.SDP))
			back, ok, err := decode(again, testSelf)
			if err != nil || !ok || back.Kind != sig.Kind || back.Swarm != sig.Swarm || back.Peer != sig.Peer ||
				back.OfferID != sig.OfferID || !bytes.Equal(back.SDP, sig.SDP) {
				t.Fatalf("relayed again %q decodes to %+v, %v, %v; want %+v", again, back, ok, err, sig)
			}
		default:
			t.Fatalf("unexpected signal %+v", sig)
		}
	})
}
