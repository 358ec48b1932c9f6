//go:build linux

package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// pkt returns a fake packet-socket read: a 10-byte vnet header (gso_type
// at byte 1) and a frame of n bytes whose first byte is id.
func pkt(id byte, n int, gso bool) []byte {
	p := make([]byte, vnetHdrLen+n)
	if gso {
		p[1] = 1 // VIRTIO_NET_HDR_GSO_TCPV4
	}
	p[vnetHdrLen] = id
	return p
}

func TestQueueFIFOWrapAround(t *testing.T) {
	q := newQueue(4, 1<<20)
	next := byte(0)
	want := byte(0)
	for round := 0; round < 10; round++ {
		for i := 0; i < 3; i++ {
			if err := q.push(frame{due: int64(next), data: pkt(next, 20, false)}); err != nil {
				t.Fatalf("push %d: %v", next, err)
			}
			next++
		}
		for i := 0; i < 3; i++ {
			f, ok := q.pop()
			if !ok || f.data[vnetHdrLen] != want || f.due != int64(want) {
				t.Fatalf("pop got id %d due %d ok %v, want %d", f.data[vnetHdrLen], f.due, ok, want)
			}
			want++
		}
	}
	if n, b := q.len(); n != 0 || b != 0 {
		t.Fatalf("len = %d frames %d bytes, want 0 0", n, b)
	}
}

func TestQueueFrameLimit(t *testing.T) {
	q := newQueue(3, 1<<20)
	for i := 0; i < 3; i++ {
		if err := q.push(frame{data: pkt(byte(i), 10, false)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.push(frame{data: pkt(9, 10, false)}); !errors.Is(err, errQueueFull) {
		t.Fatalf("4th push: %v, want errQueueFull", err)
	}
	if f, _ := q.pop(); f.data[vnetHdrLen] != 0 {
		t.Fatalf("pop got %d, want 0 (the refused frame must not displace queued ones)", f.data[vnetHdrLen])
	}
	if err := q.push(frame{data: pkt(3, 10, false)}); err != nil {
		t.Fatalf("push after pop: %v", err)
	}
}

func TestQueueByteLimit(t *testing.T) {
	q := newQueue(100, 100)
	if err := q.push(frame{data: make([]byte, 60)}); err != nil {
		t.Fatal(err)
	}
	if err := q.push(frame{data: make([]byte, 41)}); !errors.Is(err, errQueueFull) {
		t.Fatalf("push over byte limit: %v, want errQueueFull", err)
	}
	if err := q.push(frame{data: make([]byte, 40)}); err != nil {
		t.Fatalf("push up to the limit: %v", err)
	}
	if n, b := q.len(); n != 2 || b != 100 {
		t.Fatalf("len = %d, %d; want 2, 100", n, b)
	}
	q.pop()
	if _, b := q.len(); b != 40 {
		t.Fatalf("bytes after pop = %d, want 40", b)
	}
}

func TestQueuePopWaitsAndCloseWakes(t *testing.T) {
	q := newQueue(4, 1<<20)
	got := make(chan bool)
	go func() {
		_, ok := q.pop()
		got <- ok
		_, ok = q.pop()
		got <- ok
	}()
	select {
	case <-got:
		t.Fatal("pop returned on an empty queue")
	case <-time.After(20 * time.Millisecond):
	}
	if err := q.push(frame{data: pkt(1, 10, false)}); err != nil {
		t.Fatal(err)
	}
	if ok := <-got; !ok {
		t.Fatal("pop after push: ok=false")
	}
	q.close()
	select {
	case ok := <-got:
		if ok {
			t.Fatal("pop after close: ok=true")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("close did not wake pop")
	}
	if err := q.push(frame{data: pkt(2, 10, false)}); !errors.Is(err, errClosed) {
		t.Fatalf("push after close: %v, want errClosed", err)
	}
}

// fakeClock jumps to the wake-up time when slept on; it records the sleeps.
type fakeClock struct {
	mu     sync.Mutex
	t      int64
	sleeps []int64
}

func (c *fakeClock) now() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleepUntil(t int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, t)
	if t > c.t {
		c.t = t
	}
}

func (c *fakeClock) set(t int64) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type sent struct {
	id byte
	at int64
}

// runForward feeds frames through accept (arrival times in ns, all with the
// same delay) and forward on a fake clock, and returns what was sent when.
func runForward(t *testing.T, clk *fakeClock, arrivals []int64, delay int64) ([]sent, *stats) {
	t.Helper()
	q := newQueue(len(arrivals)+1, 1<<30)
	st := &stats{}
	for i, at := range arrivals {
		accept(q, st, pkt(byte(i), 100, i%2 == 0), at, delay)
	}
	var out []sent
	done := make(chan struct{})
	go func() {
		forward(q, clk, st, func(p []byte) error {
			out = append(out, sent{p[vnetHdrLen], clk.now()})
			if len(out) == len(arrivals) {
				q.close()
			}
			return nil
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("forward did not return after close")
	}
	return out, st
}

func TestForwardHoldsEachFrameUntilDue(t *testing.T) {
	const ms = int64(time.Millisecond)
	clk := &fakeClock{}
	arrivals := []int64{0, 1 * ms, 1*ms + 500, 7 * ms, 30 * ms, 30 * ms}
	delay := 20 * ms
	out, st := runForward(t, clk, arrivals, delay)
	if len(out) != len(arrivals) {
		t.Fatalf("sent %d frames, want %d", len(out), len(arrivals))
	}
	for i, s := range out {
		if s.id != byte(i) {
			t.Fatalf("frame %d sent as #%d: order not preserved", s.id, i)
		}
		if want := arrivals[i] + delay; s.at != want {
			t.Errorf("frame %d left at %d, want %d (arrival + delay)", i, s.at, want)
		}
	}
	// The clock only jumps forward when slept on: one sleep per distinct
	// due time, none for the frame due at the same instant as the previous.
	if got, want := len(clk.sleeps), 5; got != want {
		t.Errorf("%d sleeps (%v), want %d", got, clk.sleeps, want)
	}
	if st.rxFrames.Load() != 6 || st.txFrames.Load() != 6 || st.rxGSO.Load() != 3 ||
		st.rxBytes.Load() != 600 || st.txBytes.Load() != 600 {
		t.Errorf("stats rx %d (gso %d) %d B, tx %d %d B; want 6 (3) 600 B, 6 600 B",
			st.rxFrames.Load(), st.rxGSO.Load(), st.rxBytes.Load(), st.txFrames.Load(), st.txBytes.Load())
	}
	if st.lateMaxNs.Load() != 0 || st.lateGt1.Load() != 0 {
		t.Errorf("lateness max %d ns, >1ms %d; want 0", st.lateMaxNs.Load(), st.lateGt1.Load())
	}
}

func TestForwardSendsOverdueFramesAtOnce(t *testing.T) {
	const ms = int64(time.Millisecond)
	clk := &fakeClock{}
	clk.set(50 * ms) // the writer fell behind: all three are overdue
	out, st := runForward(t, clk, []int64{0, 10 * ms, 29*ms + 500*1000}, 20*ms)
	for i, s := range out {
		if s.id != byte(i) || s.at != 50*ms {
			t.Errorf("frame %d: id %d sent at %d, want in order at %d", i, s.id, s.at, 50*ms)
		}
	}
	if len(clk.sleeps) != 0 {
		t.Errorf("slept %v for overdue frames", clk.sleeps)
	}
	if got := st.lateMaxNs.Load(); got != 30*ms {
		t.Errorf("max lateness %d, want %d", got, 30*ms)
	}
	if got := st.lateGt1.Load(); got != 2 {
		t.Errorf("frames more than 1 ms late: %d, want 2", got)
	}
}

func TestForwardCountsSendErrors(t *testing.T) {
	q := newQueue(4, 1<<20)
	st := &stats{}
	accept(q, st, pkt(0, 50, false), 0, 0)
	accept(q, st, pkt(1, 50, false), 0, 0)
	n := 0
	forward(q, &fakeClock{}, st, func([]byte) error {
		n++
		if n == 2 {
			q.close()
		}
		if n == 1 {
			return errors.New("ENOBUFS")
		}
		return nil
	})
	if st.txErrors.Load() != 1 || st.txFrames.Load() != 1 {
		t.Fatalf("tx errors %d frames %d, want 1 1", st.txErrors.Load(), st.txFrames.Load())
	}
}

func TestAcceptDropsWhenFull(t *testing.T) {
	q := newQueue(2, 1<<20)
	st := &stats{}
	for i := 0; i < 5; i++ {
		accept(q, st, pkt(byte(i), 100, false), int64(i), 10)
	}
	if st.rxFrames.Load() != 5 || st.queueDrops.Load() != 3 {
		t.Fatalf("rx %d drops %d, want 5 3", st.rxFrames.Load(), st.queueDrops.Load())
	}
	for i := 0; i < 2; i++ {
		f, _ := q.pop()
		if f.data[vnetHdrLen] != byte(i) || f.due != int64(i)+10 {
			t.Fatalf("queued frame %d: id %d due %d", i, f.data[vnetHdrLen], f.due)
		}
	}
}

// TestRealClockPipeline runs the delay line on the real clock (no sockets):
// frames arrive every 200 µs with a 5 ms delay. Frames must never leave
// early and must stay in order; the timing error is logged (it is asserted
// by scripts/netns-topology-test.sh on real links, where load is known).
func TestRealClockPipeline(t *testing.T) {
	clk := newMonoClock()
	const n = 200
	delay := int64(5 * time.Millisecond)
	q := newQueue(n, 1<<30)
	st := &stats{}
	arr := make([]int64, n)
	var errs []int64
	done := make(chan struct{})
	var prev = -1
	go func() {
		defer close(done)
		forward(q, clk, st, func(p []byte) error {
			now := clk.now()
			id := int(p[vnetHdrLen]) | int(p[vnetHdrLen+1])<<8
			if id != prev+1 {
				t.Errorf("frame %d after %d", id, prev)
			}
			prev = id
			errs = append(errs, now-(arr[id]+delay))
			if id == n-1 {
				q.close()
			}
			return nil
		})
	}()
	for i := 0; i < n; i++ {
		p := pkt(byte(i), 64, false)
		p[vnetHdrLen+1] = byte(i >> 8)
		arr[i] = clk.now()
		accept(q, st, p, arr[i], delay)
		clk.sleepUntil(arr[i] + int64(200*time.Microsecond))
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("pipeline did not finish")
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i] < errs[j] })
	if errs[0] < 0 {
		t.Errorf("a frame left %d ns early", -errs[0])
	}
	t.Logf("delay error over %d frames: min %v median %v p99 %v max %v", len(errs),
		time.Duration(errs[0]), time.Duration(errs[len(errs)/2]),
		time.Duration(errs[len(errs)*99/100]), time.Duration(errs[len(errs)-1]))
}

func TestParseArgs(t *testing.T) {
	good, err := parseArgs(strings.Fields("-a x -b y -delay-a2b 20ms -delay-b2a 1500us -ready /tmp/r"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if good.a != "x" || good.b != "y" || good.delayAB != 20*time.Millisecond ||
		good.delayBA != 1500*time.Microsecond || good.ready != "/tmp/r" ||
		good.queueFrames <= 0 || good.queueBytes < readBufLen {
		t.Fatalf("parsed %+v", good)
	}
	for _, tc := range []struct{ args, want string }{
		{"-b y", "both -a and -b"},
		{"-a x", "both -a and -b"},
		{"-a x -b x", "same interface"},
		{"-a x -b y -delay-a2b -1ms", "negative"},
		{"-a x -b y -delay-b2a 2m", "at most"},
		{"-a x -b y -delay-a2b 20", "invalid value"},
		{"-a x -b y -queue-frames 0", "-queue-frames"},
		{"-a x -b y -queue-bytes 1000", "-queue-bytes"},
		{"-a x -b y extra", "unexpected argument"},
		{"-a x -b y -nope", "not defined"},
	} {
		var out bytes.Buffer
		_, err := parseArgs(strings.Fields(tc.args), &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseArgs(%q) = %v, want error containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := parseArgs([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

func TestRunExitCodes(t *testing.T) {
	var out bytes.Buffer
	if rc := run([]string{"-a", "x"}, &out); rc != 2 {
		t.Errorf("bad flags: exit %d, want 2 (%s)", rc, out.String())
	}
	out.Reset()
	rc := run([]string{"-a", "nc-no-such-if0", "-b", "nc-no-such-if1"}, &out)
	if rc != 1 || !strings.Contains(out.String(), `interface "nc-no-such-if0" not found`) {
		t.Errorf("missing interface: exit %d, output %q; want 1 and a clear message", rc, out.String())
	}
}
