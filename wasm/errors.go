//go:build js && wasm

package main

import (
	"context"
	"errors"
	"syscall/js"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/engine/tracker"
)

// Errors of the browser build. Functions return them wrapped with context;
// at the JS boundary every error becomes {code, message} (see codeOf).
var (
	// ErrInvalidArgument reports an option, request or handle from JS that
	// is missing, of the wrong type or out of range.
	ErrInvalidArgument = errors.New("nearcast: invalid argument")
	// ErrClosed reports a handle whose engine has been closed.
	ErrClosed = errors.New("nearcast: engine closed")
	// ErrUnsupported reports a browser without RTCPeerConnection or
	// WebSocket.
	ErrUnsupported = errors.New("nearcast: unsupported browser")
	// ErrInvalidSDP reports a session description that is not the JSON
	// object {"type":…,"sdp":…} of the expected type, is too large or
	// offers no data channel.
	ErrInvalidSDP = errors.New("nearcast: invalid session description")
	// ErrOpenTimeout is returned by Pending.Open (and Offer and Accept
	// while gathering) when the dialer's open timeout passes.
	ErrOpenTimeout = errors.New("nearcast: timed out opening data channel")
	// ErrConnectionFailed reports a peer connection that failed.
	ErrConnectionFailed = errors.New("nearcast: peer connection failed")
	// ErrPeerClosed reports a data channel or peer connection closed by the
	// remote peer.
	ErrPeerClosed = errors.New("nearcast: closed by peer")
	// ErrPendingClosed is returned by Pending.Open after Pending.Close or a
	// failed Open; ErrAlreadyOpened by a second Open.
	ErrPendingClosed = errors.New("nearcast: pending connection closed")
	ErrAlreadyOpened = errors.New("nearcast: pending connection already opened")
	// ErrOverflow reports a peer or tracker that sent more, or larger,
	// messages than the bounded receive queue holds; the link or
	// connection is closed.
	ErrOverflow = errors.New("nearcast: receive queue overflow")
	// ErrWebSocket reports a tracker WebSocket that failed or closed.
	ErrWebSocket = errors.New("nearcast: websocket failed")
	// ErrFetch reports a CDN request that failed without a response
	// (network error, CORS refusal).
	ErrFetch = errors.New("nearcast: fetch failed")
	// ErrHTTPStatus reports a CDN response whose status is neither 200 nor
	// 206; ErrBadRange one that does not match the requested range;
	// ErrTooLarge a body above the fetcher's ceiling.
	ErrHTTPStatus = errors.New("nearcast: unexpected HTTP status")
	ErrBadRange   = errors.New("nearcast: response does not match requested range")
	ErrTooLarge   = errors.New("nearcast: response body too large")
)

// Error codes of the JS API (docs/wasm-api.md, section 1): a closed set.
const (
	codeInvalidArgument = "invalid-argument"
	codeClosed          = "closed"
	codeCDNFailed       = "cdn-failed"
	codeAborted         = "aborted"
	codeUnsupported     = "unsupported"
	codeInternal        = "internal"
)

// codeOf maps an error to its JS error code. Load fails only when the CDN
// fails or the call is cancelled, so errors not recognised otherwise from
// a Load are "cdn-failed"; elsewhere they are "internal".
func codeOf(err error, fromLoad bool) string {
	switch {
	case errors.Is(err, ErrInvalidArgument), errors.Is(err, engine.ErrInvalidRequest),
		errors.Is(err, engine.ErrInvalidOption), errors.Is(err, tracker.ErrInvalidArgument),
		errors.Is(err, tracker.ErrInvalidOption):
		return codeInvalidArgument
	case errors.Is(err, ErrClosed), errors.Is(err, engine.ErrClosed):
		return codeClosed
	case errors.Is(err, context.Canceled), isAbort(err):
		return codeAborted
	case errors.Is(err, ErrUnsupported):
		return codeUnsupported
	case fromLoad:
		return codeCDNFailed
	}
	return codeInternal
}

// errorObject returns the plain JS object {code, message} for err.
func errorObject(err error, fromLoad bool) js.Value {
	o := object.New()
	o.Set("code", codeOf(err, fromLoad))
	o.Set("message", err.Error())
	return o
}

// wrap returns an error matching sentinel with detail appended.
func wrap(sentinel error, detail string) error {
	return &detailError{err: sentinel, detail: detail}
}

// wrapCause returns an error matching sentinel and cause, with detail.
func wrapCause(sentinel error, detail string, cause error) error {
	return &detailError{err: sentinel, detail: detail, cause: cause}
}

type detailError struct {
	err    error
	detail string
	cause  error
}

func (e *detailError) Error() string {
	s := e.err.Error()
	if e.detail != "" {
		s += ": " + e.detail
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *detailError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.err}
	}
	return []error{e.err, e.cause}
}
