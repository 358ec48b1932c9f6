package segmentcache

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/iotest"
)

// seqsOf returns the sequence numbers of the keys of swarm "a".
func seqsOf(c *Cache) []uint64 {
	var seqs []uint64
	for _, k := range c.Keys("a") {
		seqs = append(seqs, k.Seq)
	}
	return seqs
}

func TestLRUOrder(t *testing.T) {
	c := newCache(t, WithMaxBytes(30))
	mustPut(t, c, key(1), seg(10, 1))
	mustPut(t, c, key(2), seg(10, 2))
	mustPut(t, c, key(3), seg(10, 3))

	// Get makes 1 the most recently used, so 2 goes first.
	if _, ok := c.Get(key(1)); !ok {
		t.Fatal("Get(1) missed")
	}
	mustPut(t, c, key(4), seg(10, 4))
	if got := seqsOf(c); !slices.Equal(got, []uint64{1, 3, 4}) {
		t.Fatalf("after Get(1), Put(4): keys %v, want [1 3 4]", got)
	}

	// ReadAt counts as use too: 3 survives, 1 goes.
	if _, err := c.ReadAt(key(3), make([]byte, 1), 0); err != nil {
		t.Fatal(err)
	}
	mustPut(t, c, key(5), seg(10, 5))
	if got := seqsOf(c); !slices.Equal(got, []uint64{3, 4, 5}) {
		t.Fatalf("after ReadAt(3), Put(5): keys %v, want [3 4 5]", got)
	}

	// Has, Size, Pin/Unpin and Keys do not: 4 is still the oldest.
	c.Has(key(4))
	c.Size(key(4))
	c.Pin(key(4))
	c.Unpin(key(4))
	mustPut(t, c, key(6), seg(10, 6))
	if got := seqsOf(c); !slices.Equal(got, []uint64{3, 5, 6}) {
		t.Fatalf("after Has/Size/Pin(4), Put(6): keys %v, want [3 5 6]", got)
	}

	// A large segment evicts as many as it needs, oldest first.
	mustPut(t, c, key(7), seg(20, 7))
	if got := seqsOf(c); !slices.Equal(got, []uint64{6, 7}) {
		t.Fatalf("after Put(7, 20 bytes): keys %v, want [6 7]", got)
	}
	checkInvariants(t, c)
}

func TestReplace(t *testing.T) {
	c := newCache(t, WithMaxBytes(100))
	mustPut(t, c, key(1), seg(40, 1))
	mustPut(t, c, key(2), seg(40, 2))

	// Smaller replacement: bytes go down.
	mustPut(t, c, key(1), seg(10, 9))
	if s := c.Stats(); s.Bytes != 50 || s.Entries != 2 || s.Evictions != 0 || s.Puts != 3 {
		t.Fatalf("after smaller replace: %+v", s)
	}
	if got, _ := c.Get(key(1)); !bytes.Equal(got, seg(10, 9)) {
		t.Fatalf("replaced entry holds %v", got)
	}

	// Larger replacement that fits in place of the old entry: no eviction.
	mustPut(t, c, key(1), seg(60, 8))
	if s := c.Stats(); s.Bytes != 100 || s.Entries != 2 || s.Evictions != 0 {
		t.Fatalf("after larger replace: %+v", s)
	}

	// Larger replacement that needs room: evicts the other entry, not itself.
	mustPut(t, c, key(1), seg(70, 7))
	if s := c.Stats(); s.Bytes != 70 || s.Entries != 1 || s.Evictions != 1 {
		t.Fatalf("after replace needing room: %+v", s)
	}
	if c.Has(key(2)) || !c.Has(key(1)) {
		t.Fatal("wrong entry evicted")
	}

	// A replaced entry becomes the most recently used.
	mustPut(t, c, key(2), seg(30, 2))
	mustPut(t, c, key(1), seg(30, 1))
	mustPut(t, c, key(3), seg(50, 3))
	if got := seqsOf(c); !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("keys %v, want [1 3]", got)
	}
	checkInvariants(t, c)
}

func TestTooLarge(t *testing.T) {
	c := newCache(t, WithMaxBytes(100))
	mustPut(t, c, key(1), seg(50, 1))
	if err := c.Put(key(2), seg(101, 2)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put(101 bytes) = %v, want ErrTooLarge", err)
	}
	// A failed Put changes nothing.
	if s := c.Stats(); s.Entries != 1 || s.Bytes != 50 || s.Puts != 1 || s.Evictions != 0 {
		t.Fatalf("after rejected Put: %+v", s)
	}
	// Exactly the capacity fits, evicting everything else.
	mustPut(t, c, key(3), seg(100, 3))
	if s := c.Stats(); s.Entries != 1 || s.Bytes != 100 {
		t.Fatalf("after Put(capacity): %+v", s)
	}
}

func TestByteBoundNeverExceeded(t *testing.T) {
	const maxBytes = 10_000
	c := newCache(t, WithMaxBytes(maxBytes), WithMaxEntries(20))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		k := Key{Swarm: SwarmID([]string{"a", "b"}[rng.IntN(2)]), Seq: rng.Uint64N(40)}
		switch op := rng.IntN(10); {
		case op < 6: // put or replace, sometimes too large
			err := c.Put(k, seg(rng.IntN(maxBytes*11/10), byte(i)))
			if err != nil && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrNoSpace) && !errors.Is(err, ErrPinned) {
				t.Fatalf("op %d: Put: %v", i, err)
			}
		case op < 7:
			c.Pin(k)
		case op < 8:
			c.Unpin(k)
		case op < 9:
			c.Remove(k)
		default:
			c.EvictBefore(k.Swarm, k.Seq)
		}
		checkInvariants(t, c)
		if s := c.Stats(); s.Bytes > maxBytes || s.Entries > 20 {
			t.Fatalf("op %d: bound exceeded: %+v", i, s)
		}
	}
}

func TestPinning(t *testing.T) {
	c := newCache(t, WithMaxBytes(30))
	if c.Pin(key(9)) {
		t.Fatal("Pin of a missing key reported true")
	}
	c.Unpin(key(9)) // no-op

	mustPut(t, c, key(1), seg(10, 1))
	mustPut(t, c, key(2), seg(10, 2))
	mustPut(t, c, key(3), seg(10, 3))
	if !c.Pin(key(1)) || !c.Pin(key(1)) { // pinned twice
		t.Fatal("Pin(1) reported false")
	}
	if s := c.Stats(); s.Pinned != 1 {
		t.Fatalf("Pinned = %d, want 1", s.Pinned)
	}

	// 1 is the least recently used but pinned: 2 goes instead.
	mustPut(t, c, key(4), seg(10, 4))
	if got := seqsOf(c); !slices.Equal(got, []uint64{1, 3, 4}) {
		t.Fatalf("keys %v, want [1 3 4]", got)
	}

	// Replacing a pinned entry is refused.
	if err := c.Put(key(1), seg(5, 0)); !errors.Is(err, ErrPinned) {
		t.Fatalf("Put over pinned entry = %v, want ErrPinned", err)
	}

	// Pin everything: a Put that needs room fails and changes nothing.
	c.Pin(key(3))
	c.Pin(key(4))
	before := c.Stats()
	if err := c.Put(key(5), seg(1, 5)); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Put with all pinned = %v, want ErrNoSpace", err)
	}
	if after := c.Stats(); after != before {
		t.Fatalf("failed Put changed stats: %+v -> %+v", before, after)
	}

	// Room beside pinned entries is usable: unpin 4, and a segment that
	// fits beside 1 and 3 evicts it.
	c.Unpin(key(4))
	mustPut(t, c, key(5), seg(10, 5))
	if got := seqsOf(c); !slices.Equal(got, []uint64{1, 3, 5}) {
		t.Fatalf("keys %v, want [1 3 5]", got)
	}
	// But not more room than there is beside them.
	if err := c.Put(key(6), seg(11, 6)); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Put(11 bytes) beside 20 pinned of 30 = %v, want ErrNoSpace", err)
	}
	if !c.Has(key(5)) {
		t.Fatal("failed Put evicted an entry")
	}

	// Pins are counted: one Unpin of two leaves 1 pinned.
	c.Unpin(key(3))
	c.Unpin(key(1))
	mustPut(t, c, key(7), seg(20, 7))
	if got := seqsOf(c); !slices.Equal(got, []uint64{1, 7}) {
		t.Fatalf("keys %v, want [1 7] (1 still pinned once)", got)
	}
	c.Unpin(key(1))
	mustPut(t, c, key(8), seg(10, 8))
	if got := seqsOf(c); !slices.Equal(got, []uint64{7, 8}) {
		t.Fatalf("keys %v, want [7 8] (1 unpinned)", got)
	}

	// Remove drops a pinned entry and releases its pinned bytes.
	c.Pin(key(7))
	c.Remove(key(7))
	if s := c.Stats(); s.Pinned != 0 || s.Entries != 1 {
		t.Fatalf("after Remove of pinned entry: %+v", s)
	}
	c.Unpin(key(7)) // no-op
	checkInvariants(t, c)
}

func TestPinnedEntryLimit(t *testing.T) {
	c := newCache(t, WithMaxEntries(2))
	mustPut(t, c, key(1), seg(1, 1))
	mustPut(t, c, key(2), seg(1, 2))
	c.Pin(key(1))
	c.Pin(key(2))
	if err := c.Put(key(3), seg(1, 3)); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Put with all entries pinned = %v, want ErrNoSpace", err)
	}
	c.Unpin(key(2))
	mustPut(t, c, key(3), seg(1, 3))
	if got := seqsOf(c); !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("keys %v, want [1 3]", got)
	}
}

func TestCopies(t *testing.T) {
	c := newCache(t)
	src := []byte("segment-data")
	mustPut(t, c, key(1), src)

	// Mutating the Put source after Put does not reach the cache.
	src[0] = 'X'
	got, _ := c.Get(key(1))
	if string(got) != "segment-data" {
		t.Fatalf("Get = %q after mutating the source", got)
	}

	// Mutating (or detaching) a Get result does not reach the cache.
	got[0] = 'Y'
	clear(got[1:])
	again, _ := c.Get(key(1))
	if string(again) != "segment-data" {
		t.Fatalf("Get = %q after mutating an earlier result", again)
	}
	if &again[0] == &got[0] {
		t.Fatal("two Gets returned the same buffer")
	}

	// Nor does a ReadAt destination.
	p := make([]byte, 4)
	if _, err := c.ReadAt(key(1), p, 0); err != nil {
		t.Fatal(err)
	}
	p[0] = 'Z'
	if again, _ := c.Get(key(1)); string(again) != "segment-data" {
		t.Fatalf("Get = %q after mutating a ReadAt buffer", again)
	}

	// The internal buffer is not the caller's, even with spare capacity.
	c.mu.Lock()
	internal := c.items[key(1)].Value.(*entry).data
	c.mu.Unlock()
	if &internal[0] == &src[0] || &internal[0] == &got[0] || &internal[0] == &again[0] {
		t.Fatal("cache shares its buffer with a caller")
	}

	// An empty segment round-trips as a non-nil empty slice.
	mustPut(t, c, key(2), nil)
	if got, ok := c.Get(key(2)); !ok || got == nil || len(got) != 0 {
		t.Fatalf("Get(empty) = %v, %v", got, ok)
	}
}

func TestReadAt(t *testing.T) {
	c := newCache(t)
	data := []byte("0123456789")
	mustPut(t, c, key(1), data)

	tests := []struct {
		name    string
		n       int
		off     int64
		want    string
		wantErr error
	}{
		{"start", 4, 0, "0123", nil},
		{"middle", 3, 4, "456", nil},
		{"exact end", 3, 7, "789", nil},
		{"whole", 10, 0, "0123456789", nil},
		{"past end", 4, 8, "89", io.EOF},
		{"longer than segment", 20, 0, "0123456789", io.EOF},
		{"at end", 4, 10, "", io.EOF},
		{"beyond end", 4, 11, "", io.EOF},
		{"empty buffer", 0, 5, "", nil},
		{"empty buffer at end", 0, 10, "", io.EOF},
		{"negative offset", 4, -1, "", ErrNegativeOffset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := make([]byte, tt.n)
			n, err := c.ReadAt(key(1), p, tt.off)
			if got := string(p[:n]); got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("ReadAt(%d bytes, off %d) = %q, %v; want %q, %v", tt.n, tt.off, got, err, tt.want, tt.wantErr)
			}
		})
	}

	if n, err := c.ReadAt(key(2), make([]byte, 4), 0); n != 0 || !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadAt(missing) = %d, %v; want 0, ErrNotFound", n, err)
	}
	if s := c.Stats(); s.Hits != 0 || s.Misses != 0 {
		t.Fatalf("ReadAt counted hits or misses: %+v", s)
	}
}

// keyReaderAt adapts one cache entry to io.ReaderAt.
type keyReaderAt struct {
	c *Cache
	k Key
}

func (r keyReaderAt) ReadAt(p []byte, off int64) (int, error) { return r.c.ReadAt(r.k, p, off) }

var _ io.ReaderAt = keyReaderAt{}

func TestReadAtChunks(t *testing.T) {
	const chunk = 16 << 10
	c := newCache(t)
	data := make([]byte, 5*chunk+123)
	_, _ = rand.NewChaCha8([32]byte{3, 4}).Read(data)
	k := Key{Swarm: "v", Seq: 1, Start: 1000, End: 1000 + int64(len(data))}
	mustPut(t, c, k, data)
	if !c.Pin(k) {
		t.Fatal("Pin failed")
	}
	defer c.Unpin(k)

	// Upload-style chunked reads reassemble the segment.
	var out []byte
	p := make([]byte, chunk)
	for off := int64(0); ; off += chunk {
		n, err := c.ReadAt(k, p, off)
		out = append(out, p[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(out, data) {
		t.Fatal("chunked reads differ from the segment")
	}

	// The standard io.ReaderAt checks (via a SectionReader).
	size, ok := c.Size(k)
	if !ok || size != int64(len(data)) {
		t.Fatalf("Size = %d, %v", size, ok)
	}
	if err := iotest.TestReader(io.NewSectionReader(keyReaderAt{c, k}, 0, size), data); err != nil {
		t.Fatal(err)
	}
}

func TestSizeHas(t *testing.T) {
	c := newCache(t)
	if _, ok := c.Size(key(1)); ok || c.Has(key(1)) {
		t.Fatal("missing key reported present")
	}
	mustPut(t, c, key(1), seg(77, 1))
	if n, ok := c.Size(key(1)); !ok || n != 77 || !c.Has(key(1)) {
		t.Fatalf("Size = %d, %v", n, ok)
	}
	if s := c.Stats(); s.Hits != 0 || s.Misses != 0 {
		t.Fatalf("Size/Has counted hits or misses: %+v", s)
	}
}

func TestEvictBeforeAndSwarm(t *testing.T) {
	var evicted []Key
	c := newCache(t, WithOnEvict(func(k Key) { evicted = append(evicted, k) }))
	for seq := range uint64(6) {
		mustPut(t, c, Key{Swarm: "a", Seq: seq}, seg(10, byte(seq)))
		mustPut(t, c, Key{Swarm: "b", Seq: seq}, seg(10, byte(seq)))
	}
	mustPut(t, c, Key{Swarm: "a", Seq: 2, Start: 0, End: 5}, seg(5, 2))
	c.Pin(key(1))

	if n := c.EvictBefore("a", 3); n != 3 { // 0, 2, 2[0,5); 1 is pinned
		t.Fatalf("EvictBefore(a, 3) = %d, want 3", n)
	}
	if got := seqsOf(c); !slices.Equal(got, []uint64{1, 3, 4, 5}) {
		t.Fatalf("swarm a keys %v, want [1 3 4 5]", got)
	}
	if got := len(c.Keys("b")); got != 6 {
		t.Fatalf("swarm b lost entries: %d left", got)
	}
	wantEvicted := []Key{key(0), key(2), {Swarm: "a", Seq: 2, Start: 0, End: 5}} // least recently used first
	if !slices.Equal(evicted, wantEvicted) {
		t.Fatalf("OnEvict got %v, want %v", evicted, wantEvicted)
	}
	if n := c.EvictBefore("a", 0); n != 0 {
		t.Fatalf("EvictBefore(a, 0) = %d, want 0", n)
	}

	evicted = nil
	if n := c.EvictSwarm("a"); n != 3 {
		t.Fatalf("EvictSwarm(a) = %d, want 3", n)
	}
	if got := seqsOf(c); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("swarm a keys %v, want [1] (pinned)", got)
	}
	if len(evicted) != 3 {
		t.Fatalf("OnEvict called %d times, want 3", len(evicted))
	}
	if n := c.EvictSwarm("nope"); n != 0 {
		t.Fatalf("EvictSwarm(unknown) = %d", n)
	}
	if s := c.Stats(); s.Evictions != 6 || s.Entries != 7 || s.Bytes != 70 {
		t.Fatalf("Stats = %+v, want 6 evictions, 7 entries, 70 bytes", s)
	}
	checkInvariants(t, c)
}

func TestKeysSorted(t *testing.T) {
	c := newCache(t)
	if got := c.Keys("a"); got != nil {
		t.Fatalf("Keys of empty swarm = %v, want nil", got)
	}
	want := []Key{
		{Swarm: "a", Seq: 1},
		{Swarm: "a", Seq: 2, Start: 0, End: 100},
		{Swarm: "a", Seq: 2, Start: 100, End: 200},
		{Swarm: "a", Seq: 2, Start: 100, End: 300},
		{Swarm: "a", Seq: 10},
		{Swarm: "a", Seq: 1 << 40},
	}
	for _, i := range rand.New(rand.NewPCG(5, 6)).Perm(len(want)) {
		mustPut(t, c, want[i], seg(1, 0))
	}
	mustPut(t, c, Key{Swarm: "b", Seq: 3}, seg(1, 0))
	if got := c.Keys("a"); !slices.Equal(got, want) {
		t.Fatalf("Keys = %v, want %v", got, want)
	}
}

func TestStats(t *testing.T) {
	c := newCache(t, WithMaxBytes(20))
	mustPut(t, c, key(1), seg(10, 1))
	mustPut(t, c, key(2), seg(10, 2))
	mustPut(t, c, key(2), seg(5, 2)) // replacement counts as a Put, not an eviction
	c.Get(key(1))
	c.Get(key(1))
	c.Get(key(3))
	mustPut(t, c, key(3), seg(10, 3)) // evicts 2
	_ = c.Put(key(4), seg(21, 4))     // rejected: not counted
	c.Remove(key(1))                  // not an eviction
	want := Stats{Hits: 2, Misses: 1, Evictions: 1, Puts: 4, Entries: 1, Bytes: 10, MaxBytes: 20, MaxEntries: DefaultMaxEntries}
	if got := c.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

func TestOnEvict(t *testing.T) {
	var (
		c       *Cache
		evicted []Key
	)
	// The callback calls back into the cache: it would deadlock if it ran
	// under the lock, and it must see the entry already gone.
	onEvict := func(k Key) {
		if c.Has(k) {
			t.Errorf("OnEvict(%v): entry still cached", k)
		}
		_ = c.Stats()
		evicted = append(evicted, k)
	}
	c = newCache(t, WithMaxBytes(30), WithOnEvict(onEvict))
	within(t, func() {
		for seq := range uint64(3) {
			mustPut(t, c, key(seq), seg(10, 0))
		}
		c.Get(key(0))
		mustPut(t, c, key(3), seg(20, 0)) // evicts 1, then 2
		c.Remove(key(0))                  // explicit: not reported
		mustPut(t, c, key(3), seg(5, 0))  // replacement: not reported
		c.EvictSwarm("a")                 // reports 3
	})
	if want := []Key{key(1), key(2), key(3)}; !slices.Equal(evicted, want) {
		t.Fatalf("OnEvict got %v, want %v", evicted, want)
	}
}

func TestConcurrent(t *testing.T) {
	const (
		workers = 8
		ops     = 2000
	)
	var evictions sync.Map // keys reported evicted, to check the callback runs concurrently
	c := newCache(t, WithMaxBytes(64<<10), WithMaxEntries(32), WithOnEvict(func(k Key) { evictions.Store(k, true) }))
	within(t, func() {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				buf := make([]byte, 4<<10)
				swarms := []SwarmID{"a", "b", "c"}
				for i := range ops {
					k := Key{Swarm: swarms[rng.IntN(len(swarms))], Seq: rng.Uint64N(64)}
					switch rng.IntN(10) {
					case 0, 1, 2:
						data := seg(rng.IntN(8<<10), byte(i))
						if err := c.Put(k, data); err != nil && !errors.Is(err, ErrNoSpace) && !errors.Is(err, ErrPinned) {
							t.Errorf("Put: %v", err)
							return
						}
						clear(data) // the caller may reuse its buffer
					case 3, 4:
						if got, ok := c.Get(k); ok {
							// Every segment is filled with one byte value.
							for _, b := range got {
								if b != got[0] {
									t.Errorf("Get(%v) returned torn data", k)
									return
								}
							}
							clear(got) // the caller owns it
						}
					case 5:
						// Pinned entries must stay readable: nothing but
						// Remove drops them, and Remove only runs on "c".
						if k.Swarm != "c" && c.Pin(k) {
							for off := int64(0); ; off += int64(len(buf)) {
								if _, err := c.ReadAt(k, buf, off); err != nil {
									if err != io.EOF {
										t.Errorf("ReadAt of pinned %v: %v", k, err)
									}
									break
								}
							}
							c.Unpin(k)
						}
					case 6:
						c.Has(k)
						c.Size(k)
					case 7:
						c.Keys(k.Swarm)
						c.Stats()
					case 8:
						c.EvictBefore(k.Swarm, k.Seq/2)
					case 9:
						if rng.IntN(20) == 0 {
							c.EvictSwarm(k.Swarm)
						} else {
							c.Remove(Key{Swarm: "c", Seq: k.Seq})
						}
					}
				}
			})
		}
		wg.Wait()
	})
	checkInvariants(t, c)
	if s := c.Stats(); s.Pinned != 0 {
		t.Fatalf("pins leaked: %+v", s)
	}
	n := 0
	evictions.Range(func(any, any) bool { n++; return true })
	if n == 0 {
		t.Fatal("no evictions were reported; the test exercised nothing")
	}
}

func TestSortKeysMatchesCompareKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 60 {
		keys := make([]Key, n)
		for i := range keys {
			keys[i] = Key{Swarm: "a", Seq: rng.Uint64N(8), Start: rng.Int64N(3), End: rng.Int64N(3)}
		}
		want := slices.Clone(keys)
		slices.SortFunc(want, compareKeys)
		sortKeys(keys)
		if !slices.Equal(keys, want) {
			t.Fatalf("n=%d: sortKeys gave %v, want %v", n, keys, want)
		}
	}
}
