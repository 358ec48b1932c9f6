//go:build linux

package main

import (
	"errors"
	"sync"
	"sync/atomic"
)

// frame is one packet waiting in a direction's delay line: the bytes read
// from the packet socket (virtio_net_hdr + Ethernet frame) and the time
// (monotonic ns) at which it may leave.
type frame struct {
	due  int64
	data []byte
}

// errQueueFull is returned by push when a frame does not fit.
var errQueueFull = errors.New("queue full")

// queue is a bounded FIFO of frames with a limit on both the number of
// frames and their total size. push never blocks (a frame that does not fit
// is refused and the caller counts a drop); pop blocks until a frame is
// there or the queue is closed. One reader and one writer goroutine use it.
//
// Because every frame of a direction gets the same delay and frames are
// pushed in arrival order, due times in the queue never decrease: the
// writer only ever has to wait for the head.
type queue struct {
	mu       sync.Mutex
	ring     []frame
	head, n  int
	bytes    int
	maxBytes int
	closed   bool
	wake     chan struct{} // capacity 1: "something changed"
}

func newQueue(maxFrames, maxBytes int) *queue {
	if maxFrames < 1 {
		maxFrames = 1
	}
	return &queue{ring: make([]frame, maxFrames), maxBytes: maxBytes, wake: make(chan struct{}, 1)}
}

// push appends f, or returns errQueueFull (frame or byte limit reached) or
// errClosed when the queue was closed.
func (q *queue) push(f frame) error {
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return errClosed
	case q.n == len(q.ring), q.bytes+len(f.data) > q.maxBytes:
		q.mu.Unlock()
		return errQueueFull
	}
	q.ring[(q.head+q.n)%len(q.ring)] = f
	q.n++
	q.bytes += len(f.data)
	q.mu.Unlock()
	q.signal()
	return nil
}

var errClosed = errors.New("queue closed")

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop removes and returns the oldest frame, waiting for one if the queue
// is empty. ok is false once the queue is closed (queued frames are then
// left for len to count).
func (q *queue) pop() (f frame, ok bool) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return frame{}, false
		}
		if q.n > 0 {
			f = q.ring[q.head]
			q.ring[q.head] = frame{}
			q.head = (q.head + 1) % len(q.ring)
			q.n--
			q.bytes -= len(f.data)
			q.mu.Unlock()
			return f, true
		}
		q.mu.Unlock()
		<-q.wake
	}
}

// close wakes pop, which then returns ok=false.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// len returns the number of frames and bytes queued.
func (q *queue) len() (frames, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n, q.bytes
}

// clock is the time source of the delay line: monotonic nanoseconds, and a
// precise absolute sleep. The real one is in clock_linux.go; tests use a
// fake.
type clock interface {
	now() int64
	sleepUntil(t int64)
}

// stats counts one direction. All fields are updated atomically: the reader
// and writer goroutines update them and main prints them at exit.
type stats struct {
	rxFrames, rxBytes, rxGSO      atomic.Uint64
	txFrames, txBytes             atomic.Uint64
	queueDrops, truncDrops        atomic.Uint64
	rxErrors, txErrors            atomic.Uint64
	lateSumNs, lateMaxNs, lateGt1 atomic.Int64
}

func (s *stats) recordLate(late int64) {
	if late < 0 {
		late = 0
	}
	s.lateSumNs.Add(late)
	for {
		m := s.lateMaxNs.Load()
		if late <= m || s.lateMaxNs.CompareAndSwap(m, late) {
			break
		}
	}
	if late > 1e6 {
		s.lateGt1.Add(1)
	}
}

// vnetHdrLen is sizeof(struct virtio_net_hdr), which PACKET_VNET_HDR puts
// in front of every frame read from and written to the packet socket.
const vnetHdrLen = 10

// accept is the reader's side of the delay line: data (vnet header +
// frame, already copied) was received at time now; it is queued to leave
// at now+delay, or counted as a drop.
func accept(q *queue, st *stats, data []byte, now, delay int64) {
	st.rxFrames.Add(1)
	st.rxBytes.Add(uint64(len(data) - vnetHdrLen))
	if data[1] != 0 { // virtio_net_hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE
		st.rxGSO.Add(1)
	}
	if err := q.push(frame{due: now + delay, data: data}); err != nil {
		st.queueDrops.Add(1)
	}
}

// forward is the writer's side: it takes frames in order, holds each one
// until its due time and sends it. It returns when the queue is closed.
func forward(q *queue, clk clock, st *stats, send func([]byte) error) {
	for {
		f, ok := q.pop()
		if !ok {
			return
		}
		if clk.now() < f.due {
			clk.sleepUntil(f.due)
		}
		st.recordLate(clk.now() - f.due)
		if err := send(f.data); err != nil {
			st.txErrors.Add(1)
			continue
		}
		st.txFrames.Add(1)
		st.txBytes.Add(uint64(len(f.data) - vnetHdrLen))
	}
}
