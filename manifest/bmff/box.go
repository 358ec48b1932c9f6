package bmff

import (
	"encoding/binary"
	"fmt"
)

// Type is a box's four-character code.
type Type [4]byte

func (t Type) String() string { return string(t[:]) }

// Box types this package knows.
var (
	TypeMoov = Type{'m', 'o', 'o', 'v'}
	TypeTrak = Type{'t', 'r', 'a', 'k'}
	TypeTkhd = Type{'t', 'k', 'h', 'd'}
	TypeMdia = Type{'m', 'd', 'i', 'a'}
	TypeMdhd = Type{'m', 'd', 'h', 'd'}
	TypeMoof = Type{'m', 'o', 'o', 'f'}
	TypeTraf = Type{'t', 'r', 'a', 'f'}
	TypeTfhd = Type{'t', 'f', 'h', 'd'}
	TypeTfdt = Type{'t', 'f', 'd', 't'}
	TypeTrun = Type{'t', 'r', 'u', 'n'}
	TypeSidx = Type{'s', 'i', 'd', 'x'}
	TypeMdat = Type{'m', 'd', 'a', 't'}
	TypeUUID = Type{'u', 'u', 'i', 'd'}
)

// Box is one box found in a byte slice.
//
//	size      uint32   whole box, header included; 1: largesize follows; 0: to the end
//	type      [4]byte
//	largesize uint64   only when size == 1
//	usertype  [16]byte only when type == "uuid"
//	body      size - header bytes
type Box struct {
	Type   Type
	Offset int // of the header, in the slice given to ReadBoxes
	Header int // header length: 8, 16, 24 or 32
	Size   int // whole box
	// Large is set when the header used the 64-bit largesize field.
	Large bool
}

// End returns the offset just past the box.
func (b Box) End() int { return b.Offset + b.Size }

// Body returns the box's body within data, the slice the box was read from.
func (b Box) Body(data []byte) []byte { return data[b.Offset+b.Header : b.End()] }

// ReadBoxes reads the sibling boxes that make up data, in order. A box with
// size 0 runs to the end of data. A box that overruns data is
// [ErrTruncated].
func ReadBoxes(data []byte) ([]Box, error) {
	var out []Box
	for off := 0; off < len(data); {
		b, err := readHeader(data, off)
		if err != nil {
			return out, err
		}
		out = append(out, b)
		off = b.End()
	}
	return out, nil
}

func readHeader(data []byte, off int) (Box, error) {
	rest := len(data) - off
	if rest < 8 {
		return Box{}, fmt.Errorf("%w: %d bytes left at offset %d, a box header needs 8", ErrTruncated, rest, off)
	}
	b := Box{Offset: off, Header: 8}
	copy(b.Type[:], data[off+4:off+8])
	size := uint64(binary.BigEndian.Uint32(data[off:]))
	switch size {
	case 0:
		size = uint64(rest)
	case 1:
		if rest < 16 {
			return Box{}, fmt.Errorf("%w: %q largesize at offset %d", ErrTruncated, b.Type, off)
		}
		size = binary.BigEndian.Uint64(data[off+8:])
		b.Header, b.Large = 16, true
	}
	if b.Type == TypeUUID {
		b.Header += 16
	}
	if size < uint64(b.Header) {
		return Box{}, fmt.Errorf("%w: %q at offset %d has size %d, under its %d-byte header", ErrBadBox, b.Type, off, size, b.Header)
	}
	if size > uint64(rest) {
		return Box{}, fmt.Errorf("%w: %q at offset %d has size %d, %d bytes left", ErrTruncated, b.Type, off, size, rest)
	}
	b.Size = int(size)
	return b, nil
}

// find returns the first box of type t among boxes.
func find(boxes []Box, t Type) (Box, bool) {
	for _, b := range boxes {
		if b.Type == t {
			return b, true
		}
	}
	return Box{}, false
}

// fullBox splits a FullBox body into version, flags and the rest.
func fullBox(t Type, body []byte) (version uint8, flags uint32, rest []byte, err error) {
	if len(body) < 4 {
		return 0, 0, nil, fmt.Errorf("%w: %q body of %d bytes", ErrTruncated, t, len(body))
	}
	return body[0], binary.BigEndian.Uint32(body) & 0xffffff, body[4:], nil
}

// putHeader appends a box header of type t for a body of n bytes, in the
// 64-bit form when large or when the size needs it.
func putHeader(dst []byte, t Type, n int, large bool) []byte {
	size := uint64(n) + 8
	if large || size > 0xffffffff {
		dst = binary.BigEndian.AppendUint32(dst, 1)
		dst = append(dst, t[:]...)
		return binary.BigEndian.AppendUint64(dst, size+8)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(size))
	return append(dst, t[:]...)
}
