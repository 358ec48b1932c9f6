package wtproto

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf16"

	"github.com/nearcast/nearcast/internal/jsonscan"
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

// request holds the raw JSON value of each field Decode reads, as spans of
// the frame; a field sent twice keeps its last value. Absent fields are nil.
type request struct {
	action, infoHash, peerID, numWant, event, left []byte
	offers, answer, toPeerID, offerID              []byte

	// offerList holds the offers' fields, read in the same pass;
	// offersTyped is false if offers is not an array of objects and nulls.
	offerList   []rawOffer
	offersTyped bool
}

// Decode parses one client frame. On failure it returns a *Error that carries
// the action and info_hash the failure reply must echo; the caller should
// change no state. The SDP of the result aliases frame.
//
// The frame is scanned once, strictly (RFC 8259, see internal/jsonscan):
// a syntax error anywhere is ErrMalformed, before any field is looked at.
func Decode(frame []byte) (Message, error) {
	var w request
	if err := w.scan(frame); err != nil {
		return nil, err
	}
	action, ok := decodeString(w.action)
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
		if h, ok := decodeID(w.infoHash); ok {
			e.InfoHash = InfoHash(h)
		}
		return nil, e
	}
}

// scan reads the top-level object of frame into w.
func (w *request) scan(frame []byte) error {
	s := jsonscan.Scanner{Data: frame}
	malformed := func(err error) error {
		return &Error{Action: ActionAnnounce, Err: ErrMalformed, Detail: err.Error()}
	}
	s.SkipSpace()
	if s.Peek() != '{' {
		if err := s.SkipValue(0); err != nil {
			return malformed(err)
		}
		if err := s.End(); err != nil {
			return malformed(err)
		}
		return &Error{Action: ActionAnnounce, Err: ErrNotObject}
	}
	err := s.Fields(1, func(key []byte) error {
		start := s.Pos
		var err error
		if string(key) == "offers" {
			// The bulk of an announce: read once, while validating.
			w.offerList, w.offersTyped, err = scanOffers(&s)
		} else {
			err = s.SkipValue(1)
		}
		if f := w.field(string(key)); f != nil && err == nil {
			*f = frame[start:s.Pos]
		}
		return err
	})
	if err != nil {
		return malformed(err)
	}
	if err := s.End(); err != nil {
		return malformed(err)
	}
	return nil
}

// field returns where the value of key goes, or nil for a field the
// tracker does not read.
func (w *request) field(key string) *[]byte {
	switch key {
	case "action":
		return &w.action
	case "info_hash":
		return &w.infoHash
	case "peer_id":
		return &w.peerID
	case "numwant":
		return &w.numWant
	case "event":
		return &w.event
	case "left":
		return &w.left
	case "offers":
		return &w.offers
	case "answer":
		return &w.answer
	case "to_peer_id":
		return &w.toPeerID
	case "offer_id":
		return &w.offerID
	}
	return nil
}

func decodeAnnounce(w *request) (Message, error) {
	h, ok := decodeID(w.infoHash)
	if !ok {
		return nil, &Error{Action: ActionAnnounce, Err: ErrInfoHash}
	}
	fail := func(err error, detail string) (Message, error) {
		return nil, &Error{Action: ActionAnnounce, InfoHash: InfoHash(h), Err: err, Detail: detail}
	}
	peer, ok := decodeID(w.peerID)
	if !ok {
		return fail(ErrPeerID, "")
	}
	if present(w.answer) {
		if !isObject(w.answer) {
			return fail(ErrAnswer, "answer must be an object")
		}
		to, ok := decodeID(w.toPeerID)
		if !ok {
			return fail(ErrToPeerID, "")
		}
		oid, ok := decodeOfferID(w.offerID)
		if !ok {
			return fail(ErrOfferID, "")
		}
		return &Answer{InfoHash: InfoHash(h), PeerID: PeerID(peer), ToPeerID: PeerID(to), OfferID: OfferID(oid), SDP: w.answer}, nil
	}

	a := &Announce{InfoHash: InfoHash(h), PeerID: PeerID(peer), NumWant: -1, Event: EventUpdate}
	if present(w.numWant) {
		n, ok := decodeNumber(w.numWant)
		if !ok || n < 0 || n != math.Trunc(n) {
			return fail(ErrNumWant, "")
		}
		a.NumWant = int(min(n, math.MaxInt32))
	}
	if present(w.event) {
		ev, ok := decodeString(w.event)
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
	if present(w.left) {
		left, ok := decodeNumber(w.left)
		if !ok {
			return fail(ErrFieldType, "left")
		}
		a.Seeder = left == 0
	}
	if a.Event == EventCompleted {
		a.Seeder = true
	}
	if present(w.offers) {
		if !w.offersTyped {
			return fail(ErrFieldType, "offers must be an array of {offer, offer_id}")
		}
		a.Offers = make([]Offer, 0, len(w.offerList))
		for _, o := range w.offerList {
			if !isObject(o.offer) {
				return fail(ErrOffer, "offer must be an object")
			}
			oid, ok := decodeOfferID(o.offerID)
			if !ok {
				return fail(ErrOfferID, "")
			}
			a.Offers = append(a.Offers, Offer{ID: OfferID(oid), SDP: o.offer})
		}
	}
	return a, nil
}

type rawOffer struct{ offer, offerID []byte }

// scanOffers reads the value of "offers" (a field of the message object)
// at the scanner's position. Syntax errors are errors; a value that is not
// an array of objects and nulls is valid JSON but reports typed false.
func scanOffers(s *jsonscan.Scanner) (offers []rawOffer, typed bool, err error) {
	if s.Peek() != '[' {
		return nil, false, s.SkipValue(1)
	}
	s.Pos++
	s.SkipSpace()
	if s.Peek() == ']' {
		s.Pos++
		return nil, true, nil
	}
	typed = true
	for {
		s.SkipSpace()
		switch s.Peek() {
		case '{':
			o, err := scanOffer(s)
			if err != nil {
				return nil, false, err
			}
			offers = append(offers, o)
		case 'n':
			if err := s.Literal("null"); err != nil {
				return nil, false, err
			}
			offers = append(offers, rawOffer{})
		default:
			typed = false
			if err := s.SkipValue(2); err != nil {
				return nil, false, err
			}
		}
		s.SkipSpace()
		switch s.Peek() {
		case ',':
			s.Pos++
		case ']':
			s.Pos++
			return offers, typed, nil
		default:
			return nil, false, s.ErrorAt("expected comma or end of array")
		}
	}
}

// scanOffer reads one {offer, offer_id} object of the offers array.
func scanOffer(s *jsonscan.Scanner) (rawOffer, error) {
	var o rawOffer
	err := s.Fields(3, func(key []byte) error {
		start := s.Pos
		if err := s.SkipValue(3); err != nil {
			return err
		}
		switch string(key) {
		case "offer":
			o.offer = s.Data[start:s.Pos]
		case "offer_id":
			o.offerID = s.Data[start:s.Pos]
		}
		return nil
	})
	return o, err
}

func decodeScrape(w *request) (Message, error) {
	fail := func(err error) (Message, error) { return nil, &Error{Action: ActionScrape, Err: err} }
	if !present(w.infoHash) {
		return fail(ErrInfoHash)
	}
	if h, ok := decodeID(w.infoHash); ok {
		return &Scrape{InfoHashes: []InfoHash{InfoHash(h)}}, nil
	}
	// An array of info_hash strings (valid JSON, scanned already).
	s := jsonscan.Scanner{Data: w.infoHash}
	if s.Peek() != '[' {
		return fail(ErrInfoHash)
	}
	s.Pos++
	var raw [][]byte
	for {
		s.SkipSpace()
		if s.Peek() == ']' {
			break
		}
		if s.Peek() == ',' {
			s.Pos++
			continue
		}
		start := s.Pos
		_ = s.SkipValue(2)
		raw = append(raw, w.infoHash[start:s.Pos])
	}
	if len(raw) == 0 {
		return fail(ErrInfoHash)
	}
	if len(raw) > MaxScrapeHashes {
		return fail(ErrTooManyHashes)
	}
	sc := &Scrape{InfoHashes: make([]InfoHash, 0, len(raw))}
	for _, r := range raw {
		h, ok := decodeID(r)
		if !ok {
			return fail(ErrInfoHash)
		}
		sc.InfoHashes = append(sc.InfoHashes, InfoHash(h))
	}
	return sc, nil
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

func present(raw []byte) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

func isObject(raw []byte) bool {
	return len(raw) > 0 && raw[0] == '{'
}

// decodeString decodes a JSON string value (raw is valid JSON).
func decodeString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true // nothing to unescape
	}
	s := jsonscan.Scanner{Data: raw}
	b, err := s.Str(nil, true)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// decodeNumber decodes a JSON number value (raw is valid JSON); a number
// out of float64's range is refused.
func decodeNumber(raw []byte) (float64, bool) {
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

func decodeID(raw []byte) (string, bool) {
	s, ok := decodeString(raw)
	return s, ok && ValidID(s)
}

func decodeOfferID(raw []byte) (string, bool) {
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
