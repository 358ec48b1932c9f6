//go:build js && wasm

package main

import (
	"context"
	"strconv"
	"syscall/js"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/internal/httprange"
	"github.com/nearcast/nearcast/internal/timeout"
)

// The CDN: an engine.Fetcher over the page's fetch(), one GET per request
// with a Range header (RFC 9110, section 14) for a byte range.

// Bounds of a fetch.
const (
	// maxBodySize is the largest body or range the fetcher accepts, like
	// native.DefaultMaxBodySize (peerwire.MaxSegmentSize).
	maxBodySize = 64 << 20
	// fetchTimeout bounds a whole request, body included, when the caller
	// sets no earlier deadline.
	fetchTimeout = time.Minute
)

// jsFetcher implements engine.Fetcher with fetch and AbortController.
type jsFetcher struct {
	fetch js.Value // the global fetch function
}

var _ engine.Fetcher = (*jsFetcher)(nil)

// newFetcher returns a Fetcher on the global fetch, or ErrUnsupported.
func newFetcher() (*jsFetcher, error) {
	f := js.Global().Get("fetch")
	if f.Type() != js.TypeFunction || js.Global().Get("AbortController").Type() != js.TypeFunction {
		return nil, wrap(ErrUnsupported, "no fetch or AbortController")
	}
	return &jsFetcher{fetch: f}, nil
}

// Fetch gets r.URL, or its byte range [r.Start, r.End) when r.End > 0. A
// 206 response must carry exactly the range (Content-Range, when the
// server exposes it, must match); a 200 response to a range request (a
// server that ignores Range) is cut down to the range. Any other status
// fails with ErrHTTPStatus. Cancelling ctx aborts the request.
func (f *jsFetcher) Fetch(ctx context.Context, r engine.FetchRequest) ([]byte, error) {
	ranged := r.End > 0
	switch {
	case r.URL == "":
		return nil, wrap(ErrInvalidArgument, "no URL")
	case r.Start < 0, ranged && r.End <= r.Start, !ranged && (r.End < 0 || r.Start > 0):
		return nil, wrap(ErrInvalidArgument, "bad range of "+r.URL)
	case ranged && r.End-r.Start > maxBodySize:
		return nil, wrap(ErrTooLarge, "range of "+r.URL)
	}
	ctx, cancel := timeout.Context(ctx, fetchTimeout)
	defer cancel()

	ac := js.Global().Get("AbortController").New()
	stop := context.AfterFunc(ctx, func() { _, _ = call(ac, "abort") })
	defer stop()
	init := object.New()
	init.Set("signal", ac.Get("signal"))
	if ranged {
		h := object.New()
		h.Set("Range", httprange.Header(r.Start, r.End))
		init.Set("headers", h)
	}
	p, err := invoke(f.fetch, r.URL, init)
	if err != nil {
		return nil, fetchFailed(ctx, r.URL, err)
	}
	resp, err := await(ctx, p)
	if err != nil {
		return nil, fetchFailed(ctx, r.URL, err)
	}
	status := resp.Get("status").Int()
	headers := resp.Get("headers")
	header := func(name string) string {
		v, err := call(headers, "get", name)
		if err != nil {
			return ""
		}
		return stringOr(v, "")
	}
	if length, ok := httprange.ParseLength(header("Content-Length")); ok && length > maxBodySize && !(ranged && status == 200) {
		cancelBody(resp)
		return nil, wrap(ErrTooLarge, "Content-Length "+strconv.FormatInt(length, 10)+" of "+r.URL)
	}
	switch {
	case status == 200 && ranged:
		// The server ignored Range; the range is cut out of the body below.
		// (Reading a whole huge body is the price of such a server.)
	case status == 200:
	case status == 206 && ranged:
		if cr := header("Content-Range"); cr != "" {
			first, last, ok := httprange.ParseContentRange(cr)
			if !ok || first != r.Start || last != r.End-1 {
				cancelBody(resp)
				return nil, wrap(ErrBadRange, "Content-Range "+quote(cr)+" of "+r.URL)
			}
		}
	case status == 206:
		cancelBody(resp)
		return nil, wrap(ErrBadRange, "206 to a request without Range: "+r.URL)
	default:
		cancelBody(resp)
		return nil, wrap(ErrHTTPStatus, strconv.Itoa(status)+" for "+r.URL)
	}
	bp, err := call(resp, "arrayBuffer")
	if err != nil {
		return nil, fetchFailed(ctx, r.URL, err)
	}
	ab, err := await(ctx, bp)
	if err != nil {
		return nil, fetchFailed(ctx, r.URL, err)
	}
	n := int64(ab.Get("byteLength").Int())
	var view js.Value
	switch {
	case status == 200 && ranged:
		if n < r.End {
			return nil, wrap(ErrBadRange, "server ignored Range and sent "+strconv.FormatInt(n, 10)+" bytes, range ends at "+strconv.FormatInt(r.End, 10))
		}
		view = uint8Array.New(ab, r.Start, r.End-r.Start)
	case ranged && n != r.End-r.Start:
		return nil, wrap(ErrBadRange, "body of "+strconv.FormatInt(n, 10)+" bytes for a range of "+strconv.FormatInt(r.End-r.Start, 10))
	case n > maxBodySize:
		return nil, wrap(ErrTooLarge, r.URL)
	default:
		view = uint8Array.New(ab)
	}
	b := make([]byte, view.Get("length").Int())
	js.CopyBytesToGo(b, view)
	return b, nil
}

// fetchFailed describes a failed fetch: ctx's error when it ended (the
// fetch was aborted for it), else the JS error.
func fetchFailed(ctx context.Context, url string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return wrapCause(ErrFetch, url, err)
}

// cancelBody discards a response body that will not be read.
func cancelBody(resp js.Value) {
	if body := resp.Get("body"); isDefined(body) {
		if p, err := call(body, "cancel"); err == nil && p.Type() == js.TypeObject {
			// Ignore the outcome; a rejection must not go unhandled.
			_, _ = call(p, "catch", js.Global().Get("Boolean"))
		}
	}
}
