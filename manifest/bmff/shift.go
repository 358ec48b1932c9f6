package bmff

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sort"
)

// tfhd and trun flags (ISO/IEC 14496-12 sections 8.8.7, 8.8.8).
const (
	tfhdBaseDataOffset    = 0x000001
	tfhdDefaultBaseIsMoof = 0x020000
	trunDataOffset        = 0x000001
)

// Fragment is the decode time of one track fragment.
//
//	tfdt: version u8, flags u24,
//	      baseMediaDecodeTime u32 (version 0) | u64 (version 1)
type Fragment struct {
	TrackID uint32
	// BaseMediaDecodeTime is in the track's media timescale.
	BaseMediaDecodeTime uint64
	// Version is the tfdt box's version (0: 32-bit time, 1: 64-bit).
	Version uint8
}

// Fragments returns the decode time of every track fragment of a media
// segment, in order.
func Fragments(seg []byte) ([]Fragment, error) {
	top, err := ReadBoxes(seg)
	if err != nil {
		return nil, err
	}
	var out []Fragment
	for _, moof := range top {
		if moof.Type != TypeMoof {
			continue
		}
		mb := moof.Body(seg)
		trafs, err := ReadBoxes(mb)
		if err != nil {
			return nil, err
		}
		for _, traf := range trafs {
			if traf.Type != TypeTraf {
				continue
			}
			tb := traf.Body(mb)
			kids, err := ReadBoxes(tb)
			if err != nil {
				return nil, err
			}
			f := Fragment{}
			if tfhd, ok := find(kids, TypeTfhd); ok {
				_, _, p, err := fullBox(TypeTfhd, tfhd.Body(tb))
				if err != nil || len(p) < 4 {
					return nil, fmt.Errorf("%w: tfhd", ErrTruncated)
				}
				f.TrackID = binary.BigEndian.Uint32(p)
			} else {
				return nil, fmt.Errorf("%w: traf without tfhd", ErrNotFound)
			}
			tfdt, ok := find(kids, TypeTfdt)
			if !ok {
				return nil, fmt.Errorf("%w: traf of track %d without tfdt", ErrNotFound, f.TrackID)
			}
			if f.Version, f.BaseMediaDecodeTime, err = readTfdt(tfdt.Body(tb)); err != nil {
				return nil, err
			}
			out = append(out, f)
		}
	}
	return out, nil
}

func readTfdt(body []byte) (uint8, uint64, error) {
	v, _, p, err := fullBox(TypeTfdt, body)
	if err != nil {
		return 0, 0, err
	}
	switch {
	case v == 0 && len(p) >= 4:
		return v, uint64(binary.BigEndian.Uint32(p)), nil
	case v == 1 && len(p) >= 8:
		return v, binary.BigEndian.Uint64(p), nil
	case v > 1:
		return 0, 0, fmt.Errorf("%w: tfdt version %d", ErrUnsupported, v)
	}
	return 0, 0, fmt.Errorf("%w: tfdt body of %d bytes", ErrTruncated, len(body))
}

// Shift returns a copy of the media segment seg that plays delta later:
// delta is added to the baseMediaDecodeTime of every track fragment (tfdt)
// and to the earliest_presentation_time of every top-level segment index
// (sidx). delta is in timescale units, the media timescale of every track
// of seg (the caller checks that with Timescales on the initialization
// segment); a sidx with another timescale gets delta converted, which must
// come out exact.
//
// A version 0 tfdt or sidx whose time no longer fits 32 bits is rewritten as
// version 1, which grows it: the enclosing boxes' sizes, the trun data
// offsets that count from the moof, and the sizes a sidx gives its
// references are adjusted to match. A layout whose offsets cannot be
// adjusted that way (a tfhd with an explicit base_data_offset) is then
// [ErrUnsupported].
func Shift(seg []byte, delta uint64, timescale uint32) ([]byte, error) {
	if timescale == 0 {
		return nil, fmt.Errorf("%w: timescale 0", ErrBadBox)
	}
	top, err := ReadBoxes(seg)
	if err != nil {
		return nil, err
	}
	type piece struct {
		box    Box
		data   []byte // the new box; nil: copy the old one
		sidx   *Sidx
		growth int
	}
	pieces := make([]piece, len(top))
	grown := false
	for i, b := range top {
		pieces[i].box = b
		switch b.Type {
		case TypeMoof:
			nb, growth, err := shiftMoof(b.Body(seg), delta)
			if err != nil {
				return nil, err
			}
			pieces[i].data = putHeader(make([]byte, 0, len(nb)+16), TypeMoof, len(nb), b.Large)
			pieces[i].data = append(pieces[i].data, nb...)
			pieces[i].growth = len(pieces[i].data) - b.Size
			grown = grown || growth > 0 || pieces[i].growth != 0
		case TypeSidx:
			s, err := ParseSidx(b.Body(seg))
			if err != nil {
				return nil, err
			}
			d, err := convert(delta, timescale, s.Timescale)
			if err != nil {
				return nil, err
			}
			if s.EarliestPresentationTime+d < d {
				return nil, fmt.Errorf("%w: sidx earliest presentation time %d + %d", ErrOverflow, s.EarliestPresentationTime, d)
			}
			s.EarliestPresentationTime += d
			pieces[i].sidx = s
			n := 32
			if s.Version == 1 || s.EarliestPresentationTime > math.MaxUint32 || s.FirstOffset > math.MaxUint32 {
				n = 40
			}
			pieces[i].growth = n + len(s.References)*sidxRefSize - b.Size
			grown = grown || pieces[i].growth != 0
		}
	}
	// growthIn sums the growth of the boxes that start in [from, to) of the
	// original segment: prefix sums over the boxes that grew, in order.
	var grewAt, cum []int64
	for _, p := range pieces {
		if p.growth != 0 {
			prev := int64(0)
			if len(cum) > 0 {
				prev = cum[len(cum)-1]
			}
			grewAt, cum = append(grewAt, int64(p.box.Offset)), append(cum, prev+int64(p.growth))
		}
	}
	upTo := func(x int64) int64 { // growth of the boxes starting before x
		i := sort.Search(len(grewAt), func(i int) bool { return grewAt[i] >= x })
		if i == 0 {
			return 0
		}
		return cum[i-1]
	}
	growthIn := func(from, to int64) int64 { return upTo(to) - upTo(from) }
	for i := range pieces {
		s := pieces[i].sidx
		if s == nil {
			continue
		}
		if grown {
			end := int64(pieces[i].box.End())
			first := end + int64(min(s.FirstOffset, 1<<40))
			s.FirstOffset = uint64(int64(s.FirstOffset) + growthIn(end, first))
			at := first
			for j, r := range s.References {
				g := growthIn(at, at+int64(r.Size))
				at += int64(r.Size)
				if n := int64(r.Size) + g; n > 0x7fffffff {
					return nil, fmt.Errorf("%w: sidx reference size %d", ErrOverflow, n)
				}
				s.References[j].Size = uint32(int64(r.Size) + g)
			}
		}
		if pieces[i].data, err = s.AppendBox(nil); err != nil {
			return nil, err
		}
		if len(pieces[i].data) != pieces[i].box.Size+pieces[i].growth {
			return nil, fmt.Errorf("%w: sidx first_offset over 32 bits", ErrUnsupported)
		}
	}
	out := make([]byte, 0, len(seg)+64)
	for _, p := range pieces {
		if p.data != nil {
			out = append(out, p.data...)
		} else {
			out = append(out, seg[p.box.Offset:p.box.End()]...)
		}
	}
	return out, nil
}

// convert turns delta from timescale from to timescale to, exactly.
func convert(delta uint64, from, to uint32) (uint64, error) {
	if from == to {
		return delta, nil
	}
	hi, lo := bits.Mul64(delta, uint64(to))
	if hi >= uint64(from) {
		return 0, fmt.Errorf("%w: %d/%d in timescale %d", ErrOverflow, delta, from, to)
	}
	q, r := bits.Div64(hi, lo, uint64(from))
	if r != 0 {
		return 0, fmt.Errorf("%w: a shift of %d/%d s is not a whole number of sidx timescale %d units", ErrUnsupported, delta, from, to)
	}
	return q, nil
}

// shiftMoof returns the body of a moof whose tfdt times are delta later,
// and how many bytes its tfdt boxes grew.
func shiftMoof(body []byte, delta uint64) ([]byte, int, error) {
	kids, err := ReadBoxes(body)
	if err != nil {
		return nil, 0, err
	}
	// First the growth: every version 0 tfdt that overflows becomes version 1.
	growth := 0
	for _, traf := range kids {
		if traf.Type != TypeTraf {
			continue
		}
		tb := traf.Body(body)
		parts, err := ReadBoxes(tb)
		if err != nil {
			return nil, 0, err
		}
		for _, p := range parts {
			if p.Type != TypeTfdt {
				continue
			}
			v, t, err := readTfdt(p.Body(tb))
			if err != nil {
				return nil, 0, err
			}
			if t+delta < t {
				return nil, 0, fmt.Errorf("%w: tfdt %d + %d", ErrOverflow, t, delta)
			}
			if v == 0 && t+delta > math.MaxUint32 {
				growth += 4
			}
		}
	}
	out := make([]byte, 0, len(body)+growth+16)
	trafIndex := 0
	for _, k := range kids {
		if k.Type != TypeTraf {
			out = append(out, body[k.Offset:k.End()]...)
			continue
		}
		nb, err := shiftTraf(k.Body(body), delta, growth, trafIndex == 0)
		if err != nil {
			return nil, 0, err
		}
		trafIndex++
		out = putHeader(out, TypeTraf, len(nb), k.Large)
		out = append(out, nb...)
	}
	return out, growth, nil
}

// shiftTraf returns the body of a traf whose tfdt is delta later. growth is
// what the enclosing moof grows by: trun data offsets that count from the
// moof's first byte move by as much.
func shiftTraf(body []byte, delta uint64, growth int, first bool) ([]byte, error) {
	kids, err := ReadBoxes(body)
	if err != nil {
		return nil, err
	}
	fromMoof := first
	if growth > 0 {
		tfhd, ok := find(kids, TypeTfhd)
		if !ok {
			return nil, fmt.Errorf("%w: traf without tfhd", ErrNotFound)
		}
		_, flags, _, err := fullBox(TypeTfhd, tfhd.Body(body))
		if err != nil {
			return nil, err
		}
		if flags&tfhdBaseDataOffset != 0 {
			return nil, fmt.Errorf("%w: growing a moof whose tfhd has an explicit base_data_offset", ErrUnsupported)
		}
		fromMoof = first || flags&tfhdDefaultBaseIsMoof != 0
	}
	out := make([]byte, 0, len(body)+8)
	firstRun := true
	for _, k := range kids {
		kb := k.Body(body)
		switch {
		case k.Type == TypeTfdt:
			v, t, err := readTfdt(kb)
			if err != nil {
				return nil, err
			}
			t += delta // overflow checked by shiftMoof
			if v == 0 && t > math.MaxUint32 {
				v = 1
			}
			flags := binary.BigEndian.Uint32(kb) & 0xffffff
			if v == 0 {
				out = putHeader(out, TypeTfdt, 8, k.Large)
				out = binary.BigEndian.AppendUint32(out, flags)
				out = binary.BigEndian.AppendUint32(out, uint32(t))
			} else {
				out = putHeader(out, TypeTfdt, 12, k.Large)
				out = binary.BigEndian.AppendUint32(out, 1<<24|flags)
				out = binary.BigEndian.AppendUint64(out, t)
			}
		case k.Type == TypeTrun && growth > 0 && fromMoof:
			_, flags, p, err := fullBox(TypeTrun, kb)
			if err != nil {
				return nil, err
			}
			if flags&trunDataOffset == 0 {
				if firstRun {
					return nil, fmt.Errorf("%w: growing a moof whose first trun has no data offset", ErrUnsupported)
				}
				out = append(out, body[k.Offset:k.End()]...)
				break
			}
			if len(p) < 8 {
				return nil, fmt.Errorf("%w: trun body of %d bytes", ErrTruncated, len(kb))
			}
			off := int64(int32(binary.BigEndian.Uint32(p[4:]))) + int64(growth)
			if off > math.MaxInt32 {
				return nil, fmt.Errorf("%w: trun data offset %d", ErrOverflow, off)
			}
			start := len(out)
			out = append(out, body[k.Offset:k.End()]...)
			binary.BigEndian.PutUint32(out[start+k.Header+8:], uint32(int32(off)))
			firstRun = false
		default:
			if k.Type == TypeTrun {
				firstRun = false
			}
			out = append(out, body[k.Offset:k.End()]...)
		}
	}
	return out, nil
}
