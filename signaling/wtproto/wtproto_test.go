package wtproto

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// bin20 is a binary-string ID as bittorrent-tracker sends it: 20 characters
// from U+0000 to U+00FF, here including control and high characters.
var bin20 = "\x00\x01\"\\\u00e9\u00ff" + strings.Repeat("a", 14)

func TestAppendStringRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", bin20, "tab\tnl\ncr\r", "\u2028\u2029", "emoji \U0001F600", "\x7f"} {
		var got string
		out := AppendString(nil, s)
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("AppendString(%q) = %s: not JSON: %v", s, out, err)
		}
		if got != s {
			t.Errorf("AppendString(%q) decoded to %q", s, got)
		}
	}
	if got := string(AppendString(nil, "a\xffb")); got != `"a\ufffdb"` {
		t.Errorf("invalid UTF-8: got %s", got)
	}
}

func TestValidID(t *testing.T) {
	cases := map[string]bool{
		bin20:                            true,
		strings.Repeat("x", 19):          false,
		strings.Repeat("x", 21):          false,
		strings.Repeat("\u00e9", 20):     true,  // 40 UTF-8 bytes, 20 characters
		strings.Repeat("\U0001F600", 10): true,  // 10 surrogate pairs = 20 units
		strings.Repeat("\U0001F600", 11): false, // 22 units
	}
	for s, want := range cases {
		if got := ValidID(s); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", s, got, want)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeAnnounce(t *testing.T) {
	frame := mustJSON(t, map[string]any{
		"action": "announce", "info_hash": bin20, "peer_id": "-WW0100-abcdefghijkl",
		"numwant": 5, "uploaded": 0, "downloaded": 0, "left": 0, "event": "started",
		"offers": []any{map[string]any{"offer": map[string]string{"type": "offer", "sdp": "v=0"}, "offer_id": "o1"}},
	})
	m, err := Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := m.(*Announce)
	if !ok {
		t.Fatalf("got %T", m)
	}
	if a.InfoHash != InfoHash(bin20) || a.PeerID != "-WW0100-abcdefghijkl" || a.NumWant != 5 ||
		a.Event != EventStarted || !a.Seeder || len(a.Offers) != 1 || a.Offers[0].ID != "o1" {
		t.Fatalf("unexpected announce %+v", a)
	}
	var sdp map[string]string
	if err := json.Unmarshal(a.Offers[0].SDP, &sdp); err != nil || sdp["sdp"] != "v=0" {
		t.Fatalf("offer SDP %s: %v", a.Offers[0].SDP, err)
	}

	// Event absent, "empty" or "update" all mean update; no numwant is -1.
	for _, ev := range []string{"", "empty", "update"} {
		fields := map[string]any{"action": "announce", "info_hash": bin20, "peer_id": bin20}
		if ev != "" {
			fields["event"] = ev
		}
		m, err := Decode(mustJSON(t, fields))
		if err != nil {
			t.Fatal(err)
		}
		if a := m.(*Announce); a.Event != EventUpdate || a.NumWant != -1 || a.Seeder {
			t.Errorf("event %q: got %+v", ev, a)
		}
	}
}

func TestDecodeAnswerAndScrape(t *testing.T) {
	m, err := Decode(mustJSON(t, map[string]any{
		"action": "announce", "info_hash": bin20, "peer_id": strings.Repeat("b", 20),
		"to_peer_id": strings.Repeat("c", 20), "offer_id": "o1",
		"answer": map[string]string{"type": "answer", "sdp": "v=0"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	ans, ok := m.(*Answer)
	if !ok || ans.ToPeerID != PeerID(strings.Repeat("c", 20)) || ans.OfferID != "o1" {
		t.Fatalf("got %#v", m)
	}

	m, err = Decode(mustJSON(t, map[string]any{"action": "scrape", "info_hash": []string{bin20, strings.Repeat("d", 20)}}))
	if err != nil {
		t.Fatal(err)
	}
	if s := m.(*Scrape); len(s.InfoHashes) != 2 || s.InfoHashes[0] != InfoHash(bin20) {
		t.Fatalf("got %+v", s)
	}
	m, err = Decode(mustJSON(t, map[string]any{"action": "scrape", "info_hash": bin20}))
	if err != nil || len(m.(*Scrape).InfoHashes) != 1 {
		t.Fatalf("single scrape: %v %v", m, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	h := `"` + strings.Repeat("h", 20) + `"`
	p := `"` + strings.Repeat("p", 20) + `"`
	cases := []struct {
		name     string
		frame    string
		want     error
		action   string
		withHash bool
	}{
		{"not JSON", `{"action":`, ErrMalformed, "announce", false},
		{"array", `[1,2]`, ErrNotObject, "announce", false},
		{"no action", `{}`, ErrUnknownAction, "announce", false},
		{"action type", `{"action":7}`, ErrUnknownAction, "announce", false},
		{"unknown action", `{"action":"dance","info_hash":` + h + `}`, ErrUnknownAction, "announce", true},
		{"short info_hash", `{"action":"announce","info_hash":"abc","peer_id":` + p + `}`, ErrInfoHash, "announce", false},
		{"info_hash type", `{"action":"announce","info_hash":12,"peer_id":` + p + `}`, ErrInfoHash, "announce", false},
		{"peer_id length", `{"action":"announce","info_hash":` + h + `,"peer_id":"x"}`, ErrPeerID, "announce", true},
		{"numwant type", `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"numwant":"5"}`, ErrNumWant, "announce", true},
		{"numwant negative", `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"numwant":-1}`, ErrNumWant, "announce", true},
		{"event", `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"event":"exploded"}`, ErrEvent, "announce", true},
		{"event type", `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"event":1}`, ErrFieldType, "announce", true},
		{"left type", `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"left":"0"}`, ErrFieldType, "announce", true},
		{"offers type", `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"offers":{}}`, ErrFieldType, "announce", true},
		{"offer not object", `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"offers":[{"offer":"sdp","offer_id":"a"}]}`, ErrOffer, "announce", true},
		{"offer_id missing", `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"offers":[{"offer":{}}]}`, ErrOfferID, "announce", true},
		{"offer_id long", `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"offers":[{"offer":{},"offer_id":"` + strings.Repeat("o", 65) + `"}]}`, ErrOfferID, "announce", true},
		{"answer no to_peer_id", `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"answer":{},"offer_id":"a"}`, ErrToPeerID, "announce", true},
		{"answer not object", `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"answer":"x","to_peer_id":` + p + `,"offer_id":"a"}`, ErrAnswer, "announce", true},
		{"answer no offer_id", `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"answer":{},"to_peer_id":` + p + `}`, ErrOfferID, "announce", true},
		{"scrape without hash", `{"action":"scrape"}`, ErrInfoHash, "scrape", false},
		{"scrape bad hash", `{"action":"scrape","info_hash":["x"]}`, ErrInfoHash, "scrape", false},
		{"scrape too many", `{"action":"scrape","info_hash":[` + strings.Repeat(h+",", MaxScrapeHashes) + h + `]}`, ErrTooManyHashes, "scrape", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Decode([]byte(c.frame))
			if err == nil {
				t.Fatalf("decoded %#v, want error", m)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %T is not *Error", err)
			}
			if e.Action != c.action || (e.InfoHash != "") != c.withHash {
				t.Fatalf("error carries action %q info_hash %q", e.Action, e.InfoHash)
			}
		})
	}
}

func TestAppendFrames(t *testing.T) {
	sdp := json.RawMessage(`{"type":"offer","sdp":"v=0\r\n"}`)
	var got map[string]any
	check := func(frame []byte, want map[string]any) {
		t.Helper()
		got = nil
		if err := json.Unmarshal(frame, &got); err != nil {
			t.Fatalf("%s: %v", frame, err)
		}
		for k, v := range want {
			if gv, _ := json.Marshal(got[k]); string(gv) != string(mustJSON(t, v)) {
				t.Errorf("%s: field %q = %s, want %v", frame, k, gv, v)
			}
		}
	}
	h := InfoHash(bin20)
	check(AppendAnnounceResponse(nil, h, 120, 2, 3), map[string]any{"action": "announce", "interval": 120, "info_hash": bin20, "complete": 2, "incomplete": 3})
	check(AppendOffer(nil, h, "peer", "oid", sdp), map[string]any{"action": "announce", "offer": map[string]string{"type": "offer", "sdp": "v=0\r\n"}, "offer_id": "oid", "peer_id": "peer", "info_hash": bin20})
	check(AppendAnswer(nil, h, "peer", "oid", sdp), map[string]any{"action": "announce", "answer": map[string]string{"type": "offer", "sdp": "v=0\r\n"}, "offer_id": "oid", "peer_id": "peer"})
	check(AppendFailure(nil, "scrape", "", "nope"), map[string]any{"action": "scrape", "failure reason": "nope"})
	if _, ok := got["info_hash"]; ok {
		t.Error("failure without info_hash must omit the field")
	}
	check(AppendScrapeResponse(nil, []ScrapeFile{{InfoHash: h, Complete: 1, Incomplete: 2, Downloaded: 3}}),
		map[string]any{"action": "scrape", "files": map[string]any{bin20: map[string]int{"complete": 1, "incomplete": 2, "downloaded": 3}}})
}

func BenchmarkDecodeAnnounce(b *testing.B) {
	offer := map[string]string{"type": "offer", "sdp": strings.Repeat("a=candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host\r\n", 20)}
	offers := make([]any, 5)
	for i := range offers {
		offers[i] = map[string]any{"offer": offer, "offer_id": strings.Repeat("o", 19) + string(rune('0'+i))}
	}
	frame, _ := json.Marshal(map[string]any{"action": "announce", "info_hash": bin20, "peer_id": bin20, "numwant": 5, "event": "started", "offers": offers})
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}
