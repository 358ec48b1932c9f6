//go:build linux

// Command netdelay relays Ethernet frames between two network interfaces of
// one network namespace and delays every frame by a fixed time in each
// direction. It stands in for `tc qdisc ... netem delay` on kernels built
// without netem (scripts/netns-topology.sh uses it that way):
//
//	netdelay -a ncv1h -b ncv1r -delay-a2b 20ms -delay-b2a 20ms
//
// How: one AF_PACKET raw socket (ETH_P_ALL) bound to each interface, and
// one event loop (a single goroutine, relayLoop) for both directions. It
// waits in one ppoll for a frame on either socket or for the due time of
// the oldest queued frame; on a frame it reads everything waiting on that
// socket with recvmmsg (batches of 32; frames the relay itself sent are
// PACKET_OUTGOING and are skipped), stamps each with its due time (arrival
// + delay) and copies it into the direction's delay line, a bounded FIFO
// (frame and byte limits; a frame that does not fit is dropped and counted)
// whose bytes live in one reused arena; then it sends every frame that is
// due, in order, with sendmmsg (batches of 64). Every frame of a direction
// gets the same delay, so due times are in FIFO order and order is
// preserved. The ppoll timeout is relative and the kernel rounds it up, so
// frames never leave early.
//
// Cost: no allocation, channel operation or goroutine handoff per frame,
// and one wake-up serves every frame ready at that moment. Measured with
// TestRelayBench (bench_test.go), 3000 frames/s of 1214 bytes at SCHED_FIFO
// on a busy 2-core VM: ~29 ms of CPU per 1000 frames, 3-5x less than the
// earlier reader/writer goroutine pair with one read and one write syscall
// per frame (whose blocking syscalls also made the Go runtime hand its P
// between threads for every frame).
//
// Large segments: veth hands over TCP GSO skbs of up to 64 KiB whose
// checksum is not yet computed (CHECKSUM_PARTIAL). Both sockets use
// PACKET_VNET_HDR, so each frame is read with a struct virtio_net_hdr that
// describes its GSO type/size and checksum offsets, and is written back
// with that same header: the kernel rebuilds the GSO skb on the other side
// instead of refusing an over-MTU frame (EMSGSIZE) or sending a bad
// checksum.
//
// It runs until SIGTERM, SIGINT or SIGHUP and then prints its counters
// (frames, bytes and GSO frames each way, drops, how late frames left) to
// stderr. With -ready FILE it creates FILE once both sockets are bound.
// Needs CAP_NET_RAW. Exit status: 0 after a signal, 1 on a setup error
// (e.g. no such interface), 2 on bad flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	maxDelay = 60 * time.Second
	// readBufLen holds the vnet header and the largest skb veth hands
	// over (gso_max_size 64 KiB by default; BIG TCP can raise it, such
	// frames are counted as truncated drops).
	readBufLen = 256 << 10
	sockBuf    = 8 << 20 // SO_RCVBUF/SO_SNDBUF of each packet socket
	minFrame   = vnetHdrLen + 14
)

type config struct {
	a, b             string
	delayAB, delayBA time.Duration
	queueFrames      int
	queueBytes       int
	ready            string
}

// parseArgs parses and checks the command line. It does not look at the
// system (interfaces are checked by run).
func parseArgs(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("netdelay", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "usage: netdelay -a IF -b IF [-delay-a2b D] [-delay-b2a D] [flags]\n"+
			"Relays Ethernet frames between interfaces IF a and IF b (same network namespace),\n"+
			"delaying each by a fixed time per direction (e.g. 20ms). Needs CAP_NET_RAW.\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.a, "a", "", "first interface (required)")
	fs.StringVar(&c.b, "b", "", "second interface (required)")
	fs.DurationVar(&c.delayAB, "delay-a2b", 0, "delay of frames arriving on a and sent on b")
	fs.DurationVar(&c.delayBA, "delay-b2a", 0, "delay of frames arriving on b and sent on a")
	fs.IntVar(&c.queueFrames, "queue-frames", 8192, "max frames waiting per direction (more are dropped)")
	fs.IntVar(&c.queueBytes, "queue-bytes", 16<<20, "max bytes waiting per direction (more are dropped)")
	fs.StringVar(&c.ready, "ready", "", "create this file once both sockets are bound")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.a == "" || c.b == "":
		return c, errors.New("both -a and -b are required")
	case c.a == c.b:
		return c, fmt.Errorf("-a and -b are the same interface %q", c.a)
	case c.delayAB < 0 || c.delayBA < 0:
		return c, errors.New("delays must not be negative")
	case c.delayAB > maxDelay || c.delayBA > maxDelay:
		return c, fmt.Errorf("delays must be at most %v", maxDelay)
	case c.queueFrames < 1:
		return c, errors.New("-queue-frames must be at least 1")
	case c.queueBytes < readBufLen:
		return c, fmt.Errorf("-queue-bytes must be at least %d (one largest frame)", readBufLen)
	}
	return c, nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	c, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "netdelay: %v (see netdelay -h)\n", err)
		return 2
	}
	ifa, err := lookupInterface(c.a)
	if err != nil {
		fmt.Fprintf(stderr, "netdelay: %v\n", err)
		return 1
	}
	ifb, err := lookupInterface(c.b)
	if err != nil {
		fmt.Fprintf(stderr, "netdelay: %v\n", err)
		return 1
	}
	fda, err := openPacketSocket(ifa)
	if err != nil {
		fmt.Fprintf(stderr, "netdelay: %s: %v\n", c.a, err)
		return 1
	}
	fdb, err := openPacketSocket(ifb)
	if err != nil {
		fmt.Fprintf(stderr, "netdelay: %s: %v\n", c.b, err)
		return 1
	}

	stopFD, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		fmt.Fprintf(stderr, "netdelay: eventfd: %v\n", err)
		return 1
	}
	ab := newDirection(c.a+"->"+c.b, c.delayAB, c.queueFrames, c.queueBytes, fda, fdb)
	ba := newDirection(c.b+"->"+c.a, c.delayBA, c.queueFrames, c.queueBytes, fdb, fda)
	done := make(chan struct{})
	go func() {
		relayLoop([]*direction{ab, ba}, newMonoClock(), stopFD, stderr)
		close(done)
	}()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if c.ready != "" {
		if err := os.WriteFile(c.ready, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
			fmt.Fprintf(stderr, "netdelay: -ready: %v\n", err)
			return 1
		}
	}
	s := <-sig
	one := [8]byte{1}
	_, _ = unix.Write(stopFD, one[:]) // native-endian 1, any non-zero value wakes
	stopped := true
	select {
	case <-done:
	case <-time.After(2 * time.Second): // stuck in a send: report anyway
		stopped = false
	}
	fmt.Fprintf(stderr, "netdelay %s<->%s: stopped by %v\n", c.a, c.b, s)
	for _, d := range []*direction{ab, ba} {
		fmt.Fprintf(stderr, "netdelay %s\n", d.summary(stopped))
	}
	return 0
}

func lookupInterface(name string) (*net.Interface, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("interface %q not found in this network namespace (%v)", name, err)
	}
	if ifi.Flags&net.FlagUp == 0 {
		return nil, fmt.Errorf("interface %q is down (ip link set %s up)", name, name)
	}
	return ifi, nil
}

// direction is one way through the relay: frames read from rxFD wait in
// q for delay and are sent on txFD.
type direction struct {
	name       string
	delay      time.Duration
	q          *line
	st         stats
	rxFD, txFD int
	rx         *rxBatch
	txBatch    [][]byte
	tx         *txBatch
}

func newDirection(name string, delay time.Duration, queueFrames, queueBytes, rxFD, txFD int) *direction {
	return &direction{name: name, delay: delay, q: newLine(queueFrames, queueBytes), rxFD: rxFD, txFD: txFD,
		rx: newRxBatch(rxBatchLen), txBatch: make([][]byte, maxSendBatch), tx: newTxBatch(maxSendBatch)}
}

// socketDrops returns the frames the kernel dropped because the reading
// socket's buffer was full (PACKET_STATISTICS; reading it resets it).
func (d *direction) socketDrops() uint64 {
	s, err := unix.GetsockoptTpacketStats(d.rxFD, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0
	}
	return uint64(s.Drops)
}

// summary formats d's counters; the queue is only looked at if the event
// loop has returned (stopped), else "left queued" is -1.
func (d *direction) summary(stopped bool) string {
	st := &d.st
	left := -1
	if stopped {
		left, _ = d.q.len()
	}
	var lateAvg float64
	if n := st.txFrames.Load() + st.txErrors.Load(); n > 0 {
		lateAvg = float64(st.lateSumNs.Load()) / float64(n) / 1e6
	}
	return fmt.Sprintf("%s delay %v: rx %d frames (%d gso) %d bytes, tx %d frames %d bytes; "+
		"late avg %.3f ms max %.3f ms, >1ms %d; drops: socket %d queue %d truncated %d; errors rx %d tx %d; left queued %d",
		d.name, d.delay, st.rxFrames.Load(), st.rxGSO.Load(), st.rxBytes.Load(),
		st.txFrames.Load(), st.txBytes.Load(),
		lateAvg, float64(st.lateMaxNs.Load())/1e6, st.lateGt1.Load(),
		d.socketDrops(), st.queueDrops.Load(), st.truncDrops.Load(), st.rxErrors.Load(), st.txErrors.Load(), left)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openPacketSocket returns a raw packet socket bound to ifi that reads and
// writes frames with a virtio_net_hdr in front.
func openPacketSocket(ifi *net.Interface) (int, error) {
	// Protocol 0: receive nothing until bound to the one interface.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("AF_PACKET socket: %w (needs CAP_NET_RAW)", err)
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: %w", what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		return fail("PACKET_VNET_HDR", err)
	}
	// Not seeing our own writes at all saves work; the PACKET_OUTGOING
	// check in readLoop covers kernels without this option.
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[0], sockBuf) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[1], sockBuf)
		}
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	// veth does not filter by MAC, but other devices do.
	mreq := &unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq); err != nil {
		return fail("PACKET_MR_PROMISC", err)
	}
	return fd, nil
}

// rxBatchLen is the most frames read by one recvmmsg.
const rxBatchLen = 32

// rxBatch holds what one recvmmsg needs: a readBufLen buffer per message
// (only the pages the kernel writes into become resident) with its
// iovec, source address and header, all allocated once.
type rxBatch struct {
	bufs  [][]byte
	iovs  []unix.Iovec
	addrs []unix.RawSockaddrLinklayer
	hdrs  []unix.Mmsghdr
}

func newRxBatch(n int) *rxBatch {
	b := &rxBatch{bufs: make([][]byte, n), iovs: make([]unix.Iovec, n),
		addrs: make([]unix.RawSockaddrLinklayer, n), hdrs: make([]unix.Mmsghdr, n)}
	mem := make([]byte, n*readBufLen)
	for i := range n {
		b.bufs[i] = mem[i*readBufLen : (i+1)*readBufLen : (i+1)*readBufLen]
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(readBufLen)
		h := &b.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.addrs[i]))
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
	}
	return b
}

// recv reads up to len(b.hdrs) frames without waiting. The i-th frame's
// real length (MSG_TRUNC: may exceed readBufLen) is b.hdrs[i].Len.
func (b *rxBatch) recv(fd int) (int, error) {
	for i := range b.hdrs {
		b.hdrs[i].Hdr.Namelen = uint32(unsafe.Sizeof(b.addrs[i]))
		b.hdrs[i].Hdr.Flags = 0
	}
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.hdrs[0])),
			uintptr(len(b.hdrs)), unix.MSG_DONTWAIT|unix.MSG_TRUNC, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// txBatch holds the iovecs and headers of one sendmmsg.
type txBatch struct {
	iovs []unix.Iovec
	hdrs []unix.Mmsghdr
}

func newTxBatch(n int) *txBatch {
	b := &txBatch{iovs: make([]unix.Iovec, n), hdrs: make([]unix.Mmsghdr, n)}
	for i := range n {
		b.hdrs[i].Hdr.Iov = &b.iovs[i]
		b.hdrs[i].Hdr.SetIovlen(1)
	}
	return b
}

// send sends frames (at most len(b.hdrs)) on fd with one sendmmsg; see
// sendFunc. The socket is bound, so no address is given.
func (b *txBatch) send(fd int, frames [][]byte) (int, error) {
	for i, p := range frames {
		b.iovs[i].Base = &p[0]
		b.iovs[i].SetLen(len(p))
	}
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.hdrs[0])),
			uintptr(len(frames)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		for i := range frames {
			b.iovs[i].Base = nil
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// receive reads every frame waiting on d's socket (in batches, without
// blocking) and queues it. It returns an error only for a failed read
// (reported once per kind; the caller pauses so as not to spin).
func (d *direction) receive(clk clock, reported map[error]bool, stderr io.Writer) bool {
	delay := int64(d.delay)
	for range 16 { // at most 512 frames, then the sending side gets a turn
		n, err := d.rx.recv(d.rxFD)
		now := clk.now()
		if err != nil {
			if err == unix.EAGAIN {
				return true
			}
			d.st.rxErrors.Add(1)
			if !reported[err] && len(reported) < 16 {
				reported[err] = true
				fmt.Fprintf(stderr, "netdelay %s: receive: %v\n", d.name, err)
			}
			return false
		}
		for i := range n {
			if d.rx.addrs[i].Pkttype == unix.PACKET_OUTGOING {
				continue
			}
			size := int(d.rx.hdrs[i].Len)
			if size > readBufLen {
				d.st.truncDrops.Add(1)
				continue
			}
			if size < minFrame {
				d.st.rxErrors.Add(1)
				continue
			}
			accept(d.q, &d.st, d.rx.bufs[i][:size], now, delay)
		}
		if n < len(d.rx.hdrs) {
			return true
		}
	}
	return true
}

// relayLoop is the whole relay, in one goroutine: it waits in one ppoll for
// a frame on either socket, the next due time or stopFD; reads all waiting
// frames with recvmmsg; and sends every due frame of each direction with
// sendmmsg. No goroutine handoff, allocation or channel operation per
// frame, and one wake-up serves every frame that is ready. It returns when
// stopFD becomes readable.
//
// While frames are queued the syscalls are raw (the goroutine keeps its P
// while blocked in ppoll):
// with ordinary ones the Go runtime's sysmon hands the P to another thread
// while the loop waits and takes it back when it wakes, which cost two
// extra thread wake-ups per frame (measured: ~45 % of the relay's CPU).
// The runtime still preempts the goroutine (SIGURG: ppoll returns EINTR)
// when it must, e.g. for a GC or every 10 ms, and the other goroutines
// (signal handling, main) use the other P, or this one between preemptions.
// With nothing queued it waits in an ordinary syscall, so an idle relay
// costs nothing.
func relayLoop(dirs []*direction, clk clock, stopFD int, stderr io.Writer) {
	pfds := make([]unix.PollFd, len(dirs)+1)
	for i, d := range dirs {
		pfds[i] = unix.PollFd{Fd: int32(d.rxFD), Events: unix.POLLIN}
	}
	pfds[len(dirs)] = unix.PollFd{Fd: int32(stopFD), Events: unix.POLLIN}
	sends := make([]sendFunc, len(dirs))
	for i, d := range dirs {
		sends[i] = func(frames [][]byte) (int, error) { return d.tx.send(d.txFD, frames) }
	}
	reported := map[error]bool{}
	var ts unix.Timespec
	for {
		now := clk.now()
		next, waiting := int64(0), false
		for i, d := range dirs {
			if due, ok := sendDue(d.q, &d.st, now, d.txBatch, sends[i]); ok && (!waiting || due < next) {
				next, waiting = due, true
			}
		}
		var timeout *unix.Timespec
		if waiting {
			// Relative and rounded up by the kernel: never wakes early.
			ts = unix.NsecToTimespec(max(next-clk.now(), 0))
			timeout = &ts
		}
		var e syscall.Errno
		if waiting {
			_, _, e = unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfds[0])), uintptr(len(pfds)),
				uintptr(unsafe.Pointer(timeout)), 0, 0, 0)
		} else {
			// Nothing queued: the wait may be long, so let the
			// runtime have the P (and sysmon sleep) meanwhile.
			_, _, e = unix.Syscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfds[0])), uintptr(len(pfds)),
				0, 0, 0, 0)
		}
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			fmt.Fprintf(stderr, "netdelay: ppoll: %v\n", e)
			time.Sleep(time.Millisecond)
			continue
		}
		if pfds[len(dirs)].Revents != 0 {
			return
		}
		for i, d := range dirs {
			if pfds[i].Revents != 0 && !d.receive(clk, reported, stderr) {
				time.Sleep(time.Millisecond) // never spin on a persistent error
			}
		}
	}
}

// monoClock reads CLOCK_MONOTONIC through Go's vDSO-backed monotonic time
// and sleeps with clock_nanosleep on the same clock.
type monoClock struct {
	base int64 // CLOCK_MONOTONIC at t0
	t0   time.Time
}

func newMonoClock() *monoClock {
	var ts unix.Timespec
	t0 := time.Now()
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err)
	}
	return &monoClock{base: ts.Nano(), t0: t0}
}

func (c *monoClock) now() int64 { return c.base + int64(time.Since(c.t0)) }

func (c *monoClock) sleepUntil(t int64) {
	ts := unix.NsecToTimespec(t)
	for unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &ts, nil) == unix.EINTR {
	}
}
