package peerwire

import "io"

// Chunker splits one response body into the Chunks that answer a Request:
// consecutive, in order, each carrying MaxChunkSize bytes except the last
// (and a single empty chunk for an empty body).
//
// The caller pulls chunks with Next, encodes and sends each, and applies
// backpressure between calls: stop while the channel's bufferedAmount is
// above HighWaterMark and continue on the bufferedamountlow event, with the
// threshold set to LowWaterMark. Pulling, rather than pushing, lets a
// browser engine resume from that event without a blocked goroutine.
//
// A Chunker is not safe for concurrent use.
type Chunker struct {
	body    []byte      // source for NewChunker
	src     io.ReaderAt // source for NewChunkerAt
	scratch []byte      // read buffer for src, allocated on first use
	total   uint32
	next    uint32 // offset of the next chunk
	done    bool
	chunk   Chunk // returned by Next, reused
}

// NewChunker returns a Chunker over body, answering request id. It returns
// ErrTooLarge if body is longer than MaxSegmentSize. The chunks alias body,
// which must not change until the last one is encoded.
func NewChunker(id ReqID, body []byte) (*Chunker, error) {
	if len(body) > MaxSegmentSize {
		return nil, wrap(ErrTooLarge, "NewChunker: "+itoa(len(body))+" bytes")
	}
	return &Chunker{body: body, total: uint32(len(body)), chunk: Chunk{ReqID: id, Total: uint32(len(body))}}, nil
}

// NewChunkerAt returns a Chunker over the first total bytes of src,
// answering request id; it reads each chunk with one ReadAt. It returns
// ErrTooLarge if total is negative or larger than MaxSegmentSize, and
// ErrNilSource if src is nil.
func NewChunkerAt(id ReqID, src io.ReaderAt, total int64) (*Chunker, error) {
	if total < 0 || total > MaxSegmentSize {
		return nil, wrap(ErrTooLarge, "NewChunkerAt: total "+itoa(uint64(total)))
	}
	if src == nil {
		return nil, ErrNilSource
	}
	return &Chunker{src: src, total: uint32(total), chunk: Chunk{ReqID: id, Total: uint32(total)}}, nil
}

// Next returns the next chunk, or io.EOF after the last one. The returned
// Chunk, and its Data, are valid until the following call to Next; encode
// it before then. A read error from the source is returned as is (a short
// read as io.ErrUnexpectedEOF), leaves the Chunker where it was, and may be
// retried.
func (c *Chunker) Next() (*Chunk, error) {
	if c.done {
		return nil, io.EOF
	}
	n := min(c.total-c.next, MaxChunkSize)
	var data []byte
	switch {
	case n == 0:
		// Only an empty body gets here: one empty chunk.
	case c.src == nil:
		data = c.body[c.next : c.next+n : c.next+n]
	default:
		if c.scratch == nil {
			c.scratch = make([]byte, min(c.total, MaxChunkSize))
		}
		data = c.scratch[:n]
		got, err := c.src.ReadAt(data, int64(c.next))
		if got < len(data) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, wrap(err, "Chunker: read "+itoa(got)+" of "+itoa(n)+" bytes at "+itoa(c.next))
		}
		// A full read may come with io.EOF at the end of src; that is fine.
	}
	c.chunk.Offset, c.chunk.Data = c.next, data
	c.next += n
	c.done = c.next == c.total
	return &c.chunk, nil
}

// Done reports whether Next has returned the last chunk.
func (c *Chunker) Done() bool { return c.done }

// Remaining returns the number of body bytes not yet returned by Next.
func (c *Chunker) Remaining() int { return int(c.total - c.next) }
