package peerwire

// Assembler limits.
const (
	// MaxOutstanding is the largest number of requests an Assembler tracks
	// at once; Expect returns ErrTooManyRequests beyond it.
	MaxOutstanding = 32
	// CancelGrace is how many recently cancelled or failed request IDs an
	// Assembler remembers, so that chunks already in flight when the request
	// was cancelled are dropped instead of reported as unsolicited.
	CancelGrace = 64
)

// Assembler validates and reassembles the responses to the requests one
// side sent over one data channel. Call Expect before sending each Request,
// hand every received Chunk to Add, and call Cancel when a request is
// cancelled, rejected or times out.
//
// Add enforces the protocol: a chunk must answer an outstanding request
// (else ErrUnsolicited), start where the previous one ended (ErrOutOfOrder),
// keep the Total of the first chunk (ErrTotalMismatch), declare a Total no
// larger than the expected maximum (ErrTooLarge) and stay within it
// (ErrOverflow). An error on an outstanding request ends that request; the
// caller should send Cancel and may penalise or drop the peer.
//
// Memory: the body buffer is allocated once, with the Total declared by the
// first chunk, which is at most the maxLen passed to Expect. The worst case
// is therefore the sum of maxLen over outstanding requests; pass the
// expected size of the segment or range, not MaxSegmentSize, when known.
//
// The zero value is ready to use. An Assembler is not safe for concurrent
// use: it belongs to the goroutine that reads the channel.
type Assembler struct {
	reqs []inflight // outstanding requests, unordered, at most MaxOutstanding

	grace     [CancelGrace]ReqID // ring of recently cancelled IDs
	graceLen  int                // valid entries in grace
	graceNext int                // next slot to overwrite
}

type inflight struct {
	id      ReqID
	max     uint32 // largest acceptable Total
	total   uint32 // Total declared by the first chunk
	started bool   // a first chunk arrived; buf and total are set
	buf     []byte // len = bytes received, cap = total
}

// Expect registers request id, whose response body may be at most maxLen
// bytes long (values above MaxSegmentSize mean MaxSegmentSize). Call it
// before sending the Request. It returns ErrDuplicateRequest if id is
// outstanding or among the last CancelGrace cancelled IDs, and
// ErrTooManyRequests if MaxOutstanding requests are outstanding.
func (a *Assembler) Expect(id ReqID, maxLen uint32) error {
	if a.find(id) >= 0 {
		return wrap(ErrDuplicateRequest, "request "+itoa(id)+" is outstanding")
	}
	if a.inGrace(id) {
		return wrap(ErrDuplicateRequest, "request "+itoa(id)+" was cancelled recently")
	}
	if len(a.reqs) >= MaxOutstanding {
		return wrap(ErrTooManyRequests, "request "+itoa(id)+": "+itoa(len(a.reqs))+" outstanding")
	}
	if a.reqs == nil {
		a.reqs = make([]inflight, 0, MaxOutstanding)
	}
	a.reqs = append(a.reqs, inflight{id: id, max: min(maxLen, MaxSegmentSize)})
	return nil
}

// Add accepts one received chunk. When the chunk completes its response, Add
// forgets the request and returns the whole body with done set; the caller
// owns the body (the Assembler keeps no reference). Otherwise body is nil.
// Add copies c.Data, so c may alias a buffer the caller reuses.
//
// A chunk of a request cancelled recently (see CancelGrace) is dropped:
// Add returns nil, false, nil. Any error is a protocol violation by the
// sender; if c.ReqID was outstanding, the request is forgotten and its late
// chunks will be dropped like those of a cancelled request.
func (a *Assembler) Add(c *Chunk) (body []byte, done bool, err error) {
	if c == nil {
		return nil, false, ErrNilMessage
	}
	i := a.find(c.ReqID)
	if err := c.validate(); err != nil {
		if i >= 0 {
			a.remove(i, true)
		}
		return nil, false, err
	}
	if i < 0 {
		if a.inGrace(c.ReqID) {
			return nil, false, nil
		}
		return nil, false, wrap(ErrUnsolicited, "request "+itoa(c.ReqID))
	}
	r := &a.reqs[i]
	if !r.started {
		if c.Total > r.max {
			a.remove(i, true)
			return nil, false, wrap(ErrTooLarge, "request "+itoa(c.ReqID)+": total "+itoa(c.Total)+" > expected "+itoa(r.max))
		}
		r.started, r.total = true, c.Total
		r.buf = make([]byte, 0, c.Total)
	} else if c.Total != r.total {
		a.remove(i, true)
		return nil, false, wrap(ErrTotalMismatch, "request "+itoa(c.ReqID)+": total "+itoa(c.Total)+" after "+itoa(r.total))
	}
	if c.Offset != uint32(len(r.buf)) {
		got := len(r.buf)
		a.remove(i, true)
		return nil, false, wrap(ErrOutOfOrder, "request "+itoa(c.ReqID)+": offset "+itoa(c.Offset)+", expected "+itoa(got))
	}
	// c.validate guarantees Offset+len(Data) <= Total = cap(buf), so this
	// append never reallocates.
	r.buf = append(r.buf, c.Data...)
	if uint32(len(r.buf)) < r.total {
		return nil, false, nil
	}
	body = r.buf
	a.remove(i, false)
	return body, true, nil
}

// Cancel forgets request id, dropping any partial body, and reports whether
// it was outstanding. Chunks of it that arrive later are dropped silently
// as long as id is among the last CancelGrace cancelled IDs. Call it when
// sending a Cancel, on receiving a Reject, and on timeout.
func (a *Assembler) Cancel(id ReqID) bool {
	i := a.find(id)
	if i < 0 {
		return false
	}
	a.remove(i, true)
	return true
}

// Take ends request id like Cancel, but hands over the part of its body
// received so far (the caller owns it) and the declared total (zero before
// the first chunk), with ok false if id was not outstanding. A receiver
// that gives up on a slow sender keeps what arrived and fetches only the
// rest elsewhere.
func (a *Assembler) Take(id ReqID) (body []byte, total uint32, ok bool) {
	i := a.find(id)
	if i < 0 {
		return nil, 0, false
	}
	body, total = a.reqs[i].buf, a.reqs[i].total
	a.remove(i, true)
	return body, total, true
}

// Progress returns how many bytes of request id's body arrived and the
// declared total (zero until the first chunk), and whether id is
// outstanding.
func (a *Assembler) Progress(id ReqID) (received, total uint32, ok bool) {
	i := a.find(id)
	if i < 0 {
		return 0, 0, false
	}
	r := &a.reqs[i]
	return uint32(len(r.buf)), r.total, true
}

// Outstanding returns the number of outstanding requests.
func (a *Assembler) Outstanding() int { return len(a.reqs) }

// Reset forgets all requests and the cancelled IDs, for example when the
// channel closes.
func (a *Assembler) Reset() {
	clear(a.reqs)
	a.reqs = a.reqs[:0]
	a.graceLen, a.graceNext = 0, 0
}

func (a *Assembler) find(id ReqID) int {
	for i := range a.reqs {
		if a.reqs[i].id == id {
			return i
		}
	}
	return -1
}

// remove drops request i, remembering its ID as cancelled if grace is set.
func (a *Assembler) remove(i int, grace bool) {
	id := a.reqs[i].id
	last := len(a.reqs) - 1
	a.reqs[i] = a.reqs[last]
	a.reqs[last] = inflight{} // release the buffer
	a.reqs = a.reqs[:last]
	if grace {
		a.grace[a.graceNext] = id
		a.graceNext = (a.graceNext + 1) % CancelGrace
		a.graceLen = min(a.graceLen+1, CancelGrace)
	}
}

func (a *Assembler) inGrace(id ReqID) bool {
	for _, g := range a.grace[:a.graceLen] {
		if g == id {
			return true
		}
	}
	return false
}
