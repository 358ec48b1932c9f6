package tracker

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/signaling/wtproto"
)

// binStr returns b as a binary string: each byte one character U+0000 to
// U+00FF, as a JSON decoder returns an ID that bittorrent-tracker sent.
func binStr(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// Test identities with bytes that need escaping and bytes above 0x7F.
var (
	testHash = engine.InfoHash{0x00, 0x01, '"', '\\', 0xE9, 0xFF, 0x7F, 0x80, '\n', 0x1F, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'}
	testSelf = engine.PeerID([]byte("-NC0100-\x00\xff\xe9\"\\\u2028abcd")[:20])
	testPeer = engine.PeerID{0xC3, 0xA9, 0xFE, 0xFF, 0x00, 0x10, 'p', 'e', 'e', 'r', '-', '-', '-', '-', '-', '-', '-', '-', '-', '!'}
	testSDP  = engine.SDP(`{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}`)
)

func TestEncodeAnnounce(t *testing.T) {
	offers := []engine.Offer{
		{ID: "offer-\u00e9\u00ff", SDP: testSDP},
		{ID: "o2", SDP: engine.SDP(` {"type":"offer","sdp":"v=0","nested":{"a":[1,2,{"b":null}]}} `)},
	}
	msg, err := appendAnnounce(nil, testSelf, testHash, engine.EventStarted, 7, offers)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Action     string  `json:"action"`
		InfoHash   string  `json:"info_hash"`
		PeerID     string  `json:"peer_id"`
		NumWant    *int    `json:"numwant"`
		Uploaded   *int    `json:"uploaded"`
		Downloaded *int    `json:"downloaded"`
		Left       *int    `json:"left"`
		Event      *string `json:"event"`
		Offers     []struct {
			Offer   json.RawMessage `json:"offer"`
			OfferID string          `json:"offer_id"`
		} `json:"offers"`
	}
	if err := json.Unmarshal(msg, &got); err != nil {
		t.Fatalf("announce %q is not JSON: %v", msg, err)
	}
	if got.Action != "announce" || got.InfoHash != binStr(testHash[:]) || got.PeerID != binStr(testSelf[:]) {
		t.Fatalf("identities wrong in %q: %+v", msg, got)
	}
	if got.NumWant == nil || *got.NumWant != 7 || got.Uploaded == nil || *got.Uploaded != 0 || got.Downloaded == nil || *got.Downloaded != 0 {
		t.Fatalf("counters wrong in %q", msg)
	}
	if got.Left != nil {
		t.Errorf("left is sent: %q", msg)
	}
	if got.Event == nil || *got.Event != "started" {
		t.Errorf("event wrong in %q", msg)
	}
	if len(got.Offers) != 2 {
		t.Fatalf("offers wrong in %q", msg)
	}
	for i, o := range got.Offers {
		if o.OfferID != string(offers[i].ID) || !bytes.Equal(o.Offer, bytes.TrimSpace(offers[i].SDP)) {
			t.Errorf("offer %d = %q %s, want %q %s", i, o.OfferID, o.Offer, offers[i].ID, offers[i].SDP)
		}
	}

	// The server's own decoder reads it as the same announce.
	m, err := wtproto.Decode(msg)
	if err != nil {
		t.Fatalf("wtproto.Decode(%q): %v", msg, err)
	}
	a, ok := m.(*wtproto.Announce)
	if !ok {
		t.Fatalf("wtproto.Decode gave %T", m)
	}
	if string(a.InfoHash) != binStr(testHash[:]) || string(a.PeerID) != binStr(testSelf[:]) || a.NumWant != 7 ||
		a.Event != wtproto.EventStarted || a.Seeder || len(a.Offers) != 2 || string(a.Offers[0].ID) != string(offers[0].ID) {
		t.Fatalf("server decoded %+v", a)
	}
}

func TestEncodeAnnounceEvents(t *testing.T) {
	for _, tc := range []struct {
		ev        engine.Event
		wantEvent string // "" = no event field
	}{
		{engine.EventUpdate, ""},
		{"", ""},
		{engine.EventStarted, "started"},
		{engine.EventStopped, "stopped"},
		{"completed", "completed"},
		{"paused", "paused"},
	} {
		msg, err := appendAnnounce(nil, testSelf, testHash, tc.ev, 0, nil)
		if err != nil {
			t.Fatalf("%q: %v", tc.ev, err)
		}
		var got map[string]any
		if err := json.Unmarshal(msg, &got); err != nil {
			t.Fatalf("%q: %q is not JSON: %v", tc.ev, msg, err)
		}
		ev, has := got["event"]
		if (tc.wantEvent == "") == has || (has && ev != tc.wantEvent) {
			t.Errorf("event %q encoded as %q", tc.ev, msg)
		}
		if _, has := got["offers"]; has {
			t.Errorf("empty offers encoded: %q", msg)
		}
		if _, err := wtproto.Decode(msg); err != nil {
			t.Errorf("server refuses %q: %v", msg, err)
		}
	}
}

func TestEncodeAnswer(t *testing.T) {
	answer := engine.SDP(`{"type":"answer","sdp":"v=0\r\n"}`)
	msg, err := appendAnswer(nil, testSelf, testHash, testPeer, "offer-\u00e9", answer)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(msg, &got); err != nil {
		t.Fatalf("answer %q is not JSON: %v", msg, err)
	}
	str := func(k string) string {
		var s string
		if err := json.Unmarshal(got[k], &s); err != nil {
			t.Fatalf("%s in %q: %v", k, msg, err)
		}
		return s
	}
	if str("action") != "announce" || str("info_hash") != binStr(testHash[:]) || str("peer_id") != binStr(testSelf[:]) ||
		str("to_peer_id") != binStr(testPeer[:]) || str("offer_id") != "offer-\u00e9" || !bytes.Equal(got["answer"], answer) {
		t.Fatalf("answer fields wrong: %q", msg)
	}
	if len(got) != 6 {
		t.Errorf("answer has %d fields, want 6: %q", len(got), msg)
	}
	m, err := wtproto.Decode(msg)
	if err != nil {
		t.Fatalf("wtproto.Decode(%q): %v", msg, err)
	}
	a, ok := m.(*wtproto.Answer)
	if !ok || string(a.ToPeerID) != binStr(testPeer[:]) || a.OfferID != "offer-\u00e9" || !bytes.Equal(a.SDP, answer) {
		t.Fatalf("server decoded %#v", m)
	}
}

func TestEncodeRejects(t *testing.T) {
	good := engine.Offer{ID: "o", SDP: testSDP}
	deep := engine.SDP(strings.Repeat(`{"a":`, maxDepth-1) + "1" + strings.Repeat("}", maxDepth-1))
	tooDeep := engine.SDP(strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth))
	if _, err := appendAnnounce(nil, testSelf, testHash, engine.EventStarted, 1, []engine.Offer{{ID: "o", SDP: deep}}); err != nil {
		t.Fatalf("SDP nested %d deep refused: %v", maxDepth-1, err)
	}
	for name, tc := range map[string]struct {
		ev     engine.Event
		num    int
		offers []engine.Offer
		want   error
	}{
		"unknown event":     {ev: "bogus", want: ErrInvalidArgument},
		"negative numwant":  {ev: engine.EventStarted, num: -1, want: ErrInvalidArgument},
		"offers on stopped": {ev: engine.EventStopped, offers: []engine.Offer{good}, want: ErrInvalidArgument},
		"empty offer ID":    {offers: []engine.Offer{{ID: "", SDP: testSDP}}, want: ErrInvalidArgument},
		"long offer ID":     {offers: []engine.Offer{{ID: engine.OfferID(strings.Repeat("x", 65)), SDP: testSDP}}, want: ErrInvalidArgument},
		"non-UTF-8 ID":      {offers: []engine.Offer{{ID: "\xff\xfe", SDP: testSDP}}, want: ErrInvalidArgument},
		"SDP not object":    {offers: []engine.Offer{{ID: "o", SDP: engine.SDP(`"v=0"`)}}, want: ErrInvalidArgument},
		"SDP empty":         {offers: []engine.Offer{{ID: "o"}}, want: ErrInvalidArgument},
		"SDP trailing":      {offers: []engine.Offer{{ID: "o", SDP: engine.SDP(`{} {}`)}}, want: ErrInvalidArgument},
		"SDP truncated":     {offers: []engine.Offer{{ID: "o", SDP: engine.SDP(`{"type":"offer"`)}}, want: ErrInvalidArgument},
		"SDP too deep":      {offers: []engine.Offer{{ID: "o", SDP: tooDeep}}, want: ErrInvalidArgument},
		"too large": {offers: []engine.Offer{{ID: "o", SDP: engine.SDP(`{"sdp":"` + strings.Repeat("x", MaxMessageSize) + `"}`)}},
			want: ErrTooLarge},
		"too large in sum": {offers: []engine.Offer{
			{ID: "a", SDP: engine.SDP(`{"sdp":"` + strings.Repeat("x", MaxMessageSize/2) + `"}`)},
			{ID: "b", SDP: engine.SDP(`{"sdp":"` + strings.Repeat("x", MaxMessageSize/2) + `"}`)},
		}, want: ErrTooLarge},
	} {
		if _, err := appendAnnounce(nil, testSelf, testHash, tc.ev, tc.num, tc.offers); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
	for name, sdp := range map[string]engine.SDP{"nil": nil, "array": engine.SDP(`[]`), "bad": engine.SDP(`{"a"}`)} {
		if _, err := appendAnswer(nil, testSelf, testHash, testPeer, "o", sdp); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("answer SDP %s: got %v", name, err)
		}
	}
	if _, err := appendAnswer(nil, testSelf, testHash, testPeer, "", testSDP); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("answer with empty offer ID: got %v", err)
	}
}

// TestBinaryIDRoundTrip sends every byte value through appendBinary and
// back, through this package's scanner and through encoding/json.
func TestBinaryIDRoundTrip(t *testing.T) {
	for start := 0; start < 256; start += 20 {
		var id [20]byte
		for i := range id {
			id[i] = byte(start + i) // wraps to 0..7 at the end
		}
		text := appendBinary(nil, id[:])
		var viaJSON string
		if err := json.Unmarshal(text, &viaJSON); err != nil {
			t.Fatalf("%q is not JSON: %v", text, err)
		}
		if viaJSON != binStr(id[:]) {
			t.Fatalf("encoding/json read %q as %q", text, viaJSON)
		}
		s := scanner{Data: text}
		dec, err := s.Str(nil, true)
		if err != nil || s.End() != nil {
			t.Fatalf("scanner on %q: %v", text, err)
		}
		back, ok := binaryID(dec)
		if !ok || back != id {
			t.Fatalf("round trip of % x gave % x (%v)", id, back, ok)
		}
	}
	if got := appendBinary(nil, []byte{0xE9}); !bytes.Equal(got, []byte{'"', 0xC3, 0xA9, '"'}) {
		t.Errorf("0xE9 encoded as % x, want 22 c3 a9 22", got)
	}
	for _, bad := range []string{
		strings.Repeat("a", 19), strings.Repeat("a", 21), "", strings.Repeat("a", 19) + "\u0100",
		strings.Repeat("a", 19) + "\U0001F600", strings.Repeat("\u00e9", 21),
	} {
		if _, ok := binaryID([]byte(bad)); ok {
			t.Errorf("binaryID(%q) accepted", bad)
		}
	}
	if id, ok := binaryID([]byte(strings.Repeat("\u00ff", 20))); !ok || id != [20]byte(bytes.Repeat([]byte{0xFF}, 20)) {
		t.Errorf("20 × U+00FF: %x %v", id, ok)
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", "tab\tnl\ncr\r\x00\x1f\x7f", `q"b\`, "\u2028\u2029", "\U0001F600 é"} {
		out := appendString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil || got != s {
			t.Errorf("appendString(%q) = %s → %q, %v", s, out, got, err)
		}
		if bytes.Contains(out, []byte("\u2028")) {
			t.Errorf("appendString(%q) left U+2028 unescaped", s)
		}
		sc := scanner{Data: out}
		if back, err := sc.Str(nil, true); err != nil || string(back) != s {
			t.Errorf("scanner read %s as %q, %v", out, back, err)
		}
	}
}

// TestDecodeServerFrames decodes frames built by the server's own encoder.
func TestDecodeServerFrames(t *testing.T) {
	h := wtproto.InfoHash(binStr(testHash[:]))
	peer := wtproto.PeerID(binStr(testPeer[:]))
	sdp := json.RawMessage(testSDP)
	for name, tc := range map[string]struct {
		frame []byte
		want  engine.Signal
	}{
		"announce reply": {
			frame: wtproto.AppendAnnounceResponse(nil, h, 120, 3, 7),
			want:  engine.Signal{Kind: engine.SignalAnnounced, Swarm: testHash, Complete: 3, Incomplete: 7, Interval: 120 * time.Second},
		},
		"offer": {
			frame: wtproto.AppendOffer(nil, h, peer, "offer-\u00e9\u00ff", sdp),
			want:  engine.Signal{Kind: engine.SignalOffer, Swarm: testHash, Peer: testPeer, OfferID: "offer-\u00e9\u00ff", SDP: testSDP},
		},
		"answer": {
			frame: wtproto.AppendAnswer(nil, h, peer, "o1", json.RawMessage(`{"type":"answer","sdp":"v=0"}`)),
			want:  engine.Signal{Kind: engine.SignalAnswer, Swarm: testHash, Peer: testPeer, OfferID: "o1", SDP: engine.SDP(`{"type":"answer","sdp":"v=0"}`)},
		},
		"failure": {
			frame: wtproto.AppendFailure(nil, "announce", h, "answer does not match an offer relayed to you"),
			want:  engine.Signal{Kind: engine.SignalFailure, Swarm: testHash},
		},
		"failure without swarm": {
			frame: wtproto.AppendFailure(nil, "announce", "", "invalid join token: expired"),
			want:  engine.Signal{Kind: engine.SignalFailure},
		},
	} {
		got, ok, err := decode(tc.frame, testSelf)
		if err != nil || !ok {
			t.Errorf("%s: decode(%q) = %v, %v", name, tc.frame, ok, err)
			continue
		}
		if tc.want.Kind == engine.SignalFailure {
			var e *Error
			if !errors.Is(got.Err, ErrFailure) || !errors.As(got.Err, &e) || !strings.Contains(string(tc.frame), e.Detail) || e.Detail == "" {
				t.Errorf("%s: Err = %v", name, got.Err)
			}
			got.Err = nil
		}
		if !signalEqual(got, tc.want) {
			t.Errorf("%s: decode(%q)\n got %+v\nwant %+v", name, tc.frame, got, tc.want)
		}
	}
}

// signalEqual compares signals; their errors match when either wraps the
// other (a want of ErrFailure matches any failure).
func signalEqual(a, b engine.Signal) bool {
	return a.Kind == b.Kind && a.Swarm == b.Swarm && a.Peer == b.Peer && a.OfferID == b.OfferID &&
		bytes.Equal(a.SDP, b.SDP) && a.Complete == b.Complete && a.Incomplete == b.Incomplete &&
		a.Interval == b.Interval && (errors.Is(a.Err, b.Err) || errors.Is(b.Err, a.Err))
}

func TestDecodeDoesNotAlias(t *testing.T) {
	frame := wtproto.AppendOffer(nil, wtproto.InfoHash(binStr(testHash[:])), wtproto.PeerID(binStr(testPeer[:])), "o", json.RawMessage(testSDP))
	sig, ok, err := decode(frame, testSelf)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	for i := range frame {
		frame[i] = 'X'
	}
	if !bytes.Equal(sig.SDP, testSDP) || sig.OfferID != "o" {
		t.Fatalf("signal changed with its frame: %+v", sig)
	}
}

// TestDecodeIgnored covers valid messages that carry no signal.
func TestDecodeIgnored(t *testing.T) {
	h := binStr(testHash[:])
	for _, frame := range []string{
		`{"action":"scrape","files":{}}`,
		`{"action":"announce","info_hash":` + string(appendString(nil, h)) + `,"warning message":"slow down"}`,
		string(wtproto.AppendOffer(nil, wtproto.InfoHash(h), wtproto.PeerID(binStr(testSelf[:])), "o", json.RawMessage(testSDP))),
		string(wtproto.AppendAnswer(nil, wtproto.InfoHash(h), wtproto.PeerID(binStr(testSelf[:])), "o", json.RawMessage(testSDP))),
	} {
		if sig, ok, err := decode([]byte(frame), testSelf); ok || err != nil {
			t.Errorf("decode(%q) = %+v, %v, %v; want nothing", frame, sig, ok, err)
		}
	}
}

// TestDecodeLenient covers forms the decoder accepts beyond the server's.
func TestDecodeLenient(t *testing.T) {
	h := string(appendString(nil, binStr(testHash[:])))
	p := string(appendString(nil, binStr(testPeer[:])))
	for frame, want := range map[string]engine.Signal{
		// Whitespace, unknown fields of every type, nulls, \u escapes of
		// binary characters, a fractional interval.
		" {\n\t\"action\" : \"announce\", \"x\":[1,{\"y\":[true,false,null]},-0.5e+3,\"\\ud83d\\ude00\"], \"info_hash\":" + h +
			", \"complete\":null, \"incomplete\":4.0, \"interval\":1.5, \"min interval\": 60 } \r\n": {
			Kind: engine.SignalAnnounced, Swarm: testHash, Incomplete: 4, Interval: 1500 * time.Millisecond,
		},
		`{"info_hash":` + h + `,"offer_id":"\u00e9","peer_id":` + p + `,"offer":{},"action":"announce"}`: {
			Kind: engine.SignalOffer, Swarm: testHash, Peer: testPeer, OfferID: "\u00e9", SDP: engine.SDP(`{}`),
		},
		`{"action":"announce","info_hash":"\u0000\u0001\"\\\u00e9\u00ff\u007f\u0080\n\u001fabcdefghij","complete":0}`: {
			Kind: engine.SignalAnnounced, Swarm: testHash,
		},
		`{"failure reason":"x"}`:                                 {Kind: engine.SignalFailure, Err: ErrFailure},
		`{"action":"scrape","failure reason":"\ud800 lone"}`:     {Kind: engine.SignalFailure, Err: ErrFailure},
		`{"action":"announce","failure reason":"","interval":1}`: {Kind: engine.SignalFailure, Err: ErrFailure},
	} {
		got, ok, err := decode([]byte(frame), testSelf)
		if err != nil || !ok || !signalEqual(got, want) {
			t.Errorf("decode(%q) = %+v, %v, %v\nwant %+v", frame, got, ok, err, want)
		}
	}
	got, _, _ := decode([]byte(`{"failure reason":"a\ud800b\udc00c\ud83d\ude00"}`), testSelf)
	var e *Error
	if !errors.As(got.Err, &e) || e.Detail != "a\ufffdb\ufffdc\U0001F600" {
		t.Errorf("surrogates decoded as %q", e.Detail)
	}
	long := `{"failure reason":"` + strings.Repeat("é", maxReasonLength) + `"}`
	got, _, _ = decode([]byte(long), testSelf)
	if !errors.As(got.Err, &e) || len(e.Detail) > maxReasonLength || !strings.HasPrefix(strings.Repeat("é", maxReasonLength), e.Detail) {
		t.Errorf("long reason kept as %d bytes", len(e.Detail))
	}
}

// hostileFrames are messages the decoder must refuse.
func hostileFrames() map[string]string {
	h := string(appendString(nil, binStr(testHash[:])))
	p := string(appendString(nil, binStr(testPeer[:])))
	deepOK := strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1)
	deep := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	frames := map[string]string{
		"empty":              ``,
		"space":              ` `,
		"array":              `[]`,
		"null":               `null`,
		"string":             `"announce"`,
		"number":             `1`,
		"no action":          `{"info_hash":` + h + `,"interval":1}`,
		"unknown action":     `{"action":"bogus","info_hash":` + h + `}`,
		"no info_hash":       `{"action":"announce","interval":1}`,
		"action number":      `{"action":1}`,
		"hash number":        `{"action":"announce","info_hash":1,"interval":1}`,
		"hash 19":            `{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaa","interval":1}`,
		"hash 21":            `{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaaa","interval":1}`,
		"hash U+0100":        `{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaa\u0100","interval":1}`,
		"hash U+0100 raw":    "{\"action\":\"announce\",\"info_hash\":\"aaaaaaaaaaaaaaaaaaa\u0100\",\"interval\":1}",
		"hash emoji":         `{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaa\ud83d\ude00","interval":1}`,
		"hash lone surr":     `{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaa\udfff","interval":1}`,
		"peer U+0100":        `{"action":"announce","info_hash":` + h + `,"peer_id":"aaaaaaaaaaaaaaaaaaa\u0100","offer_id":"o","offer":{}}`,
		"offer string":       `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"offer_id":"o","offer":"v=0"}`,
		"offer array":        `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"offer_id":"o","offer":[]}`,
		"offer no peer":      `{"action":"announce","info_hash":` + h + `,"offer_id":"o","offer":{}}`,
		"offer no id":        `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"offer":{}}`,
		"offer id empty":     `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"offer_id":"","offer":{}}`,
		"offer id long":      `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"offer_id":"` + strings.Repeat("x", 65) + `","offer":{}}`,
		"offer id number":    `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"offer_id":5,"offer":{}}`,
		"offer and answer":   `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"offer_id":"o","offer":{},"answer":{}}`,
		"complete string":    `{"action":"announce","info_hash":` + h + `,"complete":"3"}`,
		"complete negative":  `{"action":"announce","info_hash":` + h + `,"complete":-1}`,
		"complete fraction":  `{"action":"announce","info_hash":` + h + `,"complete":1.5}`,
		"complete huge":      `{"action":"announce","info_hash":` + h + `,"complete":99999999999}`,
		"complete 1e400":     `{"action":"announce","info_hash":` + h + `,"complete":1e400}`,
		"interval huge":      `{"action":"announce","info_hash":` + h + `,"interval":1` + strings.Repeat("0", 400) + `}`,
		"interval true":      `{"action":"announce","info_hash":` + h + `,"interval":true}`,
		"failure number":     `{"failure reason":1}`,
		"failure object":     `{"failure reason":{}}`,
		"duplicate field":    `{"action":"announce","action":"announce","info_hash":` + h + `,"interval":1}`,
		"truncated":          `{"action":"announce","info_hash":` + h,
		"trailing comma":     `{"action":"announce",}`,
		"trailing data":      `{"failure reason":"x"} x`,
		"two objects":        `{"failure reason":"x"}{}`,
		"single quotes":      `{'failure reason':'x'}`,
		"bare key":           `{failure:"x"}`,
		"missing colon":      `{"failure reason" "x"}`,
		"missing comma":      `{"failure reason":"x" "a":1}`,
		"leading zero":       `{"x":01,"failure reason":"x"}`,
		"bare minus":         `{"x":-,"failure reason":"x"}`,
		"dot no digits":      `{"x":1.,"failure reason":"x"}`,
		"exp no digits":      `{"x":1e,"failure reason":"x"}`,
		"plus sign":          `{"x":+1,"failure reason":"x"}`,
		"NaN":                `{"x":NaN,"failure reason":"x"}`,
		"hex number":         `{"x":0x10,"failure reason":"x"}`,
		"bad literal":        `{"x":tru,"failure reason":"x"}`,
		"control in string":  "{\"failure reason\":\"a\x01b\"}",
		"newline in string":  "{\"failure reason\":\"a\nb\"}",
		"bad escape":         `{"failure reason":"\x41"}`,
		"short \\u":          `{"failure reason":"\u12"}`,
		"bad hex \\u":        `{"failure reason":"\u12g4"}`,
		"invalid UTF-8":      "{\"failure reason\":\"a\xffb\"}",
		"invalid UTF-8 key":  "{\"\xc3\":1,\"failure reason\":\"x\"}",
		"overlong UTF-8":     "{\"failure reason\":\"\xc0\xaf\"}",
		"surrogate in UTF-8": "{\"failure reason\":\"\xed\xa0\x80\"}",
		"BOM":                "\ufeff{\"failure reason\":\"x\"}",
		"comment":            `{"failure reason":"x" /* c */}`,
		"unterminated":       `{"failure reason":"x`,
		"escape at end":      `{"failure reason":"x\`,
		"too deep unknown":   `{"x":` + deep + `,"failure reason":"x"}`,
		"too deep SDP":       `{"action":"announce","info_hash":` + h + `,"peer_id":` + p + `,"offer_id":"o","offer":{"a":` + deepOK + `}}`,
		"huge depth":         `{"x":` + strings.Repeat("[", 100000) + `}`,
		"too large":          `{"failure reason":"` + strings.Repeat("x", MaxMessageSize) + `"}`,
		"NUL":                "{\"failure reason\":\"x\"}\x00",
	}
	return frames
}

func TestDecodeHostile(t *testing.T) {
	for name, frame := range hostileFrames() {
		sig, ok, err := decode([]byte(frame), testSelf)
		if ok || err == nil || !(errors.Is(err, ErrMalformed) || errors.Is(err, ErrTooLarge)) {
			t.Errorf("%s: decode(%.80q) = %+v, %v, %v; want ErrMalformed", name, frame, sig, ok, err)
		}
	}
	// Nesting right at the limit is fine.
	ok := `{"x":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `,"failure reason":"x"}`
	if _, _, err := decode([]byte(ok), testSelf); err != nil {
		t.Errorf("nesting %d deep refused: %v", maxDepth, err)
	}
}

// TestDecodeTruncations cuts valid frames at every length: every strict
// prefix of an object is malformed.
func TestDecodeTruncations(t *testing.T) {
	h := wtproto.InfoHash(binStr(testHash[:]))
	for _, frame := range [][]byte{
		wtproto.AppendAnnounceResponse(nil, h, 120, 3, 7),
		wtproto.AppendOffer(nil, h, wtproto.PeerID(binStr(testPeer[:])), "o\u00e9", json.RawMessage(testSDP)),
		wtproto.AppendFailure(nil, "announce", h, "no \"way\" \\ \u2028"),
	} {
		if _, ok, err := decode(frame, testSelf); !ok || err != nil {
			t.Fatalf("decode(%q): %v %v", frame, ok, err)
		}
		for n := range len(frame) {
			if _, ok, err := decode(frame[:n], testSelf); ok || !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode(%q) = %v, %v; want ErrMalformed", frame[:n], ok, err)
			}
		}
	}
}

func TestErrorText(t *testing.T) {
	e := &Error{Err: ErrDial, Detail: "d", Cause: errors.New("c")}
	if e.Error() != "tracker: dial failed: d: c" {
		t.Errorf("Error() = %q", e.Error())
	}
	if !errors.Is(e, ErrDial) || !errors.Is(e, e.Cause) {
		t.Error("Error does not unwrap to its sentinel and cause")
	}
	if got := wrap(ErrFailure, "").Error(); got != ErrFailure.Error() {
		t.Errorf("empty detail: %q", got)
	}
}
