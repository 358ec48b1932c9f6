//go:build js && wasm

package main

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/nearcast/nearcast/engine"
)

// cdnServer serves /seg (1000 bytes, honouring Range like a CDN),
// /norange (ignores Range), /badrange (a 206 with the wrong Content-Range),
// /missing (404) and /hang (never answers). It counts requests and records
// the last Range header.
type cdnServer struct {
	base      string
	body      []byte
	lastRange string
	hung      chan struct{}
}

func newCDNServer(t *testing.T) *cdnServer {
	s := &cdnServer{body: make([]byte, 1000), hung: make(chan struct{}, 1)}
	for i := range s.body {
		s.body[i] = byte(i * 7)
	}
	s.base = httpServer(t, func(req, res js.Value) {
		rng := stringOr(req.Get("headers").Get("range"), "")
		s.lastRange = rng
		path := req.Get("url").String()
		send := func(status int, headers map[string]any, body []byte) {
			res.Call("writeHead", status, js.ValueOf(headers))
			res.Call("end", bytesToJS(body))
		}
		switch path {
		case "/seg":
			if a, b, ok := strings.Cut(strings.TrimPrefix(rng, "bytes="), "-"); ok && rng != "" {
				first, _ := strconv.Atoi(a)
				last, _ := strconv.Atoi(b)
				send(206, map[string]any{"Content-Range": "bytes " + a + "-" + b + "/1000"}, s.body[first:last+1])
				return
			}
			send(200, map[string]any{}, s.body)
		case "/norange":
			send(200, map[string]any{}, s.body)
		case "/badrange":
			send(206, map[string]any{"Content-Range": "bytes 0-9/1000"}, s.body[:10])
		case "/hang":
			s.hung <- struct{}{}
		default:
			send(404, map[string]any{}, []byte("not found"))
		}
	})
	return s
}

func TestFetch(t *testing.T) {
	s := newCDNServer(t)
	f, err := newFetcher()
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)

	b, err := f.Fetch(ctx, engine.FetchRequest{URL: s.base + "/seg"})
	if err != nil || string(b) != string(s.body) || s.lastRange != "" {
		t.Errorf("whole: %d bytes, %v, range %q", len(b), err, s.lastRange)
	}
	b, err = f.Fetch(ctx, engine.FetchRequest{URL: s.base + "/seg", Start: 100, End: 200})
	if err != nil || string(b) != string(s.body[100:200]) || s.lastRange != "bytes=100-199" {
		t.Errorf("range: %d bytes, %v, range %q", len(b), err, s.lastRange)
	}
	b, err = f.Fetch(ctx, engine.FetchRequest{URL: s.base + "/norange", Start: 990, End: 1000})
	if err != nil || string(b) != string(s.body[990:]) {
		t.Errorf("ignored range: %d bytes, %v", len(b), err)
	}
	if _, err = f.Fetch(ctx, engine.FetchRequest{URL: s.base + "/norange", Start: 990, End: 1001}); !errors.Is(err, ErrBadRange) {
		t.Errorf("ignored range past the end: %v, want ErrBadRange", err)
	}
	if _, err = f.Fetch(ctx, engine.FetchRequest{URL: s.base + "/badrange", Start: 5, End: 15}); !errors.Is(err, ErrBadRange) {
		t.Errorf("wrong Content-Range: %v, want ErrBadRange", err)
	}
	if _, err = f.Fetch(ctx, engine.FetchRequest{URL: s.base + "/missing"}); !errors.Is(err, ErrHTTPStatus) || codeOf(err, true) != codeCDNFailed {
		t.Errorf("404: %v, want ErrHTTPStatus", err)
	}
	if _, err = f.Fetch(ctx, engine.FetchRequest{URL: "http://127.0.0.1:1/refused"}); !errors.Is(err, ErrFetch) {
		t.Errorf("refused: %v, want ErrFetch", err)
	}
	for _, r := range []engine.FetchRequest{{}, {URL: "u", Start: 5}, {URL: "u", Start: 5, End: 5}, {URL: "u", Start: -1, End: 5}} {
		if _, err = f.Fetch(ctx, r); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Fetch(%+v) = %v, want ErrInvalidArgument", r, err)
		}
	}
}

func TestFetchCancel(t *testing.T) {
	s := newCDNServer(t)
	f, err := newFetcher()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	go func() {
		<-s.hung
		cancel()
	}()
	start := time.Now()
	_, err = f.Fetch(ctx, engine.FetchRequest{URL: s.base + "/hang"})
	if !errors.Is(err, context.Canceled) || codeOf(err, true) != codeAborted {
		t.Errorf("cancelled fetch: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v", d)
	}
}
