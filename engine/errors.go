package engine

import "errors"

// Sentinel errors of the engine.
var (
	// ErrLinkClosed is returned by Link methods once the link is closed.
	ErrLinkClosed = errors.New("engine: link closed")
	// ErrClosed is returned by engine methods after Close.
	ErrClosed = errors.New("engine: closed")
	// ErrInvalidOption reports an option with an out-of-range value.
	ErrInvalidOption = errors.New("engine: invalid option")
	// ErrInvalidRequest reports a Load request without a swarm or URL.
	ErrInvalidRequest = errors.New("engine: invalid request")
	// ErrIntegrity reports segment data that failed verification.
	ErrIntegrity = errors.New("engine: segment failed verification")
	// ErrPeerFailed reports a peer transfer that failed or fell behind.
	ErrPeerFailed = errors.New("engine: peer transfer failed")
)
