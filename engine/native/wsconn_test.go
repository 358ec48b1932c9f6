//go:build !js

package native

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nearcast/nearcast/engine/tracker"
)

// wsTestTimeout bounds every wait in the WebSocket tests.
const wsTestTimeout = 5 * time.Second

// wsServer is a loopback WebSocket server whose handler the test drives
// through conns: each accepted connection is handed to the test.
type wsServer struct {
	http  *httptest.Server
	url   string
	conns chan *websocket.Conn
}

func startWSServer(t *testing.T) *wsServer {
	t.Helper()
	s := &wsServer{conns: make(chan *websocket.Conn, 4)}
	up := websocket.Upgrader{}
	done := make(chan struct{})
	s.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/refuse" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		select {
		case s.conns <- ws:
		case <-done:
			_ = ws.Close()
		}
	}))
	s.url = "ws" + strings.TrimPrefix(s.http.URL, "http") + "/announce"
	t.Cleanup(func() {
		close(done)
		for {
			select {
			case ws := <-s.conns:
				_ = ws.Close()
				continue
			default:
			}
			break
		}
		s.http.Close()
	})
	return s
}

func (s *wsServer) accept(t *testing.T) *websocket.Conn {
	t.Helper()
	select {
	case ws := <-s.conns:
		t.Cleanup(func() { _ = ws.Close() })
		_ = ws.SetReadDeadline(time.Now().Add(wsTestTimeout))
		return ws
	case <-time.After(wsTestTimeout):
		t.Fatal("no connection")
		return nil
	}
}

func dialTest(t *testing.T, url string) tracker.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsTestTimeout)
	defer cancel()
	c, err := DialWebSocket(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestWebSocketExchange(t *testing.T) {
	s := startWSServer(t)
	c := dialTest(t, s.url)
	srv := s.accept(t)
	ctx, cancel := context.WithTimeout(context.Background(), wsTestTimeout)
	defer cancel()

	if err := c.Write(ctx, []byte(`{"action":"announce"}`)); err != nil {
		t.Fatal(err)
	}
	typ, msg, err := srv.ReadMessage()
	if err != nil || typ != websocket.TextMessage || string(msg) != `{"action":"announce"}` {
		t.Fatalf("server read %d %q %v", typ, msg, err)
	}
	for _, typ := range []int{websocket.TextMessage, websocket.BinaryMessage} {
		if err := srv.WriteMessage(typ, []byte(`{"interval":120}`)); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Read(ctx); err != nil || string(got) != `{"interval":120}` {
			t.Fatalf("Read = %q, %v", got, err)
		}
	}

	// Close sends a normal closure.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, err = srv.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("server saw %v, want close 1000", err)
	}
	_ = c.Close() // idempotent
	if _, err := c.Read(ctx); err == nil {
		t.Error("Read after Close succeeded")
	}
}

func TestWebSocketReadHonoursContext(t *testing.T) {
	s := startWSServer(t)
	c := dialTest(t, s.url)
	srv := s.accept(t)

	// An already cancelled ctx reads nothing and leaves the connection
	// usable.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Read(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with a done ctx: %v", err)
	}
	if err := srv.WriteMessage(websocket.TextMessage, []byte("x")); err != nil {
		t.Fatal(err)
	}
	ctx, cancelRead := context.WithTimeout(context.Background(), wsTestTimeout)
	defer cancelRead()
	if got, err := c.Read(ctx); err != nil || string(got) != "x" {
		t.Fatalf("Read after a done ctx: %q, %v", got, err)
	}

	// Cancelling ctx wakes a blocked Read.
	ctx2, cancel2 := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Read(ctx2)
		errc <- err
	}()
	cancel2()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Read: %v", err)
		}
	case <-time.After(wsTestTimeout):
		t.Fatal("cancelling ctx did not wake Read")
	}
}

func TestWebSocketReadDeadline(t *testing.T) {
	s := startWSServer(t)
	c := dialTest(t, s.url)
	s.accept(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Read(ctx)
	if err == nil || time.Since(start) > wsTestTimeout {
		t.Fatalf("Read past its deadline: %v after %v", err, time.Since(start))
	}
}

func TestWebSocketCloseWakesRead(t *testing.T) {
	s := startWSServer(t)
	c := dialTest(t, s.url)
	s.accept(t)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Read(context.Background())
		errc <- err
	}()
	_ = c.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("Read succeeded after Close")
		}
	case <-time.After(wsTestTimeout):
		t.Fatal("Close did not wake Read")
	}
}

func TestWebSocketReadLimit(t *testing.T) {
	s := startWSServer(t)
	c := dialTest(t, s.url)
	srv := s.accept(t)
	ctx, cancel := context.WithTimeout(context.Background(), wsTestTimeout)
	defer cancel()
	if err := srv.WriteMessage(websocket.TextMessage, make([]byte, tracker.MaxMessageSize)); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Read(ctx); err != nil || len(got) != tracker.MaxMessageSize {
		t.Fatalf("Read of MaxMessageSize bytes: %d, %v", len(got), err)
	}
	// The server's write may fail once the client gives up on the frame.
	go func() { _ = srv.WriteMessage(websocket.TextMessage, make([]byte, tracker.MaxMessageSize+1)) }()
	if _, err := c.Read(ctx); !errors.Is(err, websocket.ErrReadLimit) {
		t.Fatalf("Read over the limit: %v", err)
	}
}

func TestWebSocketWriteHonoursContext(t *testing.T) {
	s := startWSServer(t)
	c := dialTest(t, s.url)
	srv := s.accept(t)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Write(done, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a done ctx: %v", err)
	}
	// The server never reads: writes fill the socket buffers and then time
	// out at ctx's deadline.
	ctx, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	big := make([]byte, 1<<20)
	var err error
	for range 256 {
		if err = c.Write(ctx, big); err != nil {
			break
		}
	}
	if err == nil {
		t.Fatal("256 MiB written to a peer that does not read")
	}
	_ = srv
}

func TestWebSocketDialErrors(t *testing.T) {
	s := startWSServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), wsTestTimeout)
	defer cancel()
	_, err := DialWebSocket(ctx, strings.TrimSuffix(s.url, "/announce")+"/refuse")
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("refused handshake: %v", err)
	}
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if _, err := DialWebSocket(done, s.url); err == nil {
		t.Error("dial with a done ctx succeeded")
	}
	if _, err := DialWebSocket(ctx, "ws://127.0.0.1:1/announce"); err == nil {
		t.Error("dial to a closed port succeeded")
	}
}
