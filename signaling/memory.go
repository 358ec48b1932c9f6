package signaling

import (
	"hash/maphash"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"

	"github.com/nearcast/nearcast/signaling/wtproto"
)

// memoryShards spreads swarms over independently locked shards so that busy
// swarms do not serialise the whole server.
const memoryShards = 64

// MemoryBackend keeps swarms and connections of one process in memory. It is
// the default Backend.
type MemoryBackend struct {
	seed   maphash.Seed
	shards [memoryShards]memShard

	sinksMu sync.RWMutex
	sinks   map[ConnID]Sink
}

var _ Backend = (*MemoryBackend)(nil)

type memShard struct {
	mu     sync.Mutex
	swarms map[wtproto.InfoHash]*swarm
	peers  int
}

// swarm indexes its members three ways so that picking by locality costs
// time in proportion to the peers picked, not to the swarm's size.
type swarm struct {
	byPeer   map[wtproto.PeerID]*entry
	all      group
	byPrefix map[netip.Prefix]*group
	byASN    map[uint32]*group
	seeders  int
}

type entry struct {
	m                     Member
	allAt, prefixAt, asAt int
}

// group is a set of entries with O(1) insert, remove and random access. Each
// entry remembers its position through the accessor passed to add/remove.
type group struct{ list []*entry }

func (g *group) add(e *entry, at *int) {
	*at = len(g.list)
	g.list = append(g.list, e)
}

func (g *group) remove(at int, pos func(*entry) *int) {
	last := len(g.list) - 1
	moved := g.list[last]
	g.list[at] = moved
	*pos(moved) = at
	g.list[last] = nil
	g.list = g.list[:last]
}

func allPos(e *entry) *int    { return &e.allAt }
func prefixPos(e *entry) *int { return &e.prefixAt }
func asPos(e *entry) *int     { return &e.asAt }

// NewMemoryBackend returns an empty in-memory backend.
func NewMemoryBackend() *MemoryBackend {
	b := &MemoryBackend{seed: maphash.MakeSeed(), sinks: make(map[ConnID]Sink)}
	for i := range b.shards {
		b.shards[i].swarms = make(map[wtproto.InfoHash]*swarm)
	}
	return b
}

func (b *MemoryBackend) shard(h wtproto.InfoHash) *memShard {
	return &b.shards[maphash.String(b.seed, string(h))%memoryShards]
}

// Join implements Backend.
func (b *MemoryBackend) Join(h wtproto.InfoHash, m Member) (Counts, error) {
	sh := b.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.swarms[h]
	if s == nil {
		s = &swarm{
			byPeer:   make(map[wtproto.PeerID]*entry),
			byPrefix: make(map[netip.Prefix]*group),
			byASN:    make(map[uint32]*group),
		}
		sh.swarms[h] = s
	}
	if e, ok := s.byPeer[m.Peer]; ok {
		if e.m.Conn != m.Conn {
			return s.counts(), ErrPeerIDTaken
		}
		if e.m.Seeder != m.Seeder {
			if m.Seeder {
				s.seeders++
			} else {
				s.seeders--
			}
			e.m.Seeder = m.Seeder
		}
		return s.counts(), nil
	}
	e := &entry{m: m}
	s.byPeer[m.Peer] = e
	s.all.add(e, &e.allAt)
	s.groupFor(s.byPrefix, m.Where.Prefix).add(e, &e.prefixAt)
	if m.Where.ASN != 0 {
		groupForASN(s.byASN, m.Where.ASN).add(e, &e.asAt)
	}
	if m.Seeder {
		s.seeders++
	}
	sh.peers++
	return s.counts(), nil
}

func (s *swarm) groupFor(m map[netip.Prefix]*group, p netip.Prefix) *group {
	g := m[p]
	if g == nil {
		g = &group{}
		m[p] = g
	}
	return g
}

func groupForASN(m map[uint32]*group, asn uint32) *group {
	g := m[asn]
	if g == nil {
		g = &group{}
		m[asn] = g
	}
	return g
}

func (s *swarm) counts() Counts {
	return Counts{Complete: s.seeders, Incomplete: len(s.all.list) - s.seeders}
}

// Leave implements Backend.
func (b *MemoryBackend) Leave(h wtproto.InfoHash, p wtproto.PeerID, conn ConnID) bool {
	sh := b.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.swarms[h]
	if s == nil {
		return false
	}
	e, ok := s.byPeer[p]
	if !ok || e.m.Conn != conn {
		return false
	}
	delete(s.byPeer, p)
	s.all.remove(e.allAt, allPos)
	if g := s.byPrefix[e.m.Where.Prefix]; g != nil {
		g.remove(e.prefixAt, prefixPos)
		if len(g.list) == 0 {
			delete(s.byPrefix, e.m.Where.Prefix)
		}
	}
	if e.m.Where.ASN != 0 {
		if g := s.byASN[e.m.Where.ASN]; g != nil {
			g.remove(e.asAt, asPos)
			if len(g.list) == 0 {
				delete(s.byASN, e.m.Where.ASN)
			}
		}
	}
	if e.m.Seeder {
		s.seeders--
	}
	sh.peers--
	if len(s.all.list) == 0 {
		delete(sh.swarms, h)
	}
	return true
}

// Lookup implements Backend.
func (b *MemoryBackend) Lookup(h wtproto.InfoHash, p wtproto.PeerID) (Member, bool) {
	sh := b.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s := sh.swarms[h]; s != nil {
		if e, ok := s.byPeer[p]; ok {
			return e.m, true
		}
	}
	return Member{}, false
}

// Counts implements Backend.
func (b *MemoryBackend) Counts(h wtproto.InfoHash) Counts {
	sh := b.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s := sh.swarms[h]; s != nil {
		return s.counts()
	}
	return Counts{}
}

// Pick implements Backend: first peers in the offerer's prefix, then in its
// autonomous system, up to N minus the random share; the rest uniformly at
// random from the whole swarm.
func (b *MemoryBackend) Pick(h wtproto.InfoHash, r PickRequest) []Member {
	if r.N <= 0 {
		return nil
	}
	sh := b.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.swarms[h]
	if s == nil {
		return nil
	}
	p := picker{self: r.Self, out: make([]Member, 0, min(r.N, len(s.all.list)))}
	random := int(math.Ceil(float64(r.N) * r.RandomShare))
	near := r.N - min(random, r.N)
	if g := s.byPrefix[r.Near.Prefix]; g != nil && r.Near.Prefix.IsValid() {
		p.sample(g, near)
	}
	if g := s.byASN[r.Near.ASN]; g != nil && r.Near.ASN != 0 {
		p.sample(g, near-len(p.out))
	}
	p.sample(&s.all, r.N-len(p.out))
	return p.out
}

// picker collects the members Pick chooses. N is small (it is bounded by
// the numwant limit), so duplicates are found by scanning what is chosen.
type picker struct {
	self   wtproto.PeerID
	chosen []*entry
	out    []Member
}

func (p *picker) take(e *entry) bool {
	if e.m.Peer == p.self || slices.Contains(p.chosen, e) {
		return false
	}
	p.chosen = append(p.chosen, e)
	p.out = append(p.out, e.m)
	return true
}

// sample takes up to n entries of g at random that are neither the offerer
// nor already chosen. Random probes are bounded; a scan from a random start
// finishes the job when the group is mostly used up.
func (p *picker) sample(g *group, n int) {
	size := len(g.list)
	if n <= 0 || size == 0 {
		return
	}
	target := len(p.out) + n
	for tries := 4*n + 8; tries > 0 && len(p.out) < target; tries-- {
		p.take(g.list[rand.IntN(size)])
	}
	start := rand.IntN(size)
	for i := 0; i < size && len(p.out) < target; i++ {
		p.take(g.list[(start+i)%size])
	}
}

// Attach implements Backend.
func (b *MemoryBackend) Attach(id ConnID, s Sink) {
	b.sinksMu.Lock()
	b.sinks[id] = s
	b.sinksMu.Unlock()
}

// Detach implements Backend.
func (b *MemoryBackend) Detach(id ConnID) {
	b.sinksMu.Lock()
	delete(b.sinks, id)
	b.sinksMu.Unlock()
}

// Deliver implements Backend.
func (b *MemoryBackend) Deliver(env Envelope) error {
	b.sinksMu.RLock()
	s, ok := b.sinks[env.To]
	b.sinksMu.RUnlock()
	if !ok {
		return ErrUnknownConn
	}
	return s.Deliver(env)
}

// Size implements Backend.
func (b *MemoryBackend) Size() (swarms, peers int) {
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		swarms += len(sh.swarms)
		peers += sh.peers
		sh.mu.Unlock()
	}
	return swarms, peers
}
