//go:build !wasm

package jsonscan

import (
	"math/rand/v2"
	"testing"
)

// skipPlain stops exactly at the first byte that is not plain ASCII string
// text, wherever it sits relative to the eight-byte blocks.
func TestSkipPlainStopsAtTheFirstSpecialByte(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	specials := []byte{'"', '\\', 0, 0x1f, 0x80, 0xc3, 0xff, '\n'}
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
		start := 0
		if len(data) > 0 {
			start = r.IntN(len(data))
		}
		want := start
		for want < len(data) && plain(data[want]) {
			want++
		}
		if got := skipPlain(data, start); got != want {
			t.Fatalf("skipPlain(%q, %d) = %d, want %d", data, start, got, want)
		}
	}
}
