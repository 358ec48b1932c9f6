package signaling

import (
	"net/netip"

	"github.com/nearcast/nearcast/signaling/wtproto"
)

// NodeID numbers the nodes of a multi-node deployment. A single node is 0.
type NodeID uint16

// ConnID identifies one client connection across every node of a deployment.
type ConnID struct {
	Node NodeID
	Seq  uint64
}

// Locality says where a peer sits on the network, for peer choice.
type Locality struct {
	// Prefix is the peer's IPv4 /24 or IPv6 /48.
	Prefix netip.Prefix
	// ASN is the peer's autonomous system number, or 0 when unknown.
	ASN uint32
}

// Member is one peer of a swarm and the connection that owns its peer_id.
type Member struct {
	Peer   wtproto.PeerID
	Conn   ConnID
	Where  Locality
	Seeder bool
}

// Counts are a swarm's peer counts, as the tracker protocol reports them.
type Counts struct {
	// Complete counts seeders (peers that hold everything).
	Complete int
	// Incomplete counts the other peers.
	Incomplete int
}

// PickRequest asks a Backend for peers to send offers to.
type PickRequest struct {
	// Self is the offering peer, never picked.
	Self wtproto.PeerID
	// Near is the offerer's locality; nearby peers are preferred.
	Near Locality
	// N is the number of peers wanted.
	N int
	// RandomShare is the fraction of N (rounded up) chosen uniformly at
	// random whatever their locality, so that swarms stay connected.
	RandomShare float64
}

// PendingOffer records an offer delivered to a connection, so that the
// connection's answer can be checked against it.
type PendingOffer struct {
	Swarm wtproto.InfoHash
	From  wtproto.PeerID
	ID    wtproto.OfferID
}

// Envelope is a frame on its way to one connection, possibly on another node.
// Deliver takes ownership of Frame: the server may reuse its memory once it
// has been written to the connection.
type Envelope struct {
	To    ConnID
	Frame []byte
	// Offer is set when Frame relays an offer.
	Offer *PendingOffer
}

// Sink receives envelopes for a connection on this node.
type Sink interface {
	// Deliver queues env without blocking. It returns ErrQueueFull (and
	// disconnects the slow connection) when the queue is full.
	Deliver(env Envelope) error
}

// Backend holds swarm membership and routes envelopes to connections. The
// server calls it from many goroutines at once. Implementations must not
// assume that every peer is connected to this process: a multi-node backend
// keeps each swarm on one node and routes envelopes between nodes.
type Backend interface {
	// Join adds m to swarm h, or refreshes it if m.Peer is already bound to
	// m.Conn. It returns ErrPeerIDTaken, changing nothing, when m.Peer is
	// bound to another connection.
	Join(h wtproto.InfoHash, m Member) (Counts, error)
	// Leave removes peer p from swarm h if p is bound to conn, and reports
	// whether it did.
	Leave(h wtproto.InfoHash, p wtproto.PeerID, conn ConnID) bool
	// Lookup returns the member bound to peer p in swarm h.
	Lookup(h wtproto.InfoHash, p wtproto.PeerID) (Member, bool)
	// Pick chooses up to r.N members of swarm h other than r.Self.
	Pick(h wtproto.InfoHash, r PickRequest) []Member
	// Counts returns the peer counts of swarm h (zero when it is unknown).
	Counts(h wtproto.InfoHash) Counts
	// Attach registers a connection of this node so envelopes can reach it.
	Attach(id ConnID, s Sink)
	// Detach unregisters a connection.
	Detach(id ConnID)
	// Deliver routes env to the connection env.To.
	Deliver(env Envelope) error
	// Size returns the number of swarms and of peers, for metrics.
	Size() (swarms, peers int)
}
