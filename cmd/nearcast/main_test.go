package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nearcast/nearcast/signaling"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServeHelpListsEveryFlagWithDefault(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"serve", "--help"}, io.Discard, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	var cfg serveConfig
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	cfg.register(fs)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		line := "--" + f.Name + " (default "
		if !strings.Contains(stderr.String(), line) || !strings.Contains(stderr.String(), envName(f.Name)) {
			t.Errorf("help lacks %s… or %s", line, envName(f.Name))
		}
	})
	if n < 20 {
		t.Fatalf("only %d flags registered", n)
	}
}

func TestEnvironmentSetsFlags(t *testing.T) {
	t.Setenv("NEARCAST_READ_LIMIT", "4096")
	t.Setenv("NEARCAST_ALLOWED_ORIGINS", "https://a.example, https://b.example")
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg serveConfig
	cfg.register(fs)
	if err := parseFlags(fs, []string{"--read-limit", "8192"}); err != nil {
		t.Fatal(err)
	}
	if cfg.readLimit != 8192 {
		t.Errorf("command line must win over the environment: read limit %d", cfg.readLimit)
	}
	if got := splitList(cfg.allowedOrigins); len(got) != 2 || got[1] != "https://b.example" {
		t.Errorf("origins from environment: %q", got)
	}
	t.Setenv("NEARCAST_MAX_SWARMS", "lots")
	if err := parseFlags(flag.NewFlagSet("serve", flag.ContinueOnError), nil); err != nil {
		t.Fatalf("unrelated flag set: %v", err)
	}
	fs = flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.register(fs)
	if err := parseFlags(fs, nil); err == nil || !strings.Contains(err.Error(), "NEARCAST_MAX_SWARMS") {
		t.Fatalf("bad environment value: %v", err)
	}
}

func TestServeStartsAndShutsDownGracefully(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--log-level", "error"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`listening on http://(127\.0\.0\.1:\d+) \(WebSocket (ws://\S+/announce)\)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("startup line %q", line)
	}
	ws, _, err := websocket.DefaultDialer.Dial(m[2], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	cancel() // what SIGTERM does
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	// A connection the server had not yet admitted when the shutdown began
	// is refused with a failure frame first; either way the close is 1001.
	for err == nil {
		_, _, err = ws.ReadMessage()
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("client saw %v, want close 1001", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not exit")
	}
}

func TestTokenCommand(t *testing.T) {
	var out bytes.Buffer
	secret := "0123456789abcdef0123"
	if err := run(context.Background(), []string{"token", "--token-secret", secret, "--ttl", "1m", "--subject", "qa"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	claims, err := signaling.VerifyToken([]byte(secret), strings.TrimSpace(out.String()), time.Now())
	if err != nil || claims.Subject != "qa" {
		t.Fatalf("token does not verify: %+v %v", claims, err)
	}
	if err := run(context.Background(), []string{"token"}, io.Discard, io.Discard); err == nil {
		t.Fatal("token without a secret succeeded")
	}
}

func TestUnknownCommand(t *testing.T) {
	if err := run(context.Background(), []string{"dance"}, io.Discard, io.Discard); err == nil {
		t.Fatal("unknown command accepted")
	}
}
