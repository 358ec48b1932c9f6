//go:build js && wasm

package main

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/engine/tracker"
)

// The JS API, globalThis.__nearcastWasm (docs/wasm-api.md, section 1).
// Its functions run on the JS event loop: they validate their arguments,
// start goroutines and return at once, with Promises for what takes time.

// eventBuffer is the capacity of an engine's event subscription; events
// that do not fit (a page whose onEvent is slow) are dropped.
const eventBuffer = 256

// portsFunc builds the engine's ports for o; onError, when not nil,
// receives the tracker client's background errors.
type portsFunc func(o createOptions, onError func(error)) (engine.Signaler, engine.Dialer, engine.Fetcher, error)

// api is the state behind the JS API: the engines by handle.
type api struct {
	ports portsFunc

	mu      sync.Mutex
	next    int
	engines map[int]*instance
}

// instance is one engine created through the API.
type instance struct {
	e           *engine.Engine
	ctx         context.Context // done when the engine is being closed
	cancel      context.CancelFunc
	unsubscribe func()
	events      chan struct{} // closed when the event goroutine ends
}

func newAPI(ports portsFunc) *api {
	return &api{ports: ports, engines: make(map[int]*instance)}
}

// object returns the JS object with the API's functions. Its js.Funcs live
// as long as the program and are never released.
func (a *api) object() js.Value {
	o := object.New()
	o.Set("version", strconv.Itoa(engine.ProtocolVersion))
	o.Set("create", js.FuncOf(func(_ js.Value, args []js.Value) (res any) {
		defer guard(&res, func(err error) any { return errorObject(err, false) })
		h, err := a.create(arg(args, 0), arg(args, 1))
		if err != nil {
			return errorObject(err, false)
		}
		return h
	}))
	o.Set("load", js.FuncOf(func(_ js.Value, args []js.Value) (res any) {
		defer guard(&res, func(err error) any { return rejectedCall(err) })
		return a.load(arg(args, 0), arg(args, 1))
	}))
	o.Set("stats", js.FuncOf(func(_ js.Value, args []js.Value) (res any) {
		defer guard(&res, func(error) any { return statsObject(engine.Stats{}) })
		return a.stats(arg(args, 0))
	}))
	o.Set("close", js.FuncOf(func(_ js.Value, args []js.Value) (res any) {
		defer guard(&res, func(err error) any { return rejected(errorObject(err, false)) })
		return a.close(arg(args, 0))
	}))
	return o
}

// guard turns a panic in an API function into the value fail returns for
// an internal error, so that one bug does not take down the program.
func guard(res *any, fail func(error) any) {
	if x := recover(); x != nil {
		msg := "panic"
		switch v := x.(type) {
		case error:
			msg += ": " + v.Error()
		case string:
			msg += ": " + v
		}
		*res = fail(errors.New("nearcast: internal error: " + msg))
	}
}

// create builds an engine from EngineOptions and returns its handle.
func (a *api) create(opts, onEvent js.Value) (int, error) {
	o, err := parseCreateOptions(opts)
	if err != nil {
		return 0, err
	}
	if isDefined(onEvent) && onEvent.Type() != js.TypeFunction {
		return 0, wrap(ErrInvalidArgument, "onEvent must be a function")
	}
	var onError func(error)
	if o.debug {
		onError = func(err error) { logDebug("tracker: " + err.Error()) }
	}
	sig, dial, fetch, err := a.ports(o, onError)
	if err != nil {
		return 0, err
	}
	e, err := engine.New(sig, dial, fetch, o.engineOptions()...)
	if err != nil {
		_ = sig.Close()
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	inst := &instance{e: e, ctx: ctx, cancel: cancel, events: make(chan struct{})}
	if onEvent.Type() == js.TypeFunction || o.debug {
		ch, unsubscribe := e.Subscribe(eventBuffer)
		inst.unsubscribe = unsubscribe
		go deliverEvents(ch, onEvent, o.debug, inst.events)
	} else {
		close(inst.events)
	}
	a.mu.Lock()
	a.next++
	h := a.next
	a.engines[h] = inst
	a.mu.Unlock()
	if o.debug {
		logDebug("engine " + strconv.Itoa(h) + " created, peer " + e.PeerID().String() + ", tracker " + o.tracker)
	}
	return h, nil
}

// deliverEvents calls onEvent with each event, from this goroutine. A
// throwing onEvent is ignored.
func deliverEvents(ch <-chan engine.EngineEvent, onEvent js.Value, debug bool, done chan struct{}) {
	defer close(done)
	for ev := range ch {
		obj := eventObject(ev)
		if onEvent.Type() == js.TypeFunction {
			_, _ = invoke(onEvent, obj)
		}
		if debug {
			logDebug("event", obj)
		}
	}
}

// logDebug writes to the console.
func logDebug(msg string, extra ...any) {
	_, _ = call(js.Global().Get("console"), "debug", append([]any{"[nearcast] " + msg}, extra...)...)
}

// lookup returns the engine of handle h: ErrInvalidArgument for a value
// that was never a handle, ErrClosed for one closed.
func (a *api) lookup(h js.Value) (*instance, int, error) {
	x, ok := finite(h)
	if !ok || x != math.Trunc(x) || x < 1 {
		return nil, 0, wrap(ErrInvalidArgument, "not an engine handle")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if x > float64(a.next) {
		return nil, 0, wrap(ErrInvalidArgument, "not an engine handle")
	}
	inst := a.engines[int(x)]
	if inst == nil {
		return nil, int(x), ErrClosed
	}
	return inst, int(x), nil
}

// load starts a Load and returns its LoadCall {promise, cancel}.
func (a *api) load(h, req js.Value) js.Value {
	inst, _, err := a.lookup(h)
	if err != nil {
		return rejectedCall(err)
	}
	r, err := parseLoadRequest(req, time.Now())
	if err != nil {
		return rejectedCall(err)
	}
	p, resolve, reject := newPromise()
	ctx, cancel := context.WithCancel(inst.ctx)
	var settled atomic.Bool
	cancelID, cancelJS := callback(func([]js.Value) {
		cancel()
		if settled.CompareAndSwap(false, true) {
			reject.Invoke(errorObject(wrap(context.Canceled, "load cancelled"), true))
		}
	})
	go func() {
		res, err := inst.e.Load(ctx, r)
		forget(cancelID)
		cancel()
		if !settled.CompareAndSwap(false, true) {
			return
		}
		if err != nil {
			if inst.ctx.Err() != nil {
				err = wrapCause(ErrClosed, "", err)
			}
			reject.Invoke(errorObject(err, true))
			return
		}
		resolve.Invoke(resultObject(res))
	}()
	return loadCall(p, cancelJS)
}

func loadCall(p, cancel js.Value) js.Value {
	o := object.New()
	o.Set("promise", p)
	o.Set("cancel", cancel)
	return o
}

// rejectedCall is a LoadCall that failed before it started.
func rejectedCall(err error) js.Value {
	return loadCall(rejected(errorObject(err, true)), js.Global().Get("Function").Get("prototype"))
}

// rejected returns a promise rejected with v.
func rejected(v js.Value) js.Value { return promise.Call("reject", v) }

// stats returns the EngineStats of an engine; zeros for a handle that is
// closed or unknown.
func (a *api) stats(h js.Value) js.Value {
	inst, _, err := a.lookup(h)
	if err != nil {
		return statsObject(engine.Stats{})
	}
	return statsObject(inst.e.Stats())
}

// close closes an engine; the promise resolves when it has stopped. Loads
// in progress fail with "closed". Closing a closed engine resolves at once.
func (a *api) close(h js.Value) js.Value {
	inst, id, err := a.lookup(h)
	if errors.Is(err, ErrClosed) {
		return promise.Call("resolve")
	}
	if err != nil {
		return rejected(errorObject(err, false))
	}
	a.mu.Lock()
	delete(a.engines, id)
	a.mu.Unlock()
	p, resolve, reject := newPromise()
	go func() {
		inst.cancel()
		err := inst.e.Close()
		if inst.unsubscribe != nil {
			inst.unsubscribe()
		}
		<-inst.events
		if err != nil && !errors.Is(err, tracker.ErrClosed) {
			reject.Invoke(errorObject(err, false))
			return
		}
		resolve.Invoke()
	}()
	return p
}

// browserPorts builds the engine's ports on the page's WebSocket,
// RTCPeerConnection and fetch.
func browserPorts(o createOptions, onError func(error)) (engine.Signaler, engine.Dialer, engine.Fetcher, error) {
	dial, err := newDialer(o.iceServers, 0)
	if err != nil {
		return nil, nil, nil, err
	}
	if js.Global().Get("WebSocket").Type() != js.TypeFunction {
		return nil, nil, nil, wrap(ErrUnsupported, "no WebSocket")
	}
	fetch, err := newFetcher()
	if err != nil {
		return nil, nil, nil, err
	}
	var opts []tracker.Option
	if onError != nil {
		opts = append(opts, tracker.WithOnError(onError))
	}
	sig, err := tracker.New(o.tracker, dialWebSocket, opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	return sig, dial, fetch, nil
}
