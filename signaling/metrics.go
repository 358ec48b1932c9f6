package signaling

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Rejection reasons, the "reason" label of nearcast_signaling_rejections_total.
const (
	reasonReadLimit       = "read_limit"
	reasonRateLimit       = "rate_limit"
	reasonIPConnLimit     = "ip_conn_limit"
	reasonSlowReader      = "slow_reader"
	reasonMalformed       = "malformed"
	reasonPeerIDTaken     = "peer_id_taken"
	reasonNotMember       = "not_member"
	reasonUnmatchedAnswer = "unmatched_answer"
	reasonPeerGone        = "peer_gone"
	reasonTooManySwarms   = "too_many_swarms"
	reasonToken           = "token"
	reasonTokenSwarm      = "token_swarm"
	reasonOrigin          = "origin"
	reasonIdle            = "idle"
	reasonShutdown        = "shutdown"
)

// Message kinds, the label values of the message counters.
const (
	kindAnnounce = iota
	kindOffer
	kindAnswer
	kindScrape
	kindFailure
	kindInvalid
	numKinds
)

var kindNames = [numKinds]string{"announce", "offer", "answer", "scrape", "failure", "invalid"}

type metrics struct {
	// in, out and relayed hold the counters of msgsIn, msgsOut and relays
	// by kind (nil for a kind a counter never sees), looked up once: a
	// label lookup per message showed in the profile.
	in, out, relayed [numKinds]prometheus.Counter

	reg         *prometheus.Registry
	conns       prometheus.Gauge
	msgsIn      *prometheus.CounterVec
	msgsOut     *prometheus.CounterVec
	relays      *prometheus.CounterVec
	rejections  *prometheus.CounterVec
	handshakeIn prometheus.Counter
}

func newMetrics(b Backend) (*metrics, error) {
	const ns, sub = "nearcast", "signaling"
	m := &metrics{
		reg: prometheus.NewRegistry(),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "connections",
			Help: "Open WebSocket connections."}),
		msgsIn: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "messages_in_total",
			Help: "Messages received, by kind (announce, answer, scrape, invalid)."}, []string{"kind"}),
		msgsOut: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "messages_out_total",
			Help: "Messages queued for sending, by kind (announce, offer, answer, scrape, failure)."}, []string{"kind"}),
		relays: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "relays_total",
			Help: "Offers and answers relayed between peers."}, []string{"kind"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rejections_total",
			Help: "Refused requests and dropped connections, by reason."}, []string{"reason"}),
		handshakeIn: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "upgrades_total",
			Help: "Accepted WebSocket upgrades."}),
	}
	swarms := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "swarms",
		Help: "Swarms with at least one peer."}, func() float64 { s, _ := b.Size(); return float64(s) })
	peers := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "peers",
		Help: "Peers over all swarms."}, func() float64 { _, p := b.Size(); return float64(p) })
	for _, c := range []prometheus.Collector{m.conns, m.msgsIn, m.msgsOut, m.relays, m.rejections, m.handshakeIn,
		swarms, peers, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := m.reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, k := range []int{kindAnnounce, kindAnswer, kindScrape, kindInvalid} {
		m.in[k] = m.msgsIn.WithLabelValues(kindNames[k])
	}
	for _, k := range []int{kindAnnounce, kindOffer, kindAnswer, kindScrape, kindFailure} {
		m.out[k] = m.msgsOut.WithLabelValues(kindNames[k])
	}
	for _, k := range []int{kindOffer, kindAnswer} {
		m.relayed[k] = m.relays.WithLabelValues(kindNames[k])
	}
	return m, nil
}

func (m *metrics) reject(reason string) { m.rejections.WithLabelValues(reason).Inc() }
