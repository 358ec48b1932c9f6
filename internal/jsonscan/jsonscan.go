// Package jsonscan reads JSON text (RFC 8259) strictly and without
// encoding/json, for the tracker protocol on both sides: the signaling
// server's decoder, which must be fast, and the engine's tracker client,
// which ships in a size-budgeted WASM binary (encoding/json would add about
// 1.2 MB to it).
package jsonscan

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// MaxDepth bounds the nesting of the JSON a Scanner accepts: a message
// object is at depth 1, an SDP object inside it at depth 2.
const MaxDepth = 32

// SyntaxError is a JSON syntax error (or a bound exceeded) at an offset of
// the input.
type SyntaxError struct {
	What   string
	Offset int
}

func (e *SyntaxError) Error() string { return e.What + " at offset " + strconv.Itoa(e.Offset) }

// Scanner reads JSON text strictly: whitespace only where RFC 8259 allows
// it, no trailing commas, no comments, no control characters or invalid
// UTF-8 in strings, nesting at most MaxDepth deep. Its input is bounded by
// the caller, so every method runs in time linear in the input.
type Scanner struct {
	// Data is the input.
	Data []byte
	// Pos is the read position, an offset into Data.
	Pos int
}

// ErrorAt returns a *SyntaxError for the read position.
func (s *Scanner) ErrorAt(what string) error {
	return &SyntaxError{What: what, Offset: s.Pos}
}

// Peek returns the byte at the read position, or 0 at the end of the input
// (0 is not valid JSON outside strings, so it never matches a token).
func (s *Scanner) Peek() byte {
	if s.Pos < len(s.Data) {
		return s.Data[s.Pos]
	}
	return 0
}

func (s *Scanner) SkipSpace() {
	for s.Pos < len(s.Data) {
		switch s.Data[s.Pos] {
		case ' ', '\t', '\n', '\r':
			s.Pos++
		default:
			return
		}
	}
}

// Expect consumes the byte c, after optional whitespace.
func (s *Scanner) Expect(c byte, what string) error {
	s.SkipSpace()
	if s.Peek() != c {
		return s.ErrorAt("expected " + what)
	}
	s.Pos++
	return nil
}

// End checks that only whitespace is left.
func (s *Scanner) End() error {
	s.SkipSpace()
	if s.Pos != len(s.Data) {
		return s.ErrorAt("trailing data")
	}
	return nil
}

// SkipValue validates and skips one value. depth is the nesting depth of
// the container holding the value (0 at the top level).
func (s *Scanner) SkipValue(depth int) error {
	s.SkipSpace()
	switch c := s.Peek(); {
	case c == '{':
		return s.SkipObject(depth + 1)
	case c == '[':
		return s.SkipArray(depth + 1)
	case c == '"':
		_, err := s.Str(nil, false)
		return err
	case c == 't':
		return s.Literal("true")
	case c == 'f':
		return s.Literal("false")
	case c == 'n':
		return s.Literal("null")
	case c == '-' || c >= '0' && c <= '9':
		_, err := s.Number()
		return err
	case c == 0 && s.Pos == len(s.Data):
		return s.ErrorAt("unexpected end of input")
	default:
		return s.ErrorAt("unexpected character")
	}
}

// SkipObject validates and skips the object at the read position, which
// sits at nesting depth depth.
func (s *Scanner) SkipObject(depth int) error {
	if depth > MaxDepth {
		return s.ErrorAt("nesting too deep")
	}
	s.Pos++ // '{'
	s.SkipSpace()
	if s.Peek() == '}' {
		s.Pos++
		return nil
	}
	for {
		s.SkipSpace()
		if s.Peek() != '"' {
			return s.ErrorAt("expected object key")
		}
		if _, err := s.Str(nil, false); err != nil {
			return err
		}
		if err := s.Expect(':', "colon"); err != nil {
			return err
		}
		if err := s.SkipValue(depth); err != nil {
			return err
		}
		s.SkipSpace()
		switch s.Peek() {
		case ',':
			s.Pos++
		case '}':
			s.Pos++
			return nil
		default:
			return s.ErrorAt("expected comma or end of object")
		}
	}
}

// Fields reads the object at the read position (at its '{'), which sits
// at nesting depth depth. For each member it decodes the key and calls
// value with the scanner at the member's value, which value must consume
// (with SkipValue(depth) if it does not want it). key is valid only during
// the call.
func (s *Scanner) Fields(depth int, value func(key []byte) error) error {
	if depth > MaxDepth {
		return s.ErrorAt("nesting too deep")
	}
	s.Pos++ // '{'
	s.SkipSpace()
	if s.Peek() == '}' {
		s.Pos++
		return nil
	}
	var buf [16]byte
	for {
		s.SkipSpace()
		if s.Peek() != '"' {
			return s.ErrorAt("expected object key")
		}
		key, err := s.Str(buf[:0], true)
		if err != nil {
			return err
		}
		if err := s.Expect(':', "colon"); err != nil {
			return err
		}
		s.SkipSpace()
		if err := value(key); err != nil {
			return err
		}
		s.SkipSpace()
		switch s.Peek() {
		case ',':
			s.Pos++
		case '}':
			s.Pos++
			return nil
		default:
			return s.ErrorAt("expected comma or end of object")
		}
	}
}

// SkipArray validates and skips the array at the read position, which sits
// at nesting depth depth.
func (s *Scanner) SkipArray(depth int) error {
	if depth > MaxDepth {
		return s.ErrorAt("nesting too deep")
	}
	s.Pos++ // '['
	s.SkipSpace()
	if s.Peek() == ']' {
		s.Pos++
		return nil
	}
	for {
		if err := s.SkipValue(depth); err != nil {
			return err
		}
		s.SkipSpace()
		switch s.Peek() {
		case ',':
			s.Pos++
		case ']':
			s.Pos++
			return nil
		default:
			return s.ErrorAt("expected comma or end of array")
		}
	}
}

// RawObject validates the object at the read position (nesting depth depth)
// and returns its text, verbatim.
func (s *Scanner) RawObject(depth int) ([]byte, error) {
	start := s.Pos
	if err := s.SkipObject(depth); err != nil {
		return nil, err
	}
	return s.Data[start:s.Pos], nil
}

func (s *Scanner) Literal(lit string) error {
	if len(s.Data)-s.Pos < len(lit) || string(s.Data[s.Pos:s.Pos+len(lit)]) != lit {
		return s.ErrorAt("invalid literal")
	}
	s.Pos += len(lit)
	return nil
}

// Number validates the number at the read position and returns its text.
//
//	number = [ "-" ] ( "0" / [1-9] *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ]
func (s *Scanner) Number() ([]byte, error) {
	start := s.Pos
	if s.Peek() == '-' {
		s.Pos++
	}
	switch c := s.Peek(); {
	case c == '0':
		s.Pos++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return nil, s.ErrorAt("invalid number")
	}
	if s.Peek() == '.' {
		s.Pos++
		if s.digits() == 0 {
			return nil, s.ErrorAt("invalid number")
		}
	}
	if c := s.Peek(); c == 'e' || c == 'E' {
		s.Pos++
		if c := s.Peek(); c == '+' || c == '-' {
			s.Pos++
		}
		if s.digits() == 0 {
			return nil, s.ErrorAt("invalid number")
		}
	}
	return s.Data[start:s.Pos], nil
}

// digits skips ASCII digits and returns how many.
func (s *Scanner) digits() int {
	start := s.Pos
	for s.Pos < len(s.Data) && s.Data[s.Pos] >= '0' && s.Data[s.Pos] <= '9' {
		s.Pos++
	}
	return s.Pos - start
}

// Str validates the string at the read position (at its opening quote).
// With decode set it appends the string's UTF-8 text, unescaped, to dst and
// returns it. A \u escape of a lone UTF-16 surrogate decodes to U+FFFD, as
// in encoding/json and JavaScript's TextEncoder.
func (s *Scanner) Str(dst []byte, decode bool) ([]byte, error) {
	s.Pos++ // '"'
	start := s.Pos
	for {
		s.Pos = skipPlain(s.Data, s.Pos)
		if s.Pos >= len(s.Data) {
			return nil, s.ErrorAt("unterminated string")
		}
		c := s.Data[s.Pos]
		switch {
		case c == '"':
			if decode {
				dst = append(dst, s.Data[start:s.Pos]...)
			}
			s.Pos++
			return dst, nil
		case c == '\\':
			if decode {
				dst = append(dst, s.Data[start:s.Pos]...)
			}
			r, err := s.escape()
			if err != nil {
				return nil, err
			}
			if decode {
				dst = utf8.AppendRune(dst, r)
			}
			start = s.Pos
		case c < 0x20:
			return nil, s.ErrorAt("control character in string")
		case c < utf8.RuneSelf:
			s.Pos++
		default:
			r, size := utf8.DecodeRune(s.Data[s.Pos:])
			if r == utf8.RuneError && size == 1 {
				return nil, s.ErrorAt("invalid UTF-8 in string")
			}
			s.Pos += size
		}
	}
}

// escape decodes the escape sequence at the read position (at its
// backslash), including a \u surrogate pair.
func (s *Scanner) escape() (rune, error) {
	if s.Pos+1 >= len(s.Data) {
		return 0, s.ErrorAt("unterminated escape")
	}
	c := s.Data[s.Pos+1]
	s.Pos += 2
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
		s.Pos -= 2
		return 0, s.ErrorAt("invalid escape")
	}
	r, ok := hex4(s.Data[s.Pos:])
	if !ok {
		return 0, s.ErrorAt("invalid \\u escape")
	}
	s.Pos += 4
	switch {
	case r < 0xD800 || r > 0xDFFF:
		return r, nil
	case r >= 0xDC00:
		return utf8.RuneError, nil // lone low surrogate
	}
	// A high surrogate: combine it with a following low one.
	rest := s.Data[s.Pos:]
	if len(rest) >= 6 && rest[0] == '\\' && rest[1] == 'u' {
		if lo, ok := hex4(rest[2:]); ok && lo >= 0xDC00 && lo <= 0xDFFF {
			s.Pos += 6
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

// ParseUint returns the JSON number tok (valid per Scanner.Number) times
// 10^shift as an integer in [0, max]. With exact set the scaled number must
// be an integer; otherwise its fraction is dropped. It reports false for a
// Number out of range (or not an integer, with exact). It stands in for
// strconv.ParseFloat, which would add its tables to the WASM build, and it
// is exact where a float64 would round.
func ParseUint(tok []byte, shift int, max uint64, exact bool) (uint64, bool) {
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
