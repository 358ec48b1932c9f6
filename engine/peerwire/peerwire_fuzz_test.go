package peerwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

// decodeSentinels lists every error Decode may wrap.
var decodeSentinels = []error{
	ErrUnknownVersion, ErrUnknownType, ErrTruncated, ErrTrailingBytes,
	ErrTooManySeqs, ErrBitfieldTooLarge, ErrChunkTooLarge, ErrTooLarge,
	ErrOverflow, ErrEmptyChunk, ErrBadRange,
}

func isDecodeError(err error) bool {
	for _, s := range decodeSentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// decodeSeeds returns every valid sample plus malformed variants.
func decodeSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, m := range samples() {
		b := mustEncode(tb, m)
		if len(b) > 256 {
			// The fuzzer minimizes every new interesting input for up to a
			// minute, during which it runs nothing else; mutants of the
			// 4-16 KiB samples stall it. TestRoundTrip covers those.
			continue
		}
		seeds = append(seeds,
			b,
			b[:len(b)-1],                          // truncated
			append(bytes.Clone(b), 0),             // trailing byte
			append([]byte{Version + 1}, b[1:]...), // unknown version
		)
	}
	sw := make([]byte, 20)
	u16 := func(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	seeds = append(seeds,
		nil,
		[]byte{Version},
		[]byte{Version, 0},
		[]byte{Version, 0xff},
		cat([]byte{Version, byte(TypeHave)}, u16(0xffff), sw),                                              // huge count
		cat([]byte{Version, byte(TypeLost)}, u16(MaxHaveSeqs+1), sw),                                       // count over the limit
		cat([]byte{Version, byte(TypeBitfield)}, u16(0xffff), sw, sw[:8]),                                  // huge length
		cat([]byte{Version, byte(TypeChunk)}, u16(0xffff), sw[:12]),                                        // huge length
		cat([]byte{Version, byte(TypeChunk)}, u16(1), sw[:8], []byte{0xff, 0xff, 0xff, 0xff}, []byte{1}),   // huge total
		cat([]byte{Version, byte(TypeChunk)}, u16(0), sw[:8], []byte{0, 0, 0, 9}),                          // empty chunk
		cat([]byte{Version, byte(TypeRequest)}, sw[:4], sw, sw[:8], bytes.Repeat([]byte{0xff}, 8), sw[:8]), // bad range
	)
	return seeds
}

// FuzzDecode checks that Decode never panics, that every error wraps a
// sentinel, and that whatever it accepts re-encodes to the same bytes
// (the encoding is canonical) and decodes again to an equal message.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		m, err := Decode(b)
		if !bytes.Equal(in, b) {
			t.Fatal("Decode modified its input")
		}
		if err != nil {
			if m != nil {
				t.Fatalf("Decode returned %T and error %v", m, err)
			}
			if !isDecodeError(err) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if m == nil || reflect.ValueOf(m).IsNil() {
			t.Fatal("Decode returned no message and no error")
		}
		if Type(b[1]) != m.Type() {
			t.Fatalf("type byte %d decoded as %v", b[1], m.Type())
		}
		enc, err := Encode(nil, m)
		if err != nil {
			t.Fatalf("Encode(Decode(b)) failed: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("not canonical:\n  in % x\n out % x", b, enc)
		}
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-decode differs:\n%+v\n%+v", m, m2)
		}
		if bf, ok := m.(*Bitfield); ok {
			if seqs := bf.AppendSeqs(nil); len(seqs) != bf.Count() {
				t.Fatalf("Bitfield expands to %d seqs, Count %d", len(seqs), bf.Count())
			}
		}
	})
}

// pattern is the byte at offset i of the body of request id in
// FuzzAssembler, so reassembled bodies can be checked byte by byte.
func pattern(id ReqID, i uint32) byte { return byte(i*31 + uint32(id)*7 + i>>8) }

// FuzzAssembler runs a script of Expect, Add, Cancel and Reset operations
// against an Assembler. Chunks are well formed or not, in order or not; some
// are built directly, some go through Decode. The Assembler must never
// panic, never hold more than the expected maximum for a request, never
// exceed MaxOutstanding, and return bodies that match what was sent.
func FuzzAssembler(f *testing.F) {
	f.Add([]byte{0, 1, 0, 100, 1, 1, 0, 0, 0, 50, 20, 1, 1, 0, 20, 0, 50, 30})
	f.Add([]byte{0, 1, 0, 10, 1, 1, 0, 0, 0, 20, 5})                           // total over the maximum
	f.Add([]byte{0, 1, 0, 10, 1, 1, 0, 3, 0, 10, 5})                           // out of order
	f.Add([]byte{0, 1, 0, 10, 2, 1, 1, 1, 0, 0, 0, 10, 5})                     // cancel then late chunk
	f.Add([]byte{0, 2, 0, 0, 1, 2, 0, 0, 0, 0, 0})                             // empty body
	f.Add([]byte{0, 3, 0xff, 0xff, 4, 3, 0, 0, 0, 0xff, 255})                  // max length, decoded chunk
	f.Add([]byte{3, 0, 1, 0, 5, 1, 1, 0, 0, 0, 5, 5, 2, 1})                    // reset, complete, cancel
	f.Add([]byte{0, 1, 0, 100, 1, 1, 0, 0, 0, 50, 10, 1, 1, 0, 10, 0, 60, 10}) // total changes
	f.Add(bytes.Repeat([]byte{0, 9, 0, 1, 2, 9, 1}, 40))                       // many expects and cancels
	f.Fuzz(func(t *testing.T, script []byte) {
		var a Assembler
		maxLen := map[ReqID]uint32{} // from successful Expects
		next := func() byte {
			if len(script) == 0 {
				return 0
			}
			b := script[0]
			script = script[1:]
			return b
		}
		u16 := func() uint32 { return uint32(next())<<8 | uint32(next()) }
		var wire []byte
		for len(script) > 0 {
			switch op := next(); op % 5 {
			case 0: // Expect(id, maxLen)
				id := ReqID(next() % 16)
				ml := u16()
				if ml == 0xffff {
					ml = ^uint32(0) // exercise clamping
				}
				if a.Expect(id, ml) == nil {
					maxLen[id] = min(ml, MaxSegmentSize)
				}
			case 1, 4: // Add a chunk, built directly (1) or decoded (4)
				id := ReqID(next() % 16)
				off, total := u16(), u16()
				n := uint32(next())
				c := &Chunk{ReqID: id, Offset: off, Total: total, Data: make([]byte, n)}
				for i := range c.Data {
					c.Data[i] = pattern(id, off+uint32(i))
				}
				if op%5 == 4 {
					var err error
					if wire, err = Encode(wire[:0], c); err != nil {
						continue
					}
					m, err := Decode(wire)
					if err != nil {
						t.Fatalf("decode of encoded chunk: %v", err)
					}
					c = m.(*Chunk)
				}
				body, done, err := a.Add(c)
				if err != nil && (body != nil || done) {
					t.Fatal("error with a body")
				}
				if done {
					if uint32(len(body)) != total || uint32(len(body)) > maxLen[id] {
						t.Fatalf("body of %d bytes, total %d, max %d", len(body), total, maxLen[id])
					}
					for i := range body {
						if body[i] != pattern(id, uint32(i)) {
							t.Fatalf("body byte %d corrupted", i)
						}
					}
				}
			case 2: // Cancel
				a.Cancel(ReqID(next() % 16))
			case 3: // Reset
				a.Reset()
			}
			if a.Outstanding() > MaxOutstanding {
				t.Fatalf("%d outstanding", a.Outstanding())
			}
			for _, r := range a.reqs {
				if uint32(cap(r.buf)) > maxLen[r.id] || uint32(len(r.buf)) > r.total || r.max > maxLen[r.id] {
					t.Fatalf("request %d holds %d/%d bytes, expected at most %d", r.id, len(r.buf), cap(r.buf), maxLen[r.id])
				}
				for i := range r.buf {
					if r.buf[i] != pattern(r.id, uint32(i)) {
						t.Fatalf("partial body byte %d corrupted", i)
					}
				}
			}
		}
	})
}
