//go:build js && wasm

package main

import (
	"context"
	"sync"
	"syscall/js"

	"github.com/nearcast/nearcast/engine/tracker"
)

// The tracker connection: a tracker.Conn over the page's WebSocket
// (RFC 6455), carrying text messages.

// Bounds of a tracker WebSocket.
const (
	// wsQueue bounds the messages received and not yet read. The tracker
	// client reads continuously; a connection whose reader falls this far
	// behind fails with ErrOverflow, and the client reconnects.
	wsQueue = 256
	// wsMaxBuffered bounds the bytes a connection may have queued for
	// sending (WebSocket.bufferedAmount): beyond it, writes are not
	// completing and Write fails, so the client reconnects.
	wsMaxBuffered = 4 << 20
)

// wsConn implements tracker.Conn on a browser WebSocket.
type wsConn struct {
	ws       js.Value
	recv     chan []byte
	opened   chan struct{}
	done     chan struct{}
	openOnce sync.Once
	dieOnce  sync.Once

	mu   sync.Mutex
	why  error
	ids  []int
	torn bool
}

var _ tracker.Conn = (*wsConn)(nil)

// dialWebSocket opens a WebSocket to url; it is the browser tracker.Dial.
// It returns once the connection is open, fails, or ctx is done.
func dialWebSocket(ctx context.Context, url string) (tracker.Conn, error) {
	ctor := js.Global().Get("WebSocket")
	if ctor.Type() != js.TypeFunction {
		return nil, wrap(ErrUnsupported, "no WebSocket")
	}
	ws, err := construct(ctor, url)
	if err != nil {
		return nil, wrapCause(ErrWebSocket, "open "+url, err)
	}
	c := &wsConn{
		ws:     ws,
		recv:   make(chan []byte, wsQueue),
		opened: make(chan struct{}),
		done:   make(chan struct{}),
	}
	ws.Set("binaryType", "arraybuffer")
	c.handle("onopen", func(js.Value) { c.openOnce.Do(func() { close(c.opened) }) })
	c.handle("onmessage", c.onMessage)
	c.handle("onerror", func(js.Value) { c.die(wrap(ErrWebSocket, "error event")) })
	c.handle("onclose", func(ev js.Value) {
		code := ev.Get("code")
		detail := "closed"
		if code.Type() == js.TypeNumber {
			detail += " with code " + itoa(code.Int())
		}
		c.die(wrap(ErrWebSocket, detail))
	})
	select {
	case <-c.opened:
		return c, nil
	case <-c.done:
		_ = c.Close()
		return nil, wrapCause(ErrWebSocket, "open "+url, c.reason())
	case <-ctx.Done():
		_ = c.Close()
		return nil, ctx.Err()
	}
}

var _ tracker.Dial = dialWebSocket

func (c *wsConn) handle(prop string, f func(ev js.Value)) {
	id, fn := callback(func(args []js.Value) { f(arg(args, 0)) })
	c.mu.Lock()
	c.ids = append(c.ids, id)
	c.mu.Unlock()
	c.ws.Set(prop, fn)
}

// onMessage queues one message without blocking.
func (c *wsConn) onMessage(ev js.Value) {
	b := bytesFromJS(ev.Get("data"))
	if len(b) > tracker.MaxMessageSize {
		c.die(wrap(tracker.ErrTooLarge, "incoming message"))
		return
	}
	select {
	case c.recv <- b:
	default:
		c.die(wrap(ErrOverflow, "tracker reader fell behind"))
	}
}

func (c *wsConn) die(why error) {
	c.dieOnce.Do(func() {
		c.mu.Lock()
		c.why = why
		c.mu.Unlock()
		close(c.done)
	})
}

func (c *wsConn) reason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.why
}

// Write sends msg as one text message. The browser queues it; Write fails
// when the connection is closed or when too much is queued already.
func (c *wsConn) Write(ctx context.Context, msg []byte) error {
	select {
	case <-c.done:
		return c.reason()
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.ws.Get("bufferedAmount").Int() > wsMaxBuffered {
		err := wrap(ErrOverflow, "tracker writes are not completing")
		c.die(err)
		return err
	}
	if _, err := call(c.ws, "send", string(msg)); err != nil {
		err = wrapCause(ErrWebSocket, "send", err)
		c.die(err)
		return err
	}
	return nil
}

// Read returns the next message, or fails once the connection is closed
// (after the messages received before) or ctx is done.
func (c *wsConn) Read(ctx context.Context) ([]byte, error) {
	select {
	case m := <-c.recv:
		return m, nil
	default:
	}
	select {
	case m := <-c.recv:
		return m, nil
	case <-c.done:
		return nil, c.reason()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close closes the WebSocket (1000, normal closure) and removes its
// handlers. Idempotent.
func (c *wsConn) Close() error {
	c.die(wrap(ErrWebSocket, "closed locally"))
	c.mu.Lock()
	if c.torn {
		c.mu.Unlock()
		return nil
	}
	c.torn = true
	ids := c.ids
	c.ids = nil
	c.mu.Unlock()
	for _, p := range []string{"onopen", "onmessage", "onerror", "onclose"} {
		c.ws.Set(p, js.Null())
	}
	forget(ids...)
	_, _ = call(c.ws, "close", 1000)
	return nil
}
