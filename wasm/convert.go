//go:build js && wasm

package main

import (
	"math"
	"strconv"
	"strings"
	"syscall/js"
	"time"

	"github.com/nearcast/nearcast/engine"
)

// Conversions between the JS API's objects (docs/wasm-api.md, section 1)
// and the engine's types. Everything from JS is validated: a field of the
// wrong type or out of range is ErrInvalidArgument, naming the field.

// Defaults of EngineOptions the contract fixes.
const (
	defaultCacheBytes = 64 << 20
	// maxUpcoming bounds the upcoming segments taken from one LoadRequest;
	// the engine prefetches at most two.
	maxUpcoming = 8
	// maxURL bounds URLs and swarm IDs from JS.
	maxURL = 8 << 10
)

// createOptions are the parsed EngineOptions.
type createOptions struct {
	tracker    string
	iceServers []iceServer
	cacheBytes int64
	upload     bool
	maxPeers   int
	maxUploads int
	uploadRate int64
	debug      bool
}

// parseCreateOptions reads and checks EngineOptions.
func parseCreateOptions(v js.Value) (createOptions, error) {
	o := createOptions{
		cacheBytes: defaultCacheBytes,
		upload:     true,
		maxPeers:   engine.DefaultMaxPeers,
		maxUploads: engine.DefaultMaxUploads,
	}
	if v.Type() != js.TypeObject {
		return o, wrap(ErrInvalidArgument, "options must be an object")
	}
	trackers := v.Get("trackers")
	if !isArray(trackers) || trackers.Length() == 0 {
		return o, wrap(ErrInvalidArgument, "trackers must be a non-empty array of ws:// or wss:// URLs")
	}
	t := trackers.Index(0)
	if t.Type() != js.TypeString || len(t.String()) > maxURL ||
		!(strings.HasPrefix(t.String(), "ws://") || strings.HasPrefix(t.String(), "wss://")) {
		return o, wrap(ErrInvalidArgument, "trackers[0] must be a ws:// or wss:// URL")
	}
	o.tracker = t.String()

	var err error
	if o.iceServers, err = parseICEServers(v.Get("iceServers")); err != nil {
		return o, err
	}
	if o.cacheBytes, err = intField(v, "cacheBytes", 1, 1<<40, o.cacheBytes); err != nil {
		return o, err
	}
	n, err := intField(v, "maxPeers", 1, 1000, int64(o.maxPeers))
	if err != nil {
		return o, err
	}
	o.maxPeers = int(n)
	if n, err = intField(v, "maxUploads", 1, 1000, int64(o.maxUploads)); err != nil {
		return o, err
	}
	o.maxUploads = int(n)
	if o.uploadRate, err = intField(v, "uploadRate", 0, 1<<40, 0); err != nil {
		return o, err
	}
	if o.upload, err = boolField(v, "upload", true); err != nil {
		return o, err
	}
	if o.debug, err = boolField(v, "debug", false); err != nil {
		return o, err
	}
	return o, nil
}

// engineOptions returns the engine options o maps to.
func (o createOptions) engineOptions() []engine.Option {
	return []engine.Option{
		engine.WithCacheBytes(o.cacheBytes),
		engine.WithUpload(o.upload),
		engine.WithMaxPeers(o.maxPeers),
		engine.WithMaxUploads(o.maxUploads),
		engine.WithUploadRate(o.uploadRate),
	}
}

// parseICEServers reads an optional array of RTCIceServer.
func parseICEServers(v js.Value) ([]iceServer, error) {
	if !isDefined(v) {
		return nil, nil
	}
	bad := wrap(ErrInvalidArgument, "iceServers must be an array of {urls, username?, credential?}")
	if !isArray(v) || v.Length() > 32 {
		return nil, bad
	}
	out := make([]iceServer, 0, v.Length())
	for i := range v.Length() {
		s := v.Index(i)
		if s.Type() != js.TypeObject {
			return nil, bad
		}
		var srv iceServer
		switch u := s.Get("urls"); {
		case u.Type() == js.TypeString:
			srv.URLs = []string{u.String()}
		case isArray(u) && u.Length() > 0 && u.Length() <= 32:
			for j := range u.Length() {
				if u.Index(j).Type() != js.TypeString {
					return nil, bad
				}
				srv.URLs = append(srv.URLs, u.Index(j).String())
			}
		default:
			return nil, bad
		}
		var err error
		if srv.Username, err = stringField(s, "username"); err != nil {
			return nil, err
		}
		if srv.Credential, err = stringField(s, "credential"); err != nil {
			return nil, err
		}
		out = append(out, srv)
	}
	return out, nil
}

// parseLoadRequest maps a LoadRequest to an engine.Request, its deadline
// counted from now.
func parseLoadRequest(v js.Value, now time.Time) (engine.Request, error) {
	var r engine.Request
	if v.Type() != js.TypeObject {
		return r, wrap(ErrInvalidArgument, "request must be an object")
	}
	swarm, err := stringField(v, "swarm")
	if err != nil {
		return r, err
	}
	if swarm == "" {
		manifest, err := stringField(v, "manifest")
		if err != nil {
			return r, err
		}
		if manifest == "" {
			return r, wrap(ErrInvalidArgument, "manifest (or swarm) is required")
		}
		rendition, err := stringField(v, "rendition")
		if err != nil {
			return r, err
		}
		r.Swarm = engine.SwarmIDFor(manifest, rendition)
	} else {
		r.Swarm = engine.SwarmID(swarm)
	}
	if len(r.Swarm) > maxURL {
		return r, wrap(ErrInvalidArgument, "swarm too long")
	}
	if err := segmentFields(v, &r, ""); err != nil {
		return r, err
	}
	ws, err := intField(v, "windowStart", 0, 1<<53, 0)
	if err != nil {
		return r, err
	}
	r.WindowStart = uint64(ws)
	if r.Deadline, err = deadlineField(v, "", now); err != nil {
		return r, err
	}
	if c := v.Get("cdnMs"); isDefined(c) {
		ms, ok := finite(c)
		if !ok || ms < 0 {
			return r, wrap(ErrInvalidArgument, "cdnMs must be a finite number >= 0")
		}
		r.CDNEstimate = time.Duration(min(ms, float64(time.Minute/time.Millisecond)) * float64(time.Millisecond))
	}
	if h := v.Get("sizeHint"); isDefined(h) {
		n, ok := finite(h)
		if !ok || n < 0 {
			return r, wrap(ErrInvalidArgument, "sizeHint must be a finite number >= 0")
		}
		r.SizeHint = int(min(n, 1<<30))
	}
	up := v.Get("upcoming")
	if isDefined(up) {
		if !isArray(up) {
			return r, wrap(ErrInvalidArgument, "upcoming must be an array")
		}
		for i := range min(up.Length(), maxUpcoming) {
			var next engine.Request
			e := up.Index(i)
			if e.Type() != js.TypeObject {
				return r, wrap(ErrInvalidArgument, "upcoming["+itoa(i)+"] must be an object")
			}
			prefix := "upcoming[" + itoa(i) + "]."
			if err := segmentFields(e, &next, prefix); err != nil {
				return r, err
			}
			if next.Deadline, err = deadlineField(e, prefix, now); err != nil {
				return r, err
			}
			next.Swarm = r.Swarm
			r.Upcoming = append(r.Upcoming, next)
		}
	}
	return r, nil
}

// deadlineField reads deadlineMs: zero when absent, else now plus it (a
// deadline already past means "as soon as possible": now).
func deadlineField(v js.Value, prefix string, now time.Time) (time.Time, error) {
	d := v.Get("deadlineMs")
	if !isDefined(d) {
		return time.Time{}, nil
	}
	ms, ok := finite(d)
	if !ok {
		return time.Time{}, wrap(ErrInvalidArgument, prefix+"deadlineMs must be a finite number")
	}
	ms = max(0, min(ms, float64(time.Hour/time.Millisecond)))
	return now.Add(time.Duration(ms * float64(time.Millisecond))), nil
}

// segmentFields reads seq, url, start and end into r.
func segmentFields(v js.Value, r *engine.Request, prefix string) error {
	seq, err := intField(v, "seq", 0, 1<<53, -1)
	if err != nil || seq < 0 {
		return wrap(ErrInvalidArgument, prefix+"seq must be an integer >= 0")
	}
	r.Seq = uint64(seq)
	if r.URL, err = stringField(v, "url"); err != nil {
		return err
	}
	if r.URL == "" || len(r.URL) > maxURL {
		return wrap(ErrInvalidArgument, prefix+"url is required")
	}
	if r.Start, err = intField(v, "start", 0, 1<<53, 0); err != nil {
		return err
	}
	if r.End, err = intField(v, "end", 0, 1<<53, 0); err != nil {
		return err
	}
	if r.End == 0 && r.Start > 0 {
		return wrap(ErrInvalidArgument, prefix+"start without end")
	}
	if r.End != 0 && r.End <= r.Start {
		return wrap(ErrInvalidArgument, prefix+"end must be greater than start")
	}
	return nil
}

// intField reads the optional integer v[name] in [lo, hi], def when absent.
func intField(v js.Value, name string, lo, hi, def int64) (int64, error) {
	f := v.Get(name)
	if !isDefined(f) {
		return def, nil
	}
	x, ok := finite(f)
	if !ok || x != math.Trunc(x) || x < float64(lo) || x > float64(hi) {
		return 0, wrap(ErrInvalidArgument, name+" must be an integer from "+
			strconv.FormatInt(lo, 10)+" to "+strconv.FormatInt(hi, 10))
	}
	return int64(x), nil
}

// boolField reads the optional boolean v[name], def when absent.
func boolField(v js.Value, name string, def bool) (bool, error) {
	f := v.Get(name)
	switch {
	case !isDefined(f):
		return def, nil
	case f.Type() == js.TypeBoolean:
		return f.Bool(), nil
	}
	return false, wrap(ErrInvalidArgument, name+" must be a boolean")
}

// stringField reads the optional string v[name], "" when absent.
func stringField(v js.Value, name string) (string, error) {
	f := v.Get(name)
	switch {
	case !isDefined(f):
		return "", nil
	case f.Type() == js.TypeString:
		return f.String(), nil
	}
	return "", wrap(ErrInvalidArgument, name+" must be a string")
}

// finite returns v as a finite number.
func finite(v js.Value) (float64, bool) {
	if v.Type() != js.TypeNumber {
		return 0, false
	}
	x := v.Float()
	return x, !math.IsNaN(x) && !math.IsInf(x, 0)
}

func isArray(v js.Value) bool { return jsArray.Call("isArray", v).Bool() }

func itoa(n int) string { return strconv.Itoa(n) }

// ms returns d in (fractional) milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// resultObject returns the LoadResult of res. Its data is a new Uint8Array
// holding a copy of the bytes, which the caller owns.
func resultObject(res engine.Result) js.Value {
	o := object.New()
	o.Set("data", bytesToJS(res.Data))
	o.Set("source", res.Source.String())
	o.Set("origin", res.Origin.String())
	if res.Source == engine.SourcePeer {
		o.Set("peer", res.Peer.String())
	}
	o.Set("durationMs", ms(res.Duration))
	o.Set("transferMs", ms(res.Transfer))
	o.Set("firstByteMs", ms(res.FirstByte))
	if res.TailBytes > 0 {
		o.Set("tailBytes", res.TailBytes)
	}
	return o
}

// statsObject returns the EngineStats of s.
func statsObject(s engine.Stats) js.Value {
	o := object.New()
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"cdnBytes", s.CDNBytes}, {"peerBytes", s.PeerBytes}, {"cacheBytes", s.CacheBytes},
		{"prefetchBytes", s.PrefetchBytes}, {"uploadedBytes", s.UploadedBytes},
		{"cdnSegments", int64(s.CDNSegments)}, {"peerSegments", int64(s.PeerSegments)},
		{"cacheSegments", int64(s.CacheSegments)}, {"peerFallbacks", int64(s.PeerFallbacks)},
		{"splicedSegments", int64(s.SplicedSegments)},
		{"bannedPeers", int64(s.BannedPeers)}, {"peers", int64(s.Peers)},
		{"swarms", int64(s.Swarms)}, {"uploads", int64(s.Uploads)},
	} {
		o.Set(f.name, f.v)
	}
	return o
}

// eventType names an event kind as EngineEvent.type does.
func eventType(k engine.EventKind) string {
	switch k {
	case engine.EventSegment:
		return "segment"
	case engine.EventPeerConnected:
		return "peer-connected"
	case engine.EventPeerDisconnected:
		return "peer-disconnected"
	case engine.EventPeerBanned:
		return "peer-banned"
	case engine.EventFallback:
		return "fallback"
	case engine.EventUpload:
		return "upload"
	case engine.EventPrefetch:
		return "prefetch"
	}
	return ""
}

// eventObject returns the EngineEvent of ev, with only the fields it sets.
func eventObject(ev engine.EngineEvent) js.Value {
	o := object.New()
	o.Set("type", eventType(ev.Kind))
	o.Set("time", float64(ev.Time.UnixNano())/1e6)
	if ev.Key.Swarm != "" {
		o.Set("swarm", string(ev.Key.Swarm))
		o.Set("seq", ev.Key.Seq)
	}
	if ev.Source != 0 {
		o.Set("source", ev.Source.String())
	}
	if ev.Origin != 0 {
		o.Set("origin", ev.Origin.String())
	}
	if ev.Peer != (engine.PeerID{}) {
		o.Set("peer", ev.Peer.String())
	}
	if ev.Kind == engine.EventSegment || ev.Kind == engine.EventUpload || ev.Bytes != 0 {
		o.Set("bytes", ev.Bytes)
	}
	if ev.TailBytes > 0 {
		o.Set("tailBytes", ev.TailBytes)
	}
	if ev.Duration != 0 {
		o.Set("durationMs", ms(ev.Duration))
	}
	if ev.Err != nil {
		o.Set("error", ev.Err.Error())
	}
	return o
}
