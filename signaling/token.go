package signaling

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/nearcast/nearcast/signaling/wtproto"
)

// TokenClaims are the contents of a signed join token.
//
// A token is base64url(JSON claims) + "." + base64url(HMAC-SHA256(secret,
// first part)), without padding. It travels in the announce URL's query
// string (?token=…), so unmodified WebTorrent clients can carry it.
type TokenClaims struct {
	// Expires is the Unix time, in seconds, after which the token is refused.
	Expires int64 `json:"exp"`
	// Swarms, when not empty, lists the info_hashes (hex, as
	// wtproto.InfoHash.Hex prints them) the holder may join.
	Swarms []string `json:"swarms,omitempty"`
	// Subject is free text for the operator's logs, such as a user ID.
	Subject string `json:"sub,omitempty"`
}

// SignToken returns a join token for claims, signed with secret.
func SignToken(secret []byte, claims TokenClaims) (string, error) {
	if len(secret) == 0 {
		return "", ErrInvalidOption
	}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + base64.RawURLEncoding.EncodeToString(tokenMAC(secret, payload)), nil
}

func tokenMAC(secret []byte, payload string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// VerifyToken checks token's signature and expiry at now and returns its
// claims. Every failure wraps ErrToken.
func VerifyToken(secret []byte, token string, now time.Time) (TokenClaims, error) {
	var c TokenClaims
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || payload == "" {
		return c, wrapErr(ErrToken, "malformed")
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, tokenMAC(secret, payload)) {
		return c, wrapErr(ErrToken, "bad signature")
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(body, &c) != nil {
		return c, wrapErr(ErrToken, "malformed claims")
	}
	if c.Expires == 0 || now.Unix() >= c.Expires {
		return c, wrapErr(ErrToken, "expired")
	}
	return c, nil
}

// allows reports whether the claims admit swarm h.
func (c *TokenClaims) allows(h wtproto.InfoHash) bool {
	return len(c.Swarms) == 0 || slices.Contains(c.Swarms, h.Hex())
}

// detailError adds a detail to a sentinel error.
type detailError struct {
	err    error
	detail string
}

func (e *detailError) Error() string { return e.err.Error() + ": " + e.detail }
func (e *detailError) Unwrap() error { return e.err }

func wrapErr(err error, detail string) error { return &detailError{err: err, detail: detail} }
