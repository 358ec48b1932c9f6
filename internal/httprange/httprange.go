// Package httprange writes Range request headers and reads Content-Range
// response headers (RFC 9110, section 14) for the engine's CDN fetchers,
// native and in the browser. It depends on the standard library only.
package httprange

import (
	"math"
	"strconv"
	"strings"
)

// Header returns the Range header value for the byte range [start, end).
func Header(start, end int64) string {
	return "bytes=" + strconv.FormatInt(start, 10) + "-" + strconv.FormatInt(end-1, 10)
}

// ParseContentRange parses the value of a single-range Content-Range
// header: "bytes first-last/complete", complete being a length or "*".
func ParseContentRange(s string) (first, last int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	span, complete, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(span, "-")
	if !found {
		return 0, 0, false
	}
	first, ok1 := ParseLength(a)
	last, ok2 := ParseLength(b)
	if !ok1 || !ok2 || last < first {
		return 0, 0, false
	}
	if complete != "*" {
		size, ok := ParseLength(complete)
		if !ok || last >= size {
			return 0, 0, false
		}
	}
	return first, last, true
}

// ParseLength parses a non-empty string of decimal digits (no sign), such
// as a Content-Length value; a value above the largest int64 is refused.
// It does not use strconv.ParseInt, whose error type would link strconv's
// quoting tables into the browser build.
func ParseLength(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' || n > (math.MaxInt64-int64(c-'0'))/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
