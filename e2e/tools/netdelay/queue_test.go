//go:build linux

package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// popOne returns a copy of the oldest frame of l and its due time, and
// pops it.
func popOne(t *testing.T, l *line) ([]byte, int64) {
	t.Helper()
	if n, _ := l.len(); n == 0 {
		t.Fatal("pop from an empty line")
	}
	p, due := l.peek(0)
	p = append([]byte(nil), p...)
	l.pop(1)
	return p, due
}

func TestLineFIFOWrapAround(t *testing.T) {
	l := newLine(4, 1<<20)
	l.arena = make([]byte, 100) // small, to wrap often
	next, want := byte(0), byte(0)
	for round := 0; round < 20; round++ {
		for i := 0; i < 3; i++ {
			if err := l.push(pkt(next, 20, false), int64(next)); err != nil {
				t.Fatalf("push %d: %v", next, err)
			}
			next++
		}
		for i := 0; i < 3; i++ {
			p, due := popOne(t, l)
			if p[vnetHdrLen] != want || due != int64(want) || len(p) != vnetHdrLen+20 {
				t.Fatalf("pop got id %d due %d len %d, want %d", p[vnetHdrLen], due, len(p), want)
			}
			want++
		}
	}
	if len(l.arena) != 100 {
		t.Errorf("arena grew to %d although 3 frames of 30 bytes always fit in 100", len(l.arena))
	}
	if n, b := l.len(); n != 0 || b != 0 {
		t.Fatalf("len = %d frames %d bytes, want 0 0", n, b)
	}
}

// TestLineRandom checks the arena ring (wrap, grow) against a plain FIFO
// with random frame sizes and push/pop patterns.
func TestLineRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	l := newLine(64, 1<<20)
	l.arena = make([]byte, 300) // grows on demand
	var model [][]byte
	id := 0
	for step := 0; step < 20000; step++ {
		if rng.IntN(2) == 0 {
			p := make([]byte, vnetHdrLen+rng.IntN(200)+1)
			for i := range p {
				p[i] = byte(id + i)
			}
			id++
			err := l.push(p, int64(id))
			if len(model) == 64 {
				if !errors.Is(err, errQueueFull) {
					t.Fatalf("push to a full line: %v", err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("step %d: push: %v", step, err)
			}
			model = append(model, p)
		} else if len(model) > 0 {
			k := rng.IntN(len(model)) + 1
			for i := 0; i < k; i++ {
				p, _ := l.peek(i)
				if !bytes.Equal(p, model[i]) {
					t.Fatalf("step %d: frame %d differs", step, i)
				}
			}
			l.pop(k)
			model = model[k:]
		}
		n, b := l.len()
		sum := 0
		for _, p := range model {
			sum += len(p)
		}
		if n != len(model) || b != sum {
			t.Fatalf("step %d: len %d %d, want %d %d", step, n, b, len(model), sum)
		}
	}
	if len(l.arena) > 64*(vnetHdrLen+200)*2 {
		t.Errorf("arena grew to %d", len(l.arena))
	}
}

func TestLineFrameLimit(t *testing.T) {
	l := newLine(3, 1<<20)
	for i := 0; i < 3; i++ {
		if err := l.push(pkt(byte(i), 10, false), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.push(pkt(9, 10, false), 0); !errors.Is(err, errQueueFull) {
		t.Fatalf("4th push: %v, want errQueueFull", err)
	}
	if p, _ := popOne(t, l); p[vnetHdrLen] != 0 {
		t.Fatalf("pop got %d, want 0 (the refused frame must not displace queued ones)", p[vnetHdrLen])
	}
	if err := l.push(pkt(3, 10, false), 0); err != nil {
		t.Fatalf("push after pop: %v", err)
	}
}

func TestLineByteLimit(t *testing.T) {
	l := newLine(100, 100)
	if err := l.push(make([]byte, 60), 0); err != nil {
		t.Fatal(err)
	}
	if err := l.push(make([]byte, 41), 0); !errors.Is(err, errQueueFull) {
		t.Fatalf("push over byte limit: %v, want errQueueFull", err)
	}
	if err := l.push(make([]byte, 40), 0); err != nil {
		t.Fatalf("push up to the limit: %v", err)
	}
	if n, b := l.len(); n != 2 || b != 100 {
		t.Fatalf("len = %d, %d; want 2, 100", n, b)
	}
	l.pop(1)
	if _, b := l.len(); b != 40 {
		t.Fatalf("bytes after pop = %d, want 40", b)
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
	id    byte
	at    int64
	batch int
}

// runSendDue feeds frames through accept (arrival times in ns, all with the
// same delay) and then runs sendDue as the event loop does, on a fake
// clock, and returns what was sent when and in which send call.
func runSendDue(t *testing.T, clk *fakeClock, arrivals []int64, delay int64) ([]sent, *stats) {
	t.Helper()
	l := newLine(len(arrivals)+1, 1<<30)
	st := &stats{}
	for i, at := range arrivals {
		accept(l, st, pkt(byte(i), 100, i%2 == 0), at, delay)
	}
	var out []sent
	calls := 0
	batch := make([][]byte, maxSendBatch)
	for range 100 {
		next, ok := sendDue(l, st, clk.now(), batch, func(frames [][]byte) (int, error) {
			calls++
			for _, p := range frames {
				out = append(out, sent{p[vnetHdrLen], clk.now(), calls})
			}
			return len(frames), nil
		})
		if !ok {
			return out, st
		}
		clk.sleepUntil(next)
	}
	t.Fatal("sendDue did not empty the line")
	return nil, nil
}

func TestSendDueHoldsEachFrameUntilDue(t *testing.T) {
	const ms = int64(time.Millisecond)
	clk := &fakeClock{}
	arrivals := []int64{0, 1 * ms, 1*ms + 500, 7 * ms, 30 * ms, 30 * ms}
	delay := 20 * ms
	out, st := runSendDue(t, clk, arrivals, delay)
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
	// One wake-up and one send call per distinct due time: the two
	// frames due at the same instant leave together.
	if got, want := len(clk.sleeps), 5; got != want {
		t.Errorf("%d sleeps (%v), want %d", got, clk.sleeps, want)
	}
	if out[4].batch != out[5].batch || out[3].batch == out[4].batch {
		t.Errorf("frames due together were not sent in one call: %+v", out)
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

func TestSendDueSendsOverdueFramesAtOnce(t *testing.T) {
	const ms = int64(time.Millisecond)
	clk := &fakeClock{}
	clk.set(50 * ms) // the loop fell behind: all three are overdue
	out, st := runSendDue(t, clk, []int64{0, 10 * ms, 29*ms + 500*1000}, 20*ms)
	for i, s := range out {
		if s.id != byte(i) || s.at != 50*ms || s.batch != 1 {
			t.Errorf("frame %d: id %d sent at %d in call %d, want in order at %d in call 1", i, s.id, s.at, s.batch, 50*ms)
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

func TestSendDueBatchLimit(t *testing.T) {
	l := newLine(1000, 1<<30)
	st := &stats{}
	for i := 0; i < 150; i++ {
		accept(l, st, pkt(byte(i), 50, false), 0, 0)
	}
	var sizes []int
	next := 0
	_, ok := sendDue(l, st, 0, make([][]byte, maxSendBatch), func(frames [][]byte) (int, error) {
		sizes = append(sizes, len(frames))
		for _, p := range frames {
			if p[vnetHdrLen] != byte(next) {
				t.Fatalf("got frame %d, want %d", p[vnetHdrLen], next)
			}
			next++
		}
		return len(frames), nil
	})
	if ok || next != 150 || !slices.Equal(sizes, []int{64, 64, 22}) {
		t.Fatalf("ok %v, sent %d in calls %v; want all 150 in 64, 64, 22", ok, next, sizes)
	}
}

func TestSendDueCountsSendErrors(t *testing.T) {
	l := newLine(8, 1<<20)
	st := &stats{}
	for i := 0; i < 5; i++ {
		accept(l, st, pkt(byte(i), 50, false), 0, 0)
	}
	var got []byte
	_, ok := sendDue(l, st, 0, make([][]byte, maxSendBatch), func(frames [][]byte) (int, error) {
		// Like sendmmsg: frame 1 fails (ENOBUFS after sending frame 0),
		// frame 3 makes the next call fail outright.
		switch frames[0][vnetHdrLen] {
		case 0:
			got = append(got, 0)
			return 1, errors.New("ENOBUFS")
		case 2:
			got = append(got, 2)
			return 1, nil
		case 3:
			return -1, errors.New("EMSGSIZE")
		}
		for _, p := range frames {
			got = append(got, p[vnetHdrLen])
		}
		return len(frames), nil
	})
	if ok || !bytes.Equal(got, []byte{0, 2, 4}) {
		t.Fatalf("sent %v (line left non-empty: %v), want [0 2 4]", got, ok)
	}
	if st.txErrors.Load() != 2 || st.txFrames.Load() != 3 || st.txBytes.Load() != 150 {
		t.Fatalf("tx errors %d frames %d bytes %d, want 2 3 150", st.txErrors.Load(), st.txFrames.Load(), st.txBytes.Load())
	}
}

func TestAcceptDropsWhenFull(t *testing.T) {
	l := newLine(2, 1<<20)
	st := &stats{}
	for i := 0; i < 5; i++ {
		accept(l, st, pkt(byte(i), 100, false), int64(i), 10)
	}
	if st.rxFrames.Load() != 5 || st.queueDrops.Load() != 3 {
		t.Fatalf("rx %d drops %d, want 5 3", st.rxFrames.Load(), st.queueDrops.Load())
	}
	for i := 0; i < 2; i++ {
		p, due := popOne(t, l)
		if p[vnetHdrLen] != byte(i) || due != int64(i)+10 {
			t.Fatalf("queued frame %d: id %d due %d", i, p[vnetHdrLen], due)
		}
	}
}

// TestRelayLoopSocketpairs runs the real event loop (ppoll, recvmmsg,
// sendmmsg, eventfd stop) on the real clock, with datagram socketpairs
// standing in for the packet sockets: frames written every 200 µs in both
// directions with a 5 ms delay must come out in order, never early. The
// timing error is logged (it is asserted by scripts/netns-topology-test.sh
// on real links, where load is known).
func TestRelayLoopSocketpairs(t *testing.T) {
	pair := func() [2]int {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
		return fds
	}
	a, b := pair(), pair() // a[0]: outside of a, a[1]: relay's a socket
	stopFD, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(stopFD)
	const n = 200
	delay := 5 * time.Millisecond
	ab := newDirection("a->b", delay, n, 1<<20, a[1], b[1])
	ba := newDirection("b->a", delay, n, 1<<20, b[1], a[1])
	clk := newMonoClock()
	var stderr bytes.Buffer
	done := make(chan struct{})
	go func() {
		relayLoop([]*direction{ab, ba}, clk, stopFD, &stderr)
		close(done)
	}()
	sentAt := [2][n]int64{}
	var errs []int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for dir, fd := range []int{b[0], a[0]} { // receivers: a->b arrives at b[0]
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 512)
			for want := 0; want < n; want++ {
				m, err := unix.Read(fd, buf)
				now := clk.now()
				if err != nil || m != vnetHdrLen+64 {
					t.Errorf("dir %d: read %d bytes, %v", dir, m, err)
					return
				}
				id := int(buf[vnetHdrLen]) | int(buf[vnetHdrLen+1])<<8
				if id != want {
					t.Errorf("dir %d: frame %d, want %d", dir, id, want)
					return
				}
				mu.Lock()
				errs = append(errs, now-(sentAt[dir][id]+int64(delay)))
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		for dir, fd := range []int{a[0], b[0]} {
			p := pkt(byte(i), 64, false)
			p[vnetHdrLen+1] = byte(i >> 8)
			sentAt[dir][i] = clk.now()
			if _, err := unix.Write(fd, p); err != nil {
				t.Fatal(err)
			}
		}
		clk.sleepUntil(sentAt[1][i] + int64(200*time.Microsecond))
	}
	wg.Wait()
	unix.Write(stopFD, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("relayLoop did not return after stop")
	}
	for _, d := range []*direction{ab, ba} {
		if d.st.rxFrames.Load() != n || d.st.txFrames.Load() != n || d.st.txErrors.Load() != 0 {
			t.Errorf("%s: %s", d.name, d.summary(true))
		}
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr: %s", stderr.String())
	}
	if len(errs) != 2*n {
		t.Fatalf("%d frames received, want %d", len(errs), 2*n)
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
