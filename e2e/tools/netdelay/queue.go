//go:build linux

package main

import (
	"errors"
	"sync/atomic"
)

// errQueueFull is returned by push when a frame does not fit.
var errQueueFull = errors.New("queue full")

// slot describes one frame waiting in a delay line: where its bytes
// (virtio_net_hdr + Ethernet frame) are in the line's arena, and the time
// (monotonic ns) at which it may leave.
type slot struct {
	due int64
	off int
	n   int
}

// line is one direction's delay line: a bounded FIFO of frames with a limit
// on both the number of frames and their total size. The frames' bytes are
// copied into one byte arena used as a ring (each frame contiguous; a frame
// that does not fit before the arena's end starts again at its beginning),
// so queuing a frame allocates nothing. The arena starts small and grows
// (by copying the queued frames into a bigger one) up to maxBytes plus one
// largest frame, which is enough for any set of frames within the byte
// limit. push never blocks: a frame that does not fit is refused and the
// caller counts a drop.
//
// A line is used by one goroutine only (the relay's event loop), so it has
// no lock.
//
// Because every frame of a direction gets the same delay and frames are
// pushed in arrival order, due times in the line never decrease: only the
// head has to be watched.
type line struct {
	slots    []slot // ring of len maxFrames
	head, n  int
	arena    []byte
	wr       int // arena offset where the next frame goes
	bytes    int
	maxBytes int
	maxArena int
}

// initialArena is the arena's first size (it grows on demand): 1 MiB holds
// 20 ms of ~400 Mbit/s.
const initialArena = 1 << 20

func newLine(maxFrames, maxBytes int) *line {
	if maxFrames < 1 {
		maxFrames = 1
	}
	l := &line{slots: make([]slot, maxFrames), maxBytes: maxBytes, maxArena: maxBytes + readBufLen}
	l.arena = make([]byte, min(initialArena, l.maxArena))
	return l
}

// push copies data into the line, due at due, or returns errQueueFull
// (frame or byte limit reached).
func (l *line) push(data []byte, due int64) error {
	n := len(data)
	if l.n == len(l.slots) || l.bytes+n > l.maxBytes {
		return errQueueFull
	}
	off, ok := l.place(n)
	if !ok {
		l.grow(n)
		if off, ok = l.place(n); !ok {
			return errQueueFull // cannot happen, see line
		}
	}
	copy(l.arena[off:off+n], data)
	l.slots[(l.head+l.n)%len(l.slots)] = slot{due: due, off: off, n: n}
	l.n++
	l.bytes += n
	l.wr = off + n
	return nil
}

// place returns where a frame of n bytes fits in the arena.
func (l *line) place(n int) (int, bool) {
	if l.n == 0 {
		return 0, n <= len(l.arena)
	}
	rd := l.slots[l.head].off
	if l.wr > rd { // queued bytes are [rd, wr): free at the end, then before rd
		if l.wr+n <= len(l.arena) {
			return l.wr, true
		}
		return 0, n <= rd
	}
	// Wrapped: queued bytes are [rd, end of the last frame before the
	// wrap) and [0, wr); free is [wr, rd).
	return l.wr, l.wr+n <= rd
}

// grow moves the queued frames, in order, to the start of a bigger arena
// with room for at least n more bytes.
func (l *line) grow(n int) {
	size := max(2*len(l.arena), l.bytes+n)
	size = min(max(size, l.bytes+n), max(l.maxArena, l.bytes+n))
	a := make([]byte, size)
	off := 0
	for i := 0; i < l.n; i++ {
		s := &l.slots[(l.head+i)%len(l.slots)]
		copy(a[off:], l.arena[s.off:s.off+s.n])
		s.off = off
		off += s.n
	}
	l.arena, l.wr = a, off
}

// peek returns the i-th oldest frame (i < len) and its due time. The bytes
// are valid until the frame is popped.
func (l *line) peek(i int) ([]byte, int64) {
	s := l.slots[(l.head+i)%len(l.slots)]
	return l.arena[s.off : s.off+s.n : s.off+s.n], s.due
}

// pop removes the k oldest frames.
func (l *line) pop(k int) {
	for ; k > 0 && l.n > 0; k-- {
		l.bytes -= l.slots[l.head].n
		l.slots[l.head] = slot{}
		l.head = (l.head + 1) % len(l.slots)
		l.n--
	}
}

// len returns the number of frames and bytes queued.
func (l *line) len() (frames, bytes int) { return l.n, l.bytes }

// clock is the time source of the delay line: monotonic nanoseconds, and a
// precise absolute sleep. The real one is monoClock in main.go; tests use a
// fake.
type clock interface {
	now() int64
	sleepUntil(t int64)
}

// stats counts one direction. All fields are atomic: the event loop updates
// them and main prints them at exit.
type stats struct {
	rxFrames, rxBytes, rxGSO      atomic.Uint64
	txFrames, txBytes             atomic.Uint64
	queueDrops, truncDrops        atomic.Uint64
	rxErrors, txErrors            atomic.Uint64
	lateSumNs, lateMaxNs, lateGt1 atomic.Int64
}

// recordLate counts a frame that left late ns after its due time.
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

// accept is the receiving side of the delay line: data (vnet header +
// frame) was received at time now; it is copied into l to leave at
// now+delay, or counted as a drop.
func accept(l *line, st *stats, data []byte, now, delay int64) {
	st.rxFrames.Add(1)
	st.rxBytes.Add(uint64(len(data) - vnetHdrLen))
	if data[1] != 0 { // virtio_net_hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE
		st.rxGSO.Add(1)
	}
	if err := l.push(data, now+delay); err != nil {
		st.queueDrops.Add(1)
	}
}

// maxSendBatch is the most frames handed to one send call.
const maxSendBatch = 64

// sendFunc sends frames in order, as many as it can: it returns how many
// were sent and, if that is fewer than len(frames), the error of the first
// one not sent.
type sendFunc func(frames [][]byte) (int, error)

// sendDue is the sending side of the delay line: it sends, in order and in
// batches, every frame of l that is due at now, counts them, and returns
// the due time of the next frame (ok=false if l is empty). A frame that
// fails to send is counted as an error and dropped.
func sendDue(l *line, st *stats, now int64, batch [][]byte, send sendFunc) (next int64, ok bool) {
	for l.n > 0 {
		k := 0
		var bytes uint64
		for k < len(batch) && k < l.n {
			p, due := l.peek(k)
			if due > now {
				break
			}
			batch[k] = p
			bytes += uint64(len(p) - vnetHdrLen)
			// All frames of a batch leave now; the lateness of each is
			// measured from its own due time.
			st.recordLate(now - due)
			k++
		}
		if k == 0 {
			break
		}
		done, errs := 0, 0
		for done < k {
			m, err := send(batch[done:k])
			done += max(m, 0)
			if done < k && (err != nil || m <= 0) {
				// The frame at done failed (or the sender made no
				// progress): count it as an error and go on with
				// the next.
				errs++
				bytes -= uint64(len(batch[done]) - vnetHdrLen)
				done++
			}
		}
		if errs > 0 {
			st.txErrors.Add(uint64(errs))
		}
		st.txFrames.Add(uint64(k - errs))
		st.txBytes.Add(bytes)
		clear(batch[:k])
		l.pop(k)
	}
	if l.n == 0 {
		return 0, false
	}
	_, due := l.peek(0)
	return due, true
}
