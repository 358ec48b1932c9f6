//go:build !wasm

package jsonscan

import (
	"math/rand/v2"
	"testing"
)

// skipPlain stops exactly at the first byte that is not plain string text
// (ASCII or a valid two-byte UTF-8 sequence), wherever it sits relative to
// the eight-byte blocks.
func TestSkipPlainStopsAtTheFirstSpecialByte(t *testing.T) {
	// plainAt returns the length of the plain character at data[i], or 0.
	plainAt := func(data []byte, i int) int {
		c := data[i]
		switch {
		case c >= 0x20 && c < 0x80 && c != '"' && c != '\\':
			return 1
		case c >= 0xc2 && c <= 0xdf && i+1 < len(data) && data[i+1] >= 0x80 && data[i+1] < 0xc0:
			return 2
		}
		return 0
	}
	specials := []byte{'"', '\\', 0, 0x1f, 0x80, 0xc3, 0xc3, 0xc3, 0xc0, 0xe2, 0xff, '\n'}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 2000 {
		data := make([]byte, r.IntN(40))
		for i := range data {
			data[i] = byte(0x20 + r.IntN(0x5f)) // 0x20 to 0x7e
			if data[i] == '"' || data[i] == '\\' {
				data[i] = 'x'
			}
		}
		if len(data) > 0 && n%4 != 0 {
			data[r.IntN(len(data))] = specials[r.IntN(len(specials))]
		}
		if len(data) > 1 && n%3 == 0 { // a valid two-byte sequence
			k := r.IntN(len(data) - 1)
			data[k], data[k+1] = 0xc3, 0xa9
		}
		start := 0
		if len(data) > 0 {
			start = r.IntN(len(data))
		}
		want := start
		for want < len(data) && plainAt(data, want) > 0 {
			want += plainAt(data, want)
		}
		if got := skipPlain(data, start); got != want {
			t.Fatalf("skipPlain(%q, %d) = %d, want %d", data, start, got, want)
		}
	}
}
