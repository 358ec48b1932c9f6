package timeout

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestTimeoutReportsDeadlineExceeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := Context(context.Background(), time.Second)
		defer cancel()
		if ctx.Err() != nil {
			t.Fatalf("Err before the timeout: %v", ctx.Err())
		}
		start := time.Now()
		<-ctx.Done()
		if got := time.Since(start); got != time.Second {
			t.Errorf("done after %v, want 1s", got)
		}
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Errorf("Err = %v, want DeadlineExceeded", ctx.Err())
		}
		cancel()
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Errorf("Err after a late cancel = %v, want DeadlineExceeded still", ctx.Err())
		}
	})
}

func TestCancelReportsCanceledAndStopsTheTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := Context(context.Background(), time.Hour)
		cancel()
		<-ctx.Done()
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("Err = %v, want Canceled", ctx.Err())
		}
	})
}

func TestParentCancellationPropagates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, stop := context.WithCancel(context.Background())
		ctx, cancel := Context(parent, time.Hour)
		defer cancel()
		stop()
		<-ctx.Done()
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("Err = %v, want Canceled from the parent", ctx.Err())
		}
		if _, ok := ctx.Deadline(); ok {
			t.Error("Deadline reported one; this context has none")
		}
	})
}
