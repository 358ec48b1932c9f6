package segmentcache_test

import (
	"fmt"

	"github.com/nearcast/nearcast/segmentcache"
)

func Example() {
	c, err := segmentcache.New(segmentcache.WithMaxBytes(8 << 20))
	if err != nil {
		fmt.Println(err)
		return
	}
	k := segmentcache.Key{Swarm: "live/720p", Seq: 1042}
	if err := c.Put(k, []byte("...segment bytes...")); err != nil {
		fmt.Println(err)
		return
	}

	// The player gets its own copy, which it may transfer to a worker.
	data, ok := c.Get(k)
	fmt.Println(k, len(data), ok)

	// An upload to a peer pins the entry and reads it in chunks.
	if c.Pin(k) {
		chunk := make([]byte, 8)
		n, err := c.ReadAt(k, chunk, 0)
		fmt.Println(string(chunk[:n]), err)
		c.Unpin(k)
	}

	// The live window moved on: drop everything before it.
	fmt.Println(c.EvictBefore("live/720p", 1043), c.Stats().Entries)
	// Output:
	// live/720p#1042 19 true
	// ...segme <nil>
	// 1 0
}
