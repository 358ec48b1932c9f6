package tracker

import (
	"time"

	"github.com/nearcast/nearcast/engine"
)

// Defaults of the client's options.
const (
	DefaultMinBackoff   = time.Second
	DefaultMaxBackoff   = 30 * time.Second
	DefaultSignalBuffer = 64
	DefaultTimeout      = 10 * time.Second
)

// Bounds of the client's options, and the capacity of its send queue.
const (
	maxBackoffLimit    = time.Hour
	maxSignalBuffer    = 1 << 16
	maxTimeoutLimit    = 10 * time.Minute
	defaultSendQueue   = 64
	peerIDRandomLength = len(engine.PeerID{}) - len(PeerIDPrefix)
)

// Option configures a Client.
type Option func(*config) error

type config struct {
	peerID       engine.PeerID
	peerIDSet    bool
	minBackoff   time.Duration
	maxBackoff   time.Duration
	signalBuffer int
	timeout      time.Duration
	onError      func(error)
}

func defaultConfig() config {
	return config{
		minBackoff:   DefaultMinBackoff,
		maxBackoff:   DefaultMaxBackoff,
		signalBuffer: DefaultSignalBuffer,
		timeout:      DefaultTimeout,
	}
}

// WithPeerID sets the peer ID the client announces with. By default it is
// PeerIDPrefix followed by 12 random bytes.
func WithPeerID(id engine.PeerID) Option {
	return func(c *config) error {
		c.peerID, c.peerIDSet = id, true
		return nil
	}
}

// WithBackoff sets the delays between connection attempts: min after the
// first failure, doubling with each further failure up to max. Each delay is
// jittered to a random value between half of it and all of it, so that
// clients dropped together by a tracker restart do not all return at once.
// A connection that stays up for max resets the delay to min. The default
// is DefaultMinBackoff to DefaultMaxBackoff; min must be positive and max
// between min and an hour.
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) error {
		if min <= 0 || max < min || max > maxBackoffLimit {
			return wrap(ErrInvalidOption, "backoff must satisfy 0 < min <= max <= 1h")
		}
		c.minBackoff, c.maxBackoff = min, max
		return nil
	}
}

// WithSignalBuffer sets the capacity of the Signals channel (default
// DefaultSignalBuffer, at most 65536). When the channel is full, incoming
// signals are dropped and reported as ErrSignalDropped.
func WithSignalBuffer(n int) Option {
	return func(c *config) error {
		if n < 1 || n > maxSignalBuffer {
			return wrap(ErrInvalidOption, "signal buffer must be 1 to 65536")
		}
		c.signalBuffer = n
		return nil
	}
}

// WithTimeout bounds each connection attempt and each write (default
// DefaultTimeout, at most 10 minutes). A write that does not complete in time
// drops the connection, and the client reconnects.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 || d > maxTimeoutLimit {
			return wrap(ErrInvalidOption, "timeout must be positive and at most 10m")
		}
		c.timeout = d
		return nil
	}
}

// WithOnError sets a function that receives the problems the client handles
// on its own: failed connection attempts (ErrDial), lost connections
// (ErrDisconnected), dropped malformed messages (ErrMalformed, ErrTooLarge)
// and dropped signals (ErrSignalDropped). It is called on the client's own
// goroutines, possibly from two at once, so it must be safe for concurrent
// use, return quickly and not call Close. A nil f reports nothing (the
// default).
func WithOnError(f func(error)) Option {
	return func(c *config) error {
		c.onError = f
		return nil
	}
}
