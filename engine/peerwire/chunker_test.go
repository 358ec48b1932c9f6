package peerwire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// collect drains ch, copying each chunk (Next reuses it).
func collect(t *testing.T, ch *Chunker) []Chunk {
	t.Helper()
	var out []Chunk
	for {
		c, err := ch.Next()
		if err == io.EOF {
			if !ch.Done() || ch.Remaining() != 0 {
				t.Error("io.EOF before Done")
			}
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Encode(nil, c); err != nil {
			t.Fatalf("chunk %d does not encode: %v", len(out), err)
		}
		cc := *c
		cc.Data = bytes.Clone(c.Data)
		out = append(out, cc)
		if len(out) > MaxSegmentSize/MaxChunkSize+1 {
			t.Fatal("chunker does not end")
		}
	}
}

func checkSplit(t *testing.T, chunks []Chunk, id ReqID, body []byte) {
	t.Helper()
	n := len(body)
	wantCount := max(1, (n+MaxChunkSize-1)/MaxChunkSize)
	if len(chunks) != wantCount {
		t.Fatalf("%d bytes: %d chunks, want %d", n, len(chunks), wantCount)
	}
	var joined []byte
	for i, c := range chunks {
		wantLen := MaxChunkSize
		if i == len(chunks)-1 {
			wantLen = n - i*MaxChunkSize
		}
		if c.ReqID != id || c.Total != uint32(n) || c.Offset != uint32(i*MaxChunkSize) || len(c.Data) != wantLen {
			t.Errorf("%d bytes, chunk %d: id %d offset %d total %d len %d; want len %d", n, i, c.ReqID, c.Offset, c.Total, len(c.Data), wantLen)
		}
		joined = append(joined, c.Data...)
	}
	if !bytes.Equal(joined, body) {
		t.Errorf("%d bytes: chunks do not join to the body", n)
	}
}

var splitSizes = []int{0, 1, 100, MaxChunkSize - 1, MaxChunkSize, MaxChunkSize + 1, 2 * MaxChunkSize, 7*MaxChunkSize + 3}

func TestChunkerSplits(t *testing.T) {
	for _, n := range splitSizes {
		body := randomBody(n, uint64(n))
		ch, err := NewChunker(42, body)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Remaining() != n || ch.Done() {
			t.Errorf("%d bytes: fresh chunker Remaining %d Done %v", n, ch.Remaining(), ch.Done())
		}
		checkSplit(t, collect(t, ch), 42, body)
		if _, err := ch.Next(); err != io.EOF {
			t.Errorf("Next after the end: %v", err)
		}
	}
}

func TestChunkerAtSplits(t *testing.T) {
	for _, n := range splitSizes {
		body := randomBody(n, uint64(n))
		// The source is longer than the body: only total bytes are sent.
		src := bytes.NewReader(append(bytes.Clone(body), "trailer"...))
		ch, err := NewChunkerAt(43, src, int64(n))
		if err != nil {
			t.Fatal(err)
		}
		checkSplit(t, collect(t, ch), 43, body)
	}
}

func TestChunkerDataCannotGrowIntoBody(t *testing.T) {
	body := make([]byte, 2*MaxChunkSize)
	ch, _ := NewChunker(1, body)
	c, _ := ch.Next()
	_ = append(c.Data, 0xff)
	if body[MaxChunkSize] != 0 {
		t.Error("appending to Chunk.Data overwrote the body")
	}
	if cap(c.Data) != MaxChunkSize {
		t.Errorf("cap(Data) = %d", cap(c.Data))
	}
}

type shortReader struct {
	data []byte
	fail bool
}

func (r *shortReader) ReadAt(p []byte, off int64) (int, error) {
	if r.fail {
		return 0, errors.New("disk on fire")
	}
	if off >= int64(len(r.data)) {
		return 0, io.EOF
	}
	n := copy(p, r.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func TestChunkerAtErrors(t *testing.T) {
	src := &shortReader{data: make([]byte, MaxChunkSize+10)}
	ch, err := NewChunkerAt(1, src, MaxChunkSize+20) // source 10 bytes short
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short source: err = %v", err)
	}
	if ch.Done() || ch.Remaining() != 20 {
		t.Error("failed read advanced the chunker")
	}
	src.data = append(src.data, make([]byte, 10)...) // the file grew: retry works
	if c, err := ch.Next(); err != nil || len(c.Data) != 20 || !ch.Done() {
		t.Errorf("retry: %v", err)
	}

	src = &shortReader{fail: true}
	ch, _ = NewChunkerAt(1, src, 5)
	if _, err := ch.Next(); err == nil || err.Error() == "" {
		t.Error("read error swallowed")
	}

	if _, err := NewChunkerAt(1, nil, 5); !errors.Is(err, ErrNilSource) {
		t.Errorf("nil source: %v", err)
	}
	for _, total := range []int64{-1, MaxSegmentSize + 1} {
		if _, err := NewChunkerAt(1, src, total); !errors.Is(err, ErrTooLarge) {
			t.Errorf("total %d: err = %v", total, err)
		}
	}
	if _, err := NewChunker(1, make([]byte, MaxSegmentSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("body over MaxSegmentSize: err = %v", err)
	}
	if ch, err := NewChunker(1, make([]byte, MaxSegmentSize)); err != nil || len(collect(t, ch)) != MaxSegmentSize/MaxChunkSize {
		t.Errorf("body of MaxSegmentSize: %v", err)
	}
}

func TestBackpressureConstants(t *testing.T) {
	if !(LowWaterMark < HighWaterMark && HighWaterMark >= 4*MaxMessageSize) {
		t.Errorf("water marks %d/%d", LowWaterMark, HighWaterMark)
	}
}
