package peerwire

import "testing"

func BenchmarkEncodeChunk16K(b *testing.B) {
	c := &Chunk{ReqID: 1, Offset: 0, Total: MaxSegmentSize, Data: make([]byte, MaxChunkSize)}
	dst := make([]byte, 0, MaxMessageSize)
	b.SetBytes(MaxChunkSize)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		dst, err = Encode(dst[:0], c)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeChunk16K(b *testing.B) {
	in, err := Encode(nil, &Chunk{ReqID: 1, Offset: 0, Total: MaxSegmentSize, Data: make([]byte, MaxChunkSize)})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(MaxChunkSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeHaveMax(b *testing.B) {
	in, err := Encode(nil, &Have{Seqs: make([]uint64, MaxHaveSeqs)})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(in); err != nil {
			b.Fatal(err)
		}
	}
}
