//go:build !wasm

package jsonscan

import (
	"encoding/binary"
	"unicode/utf8"
)

// skipPlain returns the end of the run of plain string characters (no
// quote, backslash, control character, or UTF-8 sequence longer than two
// bytes) that starts at i. SDP text is almost all such characters; the
// server's decoder spends most of its time here, so it tests eight bytes
// at a time (SWAR) before finishing byte by byte.
func skipPlain(data []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	// (v - n*ones) &^ v & highs is nonzero when some byte of v is below n,
	// provided no byte has its high bit set (which v&highs catches); a
	// byte equal to c is a zero byte of v^c. A false alarm only sends the
	// rest to the byte loop.
	for ; i+8 <= len(data); i += 8 {
		v := binary.LittleEndian.Uint64(data[i:])
		quote, backslash := v^('"'*ones), v^('\\'*ones)
		special := v&highs |
			(v-0x20*ones)&^v&highs |
			(quote-ones)&^quote&highs |
			(backslash-ones)&^backslash&highs
		if special != 0 {
			break
		}
	}
	for i < len(data) {
		switch c := data[i]; {
		case c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\':
			i++
		case c >= 0xC2 && c <= 0xDF && i+1 < len(data) && data[i+1]&0xC0 == 0x80:
			// A two-byte sequence (U+0080 to U+07FF), always valid: the
			// characters of the binary strings info_hash and peer_id.
			i += 2
		default:
			return i
		}
	}
	return i
}
