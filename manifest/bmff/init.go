package bmff

import (
	"encoding/binary"
	"fmt"
)

// Timescales returns the media timescale (mdhd) of each track (by tkhd
// track_ID) of an initialization segment.
func Timescales(init []byte) (map[uint32]uint32, error) {
	top, err := ReadBoxes(init)
	moov, ok := find(top, TypeMoov)
	if !ok {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: no moov", ErrNotFound)
	}
	kids, err := ReadBoxes(moov.Body(init))
	if err != nil {
		return nil, err
	}
	body := moov.Body(init)
	out := map[uint32]uint32{}
	for _, trak := range kids {
		if trak.Type != TypeTrak {
			continue
		}
		tb := trak.Body(body)
		parts, err := ReadBoxes(tb)
		if err != nil {
			return nil, err
		}
		tkhd, ok1 := find(parts, TypeTkhd)
		mdia, ok2 := find(parts, TypeMdia)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: trak without tkhd or mdia", ErrNotFound)
		}
		id, err := timesBoxField(TypeTkhd, tkhd.Body(tb))
		if err != nil {
			return nil, err
		}
		mb := mdia.Body(tb)
		mparts, err := ReadBoxes(mb)
		if err != nil {
			return nil, err
		}
		mdhd, ok := find(mparts, TypeMdhd)
		if !ok {
			return nil, fmt.Errorf("%w: mdia without mdhd", ErrNotFound)
		}
		ts, err := timesBoxField(TypeMdhd, mdhd.Body(mb))
		if err != nil {
			return nil, err
		}
		if ts == 0 {
			return nil, fmt.Errorf("%w: track %d has timescale 0", ErrBadBox, id)
		}
		out[id] = ts
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no tracks in moov", ErrNotFound)
	}
	return out, nil
}

// timesBoxField reads the u32 that follows the creation and modification
// times of a tkhd (track_ID) or mdhd (timescale).
func timesBoxField(t Type, body []byte) (uint32, error) {
	v, _, p, err := fullBox(t, body)
	if err != nil {
		return 0, err
	}
	at := 8
	if v == 1 {
		at = 16
	} else if v > 1 {
		return 0, fmt.Errorf("%w: %s version %d", ErrUnsupported, t, v)
	}
	if len(p) < at+4 {
		return 0, fmt.Errorf("%w: %s body of %d bytes", ErrTruncated, t, len(body))
	}
	return binary.BigEndian.Uint32(p[at:]), nil
}
