package bmff

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// FuzzShift feeds arbitrary segments to Shift: it must not panic, and what
// it returns must parse, with every fragment delta later and the sidx
// references still ending where the segment does when they did before.
func FuzzShift(f *testing.F) {
	p := []byte("payload")
	f1 := fragment(1, 1, 24576, tfhdDefaultBaseIsMoof, p)
	f0 := fragment(2, 0, math.MaxUint32-3, 0, p)
	f.Add(bytes.Join([][]byte{box("styp", []byte("msdh")), sidxBox(1, 12288, 24576, f1), f1}, nil), uint64(737280))
	f.Add(bytes.Join([][]byte{sidxBox(0, 90000, 5, f0, f1), f0, f1}, nil), uint64(10))
	f.Add(fragment(1, 0, 5, tfhdBaseDataOffset, p), uint64(math.MaxUint32))
	f.Add([]byte{}, uint64(1))
	f.Fuzz(func(t *testing.T, seg []byte, delta uint64) {
		before, ferr := Fragments(seg)
		out, err := Shift(seg, delta, 1)
		if err != nil {
			return
		}
		after, err := Fragments(out)
		if ferr != nil {
			// Shift only parses what it changes; Fragments is stricter.
			return
		}
		if err != nil {
			t.Fatalf("shifted segment does not parse: %v", err)
		}
		if len(after) != len(before) {
			t.Fatalf("%d fragments, want %d", len(after), len(before))
		}
		for i := range after {
			if after[i].BaseMediaDecodeTime != before[i].BaseMediaDecodeTime+delta || after[i].TrackID != before[i].TrackID {
				t.Fatalf("fragment %d: %+v, want %+v + %d", i, after[i], before[i], delta)
			}
		}
		if _, subs, err := FindSidx(seg); err == nil && len(subs) > 0 && subs[len(subs)-1].End == int64(len(seg)) {
			_, subs2, err := FindSidx(out)
			if err != nil || len(subs2) != len(subs) || subs2[len(subs2)-1].End != int64(len(out)) {
				t.Fatalf("sidx no longer spans the segment: %+v %v", subs2, err)
			}
		}
	})
}

// FuzzSidx feeds arbitrary bytes to FindSidx and Timescales: errors, never
// panics, and a parsed index re-encodes to a box that parses the same.
func FuzzSidx(f *testing.F) {
	fr := fragment(1, 1, 0, 0, []byte("aa"))
	f.Add(append(sidxBox(0, 1000, 500, fr), fr...))
	f.Add(sidxBox(1, 48000, 1<<40, fr, fr))
	f.Add(initSegment([2]uint32{1, 12288}, [2]uint32{2, 48000}))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Timescales(data)
		s, subs, err := FindSidx(data)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadBox) && !errors.Is(err, ErrNotFound) &&
				!errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrOverflow) {
				t.Fatalf("error outside the set: %v", err)
			}
			return
		}
		b, err := s.AppendBox(nil)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		s2, subs2, err := FindSidx(b)
		if err != nil || s2.EarliestPresentationTime != s.EarliestPresentationTime || len(subs2) != len(subs) {
			t.Fatalf("re-encoded sidx: %+v %v", s2, err)
		}
	})
}
