//go:build js && wasm

package main

import (
	"strings"
	"sync"
	"syscall/js"
	"testing"
)

// Fakes of the browser's WebSocket and RTCPeerConnection, JS objects whose
// methods are Go functions, installed as globals for one test. Their
// events are dispatched from the JS event loop (setTimeout), as a
// browser's are.

// fire calls target[prop](ev) from the event loop, if the handler is set
// when the event is dispatched.
func fire(target js.Value, prop string, ev js.Value) {
	fireOnce.Do(func() {
		fireFunc = js.FuncOf(func(_ js.Value, args []js.Value) any {
			if h := args[0].Get(args[1].String()); h.Type() == js.TypeFunction {
				h.Call("call", args[0], args[2])
			}
			return nil
		})
	})
	js.Global().Call("setTimeout", fireFunc, 0, target, prop, ev)
}

var (
	fireOnce sync.Once
	fireFunc js.Func // lives as long as the test binary
)

// fakes owns the js.Funcs of the fakes of one test.
type fakes struct {
	mu    sync.Mutex
	funcs []js.Func
}

func (f *fakes) fn(g func(this js.Value, args []js.Value) any) js.Func {
	fn := js.FuncOf(g)
	f.mu.Lock()
	f.funcs = append(f.funcs, fn)
	f.mu.Unlock()
	return fn
}

// install sets globalThis[name] to v for the test.
func (f *fakes) install(t *testing.T, name string, v js.Value) {
	old := js.Global().Get(name)
	js.Global().Set(name, v)
	t.Cleanup(func() {
		if old.IsUndefined() {
			js.Global().Delete(name)
		} else {
			js.Global().Set(name, old)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, fn := range f.funcs {
			fn.Release()
		}
		f.funcs = nil
	})
}

func event(kv map[string]any) js.Value { return js.ValueOf(kv) }

// fakeWS is one fake WebSocket: the test plays the server.
type fakeWS struct {
	this   js.Value
	url    string
	sent   chan string
	closed chan int
}

// installFakeWebSocket installs a WebSocket constructor whose instances
// are sent on the returned channel.
func installFakeWebSocket(t *testing.T) <-chan *fakeWS {
	f := &fakes{}
	made := make(chan *fakeWS, 8)
	ctor := f.fn(func(this js.Value, args []js.Value) any {
		ws := &fakeWS{this: this, url: args[0].String(), sent: make(chan string, 64), closed: make(chan int, 1)}
		this.Set("bufferedAmount", 0)
		this.Set("send", f.fn(func(_ js.Value, a []js.Value) any {
			ws.sent <- a[0].String()
			return nil
		}))
		this.Set("close", f.fn(func(_ js.Value, a []js.Value) any {
			select {
			case ws.closed <- arg(a, 0).Int():
			default:
			}
			return nil
		}))
		made <- ws
		return nil
	})
	f.install(t, "WebSocket", ctor.Value)
	return made
}

func (ws *fakeWS) open()             { fire(ws.this, "onopen", event(map[string]any{})) }
func (ws *fakeWS) message(s string)  { fire(ws.this, "onmessage", event(map[string]any{"data": s})) }
func (ws *fakeWS) serverClose(c int) { fire(ws.this, "onclose", event(map[string]any{"code": c})) }

// fakeRTC is an in-memory WebRTC: peer connections find each other
// through an ID in their SDP and connect their data channels directly.
type fakeRTC struct {
	f     *fakes
	mu    sync.Mutex
	next  int
	pcs   map[string]*fakePC
	Fail  bool // setRemoteDescription rejects
	Quiet bool // gathering never completes
}

type fakePC struct {
	rtc    *fakeRTC
	this   js.Value
	id     string
	config js.Value
	remote *fakePC
	dcs    []*fakeDC
}

type fakeDC struct {
	this js.Value
	peer *fakeDC
	pc   *fakePC
}

func installFakeRTC(t *testing.T) *fakeRTC {
	r := &fakeRTC{f: &fakes{}, pcs: map[string]*fakePC{}}
	f := r.f
	ctor := f.fn(func(this js.Value, args []js.Value) any {
		r.mu.Lock()
		r.next++
		pc := &fakePC{rtc: r, this: this, id: "pc" + itoa(r.next), config: arg(args, 0)}
		r.pcs[pc.id] = pc
		r.mu.Unlock()
		this.Set("iceGatheringState", "new")
		this.Set("connectionState", "new")
		this.Set("signalingState", "stable")
		this.Set("localDescription", js.Null())
		this.Set("createDataChannel", f.fn(func(_ js.Value, a []js.Value) any {
			return pc.newDC(a[0].String(), true).this
		}))
		this.Set("setLocalDescription", f.fn(func(js.Value, []js.Value) any {
			typ := "offer"
			if this.Get("signalingState").String() == "have-remote-offer" {
				typ = "answer"
			}
			this.Set("localDescription", js.ValueOf(map[string]any{"type": typ,
				"sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=fake:" + pc.id + "\r\n"}))
			this.Set("iceGatheringState", "gathering")
			if !r.Quiet {
				this.Set("iceGatheringState", "complete")
				fire(this, "onicegatheringstatechange", event(map[string]any{}))
			}
			return promise.Call("resolve")
		}))
		this.Set("setRemoteDescription", f.fn(func(_ js.Value, a []js.Value) any {
			sdp := a[0].Get("sdp").String()
			_, id, _ := strings.Cut(sdp, "a=fake:")
			id = strings.TrimSpace(id)
			r.mu.Lock()
			remote, fail := r.pcs[id], r.Fail
			r.mu.Unlock()
			if fail || remote == nil {
				return promise.Call("reject", js.Global().Get("Error").New("fake: bad remote description"))
			}
			pc.remote = remote
			if a[0].Get("type").String() == "offer" {
				this.Set("signalingState", "have-remote-offer")
			} else {
				pc.connect()
			}
			return promise.Call("resolve")
		}))
		this.Set("close", f.fn(func(js.Value, []js.Value) any {
			pc.close()
			return nil
		}))
		return nil
	})
	f.install(t, "RTCPeerConnection", ctor.Value)
	return r
}

func (pc *fakePC) newDC(label string, ordered bool) *fakeDC {
	f := pc.rtc.f
	dc := &fakeDC{this: object.New(), pc: pc}
	dc.this.Set("label", label)
	dc.this.Set("ordered", ordered)
	dc.this.Set("maxRetransmits", js.Null())
	dc.this.Set("maxPacketLifeTime", js.Null())
	dc.this.Set("readyState", "connecting")
	dc.this.Set("bufferedAmount", 0)
	dc.this.Set("send", f.fn(func(_ js.Value, a []js.Value) any {
		// A Go function cannot throw, so sends on a closed fake are dropped.
		if dc.this.Get("readyState").String() == "open" && dc.peer != nil {
			fire(dc.peer.this, "onmessage", event(map[string]any{"data": uint8Array.New(a[0]).Get("buffer")}))
		}
		return nil
	}))
	dc.this.Set("close", f.fn(func(js.Value, []js.Value) any {
		dc.close()
		return nil
	}))
	pc.dcs = append(pc.dcs, dc)
	return dc
}

// connect runs on the offerer when it gets the answer: each of its channels
// appears on the answerer and both ends open.
func (pc *fakePC) connect() {
	a, b := pc, pc.remote
	b.remote = a
	for _, dc := range a.dcs {
		peer := b.newDC(dc.this.Get("label").String(), dc.this.Get("ordered").Bool())
		dc.peer, peer.peer = peer, dc
		for _, end := range []*fakeDC{dc, peer} {
			end.this.Set("readyState", "open")
		}
		fire(b.this, "ondatachannel", event(map[string]any{"channel": peer.this}))
		fire(dc.this, "onopen", event(map[string]any{}))
		fire(peer.this, "onopen", event(map[string]any{}))
	}
	for _, p := range []*fakePC{a, b} {
		p.this.Set("connectionState", "connected")
	}
}

func (dc *fakeDC) close() {
	for _, end := range []*fakeDC{dc, dc.peer} {
		if end != nil && end.this.Get("readyState").String() != "closed" {
			end.this.Set("readyState", "closed")
			fire(end.this, "onclose", event(map[string]any{}))
		}
	}
}

func (pc *fakePC) close() {
	if pc.this.Get("connectionState").String() == "closed" {
		return
	}
	pc.this.Set("connectionState", "closed")
	for _, dc := range pc.dcs {
		dc.close()
	}
	pc.rtc.mu.Lock()
	delete(pc.rtc.pcs, pc.id)
	pc.rtc.mu.Unlock()
}

// open reports how many fake connections are not closed.
func (r *fakeRTC) open() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pcs)
}
