package signaling

import (
	"errors"

	"github.com/gorilla/websocket"
	"github.com/nearcast/nearcast/signaling/wtproto"
)

// handle processes one client frame on the goroutine reading c.
func (c *conn) handle(frame []byte) {
	msg, err := wtproto.Decode(frame)
	if err != nil {
		var e *wtproto.Error
		if !errors.As(err, &e) {
			e = &wtproto.Error{Action: wtproto.ActionAnnounce, Err: err}
		}
		c.s.metrics.in[kindInvalid].Inc()
		c.s.metrics.reject(reasonMalformed)
		c.fail(e.Action, e.InfoHash, e.Error())
		return
	}
	switch m := msg.(type) {
	case *wtproto.Announce:
		c.s.metrics.in[kindAnnounce].Inc()
		c.announce(m)
	case *wtproto.Answer:
		c.s.metrics.in[kindAnswer].Inc()
		c.answer(m)
	case *wtproto.Scrape:
		c.s.metrics.in[kindScrape].Inc()
		c.scrape(m)
	}
}

// fail queues a failure reply to this connection.
func (c *conn) fail(action string, h wtproto.InfoHash, reason string) {
	c.s.metrics.out[kindFailure].Inc()
	_ = c.enqueue(wtproto.AppendFailure(newFrame(), action, h, reason))
}

// allowed checks the connection's join token against swarm h.
func (c *conn) allowed(h wtproto.InfoHash) bool {
	if c.claims == nil {
		return true
	}
	if c.s.cfg.now().Unix() >= c.claims.Expires {
		c.s.metrics.reject(reasonToken)
		c.fail(wtproto.ActionAnnounce, h, "join token expired")
		c.close(websocket.ClosePolicyViolation, "join token expired", "")
		return false
	}
	if !c.claims.allows(h) {
		c.s.metrics.reject(reasonTokenSwarm)
		c.fail(wtproto.ActionAnnounce, h, ErrTokenSwarm.Error())
		return false
	}
	return true
}

func (c *conn) announce(a *wtproto.Announce) {
	if !c.allowed(a.InfoHash) {
		return
	}
	b := c.s.backend
	mine, joined := c.swarms[a.InfoHash]

	if a.Event == wtproto.EventStopped {
		if joined && mine == a.PeerID {
			b.Leave(a.InfoHash, a.PeerID, c.id)
			delete(c.swarms, a.InfoHash)
		} else if m, ok := b.Lookup(a.InfoHash, a.PeerID); ok && m.Conn != c.id {
			c.s.metrics.reject(reasonPeerIDTaken)
			c.fail(wtproto.ActionAnnounce, a.InfoHash, ErrPeerIDTaken.Error())
			return
		}
		c.respond(a.InfoHash, b.Counts(a.InfoHash))
		return
	}

	if !joined && len(c.swarms) >= c.s.cfg.maxSwarms {
		c.s.metrics.reject(reasonTooManySwarms)
		c.fail(wtproto.ActionAnnounce, a.InfoHash, "too many swarms on one connection")
		return
	}
	counts, err := b.Join(a.InfoHash, Member{Peer: a.PeerID, Conn: c.id, Where: c.loc, Seeder: a.Seeder})
	if err != nil {
		c.s.metrics.reject(reasonPeerIDTaken)
		c.fail(wtproto.ActionAnnounce, a.InfoHash, err.Error())
		return
	}
	if joined && mine != a.PeerID {
		// The connection changed its peer_id in this swarm: the old one goes.
		b.Leave(a.InfoHash, mine, c.id)
		counts = b.Counts(a.InfoHash)
	}
	if c.swarms == nil {
		c.swarms = make(map[wtproto.InfoHash]wtproto.PeerID, 1)
	}
	c.swarms[a.InfoHash] = a.PeerID
	c.respond(a.InfoHash, counts)

	n := min(len(a.Offers), c.s.cfg.maxOffers)
	if a.NumWant >= 0 {
		n = min(n, a.NumWant, c.s.cfg.maxNumWant)
	}
	if n == 0 {
		return
	}
	peers := b.Pick(a.InfoHash, PickRequest{Self: a.PeerID, Near: c.loc, N: n, RandomShare: c.s.cfg.randomShare})
	for i, p := range peers {
		o := a.Offers[i]
		env := Envelope{
			To:    p.Conn,
			Frame: wtproto.AppendOffer(newFrame(), a.InfoHash, a.PeerID, o.ID, o.SDP),
			Offer: &PendingOffer{Swarm: a.InfoHash, From: a.PeerID, ID: o.ID},
		}
		if b.Deliver(env) == nil {
			c.s.metrics.out[kindOffer].Inc()
			c.s.metrics.relayed[kindOffer].Inc()
		}
	}
}

func (c *conn) respond(h wtproto.InfoHash, n Counts) {
	c.s.metrics.out[kindAnnounce].Inc()
	interval := int(c.s.cfg.announceInterval.Seconds())
	_ = c.enqueue(wtproto.AppendAnnounceResponse(newFrame(), h, interval, n.Complete, n.Incomplete))
}

func (c *conn) answer(a *wtproto.Answer) {
	if !c.allowed(a.InfoHash) {
		return
	}
	if mine, ok := c.swarms[a.InfoHash]; !ok || mine != a.PeerID {
		c.s.metrics.reject(reasonNotMember)
		c.fail(wtproto.ActionAnnounce, a.InfoHash, ErrNotMember.Error())
		return
	}
	if !c.takePending(PendingOffer{Swarm: a.InfoHash, From: a.ToPeerID, ID: a.OfferID}) {
		c.s.metrics.reject(reasonUnmatchedAnswer)
		c.fail(wtproto.ActionAnnounce, a.InfoHash, "answer does not match an offer relayed to you")
		return
	}
	to, ok := c.s.backend.Lookup(a.InfoHash, a.ToPeerID)
	if !ok {
		c.s.metrics.reject(reasonPeerGone)
		c.fail(wtproto.ActionAnnounce, a.InfoHash, "the offering peer has left")
		return
	}
	env := Envelope{To: to.Conn, Frame: wtproto.AppendAnswer(newFrame(), a.InfoHash, a.PeerID, a.OfferID, a.SDP)}
	if err := c.s.backend.Deliver(env); err != nil {
		c.s.metrics.reject(reasonPeerGone)
		c.fail(wtproto.ActionAnnounce, a.InfoHash, "the offering peer has left")
		return
	}
	c.s.metrics.out[kindAnswer].Inc()
	c.s.metrics.relayed[kindAnswer].Inc()
}

// scrape answers with peer counts. The server does not keep download
// history, so "downloaded" is always 0.
func (c *conn) scrape(m *wtproto.Scrape) {
	files := make([]wtproto.ScrapeFile, 0, len(m.InfoHashes))
	for _, h := range m.InfoHashes {
		n := c.s.backend.Counts(h)
		files = append(files, wtproto.ScrapeFile{InfoHash: h, Complete: n.Complete, Incomplete: n.Incomplete})
	}
	c.s.metrics.out[kindScrape].Inc()
	_ = c.enqueue(wtproto.AppendScrapeResponse(newFrame(), files))
}
