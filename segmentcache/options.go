package segmentcache

import "strconv"

const (
	// DefaultMaxBytes is the capacity of a cache built without WithMaxBytes:
	// 64 MiB, small enough for a TV.
	DefaultMaxBytes int64 = 64 << 20
	// DefaultMaxEntries is the entry limit of a cache built without
	// WithMaxEntries. It bounds the per-entry bookkeeping when segments are
	// tiny (such as LL-HLS parts or low-bitrate audio).
	DefaultMaxEntries = 4096
)

// Option configures a Cache built by New.
type Option func(*config) error

// config is what the options set; New starts from defaultConfig.
type config struct {
	maxBytes   int64
	maxEntries int
	onEvict    func(Key)
}

func defaultConfig() config {
	return config{maxBytes: DefaultMaxBytes, maxEntries: DefaultMaxEntries}
}

// WithMaxBytes sets the capacity of the cache: the most bytes of segment
// data it holds at once. It must be positive.
func WithMaxBytes(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return withDetail(ErrInvalidOption, "WithMaxBytes("+strconv.FormatInt(n, 10)+"): must be positive")
		}
		c.maxBytes = n
		return nil
	}
}

// WithMaxEntries sets the most entries the cache holds at once, whatever
// their size. It must be positive.
func WithMaxEntries(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return withDetail(ErrInvalidOption, "WithMaxEntries("+strconv.Itoa(n)+"): must be positive")
		}
		c.maxEntries = n
		return nil
	}
}

// WithOnEvict sets a function called with the key of every entry the cache
// drops: to make room in Put, or in EvictSwarm or EvictBefore. It is not
// called for Remove or for an entry replaced by Put, whose callers know what
// they dropped. fn is called after the cache's lock is released, so it may
// call the cache; calls from concurrent operations may interleave. fn must
// not be nil.
func WithOnEvict(fn func(Key)) Option {
	return func(c *config) error {
		if fn == nil {
			return withDetail(ErrInvalidOption, "WithOnEvict(nil)")
		}
		c.onEvict = fn
		return nil
	}
}
