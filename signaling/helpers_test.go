package signaling_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nearcast/nearcast/signaling"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds every wait in these tests.
const testTimeout = 5 * time.Second

// fakeClock is a settable clock for offer TTLs and token expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testServer is a signaling server on a loopback port.
type testServer struct {
	t    *testing.T
	srv  *signaling.Server
	http *httptest.Server
	url  string
}

func startServer(t *testing.T, opts ...signaling.Option) *testServer {
	t.Helper()
	srv, err := signaling.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	ts := &testServer{t: t, srv: srv, http: hs, url: "ws" + strings.TrimPrefix(hs.URL, "http") + srv.Path()}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return ts
}

// metric returns the text of one metric line, such as
// `nearcast_signaling_rejections_total{reason="rate_limit"}`, or "" if absent.
func (ts *testServer) metric(name string) string {
	ts.t.Helper()
	resp, err := http.Get(ts.http.URL + "/metrics")
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// client is one WebSocket client speaking the tracker protocol.
type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func (ts *testServer) dial(hdr http.Header) *client {
	ts.t.Helper()
	return ts.dialURL(ts.url, hdr)
}

func (ts *testServer) dialURL(url string, hdr http.Header) *client {
	ts.t.Helper()
	d := websocket.Dialer{HandshakeTimeout: testTimeout}
	ws, resp, err := d.Dial(url, hdr)
	if err != nil {
		ts.t.Fatalf("dial %s: %v (response %v)", url, err, resp)
	}
	c := &client{t: ts.t, ws: ws}
	ts.t.Cleanup(func() { _ = ws.Close() })
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	_ = c.ws.SetWriteDeadline(time.Now().Add(testTimeout))
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

type msg map[string]any

func (m msg) str(k string) string { s, _ := m[k].(string); return s }
func (m msg) num(k string) int    { f, _ := m[k].(float64); return int(f) }

// recv returns the next message; it fails the test on a close or a timeout.
func (c *client) recv() msg {
	c.t.Helper()
	m, err := c.tryRecv()
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	return m
}

func (c *client) tryRecv() (msg, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(testTimeout))
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	var m msg
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("server sent non-JSON %q", b)
	}
	return m, nil
}

// expectClose reads until the server closes and returns the close code.
func (c *client) expectClose() (int, string) {
	c.t.Helper()
	for {
		_, err := c.tryRecv()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code, ce.Text
		}
		c.t.Fatalf("expected a close frame, got %v", err)
	}
}

func id20(prefix string) string {
	return (prefix + strings.Repeat("-", 20))[:20]
}

func (c *client) announce(hash, peer string, extra msg) msg {
	c.t.Helper()
	m := msg{"action": "announce", "info_hash": hash, "peer_id": peer, "uploaded": 0, "downloaded": 0, "left": 1}
	for k, v := range extra {
		m[k] = v
	}
	c.send(m)
	if _, answering := extra["answer"]; answering {
		return nil
	}
	return c.recv()
}

func offers(n int, tag string) []msg {
	out := make([]msg, n)
	for i := range out {
		out[i] = msg{"offer": msg{"type": "offer", "sdp": "v=0 " + tag}, "offer_id": id20(tag + string(rune('a'+i)))}
	}
	return out
}

// sync makes sure every earlier message of c has been handled: the server
// handles a connection's messages in order, so once the scrape reply is
// back, so are the effects of all that came before.
func (c *client) sync(hash string) msg {
	c.t.Helper()
	c.send(msg{"action": "scrape", "info_hash": hash})
	for {
		m := c.recv()
		if m.str("action") == "scrape" {
			files, _ := m["files"].(map[string]any)
			f, _ := files[hash].(map[string]any)
			return msg(f)
		}
		c.t.Fatalf("unexpected message before scrape reply: %v", m)
	}
}

// counts returns complete+incomplete of hash as seen by a fresh scrape.
func (c *client) peers(hash string) int {
	f := c.sync(hash)
	return f.num("complete") + f.num("incomplete")
}

// waitPeers polls until the swarm has want peers (for asynchronous cleanup).
func (c *client) waitPeers(hash string, want int) {
	c.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		got := c.peers(hash)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("swarm has %d peers, want %d", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func expectFailure(t *testing.T, m msg, contains string) {
	t.Helper()
	reason := m.str("failure reason")
	if reason == "" || !strings.Contains(reason, contains) {
		t.Fatalf("expected failure containing %q, got %v", contains, m)
	}
}
