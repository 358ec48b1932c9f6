package tracker

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/nearcast/nearcast/internal/jsonstr"
)

// This file holds the package's JSON (RFC 8259) support: an appender for the
// strings of outgoing messages and a strict, bounded scanner for incoming
// ones. The package does not use encoding/json, which would add about
// 1.2 MB to the browser's WASM binary.

// maxDepth bounds the nesting of incoming JSON: the message object is at
// depth 1, an SDP object inside it at depth 2.
const maxDepth = 32

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

// scanner reads JSON text strictly: whitespace only where RFC 8259 allows
// it, no trailing commas, no comments, no control characters or invalid
// UTF-8 in strings, nesting at most maxDepth deep. Its input is bounded by
// the caller, so every method runs in time linear in the input.
type scanner struct {
	data []byte
	pos  int
}

// errorAt returns an ErrMalformed error locating the problem.
func (s *scanner) errorAt(what string) error {
	return wrap(ErrMalformed, what+" at offset "+strconv.Itoa(s.pos))
}

// peek returns the byte at the read position, or 0 at the end of the input
// (0 is not valid JSON outside strings, so it never matches a token).
func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// expect consumes the byte c, after optional whitespace.
func (s *scanner) expect(c byte, what string) error {
	s.skipSpace()
	if s.peek() != c {
		return s.errorAt("expected " + what)
	}
	s.pos++
	return nil
}

// end checks that only whitespace is left.
func (s *scanner) end() error {
	s.skipSpace()
	if s.pos != len(s.data) {
		return s.errorAt("trailing data")
	}
	return nil
}

// skipValue validates and skips one value. depth is the nesting depth of
// the container holding the value (0 at the top level).
func (s *scanner) skipValue(depth int) error {
	s.skipSpace()
	switch c := s.peek(); {
	case c == '{':
		return s.skipObject(depth + 1)
	case c == '[':
		return s.skipArray(depth + 1)
	case c == '"':
		_, err := s.str(nil, false)
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		_, err := s.number()
		return err
	case c == 0 && s.pos == len(s.data):
		return s.errorAt("unexpected end of input")
	default:
		return s.errorAt("unexpected character")
	}
}

// skipObject validates and skips the object at the read position, which
// sits at nesting depth depth.
func (s *scanner) skipObject(depth int) error {
	if depth > maxDepth {
		return s.errorAt("nesting too deep")
	}
	s.pos++ // '{'
	s.skipSpace()
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		s.skipSpace()
		if s.peek() != '"' {
			return s.errorAt("expected object key")
		}
		if _, err := s.str(nil, false); err != nil {
			return err
		}
		if err := s.expect(':', "colon"); err != nil {
			return err
		}
		if err := s.skipValue(depth); err != nil {
			return err
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.errorAt("expected comma or end of object")
		}
	}
}

// skipArray validates and skips the array at the read position, which sits
// at nesting depth depth.
func (s *scanner) skipArray(depth int) error {
	if depth > maxDepth {
		return s.errorAt("nesting too deep")
	}
	s.pos++ // '['
	s.skipSpace()
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for {
		if err := s.skipValue(depth); err != nil {
			return err
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.errorAt("expected comma or end of array")
		}
	}
}

// rawObject validates the object at the read position (nesting depth depth)
// and returns its text, verbatim.
func (s *scanner) rawObject(depth int) ([]byte, error) {
	start := s.pos
	if err := s.skipObject(depth); err != nil {
		return nil, err
	}
	return s.data[start:s.pos], nil
}

func (s *scanner) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return s.errorAt("invalid literal")
	}
	s.pos += len(lit)
	return nil
}

// number validates the number at the read position and returns its text.
//
//	number = [ "-" ] ( "0" / [1-9] *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ]
func (s *scanner) number() ([]byte, error) {
	start := s.pos
	if s.peek() == '-' {
		s.pos++
	}
	switch c := s.peek(); {
	case c == '0':
		s.pos++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return nil, s.errorAt("invalid number")
	}
	if s.peek() == '.' {
		s.pos++
		if s.digits() == 0 {
			return nil, s.errorAt("invalid number")
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.pos++
		if c := s.peek(); c == '+' || c == '-' {
			s.pos++
		}
		if s.digits() == 0 {
			return nil, s.errorAt("invalid number")
		}
	}
	return s.data[start:s.pos], nil
}

// digits skips ASCII digits and returns how many.
func (s *scanner) digits() int {
	start := s.pos
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.pos - start
}

// str validates the string at the read position (at its opening quote).
// With decode set it appends the string's UTF-8 text, unescaped, to dst and
// returns it. A \u escape of a lone UTF-16 surrogate decodes to U+FFFD, as
// in encoding/json and JavaScript's TextEncoder.
func (s *scanner) str(dst []byte, decode bool) ([]byte, error) {
	s.pos++ // '"'
	start := s.pos
	for {
		if s.pos >= len(s.data) {
			return nil, s.errorAt("unterminated string")
		}
		c := s.data[s.pos]
		switch {
		case c == '"':
			if decode {
				dst = append(dst, s.data[start:s.pos]...)
			}
			s.pos++
			return dst, nil
		case c == '\\':
			if decode {
				dst = append(dst, s.data[start:s.pos]...)
			}
			r, err := s.escape()
			if err != nil {
				return nil, err
			}
			if decode {
				dst = utf8.AppendRune(dst, r)
			}
			start = s.pos
		case c < 0x20:
			return nil, s.errorAt("control character in string")
		case c < utf8.RuneSelf:
			s.pos++
		default:
			r, size := utf8.DecodeRune(s.data[s.pos:])
			if r == utf8.RuneError && size == 1 {
				return nil, s.errorAt("invalid UTF-8 in string")
			}
			s.pos += size
		}
	}
}

// escape decodes the escape sequence at the read position (at its
// backslash), including a \u surrogate pair.
func (s *scanner) escape() (rune, error) {
	if s.pos+1 >= len(s.data) {
		return 0, s.errorAt("unterminated escape")
	}
	c := s.data[s.pos+1]
	s.pos += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
	default:
		s.pos -= 2
		return 0, s.errorAt("invalid escape")
	}
	r, ok := hex4(s.data[s.pos:])
	if !ok {
		return 0, s.errorAt("invalid \\u escape")
	}
	s.pos += 4
	switch {
	case r < 0xD800 || r > 0xDFFF:
		return r, nil
	case r >= 0xDC00:
		return utf8.RuneError, nil // lone low surrogate
	}
	// A high surrogate: combine it with a following low one.
	rest := s.data[s.pos:]
	if len(rest) >= 6 && rest[0] == '\\' && rest[1] == 'u' {
		if lo, ok := hex4(rest[2:]); ok && lo >= 0xDC00 && lo <= 0xDFFF {
			s.pos += 6
			return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), nil
		}
	}
	return utf8.RuneError, nil // lone high surrogate
}

// hex4 decodes four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// validObject reports whether b is exactly one JSON object, optionally
// surrounded by whitespace, nested at most maxDepth-1 deep so that it still
// fits once embedded in a message.
func validObject(b []byte) bool {
	s := scanner{data: b}
	s.skipSpace()
	if s.peek() != '{' {
		return false
	}
	return s.skipObject(2) == nil && s.end() == nil
}

// parseUint returns the JSON number tok (valid per scanner.number) times
// 10^shift as an integer in [0, max]. With exact set the scaled number must
// be an integer; otherwise its fraction is dropped. It reports false for a
// number out of range (or not an integer, with exact). It stands in for
// strconv.ParseFloat, which would add its tables to the WASM build, and it
// is exact where a float64 would round.
func parseUint(tok []byte, shift int, max uint64, exact bool) (uint64, bool) {
	i := 0
	neg := tok[0] == '-'
	if neg {
		i++
	}
	var mant uint64
	exp := shift
	dropped := false // nonzero digits past uint64's precision
	frac := false
	for ; i < len(tok) && tok[i] != 'e' && tok[i] != 'E'; i++ {
		c := tok[i]
		if c == '.' {
			frac = true
			continue
		}
		d := uint64(c - '0')
		if mant <= (math.MaxUint64-9)/10 {
			mant = mant*10 + d
			if frac {
				exp--
			}
			continue
		}
		dropped = dropped || d != 0
		if !frac {
			exp++
		}
	}
	if i < len(tok) { // the exponent
		i++
		eneg := tok[i] == '-'
		if tok[i] == '+' || tok[i] == '-' {
			i++
		}
		e := 0
		for ; i < len(tok); i++ {
			if e < 1e6 { // far past any range; keeps e from overflowing
				e = e*10 + int(tok[i]-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if mant == 0 {
		return 0, true // including -0
	}
	if neg || exact && dropped {
		return 0, false // negative; or huge or not an integer
	}
	for exp < 0 && mant%10 == 0 {
		mant /= 10
		exp++
	}
	if exp < 0 {
		if exact {
			return 0, false
		}
		for ; exp < 0 && mant > 0; exp++ {
			mant /= 10
		}
		return mant, mant <= max
	}
	for ; exp > 0; exp-- {
		if mant > max/10 {
			return 0, false
		}
		mant *= 10
	}
	return mant, mant <= max
}
