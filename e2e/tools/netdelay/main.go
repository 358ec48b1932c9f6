//go:build linux

// Command netdelay relays Ethernet frames between two network interfaces of
// one network namespace and delays every frame by a fixed time in each
// direction. It stands in for `tc qdisc ... netem delay` on kernels built
// without netem (scripts/netns-topology.sh uses it that way):
//
//	netdelay -a ncv1h -b ncv1r -delay-a2b 20ms -delay-b2a 20ms
//
// How: one AF_PACKET raw socket (ETH_P_ALL) bound to each interface. A
// reader goroutine per direction receives every frame arriving on its
// interface (frames the relay itself sends are PACKET_OUTGOING and are
// skipped), stamps it with its due time (arrival + delay) and appends it to
// a bounded FIFO (frame and byte limits; a frame that does not fit is
// dropped and counted, the reader never blocks). A writer goroutine per
// direction takes the FIFO's head, sleeps until its due time with
// clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) (high-resolution timer,
// not Go's timer wheel) and sends it on the other interface. Every frame of
// a direction gets the same delay, so due times are in FIFO order and order
// is preserved.
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
	"sync/atomic"
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

	clk := newMonoClock()
	var stop atomic.Bool
	ab := &direction{name: c.a + "->" + c.b, delay: c.delayAB, q: newQueue(c.queueFrames, c.queueBytes), rxFD: fda}
	ba := &direction{name: c.b + "->" + c.a, delay: c.delayBA, q: newQueue(c.queueFrames, c.queueBytes), rxFD: fdb}
	for _, d := range []struct {
		dir     *direction
		in, out int
	}{{ab, fda, fdb}, {ba, fdb, fda}} {
		go readLoop(d.in, d.dir, clk, &stop, stderr)
		go forward(d.dir.q, clk, &d.dir.st, func(p []byte) error { return sendFrame(d.out, p) })
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if c.ready != "" {
		if err := os.WriteFile(c.ready, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
			fmt.Fprintf(stderr, "netdelay: -ready: %v\n", err)
			return 1
		}
	}
	s := <-sig
	stop.Store(true)
	ab.q.close()
	ba.q.close()
	fmt.Fprintf(stderr, "netdelay %s<->%s: stopped by %v\n", c.a, c.b, s)
	for _, d := range []*direction{ab, ba} {
		fmt.Fprintf(stderr, "netdelay %s\n", d.summary())
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

type direction struct {
	name  string
	delay time.Duration
	q     *queue
	st    stats
	rxFD  int // the socket this direction reads from
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

func (d *direction) summary() string {
	st := &d.st
	left, _ := d.q.len()
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

// recvFrame reads one frame (with its vnet header) into buf. n is the real
// length (MSG_TRUNC), which may exceed len(buf). No allocation.
func recvFrame(fd int, buf []byte, sa *unix.RawSockaddrLinklayer) (n int, err error) {
	salen := uint32(unsafe.Sizeof(*sa))
	r, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])),
		uintptr(len(buf)), unix.MSG_TRUNC, uintptr(unsafe.Pointer(sa)), uintptr(unsafe.Pointer(&salen)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func sendFrame(fd int, p []byte) error {
	for {
		_, err := unix.Write(fd, p)
		if err != unix.EINTR {
			return err
		}
	}
}

// readLoop receives frames on fd and queues them for d's writer.
func readLoop(fd int, d *direction, clk clock, stop *atomic.Bool, stderr io.Writer) {
	buf := make([]byte, readBufLen)
	var sa unix.RawSockaddrLinklayer
	reported := map[error]bool{}
	delay := int64(d.delay)
	for !stop.Load() {
		n, err := recvFrame(fd, buf, &sa)
		now := clk.now()
		if err != nil {
			if err == unix.EINTR || err == unix.EAGAIN {
				continue
			}
			d.st.rxErrors.Add(1)
			if !reported[err] && len(reported) < 16 {
				reported[err] = true
				fmt.Fprintf(stderr, "netdelay %s: receive: %v\n", d.name, err)
			}
			time.Sleep(time.Millisecond) // never spin on a persistent error
			continue
		}
		if sa.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if n > len(buf) {
			d.st.truncDrops.Add(1)
			continue
		}
		if n < minFrame {
			d.st.rxErrors.Add(1)
			continue
		}
		accept(d.q, &d.st, append([]byte(nil), buf[:n]...), now, delay)
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
