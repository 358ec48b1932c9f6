package wtproto

import (
	"encoding/json"
	"strconv"

	"github.com/nearcast/nearcast/internal/jsonstr"
)

// The Append functions write server frames. They append to dst and return
// the extended slice, so a caller can reuse one buffer per message. SDP
// objects must come from Decode (already valid JSON); they are copied
// verbatim.

// AppendAnnounceResponse appends the reply to an announce:
//
//	{"action":"announce","interval":120,"info_hash":"…","complete":3,"incomplete":7}
func AppendAnnounceResponse(dst []byte, h InfoHash, intervalSeconds, complete, incomplete int) []byte {
	dst = append(dst, `{"action":"announce","interval":`...)
	dst = strconv.AppendInt(dst, int64(intervalSeconds), 10)
	dst = append(dst, `,"info_hash":`...)
	dst = AppendString(dst, string(h))
	dst = append(dst, `,"complete":`...)
	dst = strconv.AppendInt(dst, int64(complete), 10)
	dst = append(dst, `,"incomplete":`...)
	dst = strconv.AppendInt(dst, int64(incomplete), 10)
	return append(dst, '}')
}

// AppendOffer appends an offer relayed to another peer of the swarm; from is
// the offering peer:
//
//	{"action":"announce","offer":{…},"offer_id":"…","peer_id":"…","info_hash":"…"}
func AppendOffer(dst []byte, h InfoHash, from PeerID, id OfferID, sdp json.RawMessage) []byte {
	return appendRelay(dst, `{"action":"announce","offer":`, h, from, id, sdp)
}

// AppendAnswer appends an answer relayed back to the offering peer; from is
// the answering peer:
//
//	{"action":"announce","answer":{…},"offer_id":"…","peer_id":"…","info_hash":"…"}
func AppendAnswer(dst []byte, h InfoHash, from PeerID, id OfferID, sdp json.RawMessage) []byte {
	return appendRelay(dst, `{"action":"announce","answer":`, h, from, id, sdp)
}

func appendRelay(dst []byte, head string, h InfoHash, from PeerID, id OfferID, sdp json.RawMessage) []byte {
	// One allocation: the identities take at most six bytes per character
	// once escaped, plus the keys.
	if need := len(head) + len(sdp) + 6*(len(id)+len(from)+len(h)) + 48; cap(dst)-len(dst) < need {
		dst = append(make([]byte, 0, len(dst)+need), dst...)
	}
	dst = append(dst, head...)
	dst = append(dst, sdp...)
	dst = append(dst, `,"offer_id":`...)
	dst = AppendString(dst, string(id))
	dst = append(dst, `,"peer_id":`...)
	dst = AppendString(dst, string(from))
	dst = append(dst, `,"info_hash":`...)
	dst = AppendString(dst, string(h))
	return append(dst, '}')
}

// AppendFailure appends a failure reply. The info_hash is left out when
// empty (the request could not be tied to a swarm).
//
//	{"action":"announce","failure reason":"…","info_hash":"…"}
func AppendFailure(dst []byte, action string, h InfoHash, reason string) []byte {
	dst = append(dst, `{"action":`...)
	dst = AppendString(dst, action)
	dst = append(dst, `,"failure reason":`...)
	dst = AppendString(dst, reason)
	if h != "" {
		dst = append(dst, `,"info_hash":`...)
		dst = AppendString(dst, string(h))
	}
	return append(dst, '}')
}

// ScrapeFile is one swarm's entry in a scrape reply.
type ScrapeFile struct {
	InfoHash   InfoHash
	Complete   int
	Incomplete int
	Downloaded int
}

// AppendScrapeResponse appends the reply to a scrape:
//
//	{"action":"scrape","files":{"…":{"complete":1,"incomplete":2,"downloaded":1}}}
func AppendScrapeResponse(dst []byte, files []ScrapeFile) []byte {
	dst = append(dst, `{"action":"scrape","files":{`...)
	for i, f := range files {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, string(f.InfoHash))
		dst = append(dst, `:{"complete":`...)
		dst = strconv.AppendInt(dst, int64(f.Complete), 10)
		dst = append(dst, `,"incomplete":`...)
		dst = strconv.AppendInt(dst, int64(f.Incomplete), 10)
		dst = append(dst, `,"downloaded":`...)
		dst = strconv.AppendInt(dst, int64(f.Downloaded), 10)
		dst = append(dst, '}')
	}
	return append(dst, "}}"...)
}

// AppendString appends s as a JSON string. Control characters, quote and
// backslash are escaped, as are U+2028 and U+2029; invalid UTF-8 becomes
// U+FFFD. Binary-string IDs (U+0000 to U+00FF) therefore round-trip through
// any JSON parser.
func AppendString(dst []byte, s string) []byte { return jsonstr.Append(dst, s) }
