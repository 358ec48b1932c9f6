package wtproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecode checks that Decode never panics, that every failure is a *Error
// carrying a sentinel, and that whatever decodes survives the relay path:
// the frames the tracker builds from it are valid JSON that decode back to
// the same identities and the same SDP.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb","numwant":3,"event":"started","offers":[{"offer":{"type":"offer","sdp":"v=0"},"offer_id":"cccccccccccccccccccc"}]}`,
		`{"action":"announce","info_hash":"\u0000\u0001\u00ff\u00e9aaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb","left":0,"event":"completed"}`,
		`{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb","to_peer_id":"dddddddddddddddddddd","offer_id":"x","answer":{"type":"answer","sdp":"v=0"}}`,
		`{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb","event":"stopped"}`,
		`{"action":"scrape","info_hash":["aaaaaaaaaaaaaaaaaaaa","\u00ff\u00ffaaaaaaaaaaaaaaaaaa"]}`,
		`{"action":"scrape","info_hash":"aaaaaaaaaaaaaaaaaaaa"}`,
		`{"action":"announce","info_hash":"short"}`,
		`{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb","numwant":1e300}`,
		`{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb","offers":[{"offer":{},"offer_id":""}]}`,
		`[]`, `null`, `"x"`, `{"action":null}`, `{`, ``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := Decode(frame)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Err == nil || (e.Action != ActionAnnounce && e.Action != ActionScrape) {
				t.Fatalf("error %v is not a well-formed *Error", err)
			}
			if !json.Valid(AppendFailure(nil, e.Action, e.InfoHash, e.Error())) {
				t.Fatalf("failure frame for %v is not JSON", err)
			}
			return
		}
		switch m := m.(type) {
		case *Announce:
			if !ValidID(string(m.InfoHash)) || !ValidID(string(m.PeerID)) || m.NumWant < -1 {
				t.Fatalf("invalid announce accepted: %+v", m)
			}
			for _, o := range m.Offers {
				relayed := AppendOffer(nil, m.InfoHash, m.PeerID, o.ID, o.SDP)
				var back struct {
					Offer    json.RawMessage `json:"offer"`
					OfferID  string          `json:"offer_id"`
					PeerID   string          `json:"peer_id"`
					InfoHash string          `json:"info_hash"`
				}
				if err := json.Unmarshal(relayed, &back); err != nil {
					t.Fatalf("relayed offer %q is not JSON: %v", relayed, err)
				}
				if back.PeerID != string(m.PeerID) || back.InfoHash != string(m.InfoHash) || back.OfferID != string(o.ID) {
					t.Fatalf("relayed offer lost identities: %q", relayed)
				}
				if !bytes.Equal(back.Offer, o.SDP) {
					t.Fatalf("relayed SDP changed: %s vs %s", back.Offer, o.SDP)
				}
			}
		case *Answer:
			relayed := AppendAnswer(nil, m.InfoHash, m.PeerID, m.OfferID, m.SDP)
			if !json.Valid(relayed) {
				t.Fatalf("relayed answer %q is not JSON", relayed)
			}
		case *Scrape:
			if len(m.InfoHashes) == 0 || len(m.InfoHashes) > MaxScrapeHashes {
				t.Fatalf("scrape with %d hashes accepted", len(m.InfoHashes))
			}
		default:
			t.Fatalf("unexpected message type %T", m)
		}
	})
}
