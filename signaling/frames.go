package signaling

import "sync"

// Outgoing frames are built in buffers from framePool and go back to it
// once the writer has copied them into its batch: relay frames were 70 %
// of the bytes the server allocated under load, and the garbage collector
// a tenth of its time. A frame belongs to the one queue it was delivered
// to; one that is never written is left to the collector.
var framePool sync.Pool

// frameSize is the capacity of a pooled frame: an offer or answer with a
// typical SDP fits.
const frameSize = 2 << 10

// newFrame returns an empty buffer for an outgoing frame.
func newFrame() []byte {
	if p, ok := framePool.Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return make([]byte, 0, frameSize)
}

// freeFrame returns a written frame's buffer to the pool.
func freeFrame(b []byte) {
	if cap(b) < frameSize || cap(b) > 16*frameSize {
		return
	}
	b = b[:0]
	framePool.Put(&b)
}
