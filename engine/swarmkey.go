package engine

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"

	"github.com/nearcast/nearcast/segmentcache"
)

// ProtocolVersion is the engine protocol version folded into every swarm's
// info_hash. Bump it with any change that makes engines unable to share
// segments (wire format, segment identity).
const ProtocolVersion = 1

// SwarmID names a swarm: one rendition or audio track of one stream.
type SwarmID = segmentcache.SwarmID

// SwarmIDFor derives the swarm of a rendition from the stream's manifest URL
// and the rendition's name (such as its playlist URI, bandwidth or DASH
// representation ID; "" when the manifest is a single media playlist). The
// query string and fragment are dropped, so tokenised URLs of the same
// stream meet in one swarm; scheme and host are kept lower case.
func SwarmIDFor(manifestURL, rendition string) SwarmID {
	base := manifestURL
	if i := strings.IndexAny(base, "?#"); i >= 0 {
		base = base[:i]
	}
	// Lower-case the scheme and authority and drop user info; the path is
	// case-sensitive and stays as it is.
	if scheme, rest, ok := strings.Cut(base, "://"); ok {
		authority, path := rest, ""
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			authority, path = rest[:i], rest[i:]
		}
		if i := strings.LastIndexByte(authority, '@'); i >= 0 {
			authority = authority[i+1:]
		}
		base = lowerASCII(scheme) + "://" + lowerASCII(authority) + path
	}
	if rendition == "" {
		return SwarmID(base)
	}
	return SwarmID(base + "#" + rendition)
}

// SwarmKey returns the tracker info_hash of swarm id: the SHA-1 of
// "nearcast/v<ProtocolVersion>", a zero byte and the swarm ID.
func SwarmKey(id SwarmID) InfoHash {
	msg := []byte("nearcast/v" + strconv.Itoa(ProtocolVersion) + "\x00" + string(id))
	return sha1Sum(msg)
}

func sha1Sum(msg []byte) [20]byte {
	h := [5]uint32{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0}
	n := len(msg)
	msg = append(msg, 0x80)
	for len(msg)%64 != 56 {
		msg = append(msg, 0)
	}
	msg = binary.BigEndian.AppendUint64(msg, uint64(n)*8)
	var w [80]uint32
	for len(msg) > 0 {
		for i := 0; i < 16; i++ {
			w[i] = binary.BigEndian.Uint32(msg[4*i:])
		}
		for i := 16; i < 80; i++ {
			w[i] = bits.RotateLeft32(w[i-3]^w[i-8]^w[i-14]^w[i-16], 1)
		}
		a, b, c, d, e := h[0], h[1], h[2], h[3], h[4]
		for i := 0; i < 80; i++ {
			var f, k uint32
			switch {
			case i < 20:
				f, k = b&c|^b&d, 0x5A827999
			case i < 40:
				f, k = b^c^d, 0x6ED9EBA1
			case i < 60:
				f, k = b&c|b&d|c&d, 0x8F1BBCDC
			default:
				f, k = b^c^d, 0xCA62C1D6
			}
			t := bits.RotateLeft32(a, 5) + f + e + k + w[i]
			a, b, c, d, e = t, a, bits.RotateLeft32(b, 30), c, d
		}
		h[0] += a
		h[1] += b
		h[2] += c
		h[3] += d
		h[4] += e
		msg = msg[64:]
	}
	var out [20]byte
	for i, v := range h {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
	return out
}

// lowerASCII lower-cases the ASCII letters of s. Scheme and host are ASCII
// (browsers hand over hosts in punycode), and strings.ToLower would link
// the Unicode case tables into the WASM build.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
