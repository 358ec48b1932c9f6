package signaling

import "errors"

// Sentinel errors of the signaling package.
var (
	// ErrInvalidOption reports an option with an out-of-range value.
	ErrInvalidOption = errors.New("signaling: invalid option")
	// ErrPeerIDTaken reports a peer_id bound to another connection.
	ErrPeerIDTaken = errors.New("peer_id is in use by another connection")
	// ErrNotMember reports a connection speaking for a peer it does not own.
	ErrNotMember = errors.New("peer_id is not announced by this connection in this swarm")
	// ErrUnknownConn reports an envelope for a connection that is gone.
	ErrUnknownConn = errors.New("signaling: connection is gone")
	// ErrQueueFull reports a recipient whose send queue overflowed; the
	// recipient is disconnected.
	ErrQueueFull = errors.New("signaling: send queue full")
	// ErrToken reports a missing, malformed, forged or expired join token.
	ErrToken = errors.New("invalid join token")
	// ErrTokenSwarm reports a token that does not allow the requested swarm.
	ErrTokenSwarm = errors.New("join token does not allow this swarm")
	// ErrServerClosed is returned by Shutdown when called twice.
	ErrServerClosed = errors.New("signaling: server closed")
)
