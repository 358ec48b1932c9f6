//go:build !js

package native

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nearcast/nearcast/engine"
)

// segment is the resource the test servers serve.
var segment = func() []byte {
	b := make([]byte, 100_000)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}()

// newServer starts an HTTP server on 127.0.0.1 that answers every request
// with h, and a Fetcher using the server's client.
func newServer(t *testing.T, h http.HandlerFunc, opts ...FetchOption) (*httptest.Server, *Fetcher) {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	f, err := NewFetcher(ts.Client(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.CloseIdleConnections)
	return ts, f
}

// serveContent serves segment with full Range support (206 responses).
func serveContent(w http.ResponseWriter, r *http.Request) {
	http.ServeContent(w, r, "seg.m4s", time.Time{}, bytes.NewReader(segment))
}

// ignoreRange serves segment whole with 200, whatever the Range header says;
// chunked (no Content-Length) when the query says so.
func ignoreRange(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("chunked") == "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(segment)))
	}
	_, _ = w.Write(segment)
}

func fetchCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestFetchWholeAndRanges(t *testing.T) {
	ctx := fetchCtx(t)
	for _, srv := range []struct {
		name string
		h    http.HandlerFunc
		path string
	}{
		{"ranges", serveContent, "/"},
		{"ignores Range", ignoreRange, "/"},
		{"ignores Range, chunked", ignoreRange, "/?chunked=1"},
	} {
		t.Run(srv.name, func(t *testing.T) {
			var (
				mu     sync.Mutex
				ranges []string
			)
			ts, f := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				ranges = append(ranges, r.Header.Get("Range"))
				mu.Unlock()
				srv.h(w, r)
			})
			for _, c := range []struct{ start, end int64 }{
				{0, 0}, {0, 1}, {0, 16384}, {1000, 50_000}, {99_999, 100_000}, {0, 100_000},
			} {
				got, err := f.Fetch(ctx, engine.FetchRequest{URL: ts.URL + srv.path, Start: c.start, End: c.end})
				if err != nil {
					t.Fatalf("[%d, %d): %v", c.start, c.end, err)
				}
				want := segment[c.start:]
				if c.end > 0 {
					want = segment[c.start:c.end]
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("[%d, %d): got %d bytes, want %d", c.start, c.end, len(got), len(want))
				}
			}
			mu.Lock()
			defer mu.Unlock()
			wantRanges := []string{"", "bytes=0-0", "bytes=0-16383", "bytes=1000-49999", "bytes=99999-99999", "bytes=0-99999"}
			if fmt.Sprint(ranges) != fmt.Sprint(wantRanges) {
				t.Errorf("Range headers %q, want %q", ranges, wantRanges)
			}
		})
	}
}

func TestFetchDefaultClient(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(serveContent))
	defer ts.Close()
	f, err := NewFetcher(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.CloseIdleConnections()
	got, err := f.Fetch(fetchCtx(t), engine.FetchRequest{URL: ts.URL, Start: 10, End: 20})
	if err != nil || !bytes.Equal(got, segment[10:20]) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestFetchStatus(t *testing.T) {
	ts, f := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		case "/unsatisfiable":
			serveContent(w, r)
		}
	})
	ctx := fetchCtx(t)
	for _, c := range []struct {
		req  engine.FetchRequest
		code int
	}{
		{engine.FetchRequest{URL: ts.URL + "/missing"}, http.StatusNotFound},
		{engine.FetchRequest{URL: ts.URL + "/unsatisfiable", Start: 200_000, End: 200_010}, http.StatusRequestedRangeNotSatisfiable},
	} {
		_, err := f.Fetch(ctx, c.req)
		var se *StatusError
		if !errors.Is(err, ErrHTTPStatus) || !errors.As(err, &se) || se.StatusCode != c.code {
			t.Errorf("%s: %v, want a StatusError with %d", c.req.URL, err, c.code)
		}
	}
}

func TestFetchTooLarge(t *testing.T) {
	const limit = 1000
	ts, f := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ranges" {
			serveContent(w, r)
			return
		}
		ignoreRange(w, r)
	}, WithMaxBodySize(limit))
	ctx := fetchCtx(t)
	for name, req := range map[string]engine.FetchRequest{
		"Content-Length":         {URL: ts.URL},
		"chunked":                {URL: ts.URL + "/?chunked=1"},
		"range":                  {URL: ts.URL + "/ranges", Start: 0, End: limit + 1},
		"ignored range ends far": {URL: ts.URL, Start: 0, End: limit + 1},
	} {
		if _, err := f.Fetch(ctx, req); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", name, err)
		}
	}
	// At the limit is fine.
	if got, err := f.Fetch(ctx, engine.FetchRequest{URL: ts.URL + "/ranges", Start: 5, End: 5 + limit}); err != nil || len(got) != limit {
		t.Errorf("range at the limit: %d bytes, %v", len(got), err)
	}
}

func TestFetchBadRange(t *testing.T) {
	ts, f := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/wrong-range":
			w.Header().Set("Content-Range", "bytes 0-9/100000")
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(segment[:10])
		case "/garbled":
			w.Header().Set("Content-Range", "bytes +10-19/100000")
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(segment[10:20])
		case "/long-body":
			w.Header().Set("Content-Range", "bytes 10-19/100000")
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(segment[10:30]) // chunked: no Content-Length to stop it
		case "/unasked":
			w.Header().Set("Content-Range", "bytes 0-9/100000")
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(segment[:10])
		case "/short":
			_, _ = w.Write(segment[:15])
		}
	})
	ctx := fetchCtx(t)
	for name, req := range map[string]engine.FetchRequest{
		"wrong range":                 {URL: ts.URL + "/wrong-range", Start: 10, End: 20},
		"garbled Content-Range":       {URL: ts.URL + "/garbled", Start: 10, End: 20},
		"body longer than range":      {URL: ts.URL + "/long-body", Start: 10, End: 20},
		"206 without Range":           {URL: ts.URL + "/unasked"},
		"ignored range, short body":   {URL: ts.URL + "/short", Start: 10, End: 20},
		"ignored range, past the end": {URL: ts.URL + "/short", Start: 16, End: 20},
	} {
		if _, err := f.Fetch(ctx, req); !errors.Is(err, ErrBadRange) {
			t.Errorf("%s: %v, want ErrBadRange", name, err)
		}
	}
}

func TestFetchInvalidRequest(t *testing.T) {
	f, err := NewFetcher(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []engine.FetchRequest{
		{},
		{URL: "http://127.0.0.1:1/", Start: -1, End: 10},
		{URL: "http://127.0.0.1:1/", Start: 10, End: 10},
		{URL: "http://127.0.0.1:1/", Start: 10},
		{URL: "http://127.0.0.1:1/", End: -1},
		{URL: "http://[::1", End: 10},
	} {
		if _, err := f.Fetch(t.Context(), r); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%+v: %v, want ErrInvalidRequest", r, err)
		}
	}
	if _, err := NewFetcher(nil, WithMaxBodySize(0)); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("WithMaxBodySize(0): %v", err)
	}
}

func TestFetchContextCancel(t *testing.T) {
	release := make(chan struct{})
	ts, f := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stall-body" {
			w.Header().Set("Content-Length", "100")
			_, _ = w.Write(segment[:10])
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release) // before ts.Close, which waits for handlers
	for _, path := range []string{"/stall-headers", "/stall-body"} {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		start := time.Now()
		_, err := f.Fetch(ctx, engine.FetchRequest{URL: ts.URL + path})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want context.DeadlineExceeded", path, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: Fetch returned after %v", path, d)
		}
	}
}
