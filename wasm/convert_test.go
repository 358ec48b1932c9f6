//go:build js && wasm

package main

import (
	"context"
	"errors"
	"syscall/js"
	"testing"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/engine/tracker"
	"github.com/nearcast/nearcast/segmentcache"
)

// jsv converts Go maps, slices and scalars to JS values.
func jsv(v any) js.Value { return js.ValueOf(v) }

func TestParseCreateOptionsDefaults(t *testing.T) {
	o, err := parseCreateOptions(jsv(map[string]any{"trackers": []any{"wss://t.example/announce", "ws://other"}}))
	if err != nil {
		t.Fatal(err)
	}
	want := createOptions{tracker: "wss://t.example/announce", cacheBytes: 64 << 20, upload: true,
		maxPeers: engine.DefaultMaxPeers, maxUploads: engine.DefaultMaxUploads}
	if o.tracker != want.tracker || o.cacheBytes != want.cacheBytes || o.upload != want.upload ||
		o.maxPeers != want.maxPeers || o.maxUploads != want.maxUploads || o.uploadRate != 0 || o.debug || o.iceServers != nil {
		t.Errorf("defaults = %+v, want %+v", o, want)
	}
	for _, opt := range o.engineOptions() {
		if opt == nil {
			t.Error("nil engine option")
		}
	}
}

func TestParseCreateOptionsAll(t *testing.T) {
	o, err := parseCreateOptions(jsv(map[string]any{
		"trackers": []any{"ws://127.0.0.1:1/announce"},
		"iceServers": []any{
			map[string]any{"urls": "stun:stun.example:3478"},
			map[string]any{"urls": []any{"turn:a", "turns:b"}, "username": "u", "credential": "c"},
		},
		"cacheBytes": 1 << 20, "upload": false, "maxPeers": 3, "maxUploads": 2, "uploadRate": 1000, "debug": true,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if o.cacheBytes != 1<<20 || o.upload || o.maxPeers != 3 || o.maxUploads != 2 || o.uploadRate != 1000 || !o.debug {
		t.Errorf("options = %+v", o)
	}
	if len(o.iceServers) != 2 || o.iceServers[0].URLs[0] != "stun:stun.example:3478" ||
		len(o.iceServers[1].URLs) != 2 || o.iceServers[1].Username != "u" || o.iceServers[1].Credential != "c" {
		t.Errorf("iceServers = %+v", o.iceServers)
	}
	d := &rtcDialer{iceServers: o.iceServers}
	c := d.configuration().Get("iceServers")
	if c.Length() != 2 || c.Index(1).Get("urls").Index(1).String() != "turns:b" || c.Index(1).Get("credential").String() != "c" ||
		!c.Index(0).Get("username").IsUndefined() {
		t.Errorf("RTCConfiguration.iceServers = %v", js.Global().Get("JSON").Call("stringify", c))
	}
}

func TestParseCreateOptionsInvalid(t *testing.T) {
	tr := []any{"ws://t"}
	for name, in := range map[string]any{
		"not an object":   "x",
		"no trackers":     map[string]any{},
		"empty trackers":  map[string]any{"trackers": []any{}},
		"http tracker":    map[string]any{"trackers": []any{"http://t"}},
		"tracker number":  map[string]any{"trackers": []any{1}},
		"cacheBytes 0":    map[string]any{"trackers": tr, "cacheBytes": 0},
		"cacheBytes frac": map[string]any{"trackers": tr, "cacheBytes": 1.5},
		"cacheBytes str":  map[string]any{"trackers": tr, "cacheBytes": "1"},
		"maxPeers 0":      map[string]any{"trackers": tr, "maxPeers": 0},
		"maxUploads -1":   map[string]any{"trackers": tr, "maxUploads": -1},
		"uploadRate -1":   map[string]any{"trackers": tr, "uploadRate": -1},
		"uploadRate NaN":  map[string]any{"trackers": tr, "uploadRate": js.Global().Get("NaN")},
		"upload string":   map[string]any{"trackers": tr, "upload": "no"},
		"debug number":    map[string]any{"trackers": tr, "debug": 1},
		"ice not array":   map[string]any{"trackers": tr, "iceServers": map[string]any{}},
		"ice no urls":     map[string]any{"trackers": tr, "iceServers": []any{map[string]any{}}},
		"ice urls number": map[string]any{"trackers": tr, "iceServers": []any{map[string]any{"urls": []any{1}}}},
		"ice username":    map[string]any{"trackers": tr, "iceServers": []any{map[string]any{"urls": "stun:x", "username": 1}}},
	} {
		if _, err := parseCreateOptions(jsv(in)); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
}

func TestParseLoadRequest(t *testing.T) {
	now := time.Unix(1000, 0)
	r, err := parseLoadRequest(jsv(map[string]any{
		"manifest": "HTTPS://CDN.example/live/index.m3u8?token=1", "rendition": "720p",
		"seq": 42, "url": "https://cdn.example/live/42.ts", "start": 100, "end": 200, "deadlineMs": 1500, "cdnMs": 80.5, "sizeHint": 400000,
		"windowStart": 37,
		"upcoming": []any{
			map[string]any{"seq": 43, "url": "https://cdn.example/live/43.ts", "deadlineMs": 3500},
			map[string]any{"seq": 44, "url": "https://cdn.example/live/44.ts", "start": 0, "end": 10},
		},
	}), now)
	if err != nil {
		t.Fatal(err)
	}
	if want := engine.SwarmIDFor("https://cdn.example/live/index.m3u8", "720p"); r.Swarm != want {
		t.Errorf("Swarm = %q, want %q", r.Swarm, want)
	}
	if r.Seq != 42 || r.URL != "https://cdn.example/live/42.ts" || r.Start != 100 || r.End != 200 {
		t.Errorf("request = %+v", r)
	}
	if !r.Deadline.Equal(now.Add(1500 * time.Millisecond)) {
		t.Errorf("Deadline = %v", r.Deadline)
	}
	if r.CDNEstimate != 80500*time.Microsecond || r.SizeHint != 400000 || r.WindowStart != 37 {
		t.Errorf("CDNEstimate = %v, SizeHint = %d, WindowStart = %d, want 80.5ms, 400000, 37", r.CDNEstimate, r.SizeHint, r.WindowStart)
	}
	if len(r.Upcoming) != 2 || r.Upcoming[0].Seq != 43 || r.Upcoming[1].End != 10 || r.Upcoming[1].Swarm != r.Swarm ||
		!r.Upcoming[0].Deadline.Equal(now.Add(3500*time.Millisecond)) || !r.Upcoming[1].Deadline.IsZero() {
		t.Errorf("Upcoming = %+v", r.Upcoming)
	}

	r, err = parseLoadRequest(jsv(map[string]any{"manifest": "https://a/b.m3u8", "swarm": "my-swarm", "seq": 0, "url": "u", "deadlineMs": -50}), now)
	if err != nil || r.Swarm != "my-swarm" || !r.Deadline.Equal(now) || r.End != 0 {
		t.Errorf("swarm override / past deadline: %+v, %v", r, err)
	}
	r, err = parseLoadRequest(jsv(map[string]any{"manifest": "https://a/b.m3u8", "seq": 1, "url": "u"}), now)
	if err != nil || !r.Deadline.IsZero() || r.WindowStart != 0 {
		t.Errorf("no deadline, no window: %+v, %v", r, err)
	}
}

func TestParseLoadRequestInvalid(t *testing.T) {
	base := func(kv ...any) map[string]any {
		m := map[string]any{"manifest": "https://a/b.m3u8", "seq": 1, "url": "https://a/1.ts", "deadlineMs": 1000}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	for name, in := range map[string]any{
		"not an object":   1,
		"no manifest":     base("manifest", nil),
		"no url":          base("url", nil),
		"no seq":          base("seq", nil),
		"negative seq":    base("seq", -1),
		"fraction seq":    base("seq", 1.5),
		"start only":      base("start", 5),
		"negative cdnMs":  base("cdnMs", -1),
		"string cdnMs":    base("cdnMs", "fast"),
		"negative size":   base("sizeHint", -1),
		"negative window": base("windowStart", -3),
		"fraction window": base("windowStart", 2.5),
		"empty range":     base("start", 5, "end", 5),
		"negative start":  base("start", -1, "end", 5),
		"deadline str":    base("deadlineMs", "1"),
		"swarm number":    base("swarm", 7),
		"upcoming obj":    base("upcoming", map[string]any{}),
		"upcoming bad":    base("upcoming", []any{map[string]any{"seq": 2}}),
		"upcoming due":    base("upcoming", []any{map[string]any{"seq": 2, "url": "u", "deadlineMs": "soon"}}),
	} {
		if _, err := parseLoadRequest(jsv(in), time.Now()); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	for _, c := range []struct {
		err      error
		fromLoad bool
		want     string
	}{
		{wrap(ErrInvalidArgument, "x"), false, "invalid-argument"},
		{engine.ErrInvalidRequest, true, "invalid-argument"},
		{engine.ErrInvalidOption, false, "invalid-argument"},
		{wrap(tracker.ErrInvalidArgument, "x"), false, "invalid-argument"},
		{ErrClosed, true, "closed"},
		{engine.ErrClosed, true, "closed"},
		{wrapCause(ErrClosed, "", context.Canceled), true, "closed"},
		{context.Canceled, true, "aborted"},
		{&JSError{Name: "AbortError", Message: "aborted"}, true, "aborted"},
		{wrap(ErrUnsupported, "x"), false, "unsupported"},
		{wrap(ErrHTTPStatus, "404"), true, "cdn-failed"},
		{errors.Join(engine.ErrIntegrity, errors.New("short")), true, "cdn-failed"},
		{context.DeadlineExceeded, true, "cdn-failed"},
		{errors.New("other"), false, "internal"},
	} {
		o := errorObject(c.err, c.fromLoad)
		if got := o.Get("code").String(); got != c.want {
			t.Errorf("code of %v = %q, want %q", c.err, got, c.want)
		}
		if o.Get("message").String() != c.err.Error() {
			t.Errorf("message of %v = %q", c.err, o.Get("message").String())
		}
	}
}

func TestResultObjectIsACopy(t *testing.T) {
	data := []byte("segment bytes")
	peer := engine.PeerID{1, 2}
	o := resultObject(engine.Result{Data: data, Source: engine.SourcePeer, Origin: engine.SourcePeer, Peer: peer,
		Duration: 1500 * time.Microsecond, Transfer: time.Millisecond, FirstByte: 0})
	data[0] = 'X'
	got := o.Get("data")
	if !got.InstanceOf(uint8Array) || got.Length() != len("segment bytes") || got.Get("byteOffset").Int() != 0 ||
		got.Get("buffer").Get("byteLength").Int() != len("segment bytes") || string(bytesFromJS(got)) != "segment bytes" {
		t.Errorf("data = %v", got)
	}
	if o.Get("source").String() != "peer" || o.Get("origin").String() != "peer" || o.Get("peer").String() != peer.String() ||
		o.Get("durationMs").Float() != 1.5 || o.Get("transferMs").Float() != 1 || o.Get("firstByteMs").Float() != 0 {
		t.Errorf("result = %v", js.Global().Get("JSON").Call("stringify", o))
	}
	if !o.Get("tailBytes").IsUndefined() {
		t.Errorf("tailBytes = %v on a segment wholly from a peer", o.Get("tailBytes"))
	}
	o = resultObject(engine.Result{Data: nil, Source: engine.SourceCache, Origin: engine.SourceCDN})
	if o.Get("source").String() != "cache" || o.Get("origin").String() != "cdn" || !o.Get("peer").IsUndefined() || o.Get("data").Length() != 0 {
		t.Errorf("cache result = %v", js.Global().Get("JSON").Call("stringify", o))
	}
	o = resultObject(engine.Result{Data: data, Source: engine.SourcePeer, Origin: engine.SourcePeer, Peer: peer, TailBytes: 5})
	if o.Get("tailBytes").Int() != 5 {
		t.Errorf("spliced result = %v", js.Global().Get("JSON").Call("stringify", o))
	}
}

func TestEventAndStatsObjects(t *testing.T) {
	at := time.UnixMilli(1700000000123)
	o := eventObject(engine.EngineEvent{Kind: engine.EventSegment, Time: at, Key: segmentcache.Key{Swarm: "s", Seq: 9},
		Source: engine.SourceCDN, Origin: engine.SourceCDN, Bytes: 10, Duration: 2 * time.Millisecond})
	if o.Get("type").String() != "segment" || o.Get("time").Float() != 1700000000123 || o.Get("swarm").String() != "s" ||
		o.Get("seq").Int() != 9 || o.Get("source").String() != "cdn" || o.Get("bytes").Int() != 10 ||
		o.Get("durationMs").Float() != 2 || !o.Get("peer").IsUndefined() || !o.Get("error").IsUndefined() {
		t.Errorf("segment event = %v", js.Global().Get("JSON").Call("stringify", o))
	}
	o = eventObject(engine.EngineEvent{Kind: engine.EventPeerDisconnected, Time: at, Peer: engine.PeerID{0xab}, Err: errors.New("gone")})
	if o.Get("type").String() != "peer-disconnected" || o.Get("peer").String()[:2] != "ab" || o.Get("error").String() != "gone" ||
		!o.Get("swarm").IsUndefined() || !o.Get("bytes").IsUndefined() {
		t.Errorf("disconnect event = %v", js.Global().Get("JSON").Call("stringify", o))
	}
	for k, want := range map[engine.EventKind]string{engine.EventPeerConnected: "peer-connected", engine.EventPeerBanned: "peer-banned",
		engine.EventFallback: "fallback", engine.EventUpload: "upload"} {
		if got := eventType(k); got != want {
			t.Errorf("eventType(%d) = %q", k, got)
		}
	}
	s := statsObject(engine.Stats{CDNBytes: 1, PeerBytes: 2, CacheBytes: 3, PrefetchBytes: 4, UploadedBytes: 5, CDNSegments: 6,
		PeerSegments: 7, CacheSegments: 8, PeerFallbacks: 9, SplicedSegments: 10, BannedPeers: 11, Peers: 12, Swarms: 13, Uploads: 14})
	for i, name := range []string{"cdnBytes", "peerBytes", "cacheBytes", "prefetchBytes", "uploadedBytes", "cdnSegments",
		"peerSegments", "cacheSegments", "peerFallbacks", "splicedSegments", "bannedPeers", "peers", "swarms", "uploads"} {
		if got := s.Get(name); got.Type() != js.TypeNumber || got.Int() != i+1 {
			t.Errorf("stats.%s = %v, want %d", name, got, i+1)
		}
	}
}
