package signaling

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzFrameGate feeds arbitrary bytes to the gate as a client's stream:
// it must never panic, never return a message over the read limit, and
// end every stream with EOF or a read error that carries a close code.
func FuzzFrameGate(f *testing.F) {
	f.Add(maskedFrame(true, 1, []byte(`{"action":"announce"}`)))
	f.Add(append(maskedFrame(false, 1, []byte("ab")), maskedFrame(true, 0, []byte("cd"))...))
	f.Add(append(maskedFrame(true, 9, []byte("ping")), maskedFrame(true, 8, []byte{3, 232})...))
	f.Add([]byte{0x81, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4})
	f.Add([]byte{0x81, 0x7e, 0x00})
	f.Fuzz(func(t *testing.T, stream []byte) {
		const limit = 256
		client, server := net.Pipe()
		defer server.Close()
		go func() {
			_ = client.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, _ = client.Write(stream)
			client.Close()
		}()
		_ = server.SetDeadline(time.Now().Add(5 * time.Second))
		g := newFrameGate(server, func(byte, []byte) {})
		var buf []byte
		for range len(stream) + 1 {
			more, err := g.ready(true)
			if err == nil && more {
				var msg []byte
				msg, err = g.message(&buf, limit)
				if err == nil {
					if len(msg) > limit {
						t.Fatalf("message of %d bytes over the limit %d", len(msg), limit)
					}
					continue
				}
			}
			if _, ok := asReadError(err); !ok && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("stream ended with %v", err)
			}
			return
		}
		t.Fatal("more messages than bytes")
	})
}
