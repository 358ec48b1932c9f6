package manifest

import "fmt"

// Default limits. A day of 2 s segments is 43 200 segments per rendition.
const (
	// DefaultMaxSegments caps the segments one rendition expands to.
	DefaultMaxSegments = 1 << 16
	// DefaultMaxTotalSegments caps the segments of all renditions of one
	// expansion together.
	DefaultMaxTotalSegments = 1 << 18
	// DefaultMaxBytes caps the size of a manifest given to a parser.
	DefaultMaxBytes = 8 << 20
)

// Limits bound what a parser or an expander accepts. Build it with
// [NewLimits]; the zero value is not valid.
type Limits struct {
	// MaxSegments caps the segments of one rendition.
	MaxSegments int
	// MaxTotalSegments caps the segments of one expansion, all renditions.
	MaxTotalSegments int
	// MaxBytes caps the size of a manifest.
	MaxBytes int
}

// Option changes a Limits.
type Option func(*Limits) error

// WithMaxSegments caps the segments one rendition may expand to (default
// [DefaultMaxSegments]). An expansion over the cap fails with [ErrTooLarge],
// except the sliding window of a dynamic MPD addressed by @duration without
// a time-shift buffer, which keeps its newest n segments.
func WithMaxSegments(n int) Option {
	return func(l *Limits) error {
		if n < 1 {
			return fmt.Errorf("%w: max segments %d, want at least 1", ErrInvalidOption, n)
		}
		l.MaxSegments = n
		return nil
	}
}

// WithMaxTotalSegments caps the segments of one expansion, all renditions
// together (default [DefaultMaxTotalSegments]).
func WithMaxTotalSegments(n int) Option {
	return func(l *Limits) error {
		if n < 1 {
			return fmt.Errorf("%w: max total segments %d, want at least 1", ErrInvalidOption, n)
		}
		l.MaxTotalSegments = n
		return nil
	}
}

// WithMaxBytes caps the size of a manifest a parser accepts (default
// [DefaultMaxBytes]).
func WithMaxBytes(n int) Option {
	return func(l *Limits) error {
		if n < 1 {
			return fmt.Errorf("%w: max bytes %d, want at least 1", ErrInvalidOption, n)
		}
		l.MaxBytes = n
		return nil
	}
}

// NewLimits returns the default limits changed by opts.
func NewLimits(opts ...Option) (Limits, error) {
	l := Limits{MaxSegments: DefaultMaxSegments, MaxTotalSegments: DefaultMaxTotalSegments, MaxBytes: DefaultMaxBytes}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&l); err != nil {
			return Limits{}, err
		}
	}
	return l, nil
}

// Budget counts segments against Limits during one expansion.
type Budget struct {
	limits Limits
	total  int
}

// NewBudget starts counting against l.
func NewBudget(l Limits) *Budget { return &Budget{limits: l} }

// Limits returns the limits the budget counts against.
func (b *Budget) Limits() Limits { return b.limits }

// Take reserves n segments for the rendition named rendition, failing with
// [ErrTooLarge] when n is over the per-rendition cap or the total would be
// over the total cap. Call it before allocating the segments.
func (b *Budget) Take(rendition string, n uint64) error {
	if n > uint64(b.limits.MaxSegments) {
		return fmt.Errorf("%w: rendition %q has %d segments, the cap is %d (WithMaxSegments)", ErrTooLarge, rendition, n, b.limits.MaxSegments)
	}
	if uint64(b.total)+n > uint64(b.limits.MaxTotalSegments) {
		return fmt.Errorf("%w: more than %d segments in all (WithMaxTotalSegments)", ErrTooLarge, b.limits.MaxTotalSegments)
	}
	b.total += int(n)
	return nil
}
