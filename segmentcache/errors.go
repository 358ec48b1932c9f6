package segmentcache

import "errors"

// Sentinel errors returned by this package. Errors may carry detail (such as
// the key or the sizes involved); match them with [errors.Is].
var (
	// ErrInvalidOption is returned by New when an option is nil or out of range.
	ErrInvalidOption = errors.New("segmentcache: invalid option")
	// ErrInvalidKey is returned by Put for a key that names no swarm or has an
	// invalid byte range.
	ErrInvalidKey = errors.New("segmentcache: invalid key")
	// ErrTooLarge is returned by Put for a segment larger than the capacity
	// of the whole cache; it can never be stored.
	ErrTooLarge = errors.New("segmentcache: segment larger than cache capacity")
	// ErrNoSpace is returned by Put when the segment could fit in an empty
	// cache but pinned entries leave too little room for it now.
	ErrNoSpace = errors.New("segmentcache: no space left beside pinned entries")
	// ErrPinned is returned by Put when replacing an entry that is pinned.
	ErrPinned = errors.New("segmentcache: segment is pinned")
	// ErrNotFound is returned by ReadAt when the key is not cached.
	ErrNotFound = errors.New("segmentcache: segment not found")
	// ErrNegativeOffset is returned by ReadAt for an offset below zero.
	ErrNegativeOffset = errors.New("segmentcache: negative offset")
)

// detailError adds context to one of the sentinel errors above.
type detailError struct {
	err    error
	detail string
}

func (e *detailError) Error() string { return e.err.Error() + ": " + e.detail }

func (e *detailError) Unwrap() error { return e.err }

// withDetail wraps err, one of the sentinel errors, with detail.
func withDetail(err error, detail string) error {
	return &detailError{err: err, detail: detail}
}
