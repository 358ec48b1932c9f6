package loadtest

import (
	"io"
	"math"
	"net"
	"net/url"
	"time"
)

// Defaults and bounds of Config.
const (
	DefaultSwarms             = 100
	DefaultSkew               = 1.1
	DefaultOffers             = 5
	DefaultSDPBytes           = 1300
	DefaultInterval           = 30 * time.Second
	DefaultSwitchShare        = 0.1
	DefaultConnectConcurrency = 256

	// MaxConns bounds Config.Conns.
	MaxConns = 200000
	// MaxOffers is the most offers one announce carries, as the
	// bittorrent-tracker client sends.
	MaxOffers = 5
	// MinSDPBytes and MaxSDPBytes bound Config.SDPBytes. Five offers of the
	// largest size still fit in the default read limits of the nearcast and
	// bittorrent-tracker servers.
	MinSDPBytes = 512
	MaxSDPBytes = 8192
	// MaxDuration bounds Config.Duration.
	MaxDuration = 30 * time.Minute
)

// Config describes a load test. A zero field takes its default; Offers and
// SwitchShare take a negative value to mean none.
type Config struct {
	// URL is the tracker's WebSocket URL (ws:// or wss://). The generator
	// opens Conns connections to it: point it only at a tracker you run,
	// normally on loopback.
	URL string
	// Conns is the number of connections, 1 to MaxConns. Each is one
	// simulated viewer with its own peer_id.
	Conns int
	// Swarms is the number of swarms (default 100). Swarms 2k and 2k+1 are
	// two renditions of one stream: a switch moves between them.
	Swarms int
	// Skew is the Zipf exponent of swarm popularity (default 1.1; must be
	// greater than 1): swarm k draws viewers in proportion to 1/(k+1)^Skew.
	Skew float64
	// Offers is the number of offers per announce, up to MaxOffers
	// (default 5; negative: none). numwant is set to the same number.
	Offers int
	// SDPBytes is the length of each offer's and answer's SDP text before
	// JSON escaping (default 1300).
	SDPBytes int
	// Interval drives the open loop: each connection re-announces every
	// Interval (default 30s), the connections spread evenly over it.
	Interval time.Duration
	// Rate, if positive, drives the open loop instead of Interval: the total
	// announces per second over all connections.
	Rate float64
	// Outstanding, if positive, selects the closed loop (peak throughput):
	// this many announces await their response at any time over the whole
	// generator, at most one per connection; each response triggers the next
	// announce from a random connection. It overrides Rate and Interval and
	// must not exceed Conns.
	Outstanding int
	// SwitchShare is the fraction of connections that switch swarm once
	// during the measured phase (default 0.1; negative: none).
	SwitchShare float64
	// Duration is the length of the measured phase, which starts once every
	// connection is up (required, at most MaxDuration).
	Duration time.Duration
	// ConnectConcurrency is the number of dials in flight while ramping up
	// (default 256).
	ConnectConcurrency int
	// Idle selects idle mode: each connection announces once, with no
	// offers and numwant 0, then stays silent (answering pings) for
	// Duration. It measures what an idle connection costs the server.
	Idle bool
	// LocalAddrs are source IP addresses the dials rotate over (such as
	// 127.0.0.1 to 127.0.0.8), for more connections to one server port than
	// one source address has ephemeral ports (about 28 000 on Linux).
	// Empty: the system chooses.
	LocalAddrs []string
	// Progress, if not nil, receives one progress line per second.
	Progress io.Writer
}

// mode is how announces are driven.
type mode int

const (
	modeOpen mode = iota
	modeClosed
	modeIdle
)

func (m mode) String() string {
	switch m {
	case modeClosed:
		return "closed"
	case modeIdle:
		return "idle"
	}
	return "open"
}

// settings is a validated Config with its defaults applied.
type settings struct {
	Config
	mode       mode
	localAddrs []net.IP
}

// normalize validates c and applies the defaults.
func (c Config) normalize() (*settings, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return nil, configErr("URL %q is not a ws:// or wss:// URL", c.URL)
	}
	if c.Conns < 1 || c.Conns > MaxConns {
		return nil, configErr("Conns %d is outside 1..%d", c.Conns, MaxConns)
	}
	switch {
	case c.Swarms == 0:
		c.Swarms = DefaultSwarms
	case c.Swarms < 0 || c.Swarms > 1<<20:
		return nil, configErr("Swarms %d is outside 1..%d", c.Swarms, 1<<20)
	}
	switch {
	case c.Skew == 0:
		c.Skew = DefaultSkew
	case !(c.Skew > 1 && c.Skew <= 10):
		return nil, configErr("Skew %v must be greater than 1 (and at most 10)", c.Skew)
	}
	switch {
	case c.Offers == 0:
		c.Offers = DefaultOffers
	case c.Offers < 0:
		c.Offers = 0
	case c.Offers > MaxOffers:
		return nil, configErr("Offers %d is more than %d", c.Offers, MaxOffers)
	}
	switch {
	case c.SDPBytes == 0:
		c.SDPBytes = DefaultSDPBytes
	case c.SDPBytes < MinSDPBytes || c.SDPBytes > MaxSDPBytes:
		return nil, configErr("SDPBytes %d is outside %d..%d", c.SDPBytes, MinSDPBytes, MaxSDPBytes)
	}
	switch {
	case c.Interval == 0:
		c.Interval = DefaultInterval
	case c.Interval < time.Millisecond:
		return nil, configErr("Interval %v must be at least 1ms", c.Interval)
	}
	if !(c.Rate >= 0 && c.Rate <= 1e7) {
		return nil, configErr("Rate %v is outside 0..1e7 per second", c.Rate)
	}
	if c.Outstanding < 0 || c.Outstanding > c.Conns {
		return nil, configErr("Outstanding %d is outside 0..Conns (%d)", c.Outstanding, c.Conns)
	}
	switch {
	case c.SwitchShare == 0:
		c.SwitchShare = DefaultSwitchShare
	case c.SwitchShare < 0:
		c.SwitchShare = 0
	case c.SwitchShare > 1 || math.IsNaN(c.SwitchShare):
		return nil, configErr("SwitchShare %v is more than 1", c.SwitchShare)
	}
	if c.Swarms < 2 {
		c.SwitchShare = 0 // no sibling swarm to switch to
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		return nil, configErr("Duration %v is outside (0, %v]", c.Duration, MaxDuration)
	}
	switch {
	case c.ConnectConcurrency == 0:
		c.ConnectConcurrency = DefaultConnectConcurrency
	case c.ConnectConcurrency < 0 || c.ConnectConcurrency > 10000:
		return nil, configErr("ConnectConcurrency %d is outside 1..10000", c.ConnectConcurrency)
	}
	s := &settings{Config: c, mode: modeOpen}
	switch {
	case c.Idle && (c.Outstanding > 0 || c.Rate > 0):
		return nil, configErr("Idle excludes Outstanding and Rate")
	case c.Idle:
		s.mode = modeIdle
	case c.Outstanding > 0:
		s.mode = modeClosed
	}
	for _, a := range c.LocalAddrs {
		ip := net.ParseIP(a)
		if ip == nil {
			return nil, configErr("LocalAddrs entry %q is not an IP address", a)
		}
		s.localAddrs = append(s.localAddrs, ip)
	}
	return s, nil
}

// announceRate is the open loop's target in announces per second over n
// connections.
func (s *settings) announceRate(n int) float64 {
	if s.Rate > 0 {
		return s.Rate
	}
	return float64(n) / s.Interval.Seconds()
}
