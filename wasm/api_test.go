//go:build js && wasm

package main

import (
	"syscall/js"
	"testing"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/engine/enginetest"
)

// fakeAPI returns the JS API object on engines whose ports are
// enginetest's in-memory tracker and WebRTC, and fetch.
func fakeAPI(t *testing.T, fetch engine.Fetcher) js.Value {
	net := enginetest.NewNetwork(enginetest.Shaping{})
	t.Cleanup(net.Close)
	a := newAPI(func(o createOptions, onError func(error)) (engine.Signaler, engine.Dialer, engine.Fetcher, error) {
		return net.Signaler(), net.Dialer(), fetch, nil
	})
	return a.object()
}

// awaitCode awaits p and returns the code of its rejection ("" when it
// resolves) and its value.
func awaitCode(t *testing.T, p js.Value) (string, js.Value) {
	t.Helper()
	type out struct {
		code string
		v    js.Value
	}
	ch := make(chan out, 1)
	id, fn := callback(func(args []js.Value) {
		if arg(args, 0).Bool() {
			ch <- out{v: arg(args, 1)}
			return
		}
		v := arg(args, 1)
		ch <- out{code: stringOr(v.Get("code"), "<no code>"), v: v}
	})
	defer forget(id)
	p.Call("then", fn.Call("bind", js.Null(), true), fn.Call("bind", js.Null(), false))
	select {
	case o := <-ch:
		return o.code, o.v
	case <-testCtx(t).Done():
		t.Fatal("promise did not settle")
		return "", js.Undefined()
	}
}

func closeEngine(t *testing.T, api js.Value, h js.Value) {
	t.Helper()
	if code, v := awaitCode(t, api.Call("close", h)); code != "" {
		t.Errorf("close: %s %v", code, v.Get("message"))
	}
}

func TestAPIVersion(t *testing.T) {
	api := fakeAPI(t, enginetest.NewCDN(nil))
	if got := api.Get("version").String(); got != "1" {
		t.Errorf("version = %q", got)
	}
	for _, f := range []string{"create", "load", "stats", "close"} {
		if api.Get(f).Type() != js.TypeFunction {
			t.Errorf("%s is not a function", f)
		}
	}
}

func TestAPILoadFromCDNThenPeer(t *testing.T) {
	urls, files := enginetest.Stream("https://cdn.example/live", 3, 20000)
	cdn := enginetest.NewCDN(files)
	api := fakeAPI(t, cdn)
	opts := js.ValueOf(map[string]any{"trackers": []any{"ws://tracker/announce"}})

	events := make(chan js.Value, 64)
	onEvent := js.FuncOf(func(_ js.Value, args []js.Value) any {
		select {
		case events <- arg(args, 0):
		default:
		}
		return nil
	})
	defer onEvent.Release()

	a := api.Call("create", opts, onEvent)
	b := api.Call("create", opts)
	if a.Type() != js.TypeNumber || b.Type() != js.TypeNumber || a.Int() == b.Int() {
		t.Fatalf("handles %v, %v", a, b)
	}
	req := js.ValueOf(map[string]any{"manifest": "https://cdn.example/live/index.m3u8", "seq": 0, "url": urls[0], "deadlineMs": 8000})

	call := api.Call("load", a, req)
	code, res := awaitCode(t, call.Get("promise"))
	if code != "" {
		t.Fatalf("load on a: %s %v", code, res.Get("message"))
	}
	if res.Get("source").String() != "cdn" || string(bytesFromJS(res.Get("data"))) != string(files[urls[0]]) {
		t.Errorf("a: source %v, %d bytes", res.Get("source"), res.Get("data").Length())
	}
	call.Get("cancel").Invoke() // after settling: a no-op

	ev := <-events
	if ev.Get("type").String() != "segment" || ev.Get("source").String() != "cdn" || ev.Get("bytes").Int() != len(files[urls[0]]) {
		t.Errorf("event = %v", js.Global().Get("JSON").Call("stringify", ev))
	}
	if s := api.Call("stats", a); s.Get("cdnSegments").Int() != 1 || s.Get("cdnBytes").Int() != len(files[urls[0]]) || s.Get("swarms").Int() != 1 {
		t.Errorf("stats = %v", js.Global().Get("JSON").Call("stringify", s))
	}

	// b joins the swarm, connects to a and gets the segment from it.
	code, res = awaitCode(t, api.Call("load", b, req).Get("promise"))
	if code != "" {
		t.Fatalf("load on b: %s %v", code, res.Get("message"))
	}
	if string(bytesFromJS(res.Get("data"))) != string(files[urls[0]]) {
		t.Errorf("b: wrong bytes from %v", res.Get("source"))
	}
	t.Logf("b got seq 0 from %s (peer %v), %v ms", res.Get("source"), res.Get("peer"), res.Get("durationMs"))

	// Cache hit on a.
	code, res = awaitCode(t, api.Call("load", a, req).Get("promise"))
	if code != "" || res.Get("source").String() != "cache" || res.Get("origin").String() != "cdn" {
		t.Errorf("cache hit: %s %v", code, js.Global().Get("JSON").Call("stringify", res))
	}

	closeEngine(t, api, a)
	closeEngine(t, api, b)
	closeEngine(t, api, a) // closing twice resolves
	if code, _ := awaitCode(t, api.Call("load", a, req).Get("promise")); code != "closed" {
		t.Errorf("load after close: code %q, want closed", code)
	}
	if s := api.Call("stats", a); s.Get("cdnSegments").Int() != 0 {
		t.Errorf("stats after close = %v", js.Global().Get("JSON").Call("stringify", s))
	}
}

func TestAPICancelAndClose(t *testing.T) {
	s := newCDNServer(t)
	f, err := newFetcher()
	if err != nil {
		t.Fatal(err)
	}
	api := fakeAPI(t, f)
	h := api.Call("create", js.ValueOf(map[string]any{"trackers": []any{"ws://tracker/announce"}}))
	req := js.ValueOf(map[string]any{"swarm": "s", "seq": 1, "url": s.base + "/hang", "deadlineMs": 0})

	call := api.Call("load", h, req)
	<-s.hung
	call.Get("cancel").Invoke()
	call.Get("cancel").Invoke()
	if code, _ := awaitCode(t, call.Get("promise")); code != "aborted" {
		t.Errorf("cancelled load: code %q, want aborted", code)
	}

	// A load in progress fails with "closed" when its engine is closed.
	call = api.Call("load", h, req)
	<-s.hung
	closed := api.Call("close", h)
	if code, _ := awaitCode(t, call.Get("promise")); code != "closed" {
		t.Errorf("load across close: code %q, want closed", code)
	}
	if code, _ := awaitCode(t, closed); code != "" {
		t.Errorf("close: %q", code)
	}
}

func TestAPIInvalid(t *testing.T) {
	api := fakeAPI(t, enginetest.NewCDN(nil))
	for name, args := range map[string][]any{
		"no options":     {},
		"bad tracker":    {js.ValueOf(map[string]any{"trackers": []any{"http://x"}})},
		"onEvent not fn": {js.ValueOf(map[string]any{"trackers": []any{"ws://x"}}), 5},
		"bad cacheBytes": {js.ValueOf(map[string]any{"trackers": []any{"ws://x"}, "cacheBytes": -1})},
	} {
		r := api.Call("create", args...)
		if r.Type() != js.TypeObject || r.Get("code").String() != "invalid-argument" {
			t.Errorf("create %s = %v", name, js.Global().Get("JSON").Call("stringify", r))
		}
	}
	h := api.Call("create", js.ValueOf(map[string]any{"trackers": []any{"ws://x"}}))
	for name, args := range map[string][]any{
		"no handle":      {},
		"unknown handle": {99, js.ValueOf(map[string]any{"swarm": "s", "seq": 1, "url": "u"})},
		"string handle":  {"1", js.ValueOf(map[string]any{"swarm": "s", "seq": 1, "url": "u"})},
		"bad request":    {h, js.ValueOf(map[string]any{"swarm": "s", "url": "u"})},
	} {
		call := api.Call("load", args...)
		if code, _ := awaitCode(t, call.Get("promise")); code != "invalid-argument" {
			t.Errorf("load %s: code %q", name, code)
		}
		call.Get("cancel").Invoke()
	}
	if code, _ := awaitCode(t, api.Call("close", 99)); code != "invalid-argument" {
		t.Errorf("close unknown: code %q", code)
	}
	if s := api.Call("stats", "x"); s.Get("peers").Int() != 0 {
		t.Error("stats of a bad handle")
	}
	closeEngine(t, api, h)
}
