//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmokeDataChannel validates the harness without any other part of
// nearcast: two Chromium processes in the namespace load e2e/web/rtc.html,
// the test carries offer and answer between them, and 8 MiB cross a data
// channel. It proves that candidates gather (on the veth address) and that
// one-browser-per-viewer works here.
func TestSmokeDataChannel(t *testing.T) {
	requireEnv(t)
	root := repoRoot(t)
	dir := outDir(t, "smoke-datachannel")
	s, err := startStatic(t, dir, false, mount{"/e2e/", filepath.Join(root, "e2e", "web")})
	if err != nil {
		t.Fatal(err)
	}
	a := startBrowser(t, dir, "viewer-0")
	b := startBrowser(t, dir, "viewer-1")
	for _, br := range []*browser{a, b} {
		if err := br.navigate(s.base + "/e2e/rtc.html"); err != nil {
			t.Fatalf("%s: %v", br.name, err)
		}
	}
	offer, err := eval[string](a, 20*time.Second, `__rtc.offer()`)
	if err != nil {
		t.Fatalf("offer: %v", err)
	}
	answer, err := eval[string](b, 20*time.Second, `__rtc.answer(`+jsString(offer)+`)`)
	if err != nil {
		t.Fatalf("answer: %v", err)
	}
	if _, err := eval[bool](a, 10*time.Second, `__rtc.accept(`+jsString(answer)+`)`); err != nil {
		t.Fatalf("accept: %v", err)
	}
	candsA, _ := eval[[]string](a, 5*time.Second, `__rtc.candidates()`)
	candsB, _ := eval[[]string](b, 5*time.Second, `__rtc.candidates()`)
	t.Logf("candidates: A %q, B %q", candsA, candsB)
	if len(candsA) == 0 || len(candsB) == 0 {
		t.Fatalf("no ICE candidates gathered (A %d, B %d): is the namespace's default route set?", len(candsA), len(candsB))
	}
	if !strings.Contains(strings.Join(candsA, " "), "10.77.0.1") {
		t.Errorf("A's candidates do not include the veth address 10.77.0.1: %q", candsA)
	}
	for _, br := range []*browser{a, b} {
		if _, err := eval[bool](br, 15*time.Second, `__rtc.waitOpen()`); err != nil {
			t.Fatalf("%s: data channel did not open: %v", br.name, err)
		}
	}
	const n = 8 << 20
	sendMs, err := eval[float64](a, 30*time.Second, `__rtc.send(`+itoa(n)+`)`)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var got float64
	for time.Now().Before(deadline) {
		got, err = eval[float64](b, 5*time.Second, `__rtc.received()`)
		if err != nil {
			t.Fatalf("received: %v", err)
		}
		if got >= n {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	pair, _ := eval[string](a, 5*time.Second, `__rtc.selectedPair()`)
	if got < n {
		t.Fatalf("B received %.0f of %d bytes", got, n)
	}
	res := map[string]any{
		"candidatesA": candsA, "candidatesB": candsB, "selectedPair": pair,
		"bytes": n, "sendMs": sendMs,
	}
	writeJSON(t, filepath.Join(dir, "summary.json"), res)
	t.Logf("data channel %s: %d MiB queued in %.0f ms, all received", pair, n>>20, sendMs)
}
