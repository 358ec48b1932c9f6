//go:build linux

package main

import (
	"context"
	"io"
	"os"
	"slices"
	"testing"
	"time"
)

func TestParseFlagsQuick(t *testing.T) {
	o, err := parseFlags([]string{"--quick", "--conns", "800"})
	if err != nil {
		t.Fatal(err)
	}
	if o.conns != 800 {
		t.Errorf("conns %d: an explicit flag must win over --quick", o.conns)
	}
	if o.phase != 5*time.Second || o.outstanding != 128 || !slices.Equal(o.idleSteps, []int{1000, 5000}) {
		t.Errorf("quick defaults not applied: phase %v outstanding %d steps %v", o.phase, o.outstanding, o.idleSteps)
	}
	if len(o.servers) != 2 {
		t.Errorf("servers %v", o.servers)
	}
	for _, bad := range [][]string{
		{"--servers", "opentracker"},
		{"--outstanding", "3000"},
		{"--idle-steps", "1000,x"},
		{"--phase", "1s"},
		{"extra"},
	} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestWatcherWindow(t *testing.T) {
	w := newWatcher(io.Discard, os.Getpid(), "test")
	lines := "loadtest closed ramp: conns 10/20 | sent/s announce 1\n" +
		"loadtest closed   0s: conns 20/20 | sent/s announce 1\n" +
		"loadtest closed   1s: conns 20/20 | sent/s announce 1\n" +
		"loadtest closed   2s: conns 20/20 | sent/s announce 1\n" +
		"loadtest closed   3s: conns 20/20 | sent/s announce 1\n" +
		"loadtest closed   4s: conns 19/20 | sent/s announce 1\n" +
		"loadtest closed   5s: conns 19/20 | sent/s announce 1\n"
	// Written in pieces, as a writer may be.
	for _, part := range []string{lines[:30], lines[30:100], lines[100:]} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-w.measured:
	default:
		t.Fatal("measured phase not noticed")
	}
	first, last, ok := w.window(5 * time.Second)
	if !ok || first.elapsed != 1 || last.elapsed != 4 {
		t.Errorf("window %d..%d ok %t, want 1..4", first.elapsed, last.elapsed, ok)
	}
	if w.alive != 19 {
		t.Errorf("alive %d, want 19", w.alive)
	}
	if _, _, ok := w.window(2 * time.Second); ok {
		t.Error("a 2 s phase has no whole second inside it to measure")
	}
}

func TestProc(t *testing.T) {
	pid := os.Getpid()
	if _, err := cpuSeconds(pid); err != nil {
		t.Error(err)
	}
	if n, err := fdCount(pid); err != nil || n < 3 {
		t.Errorf("fdCount %d, %v", n, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := settleRSS(ctx, pid, 400*time.Millisecond, 2*time.Second)
	if err != nil || s.RSS <= 0 {
		t.Errorf("settleRSS %+v, %v", s, err)
	}
	if _, err := settleRSS(ctx, 1<<30, time.Second, time.Second); err == nil {
		t.Error("settleRSS of no process: no error")
	}
}
