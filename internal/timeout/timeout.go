// Package timeout gives the browser build a context with a timeout that
// does not use the standard library's timer context.
//
// context.WithTimeout returns a context whose String method formats its
// deadline with time.Time.String; because the context is stored in an
// interface, the linker keeps that method and with it all of package time's
// formatting code (about 35 KB of WebAssembly). Context here behaves the
// same for the engine's purposes — Done closes after d, Err reports
// context.DeadlineExceeded after a timeout and context.Canceled after
// cancel — but has no Deadline (ok is false) and no String method.
package timeout

import (
	"context"
	"time"
)

// Context returns a copy of parent that is cancelled after d, when the
// returned cancel function is called, or when parent is done, whichever
// happens first. Callers must call cancel to release the timer.
func Context(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	t := time.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return causeContext{ctx}, func() {
		t.Stop()
		cancel(context.Canceled)
	}
}

// causeContext reports its cancellation cause as its error, as a timer
// context does: context.DeadlineExceeded after the timeout.
type causeContext struct{ context.Context }

func (c causeContext) Err() error {
	if c.Context.Err() == nil {
		return nil
	}
	return context.Cause(c.Context)
}

// Sleep waits d, or until ctx is done, and then returns ctx's error. A d
// of zero or less returns nil at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
