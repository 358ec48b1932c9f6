package wtproto

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"unicode/utf16"
)

// IDLength is the length of an info_hash and of a peer_id, in UTF-16 code
// units as JavaScript counts string length. bittorrent-tracker sends 20 raw
// bytes as a "binary string" (each byte one character, U+0000 to U+00FF).
const IDLength = 20

// MaxOfferIDLength bounds an offer_id. bittorrent-tracker sends 20 binary
// characters; the bound leaves room for other clients without letting an
// offer_id grow without limit.
const MaxOfferIDLength = 64

// MaxScrapeHashes bounds the number of info_hash values in one scrape.
const MaxScrapeHashes = 64

// Action names the request kinds of the protocol.
const (
	ActionAnnounce = "announce"
	ActionScrape   = "scrape"
)

// InfoHash identifies a swarm. It holds the string exactly as the client sent
// it (after JSON unescaping), so it can be echoed back byte for byte.
type InfoHash string

// Hex returns the info_hash as lowercase hex of its characters' low bytes,
// the form bittorrent-tracker uses in logs, or the hex of its UTF-8 bytes if
// it holds characters above U+00FF.
func (h InfoHash) Hex() string { return idHex(string(h)) }

// PeerID identifies a peer within a swarm, as the client sent it.
type PeerID string

// Hex returns the peer_id in hex, like InfoHash.Hex.
func (p PeerID) Hex() string { return idHex(string(p)) }

// OfferID identifies one offer, so the answer can be matched to it.
type OfferID string

// Event is the announce event.
type Event string

// The announce events. An absent event, "empty" and "update" all mean a
// periodic update.
const (
	EventUpdate    Event = "update"
	EventStarted   Event = "started"
	EventStopped   Event = "stopped"
	EventCompleted Event = "completed"
	EventPaused    Event = "paused"
)

// Message is a decoded client request: *Announce, *Answer or *Scrape.
type Message interface {
	// Action returns the protocol action of the message.
	Action() string
	isMessage()
}

// Offer is one WebRTC offer inside an announce.
type Offer struct {
	// ID is the offer_id chosen by the offering client.
	ID OfferID
	// SDP is the offer object ({"type":"offer","sdp":"..."}), kept verbatim.
	SDP json.RawMessage
}

// Announce is an "announce" request that is not an answer: the client joins,
// refreshes or leaves a swarm and may carry offers for other peers.
type Announce struct {
	InfoHash InfoHash
	PeerID   PeerID
	// NumWant is the number of peers wanted, or -1 when the client sent none.
	NumWant int
	Event   Event
	// Seeder reports that the client has the whole content (left == 0 or
	// event "completed").
	Seeder bool
	Offers []Offer
}

// Answer is an "announce" request that carries a WebRTC answer for the peer
// whose offer it answers.
type Answer struct {
	InfoHash InfoHash
	PeerID   PeerID
	ToPeerID PeerID
	OfferID  OfferID
	// SDP is the answer object ({"type":"answer","sdp":"..."}), verbatim.
	SDP json.RawMessage
}

// Scrape asks for the peer counts of one or more swarms.
type Scrape struct {
	InfoHashes []InfoHash
}

// Action implements Message.
func (*Announce) Action() string { return ActionAnnounce }

// Action implements Message.
func (*Answer) Action() string { return ActionAnnounce }

// Action implements Message.
func (*Scrape) Action() string { return ActionScrape }

func (*Announce) isMessage() {}
func (*Answer) isMessage()   {}
func (*Scrape) isMessage()   {}

// wireRequest is the union of every client field the tracker reads. Pointer
// and raw types let Decode tell an absent field from a zero one and report
// wrong types precisely.
type wireRequest struct {
	Action   json.RawMessage `json:"action"`
	InfoHash json.RawMessage `json:"info_hash"`
	PeerID   json.RawMessage `json:"peer_id"`
	NumWant  json.RawMessage `json:"numwant"`
	Event    json.RawMessage `json:"event"`
	Left     json.RawMessage `json:"left"`
	Offers   json.RawMessage `json:"offers"`
	Answer   json.RawMessage `json:"answer"`
	ToPeerID json.RawMessage `json:"to_peer_id"`
	OfferID  json.RawMessage `json:"offer_id"`
}

type wireOffer struct {
	Offer   json.RawMessage `json:"offer"`
	OfferID json.RawMessage `json:"offer_id"`
}

// Decode parses one client frame. On failure it returns a *Error that carries
// the action and info_hash the failure reply must echo; the caller should
// change no state.
func Decode(frame []byte) (Message, error) {
	var w wireRequest
	if err := json.Unmarshal(frame, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &Error{Action: ActionAnnounce, Err: ErrNotObject}
		}
		return nil, &Error{Action: ActionAnnounce, Err: ErrMalformed}
	}
	action, ok := decodeString(w.Action)
	if !ok {
		return nil, &Error{Action: ActionAnnounce, Err: ErrUnknownAction}
	}
	switch action {
	case ActionAnnounce:
		return decodeAnnounce(&w)
	case ActionScrape:
		return decodeScrape(&w)
	default:
		e := &Error{Action: ActionAnnounce, Err: ErrUnknownAction, Detail: truncate(action, 32)}
		if h, ok := decodeID(w.InfoHash); ok {
			e.InfoHash = InfoHash(h)
		}
		return nil, e
	}
}

func decodeAnnounce(w *wireRequest) (Message, error) {
	h, ok := decodeID(w.InfoHash)
	if !ok {
		return nil, &Error{Action: ActionAnnounce, Err: ErrInfoHash}
	}
	fail := func(err error, detail string) (Message, error) {
		return nil, &Error{Action: ActionAnnounce, InfoHash: InfoHash(h), Err: err, Detail: detail}
	}
	peer, ok := decodeID(w.PeerID)
	if !ok {
		return fail(ErrPeerID, "")
	}
	if present(w.Answer) {
		if !isObject(w.Answer) {
			return fail(ErrAnswer, "answer must be an object")
		}
		to, ok := decodeID(w.ToPeerID)
		if !ok {
			return fail(ErrToPeerID, "")
		}
		oid, ok := decodeOfferID(w.OfferID)
		if !ok {
			return fail(ErrOfferID, "")
		}
		return &Answer{InfoHash: InfoHash(h), PeerID: PeerID(peer), ToPeerID: PeerID(to), OfferID: OfferID(oid), SDP: w.Answer}, nil
	}

	a := &Announce{InfoHash: InfoHash(h), PeerID: PeerID(peer), NumWant: -1, Event: EventUpdate}
	if present(w.NumWant) {
		n, ok := decodeNumber(w.NumWant)
		if !ok || n < 0 || n != math.Trunc(n) {
			return fail(ErrNumWant, "")
		}
		a.NumWant = int(min(n, math.MaxInt32))
	}
	if present(w.Event) {
		ev, ok := decodeString(w.Event)
		if !ok {
			return fail(ErrFieldType, "event")
		}
		switch Event(ev) {
		case "", "empty", EventUpdate:
			a.Event = EventUpdate
		case EventStarted, EventStopped, EventCompleted, EventPaused:
			a.Event = Event(ev)
		default:
			return fail(ErrEvent, truncate(ev, 32))
		}
	}
	if present(w.Left) {
		left, ok := decodeNumber(w.Left)
		if !ok {
			return fail(ErrFieldType, "left")
		}
		a.Seeder = left == 0
	}
	if a.Event == EventCompleted {
		a.Seeder = true
	}
	if present(w.Offers) {
		var offers []wireOffer
		if err := json.Unmarshal(w.Offers, &offers); err != nil {
			return fail(ErrFieldType, "offers must be an array of {offer, offer_id}")
		}
		a.Offers = make([]Offer, 0, len(offers))
		for _, o := range offers {
			if !isObject(o.Offer) {
				return fail(ErrOffer, "offer must be an object")
			}
			oid, ok := decodeOfferID(o.OfferID)
			if !ok {
				return fail(ErrOfferID, "")
			}
			a.Offers = append(a.Offers, Offer{ID: OfferID(oid), SDP: o.Offer})
		}
	}
	return a, nil
}

func decodeScrape(w *wireRequest) (Message, error) {
	fail := func(err error) (Message, error) { return nil, &Error{Action: ActionScrape, Err: err} }
	if !present(w.InfoHash) {
		return fail(ErrInfoHash)
	}
	if h, ok := decodeID(w.InfoHash); ok {
		return &Scrape{InfoHashes: []InfoHash{InfoHash(h)}}, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(w.InfoHash, &raw); err != nil {
		return fail(ErrInfoHash)
	}
	if len(raw) == 0 {
		return fail(ErrInfoHash)
	}
	if len(raw) > MaxScrapeHashes {
		return fail(ErrTooManyHashes)
	}
	s := &Scrape{InfoHashes: make([]InfoHash, 0, len(raw))}
	for _, r := range raw {
		h, ok := decodeID(r)
		if !ok {
			return fail(ErrInfoHash)
		}
		s.InfoHashes = append(s.InfoHashes, InfoHash(h))
	}
	return s, nil
}

// ValidID reports whether s is a well-formed info_hash or peer_id: exactly
// IDLength UTF-16 code units.
func ValidID(s string) bool {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
		if n > IDLength {
			return false
		}
	}
	return n == IDLength
}

func present(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

func isObject(raw json.RawMessage) bool {
	return len(raw) > 0 && raw[0] == '{'
}

func decodeString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func decodeNumber(raw json.RawMessage) (float64, bool) {
	var f float64
	if len(raw) == 0 || json.Unmarshal(raw, &f) != nil {
		return 0, false
	}
	return f, true
}

func decodeID(raw json.RawMessage) (string, bool) {
	s, ok := decodeString(raw)
	return s, ok && ValidID(s)
}

func decodeOfferID(raw json.RawMessage) (string, bool) {
	s, ok := decodeString(raw)
	return s, ok && s != "" && len(s) <= MaxOfferIDLength
}

func idHex(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return hex.EncodeToString([]byte(s))
		}
		b = append(b, byte(r))
	}
	return hex.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
