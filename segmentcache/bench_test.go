package segmentcache

import (
	"strconv"
	"testing"
)

// BenchmarkPutGet stores and reads back segments in a cache that holds 64 of
// them, cycling through 128 keys so that every Put also evicts.
func BenchmarkPutGet(b *testing.B) {
	for _, size := range []int{16 << 10, 256 << 10, 2 << 20} {
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			c := newCache(b, WithMaxBytes(int64(64*size)))
			data := seg(size, 1)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			var seq uint64
			for b.Loop() {
				k := Key{Swarm: "v720", Seq: seq % 128}
				seq++
				if err := c.Put(k, data); err != nil {
					b.Fatal(err)
				}
				if _, ok := c.Get(k); !ok {
					b.Fatal("miss")
				}
			}
		})
	}
}

// BenchmarkReadAt uploads a pinned 2 MiB segment in 16 KiB chunks, as the
// engine does for peers; it should not allocate.
func BenchmarkReadAt(b *testing.B) {
	const size, chunk = 2 << 20, 16 << 10
	c := newCache(b)
	k := Key{Swarm: "v720", Seq: 1}
	mustPut(b, c, k, seg(size, 1))
	c.Pin(k)
	p := make([]byte, chunk)
	b.ReportAllocs()
	b.SetBytes(chunk)
	var off int64
	for b.Loop() {
		if _, err := c.ReadAt(k, p, off); err != nil {
			b.Fatal(err)
		}
		off = (off + chunk) % size
	}
}
