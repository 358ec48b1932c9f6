package segmentcache

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Under GOOS=js the runtime keeps a goroutine parked in
	// runtime.handleEvent for JS callbacks; it is not a leak.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}

// testDeadline bounds every test that waits on goroutines or callbacks.
const testDeadline = 10 * time.Second

// within runs fn on its own goroutine and fails t if it does not return
// within testDeadline (for example because a callback deadlocked).
func within(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	timer := time.NewTimer(testDeadline)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatal("deadline exceeded: operation did not return")
	}
}

// newCache builds a cache or fails t.
func newCache(t testing.TB, opts ...Option) *Cache {
	t.Helper()
	c, err := New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// key returns the whole-resource key of segment seq in swarm "a".
func key(seq uint64) Key { return Key{Swarm: "a", Seq: seq} }

// seg returns n bytes, each b.
func seg(n int, b byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = b
	}
	return p
}

// mustPut stores data under k or fails t.
func mustPut(t testing.TB, c *Cache, k Key, data []byte) {
	t.Helper()
	if err := c.Put(k, data); err != nil {
		t.Fatalf("Put(%v, %d bytes): %v", k, len(data), err)
	}
}

// checkInvariants verifies the accounting against the entries themselves.
func checkInvariants(t testing.TB, c *Cache) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var bytes, pinnedBytes int64
	pinned := 0
	if c.ll.Len() != len(c.items) {
		t.Fatalf("list has %d entries, map %d", c.ll.Len(), len(c.items))
	}
	for el := c.ll.Front(); el != nil; el = el.Next() {
		e := el.Value.(*entry)
		if c.items[e.key] != el {
			t.Fatalf("map entry for %v does not point at its list element", e.key)
		}
		bytes += int64(len(e.data))
		if e.pins > 0 {
			pinned++
			pinnedBytes += int64(len(e.data))
		}
	}
	if bytes != c.bytes || pinned != c.pinned || pinnedBytes != c.pinnedBytes {
		t.Fatalf("accounting: bytes %d/%d, pinned %d/%d, pinned bytes %d/%d (counted/recorded)",
			bytes, c.bytes, pinned, c.pinned, pinnedBytes, c.pinnedBytes)
	}
	if c.bytes > c.maxBytes || len(c.items) > c.maxEntries {
		t.Fatalf("bound exceeded: %d bytes of %d, %d entries of %d", c.bytes, c.maxBytes, len(c.items), c.maxEntries)
	}
}
