package bmff

import (
	"errors"
	"fmt"

	"github.com/nearcast/nearcast/manifest"
)

// Errors of the package; each also wraps a manifest sentinel.
var (
	// ErrTruncated reports a box that claims more bytes than there are.
	ErrTruncated = fmt.Errorf("bmff: truncated box: %w", manifest.ErrMalformed)
	// ErrBadBox reports a box whose fields break the format's rules.
	ErrBadBox = fmt.Errorf("bmff: invalid box: %w", manifest.ErrMalformed)
	// ErrNotFound reports a box that is not there.
	ErrNotFound = fmt.Errorf("bmff: box not found: %w", manifest.ErrMalformed)
	// ErrOverflow reports a time that no longer fits its field.
	ErrOverflow = fmt.Errorf("bmff: time overflow: %w", manifest.ErrTooLarge)
	// ErrUnsupported reports a valid layout this package does not handle.
	ErrUnsupported = fmt.Errorf("bmff: %w", manifest.ErrUnsupported)
)

var errNoBox = errors.New("no such box")
