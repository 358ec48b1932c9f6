package peerwire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func randomBody(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// transfer sends body as the response to id through a Chunker, the wire
// codec (into one reused buffer, as a data channel would) and a.
func transfer(t *testing.T, a *Assembler, id ReqID, body []byte) []byte {
	t.Helper()
	ch, err := NewChunker(id, body)
	if err != nil {
		t.Fatal(err)
	}
	var wire []byte
	for !ch.Done() {
		c, err := ch.Next()
		if err != nil {
			t.Fatal(err)
		}
		wire, err = Encode(wire[:0], c)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Decode(wire)
		if err != nil {
			t.Fatal(err)
		}
		got, done, err := a.Add(m.(*Chunk))
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		if done != ch.Done() {
			t.Fatalf("done = %v at offset %d of %d", done, c.Offset, len(body))
		}
		if done {
			return got
		}
		if got != nil {
			t.Fatal("body returned before completion")
		}
	}
	t.Fatal("chunker finished without completing the body")
	return nil
}

func TestAssemblerHappyPath(t *testing.T) {
	for _, n := range []int{0, 1, MaxChunkSize - 1, MaxChunkSize, MaxChunkSize + 1, 5*MaxChunkSize + 77} {
		var a Assembler
		body := randomBody(n, uint64(n))
		if err := a.Expect(7, uint32(n)); err != nil {
			t.Fatal(err)
		}
		got := transfer(t, &a, 7, body)
		if !bytes.Equal(got, body) || got == nil {
			t.Errorf("%d bytes: reassembled body differs", n)
		}
		if cap(got) != n {
			t.Errorf("%d bytes: cap(body) = %d, want one exact allocation", n, cap(got))
		}
		if a.Outstanding() != 0 {
			t.Errorf("%d bytes: request still outstanding", n)
		}
		// The completed request is forgotten, not cancelled: a further chunk
		// is unsolicited and the ID may be reused.
		if _, _, err := a.Add(&Chunk{ReqID: 7, Total: 1, Data: []byte{1}}); !errors.Is(err, ErrUnsolicited) {
			t.Errorf("%d bytes: chunk after completion: err = %v", n, err)
		}
		if err := a.Expect(7, 10); err != nil {
			t.Errorf("reuse of completed ID: %v", err)
		}
	}
}

func TestAssemblerInterleaved(t *testing.T) {
	var a Assembler
	bodies := map[ReqID][]byte{}
	chunkers := map[ReqID]*Chunker{}
	for id := ReqID(1); id <= MaxOutstanding; id++ {
		bodies[id] = randomBody(int(id)*3000, uint64(id))
		if err := a.Expect(id, uint32(len(bodies[id]))); err != nil {
			t.Fatal(err)
		}
		chunkers[id], _ = NewChunker(id, bodies[id])
	}
	completed := 0
	for completed < MaxOutstanding {
		for id := ReqID(1); id <= MaxOutstanding; id++ {
			ch := chunkers[id]
			if ch.Done() {
				continue
			}
			c, err := ch.Next()
			if err != nil {
				t.Fatal(err)
			}
			got, done, err := a.Add(c)
			if err != nil {
				t.Fatal(err)
			}
			if done {
				completed++
				if !bytes.Equal(got, bodies[id]) {
					t.Errorf("request %d: body differs", id)
				}
			}
		}
	}
}

func TestAssemblerProgress(t *testing.T) {
	var a Assembler
	if _, _, ok := a.Progress(1); ok {
		t.Error("Progress of unknown request")
	}
	_ = a.Expect(1, 100)
	if r, tot, ok := a.Progress(1); !ok || r != 0 || tot != 0 {
		t.Errorf("Progress before data = %d, %d, %v", r, tot, ok)
	}
	_, _, _ = a.Add(&Chunk{ReqID: 1, Total: 50, Data: make([]byte, 20)})
	if r, tot, ok := a.Progress(1); !ok || r != 20 || tot != 50 {
		t.Errorf("Progress = %d, %d, %v", r, tot, ok)
	}
}

func TestAssemblerTake(t *testing.T) {
	var a Assembler
	if _, _, ok := a.Take(1); ok {
		t.Error("Take of unknown request")
	}
	_ = a.Expect(1, 100)
	body := randomBody(50, 7)
	_, _, _ = a.Add(&Chunk{ReqID: 1, Total: 50, Data: body[:20]})
	_, _, _ = a.Add(&Chunk{ReqID: 1, Offset: 20, Total: 50, Data: body[20:30]})
	got, total, ok := a.Take(1)
	if !ok || total != 50 || !bytes.Equal(got, body[:30]) {
		t.Fatalf("Take = %d bytes (equal %v), total %d, %v; want the first 30 of 50", len(got), bytes.Equal(got, body[:30]), total, ok)
	}
	if a.Outstanding() != 0 {
		t.Errorf("%d outstanding after Take", a.Outstanding())
	}
	// The rest of the body, still in flight, is dropped like a cancelled
	// request's.
	if _, _, err := a.Add(&Chunk{ReqID: 1, Offset: 30, Total: 50, Data: body[30:]}); err != nil {
		t.Errorf("late chunk after Take: %v", err)
	}
	// A request that had no chunk yet hands over nothing.
	_ = a.Expect(2, 100)
	if got, total, ok := a.Take(2); !ok || len(got) != 0 || total != 0 {
		t.Errorf("Take before data = %d bytes, total %d, %v", len(got), total, ok)
	}
}

// violation sets up request 1 (maxLen 100) with 10 of 50 bytes received,
// then adds c and checks that it fails with want and ends the request.
func violation(t *testing.T, name string, c *Chunk, want error) {
	t.Helper()
	var a Assembler
	if err := a.Expect(1, 100); err != nil {
		t.Fatal(err)
	}
	if err := a.Expect(2, 100); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Add(&Chunk{ReqID: 1, Total: 50, Data: make([]byte, 10)}); err != nil {
		t.Fatal(err)
	}
	body, done, err := a.Add(c)
	if !errors.Is(err, want) || body != nil || done {
		t.Errorf("%s: Add = %v, %v, %v; want error %v", name, body, done, err, want)
	}
	if _, _, ok := a.Progress(c.ReqID); ok {
		t.Errorf("%s: request %d still outstanding after a violation", name, c.ReqID)
	}
	if a.Outstanding() != 1 {
		t.Errorf("%s: %d outstanding, want only the other request", name, a.Outstanding())
	}
	// Later chunks of the failed request are dropped, not errors.
	if _, _, err := a.Add(&Chunk{ReqID: c.ReqID, Offset: 10, Total: 50, Data: []byte{1}}); err != nil {
		t.Errorf("%s: late chunk after violation: %v", name, err)
	}
}

func TestAssemblerViolations(t *testing.T) {
	violation(t, "gap", &Chunk{ReqID: 1, Offset: 11, Total: 50, Data: []byte{1}}, ErrOutOfOrder)
	violation(t, "replay", &Chunk{ReqID: 1, Offset: 0, Total: 50, Data: []byte{1}}, ErrOutOfOrder)
	violation(t, "overlap", &Chunk{ReqID: 1, Offset: 9, Total: 50, Data: []byte{1, 2}}, ErrOutOfOrder)
	violation(t, "total grows", &Chunk{ReqID: 1, Offset: 10, Total: 51, Data: []byte{1}}, ErrTotalMismatch)
	violation(t, "total shrinks", &Chunk{ReqID: 1, Offset: 10, Total: 11, Data: []byte{1}}, ErrTotalMismatch)
	violation(t, "overflow", &Chunk{ReqID: 1, Offset: 10, Total: 50, Data: make([]byte, 41)}, ErrOverflow)
	violation(t, "empty", &Chunk{ReqID: 1, Offset: 10, Total: 50}, ErrEmptyChunk)
	violation(t, "chunk too large", &Chunk{ReqID: 1, Offset: 10, Total: 50, Data: make([]byte, MaxChunkSize+1)}, ErrChunkTooLarge)
	violation(t, "first total too large", &Chunk{ReqID: 2, Offset: 0, Total: 101, Data: []byte{1}}, ErrTooLarge)
	violation(t, "first total over MaxSegmentSize", &Chunk{ReqID: 2, Offset: 0, Total: MaxSegmentSize + 1, Data: []byte{1}}, ErrTooLarge)
	violation(t, "first chunk not at 0", &Chunk{ReqID: 2, Offset: 1, Total: 100, Data: []byte{1}}, ErrOutOfOrder)
}

func TestAssemblerUnsolicited(t *testing.T) {
	var a Assembler
	if _, _, err := a.Add(&Chunk{ReqID: 9, Total: 1, Data: []byte{1}}); !errors.Is(err, ErrUnsolicited) {
		t.Errorf("err = %v, want ErrUnsolicited", err)
	}
	if _, _, err := a.Add(nil); !errors.Is(err, ErrNilMessage) {
		t.Errorf("Add(nil): %v", err)
	}
}

func TestAssemblerTooLargeDoesNotAllocate(t *testing.T) {
	var a Assembler
	_ = a.Expect(1, 1000)
	allocs := testing.AllocsPerRun(1, func() {
		_, _, _ = a.Add(&Chunk{ReqID: 1, Total: MaxSegmentSize, Data: []byte{1}})
	})
	// The error value is allocated; a 64 MiB body must not be.
	if allocs > 3 {
		t.Errorf("%v allocations", allocs)
	}
}

func TestAssemblerMaxLenClamped(t *testing.T) {
	var a Assembler
	_ = a.Expect(1, ^uint32(0))
	if _, _, err := a.Add(&Chunk{ReqID: 1, Total: MaxSegmentSize + 1, Data: []byte{1}}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("err = %v", err)
	}
}

func TestAssemblerExpectLimits(t *testing.T) {
	var a Assembler
	for id := range ReqID(MaxOutstanding) {
		if err := a.Expect(id, 10); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Expect(MaxOutstanding, 10); !errors.Is(err, ErrTooManyRequests) {
		t.Errorf("over MaxOutstanding: err = %v", err)
	}
	if err := a.Expect(3, 10); !errors.Is(err, ErrDuplicateRequest) {
		t.Errorf("duplicate: err = %v", err)
	}
	if !a.Cancel(3) {
		t.Error("Cancel of outstanding request returned false")
	}
	if a.Cancel(3) {
		t.Error("second Cancel returned true")
	}
	if err := a.Expect(3, 10); !errors.Is(err, ErrDuplicateRequest) {
		t.Errorf("reuse of recently cancelled ID: err = %v", err)
	}
	if err := a.Expect(1000, 10); err != nil {
		t.Errorf("room after Cancel: %v", err)
	}
	a.Reset()
	if a.Outstanding() != 0 {
		t.Error("Reset kept requests")
	}
	if err := a.Expect(3, 10); err != nil {
		t.Errorf("after Reset: %v", err)
	}
}

func TestAssemblerCancelGrace(t *testing.T) {
	var a Assembler
	_ = a.Expect(1, 100)
	if _, _, err := a.Add(&Chunk{ReqID: 1, Total: 100, Data: make([]byte, 10)}); err != nil {
		t.Fatal(err)
	}
	a.Cancel(1)
	// Chunks in flight when we cancelled: dropped, whatever they contain.
	for _, c := range []*Chunk{
		{ReqID: 1, Offset: 10, Total: 100, Data: make([]byte, 10)},
		{ReqID: 1, Offset: 0, Total: 100, Data: make([]byte, 10)},
	} {
		body, done, err := a.Add(c)
		if body != nil || done || err != nil {
			t.Errorf("late chunk: %v, %v, %v", body, done, err)
		}
	}
	// A malformed chunk is still an error, even for a cancelled request.
	if _, _, err := a.Add(&Chunk{ReqID: 1, Total: 1}); !errors.Is(err, ErrEmptyChunk) {
		t.Errorf("malformed late chunk: err = %v", err)
	}
	// The grace is bounded: after CancelGrace further cancellations the ID
	// is forgotten and its chunks are unsolicited again.
	for id := ReqID(100); id < 100+CancelGrace-1; id++ {
		_ = a.Expect(id, 1)
		a.Cancel(id)
	}
	if _, _, err := a.Add(&Chunk{ReqID: 1, Offset: 20, Total: 100, Data: []byte{1}}); err != nil {
		t.Errorf("ID 1 left the grace set too early: %v", err)
	}
	_ = a.Expect(999, 1)
	a.Cancel(999)
	if _, _, err := a.Add(&Chunk{ReqID: 1, Offset: 20, Total: 100, Data: []byte{1}}); !errors.Is(err, ErrUnsolicited) {
		t.Errorf("ID 1 still in grace after %d cancellations: err = %v", CancelGrace, err)
	}
}

func TestAssemblerBodyNotRetained(t *testing.T) {
	var a Assembler
	_ = a.Expect(1, 4)
	src := []byte{1, 2, 3, 4}
	body, done, err := a.Add(&Chunk{ReqID: 1, Total: 4, Data: src})
	if err != nil || !done {
		t.Fatal(done, err)
	}
	src[0] = 9
	if body[0] != 1 {
		t.Error("body aliases the chunk's Data")
	}
	for i := range a.reqs[:cap(a.reqs)] {
		if a.reqs[:cap(a.reqs)][i].buf != nil {
			t.Error("Assembler keeps a buffer after completion")
		}
	}
}

func BenchmarkAssembler1MiB(b *testing.B) {
	body := randomBody(1<<20, 1)
	var chunks []*Chunk
	ch, _ := NewChunker(1, body)
	for !ch.Done() {
		c, _ := ch.Next()
		cc := *c
		chunks = append(chunks, &cc)
	}
	var a Assembler
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Expect(1, uint32(len(body)))
		for _, c := range chunks {
			if _, _, err := a.Add(c); err != nil {
				b.Fatal(err)
			}
		}
	}
}
