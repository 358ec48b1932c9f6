//go:build js && wasm

package main

import (
	"context"
	"errors"
	"sync"
	"syscall/js"
)

// This file holds the bridge's plumbing to JavaScript: one callback
// registry, promise awaiting, and calls that may throw.
//
// Event handlers and promise callbacks are not js.Funcs of their own. One
// permanent js.Func, dispatch, is bound (Function.prototype.bind) to a
// registry ID for each handler; forgetting the ID is the handler's
// release. A JS event that fires after its handler was forgotten (a promise
// settling after its await gave up, an event queued before the handler
// was removed) then finds nothing and is ignored, where a released js.Func
// would crash the Go program ("call to released function").

// registry maps callback IDs to Go handlers. Handlers run on the JS event
// loop: they must not block, only copy what they need and hand off.
type registry struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(args []js.Value)
}

var (
	callbacks    = registry{fns: make(map[int]func([]js.Value))}
	dispatchOnce sync.Once
	dispatchFunc js.Func // never released: it lives as long as the program
)

// dispatch is the one js.Func behind every callback: args[0] is the
// registry ID, the rest are the bound extras and the event's arguments.
func dispatch(_ js.Value, args []js.Value) any {
	if len(args) == 0 {
		return nil
	}
	id := args[0].Int()
	callbacks.mu.Lock()
	f := callbacks.fns[id]
	callbacks.mu.Unlock()
	if f != nil {
		f(args[1:])
	}
	return nil
}

// callback registers f and returns its ID and a JS function that calls f
// with extra followed by the function's own arguments.
func callback(f func(args []js.Value), extra ...any) (int, js.Value) {
	dispatchOnce.Do(func() { dispatchFunc = js.FuncOf(dispatch) })
	callbacks.mu.Lock()
	callbacks.next++
	id := callbacks.next
	callbacks.fns[id] = f
	callbacks.mu.Unlock()
	bound := dispatchFunc.Call("bind", append([]any{js.Null(), id}, extra...)...)
	return id, bound
}

// forget releases the callbacks ids; later calls of them do nothing.
func forget(ids ...int) {
	callbacks.mu.Lock()
	for _, id := range ids {
		delete(callbacks.fns, id)
	}
	callbacks.mu.Unlock()
}

// pendingCallbacks returns the number of registered callbacks (for leak
// checks in tests).
func pendingCallbacks() int {
	callbacks.mu.Lock()
	defer callbacks.mu.Unlock()
	return len(callbacks.fns)
}

// arg returns args[i], or undefined.
func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

// await waits for the JS promise p to settle and returns its value, or the
// rejection as an error, or ctx's error. It must not run on the JS event
// loop (inside a callback): settling needs the loop.
func await(ctx context.Context, p js.Value) (js.Value, error) {
	type settled struct {
		v  js.Value
		ok bool
	}
	ch := make(chan settled, 1)
	id, fn := callback(func(args []js.Value) {
		select {
		case ch <- settled{v: arg(args, 1), ok: arg(args, 0).Bool()}:
		default: // settled twice: impossible for a promise
		}
	})
	defer forget(id)
	if _, err := call(p, "then", fn.Call("bind", js.Null(), true), fn.Call("bind", js.Null(), false)); err != nil {
		return js.Undefined(), err
	}
	select {
	case s := <-ch:
		if !s.ok {
			return js.Undefined(), jsError(s.v)
		}
		return s.v, nil
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
}

// call calls v[method](args...) and returns a JS exception as an error
// instead of panicking.
func call(v js.Value, method string, args ...any) (res js.Value, err error) {
	defer catch(&err)
	return v.Call(method, args...), nil
}

// construct is new ctor(args...) returning a JS exception as an error.
func construct(ctor js.Value, args ...any) (res js.Value, err error) {
	defer catch(&err)
	return ctor.New(args...), nil
}

// invoke calls the function f returning a JS exception as an error.
func invoke(f js.Value, args ...any) (res js.Value, err error) {
	defer catch(&err)
	return f.Invoke(args...), nil
}

// catch turns a panic carrying a js.Error (a JS exception) into *err. Other
// panics go on.
func catch(err *error) {
	if x := recover(); x != nil {
		je, ok := x.(js.Error)
		if !ok {
			panic(x)
		}
		*err = jsError(je.Value)
	}
}

// JSError is a JavaScript exception or promise rejection.
type JSError struct {
	// Name is the error's name, such as "TypeError" or "AbortError" (empty
	// for a thrown non-Error value), Message its message.
	Name, Message string
}

func (e *JSError) Error() string {
	if e.Name == "" {
		return "js: " + e.Message
	}
	return "js: " + e.Name + ": " + e.Message
}

// jsError wraps a thrown JS value.
func jsError(v js.Value) error {
	if v.Type() == js.TypeObject {
		name, msg := v.Get("name"), v.Get("message")
		if name.Type() == js.TypeString || msg.Type() == js.TypeString {
			return &JSError{Name: stringOr(name, ""), Message: stringOr(msg, "")}
		}
	}
	if v.Type() == js.TypeString {
		return &JSError{Message: v.String()}
	}
	return &JSError{Message: safeString(v)}
}

// isAbort reports whether err is a JS AbortError (an aborted fetch).
func isAbort(err error) bool {
	var je *JSError
	return errors.As(err, &je) && je.Name == "AbortError"
}

// stringOr returns v as a string when it is one, else def.
func stringOr(v js.Value, def string) string {
	if v.Type() == js.TypeString {
		return v.String()
	}
	return def
}

// safeString is String(v), which cannot throw for anything but symbols and
// objects with throwing toString; those give "".
func safeString(v js.Value) (s string) {
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	return js.Global().Call("String", v).String()
}

// isDefined reports whether v is neither undefined nor null.
func isDefined(v js.Value) bool { return !v.IsUndefined() && !v.IsNull() }

// Cached constructors.
var (
	uint8Array = js.Global().Get("Uint8Array")
	object     = js.Global().Get("Object")
	jsArray    = js.Global().Get("Array")
	promise    = js.Global().Get("Promise")
)

// bytesToJS returns a new Uint8Array holding a copy of b.
func bytesToJS(b []byte) js.Value {
	u := uint8Array.New(len(b))
	js.CopyBytesToJS(u, b)
	return u
}

// bytesFromJS copies a Uint8Array, ArrayBuffer or string into Go.
func bytesFromJS(v js.Value) []byte {
	if v.Type() == js.TypeString {
		return []byte(v.String())
	}
	if !v.InstanceOf(uint8Array) {
		v = uint8Array.New(v)
	}
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

// newPromise returns a new promise and its resolve and reject functions.
func newPromise() (p, resolve, reject js.Value) {
	id, executor := callback(func(args []js.Value) {
		resolve, reject = arg(args, 0), arg(args, 1)
	})
	p = promise.New(executor) // the executor runs synchronously, now
	forget(id)
	return p, resolve, reject
}
