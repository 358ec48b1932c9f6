//go:build js && wasm

package main

import (
	"context"
	"os"
	"syscall/js"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The tests run under Node (GOOS=js GOARCH=wasm go test ./wasm/, with
// $(go env GOROOT)/lib/wasm on PATH for go_js_wasm_exec). Node has fetch
// and an HTTP server but no RTCPeerConnection and (in Node 20) no
// WebSocket: those are faked in JS objects built from Go.

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// runtime.handleEvent is the goroutine that serves JS callbacks.
		if err := goleak.Find(goleak.IgnoreAnyFunction("runtime.handleEvent")); err != nil {
			println("goleak:", err.Error())
			code = 1
		}
		if n := pendingCallbacks(); n != 0 {
			println("callbacks still registered:", n)
			code = 1
		}
	}
	os.Exit(code)
}

// testCtx returns a context that ends with the test, after at most 10 s.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// awaitT awaits p within the test's deadline.
func awaitT(t *testing.T, p js.Value) (js.Value, error) {
	t.Helper()
	return await(testCtx(t), p)
}

// httpServer starts a Node HTTP server on 127.0.0.1 port 0 whose handler
// is h, and returns its base URL.
func httpServer(t *testing.T, h func(req, res js.Value)) string {
	t.Helper()
	handler := js.FuncOf(func(_ js.Value, args []js.Value) any {
		h(args[0], args[1])
		return nil
	})
	srv := js.Global().Call("require", "http").Call("createServer", handler)
	p, resolve, _ := newPromise()
	srv.Call("listen", 0, "127.0.0.1", resolve)
	if _, err := awaitT(t, p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p, resolve, _ := newPromise()
		srv.Call("close", resolve)
		srv.Call("closeAllConnections")
		_, _ = await(context.Background(), p)
		handler.Release()
	})
	return "http://127.0.0.1:" + itoa(srv.Call("address").Get("port").Int())
}

// eventually polls cond every 10 ms until it holds or 5 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
