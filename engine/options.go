package engine

import (
	"time"

	"github.com/nearcast/nearcast/segmentcache"
)

// Verifier checks a segment received from a peer before it is cached or
// handed to the player. It returns an error for data that must not be used.
type Verifier func(key segmentcache.Key, data []byte) error

// Defaults of the engine's options.
const (
	DefaultMaxPeers          = 12
	DefaultOffersPerAnnounce = 5
	DefaultMaxUploads        = 1
	DefaultSwarmIdle         = 60 * time.Second
	DefaultReannounce        = 10 * time.Second
	DefaultOfferTTL          = 30 * time.Second
	DefaultMaxSegmentBytes   = 32 << 20
	DefaultFirstByteTimeout  = 2 * time.Second
	DefaultCDNMargin         = 1500 * time.Millisecond
	DefaultMaxPeerWait       = 2 * time.Second
	DefaultBanTime           = 10 * time.Minute
)

type config struct {
	cacheBytes       int64
	maxPeers         int
	offersPerAnn     int
	upload           bool
	maxUploads       int
	uploadRate       int64
	swarmIdle        time.Duration
	reannounce       time.Duration
	offerTTL         time.Duration
	maxSegmentBytes  int64
	firstByteTimeout time.Duration
	cdnMargin        time.Duration
	maxPeerWait      time.Duration
	banTime          time.Duration
	verify           Verifier
}

func defaultConfig() config {
	return config{
		maxPeers:         DefaultMaxPeers,
		offersPerAnn:     DefaultOffersPerAnnounce,
		upload:           true,
		maxUploads:       DefaultMaxUploads,
		swarmIdle:        DefaultSwarmIdle,
		reannounce:       DefaultReannounce,
		offerTTL:         DefaultOfferTTL,
		maxSegmentBytes:  DefaultMaxSegmentBytes,
		firstByteTimeout: DefaultFirstByteTimeout,
		cdnMargin:        DefaultCDNMargin,
		maxPeerWait:      DefaultMaxPeerWait,
		banTime:          DefaultBanTime,
	}
}

// Option configures an Engine.
type Option func(*config) error

// WithCacheBytes sets the size of the engine's own cache (default
// segmentcache.DefaultMaxBytes, sized for a TV).
func WithCacheBytes(n int64) Option {
	return func(cfg *config) error {
		if n <= 0 {
			return ErrInvalidOption
		}
		cfg.cacheBytes = n
		return nil
	}
}

// WithMaxPeers bounds the peers kept per swarm (default 12).
func WithMaxPeers(n int) Option { return intOption(&n, 1, func(c *config) *int { return &c.maxPeers }) }

// WithOffersPerAnnounce sets how many offers an announce carries while the
// swarm has fewer peers than wanted (default 5).
func WithOffersPerAnnounce(n int) Option {
	return intOption(&n, 0, func(c *config) *int { return &c.offersPerAnn })
}

// WithMaxUploads bounds concurrent uploads to peers (default 1: one upload at
// a time finishes sooner than several sharing the uplink, and a peer that is
// busy says so at once, so the requester can turn elsewhere).
func WithMaxUploads(n int) Option {
	return intOption(&n, 1, func(c *config) *int { return &c.maxUploads })
}

func intOption(n *int, lowest int, field func(*config) *int) Option {
	return func(c *config) error {
		if *n < lowest {
			return ErrInvalidOption
		}
		*field(c) = *n
		return nil
	}
}

// WithUpload turns uploading on (the default) or off. An engine that does
// not upload (leech-only, for metered or weak devices) rejects every
// request and announces no segments.
func WithUpload(on bool) Option {
	return func(c *config) error { c.upload = on; return nil }
}

// WithUploadRate caps upload throughput in bytes per second (0: no cap).
func WithUploadRate(bytesPerSecond int64) Option {
	return func(c *config) error {
		if bytesPerSecond < 0 {
			return ErrInvalidOption
		}
		c.uploadRate = bytesPerSecond
		return nil
	}
}

// WithVerifier sets the integrity check for segments from peers.
func WithVerifier(v Verifier) Option {
	return func(c *config) error {
		if v == nil {
			return ErrInvalidOption
		}
		c.verify = v
		return nil
	}
}

// WithSwarmIdle sets how long a swarm with no Load is kept before the engine
// leaves it (default 60 s).
func WithSwarmIdle(d time.Duration) Option {
	return durOption(d, func(c *config) *time.Duration { return &c.swarmIdle })
}

// WithReannounce sets how often the engine re-announces a swarm that has
// fewer peers than wanted (default 10 s).
func WithReannounce(d time.Duration) Option {
	return durOption(d, func(c *config) *time.Duration { return &c.reannounce })
}

// WithOfferTTL sets how long an unanswered offer is kept (default 30 s).
func WithOfferTTL(d time.Duration) Option {
	return durOption(d, func(c *config) *time.Duration { return &c.offerTTL })
}

// WithFirstByteTimeout bounds the wait for a peer's first chunk (default 2 s).
func WithFirstByteTimeout(d time.Duration) Option {
	return durOption(d, func(c *config) *time.Duration { return &c.firstByteTimeout })
}

// WithCDNMargin sets the time kept in reserve for a CDN fallback, when
// judging whether a peer transfer can meet its deadline, until the CDN's
// speed has been measured (default 1.5 s). Afterwards the reserve is the
// measured fetch time plus half again, at least 250 ms.
func WithCDNMargin(d time.Duration) Option {
	return durOption(d, func(c *config) *time.Duration { return &c.cdnMargin })
}

// WithMaxPeerWait bounds how long a Load waits for a peer to announce a
// segment nobody has yet, when the deadline allows it (default 2 s).
func WithMaxPeerWait(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return ErrInvalidOption
		}
		c.maxPeerWait = d
		return nil
	}
}

// WithMaxSegmentBytes bounds the size of one segment accepted from a peer
// (default 32 MiB).
func WithMaxSegmentBytes(n int64) Option {
	return func(c *config) error {
		if n <= 0 || n > 64<<20 {
			return ErrInvalidOption
		}
		c.maxSegmentBytes = n
		return nil
	}
}

func durOption(d time.Duration, field func(*config) *time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return ErrInvalidOption
		}
		*field(c) = d
		return nil
	}
}
