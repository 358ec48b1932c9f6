package tracker

import "errors"

// Sentinel errors of the package. Functions return them as they are or
// wrapped in an *Error; test for them with errors.Is.
var (
	// ErrNotConnected is returned by Announce and Answer while the client
	// has no connection to the tracker. The client does not queue messages
	// for a later connection; the engine announces again on
	// engine.SignalConnected.
	ErrNotConnected = errors.New("tracker: not connected")
	// ErrClosed is returned by Announce and Answer after Close.
	ErrClosed = errors.New("tracker: client closed")
	// ErrFailure is wrapped by the Err of an engine.SignalFailure: the
	// tracker refused a request. The *Error's Detail is the tracker's
	// "failure reason".
	ErrFailure = errors.New("tracker: request refused")
	// ErrMalformed reports an incoming message that is not a JSON object the
	// client understands, or a field with the wrong type or form. The
	// message is dropped; the connection stays open.
	ErrMalformed = errors.New("tracker: malformed message")
	// ErrTooLarge reports a message, incoming or outgoing, larger than
	// MaxMessageSize.
	ErrTooLarge = errors.New("tracker: message too large")
	// ErrInvalidArgument is returned by New, Announce and Answer for an
	// argument the protocol cannot carry: an unknown event, a negative
	// numwant, an offer ID that is empty, too long or not UTF-8, an SDP
	// that is not a JSON object.
	ErrInvalidArgument = errors.New("tracker: invalid argument")
	// ErrInvalidOption is returned by New for a nil or out-of-range option.
	ErrInvalidOption = errors.New("tracker: invalid option")
	// ErrSendQueueFull is returned by Announce and Answer when the
	// connection's send queue is full because writes are not completing.
	ErrSendQueueFull = errors.New("tracker: send queue full")
	// ErrSignalDropped is reported through the OnError callback when an
	// incoming signal is dropped because the Signals channel is full.
	ErrSignalDropped = errors.New("tracker: signal dropped, Signals channel full")
	// ErrDial is reported through the OnError callback when a connection
	// attempt fails; the client retries after a backoff.
	ErrDial = errors.New("tracker: dial failed")
	// ErrDisconnected is reported through the OnError callback when an open
	// connection fails; the client reconnects after a backoff.
	ErrDisconnected = errors.New("tracker: connection lost")
)

// Error is an error of this package with context: a sentinel, a detail and
// possibly the underlying cause. errors.Is matches both the sentinel and the
// cause.
type Error struct {
	// Err is one of the package's sentinel errors.
	Err error
	// Detail adds context, such as the tracker's failure reason or where a
	// message failed to parse. It may be empty.
	Detail string
	// Cause is the underlying error, such as the Conn's, or nil.
	Cause error
}

// Error returns the sentinel's text followed by the detail and the cause.
func (e *Error) Error() string {
	s := e.Err.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the sentinel and, when there is one, the cause.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

func wrap(err error, detail string) error { return &Error{Err: err, Detail: detail} }
