package signaling

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is the signaling server. It serves the WebSocket endpoint, /healthz
// and /metrics; mount it with http.Server or any mux.
type Server struct {
	cfg      config
	backend  Backend
	metrics  *metrics
	upgrader websocket.Upgrader
	mux      *http.ServeMux
	log      *slog.Logger
	seq      atomic.Uint64

	poll     *poller
	work     *workers
	mu       sync.Mutex
	conns    map[*conn]struct{}
	perIP    map[netip.Addr]int
	closing  bool
	sweeping chan struct{}  // closed to stop the sweeper; nil while it is not running
	wg       sync.WaitGroup // one per connection being served
}

// New returns a Server. With no options it listens on /announce with an
// in-memory backend and the Default limits.
func New(opts ...Option) (*Server, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, invalid("nil option")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.backend == nil {
		cfg.backend = NewMemoryBackend()
	}
	m, err := newMetrics(cfg.backend)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		backend: cfg.backend,
		metrics: m,
		log:     cfg.logger,
		poll:    newPoller(),
		work:    newWorkers(),
		conns:   make(map[*conn]struct{}),
		perIP:   make(map[netip.Addr]int),
	}
	s.upgrader = websocket.Upgrader{
		// The frame gate reads ahead; the reader's own buffer only needs
		// to hold a frame header or a control frame.
		ReadBufferSize:  128,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     s.checkOrigin,
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET "+cfg.path, s.serveWebSocket)
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Path returns the WebSocket endpoint's path.
func (s *Server) Path() string { return s.cfg.path }

func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if closing {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("shutting down\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) checkOrigin(r *http.Request) bool {
	if len(s.cfg.origins) == 0 {
		return true
	}
	origin := strings.ToLower(strings.TrimSuffix(r.Header.Get("Origin"), "/"))
	if origin != "" && slices.Contains(s.cfg.origins, origin) {
		return true
	}
	s.metrics.reject(reasonOrigin)
	s.log.Info("origin refused", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
	return false
}

func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if closing {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}

	hj := &gateHijacker{ResponseWriter: w}
	ws, err := s.upgrader.Upgrade(hj, r, nil)
	if err != nil {
		s.wg.Done()
		return // the upgrader has answered with an HTTP error
	}
	s.metrics.handshakeIn.Inc()
	ip := clientIP(r, s.cfg.trusted)
	c := newConn(s, ws, hj.gate, ip)

	// Admission: each refusal is a failure frame and a close (1008, or 1001
	// when the server is shutting down), before the connection can touch any
	// swarm.
	var refuse error
	var reason string
	if s.cfg.tokenSecret != nil {
		claims, err := VerifyToken(s.cfg.tokenSecret, r.URL.Query().Get("token"), s.cfg.now())
		if err != nil {
			refuse, reason = err, reasonToken
		} else {
			c.claims = &claims
		}
	}
	if refuse == nil {
		if reason = s.admit(c); reason != "" {
			refuse = errors.New(admitErrors[reason])
		}
	}
	if refuse != nil {
		s.metrics.reject(reason)
		s.log.Info("connection refused", "reason", reason, "ip", ip, "err", refuse)
		code := websocket.ClosePolicyViolation
		if reason == reasonShutdown {
			code = websocket.CloseGoingAway
		}
		c.refuse(code, refuse.Error())
		s.wg.Done()
		return
	}
	// The handler returns now, and net/http lets go of the request; the
	// connection is served from here on by the poller (finish calls
	// s.wg.Done).
	c.start()
}

// gateHijacker hands gorilla/websocket the hijacked connection behind a
// frameGate, so that the server knows where every frame ends.
type gateHijacker struct {
	http.ResponseWriter
	gate *frameGate
}

func (h *gateHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.gate = newFrameGate(nc, nil)
	return h.gate, brw, nil
}

var admitErrors = map[string]string{
	reasonIPConnLimit: "too many connections from your address",
	reasonShutdown:    "server shutting down",
}

// admit registers c, enforcing the per-address connection cap. It returns
// the refusal reason, or "" when c is admitted.
func (s *Server) admit(c *conn) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return reasonShutdown
	}
	if s.cfg.maxConnsPerIP > 0 && s.perIP[c.ip] >= s.cfg.maxConnsPerIP {
		return reasonIPConnLimit
	}
	s.perIP[c.ip]++
	if len(s.conns) == 0 {
		s.sweeping = make(chan struct{})
		go s.sweeper(s.sweeping)
	}
	s.conns[c] = struct{}{}
	s.backend.Attach(c.id, c)
	s.metrics.conns.Inc()
	return ""
}

// release undoes admit once c has stopped: c leaves all its swarms at once.
func (s *Server) release(c *conn) {
	for h, p := range c.swarms {
		s.backend.Leave(h, p, c.id)
	}
	s.backend.Detach(c.id)
	s.mu.Lock()
	delete(s.conns, c)
	if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
		delete(s.perIP, c.ip)
	}
	if len(s.conns) == 0 && s.sweeping != nil {
		close(s.sweeping)
		s.sweeping = nil
		s.work.stop()
	}
	s.mu.Unlock()
	s.metrics.conns.Dec()
}

// Shutdown stops accepting connections, closes every open one with status
// 1001 (going away) and waits for them to finish, or for ctx. Stop the
// http.Server first (or at the same time) so no new upgrade is in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.closing = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close(websocket.CloseGoingAway, "server shutting down", reasonShutdown)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range conns {
			_ = c.ws.NetConn().Close()
		}
		<-done
		return ctx.Err()
	}
}
