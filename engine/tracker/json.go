package tracker

import (
	"strconv"
	"unicode/utf8"

	"github.com/nearcast/nearcast/internal/jsonscan"
	"github.com/nearcast/nearcast/internal/jsonstr"
)

// This file holds the package's JSON (RFC 8259) support: an appender for the
// strings of outgoing messages and a strict, bounded scanner for incoming
// ones. The package does not use encoding/json, which would add about
// 1.2 MB to the browser's WASM binary.

// maxDepth bounds the nesting of incoming JSON: the message object is at
// depth 1, an SDP object inside it at depth 2.
const maxDepth = jsonscan.MaxDepth

// appendString appends s as a JSON string (see jsonstr.Append).
func appendString(dst []byte, s string) []byte { return jsonstr.Append(dst, s) }

// appendBinary appends b as a JSON "binary string": each byte becomes the
// character of the same code point, U+0000 to U+00FF, as bittorrent-tracker
// sends info_hash and peer_id. Bytes 0x80 to 0xFF take two bytes of UTF-8.
func appendBinary(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	for _, c := range b {
		switch {
		case c >= utf8.RuneSelf:
			dst = append(dst, 0xC0|c>>6, 0x80|c&0x3F)
		case c < 0x20 || c == '"' || c == '\\':
			dst = jsonstr.AppendEscape(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// binaryID decodes a binary string (the UTF-8 text of a decoded JSON string)
// into 20 bytes. It fails unless s holds exactly 20 characters, each U+0000
// to U+00FF. s must be valid UTF-8.
func binaryID(s []byte) (id [20]byte, ok bool) {
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		if r > 0xFF || n == len(id) {
			return id, false
		}
		id[n] = byte(r)
		n++
		i += size
	}
	return id, n == len(id)
}

// scanner is the strict JSON scanner of internal/jsonscan; its syntax
// errors become ErrMalformed in decode.
type scanner = jsonscan.Scanner

// malformedAt returns an ErrMalformed error for the scanner's position.
func malformedAt(s *scanner, what string) error {
	return wrap(ErrMalformed, what+" at offset "+strconv.Itoa(s.Pos))
}

// validObject reports whether b is exactly one JSON object, optionally
// surrounded by whitespace, nested at most maxDepth-1 deep so that it still
// fits once embedded in a message.
func validObject(b []byte) bool {
	s := scanner{Data: b}
	s.SkipSpace()
	if s.Peek() != '{' {
		return false
	}
	return s.SkipObject(2) == nil && s.End() == nil
}
