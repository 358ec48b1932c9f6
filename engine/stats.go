package engine

import (
	"sync"
	"time"

	"github.com/nearcast/nearcast/segmentcache"
)

// Source says where a segment came from.
type Source uint8

// Sources of a segment.
const (
	SourceCache Source = iota + 1
	SourcePeer
	SourceCDN
)

// String returns "cache", "peer" or "cdn".
func (s Source) String() string {
	switch s {
	case SourceCache:
		return "cache"
	case SourcePeer:
		return "peer"
	case SourceCDN:
		return "cdn"
	}
	return "unknown"
}

// Stats are the engine's counters since it started.
type Stats struct {
	// CDNBytes and PeerBytes count bytes handed to the player by origin:
	// a segment prefetched from a peer counts as peer bytes when the player
	// takes it from the cache. CacheBytes counts the bytes (of either
	// origin) that came out of the cache; PrefetchBytes counts bytes
	// prefetched from peers.
	CDNBytes, PeerBytes, CacheBytes, PrefetchBytes int64
	// UploadedBytes counts bytes sent to peers.
	UploadedBytes int64
	// Segments handed to the player by origin, and from the cache.
	CDNSegments, PeerSegments, CacheSegments int
	// PeerFallbacks counts peer transfers abandoned for the CDN.
	PeerFallbacks int
	// SplicedSegments counts segments whose peer transfer fell behind and
	// whose missing tail came from the CDN (Result.TailBytes).
	SplicedSegments int
	// BannedPeers counts peers dropped for bad data or protocol errors.
	BannedPeers int
	// Peers, Swarms and Uploads (uploads under way) are current counts.
	Peers, Swarms, Uploads int
	// Cache is the segment cache's own counters.
	Cache segmentcache.Stats
}

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	// EventSegment: a Load completed (Key, Source, Origin, Bytes, Duration,
	// Peer).
	EventSegment EventKind = iota + 1
	// EventPeerConnected and EventPeerDisconnected: Peer (and Err, the
	// reason, on disconnect).
	EventPeerConnected
	EventPeerDisconnected
	// EventPeerBanned: Peer sent bad data or broke the protocol (Err).
	EventPeerBanned
	// EventFallback: a peer transfer of Key was abandoned for the CDN (Err).
	EventFallback
	// EventUpload: Bytes of Key were uploaded to Peer in Duration.
	EventUpload
	// EventPrefetch: a prefetch of Key ended: Bytes from Peer in Duration
	// into the cache, or Err (no peer could deliver it in time).
	EventPrefetch
)

// EngineEvent is one event of the engine, for stats displays and logs.
type EngineEvent struct {
	Kind   EventKind
	Time   time.Time
	Key    segmentcache.Key
	Source Source
	Origin Source
	Peer   PeerID
	Bytes  int
	// TailBytes: of Bytes, those a spliced segment got from the CDN
	// (EventSegment, EventPrefetch; see Result.TailBytes).
	TailBytes int
	Duration  time.Duration
	Err       error
}

// events fans events out to subscribers without ever blocking the engine:
// a subscriber whose buffer is full misses events (Dropped counts them).
type events struct {
	mu      sync.Mutex
	subs    map[int]chan EngineEvent
	next    int
	dropped int
}

func (ev *events) emit(e EngineEvent) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, ch := range ev.subs {
		select {
		case ch <- e:
		default:
			ev.dropped++
		}
	}
}

// Subscribe returns a channel of engine events with the given buffer, and a
// function that ends the subscription and closes the channel. Events that
// do not fit in the buffer are dropped, never waited for.
func (e *Engine) Subscribe(buffer int) (<-chan EngineEvent, func()) {
	ev := &e.events
	ch := make(chan EngineEvent, max(buffer, 1))
	ev.mu.Lock()
	if ev.subs == nil {
		ev.subs = make(map[int]chan EngineEvent)
	}
	id := ev.next
	ev.next++
	ev.subs[id] = ch
	ev.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			ev.mu.Lock()
			delete(ev.subs, id)
			ev.mu.Unlock()
			close(ch)
		})
	}
}
