//go:build e2e

package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// netnsGateway is the default gateway scripts/netns-run.sh sets: 10.77.0.2
// as /proc/net/route writes it (hex, little-endian).
const netnsGateway = "02004D0A"

// checkBrowser reports a missing or unusable Chromium. A missing browser is
// always a failure, in CI (CI=true) and elsewhere: these tests never skip.
func checkBrowser() error {
	p := chromiumPath()
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("chromium not found at %s (run scripts/install-browser.sh, as root): %w", p, err)
	}
	if st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", p)
	}
	return nil
}

// checkNetns reports when the process does not run inside the namespace
// scripts/netns-run.sh creates: the script's variables, only its interfaces,
// and its default route via the veth.
func checkNetns() error {
	const hint = "run the tests as `scripts/netns-run.sh bin/e2e.test -test.v` (make e2e): browser WebRTC tests must not run in the default network namespace"
	if os.Getenv("NEARCAST_NETNS") != "1" {
		return errors.New("NEARCAST_NETNS is not set; " + hint)
	}
	ifname := os.Getenv("NEARCAST_NETNS_IF")
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		if i.Name != "lo" && i.Name != ifname && i.Name != "nc1" {
			return fmt.Errorf("interface %q exists, so this is not netns-run.sh's namespace; %s", i.Name, hint)
		}
	}
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		// Iface Destination Gateway Flags ...
		if len(fs) >= 3 && fs[1] == "00000000" && fs[0] == ifname && strings.EqualFold(fs[2], netnsGateway) {
			return nil
		}
	}
	return fmt.Errorf("no default route via 10.77.0.2 dev %s; %s", ifname, hint)
}

// requireEnv fails the test unless the browser and the namespace are there.
func requireEnv(t *testing.T) {
	t.Helper()
	var errs []error
	if err := checkBrowser(); err != nil {
		errs = append(errs, err)
	}
	if err := checkNetns(); err != nil {
		errs = append(errs, err)
	}
	if err := checkFiles(repoRoot(t), baseFiles); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("preflight: %v", err)
	}
}

// requiredFile is a file the tests need and the make target that builds it.
type requiredFile struct{ path, target string }

// baseFiles are needed by every test.
var baseFiles = []requiredFile{
	{"bin/nearcast", "make build"},
}

// distDir and mediaDir are where `nearcast demo` finds the WASM build and
// the sample stream: its defaults, or NEARCAST_DIST / NEARCAST_MEDIA (passed
// on as --dist / --media).
func distDir() string  { return envOr("NEARCAST_DIST", "dist") }
func mediaDir() string { return envOr("NEARCAST_MEDIA", filepath.Join("out", "media")) }

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// demoFiles are needed by the demo-page scenarios (docs/wasm-api.md, files table).
func demoFiles() []requiredFile {
	return []requiredFile{
		{filepath.Join(distDir(), "nearcast.wasm"), "make wasm"},
		{filepath.Join(distDir(), "wasm_exec.js"), "make wasm"},
		{"player-shim/dist/nearcast.esm.js", "make shim"},
		{"player-shim/dist/nearcast.js", "make shim"},
		{"player-shim/node_modules/hls.js/dist/hls.mjs", "make shim (npm ci in player-shim/)"},
		{"player-shim/node_modules/hls.js/dist/hls.min.js", "make shim (npm ci in player-shim/)"},
		{filepath.Join(mediaDir(), "vod", "master.m3u8"), "make media (scripts/make-media.sh out/media)"},
	}
}

// interopFiles are needed by the p2p-media-loader interop test.
var interopFiles = []requiredFile{
	{"e2e/web/p2pml.html", "(in the repository)"},
	{"e2e/node_modules/hls.js/dist/hls.mjs", "make e2e-deps (npm ci in e2e/)"},
	{"e2e/node_modules/p2p-media-loader-core/dist/p2p-media-loader-core.es.js", "make e2e-deps (npm ci in e2e/)"},
	{"e2e/node_modules/p2p-media-loader-hlsjs/dist/p2p-media-loader-hlsjs.es.js", "make e2e-deps (npm ci in e2e/)"},
}

func checkFiles(root string, files []requiredFile) error {
	var missing []string
	for _, f := range files {
		p := f.path
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, fmt.Sprintf("%s (build it with: %s)", f.path, f.target))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing files:\n\t%s", strings.Join(missing, "\n\t"))
	}
	return nil
}

func requireFiles(t *testing.T, files []requiredFile) {
	t.Helper()
	if err := checkFiles(repoRoot(t), files); err != nil {
		t.Fatalf("preflight: %v", err)
	}
}

// TestPreflight checks everything the other tests need and reports all of it
// at once. It fails, never skips.
func TestPreflight(t *testing.T) {
	root := repoRoot(t)
	var errs []error
	for _, check := range []func() error{checkBrowser, checkNetns} {
		if err := check(); err != nil {
			errs = append(errs, err)
		}
	}
	all := append(append(append([]requiredFile{}, baseFiles...), demoFiles()...), interopFiles...)
	if err := checkFiles(root, all); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("preflight:\n%v", err)
	}
	t.Logf("preflight ok: chromium %s, inside netns-run.sh's namespace, repo %s", chromiumPath(), root)
}
