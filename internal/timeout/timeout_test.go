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

func TestSleepWaitsOrEndsWithTheContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := Sleep(context.Background(), time.Second); err != nil || time.Since(start) != time.Second {
			t.Fatalf("Sleep(1s) = %v after %v", err, time.Since(start))
		}
		if err := Sleep(context.Background(), -time.Second); err != nil || time.Since(start) != time.Second {
			t.Fatalf("Sleep(-1s) = %v, waited %v", err, time.Since(start)-time.Second)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) != 1300*time.Millisecond {
			t.Fatalf("Sleep cancelled after 300 ms = %v after %v", err, time.Since(start)-time.Second)
		}
	})
}
