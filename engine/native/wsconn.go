//go:build !js

package native

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nearcast/nearcast/engine/tracker"
)

// Bounds of a tracker WebSocket connection.
const (
	// wsHandshakeTimeout bounds the opening handshake when ctx has no
	// earlier deadline.
	wsHandshakeTimeout = 10 * time.Second
	// wsWriteTimeout bounds a write when ctx has no deadline.
	wsWriteTimeout = 10 * time.Second
	// wsCloseTimeout bounds sending the close frame in Close.
	wsCloseTimeout = time.Second
)

// DialWebSocket opens a WebSocket connection (RFC 6455) to the tracker at
// url (ws:// or wss://) with gorilla/websocket. It is the native
// tracker.Dial. The connection refuses incoming messages larger than
// tracker.MaxMessageSize; it honours HTTP proxy settings from the
// environment.
func DialWebSocket(ctx context.Context, url string) (tracker.Conn, error) {
	d := websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: wsHandshakeTimeout,
	}
	ws, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		if resp != nil {
			// The handshake reached the server, which refused it; gorilla
			// has already read and closed the body.
			return nil, fmt.Errorf("native: websocket handshake with %s: %s: %w", url, resp.Status, err)
		}
		return nil, fmt.Errorf("native: websocket dial %s: %w", url, err)
	}
	ws.SetReadLimit(tracker.MaxMessageSize)
	return &wsConn{ws: ws}, nil
}

var _ tracker.Dial = DialWebSocket

// wsConn is a tracker.Conn on a gorilla/websocket connection. As gorilla
// requires, it has at most one reader and one writer at a time (the
// tracker.Conn contract); Close may run concurrently with both.
type wsConn struct {
	ws *websocket.Conn

	// readErr is the error that ended reading; gorilla's connection cannot
	// be read again after one. Owned by the reader.
	readErr error

	closeOnce sync.Once
	closeErr  error
}

// Write sends msg as one text message. Its deadline is ctx's, or
// wsWriteTimeout from now. Cancelling ctx while the write is under way
// closes the connection, since a partly written frame cannot be resumed.
func (c *wsConn) Write(ctx context.Context, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(wsWriteTimeout)
	}
	_ = c.ws.SetWriteDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = c.ws.NetConn().Close() })
	err := c.ws.WriteMessage(websocket.TextMessage, msg)
	if !stop() && err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Read returns the next text or binary message. It waits until ctx's
// deadline, if any; cancelling ctx interrupts it. Once Read has failed, also
// through ctx, every later Read returns the same error.
func (c *wsConn) Read(ctx context.Context) ([]byte, error) {
	if c.readErr != nil {
		return nil, c.readErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err // nothing was read: the connection is still usable
	}
	dl, _ := ctx.Deadline() // the zero time (no deadline) when there is none
	_ = c.ws.SetReadDeadline(dl)
	// Cancelling ctx moves the deadline to the past, which wakes the read.
	// net.Conn deadlines may be set concurrently with a read.
	stop := context.AfterFunc(ctx, func() { _ = c.ws.NetConn().SetReadDeadline(time.Unix(1, 0)) })
	_, msg, err := c.ws.ReadMessage()
	if !stop() {
		// ctx ended during the read: the deadline may now be in the past,
		// set by a function that may still be running, so reading is over
		// even when this message arrived complete.
		c.readErr = ctx.Err()
		if err != nil {
			return nil, c.readErr
		}
		return msg, nil
	}
	if err != nil {
		c.readErr = err
		return nil, err
	}
	return msg, nil
}

// Close sends a close frame (1000, normal closure) if it can within
// wsCloseTimeout and closes the connection. Later calls return the first
// call's result.
func (c *wsConn) Close() error {
	c.closeOnce.Do(func() {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(wsCloseTimeout))
		c.closeErr = c.ws.Close()
	})
	return c.closeErr
}
