package signaling

import (
	"log/slog"
	"net/netip"
	"strings"
	"time"
)

// Defaults for the server's options.
const (
	DefaultPath             = "/announce"
	DefaultReadLimit        = 64 << 10
	DefaultMessageRate      = 20
	DefaultMessageBurst     = 60
	DefaultMaxConnsPerIP    = 100
	DefaultMaxOffers        = 10
	DefaultMaxNumWant       = 50
	DefaultMaxSwarms        = 32
	DefaultSendQueue        = 64
	DefaultPingInterval     = 25 * time.Second
	DefaultPongWait         = 60 * time.Second
	DefaultIdleTimeout      = 5 * time.Minute
	DefaultWriteTimeout     = 10 * time.Second
	DefaultAnnounceInterval = 120 * time.Second
	DefaultOfferTTL         = 60 * time.Second
	DefaultMaxPendingOffers = 128
	DefaultRandomShare      = 0.2
)

type config struct {
	path             string
	backend          Backend
	logger           *slog.Logger
	readLimit        int64
	rate             float64
	burst            int
	maxConnsPerIP    int
	maxOffers        int
	maxNumWant       int
	maxSwarms        int
	sendQueue        int
	pingInterval     time.Duration
	pongWait         time.Duration
	idleTimeout      time.Duration
	writeTimeout     time.Duration
	announceInterval time.Duration
	offerTTL         time.Duration
	maxPending       int
	origins          []string
	tokenSecret      []byte
	trusted          []netip.Prefix
	locator          Locator
	randomShare      float64
	now              func() time.Time
	node             NodeID
}

func defaultConfig() config {
	return config{
		path:             DefaultPath,
		logger:           slog.New(slog.DiscardHandler),
		readLimit:        DefaultReadLimit,
		rate:             DefaultMessageRate,
		burst:            DefaultMessageBurst,
		maxConnsPerIP:    DefaultMaxConnsPerIP,
		maxOffers:        DefaultMaxOffers,
		maxNumWant:       DefaultMaxNumWant,
		maxSwarms:        DefaultMaxSwarms,
		sendQueue:        DefaultSendQueue,
		pingInterval:     DefaultPingInterval,
		pongWait:         DefaultPongWait,
		idleTimeout:      DefaultIdleTimeout,
		writeTimeout:     DefaultWriteTimeout,
		announceInterval: DefaultAnnounceInterval,
		offerTTL:         DefaultOfferTTL,
		maxPending:       DefaultMaxPendingOffers,
		randomShare:      DefaultRandomShare,
		now:              time.Now,
	}
}

// Option configures a Server.
type Option func(*config) error

func invalid(what string) error { return wrapErr(ErrInvalidOption, what) }

// WithPath sets the WebSocket endpoint's path (default "/announce").
func WithPath(p string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(p, "/") {
			return invalid("path must start with /")
		}
		c.path = p
		return nil
	}
}

// WithBackend sets the swarm backend (default: a new MemoryBackend).
func WithBackend(b Backend) Option {
	return func(c *config) error {
		if b == nil {
			return invalid("nil backend")
		}
		c.backend = b
		return nil
	}
}

// WithLogger sets the structured logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return invalid("nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithReadLimit sets the largest accepted message in bytes. A larger one
// closes the connection with status 1009.
func WithReadLimit(n int64) Option {
	return func(c *config) error {
		if n < 512 {
			return invalid("read limit must be at least 512 bytes")
		}
		c.readLimit = n
		return nil
	}
}

// WithMessageRate sets the per-connection token bucket: perSecond messages
// on average, burst at once. perSecond 0 disables the limit.
func WithMessageRate(perSecond float64, burst int) Option {
	return func(c *config) error {
		if perSecond < 0 || (perSecond > 0 && burst < 1) {
			return invalid("message rate must be >= 0 with a burst >= 1")
		}
		c.rate, c.burst = perSecond, burst
		return nil
	}
}

// WithMaxConnsPerIP caps simultaneous connections from one client address
// (0: no cap).
func WithMaxConnsPerIP(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return invalid("max connections per IP must not be negative")
		}
		c.maxConnsPerIP = n
		return nil
	}
}

// WithMaxOffers caps the offers relayed from one announce; extra offers are
// not relayed.
func WithMaxOffers(n int) Option {
	return positive(func(c *config) *int { return &c.maxOffers }, n, "max offers")
}

// WithMaxNumWant clamps the numwant a client may ask for.
func WithMaxNumWant(n int) Option {
	return positive(func(c *config) *int { return &c.maxNumWant }, n, "max numwant")
}

// WithMaxSwarms caps the swarms one connection may join.
func WithMaxSwarms(n int) Option {
	return positive(func(c *config) *int { return &c.maxSwarms }, n, "max swarms")
}

// WithSendQueue sets the per-connection send queue length. A connection
// whose queue is full is disconnected: the server never waits on a reader.
func WithSendQueue(n int) Option {
	return positive(func(c *config) *int { return &c.sendQueue }, n, "send queue")
}

// WithMaxPendingOffers bounds the offers remembered per connection while
// their answers are awaited; the oldest is forgotten first.
func WithMaxPendingOffers(n int) Option {
	return positive(func(c *config) *int { return &c.maxPending }, n, "max pending offers")
}

func positive(field func(*config) *int, n int, what string) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid(what + " must be at least 1")
		}
		*field(c) = n
		return nil
	}
}

// WithKeepalive sets how often the server pings and how long it waits for
// any frame (a pong included) before it drops a connection as half-open.
func WithKeepalive(pingInterval, pongWait time.Duration) Option {
	return func(c *config) error {
		if pingInterval <= 0 || pongWait <= pingInterval {
			return invalid("keepalive needs 0 < ping interval < pong wait")
		}
		c.pingInterval, c.pongWait = pingInterval, pongWait
		return nil
	}
}

// WithIdleTimeout closes connections that send no message for d; pongs do
// not count. The sweeper checks it about four times per timeout or per
// second, whichever is more often.
func WithIdleTimeout(d time.Duration) Option {
	return duration(func(c *config) *time.Duration { return &c.idleTimeout }, d, "idle timeout")
}

// WithWriteTimeout bounds each write to a connection.
func WithWriteTimeout(d time.Duration) Option {
	return duration(func(c *config) *time.Duration { return &c.writeTimeout }, d, "write timeout")
}

// WithAnnounceInterval sets the re-announce interval sent to clients.
func WithAnnounceInterval(d time.Duration) Option {
	return duration(func(c *config) *time.Duration { return &c.announceInterval }, d, "announce interval")
}

// WithOfferTTL sets how long an answer to a relayed offer is accepted.
func WithOfferTTL(d time.Duration) Option {
	return duration(func(c *config) *time.Duration { return &c.offerTTL }, d, "offer TTL")
}

func duration(field func(*config) *time.Duration, d time.Duration, what string) Option {
	return func(c *config) error {
		if d <= 0 {
			return invalid(what + " must be positive")
		}
		*field(c) = d
		return nil
	}
}

// WithAllowedOrigins restricts WebSocket upgrades to pages of these origins
// (such as "https://player.example"). Without it every origin is allowed.
// With it, a request without an Origin header is refused too.
func WithAllowedOrigins(origins ...string) Option {
	return func(c *config) error {
		for _, o := range origins {
			if o == "" {
				return invalid("empty origin")
			}
			c.origins = append(c.origins, strings.ToLower(strings.TrimSuffix(o, "/")))
		}
		return nil
	}
}

// WithTokenSecret requires every connection to carry a join token signed
// with secret (see SignToken) in its "token" query parameter.
func WithTokenSecret(secret []byte) Option {
	return func(c *config) error {
		if len(secret) < 16 {
			return invalid("token secret must be at least 16 bytes")
		}
		c.tokenSecret = append([]byte(nil), secret...)
		return nil
	}
}

// WithTrustedProxies trusts X-Forwarded-For from these networks only.
func WithTrustedProxies(prefixes ...netip.Prefix) Option {
	return func(c *config) error {
		for _, p := range prefixes {
			if !p.IsValid() {
				return invalid("trusted proxy prefix")
			}
			c.trusted = append(c.trusted, p.Masked())
		}
		return nil
	}
}

// WithLocator enables grouping peers by autonomous system.
func WithLocator(l Locator) Option {
	return func(c *config) error {
		if l == nil {
			return invalid("nil locator")
		}
		c.locator = l
		return nil
	}
}

// WithRandomShare sets the share of offers (0 to 1, rounded up) sent to
// random peers of the swarm regardless of locality. The default is 0.2.
func WithRandomShare(f float64) Option {
	return func(c *config) error {
		if !(f >= 0 && f <= 1) {
			return invalid("random share must be within [0, 1]")
		}
		c.randomShare = f
		return nil
	}
}

// WithClock replaces the clock used for offer TTLs, token expiry and rate
// limits (tests).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return invalid("nil clock")
		}
		c.now = now
		return nil
	}
}

// WithNodeID sets this node's number in a multi-node deployment.
func WithNodeID(id NodeID) Option {
	return func(c *config) error { c.node = id; return nil }
}
