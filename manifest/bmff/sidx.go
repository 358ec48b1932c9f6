package bmff

import (
	"encoding/binary"
	"fmt"
)

// Sidx is a segment index box (ISO/IEC 14496-12 section 8.16.3):
//
//	version u8, flags u24
//	reference_ID u32
//	timescale u32
//	earliest_presentation_time u32 (version 0) | u64 (version 1)
//	first_offset               u32 (version 0) | u64 (version 1)
//	reserved u16
//	reference_count u16
//	reference_count × {
//	    reference_type u1 | referenced_size u31
//	    subsegment_duration u32
//	    starts_with_SAP u1 | SAP_type u3 | SAP_delta_time u28
//	}
//
// The first referenced byte is first_offset bytes after the end of the box;
// each reference follows the previous one.
type Sidx struct {
	Version     uint8
	ReferenceID uint32
	Timescale   uint32
	// EarliestPresentationTime is in Timescale units.
	EarliestPresentationTime uint64
	FirstOffset              uint64
	References               []SidxReference
}

// SidxReference is one entry of a segment index.
type SidxReference struct {
	// Index is set when the reference is to another segment index (type 1)
	// rather than to media.
	Index bool
	// Size is the referenced bytes; Duration the subsegment's duration in
	// the index's timescale.
	Size, Duration uint32
	StartsWithSAP  bool
	SAPType        uint8
	SAPDeltaTime   uint32
}

// sidxRefSize is the size of one reference entry.
const sidxRefSize = 12

// ParseSidx decodes the body of a sidx box.
func ParseSidx(body []byte) (*Sidx, error) {
	v, _, p, err := fullBox(TypeSidx, body)
	if err != nil {
		return nil, err
	}
	s := &Sidx{Version: v}
	need := 8 + 8 + 4
	if v == 1 {
		need += 8
	} else if v > 1 {
		return nil, fmt.Errorf("%w: sidx version %d", ErrUnsupported, v)
	}
	if len(p) < need {
		return nil, fmt.Errorf("%w: sidx body of %d bytes", ErrTruncated, len(body))
	}
	s.ReferenceID = binary.BigEndian.Uint32(p)
	s.Timescale = binary.BigEndian.Uint32(p[4:])
	p = p[8:]
	if v == 0 {
		s.EarliestPresentationTime = uint64(binary.BigEndian.Uint32(p))
		s.FirstOffset = uint64(binary.BigEndian.Uint32(p[4:]))
		p = p[8:]
	} else {
		s.EarliestPresentationTime = binary.BigEndian.Uint64(p)
		s.FirstOffset = binary.BigEndian.Uint64(p[8:])
		p = p[16:]
	}
	n := int(binary.BigEndian.Uint16(p[2:]))
	p = p[4:]
	if len(p) < n*sidxRefSize {
		return nil, fmt.Errorf("%w: sidx claims %d references in %d bytes", ErrTruncated, n, len(p))
	}
	if s.Timescale == 0 {
		return nil, fmt.Errorf("%w: sidx timescale 0", ErrBadBox)
	}
	s.References = make([]SidxReference, n)
	for i := range s.References {
		a := binary.BigEndian.Uint32(p)
		c := binary.BigEndian.Uint32(p[8:])
		s.References[i] = SidxReference{
			Index:         a>>31 == 1,
			Size:          a & 0x7fffffff,
			Duration:      binary.BigEndian.Uint32(p[4:]),
			StartsWithSAP: c>>31 == 1,
			SAPType:       uint8(c >> 28 & 7),
			SAPDeltaTime:  c & 0x0fffffff,
		}
		p = p[sidxRefSize:]
	}
	return s, nil
}

// AppendBox appends s as a whole sidx box (header included) to dst. The
// version is raised to 1 when a time or offset needs 64 bits.
func (s *Sidx) AppendBox(dst []byte) ([]byte, error) {
	if len(s.References) > 0xffff {
		return dst, fmt.Errorf("%w: %d sidx references", ErrBadBox, len(s.References))
	}
	v := s.Version
	if s.EarliestPresentationTime > 0xffffffff || s.FirstOffset > 0xffffffff {
		v = 1
	}
	n := 4 + 8 + 8 + 4 + len(s.References)*sidxRefSize
	if v == 1 {
		n += 8
	}
	dst = putHeader(dst, TypeSidx, n, false)
	dst = binary.BigEndian.AppendUint32(dst, uint32(v)<<24)
	dst = binary.BigEndian.AppendUint32(dst, s.ReferenceID)
	dst = binary.BigEndian.AppendUint32(dst, s.Timescale)
	if v == 0 {
		dst = binary.BigEndian.AppendUint32(dst, uint32(s.EarliestPresentationTime))
		dst = binary.BigEndian.AppendUint32(dst, uint32(s.FirstOffset))
	} else {
		dst = binary.BigEndian.AppendUint64(dst, s.EarliestPresentationTime)
		dst = binary.BigEndian.AppendUint64(dst, s.FirstOffset)
	}
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s.References)))
	for _, r := range s.References {
		if r.Size > 0x7fffffff || r.SAPType > 7 || r.SAPDeltaTime > 0x0fffffff {
			return dst, fmt.Errorf("%w: sidx reference field out of range", ErrBadBox)
		}
		a := r.Size
		if r.Index {
			a |= 1 << 31
		}
		c := uint32(r.SAPType)<<28 | r.SAPDeltaTime
		if r.StartsWithSAP {
			c |= 1 << 31
		}
		dst = binary.BigEndian.AppendUint32(dst, a)
		dst = binary.BigEndian.AppendUint32(dst, r.Duration)
		dst = binary.BigEndian.AppendUint32(dst, c)
	}
	return dst, nil
}

// Subsegment is a media range a segment index points to.
type Subsegment struct {
	// Start and End delimit the bytes [Start, End), counted from the first
	// byte of the slice given to FindSidx.
	Start, End int64
	// Time and Duration are in the index's timescale.
	Time, Duration uint64
}

// FindSidx finds the first top-level sidx box in data (which starts at a
// box boundary) and returns it and its subsegments. References to other
// indexes (hierarchical indexes) are [ErrUnsupported].
func FindSidx(data []byte) (*Sidx, []Subsegment, error) {
	boxes, err := ReadBoxes(data)
	b, ok := find(boxes, TypeSidx)
	if !ok {
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w: no sidx among %d boxes", ErrNotFound, len(boxes))
	}
	s, err := ParseSidx(b.Body(data))
	if err != nil {
		return nil, nil, err
	}
	out := make([]Subsegment, 0, len(s.References))
	if s.FirstOffset > 1<<62 {
		return nil, nil, fmt.Errorf("%w: sidx first_offset %d", ErrBadBox, s.FirstOffset)
	}
	start, t := int64(b.End())+int64(s.FirstOffset), s.EarliestPresentationTime
	for _, r := range s.References {
		if r.Index {
			return nil, nil, fmt.Errorf("%w: hierarchical segment index", ErrUnsupported)
		}
		if r.Size == 0 {
			return nil, nil, fmt.Errorf("%w: sidx reference of 0 bytes", ErrBadBox)
		}
		end := start + int64(r.Size)
		if t+uint64(r.Duration) < t {
			return nil, nil, fmt.Errorf("%w: sidx times", ErrOverflow)
		}
		out = append(out, Subsegment{Start: start, End: end, Time: t, Duration: uint64(r.Duration)})
		start, t = end, t+uint64(r.Duration)
	}
	return s, out, nil
}
