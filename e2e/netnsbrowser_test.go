//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
	"golang.org/x/sys/unix"
)

// Browsers in per-viewer network namespaces (scripts/netns-topology.sh).
//
// Chromium's DevTools endpoint listens on 127.0.0.1 of the namespace the
// browser runs in, which this process (in the hub namespace) cannot reach,
// and Chromium ignores --remote-debugging-address. So the browser is started
// here with `ip netns exec`, and a forwarder listening on the hub's loopback
// opens each of its upstream connections from inside the viewer's namespace
// (a socket belongs to the namespace of the thread that created it), and
// chromedp attaches to the forwarder as to a remote browser.

var devtoolsLine = regexp.MustCompile(`DevTools listening on ws://127\.0\.0\.1:(\d+)(/devtools/browser/\S+)`)

// startBrowserInNetns starts Chromium in the named network namespace
// (/run/netns/<ns>) and opens one page. Like startBrowser, its output goes
// to dir/<name>.chromium.log and its console to dir/<name>.console.log, and
// it is stopped at cleanup.
func startBrowserInNetns(t testing.TB, dir, name, ns string) *browser {
	t.Helper()
	nsPath := filepath.Join("/run/netns", ns)
	profile, chromeLog := browserFiles(t, dir, name)
	args := append([]string{"netns", "exec", ns, chromiumPath()}, chromiumArgs()...)
	args = append(args, "--user-data-dir="+profile, "--remote-debugging-port=0", "about:blank")
	cmd := exec.Command("ip", args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = chromeLog
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: starting %s in netns %s: %v", name, chromiumPath(), ns, err)
	}
	w := watchProcess(cmd, stderr, chromeLog, devtoolsLine, syscall.SIGTERM)
	stopProc := w.stop
	var port, path string
	select {
	case m := <-w.match:
		port, path = m[1], m[2]
	case <-w.exited:
		t.Fatalf("%s: chromium in netns %s exited before its DevTools endpoint was up (see %s.chromium.log)", name, ns, name)
	case <-time.After(30 * time.Second):
		stopProc()
		t.Fatalf("%s: chromium in netns %s printed no DevTools line in 30 s", name, ns)
	}
	fwd, err := forwardIntoNetns(nsPath, "127.0.0.1:"+port)
	if err != nil {
		stopProc()
		t.Fatalf("%s: %v", name, err)
	}
	actx, acancel := remote.NewAllocator(context.Background(), "ws://"+fwd.Addr().String()+path, remote.NoModifyURL)
	ctx, ccancel := chromedp.NewContext(actx)
	b := &browser{name: name, ctx: ctx, proc: cmd.Process}
	b.cancel = func() {
		b.once.Do(func() {
			ccancel()
			acancel()
			stopProc()
			fwd.Close()
		})
	}
	t.Cleanup(b.cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: attaching to chromium in netns %s: %v", name, ns, err)
	}
	b.logConsole(t, dir)
	return b
}

// forwardIntoNetns listens on the hub's 127.0.0.1 and connects every
// accepted connection to target inside the network namespace at nsPath.
func forwardIntoNetns(nsPath, target string) (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := dialInNetns(nsPath, target)
				if err != nil {
					return
				}
				defer up.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return ln, nil
}

// dialInNetns opens a TCP connection from inside the network namespace at
// nsPath. The socket is created on a locked OS thread that has joined that
// namespace, and the thread goes back to its own namespace afterwards; if
// it cannot, the thread stays locked and dies with this goroutine.
func dialInNetns(nsPath, target string) (net.Conn, error) {
	runtime.LockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", syscall.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer self.Close()
	ns, err := os.Open(nsPath)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer ns.Close()
	if err := setns(ns); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("setns %s: %w", nsPath, err)
	}
	conn, dialErr := net.DialTimeout("tcp", target, 5*time.Second)
	if err := setns(self); err != nil {
		// Leave the thread locked: it is in the wrong namespace.
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("setns back: %w", err)
	}
	runtime.UnlockOSThread()
	return conn, dialErr
}

func setns(f *os.File) error {
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}

// checkTopology reports when the process does not run inside
// scripts/netns-topology.sh's hub with at least n viewer namespaces.
func checkTopology(n int) error {
	const hint = "run it as `scripts/netns-topology.sh run N ... -- bin/bench.test ...` (make bench)"
	if os.Getenv("NEARCAST_TOPOLOGY") != "1" {
		return errors.New("NEARCAST_TOPOLOGY is not set; " + hint)
	}
	prefix := os.Getenv("NEARCAST_VIEWER_NS_PREFIX")
	for i := 1; i <= n; i++ {
		if _, err := os.Stat(filepath.Join("/run/netns", prefix+itoa(i))); err != nil {
			return fmt.Errorf("viewer namespace %s%d is missing (%d viewers needed): %w; %s", prefix, i, n, err, hint)
		}
	}
	if strings.TrimSpace(os.Getenv("NEARCAST_HUB_ADDR")) == "" {
		return errors.New("NEARCAST_HUB_ADDR is not set; " + hint)
	}
	return nil
}
