package mpd

import (
	"fmt"

	"github.com/nearcast/nearcast/manifest"
)

// Errors of the package. Each wraps a manifest sentinel (ErrMalformed or
// ErrUnsupported), so callers may test either. An input or an expansion over
// the limits is manifest.ErrTooLarge.
var (
	// ErrSyntax reports a document that is not an MPD: bad XML, another root
	// element, an attribute of the wrong type.
	ErrSyntax = fmt.Errorf("mpd: syntax: %w", manifest.ErrMalformed)
	// ErrDuration reports an xs:duration or xs:dateTime that does not parse
	// or is out of range.
	ErrDuration = fmt.Errorf("mpd: bad duration or date: %w", manifest.ErrMalformed)
	// ErrTemplate reports a SegmentTemplate whose identifiers are unknown,
	// unterminated, badly formatted, or have no value where used.
	ErrTemplate = fmt.Errorf("mpd: bad template: %w", manifest.ErrMalformed)
	// ErrTimeline reports a segment timeline or list that cannot be laid out:
	// no duration, times going backwards, r=-1 with no end, an overflow.
	ErrTimeline = fmt.Errorf("mpd: bad segment timeline: %w", manifest.ErrMalformed)
	// ErrInvalid reports a structure that breaks ISO/IEC 23009-1: a missing
	// or duplicate Representation@id, no segment addressing, a dynamic MPD
	// without availabilityStartTime.
	ErrInvalid = fmt.Errorf("mpd: invalid: %w", manifest.ErrMalformed)
	// ErrURL reports a BaseURL or segment URL that does not parse.
	ErrURL = fmt.Errorf("mpd: bad URL: %w", manifest.ErrMalformed)
	// ErrUnsupported reports a valid feature this package does not expand.
	ErrUnsupported = fmt.Errorf("mpd: %w", manifest.ErrUnsupported)
)
