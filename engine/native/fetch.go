//go:build !js

package native

import (
	"context"
	"errors"
	"fmt"
	"github.com/nearcast/nearcast/internal/httprange"
	"io"
	"net/http"
	"time"

	"github.com/nearcast/nearcast/engine"
)

// DefaultMaxBodySize is the largest body a Fetcher reads unless
// WithMaxBodySize says otherwise. It matches peerwire.MaxSegmentSize: a
// segment the engine could not serve to peers is not worth fetching.
const DefaultMaxBodySize = 64 << 20

// Timeouts of the client NewFetcher builds when given none.
const (
	defaultFetchTimeout     = time.Minute      // whole request, body included
	defaultHeaderTimeout    = 15 * time.Second // until the response headers
	defaultIdleConnsPerHost = 8
)

// errorBodyDrain is how much of an error response's body Fetch reads so
// that the connection can be reused.
const errorBodyDrain = 4 << 10

// FetchOption configures a Fetcher.
type FetchOption func(*fetchConfig) error

type fetchConfig struct {
	maxBody int64
}

// WithMaxBodySize sets the largest response body, or requested range, a
// Fetcher accepts (default DefaultMaxBodySize); larger ones fail with
// ErrTooLarge without being read past the limit.
func WithMaxBodySize(n int64) FetchOption {
	return func(c *fetchConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: max body size %d", ErrInvalidOption, n)
		}
		c.maxBody = n
		return nil
	}
}

// Fetcher implements engine.Fetcher with net/http: one GET per request,
// with a Range header (RFC 9110, section 14) for a byte range. It is safe
// for concurrent use.
type Fetcher struct {
	client  *http.Client
	maxBody int64
}

var _ engine.Fetcher = (*Fetcher)(nil)

// NewFetcher returns a Fetcher that sends its requests with client. A nil
// client means a client of its own whose requests time out after a minute,
// or after 15 seconds without response headers; it follows redirects and
// honours the proxy environment variables like http.DefaultTransport.
func NewFetcher(client *http.Client, opts ...FetchOption) (*Fetcher, error) {
	cfg := fetchConfig{maxBody: DefaultMaxBodySize}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = defaultHeaderTimeout
		tr.MaxIdleConnsPerHost = defaultIdleConnsPerHost
		client = &http.Client{Transport: tr, Timeout: defaultFetchTimeout}
	}
	return &Fetcher{client: client, maxBody: cfg.maxBody}, nil
}

// CloseIdleConnections closes the idle keep-alive connections of the
// Fetcher's client.
func (f *Fetcher) CloseIdleConnections() { f.client.CloseIdleConnections() }

// Fetch gets r.URL, or its byte range [r.Start, r.End) when r.End > 0, and
// returns the bytes. A 206 response must carry exactly the range asked for
// (Content-Range); a 200 response to a range request (a server that ignores
// Range) is cut down to the range, reading at most r.End bytes of it. Any
// other status fails with a *StatusError. Bodies larger than the body
// ceiling fail with ErrTooLarge. Fetch honours ctx while it waits for the
// response and while it reads the body.
func (f *Fetcher) Fetch(ctx context.Context, r engine.FetchRequest) ([]byte, error) {
	ranged := r.End > 0
	switch {
	case r.URL == "":
		return nil, fmt.Errorf("%w: no URL", ErrInvalidRequest)
	case r.Start < 0, ranged && r.End <= r.Start, !ranged && (r.End < 0 || r.Start > 0):
		return nil, fmt.Errorf("%w: range [%d, %d) of %s", ErrInvalidRequest, r.Start, r.End, r.URL)
	case ranged && r.End-r.Start > f.maxBody:
		return nil, fmt.Errorf("%w: range of %d bytes of %s, limit %d", ErrTooLarge, r.End-r.Start, r.URL, f.maxBody)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	if ranged {
		req.Header.Set("Range", httprange.Header(r.Start, r.End))
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("native: fetch: %w", err)
	}
	defer resp.Body.Close()

	var b []byte
	switch {
	case resp.StatusCode == http.StatusOK && !ranged:
		b, err = f.readWhole(resp)
	case resp.StatusCode == http.StatusOK:
		b, err = f.readIgnoredRange(resp, r)
	case resp.StatusCode == http.StatusPartialContent && ranged:
		b, err = readPartial(resp, r)
	case resp.StatusCode == http.StatusPartialContent:
		err = fmt.Errorf("%w: 206 to a request without Range", ErrBadRange)
	default:
		_, _ = io.CopyN(io.Discard, resp.Body, errorBodyDrain)
		return nil, &StatusError{StatusCode: resp.StatusCode, URL: r.URL}
	}
	if err != nil {
		return nil, fmt.Errorf("native: fetch %s: %w", r.URL, err)
	}
	return b, nil
}

// readWhole reads a whole 200 body of at most maxBody bytes.
func (f *Fetcher) readWhole(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > f.maxBody {
		return nil, fmt.Errorf("%w: Content-Length %d, limit %d", ErrTooLarge, resp.ContentLength, f.maxBody)
	}
	if resp.ContentLength >= 0 {
		// net/http fails a body shorter than its Content-Length with
		// io.ErrUnexpectedEOF and never returns more.
		return readExactly(resp.Body, resp.ContentLength)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBody+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > f.maxBody {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, f.maxBody)
	}
	return b, nil
}

// readIgnoredRange cuts [r.Start, r.End) out of a 200 response to a range
// request, reading no more than r.End bytes of it.
func (f *Fetcher) readIgnoredRange(resp *http.Response, r engine.FetchRequest) ([]byte, error) {
	if r.End > f.maxBody {
		return nil, fmt.Errorf("%w: server ignored Range; the range ends at %d, limit %d", ErrTooLarge, r.End, f.maxBody)
	}
	if resp.ContentLength >= 0 && resp.ContentLength < r.End {
		return nil, fmt.Errorf("%w: server ignored Range and sent %d bytes, range ends at %d", ErrBadRange, resp.ContentLength, r.End)
	}
	if n, err := io.CopyN(io.Discard, resp.Body, r.Start); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: server ignored Range and sent %d bytes, range starts at %d", ErrBadRange, n, r.Start)
		}
		return nil, err
	}
	b := make([]byte, r.End-r.Start)
	if n, err := io.ReadFull(resp.Body, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: server ignored Range and sent %d bytes, range ends at %d", ErrBadRange, r.Start+int64(n), r.End)
		}
		return nil, err
	}
	return b, nil
}

// readPartial checks a 206 response against the requested range and reads
// its body, which must be exactly the range.
func readPartial(resp *http.Response, r engine.FetchRequest) ([]byte, error) {
	cr := resp.Header.Get("Content-Range")
	first, last, ok := httprange.ParseContentRange(cr)
	if !ok || first != r.Start || last != r.End-1 {
		return nil, fmt.Errorf("%w: Content-Range %q for bytes %d-%d", ErrBadRange, cr, r.Start, r.End-1)
	}
	n := r.End - r.Start
	if resp.ContentLength >= 0 && resp.ContentLength != n {
		return nil, fmt.Errorf("%w: Content-Length %d for %d bytes", ErrBadRange, resp.ContentLength, n)
	}
	return readExactly(resp.Body, n)
}

// readExactly reads a body that must be exactly n bytes long.
func readExactly(body io.Reader, n int64) ([]byte, error) {
	b := make([]byte, n+1)
	got, err := io.ReadFull(body, b)
	switch {
	case err == nil:
		return nil, fmt.Errorf("%w: body longer than %d bytes", ErrBadRange, n)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		if int64(got) != n {
			return nil, fmt.Errorf("%w: body of %d bytes, want %d", ErrBadRange, got, n)
		}
		return b[:n:n], nil
	default:
		return nil, err
	}
}
