package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/nearcast/nearcast/signaling"
	"github.com/nearcast/nearcast/signaling/asn"
)

// serveConfig holds the flags of 'nearcast serve'.
type serveConfig struct {
	addr             string
	path             string
	readLimit        int64
	msgRate          float64
	msgBurst         int
	maxConnsPerIP    int
	maxOffers        int
	maxNumWant       int
	maxSwarms        int
	sendQueue        int
	pingInterval     time.Duration
	pongWait         time.Duration
	idleTimeout      time.Duration
	writeTimeout     time.Duration
	announceInterval time.Duration
	offerTTL         time.Duration
	maxPendingOffers int
	randomShare      float64
	allowedOrigins   string
	tokenSecret      string
	tokenSecretFile  string
	trustedProxies   string
	asnDB            string
	logLevel         string
	logFormat        string
	shutdownTimeout  time.Duration
	pprofAddr        string
}

func (c *serveConfig) register(fs interface {
	StringVar(*string, string, string, string)
	Int64Var(*int64, string, int64, string)
	IntVar(*int, string, int, string)
	Float64Var(*float64, string, float64, string)
	DurationVar(*time.Duration, string, time.Duration, string)
}) {
	fs.StringVar(&c.addr, "addr", ":8080", "address to listen on (host:port; port 0 picks a free port)")
	fs.StringVar(&c.path, "path", signaling.DefaultPath, "WebSocket endpoint path")
	fs.Int64Var(&c.readLimit, "read-limit", signaling.DefaultReadLimit, "largest accepted message in bytes; larger closes with 1009")
	fs.Float64Var(&c.msgRate, "msg-rate", signaling.DefaultMessageRate, "messages per second per connection (token bucket rate; 0 disables)")
	fs.IntVar(&c.msgBurst, "msg-burst", signaling.DefaultMessageBurst, "message burst per connection (token bucket size)")
	fs.IntVar(&c.maxConnsPerIP, "max-conns-per-ip", signaling.DefaultMaxConnsPerIP, "simultaneous connections per client address (0: no cap)")
	fs.IntVar(&c.maxOffers, "max-offers", signaling.DefaultMaxOffers, "offers relayed per announce; extra offers are not relayed")
	fs.IntVar(&c.maxNumWant, "max-numwant", signaling.DefaultMaxNumWant, "clamp for the numwant a client asks for")
	fs.IntVar(&c.maxSwarms, "max-swarms", signaling.DefaultMaxSwarms, "swarms one connection may join")
	fs.IntVar(&c.sendQueue, "send-queue", signaling.DefaultSendQueue, "messages queued per connection before a slow reader is disconnected")
	fs.DurationVar(&c.pingInterval, "ping-interval", signaling.DefaultPingInterval, "WebSocket ping interval")
	fs.DurationVar(&c.pongWait, "pong-wait", signaling.DefaultPongWait, "drop a connection that sends nothing, not even a pong, for this long")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", signaling.DefaultIdleTimeout, "close a connection that sends no message for this long")
	fs.DurationVar(&c.writeTimeout, "write-timeout", signaling.DefaultWriteTimeout, "deadline for each write")
	fs.DurationVar(&c.announceInterval, "announce-interval", signaling.DefaultAnnounceInterval, "re-announce interval told to clients")
	fs.DurationVar(&c.offerTTL, "offer-ttl", signaling.DefaultOfferTTL, "how long an answer to a relayed offer is accepted")
	fs.IntVar(&c.maxPendingOffers, "max-pending-offers", signaling.DefaultMaxPendingOffers, "offers awaiting an answer remembered per connection")
	fs.Float64Var(&c.randomShare, "random-share", signaling.DefaultRandomShare, "share of offers sent to random peers regardless of locality (0..1)")
	fs.StringVar(&c.allowedOrigins, "allowed-origins", "", "comma-separated page origins allowed to connect (empty: any)")
	fs.StringVar(&c.tokenSecret, "token-secret", "", "require join tokens signed with this secret (at least 16 bytes)")
	fs.StringVar(&c.tokenSecretFile, "token-secret-file", "", "read the join token secret from this file")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs whose X-Forwarded-For is trusted (empty: none)")
	fs.StringVar(&c.asnDB, "asn-db", "", "MaxMind-format ASN database for grouping peers by network operator")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM/SIGINT, how long connections get to close")
	fs.StringVar(&c.pprofAddr, "pprof-addr", "", "serve Go's profiler (/debug/pprof/) on this separate address, e.g. 127.0.0.1:6060; empty disables")
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: want text or json, got %q", format)
}

// options turns the flags into signaling options. The returned closer
// releases what the options opened (the ASN database).
func (c *serveConfig) options(log *slog.Logger) ([]signaling.Option, func(), error) {
	opts := []signaling.Option{
		signaling.WithLogger(log),
		signaling.WithPath(c.path),
		signaling.WithReadLimit(c.readLimit),
		signaling.WithMessageRate(c.msgRate, c.msgBurst),
		signaling.WithMaxConnsPerIP(c.maxConnsPerIP),
		signaling.WithMaxOffers(c.maxOffers),
		signaling.WithMaxNumWant(c.maxNumWant),
		signaling.WithMaxSwarms(c.maxSwarms),
		signaling.WithSendQueue(c.sendQueue),
		signaling.WithKeepalive(c.pingInterval, c.pongWait),
		signaling.WithIdleTimeout(c.idleTimeout),
		signaling.WithWriteTimeout(c.writeTimeout),
		signaling.WithAnnounceInterval(c.announceInterval),
		signaling.WithOfferTTL(c.offerTTL),
		signaling.WithMaxPendingOffers(c.maxPendingOffers),
		signaling.WithRandomShare(c.randomShare),
	}
	if origins := splitList(c.allowedOrigins); len(origins) > 0 {
		opts = append(opts, signaling.WithAllowedOrigins(origins...))
	}
	secret, err := c.secret()
	if err != nil {
		return nil, nil, err
	}
	if secret != nil {
		opts = append(opts, signaling.WithTokenSecret(secret))
	}
	for _, s := range splitList(c.trustedProxies) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, nil, fmt.Errorf("--trusted-proxies: %w", err)
		}
		opts = append(opts, signaling.WithTrustedProxies(p))
	}
	closer := func() {}
	if c.asnDB != "" {
		db, err := asn.Open(c.asnDB)
		if err != nil {
			return nil, nil, fmt.Errorf("--asn-db: %w", err)
		}
		log.Info("ASN grouping enabled", "db", c.asnDB, "type", db.DatabaseType())
		opts = append(opts, signaling.WithLocator(db))
		closer = func() { _ = db.Close() }
	}
	return opts, closer, nil
}

func (c *serveConfig) secret() ([]byte, error) {
	switch {
	case c.tokenSecret != "" && c.tokenSecretFile != "":
		return nil, errors.New("set --token-secret or --token-secret-file, not both")
	case c.tokenSecretFile != "":
		b, err := os.ReadFile(c.tokenSecretFile)
		if err != nil {
			return nil, fmt.Errorf("--token-secret-file: %w", err)
		}
		return []byte(strings.TrimSpace(string(b))), nil
	case c.tokenSecret != "":
		return []byte(c.tokenSecret), nil
	}
	return nil, nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "Run the nearcast signaling server (WebTorrent tracker protocol over WebSocket).", stderr)
	var cfg serveConfig
	cfg.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.logLevel, cfg.logFormat)
	if err != nil {
		return err
	}
	opts, closeOpts, err := cfg.options(log)
	if err != nil {
		return err
	}
	defer closeOpts()
	srv, err := signaling.New(opts...)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	if cfg.pprofAddr != "" {
		stop, err := serveProfiler(cfg.pprofAddr, log)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer stop()
	}
	return serveUntilDone(ctx, ln, srv, srv, cfg.shutdownTimeout, log, stdout)
}

// serveProfiler serves net/http/pprof on its own listener, apart from the
// public endpoint, for profiling a server under load.
func serveProfiler(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof address: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	log.Info("profiler listening", "addr", ln.Addr().String())
	return func() { _ = hs.Close() }, nil
}

// serveUntilDone serves h on ln until ctx ends, then shuts down gracefully:
// stop accepting, close WebSockets with 1001, and wait at most timeout.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, sig *signaling.Server, timeout time.Duration, log *slog.Logger, stdout io.Writer) error {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	addr := ln.Addr().String()
	fmt.Fprintf(stdout, "nearcast: listening on http://%s (WebSocket ws://%s%s)\n", addr, addr, sig.Path())
	log.Info("listening", "addr", addr, "path", sig.Path())

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Stop accepting and close the WebSockets at the same time: http.Server
	// does not track hijacked connections.
	herr := make(chan error, 1)
	go func() { herr <- hs.Shutdown(sctx) }()
	serr := sig.Shutdown(sctx)
	if err := <-herr; err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("closing connections: %w", serr)
	}
	log.Info("stopped")
	return nil
}
