package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nearcast/nearcast/signaling"
	"github.com/nearcast/nearcast/signaling/loadtest"
)

func TestLoadtestHelpListsEveryFlag(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"loadtest", "--help"}, io.Discard, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	var cfg loadtestConfig
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	cfg.register(fs)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		if !strings.Contains(stderr.String(), "--"+f.Name+" (default ") || !strings.Contains(stderr.String(), envName(f.Name)) {
			t.Errorf("help lacks --%s or %s", f.Name, envName(f.Name))
		}
	})
	if n < 16 {
		t.Fatalf("only %d flags registered", n)
	}
}

func TestLoadtestFlagsToConfig(t *testing.T) {
	t.Setenv("NEARCAST_OUTSTANDING", "7")
	t.Setenv("NEARCAST_LOCAL_ADDRS", "127.0.0.1, 127.0.0.2")
	t.Setenv("NEARCAST_CONNS", "9")
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	var c loadtestConfig
	c.register(fs)
	if err := parseFlags(fs, []string{"--conns", "50", "--offers", "0", "--switch-share", "0", "--quiet"}); err != nil {
		t.Fatal(err)
	}
	cfg := c.config(io.Discard)
	if cfg.Conns != 50 || cfg.Outstanding != 7 || len(cfg.LocalAddrs) != 2 || cfg.LocalAddrs[1] != "127.0.0.2" {
		t.Errorf("config %+v", cfg)
	}
	if cfg.Offers != -1 || cfg.SwitchShare != -1 || cfg.Progress != nil {
		t.Errorf("0 offers and 0 switch share must mean none, --quiet no progress: %+v", cfg)
	}
	if cfg.Swarms != loadtest.DefaultSwarms || cfg.SDPBytes != loadtest.DefaultSDPBytes || cfg.Duration != 30*time.Second {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestLoadtestCommand(t *testing.T) {
	srv, err := signaling.New(signaling.WithMaxConnsPerIP(0), signaling.WithMessageRate(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	}()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + srv.Path()
	out := filepath.Join(t.TempDir(), "bench", "loadtest.json")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = run(ctx, []string{"loadtest", "--url", url, "--conns", "40", "--swarms", "4", "--outstanding", "8",
		"--duration", "1200ms", "--json", out}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"closed mode, 40/40 connections", "announce", "offer → answer", "disconnects 0, failures 0"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "loadtest closed") {
		t.Errorf("no progress line on stderr: %q", stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep loadtest.Report
	if err := json.Unmarshal(b, &rep); err != nil || rep.Connected != 40 || rep.Received["answer"] == 0 || rep.AnnounceRTT.N == 0 {
		t.Fatalf("JSON report %s: %v", b, err)
	}
}
