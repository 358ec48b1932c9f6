//go:build linux

package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRelayBench measures the relay binary on real links: CPU per packet
// and lateness for a stream of small UDP-sized frames. It is skipped unless
// NETDELAY_BENCH=1 (needs root: it runs itself again under `unshare -n`,
// in a throw-away network namespace, so no traffic leaves it):
//
//	NETDELAY_BENCH=1 go test -run TestRelayBench -v ./e2e/tools/netdelay/
//
// Layout (all in the private namespace):
//
//	nbA0 (sender) ══veth══ nbA1 ─ netdelay ─ nbB1 ══veth══ nbB0 (receiver)
//
// The sender writes Ethernet/IPv4/UDP frames of NETDELAY_BENCH_SIZE bytes
// (default 1200) on nbA0 with AF_PACKET, NETDELAY_BENCH_PPS per second
// (default 3000, ~29 Mbit/s) in bursts every NETDELAY_BENCH_TICK (default
// 1ms), for NETDELAY_BENCH_SECS seconds (default 4); with
// NETDELAY_BENCH_BIDIR=1 the same stream also runs nbB0 -> nbA0. The relay
// delays 20 ms each way and runs at SCHED_FIFO 10 unless
// NETDELAY_BENCH_PRIO=normal. NETDELAY_BENCH_BIN picks the relay binary
// (default: built from this package). Reported: relay CPU (utime+stime of
// /proc/PID/stat, and the more precise sum of its threads' schedstat) per
// 10^5 packets relayed, end-to-end extra delay seen by the receiver, and
// the relay's own counters.
func TestRelayBench(t *testing.T) {
	if os.Getenv("NETDELAY_BENCH") != "1" {
		t.Skip("set NETDELAY_BENCH=1 (root) to run the relay benchmark")
	}
	if os.Getenv("NETDELAY_BENCH_INNER") != "1" {
		bin := os.Getenv("NETDELAY_BENCH_BIN")
		if bin == "" {
			bin = filepath.Join(t.TempDir(), "netdelay")
			if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
				t.Fatalf("build: %v\n%s", err, out)
			}
		}
		cmd := exec.Command("unshare", "-n", os.Args[0], "-test.run=^TestRelayBench$", "-test.v")
		cmd.Env = append(os.Environ(), "NETDELAY_BENCH_INNER=1", "NETDELAY_BENCH_BIN="+bin)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("benchmark in a private namespace: %v", err)
		}
		return
	}
	benchInner(t)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

// relayCPU returns utime+stime (ns, from clock ticks), the sum of the
// threads' schedstat run time (ns) and the sum of their time slices
// (schedstat's third field: how often they were scheduled) of pid.
func relayCPU(pid int) (statNs, schedNs, slices int64) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		f := strings.Fields(s[i+2:])
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			k, _ := strconv.ParseInt(f[12], 10, 64)
			statNs = (u + k) * int64(time.Second) / 100 // USER_HZ
		}
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	for _, p := range tasks {
		b, _ := os.ReadFile(p)
		if f := strings.Fields(string(b)); len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			schedNs += v
		}
		if f := strings.Fields(string(b)); len(f) > 2 {
			v, _ := strconv.ParseInt(f[2], 10, 64)
			slices += v
		}
	}
	return
}

const benchMagic = 0x6e646c79 // "ndly"

func benchSocket(t *testing.T, ifname string) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := lookupInterface(ifname)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: idx.Index}); err != nil {
		t.Fatal(err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 8<<20)
	tv := unix.Timeval{Usec: 100000}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return fd
}

type benchRx struct {
	mu    sync.Mutex
	extra []int64 // ns beyond the configured delay
	n     int
	order int // frames received out of order
}

func benchInner(t *testing.T) {
	pps := envInt("NETDELAY_BENCH_PPS", 3000)
	secs := envInt("NETDELAY_BENCH_SECS", 4)
	size := envInt("NETDELAY_BENCH_SIZE", 1200)
	tick := time.Millisecond
	if d, err := time.ParseDuration(os.Getenv("NETDELAY_BENCH_TICK")); err == nil && d > 0 {
		tick = d
	}
	bidir := os.Getenv("NETDELAY_BENCH_BIDIR") == "1"
	const delay = 20 * time.Millisecond
	bin := os.Getenv("NETDELAY_BENCH_BIN")

	sh(t, "ip", "link", "set", "lo", "up")
	os.WriteFile("/proc/sys/net/ipv6/conf/all/disable_ipv6", []byte("1"), 0)
	os.WriteFile("/proc/sys/net/ipv6/conf/default/disable_ipv6", []byte("1"), 0)
	sh(t, "ip", "link", "add", "nbA0", "type", "veth", "peer", "name", "nbA1")
	sh(t, "ip", "link", "add", "nbB0", "type", "veth", "peer", "name", "nbB1")
	for _, l := range []string{"nbA0", "nbA1", "nbB0", "nbB1"} {
		sh(t, "ip", "link", "set", l, "arp", "off", "up")
	}

	ready := filepath.Join(t.TempDir(), "ready")
	args := []string{bin, "-a", "nbA1", "-b", "nbB1", "-delay-a2b", delay.String(), "-delay-b2a", delay.String(), "-ready", ready}
	prio := os.Getenv("NETDELAY_BENCH_PRIO")
	if prio != "normal" {
		prio = "rt"
		args = append([]string{"chrt", "-f", "10"}, args...)
	}
	relay := exec.Command(args[0], args[1:]...)
	stderrPipe, _ := relay.StderrPipe()
	if err := relay.Start(); err != nil {
		t.Fatal(err)
	}
	var relayOut []string
	outDone := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderrPipe)
		for sc.Scan() {
			relayOut = append(relayOut, sc.Text())
		}
		close(outDone)
	}()
	for i := 0; ; i++ {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if i > 250 {
			t.Fatal("relay not ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pid := relay.Process.Pid

	clk := newMonoClock()
	type path struct{ tx, rx int }
	paths := []path{{benchSocket(t, "nbA0"), benchSocket(t, "nbB0")}}
	if bidir {
		paths = append(paths, path{paths[0].rx, paths[0].tx})
	}
	var stopRx atomic.Bool
	rxs := make([]*benchRx, len(paths))
	var wg sync.WaitGroup
	var sent atomic.Int64
	total := pps * secs
	startCPU, startSched, startSlices := relayCPU(pid)
	t0 := time.Now()
	for pi, p := range paths {
		rx := &benchRx{extra: make([]int64, 0, total)}
		rxs[pi] = rx
		wg.Add(2)
		go func() { // receiver
			defer wg.Done()
			buf := make([]byte, 4096)
			next := uint32(0)
			for !stopRx.Load() {
				n, _, err := unix.Recvfrom(p.rx, buf, 0)
				now := clk.now()
				if err != nil || n < 42+16 || binary.BigEndian.Uint32(buf[42:]) != benchMagic ||
					buf[43+4] != byte(pi) {
					continue
				}
				seq := binary.BigEndian.Uint32(buf[48:])
				at := int64(binary.BigEndian.Uint64(buf[52:]))
				rx.mu.Lock()
				rx.n++
				if seq < next {
					rx.order++
				}
				next = seq + 1
				rx.extra = append(rx.extra, now-at-int64(delay))
				rx.mu.Unlock()
			}
		}()
		go func() { // sender: pps frames a second in bursts every tick
			defer wg.Done()
			frame := make([]byte, 14+size)
			for i := 0; i < 6; i++ {
				frame[i] = 0x02
				frame[6+i] = 0x02
			}
			frame[5], frame[11] = 0xb0, 0xa0
			frame[12], frame[13] = 0x08, 0x00
			ip := frame[14:]
			ip[0], ip[8], ip[9] = 0x45, 64, 17
			binary.BigEndian.PutUint16(ip[2:], uint16(size))
			copy(ip[12:], []byte{10, 79, 0, 1, 10, 79, 0, 2})
			binary.BigEndian.PutUint16(ip[20+4:], uint16(size-20))
			binary.BigEndian.PutUint32(frame[42:], benchMagic)
			frame[47] = byte(pi)
			perTick := float64(pps) * tick.Seconds()
			start := clk.now()
			acc := 0.0
			seq := uint32(0)
			for k := int64(1); int(seq) < total; k++ {
				acc += perTick
				for ; acc >= 1 && int(seq) < total; acc-- {
					binary.BigEndian.PutUint32(frame[48:], seq)
					binary.BigEndian.PutUint64(frame[52:], uint64(clk.now()))
					if _, err := unix.Write(p.tx, frame); err == nil {
						sent.Add(1)
					}
					seq++
				}
				clk.sleepUntil(start + k*int64(tick))
			}
		}()
	}
	// Wait for the senders (receivers run on until stopRx).
	for sent.Load() < int64(total*len(paths)) && time.Since(t0) < time.Duration(secs+5)*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(delay + 100*time.Millisecond)
	elapsed := time.Since(t0)
	endCPU, endSched, endSlices := relayCPU(pid)
	if os.Getenv("NETDELAY_BENCH_THREADS") == "1" {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
		for _, p := range tasks {
			b, _ := os.ReadFile(p)
			t.Logf("thread %s: %s", filepath.Base(filepath.Dir(p)), strings.TrimSpace(string(b)))
		}
	}
	stopRx.Store(true)
	wg.Wait()
	relay.Process.Signal(syscall.SIGTERM)
	<-outDone
	relay.Wait()

	relayed := 0
	var all []int64
	order := 0
	for _, rx := range rxs {
		relayed += rx.n
		order += rx.order
		all = append(all, rx.extra...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	var sum int64
	gt1 := 0
	for _, v := range all {
		sum += v
		if v > int64(time.Millisecond) {
			gt1++
		}
	}
	ms := func(v int64) string { return fmt.Sprintf("%.3f", float64(v)/1e6) }
	per := func(ns int64) string {
		if relayed == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.0f ms", float64(ns)/1e6*1e5/float64(relayed))
	}
	t.Logf("prio %s, %d B frames, %d pps x %d dir, tick %v, %.1fs: sent %d, relayed %d (%.1f Mbit/s total), out of order %d",
		prio, size, pps, len(paths), tick, elapsed.Seconds(), sent.Load(), relayed,
		float64(relayed)*float64(size+14)*8/elapsed.Seconds()/1e6, order)
	t.Logf("relay CPU: stat %s ms, schedstat %s ms (%.1f %% of a core); per 10^5 packets: stat %s, schedstat %s; %.2f time slices per packet",
		ms(endCPU-startCPU), ms(endSched-startSched), float64(endSched-startSched)/float64(elapsed)*100,
		per(endCPU-startCPU), per(endSched-startSched), float64(endSlices-startSlices)/float64(max(relayed, 1)))
	if len(all) > 0 {
		t.Logf("end-to-end extra delay: min %s avg %s p50 %s p99 %s p99.9 %s max %s ms, >1ms %d of %d",
			ms(all[0]), ms(sum/int64(len(all))), ms(all[len(all)/2]), ms(all[len(all)*99/100]),
			ms(all[len(all)*999/1000]), ms(all[len(all)-1]), gt1, len(all))
	}
	for _, l := range relayOut {
		t.Log(l)
	}
	if relayed == 0 {
		t.Fatal("nothing relayed")
	}
}
