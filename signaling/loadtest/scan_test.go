package loadtest

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/nearcast/nearcast/signaling/wtproto"
)

// A binary-string info_hash and peer_id as bittorrent-tracker clients send
// them: control characters, a quote and a backslash need escapes, and
// characters above U+007F are two bytes of UTF-8.
const (
	binHash = "\x00\x01\"\\ab\u00e9\u00ff\x1f0123456789AB"
	binPeer = "-WW0208-\u00a0\u00b1\u00c2\u00d3\u00e4\u00f5\t\n\r\u0080"
)

func TestScanNearcastFrames(t *testing.T) {
	sdp := json.RawMessage(`{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=x:{[\"]}\r\n"}`)
	for _, tc := range []struct {
		name  string
		frame []byte
		want  kind
	}{
		{"response", wtproto.AppendAnnounceResponse(nil, binHash, 120, 3, 7), kindResponse},
		{"offer", wtproto.AppendOffer(nil, binHash, binPeer, "offer-1", sdp), kindOffer},
		{"answer", wtproto.AppendAnswer(nil, binHash, binPeer, "offer-1", sdp), kindAnswer},
		{"failure", wtproto.AppendFailure(nil, wtproto.ActionAnnounce, binHash, "answer does not match an offer relayed to you"), kindFailure},
		{"failure without swarm", wtproto.AppendFailure(nil, wtproto.ActionAnnounce, "", "rate limit exceeded"), kindFailure},
		{"scrape", wtproto.AppendScrapeResponse(nil, []wtproto.ScrapeFile{{InfoHash: binHash, Complete: 1}}), kindOther},
	} {
		m, ok := scan(tc.frame)
		if !ok || m.kind != tc.want {
			t.Errorf("%s: scan(%s) = %v, %v; want kind %v", tc.name, tc.frame, m.kind, ok, tc.want)
			continue
		}
		checkTokens(t, tc.name, m)
	}
}

// checkTokens asserts that every token scan returned decodes to the value
// the frame was made with.
func checkTokens(t *testing.T, name string, m message) {
	t.Helper()
	for _, tok := range []struct {
		raw  []byte
		want string
	}{{m.infoHash, binHash}, {m.peerID, binPeer}, {m.offerID, "offer-1"}} {
		if tok.raw == nil {
			continue
		}
		var got string
		if err := json.Unmarshal(tok.raw, &got); err != nil || got != tok.want {
			t.Errorf("%s: token %s decodes to %q, %v; want %q", name, tok.raw, got, err, tok.want)
		}
	}
}

// TestScanBittorrentTrackerFrames scans frames as bittorrent-tracker's
// server writes them (JSON.stringify of its response objects, keys in their
// insertion order).
func TestScanBittorrentTrackerFrames(t *testing.T) {
	str := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	h, p := str(binHash), str(binPeer)
	sdp := `{"type":"offer","sdp":"v=0\r\na=ice-pwd:a/b+c\r\n"}`
	for _, tc := range []struct {
		name  string
		frame string
		want  kind
	}{
		{"response", `{"complete":0,"incomplete":4,"action":"announce","interval":120,"info_hash":` + h + `}`, kindResponse},
		{"offer", `{"action":"announce","offer":` + sdp + `,"offer_id":"offer-1","peer_id":` + p + `,"info_hash":` + h + `}`, kindOffer},
		{"answer", `{"action":"announce","answer":` + sdp + `,"offer_id":"offer-1","peer_id":` + p + `,"info_hash":` + h + `}`, kindAnswer},
		{"failure", `{"action":"announce","failure reason":"invalid event","info_hash":` + h + `}`, kindFailure},
		{"parse failure", `{"failure reason":"invalid info_hash"}`, kindFailure},
		{"scrape", `{"action":"scrape","files":{` + h + `:{"complete":0,"incomplete":1,"downloaded":0}},"flags":{"min_request_interval":600}}`, kindOther},
		{"spaces", " {\n \"action\" : \"announce\" ,\t\"interval\":120 , \"info_hash\" : " + h + " }\n", kindResponse},
	} {
		m, ok := scan([]byte(tc.frame))
		if !ok || m.kind != tc.want {
			t.Errorf("%s: scan(%s) = %v, %v; want kind %v", tc.name, tc.frame, m.kind, ok, tc.want)
			continue
		}
		checkTokens(t, tc.name, m)
	}
}

func TestScanRejects(t *testing.T) {
	for _, frame := range []string{
		``, `null`, `[]`, `{}`, `"announce"`, `{"action":"announce"`, `{"action":"announce"}x`,
		`{"action":announce}`, `{"action":1}`, `{"interval":120}`, `{"action":"announce",}`,
		`{"action":"announce" "interval":1}`, `{"action":"announce","offer":{"sdp":"x"}`,
		`{"action":"announce","offer":{},"offer_id":"a"}`, // an offer needs peer_id and info_hash
		`{"action":"announce","answer":{}}`,               // an answer needs offer_id
		`{"action":"announce","info_hash":"unterminated}`, `{"action":"announce","x":"\"}`,
	} {
		if m, ok := scan([]byte(frame)); ok {
			t.Errorf("scan(%s) = %v, want failure", frame, m.kind)
		}
	}
}

// FuzzScan checks that scan never panics and, on valid JSON, agrees with
// encoding/json on every token it returns.
func FuzzScan(f *testing.F) {
	sdp := json.RawMessage(`{"type":"answer","sdp":"v=0\r\n"}`)
	f.Add(wtproto.AppendAnnounceResponse(nil, binHash, 120, 1, 2))
	f.Add(wtproto.AppendOffer(nil, binHash, binPeer, "o", sdp))
	f.Add(wtproto.AppendAnswer(nil, binHash, binPeer, "o", sdp))
	f.Add(wtproto.AppendFailure(nil, "announce", binHash, "no"))
	f.Add([]byte(`{"failure reason":"invalid info_hash"}`))
	f.Add([]byte(`{"complete":0,"incomplete":4,"action":"announce","interval":120,"info_hash":"abc"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok := scan(b)
		var obj map[string]json.RawMessage
		if !json.Valid(b) || json.Unmarshal(b, &obj) != nil {
			return
		}
		if _, failure := obj["failure reason"]; failure && (!ok || m.kind != kindFailure) {
			t.Fatalf("scan(%s) = %v, %v; want a failure", b, m.kind, ok)
		}
		if !ok {
			return
		}
		for key, tok := range map[string][]byte{"info_hash": m.infoHash, "peer_id": m.peerID, "offer_id": m.offerID} {
			if tok != nil && !bytes.Equal(tok, obj[key]) {
				t.Fatalf("scan(%s): %s = %s, encoding/json has %s", b, key, tok, obj[key])
			}
		}
		if m.kind == kindOffer && !bytes.HasPrefix(obj["offer"], []byte("{")) {
			t.Fatalf("scan(%s) found an offer that encoding/json does not", b)
		}
	})
}
