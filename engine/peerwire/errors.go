package peerwire

import (
	"errors"
	"strconv"
)

// Decoding and encoding errors. Encode and Decode return these wrapped with
// context; test for them with errors.Is.
var (
	// ErrUnknownVersion is returned for a message whose version byte is not
	// Version. The peer speaks another protocol version; close the channel.
	ErrUnknownVersion = errors.New("peerwire: unknown protocol version")
	// ErrUnknownType is returned for a message whose type byte is not one of
	// the Type constants.
	ErrUnknownType = errors.New("peerwire: unknown message type")
	// ErrTruncated is returned when a message is shorter than its layout or
	// its length field requires.
	ErrTruncated = errors.New("peerwire: truncated message")
	// ErrTrailingBytes is returned when a message is longer than its layout
	// and its length field allow.
	ErrTrailingBytes = errors.New("peerwire: trailing bytes after message")
	// ErrTooManySeqs is returned for a Have or Lost carrying more than
	// MaxHaveSeqs sequence numbers.
	ErrTooManySeqs = errors.New("peerwire: too many sequence numbers")
	// ErrBitfieldTooLarge is returned for a Bitfield longer than
	// MaxBitfieldBytes, or when a Bitfield built from sequence numbers would
	// be.
	ErrBitfieldTooLarge = errors.New("peerwire: bitfield too large")
	// ErrChunkTooLarge is returned for a Chunk carrying more than
	// MaxChunkSize bytes of data.
	ErrChunkTooLarge = errors.New("peerwire: chunk data too large")
	// ErrTooLarge is returned when a response body is larger than
	// MaxSegmentSize (a Chunk's Total, or the body given to a Chunker) or
	// than the length the receiver expects (in the Assembler).
	ErrTooLarge = errors.New("peerwire: body too large")
	// ErrOverflow is returned for a Chunk whose data would end past its
	// declared Total.
	ErrOverflow = errors.New("peerwire: chunk overflows declared total")
	// ErrEmptyChunk is returned for a Chunk without data whose Total is not
	// zero. Only the single chunk of an empty body may be empty.
	ErrEmptyChunk = errors.New("peerwire: empty chunk")
	// ErrBadRange is returned for a Request whose byte range is empty,
	// inverted or larger than MaxSegmentSize, and for a Bitfield whose last
	// sequence number would overflow uint64.
	ErrBadRange = errors.New("peerwire: invalid range")
	// ErrNilMessage is returned when a nil Message or a nil message pointer
	// is passed to Encode or to the Assembler.
	ErrNilMessage = errors.New("peerwire: nil message")
	// ErrNilSource is returned by NewChunkerAt for a nil io.ReaderAt.
	ErrNilSource = errors.New("peerwire: nil chunk source")
)

// Assembler errors. All of them except ErrDuplicateRequest and
// ErrTooManyRequests mean the remote peer broke the protocol.
var (
	// ErrUnsolicited is returned for a Chunk that answers no outstanding
	// request and no recently cancelled one.
	ErrUnsolicited = errors.New("peerwire: unsolicited chunk")
	// ErrOutOfOrder is returned for a Chunk whose Offset is not the number of
	// bytes received so far for its request.
	ErrOutOfOrder = errors.New("peerwire: chunk out of order")
	// ErrTotalMismatch is returned for a Chunk whose Total differs from the
	// Total of the earlier chunks of the same response.
	ErrTotalMismatch = errors.New("peerwire: chunk total changed")
	// ErrDuplicateRequest is returned by Assembler.Expect for a request ID
	// that is outstanding or was cancelled recently.
	ErrDuplicateRequest = errors.New("peerwire: duplicate request id")
	// ErrTooManyRequests is returned by Assembler.Expect when MaxOutstanding
	// requests are already outstanding.
	ErrTooManyRequests = errors.New("peerwire: too many outstanding requests")
)

// wireError adds context (which message, which values) to a sentinel error
// without importing fmt. Its Error text is the sentinel's, followed by the
// context in parentheses.
type wireError struct {
	err    error
	detail string
}

func (e *wireError) Error() string { return e.err.Error() + " (" + e.detail + ")" }

func (e *wireError) Unwrap() error { return e.err }

func wrap(err error, detail string) error { return &wireError{err: err, detail: detail} }

// itoa formats n for error details.
func itoa[T ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~int](n T) string {
	return strconv.FormatUint(uint64(n), 10)
}
