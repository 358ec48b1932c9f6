//go:build !js

package integration_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/engine/native"
	"github.com/nearcast/nearcast/engine/tracker"
	"github.com/nearcast/nearcast/engine/viewer"
	"github.com/nearcast/nearcast/segmentcache"
	"github.com/nearcast/nearcast/signaling"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// origin is a loopback CDN serving a synthetic stream: random bytes of
// known lengths behind a VOD playlist. It counts the segment bytes it sends.
type origin struct {
	srv      *httptest.Server
	segments [][]byte
	hashes   map[uint64][32]byte
	segDur   time.Duration
	mu       sync.Mutex
	served   map[int]int
}

func newOrigin(t *testing.T, n, size int, segDur time.Duration) *origin {
	o := &origin{hashes: map[uint64][32]byte{}, served: map[int]int{}, segDur: segDur}
	for i := range n {
		b := make([]byte, size+i*1000)
		_, _ = rand.Read(b)
		o.segments = append(o.segments, b)
		o.hashes[uint64(i)] = sha256.Sum256(b)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /vod/index.m3u8", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		secs := strconv.FormatFloat(segDur.Seconds(), 'f', 3, 64)
		b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:" + strconv.Itoa(int(segDur.Seconds()+0.999)) + "\n#EXT-X-MEDIA-SEQUENCE:0\n")
		for i := range o.segments {
			b.WriteString("#EXTINF:" + secs + ",\nseg" + strconv.Itoa(i) + ".bin\n")
		}
		b.WriteString("#EXT-X-ENDLIST\n")
		w.Write([]byte(b.String()))
	})
	mux.HandleFunc("GET /vod/{name}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.PathValue("name"), "seg"), ".bin"))
		if err != nil || i < 0 || i >= len(o.segments) {
			http.NotFound(w, r)
			return
		}
		o.mu.Lock()
		o.served[i] += len(o.segments[i])
		o.mu.Unlock()
		w.Write(o.segments[i])
	})
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	return o
}

func (o *origin) playlist() string { return o.srv.URL + "/vod/index.m3u8" }
func (o *origin) segURL(i int) string {
	return o.srv.URL + "/vod/seg" + strconv.Itoa(i) + ".bin"
}
func (o *origin) swarm() engine.SwarmID { return engine.SwarmIDFor(o.playlist(), "") }

func (o *origin) servedBytes() (total, streamBytes int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, s := range o.segments {
		total += o.served[i]
		streamBytes += len(s)
	}
	return total, streamBytes
}

// verify is the integrity hook: a hash list of the stream.
func (o *origin) verify(k segmentcache.Key, data []byte) error {
	if h, ok := o.hashes[k.Seq]; !ok || h != sha256.Sum256(data) {
		return errors.New("segment hash mismatch")
	}
	return nil
}

// startTracker runs the real signaling server on a loopback port.
func startTracker(t *testing.T) string {
	srv, err := signaling.New()
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + srv.Path()
}

// tamperDialer lets a test tamper with a real link's outgoing messages.
type tamperDialer struct {
	engine.Dialer
	mutate func([]byte) []byte
}

func (d tamperDialer) Offer(ctx context.Context) (engine.Pending, error) {
	p, err := d.Dialer.Offer(ctx)
	return tamperPending{p, d.mutate}, err
}

func (d tamperDialer) Accept(ctx context.Context, offer engine.SDP) (engine.Pending, error) {
	p, err := d.Dialer.Accept(ctx, offer)
	return tamperPending{p, d.mutate}, err
}

type tamperPending struct {
	engine.Pending
	mutate func([]byte) []byte
}

func (p tamperPending) Open(ctx context.Context, answer engine.SDP) (engine.Link, error) {
	l, err := p.Pending.Open(ctx, answer)
	if err != nil {
		return nil, err
	}
	return tamperLink{l, p.mutate}, nil
}

type tamperLink struct {
	engine.Link
	mutate func([]byte) []byte
}

func (l tamperLink) Send(msg []byte) error {
	return l.Link.Send(l.mutate(append([]byte(nil), msg...)))
}

func newNode(t *testing.T, wsURL string, dialer engine.Dialer, opts ...engine.Option) *engine.Engine {
	t.Helper()
	sig, err := tracker.New(wsURL, native.DialWebSocket, tracker.WithBackoff(50*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if dialer == nil {
		d, err := native.NewDialer(native.WithLoopbackOnly())
		if err != nil {
			t.Fatal(err)
		}
		dialer = d
	}
	e, err := engine.New(sig, dialer, fetcher(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func fetcher(t *testing.T) *native.Fetcher {
	t.Helper()
	f, err := native.NewFetcher(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.CloseIdleConnections)
	return f
}

func waitPeers(t *testing.T, want int, es ...*engine.Engine) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := true
		for _, e := range es {
			if e.Stats().Peers < want {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			for i, e := range es {
				t.Logf("engine %d: %d peers", i, e.Stats().Peers)
			}
			t.Fatalf("engines did not reach %d peers", want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFourEnginesStaggered plays one synthetic stream in four engines that
// start 1.5 s apart. The CDN should serve each segment about once, every
// engine must end with byte-identical segments, and nobody may stall.
func TestFourEnginesStaggered(t *testing.T) {
	o := newOrigin(t, 12, 150<<10, time.Second)
	ws := startTracker(t)
	engines := make([]*engine.Engine, 4)
	for i := range engines {
		engines[i] = newNode(t, ws, nil, engine.WithVerifier(o.verify))
	}
	get := fetcher(t)
	reports := make([]viewer.Report, len(engines))
	errs := make([]error, len(engines))
	var wg sync.WaitGroup
	for i, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 1500 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			reports[i], errs[i] = viewer.Play(ctx, e, get, o.playlist(), viewer.Options{MaxBuffer: 4 * time.Second})
		}()
	}
	wg.Wait()
	var peerBytes, cdnBytes int64
	for i, r := range reports {
		if errs[i] != nil {
			t.Fatalf("engine %d: %v", i, errs[i])
		}
		t.Logf("engine %d: startup %v, stalls %d (%v), cdn %d B, peer %d B", i, r.StartupTime, r.Stalls, r.StallTime,
			r.BytesBy[engine.SourceCDN], r.BytesBy[engine.SourcePeer])
		var trace strings.Builder
		for _, l := range r.Log {
			trace.WriteString(" " + strconv.FormatUint(l.Seq, 10) + ":" + l.Origin.String() + "@" + l.BufferAhead.Round(100*time.Millisecond).String())
		}
		t.Logf("engine %d segments:%s", i, trace.String())
		if r.Segments != len(o.segments) || r.Stalls != 0 {
			t.Errorf("engine %d: %d segments, %d stalls", i, r.Segments, r.Stalls)
		}
		peerBytes += r.BytesBy[engine.SourcePeer]
		cdnBytes += r.BytesBy[engine.SourceCDN]
	}
	served, stream := o.servedBytes()
	t.Logf("offload: CDN bytes / total bytes = %d / %d = %.3f (ideal 1/4 = 0.25); origin served %.2f× the stream",
		cdnBytes, cdnBytes+peerBytes, float64(cdnBytes)/float64(cdnBytes+peerBytes), float64(served)/float64(stream))
	if float64(served) > 1.5*float64(stream) {
		t.Errorf("origin served %.2f× the stream, want about once", float64(served)/float64(stream))
	}
	// Every engine holds byte-identical segments.
	for i, e := range engines {
		for seq, want := range o.segments {
			res, err := e.Load(context.Background(), engine.Request{Swarm: o.swarm(), Seq: uint64(seq), URL: o.segURL(seq)})
			if err != nil || !bytes.Equal(res.Data, want) {
				t.Fatalf("engine %d segment %d: err %v, identical %v", i, seq, err, bytes.Equal(res.Data, want))
			}
		}
	}
}

// TestVanishingPeerMidSegment: the only peer holding a segment disappears
// while uploading it; the receiving engine completes from the CDN in time.
func TestVanishingPeerMidSegment(t *testing.T) {
	o := newOrigin(t, 2, 2<<20, 2*time.Second)
	ws := startTracker(t)
	seeder := newNode(t, ws, nil, engine.WithUploadRate(400<<10)) // 2 MiB takes ~5 s
	leecher := newNode(t, ws, nil)
	ctx := context.Background()
	if _, err := seeder.Load(ctx, engine.Request{Swarm: o.swarm(), Seq: 0, URL: o.segURL(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := leecher.Load(ctx, engine.Request{Swarm: o.swarm(), Seq: 1, URL: o.segURL(1)}); err != nil {
		t.Fatal(err)
	}
	waitPeers(t, 1, seeder, leecher)

	events, stop := leecher.Subscribe(64)
	defer stop()
	deadline := time.Now().Add(15 * time.Second)
	type outcome struct {
		res engine.Result
		err error
		at  time.Time
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := leecher.Load(ctx, engine.Request{Swarm: o.swarm(), Seq: 0, URL: o.segURL(0), Deadline: deadline})
		done <- outcome{res, err, time.Now()}
	}()
	time.Sleep(1500 * time.Millisecond) // the upload is under way
	gone := time.Now()
	_ = seeder.Close()
	out := <-done
	if out.err != nil || !bytes.Equal(out.res.Data, o.segments[0]) {
		t.Fatalf("load: %v", out.err)
	}
	if out.res.Source != engine.SourceCDN || out.at.After(deadline) {
		t.Fatalf("source %v, %v after the deadline", out.res.Source, out.at.Sub(deadline))
	}
	sawFallback := false
	for len(events) > 0 {
		if ev := <-events; ev.Kind == engine.EventFallback {
			sawFallback = true
		}
	}
	if !sawFallback {
		t.Fatal("no fallback event: the peer transfer was never under way")
	}
	t.Logf("peer vanished mid-segment: CDN completion %v after its disappearance, %v before the deadline",
		out.at.Sub(gone).Round(time.Millisecond), deadline.Sub(out.at).Round(time.Millisecond))
}

// TestCorruptingPeer: a peer that flips bytes in what it uploads is caught
// by the verifier, banned, and the data comes from the CDN, correct and in
// time.
func TestCorruptingPeer(t *testing.T) {
	o := newOrigin(t, 2, 300<<10, 2*time.Second)
	ws := startTracker(t)
	base, err := native.NewDialer(native.WithLoopbackOnly())
	if err != nil {
		t.Fatal(err)
	}
	corrupt := tamperDialer{Dialer: base, mutate: func(m []byte) []byte {
		if len(m) > 1000 {
			m[len(m)/2] ^= 0x5A
		}
		return m
	}}
	liar := newNode(t, ws, corrupt)
	honest := newNode(t, ws, nil, engine.WithVerifier(o.verify))
	ctx := context.Background()
	if _, err := liar.Load(ctx, engine.Request{Swarm: o.swarm(), Seq: 0, URL: o.segURL(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := honest.Load(ctx, engine.Request{Swarm: o.swarm(), Seq: 1, URL: o.segURL(1)}); err != nil {
		t.Fatal(err)
	}
	waitPeers(t, 1, liar, honest)
	deadline := time.Now().Add(10 * time.Second)
	res, err := honest.Load(ctx, engine.Request{Swarm: o.swarm(), Seq: 0, URL: o.segURL(0), Deadline: deadline})
	if err != nil || !bytes.Equal(res.Data, o.segments[0]) {
		t.Fatalf("load: %v (identical %v)", err, bytes.Equal(res.Data, o.segments[0]))
	}
	if res.Source != engine.SourceCDN || time.Now().After(deadline) {
		t.Fatalf("source %v", res.Source)
	}
	st := honest.Stats()
	if st.BannedPeers != 1 || st.Peers != 0 {
		t.Fatalf("banned %d peers, %d connected", st.BannedPeers, st.Peers)
	}
}
