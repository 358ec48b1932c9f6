package loadtest

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/nearcast/nearcast/signaling/wtproto"
)

// sdpVariants is how many different offers and answers are made up front;
// each message takes one at random.
const sdpVariants = 32

// iceChars are the characters of ice-ufrag and ice-pwd (RFC 8839, 5.4).
const iceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// makeSDP returns a plausible SDP (RFC 8866) of a browser's WebRTC
// data-channel offer or answer (RFC 8841 SCTP over DTLS, RFC 8839 ICE) of
// exactly size bytes: random ICE credentials, DTLS fingerprint and host,
// mDNS and server-reflexive candidates, as a browser sends once ICE
// gathering is complete. Candidates are added while they fit; the ICE
// password, which may be 22 to 256 characters long, takes up the rest.
func makeSDP(r *rand.Rand, offer bool, size int) string {
	var head, tail strings.Builder
	fmt.Fprintf(&head, "v=0\r\no=- %d 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", r.Int64())
	head.WriteString("a=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n")
	head.WriteString("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n")

	fmt.Fprintf(&tail, "a=ice-ufrag:%s\r\n", randString(r, iceChars, 4))
	pwdAt := tail.Len() + len("a=ice-pwd:")
	fmt.Fprintf(&tail, "a=ice-pwd:%s\r\n", randString(r, iceChars, 24))
	tail.WriteString("a=ice-options:trickle\r\na=fingerprint:sha-256 ")
	for i := range 32 {
		if i > 0 {
			tail.WriteByte(':')
		}
		fmt.Fprintf(&tail, "%02X", r.IntN(256))
	}
	setup := "actpass"
	if !offer {
		setup = "active"
	}
	fmt.Fprintf(&tail, "\r\na=setup:%s\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n", setup)

	var cands strings.Builder
	for n := 0; ; n++ {
		c := candidate(r, n)
		if head.Len()+cands.Len()+len(c)+tail.Len() > size {
			break
		}
		cands.WriteString(c)
	}
	t := tail.String()
	if pad := size - head.Len() - cands.Len() - len(t); pad > 0 {
		at := pwdAt
		t = t[:at] + randString(r, iceChars, pad) + t[at:]
	} else if pad < 0 { // size is below the bare skeleton: trim the password
		t = t[:pwdAt] + t[pwdAt-pad:]
	}
	return head.String() + cands.String() + t
}

// candidate returns the n-th ICE candidate line: mDNS host candidates over
// UDP, a server-reflexive one, then host candidates over TCP.
func candidate(r *rand.Rand, n int) string {
	foundation := r.Uint32()
	port := 49152 + r.IntN(16384)
	switch {
	case n < 2:
		return fmt.Sprintf("a=candidate:%d 1 udp %d %s.local %d typ host generation 0 network-id %d network-cost 10\r\n",
			foundation, 2122260223-n*1280, uuid(r), port, n+1)
	case n == 2:
		return fmt.Sprintf("a=candidate:%d 1 udp 1686052607 203.0.113.%d %d typ srflx raddr 0.0.0.0 rport 0 generation 0 network-id 1 network-cost 10\r\n",
			foundation, 1+r.IntN(254), port)
	}
	return fmt.Sprintf("a=candidate:%d 1 tcp %d 192.168.%d.%d 9 typ host tcptype active generation 0 network-id %d network-cost 10\r\n",
		foundation, 1518280447-n*1280, r.IntN(256), 1+r.IntN(254), n+1)
}

func uuid(r *rand.Rand) string {
	const hex = "0123456789abcdef"
	s := randString(r, hex, 32)
	return s[:8] + "-" + s[8:12] + "-4" + s[13:16] + "-" + s[16:20] + "-" + s[20:]
}

func randString(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// sdpObjects returns n JSON objects {"type":typ,"sdp":"…"}, each with its own
// SDP of size bytes, ready to copy into frames.
func sdpObjects(r *rand.Rand, offer bool, size, n int) [][]byte {
	typ := "answer"
	if offer {
		typ = "offer"
	}
	out := make([][]byte, n)
	for i := range out {
		b := append([]byte(`{"type":"`), typ...)
		b = append(b, `","sdp":`...)
		b = wtproto.AppendString(b, makeSDP(r, offer, size))
		out[i] = append(b, '}')
	}
	return out
}

// idChars are the characters of the generator's info_hash and peer_id
// "binary strings": U+0020 to U+00FF without the quote, the backslash and
// DEL. No JSON encoder escapes them, so the nearcast server and
// bittorrent-tracker both echo them byte for byte and a received info_hash
// can be compared with ours without decoding.
var idChars = func() []rune {
	var rs []rune
	for c := rune(0x20); c <= 0xFF; c++ {
		if c != '"' && c != '\\' && c != 0x7F {
			rs = append(rs, c)
		}
	}
	return rs
}()

// randomID returns a random info_hash or peer_id of wtproto.IDLength
// characters from idChars.
func randomID(r *rand.Rand) string {
	rs := make([]rune, wtproto.IDLength)
	for i := range rs {
		rs[i] = idChars[r.IntN(len(idChars))]
	}
	return string(rs)
}
