package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// demoDirs lays out the directories 'nearcast demo' serves, as the build
// leaves them, under a temporary root, and returns the flags naming them.
func demoDirs(t *testing.T) (root string, args []string) {
	t.Helper()
	root = t.TempDir()
	files := map[string]string{
		"web/index.html":                        "<!doctype html><title>demo</title>",
		"web/demo.js":                           "export {};",
		"media/vod/master.m3u8":                 "#EXTM3U\n",
		"media/vod/360p/index.m3u8":             "#EXTM3U\n",
		"media/vod/360p/seg000.ts":              strings.Repeat("G", 1000),
		"dist/nearcast.wasm":                    "\x00asm\x01\x00\x00\x00",
		"dist/wasm_exec.js":                     "globalThis.Go = class {};",
		"shim/nearcast.esm.js":                  "export const isSupported = () => false;",
		"shim/nearcast.js":                      "var nearcast = {};",
		"shim/nearcast.d.ts":                    "export {};",
		"vendor/hls.mjs":                        "export default class Hls {}",
		"vendor/hls.min.js":                     "var Hls = class {};",
		"dashjs/" + dashjsBuild:                 "var dashjs = {};",
		"dashjs/modern/esm/dash.all.min.js":     "export default {};",
		"dashjs/modern/umd/dash.all.min.js.map": "{}",
		"shaka/" + shakaBuild:                   "var shaka = {};",
		"shaka/shaka-player.compiled.d.ts":      "export {};",
		"media/dash/manifest.mpd":               "<MPD/>",
		"media/dash/init-stream0.m4s":           "init",
		"media/dash/chunk-stream0-00001.m4s":    strings.Repeat("D", 500),
		"media/hls-fmp4/master.m3u8":            "#EXTM3U\n",
		"media/hls-fmp4/360p/media.mp4":         strings.Repeat("F", 500),
		"extra/p2pml/index.html":                "<!doctype html><title>p2pml</title>",
		"extra/p2pml/lib/mod.mjs":               "export {};",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args = []string{
		"--addr", "127.0.0.1:0", "--log-level", "error",
		"--web", filepath.Join(root, "web"),
		"--media", filepath.Join(root, "media"),
		"--dist", filepath.Join(root, "dist"),
		"--shim", filepath.Join(root, "shim"),
		"--vendor", filepath.Join(root, "vendor"),
		"--vendor-dashjs", filepath.Join(root, "dashjs"),
		"--vendor-shaka", filepath.Join(root, "shaka"),
	}
	return root, args
}

// startDemo runs 'nearcast demo' with args until the test ends and returns
// its address (host:port).
func startDemo(t *testing.T, args []string) string {
	t.Helper()
	return startDemoLog(t, args, io.Discard)
}

// startDemoLog is startDemo with the demo's log written to stderr.
func startDemoLog(t *testing.T, args []string, stderr io.Writer) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, args, pw, stderr)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo returned %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("demo did not exit")
		}
	})
	br := bufio.NewReader(pr)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^nearcast: listening on http://(127\.0\.0\.1:\d+) \(WebSocket ws://127\.0\.0\.1:\d+/announce\)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("startup line %q", line)
	}
	hint, err := br.ReadString('\n')
	if err != nil || hint != "nearcast: open http://"+m[1]+"/ in two tabs\n" {
		t.Fatalf("second line %q, %v", hint, err)
	}
	go io.Copy(io.Discard, br)
	return m[1]
}

func newTestClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

type originCounts struct {
	Bytes    int64 `json:"bytes"`
	Requests int64 `json:"requests"`
}

func readOrigin(t *testing.T, c *http.Client, base string) originCounts {
	t.Helper()
	resp, body := get(t, c, base+"/demo/origin")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("/demo/origin: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	var o originCounts
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatalf("/demo/origin body %q: %v", body, err)
	}
	return o
}

func TestDemoServesEveryPartWithItsType(t *testing.T) {
	root, args := demoDirs(t)
	args = append(args, "--mount", "/p2pml/="+filepath.Join(root, "extra", "p2pml"))
	base := "http://" + startDemo(t, args)
	c := newTestClient(t)

	for _, tc := range []struct {
		path, ctype, cache string
	}{
		{"/", "text/html; charset=utf-8", "no-cache"},
		{"/demo.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/nearcast/nearcast.wasm", "application/wasm", "no-cache"},
		{"/nearcast/wasm_exec.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/nearcast/nearcast.esm.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/nearcast/nearcast.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/nearcast/nearcast.d.ts", "text/plain; charset=utf-8", "no-cache"},
		{"/vendor/hls.mjs", "text/javascript; charset=utf-8", "no-cache"},
		{"/vendor/hls.min.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/vendor/dashjs/" + dashjsBuild, "text/javascript; charset=utf-8", "no-cache"},
		{"/vendor/dashjs/modern/esm/dash.all.min.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/vendor/dashjs/modern/umd/dash.all.min.js.map", "application/json", "no-cache"},
		{"/vendor/shaka/" + shakaBuild, "text/javascript; charset=utf-8", "no-cache"},
		{"/vendor/shaka/shaka-player.compiled.d.ts", "text/plain; charset=utf-8", "no-cache"},
		{"/media/dash/manifest.mpd", "application/dash+xml", "no-store"},
		{"/media/dash/init-stream0.m4s", "video/iso.segment", "no-store"},
		{"/media/dash/chunk-stream0-00001.m4s", "video/iso.segment", "no-store"},
		{"/media/hls-fmp4/master.m3u8", "application/vnd.apple.mpegurl", "no-store"},
		{"/media/hls-fmp4/360p/media.mp4", "video/mp4", "no-store"},
		{"/media/vod/master.m3u8", "application/vnd.apple.mpegurl", "no-store"},
		{"/media/vod/360p/index.m3u8", "application/vnd.apple.mpegurl", "no-store"},
		{"/media/vod/360p/seg000.ts", "video/mp2t", "no-store"},
		{"/p2pml/", "text/html; charset=utf-8", "no-cache"},
		{"/p2pml/lib/mod.mjs", "text/javascript; charset=utf-8", "no-cache"},
	} {
		resp, _ := get(t, c, base+tc.path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", tc.path, resp.Status)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s: Content-Type %q, want %q", tc.path, got, tc.ctype)
		}
		if got := resp.Header.Get("Cache-Control"); got != tc.cache {
			t.Errorf("%s: Cache-Control %q, want %q", tc.path, got, tc.cache)
		}
	}
	for _, p := range []string{
		"/nearcast/", "/nearcast/missing.js", "/vendor/", "/media/vod/none.ts", "/nowhere",
		// Each vendor directory serves its own files only, and no listings.
		"/vendor/dashjs/", "/vendor/dashjs/modern/", "/vendor/shaka/",
		"/vendor/dashjs/hls.mjs", "/vendor/shaka/hls.mjs", "/vendor/" + shakaBuild, "/vendor/shaka/" + dashjsBuild,
	} {
		if resp, _ := get(t, c, base+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s, want 404", p, resp.Status)
		}
	}
	if resp, body := get(t, c, base+"/healthz"); resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("/healthz: %s %q", resp.Status, body)
	}
	if resp, body := get(t, c, base+"/metrics"); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "nearcast_signaling_connections") {
		t.Errorf("/metrics: %s", resp.Status)
	}
}

func TestDemoCountsOriginBytes(t *testing.T) {
	_, args := demoDirs(t)
	base := "http://" + startDemo(t, args)
	c := newTestClient(t)

	if o := readOrigin(t, c, base); o != (originCounts{}) {
		t.Fatalf("fresh counts %+v", o)
	}
	get(t, c, base+"/media/vod/master.m3u8")     // 8 bytes
	get(t, c, base+"/media/vod/360p/seg000.ts")  // 1000 bytes
	get(t, c, base+"/nearcast/nearcast.wasm")    // not media
	get(t, c, base+"/media/vod/360p/missing.ts") // a request, 404 body bytes
	req, _ := http.NewRequest(http.MethodGet, base+"/media/vod/360p/seg000.ts", nil)
	req.Header.Set("Range", "bytes=100-199")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("range: %s", resp.Status)
	}

	o := readOrigin(t, c, base)
	notFound := int64(len("404 page not found\n"))
	if want := (originCounts{Bytes: 8 + 1000 + notFound + 100, Requests: 4}); o != want {
		t.Fatalf("counts %+v, want %+v", o, want)
	}
	req, _ = http.NewRequest(http.MethodDelete, base+"/demo/origin", nil)
	if resp, err = c.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("reset: %v %v", resp, err)
	}
	resp.Body.Close()
	if o := readOrigin(t, c, base); o != (originCounts{}) {
		t.Fatalf("after reset %+v", o)
	}
}

func TestDemoSignalingUpgrades(t *testing.T) {
	root, args := demoDirs(t)
	// A directory without its build output is a warning, not an error: the
	// page falls back to plain hls.js.
	if err := os.Remove(filepath.Join(root, "dist", "nearcast.wasm")); err != nil {
		t.Fatal(err)
	}
	addr := startDemo(t, args)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial("ws://"+addr+"/announce", http.Header{"Origin": {"http://" + addr}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer ws.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
}

func TestDemoMissingDirectoriesNameTheMakeTarget(t *testing.T) {
	root, args := demoDirs(t)
	for _, d := range []string{"media", "dist", "vendor", "dashjs", "shaka"} {
		if err := os.RemoveAll(filepath.Join(root, d)); err != nil {
			t.Fatal(err)
		}
	}
	err := runDemo(context.Background(), args, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("demo started without its directories")
	}
	for _, want := range []string{`--media`, `"make media"`, `--dist`, `"make wasm"`, `--vendor`, `"make shim"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "--web") || strings.Contains(err.Error(), "--shim:") {
		t.Errorf("error names a directory that exists:\n%v", err)
	}
	// dash.js and Shaka are optional: their absence is a warning.
	if strings.Contains(err.Error(), "--vendor-dashjs") || strings.Contains(err.Error(), "--vendor-shaka") {
		t.Errorf("error names an optional directory:\n%v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestDemoWithoutDashjsOrShakaWarns(t *testing.T) {
	root, args := demoDirs(t)
	if err := os.RemoveAll(filepath.Join(root, "dashjs")); err != nil {
		t.Fatal(err)
	}
	// Shaka's directory is there but holds no build.
	if err := os.Remove(filepath.Join(root, "shaka", shakaBuild)); err != nil {
		t.Fatal(err)
	}
	// The sample was made before there was an fMP4 HLS packaging.
	if err := os.RemoveAll(filepath.Join(root, "media", "hls-fmp4")); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	base := "http://" + startDemoLog(t, append(args, "--log-level", "warn"), &log)
	c := newTestClient(t)

	// The warning is logged before the startup line that startDemoLog read.
	var warning string
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "cannot offer") {
			warning = line
		}
	}
	for _, want := range []string{
		"level=WARN", "player=dashjs", "--vendor-dashjs", filepath.Join(root, "dashjs"),
		"player=shaka", "--vendor-shaka", filepath.Join(root, "shaka", shakaBuild), `make shim`,
		"fMP4 HLS sample", filepath.Join(root, "media", "hls-fmp4", "master.m3u8"), `make media`,
	} {
		if !strings.Contains(warning, want) {
			t.Errorf("warning lacks %s: %q\nlog:\n%s", want, warning, log.String())
		}
	}
	for _, there := range []string{"hls.mjs", "DASH sample"} {
		if strings.Contains(log.String(), there) {
			t.Errorf("the log names %s, which is there:\n%s", there, log.String())
		}
	}

	for _, tc := range []struct {
		path string
		code int
	}{
		{"/vendor/hls.mjs", http.StatusOK},
		{"/", http.StatusOK},
		{"/vendor/dashjs/" + dashjsBuild, http.StatusNotFound},
		{"/vendor/shaka/" + shakaBuild, http.StatusNotFound},
		{"/vendor/shaka/shaka-player.compiled.d.ts", http.StatusOK},
	} {
		if resp, _ := get(t, c, base+tc.path); resp.StatusCode != tc.code {
			t.Errorf("%s: %s, want %d", tc.path, resp.Status, tc.code)
		}
	}
}

func TestDemoWithEveryPlayerDoesNotWarn(t *testing.T) {
	_, args := demoDirs(t)
	var log syncBuffer
	startDemoLog(t, append(args, "--log-level", "warn"), &log)
	if strings.Contains(log.String(), "cannot offer") {
		t.Errorf("warning with every player installed:\n%s", log.String())
	}
}

func TestDemoCountsDASHAndFMP4Bytes(t *testing.T) {
	_, args := demoDirs(t)
	base := "http://" + startDemo(t, args)
	c := newTestClient(t)
	get(t, c, base+"/vendor/dashjs/"+dashjsBuild) // not media
	_, seg := get(t, c, base+"/media/dash/chunk-stream0-00001.m4s")
	req, _ := http.NewRequest(http.MethodGet, base+"/media/hls-fmp4/360p/media.mp4", nil)
	req.Header.Set("Range", "bytes=10-59") // an EXT-X-BYTERANGE segment
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || len(part) != 50 {
		t.Fatalf("range: %s, %d bytes", resp.Status, len(part))
	}
	if o, want := readOrigin(t, c, base), (originCounts{Bytes: int64(len(seg)) + 50, Requests: 2}); o != want {
		t.Errorf("counts %+v, want %+v", o, want)
	}
}

// The live DASH stream is mounted at /media/live-dash/ (its own tests are
// in livedash_test.go): the test sample's MPD has no SegmentTemplate, so the
// handler, not the mux, answers — with its reason.
func TestDemoMountsLiveDASH(t *testing.T) {
	_, args := demoDirs(t)
	base := "http://" + startDemo(t, args)
	c := newTestClient(t)
	resp, body := get(t, c, base+"/media/live-dash/manifest.mpd")
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusOK {
		t.Fatalf("/media/live-dash/manifest.mpd over a sample without a SegmentTemplate: %s %q", resp.Status, body)
	}
	if resp, _ := get(t, c, base+"/media/live-dash/none"); resp.StatusCode == http.StatusOK {
		t.Errorf("/media/live-dash/none: %s", resp.Status)
	}
}

func TestDemoRejectsBadMounts(t *testing.T) {
	root, args := demoDirs(t)
	for _, m := range []string{
		"p2pml=" + root, "/a/../b/=" + root, "/media/=" + root, "/x/=" + filepath.Join(root, "nope"), "/x/",
		"/vendor/dashjs/=" + root, "/vendor/shaka/=" + root, "/media/live/=" + root,
	} {
		err := runDemo(context.Background(), append([]string{"--mount", m}, args...), io.Discard, io.Discard)
		if err == nil || errors.Is(err, context.Canceled) {
			t.Errorf("--mount %s accepted", m)
		}
	}
}
