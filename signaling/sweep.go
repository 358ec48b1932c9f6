package signaling

import (
	"time"

	"github.com/gorilla/websocket"
)

// sweepPeriod is how often the sweeper visits every connection: a quarter
// of the shortest keepalive or idle period, at most once a second.
func (cfg *config) sweepPeriod() time.Duration {
	d := min(cfg.pingInterval, cfg.pongWait, cfg.idleTimeout) / 4
	return max(5*time.Millisecond, min(d, time.Second))
}

// sweeper pings connections and closes dead and idle ones, for all
// connections at once, until stop is closed. It runs while the server has
// connections, so no connection needs a timer of its own.
func (s *Server) sweeper(stop <-chan struct{}) {
	t := time.NewTicker(s.cfg.sweepPeriod())
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			s.sweep(now)
		}
	}
}

func (s *Server) sweep(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.check(now.UnixNano())
	}
}

// check applies the keepalive and idle rules to c at time now (unix
// nanoseconds). It never blocks.
func (c *conn) check(now int64) {
	cfg := &c.s.cfg
	switch {
	case now-c.lastSeen.Load() > int64(cfg.pongWait):
		// No frame at all, not even a pong: the connection is half open.
		c.close(websocket.CloseNormalClosure, "", "")
	case now-c.lastMessage.Load() > int64(cfg.idleTimeout):
		c.close(websocket.CloseNormalClosure, "idle timeout", reasonIdle)
	case now >= c.nextPing:
		c.nextPing = now + int64(cfg.pingInterval)
		_ = c.enqueue(nil)
	}
}
