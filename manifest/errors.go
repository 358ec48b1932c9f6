package manifest

import "errors"

// Errors shared by the manifest packages. Their errors wrap one of these
// (test with errors.Is), with the details in the message.
var (
	// ErrMalformed reports a manifest that breaks its format's rules.
	ErrMalformed = errors.New("manifest: malformed")
	// ErrUnsupported reports a valid feature nearcast does not handle.
	ErrUnsupported = errors.New("manifest: unsupported")
	// ErrTooLarge reports an input or an expansion over a configured limit:
	// a manifest over the byte limit, or more segments than the cap.
	ErrTooLarge = errors.New("manifest: over the limit")
	// ErrInvalidOption reports an option out of range.
	ErrInvalidOption = errors.New("manifest: invalid option")
)
