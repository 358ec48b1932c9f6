// Package segmentcache is the bounded in-memory store in which the nearcast
// P2P engine keeps media segments: HLS media segments and byte ranges
// (RFC 8216) and DASH segments (ISO/IEC 23009-1). The engine plays segments
// out of it to the local player and uploads them from it to other viewers.
//
// The engine runs natively and compiled to WebAssembly in a browser page,
// including on TVs with little memory, so the store is bounded twice: by the
// total bytes of the segments it holds ([DefaultMaxBytes], [WithMaxBytes]) and
// by the number of entries ([DefaultMaxEntries], [WithMaxEntries]). When a
// [Cache.Put] needs room, the least recently used entries that are not pinned
// are evicted. A pinned entry ([Cache.Pin]) is never evicted; when pinned
// entries leave too little room, Put fails with [ErrNoSpace] rather than
// exceed the bound. Live streams drop whole windows at once with
// [Cache.EvictBefore].
//
// # The copy rule
//
// The cache never shares a buffer with its callers. [Cache.Put] stores a copy
// of its argument, so the caller may reuse the buffer at once; [Cache.Get]
// returns a fresh copy that the caller owns and may transfer or detach (hls.js
// transfers ArrayBuffers to its worker, which detaches them); [Cache.ReadAt]
// copies part of an entry into a caller's buffer, so a segment can be uploaded
// to peers in small chunks without copying all of it. Buffers held by the
// cache are never written after they are stored.
//
// A [Cache] is safe for concurrent use. It holds one mutex, never across a
// copy of segment data or a callback. The package depends on a few small
// standard-library packages only (no fmt, reflection or encoding), to keep
// the WebAssembly build small.
package segmentcache
