package hls

import (
	"fmt"

	"github.com/nearcast/nearcast/manifest"
)

// Errors of the package; each wraps a manifest sentinel. Input over the
// limits is manifest.ErrTooLarge.
var (
	// ErrSyntax reports a playlist that does not decode.
	ErrSyntax = fmt.Errorf("hls: syntax: %w", manifest.ErrMalformed)
	// ErrByteRange reports an EXT-X-BYTERANGE that cannot be placed: a
	// negative length or offset, or a range that overflows.
	ErrByteRange = fmt.Errorf("hls: bad byte range: %w", manifest.ErrMalformed)
	// ErrInvalid reports a playlist that breaks RFC 8216 otherwise: bad
	// durations, sequence numbers that overflow, unparsable URIs.
	ErrInvalid = fmt.Errorf("hls: invalid: %w", manifest.ErrMalformed)
	// ErrKind reports a master playlist where a media playlist was wanted,
	// or the other way round.
	ErrKind = fmt.Errorf("hls: wrong kind of playlist: %w", manifest.ErrMalformed)
)
