package peerwire

import (
	"math"
	"math/bits"
)

// NewBitfield returns the smallest Bitfield of swarm that announces exactly
// seqs: Base is the lowest sequence number (lowered, near 2^64, so that the
// bits end by 2^64-1) and the last byte of Bits is non-zero. Duplicates are allowed and order does not matter. It returns
// ErrBitfieldTooLarge if the highest and lowest sequence numbers are
// 8*MaxBitfieldBytes or more apart; split such sets, or announce the rest
// with Have. For an empty seqs it returns a Bitfield without bits.
func NewBitfield(swarm SwarmID, seqs []uint64) (*Bitfield, error) {
	m := &Bitfield{Swarm: swarm}
	if len(seqs) == 0 {
		return m, nil
	}
	lo, hi := seqs[0], seqs[0]
	for _, s := range seqs[1:] {
		lo, hi = min(lo, s), max(hi, s)
	}
	if hi-lo >= 8*MaxBitfieldBytes {
		return nil, wrap(ErrBitfieldTooLarge, "NewBitfield: span "+itoa(lo)+".."+itoa(hi))
	}
	n := (hi-lo)/8 + 1
	m.Base = min(lo, math.MaxUint64-(8*n-1))
	m.Bits = make([]byte, n)
	for _, s := range seqs {
		i := s - m.Base
		m.Bits[i/8] |= 0x80 >> (i % 8)
	}
	return m, nil
}

// Has reports whether the bitfield announces seq.
func (m *Bitfield) Has(seq uint64) bool {
	if m == nil || seq < m.Base {
		return false
	}
	i := seq - m.Base
	if i/8 >= uint64(len(m.Bits)) {
		return false
	}
	return m.Bits[i/8]&(0x80>>(i%8)) != 0
}

// Count returns the number of segments the bitfield announces.
func (m *Bitfield) Count() int {
	if m == nil {
		return 0
	}
	n := 0
	for _, b := range m.Bits {
		n += bits.OnesCount8(b)
	}
	return n
}

// AppendSeqs appends the announced sequence numbers to dst in ascending
// order and returns the extended slice; m.AppendSeqs(nil) expands the
// bitfield. It appends at most 8*len(m.Bits) values; a Bitfield that does
// not validate (its bits would pass 2^64-1) is expanded only up to 2^64-1.
func (m *Bitfield) AppendSeqs(dst []uint64) []uint64 {
	if m == nil {
		return dst
	}
	for i, b := range m.Bits {
		for b != 0 {
			j := bits.LeadingZeros8(b)
			b &^= 0x80 >> j
			off := uint64(i)*8 + uint64(j)
			if m.Base+off < m.Base { // wrapped past 2^64-1
				return dst
			}
			dst = append(dst, m.Base+off)
		}
	}
	return dst
}
