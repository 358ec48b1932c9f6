//go:build !linux

package signaling

import (
	"net"
	"syscall"
)

// poller is the portable stand-in for the epoll poller of poll_linux.go:
// it registers nothing, so every connection reads on a goroutine of its own.
type poller struct{}

func newPoller() *poller { return &poller{} }

func (*poller) add(*conn) bool { return false }
func (*poller) remove(*conn)   {}

// pollable returns nil: without the poller every read may block.
func pollable(net.Conn) syscall.RawConn { return nil }

// readNow is never called without a raw socket.
func (g *frameGate) readNow(p []byte) (int, error) { return g.Conn.Read(p) }

// writeAvailable is never called without a raw socket.
func (g *frameGate) writeAvailable([]byte) int { return 0 }
