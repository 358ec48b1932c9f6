//go:build !js

package native

import (
	"errors"
	"net/http"
	"strconv"
)

// Errors of package native. Functions return them wrapped with context;
// test for them with errors.Is.
var (
	// ErrInvalidOption reports an option with an out-of-range value, or
	// options that cannot be combined.
	ErrInvalidOption = errors.New("native: invalid option")
	// ErrInvalidSDP reports a session description that is not the JSON
	// object {"type":…,"sdp":…} of the expected type, is too large, offers
	// no data channel, or that pion refused.
	ErrInvalidSDP = errors.New("native: invalid session description")
	// ErrOpenTimeout is returned by Pending.Open when the data channel did
	// not open within the dialer's open timeout.
	ErrOpenTimeout = errors.New("native: timed out opening data channel")
	// ErrConnectionFailed reports a peer connection that failed: ICE found
	// no working candidate pair, the DTLS handshake failed, or the peer
	// stopped answering ICE keepalives for longer than the ICE disconnected
	// plus failed timeouts.
	ErrConnectionFailed = errors.New("native: peer connection failed")
	// ErrPeerClosed reports a data channel or peer connection that the
	// remote peer closed.
	ErrPeerClosed = errors.New("native: closed by peer")
	// ErrPendingClosed is returned by Pending.Open after Pending.Close, or
	// after an earlier Open failed.
	ErrPendingClosed = errors.New("native: pending connection closed")
	// ErrAlreadyOpened is returned by a second call to Pending.Open.
	ErrAlreadyOpened = errors.New("native: pending connection already opened")

	// ErrInvalidRequest reports a FetchRequest without a URL or with a
	// byte range that is empty, negative or open-ended.
	ErrInvalidRequest = errors.New("native: invalid fetch request")
	// ErrHTTPStatus reports an HTTP response whose status is neither 200
	// nor 206. The returned error is a *StatusError.
	ErrHTTPStatus = errors.New("native: unexpected HTTP status")
	// ErrTooLarge reports a response body, or a requested range, larger
	// than the fetcher's body ceiling.
	ErrTooLarge = errors.New("native: response body too large")
	// ErrBadRange reports a 206 response whose Content-Range is missing,
	// malformed or not the range asked for, or a body shorter than the
	// range or its Content-Length.
	ErrBadRange = errors.New("native: response does not match requested range")
)

// StatusError is the error Fetch returns for an HTTP status other than 200
// and 206. It matches ErrHTTPStatus with errors.Is.
type StatusError struct {
	// StatusCode is the HTTP status code, such as 404.
	StatusCode int
	// URL is the requested URL.
	URL string
}

// Error returns the status code and text with the URL.
func (e *StatusError) Error() string {
	return ErrHTTPStatus.Error() + ": " + strconv.Itoa(e.StatusCode) + " " +
		http.StatusText(e.StatusCode) + " for " + e.URL
}

// Unwrap returns ErrHTTPStatus.
func (e *StatusError) Unwrap() error { return ErrHTTPStatus }
