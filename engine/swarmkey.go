package engine

import (
	"crypto/sha1"
	"net/url"
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
	if u, err := url.Parse(manifestURL); err == nil {
		u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		u.User = nil
		base = u.String()
	} else if i := strings.IndexAny(base, "?#"); i >= 0 {
		base = base[:i]
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
