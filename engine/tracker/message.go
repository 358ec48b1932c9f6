package tracker

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/internal/jsonscan"
)

// MaxMessageSize bounds every message, in bytes, in both directions: Announce
// and Answer refuse to build a larger one, and larger incoming messages are
// dropped. A Conn should set its read limit to it. A tracker may accept less:
// nearcast's signaling server reads at most 64 KiB by default and closes the
// connection (status 1009) on a larger message.
const MaxMessageSize = 256 << 10

// MaxOfferIDLength bounds an offer ID, in bytes of UTF-8, as nearcast's
// signaling server does. bittorrent-tracker sends 20 binary characters (at
// most 40 bytes).
const MaxOfferIDLength = 64

// maxReasonLength bounds the failure reason kept from a tracker message.
const maxReasonLength = 512

// maxCount bounds peer counts and the interval, in seconds.
const maxCount = math.MaxInt32

const actionAnnounce = "announce"

// errTooLargeOut is returned for an outgoing message over MaxMessageSize.
var errTooLargeOut = wrap(ErrTooLarge, "outgoing message over MaxMessageSize")

// appendAnnounce appends an announce from peer self in swarm h:
//
//	{"action":"announce","info_hash":"…","peer_id":"…","numwant":5,"uploaded":0,
//	 "downloaded":0,"event":"started","offers":[{"offer":{…},"offer_id":"…"}]}
//
// The event is left out for an update; "offers" is left out when there are
// none. Offers cannot go with EventStopped.
func appendAnnounce(dst []byte, self engine.PeerID, h engine.InfoHash, ev engine.Event, numWant int, offers []engine.Offer) ([]byte, error) {
	switch ev {
	case "", engine.EventUpdate:
		ev = ""
	case engine.EventStarted, engine.EventStopped, "completed", "paused":
	default:
		return nil, wrap(ErrInvalidArgument, "unknown event")
	}
	if numWant < 0 {
		return nil, wrap(ErrInvalidArgument, "negative numwant")
	}
	if ev == engine.EventStopped && len(offers) > 0 {
		return nil, wrap(ErrInvalidArgument, "offers with event stopped")
	}
	for i := range offers {
		if err := checkOfferID(offers[i].ID); err != nil {
			return nil, err
		}
		if !validObject(offers[i].SDP) {
			return nil, wrap(ErrInvalidArgument, "offer SDP is not a JSON object")
		}
	}
	start := len(dst)
	dst = appendHead(dst, h, self)
	dst = append(dst, `,"numwant":`...)
	dst = strconv.AppendInt(dst, int64(numWant), 10)
	dst = append(dst, `,"uploaded":0,"downloaded":0`...)
	if ev != "" {
		dst = append(dst, `,"event":`...)
		dst = appendString(dst, string(ev))
	}
	if len(offers) > 0 {
		dst = append(dst, `,"offers":[`...)
		for i, o := range offers {
			if i > 0 {
				dst = append(dst, ',')
			}
			if len(dst)-start+len(o.SDP) > MaxMessageSize {
				return nil, errTooLargeOut
			}
			dst = append(dst, `{"offer":`...)
			dst = append(dst, o.SDP...)
			dst = append(dst, `,"offer_id":`...)
			dst = appendString(dst, string(o.ID))
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, '}')
	if len(dst)-start > MaxMessageSize {
		return nil, errTooLargeOut
	}
	return dst, nil
}

// appendAnswer appends the answer of peer self to offer id of peer to in
// swarm h:
//
//	{"action":"announce","info_hash":"…","peer_id":"…","to_peer_id":"…",
//	 "offer_id":"…","answer":{…}}
func appendAnswer(dst []byte, self engine.PeerID, h engine.InfoHash, to engine.PeerID, id engine.OfferID, answer engine.SDP) ([]byte, error) {
	if err := checkOfferID(id); err != nil {
		return nil, err
	}
	if !validObject(answer) {
		return nil, wrap(ErrInvalidArgument, "answer SDP is not a JSON object")
	}
	start := len(dst)
	dst = appendHead(dst, h, self)
	dst = append(dst, `,"to_peer_id":`...)
	dst = appendBinary(dst, to[:])
	dst = append(dst, `,"offer_id":`...)
	dst = appendString(dst, string(id))
	dst = append(dst, `,"answer":`...)
	dst = append(dst, answer...)
	dst = append(dst, '}')
	if len(dst)-start > MaxMessageSize {
		return nil, errTooLargeOut
	}
	return dst, nil
}

// appendHead appends the opening of every request, up to the peer_id.
func appendHead(dst []byte, h engine.InfoHash, self engine.PeerID) []byte {
	dst = append(dst, `{"action":"announce","info_hash":`...)
	dst = appendBinary(dst, h[:])
	dst = append(dst, `,"peer_id":`...)
	return appendBinary(dst, self[:])
}

// checkOfferID checks that id can travel as it is: non-empty, at most
// MaxOfferIDLength bytes, valid UTF-8 (invalid bytes could not come back
// unchanged in the answer).
func checkOfferID(id engine.OfferID) error {
	if id == "" || len(id) > MaxOfferIDLength || !utf8.ValidString(string(id)) {
		return wrap(ErrInvalidArgument, "offer ID must be 1 to 64 bytes of UTF-8")
	}
	return nil
}

// The fields of an incoming message that the client reads, as bits of
// message.seen.
const (
	fieldAction = 1 << iota
	fieldInfoHash
	fieldPeerID
	fieldOfferID
	fieldOffer
	fieldAnswer
	fieldInterval
	fieldComplete
	fieldIncomplete
	fieldFailure
)

// message is an incoming message, as far as the client reads it.
type message struct {
	seen       uint // the fields present (not null), field* bits
	action     string
	infoHash   engine.InfoHash
	peerID     engine.PeerID
	offerID    engine.OfferID
	offer      []byte // verbatim JSON object, aliasing the input
	answer     []byte // verbatim JSON object, aliasing the input
	interval   time.Duration
	complete   int
	incomplete int
	failure    string
}

// decode turns one incoming message into a signal. It returns ok == false
// and a nil error for a valid message that carries no signal (a scrape
// reply, a warning alone, an offer or answer from self), and an error
// wrapping ErrMalformed or ErrTooLarge for a message it cannot accept. The
// signal does not alias frame.
func decode(frame []byte, self engine.PeerID) (sig engine.Signal, ok bool, err error) {
	if len(frame) > MaxMessageSize {
		return sig, false, wrap(ErrTooLarge, strconv.Itoa(len(frame))+" bytes")
	}
	var m message
	if err := m.parse(frame); err != nil {
		if se, ok := err.(*jsonscan.SyntaxError); ok {
			err = wrap(ErrMalformed, se.Error())
		}
		return sig, false, err
	}
	if m.seen&fieldFailure != 0 {
		// A failure may come for any action; info_hash is there whenever the
		// tracker could read the request's.
		return engine.Signal{Kind: engine.SignalFailure, Swarm: m.infoHash, Err: wrap(ErrFailure, m.failure)}, true, nil
	}
	if m.seen&fieldAction == 0 {
		return sig, false, wrap(ErrMalformed, "no action")
	}
	switch m.action {
	case actionAnnounce:
	case "scrape":
		return sig, false, nil // never asked for; nothing to report
	default:
		return sig, false, wrap(ErrMalformed, "unknown action")
	}
	if m.seen&fieldInfoHash == 0 {
		return sig, false, wrap(ErrMalformed, "no info_hash")
	}
	sig.Swarm = m.infoHash
	switch {
	case m.seen&(fieldOffer|fieldAnswer) == fieldOffer|fieldAnswer:
		return sig, false, wrap(ErrMalformed, "both offer and answer")
	case m.seen&(fieldOffer|fieldAnswer) != 0:
		if m.seen&fieldPeerID == 0 || m.seen&fieldOfferID == 0 {
			return sig, false, wrap(ErrMalformed, "relayed SDP without peer_id or offer_id")
		}
		if m.peerID == self {
			return sig, false, nil
		}
		sig.Kind, sig.SDP = engine.SignalOffer, m.offer
		if m.seen&fieldAnswer != 0 {
			sig.Kind, sig.SDP = engine.SignalAnswer, m.answer
		}
		sig.SDP = append(engine.SDP(nil), sig.SDP...)
		sig.Peer, sig.OfferID = m.peerID, m.offerID
		return sig, true, nil
	case m.seen&(fieldInterval|fieldComplete|fieldIncomplete) != 0:
		sig.Kind = engine.SignalAnnounced
		sig.Complete, sig.Incomplete, sig.Interval = m.complete, m.incomplete, m.interval
		return sig, true, nil
	}
	return sig, false, nil // e.g. a "warning message" alone
}

// parse reads the message object, keeping the fields the client needs and
// checking their types; it skips any other field.
func (m *message) parse(frame []byte) error {
	s := &scanner{Data: frame}
	s.SkipSpace()
	if s.Peek() != '{' {
		return malformedAt(s, "message is not an object")
	}
	s.Pos++
	s.SkipSpace()
	if s.Peek() == '}' {
		s.Pos++
		return s.End()
	}
	var key, buf []byte
	for {
		s.SkipSpace()
		if s.Peek() != '"' {
			return malformedAt(s, "expected object key")
		}
		var err error
		if key, err = s.Str(key[:0], true); err != nil {
			return err
		}
		if err := s.Expect(':', "colon"); err != nil {
			return err
		}
		if buf, err = m.field(s, string(key), buf[:0]); err != nil {
			return err
		}
		s.SkipSpace()
		switch s.Peek() {
		case ',':
			s.Pos++
		case '}':
			s.Pos++
			return s.End()
		default:
			return malformedAt(s, "expected comma or end of object")
		}
	}
}

// field reads the value of field key into m; buf is scratch space, returned
// for reuse. A null value counts as absent.
func (m *message) field(s *scanner, key string, buf []byte) ([]byte, error) {
	var bit uint
	switch key {
	case "action":
		bit = fieldAction
	case "info_hash":
		bit = fieldInfoHash
	case "peer_id":
		bit = fieldPeerID
	case "offer_id":
		bit = fieldOfferID
	case "offer":
		bit = fieldOffer
	case "answer":
		bit = fieldAnswer
	case "interval":
		bit = fieldInterval
	case "complete":
		bit = fieldComplete
	case "incomplete":
		bit = fieldIncomplete
	case "failure reason":
		bit = fieldFailure
	default:
		return buf, s.SkipValue(1)
	}
	s.SkipSpace()
	if s.Peek() == 'n' {
		return buf, s.Literal("null")
	}
	if m.seen&bit != 0 {
		return buf, malformedAt(s, "duplicate field "+key)
	}
	m.seen |= bit
	switch bit {
	case fieldOffer, fieldAnswer:
		if s.Peek() != '{' {
			return buf, malformedAt(s, key+" is not an object")
		}
		raw, err := s.RawObject(2)
		if bit == fieldOffer {
			m.offer = raw
		} else {
			m.answer = raw
		}
		return buf, err
	case fieldInterval, fieldComplete, fieldIncomplete:
		if c := s.Peek(); c != '-' && (c < '0' || c > '9') {
			return buf, malformedAt(s, key+" is not a number")
		}
		at := s.Pos
		tok, err := s.Number()
		if err != nil {
			return buf, err
		}
		if bit == fieldInterval {
			ns, ok := jsonscan.ParseUint(tok, 9, maxCount*uint64(time.Second), false)
			if !ok {
				s.Pos = at
				return buf, malformedAt(s, key+" out of range")
			}
			m.interval = time.Duration(ns)
			return buf, nil
		}
		n, ok := jsonscan.ParseUint(tok, 0, maxCount, true)
		if !ok {
			s.Pos = at
			return buf, malformedAt(s, key+" is not an integer from 0 to 2^31-1")
		}
		if bit == fieldComplete {
			m.complete = int(n)
		} else {
			m.incomplete = int(n)
		}
		return buf, nil
	}
	// The remaining fields are strings.
	if s.Peek() != '"' {
		return buf, malformedAt(s, key+" is not a string")
	}
	at := s.Pos
	buf, err := s.Str(buf, true)
	if err != nil {
		return buf, err
	}
	switch bit {
	case fieldAction:
		m.action = string(buf)
	case fieldInfoHash, fieldPeerID:
		id, ok := binaryID(buf)
		if !ok {
			s.Pos = at
			return buf, malformedAt(s, key+" is not 20 characters U+0000 to U+00FF")
		}
		if bit == fieldInfoHash {
			m.infoHash = id
		} else {
			m.peerID = id
		}
	case fieldOfferID:
		if len(buf) == 0 || len(buf) > MaxOfferIDLength {
			s.Pos = at
			return buf, malformedAt(s, "offer_id length out of range")
		}
		m.offerID = engine.OfferID(buf)
	case fieldFailure:
		m.failure = truncateUTF8(buf, maxReasonLength)
	}
	return buf, nil
}

// truncateUTF8 returns b as a string of at most n bytes, cut at a character
// boundary.
func truncateUTF8(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n])
}
