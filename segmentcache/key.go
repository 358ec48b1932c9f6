package segmentcache

import (
	"cmp"
	"strconv"
)

// SwarmID identifies a swarm: one rendition (or audio track) of one stream.
type SwarmID string

// Key identifies one cached segment, including its byte range.
//
// A key names either a whole resource (Start and End both 0) or the half-open
// byte range [Start, End) of one, with 0 <= Start < End, as used by HLS
// EXT-X-BYTERANGE (RFC 8216, section 4.3.2.2) and DASH media ranges
// (ISO/IEC 23009-1). Put rejects any other key with [ErrInvalidKey].
type Key struct {
	Swarm SwarmID
	Seq   uint64 // segment sequence number within the swarm (HLS media sequence, DASH $Number$ or list index)
	Start int64  // byte range start (inclusive); 0 for a whole resource
	End   int64  // byte range end (exclusive); 0 means "whole resource"
}

// String returns a compact form of k for logs, such as "v720#42" for a whole
// resource or "v720#42[0,1024)" for a byte range.
func (k Key) String() string {
	b := make([]byte, 0, len(k.Swarm)+48)
	b = append(b, k.Swarm...)
	b = append(b, '#')
	b = strconv.AppendUint(b, k.Seq, 10)
	if k.Start != 0 || k.End != 0 {
		b = append(b, '[')
		b = strconv.AppendInt(b, k.Start, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, k.End, 10)
		b = append(b, ')')
	}
	return string(b)
}

// valid reports whether k names a swarm and a whole resource or a non-empty
// byte range.
func (k Key) valid() bool {
	if k.Swarm == "" || k.Start < 0 {
		return false
	}
	if k.End == 0 {
		return k.Start == 0
	}
	return k.End > k.Start
}

// compareKeys orders keys by Seq, then Start, then End. It is used for keys
// of one swarm.
func compareKeys(a, b Key) int {
	return cmp.Or(
		cmp.Compare(a.Seq, b.Seq),
		cmp.Compare(a.Start, b.Start),
		cmp.Compare(a.End, b.End),
	)
}
