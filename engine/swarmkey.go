package engine

import (
	"crypto/sha1"
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
		base = strings.ToLower(scheme) + "://" + strings.ToLower(authority) + path
	}
	if rendition == "" {
		return SwarmID(base)
	}
	return SwarmID(base + "#" + rendition)
}

// SwarmKey returns the tracker info_hash of swarm id: the SHA-1 of
// "nearcast/v<ProtocolVersion>", a zero byte and the swarm ID.
func SwarmKey(id SwarmID) InfoHash {
	h := sha1.New()
	h.Write([]byte("nearcast/v"))
	h.Write([]byte(strconv.Itoa(ProtocolVersion)))
	h.Write([]byte{0})
	h.Write([]byte(id))
	var out InfoHash
	copy(out[:], h.Sum(nil))
	return out
}
