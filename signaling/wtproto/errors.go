package wtproto

import "errors"

// Sentinel errors returned (wrapped in *Error) by Decode.
var (
	ErrMalformed     = errors.New("malformed JSON")
	ErrNotObject     = errors.New("message is not a JSON object")
	ErrUnknownAction = errors.New("unknown action")
	ErrFieldType     = errors.New("field has the wrong type")
	ErrInfoHash      = errors.New("invalid info_hash")
	ErrPeerID        = errors.New("invalid peer_id")
	ErrToPeerID      = errors.New("invalid to_peer_id (required with answer)")
	ErrOfferID       = errors.New("invalid offer_id")
	ErrOffer         = errors.New("invalid offer")
	ErrAnswer        = errors.New("invalid answer")
	ErrEvent         = errors.New("invalid event")
	ErrNumWant       = errors.New("invalid numwant")
	ErrTooManyHashes = errors.New("too many info_hash values in scrape")
)

// Error is a decoding failure together with what the reply needs: clients
// match a failure to their request by action and info_hash, and ignore (or
// reconnect on) a failure without them.
type Error struct {
	// Action is the action of the failed request ("announce" when unknown).
	Action string
	// InfoHash is the request's info_hash when it could be read, else empty.
	InfoHash InfoHash
	// Err is one of the sentinel errors of this package.
	Err error
	// Detail adds context to Err, such as the field name. It may be empty.
	Detail string
}

// Error returns a human-readable reason, suitable for "failure reason".
func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Detail
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }
