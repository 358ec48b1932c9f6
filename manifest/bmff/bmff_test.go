package bmff

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/nearcast/nearcast/manifest"
)

// box builds a box of type t around the concatenated bodies.
func box(t string, body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	out := binary.BigEndian.AppendUint32(nil, uint32(len(b)+8))
	return append(append(out, t...), b...)
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// full is a FullBox version and flags word.
func full(v uint8, flags uint32) []byte { return u32(uint32(v)<<24 | flags) }

func tfdt(v uint8, t uint64) []byte {
	if v == 0 {
		return box("tfdt", full(0, 0), u32(uint32(t)))
	}
	return box("tfdt", full(1, 0), u64(t))
}

// trun has one sample of size n at data offset off.
func trun(off int32, n uint32) []byte {
	return box("trun", full(0, trunDataOffset|0x000200), u32(1), u32(uint32(off)), u32(n))
}

// fragment builds moof+mdat for one track fragment with a tfdt of version
// v at time t; tfhdFlags go to the tfhd. The trun's data offset points at
// the mdat payload, counted from the moof.
func fragment(track uint32, v uint8, t uint64, tfhdFlags uint32, payload []byte) []byte {
	build := func(off int32) []byte {
		tfhd := box("tfhd", full(0, tfhdFlags), u32(track))
		if tfhdFlags&tfhdBaseDataOffset != 0 {
			tfhd = box("tfhd", full(0, tfhdFlags), u32(track), u64(0))
		}
		return box("moof", box("mfhd", full(0, 0), u32(1)), box("traf", tfhd, tfdt(v, t), trun(off, uint32(len(payload)))))
	}
	moof := build(0)
	moof = build(int32(len(moof) + 8))
	return append(moof, box("mdat", payload)...)
}

// sidxBox indexes the given fragments, which follow it directly.
func sidxBox(v uint8, timescale uint32, ept uint64, frags ...[]byte) []byte {
	s := &Sidx{Version: v, ReferenceID: 1, Timescale: timescale, EarliestPresentationTime: ept}
	for _, f := range frags {
		s.References = append(s.References, SidxReference{Size: uint32(len(f)), Duration: 2000, StartsWithSAP: true, SAPType: 1})
	}
	out, err := s.AppendBox(nil)
	if err != nil {
		panic(err)
	}
	return out
}

// payloadAt returns the bytes the first trun of the first moof of seg points
// at, and checks that every box of seg parses.
func payloadAt(t *testing.T, seg []byte, n int) []byte {
	t.Helper()
	top, err := ReadBoxes(seg)
	if err != nil {
		t.Fatal(err)
	}
	moof, ok := find(top, TypeMoof)
	if !ok {
		t.Fatal("no moof")
	}
	mb := moof.Body(seg)
	trafs, _ := ReadBoxes(mb)
	traf, _ := find(trafs, TypeTraf)
	tb := traf.Body(mb)
	kids, err := ReadBoxes(tb)
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := find(kids, TypeTrun)
	off := int(int32(binary.BigEndian.Uint32(tr.Body(tb)[8:])))
	return seg[moof.Offset+off : moof.Offset+off+n]
}

func TestShiftVersion1InPlace(t *testing.T) {
	payload := []byte("sample-bytes")
	frag := fragment(1, 1, 24576, tfhdDefaultBaseIsMoof, payload)
	seg := bytes.Join([][]byte{box("styp", []byte("msdh")), sidxBox(1, 12288, 24576, frag), frag}, nil)
	out, err := Shift(seg, 737280, 12288)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(seg) {
		t.Fatalf("length %d, want %d", len(out), len(seg))
	}
	fr, err := Fragments(out)
	if err != nil || len(fr) != 1 || fr[0].BaseMediaDecodeTime != 24576+737280 || fr[0].TrackID != 1 || fr[0].Version != 1 {
		t.Fatalf("fragments %+v, %v", fr, err)
	}
	s, subs, err := FindSidx(out)
	if err != nil || s.EarliestPresentationTime != 24576+737280 || len(subs) != 1 || subs[0].End != int64(len(out)) {
		t.Fatalf("sidx %+v %+v %v", s, subs, err)
	}
	if got := payloadAt(t, out, len(payload)); !bytes.Equal(got, payload) {
		t.Errorf("payload %q", got)
	}
	// The input is left alone.
	if fr, _ := Fragments(seg); fr[0].BaseMediaDecodeTime != 24576 {
		t.Errorf("input changed: %+v", fr)
	}
}

func TestShiftUpgradesVersion0(t *testing.T) {
	payload := []byte("0123456789")
	for _, flags := range []uint32{0, tfhdDefaultBaseIsMoof} {
		frag := fragment(7, 0, math.MaxUint32-10, flags, payload)
		seg := bytes.Join([][]byte{sidxBox(0, 90000, math.MaxUint32-10, frag), frag}, nil)
		out, err := Shift(seg, 100, 90000)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != len(seg)+4+8 {
			t.Errorf("length %d, want %d (tfdt +4, sidx +8)", len(out), len(seg)+12)
		}
		fr, err := Fragments(out)
		if err != nil || fr[0].Version != 1 || fr[0].BaseMediaDecodeTime != math.MaxUint32+90 {
			t.Fatalf("fragments %+v %v", fr, err)
		}
		s, subs, err := FindSidx(out)
		if err != nil || s.Version != 1 || s.EarliestPresentationTime != math.MaxUint32+90 || subs[0].End != int64(len(out)) {
			t.Fatalf("sidx %+v %+v %v", s, subs, err)
		}
		if got := payloadAt(t, out, len(payload)); !bytes.Equal(got, payload) {
			t.Errorf("flags %#x: data offset points at %q after the upgrade", flags, got)
		}
	}
}

func TestShiftErrors(t *testing.T) {
	payload := []byte("x")
	for name, c := range map[string]struct {
		seg       []byte
		delta     uint64
		timescale uint32
		want      error
	}{
		"u64 overflow":     {fragment(1, 1, math.MaxUint64-1, 0, payload), 2, 1, ErrOverflow},
		"base_data_offset": {fragment(1, 0, math.MaxUint32, tfhdBaseDataOffset, payload), 1, 1, ErrUnsupported},
		"truncated":        {fragment(1, 1, 0, 0, payload)[:20], 1, 1, ErrTruncated},
		"tfdt version 2":   {box("moof", box("traf", box("tfhd", full(0, 0), u32(1)), box("tfdt", full(2, 0), u64(0)))), 1, 1, ErrUnsupported},
		"short tfdt":       {box("moof", box("traf", box("tfhd", full(0, 0), u32(1)), box("tfdt", full(1, 0), u32(0)))), 1, 1, ErrTruncated},
		"box under header": {append(u32(4), "moof"...), 1, 1, ErrBadBox},
		"sidx inexact":     {sidxBox(1, 1000, 0), 1, 3, ErrUnsupported},
		"timescale 0":      {sidxBox(1, 1000, 0), 1, 0, ErrBadBox},
	} {
		_, err := Shift(c.seg, c.delta, c.timescale)
		if !errors.Is(err, c.want) || !errors.Is(err, manifestSentinel(c.want)) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// manifestSentinel is the manifest error each package error wraps.
func manifestSentinel(err error) error {
	switch err {
	case ErrOverflow:
		return manifest.ErrTooLarge
	case ErrUnsupported:
		return manifest.ErrUnsupported
	}
	return manifest.ErrMalformed
}

func TestShiftConvertsSidxTimescale(t *testing.T) {
	frag := fragment(1, 1, 0, 0, []byte("a"))
	seg := append(sidxBox(1, 1000, 0, frag), frag...)
	out, err := Shift(seg, 12288*60, 12288)
	if err != nil {
		t.Fatal(err)
	}
	if s, _, _ := FindSidx(out); s.EarliestPresentationTime != 60000 {
		t.Errorf("sidx time %d, want 60000 (60 s at 1000/s)", s.EarliestPresentationTime)
	}
}

func TestFindSidx(t *testing.T) {
	f1, f2 := fragment(1, 1, 0, 0, []byte("aa")), fragment(1, 1, 2000, 0, []byte("bbbb"))
	idx := sidxBox(0, 1000, 500, f1, f2)
	data := bytes.Join([][]byte{idx, f1, f2}, nil)
	s, subs, err := FindSidx(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Subsegment{
		{Start: int64(len(idx)), End: int64(len(idx) + len(f1)), Time: 500, Duration: 2000},
		{Start: int64(len(idx) + len(f1)), End: int64(len(data)), Time: 2500, Duration: 2000},
	}
	if s.Timescale != 1000 || len(subs) != 2 || subs[0] != want[0] || subs[1] != want[1] {
		t.Errorf("sidx %+v subsegments %+v, want %+v", s, subs, want)
	}
	// Round trip.
	again, err := s.AppendBox(nil)
	if err != nil || !bytes.Equal(again, idx) {
		t.Errorf("re-encoded sidx differs: %v", err)
	}
	// Only the index bytes: the subsegments are still placed.
	if _, subs2, err := FindSidx(idx); err != nil || subs2[1] != want[1] {
		t.Errorf("index alone: %+v %v", subs2, err)
	}
	hier := &Sidx{Timescale: 1, References: []SidxReference{{Index: true, Size: 10}}}
	hb, _ := hier.AppendBox(nil)
	if _, _, err := FindSidx(hb); !errors.Is(err, ErrUnsupported) {
		t.Errorf("hierarchical index: %v", err)
	}
	if _, _, err := FindSidx(f1); !errors.Is(err, ErrNotFound) {
		t.Errorf("no sidx: %v", err)
	}
	short := append([]byte(nil), idx...)
	binary.BigEndian.PutUint16(short[30:], 500) // reference_count over the body
	if _, _, err := FindSidx(short); !errors.Is(err, ErrTruncated) {
		t.Errorf("reference count over the body: %v", err)
	}
}

// initSegment builds a moov with tracks (track_ID, timescale).
func initSegment(tracks ...[2]uint32) []byte {
	var traks [][]byte
	for i, tr := range tracks {
		v := uint8(i % 2) // both tkhd/mdhd versions
		times := u64(0)
		if v == 1 {
			times = u64(0)
			times = append(times, u64(0)...)
		}
		tkhd := box("tkhd", full(v, 3), times, u32(tr[0]), make([]byte, 60))
		mdhd := box("mdhd", full(v, 0), times, u32(tr[1]), make([]byte, 8))
		traks = append(traks, box("trak", tkhd, box("mdia", mdhd, box("hdlr", make([]byte, 24)))))
	}
	return append(box("ftyp", []byte("iso6"), u32(0)), box("moov", append([][]byte{box("mvhd", make([]byte, 100))}, traks...)...)...)
}

func TestTimescales(t *testing.T) {
	got, err := Timescales(initSegment([2]uint32{1, 12288}, [2]uint32{2, 48000}))
	if err != nil || len(got) != 2 || got[1] != 12288 || got[2] != 48000 {
		t.Errorf("timescales %v, %v", got, err)
	}
	if _, err := Timescales(box("ftyp", []byte("iso6"))); !errors.Is(err, ErrNotFound) {
		t.Errorf("no moov: %v", err)
	}
	if _, err := Timescales(initSegment([2]uint32{1, 0})); !errors.Is(err, ErrBadBox) {
		t.Errorf("timescale 0: %v", err)
	}
}

func TestReadBoxesSizes(t *testing.T) {
	large := append(append(u32(1), "free"...), u64(16)...)
	zero := append(u32(0), "mdat"...)
	zero = append(zero, "rest of file"...)
	boxes, err := ReadBoxes(append(large, zero...))
	if err != nil || len(boxes) != 2 || !boxes[0].Large || boxes[0].Size != 16 || boxes[1].Size != len(zero) {
		t.Errorf("boxes %+v, %v", boxes, err)
	}
	if _, err := ReadBoxes([]byte{0, 0, 0}); !errors.Is(err, ErrTruncated) {
		t.Errorf("3 bytes: %v", err)
	}
	uuid := append(append(u32(20), "uuid"...), make([]byte, 12)...)
	if _, err := ReadBoxes(uuid); !errors.Is(err, ErrBadBox) {
		t.Errorf("uuid box under its usertype: %v", err)
	}
}
