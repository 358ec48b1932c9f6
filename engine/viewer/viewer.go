// Package viewer is a headless HLS viewer: it plays a media playlist at
// real-time pace through an engine, the way a player with a bounded forward
// buffer would, and reports where the bytes came from and how playback
// went (start-up time, stalls). It is the base of native load tests and of
// the server-side seeder.
package viewer

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/grafov/m3u8"
	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/internal/timeout"
)

// Errors of the viewer.
var (
	ErrPlaylist = errors.New("viewer: unusable playlist")
)

// Options tune playback. Zero values take the defaults.
type Options struct {
	// MaxBuffer is how far ahead of the playhead the viewer loads
	// (default 8 s, like a player configured for P2P).
	MaxBuffer time.Duration
	// Variant picks the variant of a master playlist by index (default 0).
	Variant int
	// Upcoming is how many following segments each Load names for
	// prefetch (default 2).
	Upcoming int
	// OnSegment, when set, is called after each segment is loaded.
	OnSegment func(SegmentLog)
}

// SegmentLog records one loaded segment.
type SegmentLog struct {
	Seq      uint64
	Source   engine.Source
	Origin   engine.Source
	Bytes    int
	Duration time.Duration
	// BufferAhead is the media buffered ahead of the playhead when the
	// load started.
	BufferAhead time.Duration
}

// Report summarises one playback.
type Report struct {
	Segments    int
	StartupTime time.Duration
	Stalls      int
	StallTime   time.Duration
	Played      time.Duration
	// BytesBy counts bytes by origin (peer or CDN; a segment prefetched
	// from a peer counts as peer bytes).
	BytesBy map[engine.Source]int64
	Log     []SegmentLog
}

type segment struct {
	seq        uint64
	url        string
	start, end int64
	dur        time.Duration
}

// Play plays the HLS playlist at playlistURL (a media playlist, or a master
// playlist whose chosen variant is played) to its end, fetching the
// playlists with get and the segments through e.
func Play(ctx context.Context, e *engine.Engine, get engine.Fetcher, playlistURL string, opt Options) (Report, error) {
	if opt.MaxBuffer <= 0 {
		opt.MaxBuffer = 8 * time.Second
	}
	if opt.Upcoming <= 0 {
		opt.Upcoming = 2
	}
	segs, swarmURL, err := loadPlaylist(ctx, get, playlistURL, opt.Variant)
	if err != nil {
		return Report{}, err
	}
	swarm := engine.SwarmIDFor(swarmURL, "")
	p := &playback{rep: Report{BytesBy: map[engine.Source]int64{}}}
	begin := time.Now()
	for i, s := range segs {
		// Wait for room in the buffer, as a player does.
		if ahead := p.ahead(time.Now()); ahead > opt.MaxBuffer-s.dur && p.started {
			if err := timeout.Sleep(ctx, ahead-(opt.MaxBuffer-s.dur)); err != nil {
				return p.rep, err
			}
		}
		now := time.Now()
		ahead := p.ahead(now)
		req := request(swarm, s, now.Add(ahead))
		if !p.started {
			req.Deadline = now.Add(opt.MaxBuffer / 2)
		}
		for _, next := range segs[i+1 : min(len(segs), i+1+opt.Upcoming)] {
			req.Upcoming = append(req.Upcoming, request(swarm, next, time.Time{}))
		}
		res, err := e.Load(ctx, req)
		if err != nil {
			return p.rep, err
		}
		done := time.Now()
		p.advance(done, true)
		if !p.started {
			p.started, p.last = true, done
			p.rep.StartupTime = done.Sub(begin)
		}
		p.bufferEnd += s.dur
		p.inStall = false
		log := SegmentLog{Seq: s.seq, Source: res.Source, Origin: res.Origin, Bytes: len(res.Data), Duration: res.Duration, BufferAhead: ahead}
		p.rep.Log = append(p.rep.Log, log)
		p.rep.BytesBy[res.Origin] += int64(len(res.Data))
		p.rep.Segments++
		if opt.OnSegment != nil {
			opt.OnSegment(log)
		}
	}
	// Play out what is buffered.
	if err := timeout.Sleep(ctx, p.ahead(time.Now())); err != nil {
		return p.rep, err
	}
	p.advance(time.Now(), false)
	p.rep.Played = p.playhead
	return p.rep, nil
}

func request(swarm engine.SwarmID, s segment, deadline time.Time) engine.Request {
	return engine.Request{Swarm: swarm, Seq: s.seq, URL: s.url, Start: s.start, End: s.end, Deadline: deadline}
}

// playback tracks the playhead against the buffered media, in real time.
type playback struct {
	rep       Report
	started   bool
	inStall   bool
	playhead  time.Duration
	bufferEnd time.Duration
	last      time.Time
}

// ahead returns the media buffered ahead of the playhead at now.
func (p *playback) ahead(now time.Time) time.Duration {
	if !p.started {
		return 0
	}
	return max(0, p.bufferEnd-(p.playhead+now.Sub(p.last)))
}

// advance moves the playhead to now; time with nothing buffered while more
// is expected counts as a stall.
func (p *playback) advance(now time.Time, more bool) {
	if !p.started {
		return
	}
	dt := now.Sub(p.last)
	p.last = now
	if p.playhead+dt <= p.bufferEnd {
		p.playhead += dt
		return
	}
	stalled := dt - (p.bufferEnd - p.playhead)
	p.playhead = p.bufferEnd
	if more && stalled > 0 {
		p.rep.StallTime += stalled
		if !p.inStall {
			p.rep.Stalls++
			p.inStall = true
		}
	}
}

// loadPlaylist fetches and parses the playlist, following a master
// playlist to its chosen variant, and returns the segments and the media
// playlist's URL (the swarm's identity).
func loadPlaylist(ctx context.Context, get engine.Fetcher, u string, variant int) ([]segment, string, error) {
	for range 2 {
		data, err := get.Fetch(ctx, engine.FetchRequest{URL: u})
		if err != nil {
			return nil, "", err
		}
		pl, kind, err := m3u8.DecodeFrom(bytes.NewReader(data), false)
		if err != nil {
			return nil, "", errors.Join(ErrPlaylist, err)
		}
		base, err := url.Parse(u)
		if err != nil {
			return nil, "", errors.Join(ErrPlaylist, err)
		}
		switch kind {
		case m3u8.MASTER:
			m := pl.(*m3u8.MasterPlaylist)
			if variant < 0 || variant >= len(m.Variants) {
				return nil, "", errors.Join(ErrPlaylist, errors.New("no such variant"))
			}
			ref, err := base.Parse(m.Variants[variant].URI)
			if err != nil {
				return nil, "", errors.Join(ErrPlaylist, err)
			}
			u = ref.String()
		case m3u8.MEDIA:
			return mediaSegments(base, pl.(*m3u8.MediaPlaylist))
		}
	}
	return nil, "", errors.Join(ErrPlaylist, errors.New("master playlist points to a master playlist"))
}

func mediaSegments(base *url.URL, m *m3u8.MediaPlaylist) ([]segment, string, error) {
	var out []segment
	var prevURL string
	var prevEnd int64
	for i, s := range m.Segments {
		if s == nil {
			continue
		}
		ref, err := base.Parse(s.URI)
		if err != nil {
			return nil, "", errors.Join(ErrPlaylist, err)
		}
		seg := segment{seq: m.SeqNo + uint64(i), url: ref.String(), dur: time.Duration(s.Duration * float64(time.Second))}
		if s.Limit > 0 {
			seg.start = s.Offset
			if s.Offset == 0 && seg.url == prevURL {
				seg.start = prevEnd // EXT-X-BYTERANGE without @offset continues
			}
			seg.end = seg.start + s.Limit
			prevEnd = seg.end
		}
		prevURL = seg.url
		out = append(out, seg)
	}
	if len(out) == 0 {
		return nil, "", errors.Join(ErrPlaylist, errors.New("no segments"))
	}
	return out, base.String(), nil
}
