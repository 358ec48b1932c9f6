package loadtest

import "bytes"

// kind classifies a frame received from the tracker.
type kind uint8

const (
	kindInvalid  kind = iota
	kindResponse      // the response to an announce (or to a "stopped")
	kindOffer         // an offer relayed from another peer
	kindAnswer        // an answer to one of our offers
	kindFailure       // a "failure reason" reply
	kindOther         // a valid frame of another action, such as scrape
)

// message is what the generator needs of a received frame. The byte slices
// point into the frame: raw JSON string tokens, quotes and escapes included,
// so they can be copied into a reply unchanged.
type message struct {
	kind     kind
	infoHash []byte
	peerID   []byte
	offerID  []byte
	reason   []byte // the failure reason, for kindFailure
}

// scan classifies a tracker frame by walking the keys of its top-level
// object and skipping the values it does not need, without decoding them:
//
//	{"action":"announce","interval":120,"info_hash":"…","complete":3,"incomplete":7}   response
//	{"action":"announce","offer":{…},"offer_id":"…","peer_id":"…","info_hash":"…"}      offer
//	{"action":"announce","answer":{…},"offer_id":"…","peer_id":"…","info_hash":"…"}     answer
//	{"action":"announce","failure reason":"…","info_hash":"…"}                         failure
//	{"failure reason":"…"}                                                             failure
//
// Keys may come in any order (bittorrent-tracker puts "complete" first in a
// response). When a key repeats, the last value counts, as in JSON parsers.
// scan checks the structure it walks but not every detail of JSON (number
// syntax, control characters in strings); it reports false for a frame it
// cannot classify.
func scan(b []byte) (message, bool) {
	var (
		m                  message
		action             []byte
		offer, answer, bad bool
		failure            bool
	)
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return m, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return m, false // {} has no action
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return m, false
		}
		end := skipString(b, i)
		if end < 0 {
			return m, false
		}
		key := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return m, false
		}
		i = skipSpace(b, i+1)
		end = skipValue(b, i)
		if end < 0 {
			return m, false
		}
		val := b[i:end]
		str := val[0] == '"'
		switch string(key) {
		case "action":
			action, bad = val, !str
		case "offer":
			offer = val[0] == '{'
		case "answer":
			answer = val[0] == '{'
		case "failure reason":
			failure = true
			m.reason = val
		case "offer_id":
			m.offerID = stringOrNil(val, str)
		case "peer_id":
			m.peerID = stringOrNil(val, str)
		case "info_hash":
			m.infoHash = stringOrNil(val, str)
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return m, false
		}
		if b[i] == '}' {
			break
		}
		if b[i] != ',' {
			return m, false
		}
		i = skipSpace(b, i+1)
	}
	if skipSpace(b, i+1) != len(b) {
		return m, false
	}
	switch {
	case failure:
		m.kind = kindFailure
	case action == nil || bad:
		return m, false
	case string(action) != `"announce"`:
		m.kind = kindOther
	case offer:
		if m.offerID == nil || m.peerID == nil || m.infoHash == nil {
			return m, false
		}
		m.kind = kindOffer
	case answer:
		if m.offerID == nil {
			return m, false
		}
		m.kind = kindAnswer
	default:
		m.kind = kindResponse
	}
	return m, true
}

func stringOrNil(val []byte, str bool) []byte {
	if str {
		return val
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i] (a
// quote), or -1 if it does not end.
func skipString(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		q := j + k
		escaped := false
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			escaped = !escaped
		}
		if !escaped {
			return q + 1
		}
		j = q + 1
	}
}

// skipValue returns the index after the JSON value that starts at b[i], or
// -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		return skipNested(b, i)
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\n', '\r', '\t', '{', '[', '"', ':':
			if j == i {
				return -1
			}
			return j
		}
		j++
	}
	return -1 // a bare value cannot end the frame: the object is unclosed
}

// skipNested returns the index after the object or array that starts at
// b[i], or -1. Strings inside it are skipped whole, so brackets in them do
// not count.
func skipNested(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = skipString(b, i)
			if i < 0 {
				return -1
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
		i++
	}
	return -1
}
