package segmentcache

import (
	"container/list"
	"io"
	"strconv"
	"sync"
)

// Cache is a bounded in-memory store of segments with least-recently-used
// eviction and pinning. Build one with New. A Cache is safe for concurrent
// use.
type Cache struct {
	maxBytes   int64
	maxEntries int
	onEvict    func(Key)

	mu    sync.Mutex
	ll    *list.List // of *entry; the front is the most recently used
	items map[Key]*list.Element

	bytes       int64 // sum of len(data) over all entries
	pinned      int   // entries with pins > 0
	pinnedBytes int64 // sum of len(data) over pinned entries

	hits, misses, evictions, puts uint64
}

// entry is one cached segment.
type entry struct {
	key Key
	// data is never written after the entry is stored, so it may be read
	// (copied out) after mu is released, even if the entry is dropped.
	data []byte
	pins int
}

// Stats is a snapshot of a cache's counters and occupancy.
type Stats struct {
	// Hits counts Get calls that found their key.
	Hits uint64
	// Misses counts Get calls that did not find their key.
	Misses uint64
	// Evictions counts entries dropped to make room in Put or by EvictSwarm
	// and EvictBefore: those reported to the WithOnEvict function.
	Evictions uint64
	// Puts counts successful Put calls, replacements included.
	Puts uint64
	// Entries is the number of cached entries.
	Entries int
	// Pinned is the number of cached entries that are pinned.
	Pinned int
	// Bytes is the total size of the cached segments.
	Bytes int64
	// MaxBytes is the capacity of the cache; Bytes never exceeds it.
	MaxBytes int64
	// MaxEntries is the entry limit of the cache; Entries never exceeds it.
	MaxEntries int
}

// New returns an empty cache configured by opts. With no options it holds up
// to DefaultMaxBytes in up to DefaultMaxEntries entries. It returns an error
// wrapping ErrInvalidOption if an option is nil or invalid.
func New(opts ...Option) (*Cache, error) {
	cfg := defaultConfig()
	for i, opt := range opts {
		if opt == nil {
			return nil, withDetail(ErrInvalidOption, "option "+strconv.Itoa(i)+" is nil")
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	return &Cache{
		maxBytes:   cfg.maxBytes,
		maxEntries: cfg.maxEntries,
		onEvict:    cfg.onEvict,
		ll:         list.New(),
		items:      make(map[Key]*list.Element),
	}, nil
}

// Put stores a copy of data under k, so the caller may reuse data at once.
// An entry already stored under k is replaced, unless it is pinned
// (ErrPinned). To make room, Put evicts the least recently used unpinned
// entries. It fails, changing nothing, with ErrInvalidKey for an invalid key,
// ErrTooLarge if data is larger than the capacity of the cache, and
// ErrNoSpace if pinned entries leave too little room (in bytes or entries).
// The new entry becomes the most recently used.
func (c *Cache) Put(k Key, data []byte) error {
	if !k.valid() {
		return withDetail(ErrInvalidKey, k.String())
	}
	size := int64(len(data))
	if size > c.maxBytes {
		return withDetail(ErrTooLarge, c.sizeDetail(k, size))
	}
	buf := clone(data) // outside the lock

	c.mu.Lock()
	old, replacing := c.items[k]
	if replacing && old.Value.(*entry).pins > 0 {
		c.mu.Unlock()
		return withDetail(ErrPinned, k.String())
	}
	// The entry replaced (if any) is unpinned, so all unpinned entries can
	// go: the segment fits if it fits beside the pinned ones.
	if c.pinnedBytes+size > c.maxBytes || c.pinned+1 > c.maxEntries {
		pinned, pinnedBytes := c.pinned, c.pinnedBytes
		c.mu.Unlock()
		return withDetail(ErrNoSpace, c.sizeDetail(k, size)+", "+
			strconv.Itoa(pinned)+" entries ("+strconv.FormatInt(pinnedBytes, 10)+" bytes) pinned")
	}
	if replacing {
		c.removeLocked(old)
	}
	var evicted []Key
	for el := c.ll.Back(); el != nil && c.overLocked(size); {
		prev := el.Prev()
		if e := el.Value.(*entry); e.pins == 0 {
			c.removeLocked(el)
			c.evictions++
			if c.onEvict != nil {
				evicted = append(evicted, e.key)
			}
		}
		el = prev
	}
	// Unreachable while the pinned totals are right; kept so that a broken
	// invariant can never exceed the bound.
	if c.overLocked(size) {
		c.mu.Unlock()
		c.notify(evicted)
		return withDetail(ErrNoSpace, c.sizeDetail(k, size))
	}
	c.items[k] = c.ll.PushFront(&entry{key: k, data: buf})
	c.bytes += size
	c.puts++
	c.mu.Unlock()

	c.notify(evicted)
	return nil
}

// Get returns a copy of the segment stored under k, which the caller owns,
// and whether it was found. It counts as a hit or a miss and makes the entry
// the most recently used.
func (c *Cache) Get(k Key) ([]byte, bool) {
	c.mu.Lock()
	el, ok := c.items[k]
	if !ok {
		c.misses++
		c.mu.Unlock()
		return nil, false
	}
	c.hits++
	c.ll.MoveToFront(el)
	data := el.Value.(*entry).data
	c.mu.Unlock()
	return clone(data), true
}

// ReadAt copies the bytes of the segment stored under k that start at
// offset off into p, as io.ReaderAt does: it returns the number of bytes
// copied, and io.EOF if that is less than len(p) because the segment ends
// (or off is at or past its end). It returns ErrNotFound if k is not cached
// and ErrNegativeOffset if off is negative. A read makes the entry the most
// recently used but counts as neither hit nor miss. Callers that read an
// entry in several calls should Pin it first, so it is not evicted between
// them.
func (c *Cache) ReadAt(k Key, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, withDetail(ErrNegativeOffset, strconv.FormatInt(off, 10))
	}
	c.mu.Lock()
	el, ok := c.items[k]
	if !ok {
		c.mu.Unlock()
		return 0, withDetail(ErrNotFound, k.String())
	}
	c.ll.MoveToFront(el)
	data := el.Value.(*entry).data
	c.mu.Unlock()

	if off >= int64(len(data)) {
		return 0, io.EOF
	}
	n := copy(p, data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Size returns the size in bytes of the segment stored under k and whether
// it was found. It does not count as a hit and does not touch the LRU order.
func (c *Cache) Size(k Key) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return 0, false
	}
	return int64(len(el.Value.(*entry).data)), true
}

// Has reports whether a segment is stored under k. It does not count as a
// hit or a miss and does not touch the LRU order.
func (c *Cache) Has(k Key) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.items[k]
	return ok
}

// Pin protects the entry stored under k from eviction until a matching
// Unpin, and reports whether the entry was found. Pins are counted: an entry
// pinned n times stays pinned until it is unpinned n times. Pinning does not
// touch the LRU order. Pinned entries still count towards the capacity, and
// Remove drops them like any other.
func (c *Cache) Pin(k Key) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return false
	}
	e := el.Value.(*entry)
	e.pins++
	if e.pins == 1 {
		c.pinned++
		c.pinnedBytes += int64(len(e.data))
	}
	return true
}

// Unpin releases one pin of the entry stored under k. It does nothing if the
// entry is not cached or not pinned.
func (c *Cache) Unpin(k Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return
	}
	e := el.Value.(*entry)
	if e.pins == 0 {
		return
	}
	e.pins--
	if e.pins == 0 {
		c.pinned--
		c.pinnedBytes -= int64(len(e.data))
	}
}

// Remove drops the entry stored under k, pinned or not (for example a
// segment that failed an integrity check). It does nothing if k is not
// cached, and does not call the WithOnEvict function. Pins are counted per
// key, not per entry: an Unpin for a pin taken before Remove applies to
// whatever is stored under k by then.
func (c *Cache) Remove(k Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.removeLocked(el)
	}
}

// EvictSwarm drops every unpinned entry of swarm and returns how many it
// dropped. Each is reported to the WithOnEvict function, least recently used
// first.
func (c *Cache) EvictSwarm(swarm SwarmID) int {
	return c.evictWhere(func(k Key) bool { return k.Swarm == swarm })
}

// EvictBefore drops every unpinned entry of swarm whose Seq is less than seq
// and returns how many it dropped; a live stream uses it to drop segments
// that left its window. Each is reported to the WithOnEvict function, least
// recently used first.
func (c *Cache) EvictBefore(swarm SwarmID, seq uint64) int {
	return c.evictWhere(func(k Key) bool { return k.Swarm == swarm && k.Seq < seq })
}

// Keys returns the keys of swarm's cached entries sorted by Seq, then by
// byte range, or nil if there are none. It does not touch the LRU order.
func (c *Cache) Keys(swarm SwarmID) []Key {
	c.mu.Lock()
	var keys []Key
	for k := range c.items {
		if k.Swarm == swarm {
			keys = append(keys, k)
		}
	}
	c.mu.Unlock()
	sortKeys(keys)
	return keys
}

// sortKeys sorts keys by compareKeys with an insertion sort: Keys runs
// once per new peer over one swarm's entries (at most the entry limit), and
// a generic sort of Key would add about 20 KB to the browser build.
func sortKeys(keys []Key) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && compareKeys(keys[j], keys[j-1]) < 0; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

// Stats returns a snapshot of the cache's counters and occupancy.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{
		Hits:       c.hits,
		Misses:     c.misses,
		Evictions:  c.evictions,
		Puts:       c.puts,
		Entries:    len(c.items),
		Pinned:     c.pinned,
		Bytes:      c.bytes,
		MaxBytes:   c.maxBytes,
		MaxEntries: c.maxEntries,
	}
}

// evictWhere drops the unpinned entries whose key matches, reports them to
// onEvict, and returns how many it dropped.
func (c *Cache) evictWhere(match func(Key) bool) int {
	c.mu.Lock()
	n := 0
	var evicted []Key
	for el := c.ll.Back(); el != nil; {
		prev := el.Prev()
		if e := el.Value.(*entry); e.pins == 0 && match(e.key) {
			c.removeLocked(el)
			c.evictions++
			n++
			if c.onEvict != nil {
				evicted = append(evicted, e.key)
			}
		}
		el = prev
	}
	c.mu.Unlock()
	c.notify(evicted)
	return n
}

// overLocked reports whether adding size bytes in one more entry would
// exceed a bound.
func (c *Cache) overLocked(size int64) bool {
	return c.bytes+size > c.maxBytes || len(c.items)+1 > c.maxEntries
}

// removeLocked drops el from the cache, pinned or not.
func (c *Cache) removeLocked(el *list.Element) {
	e := c.ll.Remove(el).(*entry)
	delete(c.items, e.key)
	size := int64(len(e.data))
	c.bytes -= size
	if e.pins > 0 {
		c.pinned--
		c.pinnedBytes -= size
	}
}

// notify reports evicted keys to onEvict. It must be called without mu held.
func (c *Cache) notify(evicted []Key) {
	if c.onEvict == nil {
		return
	}
	for _, k := range evicted {
		c.onEvict(k)
	}
}

// sizeDetail describes a segment that does not fit.
func (c *Cache) sizeDetail(k Key, size int64) string {
	return k.String() + " is " + strconv.FormatInt(size, 10) + " bytes, capacity " + strconv.FormatInt(c.maxBytes, 10)
}

// clone returns a copy of b that shares no memory with it; it is never nil.
func clone(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}
