//go:build linux

package signaling

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// poller waits for input on every idle connection at once with one epoll
// instance, so an idle connection costs no goroutine and no stack. An event
// wakes the connection (conn.wakeUp), which reads on a worker until the
// socket has nothing more.
//
// The epoll descriptor is itself registered with Go's network poller, so
// the poller's goroutine parks like any network read instead of holding an
// OS thread in epoll_wait. The instance exists only while connections are
// registered; the last removal closes it, which ends the goroutine.
type poller struct {
	mu    sync.Mutex
	file  *os.File // the epoll instance; nil while no connection is registered
	epfd  atomic.Int32
	conns map[int32]*conn // by file descriptor
}

func newPoller() *poller { return &poller{conns: make(map[int32]*conn)} }

// pollEvents asks for edge-triggered input and hang-up reports: a
// connection is reported once per arrival of data, and the reader, which
// reads until the socket would block, needs no rearming system call.
const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET

// epollET is EPOLLET as an unsigned event bit (syscall declares it negative).
const epollET = 1 << 31

// add registers c and reports whether it did; a connection whose socket
// has no file descriptor is not registered and reads on its own goroutine.
func (p *poller) add(c *conn) bool {
	if c.gate.raw == nil {
		return false
	}
	fd := -1
	if err := c.gate.raw.Control(func(s uintptr) { fd = int(s) }); err != nil || fd < 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.file == nil {
		if err := p.open(); err != nil {
			return false
		}
	}
	c.fd = fd
	p.conns[int32(fd)] = c
	ev := syscall.EpollEvent{Events: pollEvents, Fd: int32(fd), Pad: int32(c.token)}
	if err := syscall.EpollCtl(int(p.epfd.Load()), syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		delete(p.conns, int32(fd))
		c.fd = -1
		p.closeIfEmpty()
		return false
	}
	return true
}

// open creates the epoll instance and starts its goroutine. p.mu is held.
func (p *poller) open() error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		_ = syscall.Close(epfd)
		return err
	}
	f := os.NewFile(uintptr(epfd), "epoll")
	raw, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return err
	}
	p.file = f
	p.epfd.Store(int32(epfd))
	go p.loop(raw, epfd)
	return nil
}

// closeIfEmpty closes the epoll instance when nothing is registered. p.mu
// is held.
func (p *poller) closeIfEmpty() {
	if len(p.conns) == 0 && p.file != nil {
		_ = p.file.Close()
		p.file = nil
		p.epfd.Store(-1)
	}
}

// remove unregisters c for good. finish calls it, once.
func (p *poller) remove(c *conn) {
	if c.fd < 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns[int32(c.fd)] == c {
		_ = syscall.EpollCtl(int(p.epfd.Load()), syscall.EPOLL_CTL_DEL, c.fd, nil)
		delete(p.conns, int32(c.fd))
	}
	p.closeIfEmpty()
}

// loop dispatches input events until the epoll instance is closed.
func (p *poller) loop(raw syscall.RawConn, epfd int) {
	events := make([]syscall.EpollEvent, 256)
	ready := make([]*conn, 0, len(events))
	for {
		var n int
		var werr error
		err := raw.Read(func(uintptr) bool {
			n, werr = syscall.EpollWait(epfd, events, 0)
			if werr == syscall.EINTR {
				n, werr = 0, nil
				return true
			}
			return n > 0 || werr != nil // nothing ready: wait for the descriptor
		})
		if err != nil || werr != nil {
			return // closed: the last connection is gone
		}
		p.mu.Lock()
		for _, ev := range events[:n] {
			if c := p.conns[ev.Fd]; c != nil && int32(c.token) == ev.Pad {
				ready = append(ready, c)
			}
		}
		p.mu.Unlock()
		for i, c := range ready {
			c.wakeUp()
			ready[i] = nil
		}
		ready = ready[:0]
	}
}

// pollable returns the raw socket of nc when the poller can wait on it.
func pollable(nc net.Conn) syscall.RawConn {
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			return raw
		}
	}
	return nil
}

// readNow reads what the socket holds without waiting for more.
func (g *frameGate) readNow(p []byte) (int, error) {
	if g.readFn == nil {
		g.readFn = g.rawRead // bound once: a closure per call allocated
	}
	g.rio.p = p
	err := g.raw.Read(g.readFn)
	n, rerr := g.rio.n, g.rio.err
	g.rio = rawIO{}
	switch {
	case err != nil:
		return 0, err
	case rerr == syscall.EAGAIN || rerr == syscall.EINTR:
		return 0, errWouldBlock
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (g *frameGate) rawRead(fd uintptr) bool {
	g.rio.n, g.rio.err = syscall.Read(int(fd), g.rio.p)
	return true
}

func (g *frameGate) rawWrite(fd uintptr) bool {
	g.wio.n, g.wio.err = syscall.Write(int(fd), g.wio.p)
	return true
}

// writeAvailable writes as much of b as the socket takes without waiting
// and returns how much that was.
func (g *frameGate) writeAvailable(b []byte) int {
	if g.writeFn == nil {
		g.writeFn = g.rawWrite
	}
	g.wio.p = b
	err := g.raw.Write(g.writeFn)
	n := g.wio.n
	g.wio = rawIO{}
	if err != nil || n < 0 {
		return 0 // a past deadline, or EAGAIN: the writer takes over
	}
	return n
}
