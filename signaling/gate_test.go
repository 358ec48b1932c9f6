package signaling

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"
)

func maskedFrame(fin bool, opcode byte, payload []byte) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	mask := []byte{9, 8, 7, 6}
	f = append(f, mask...)
	for i, c := range payload {
		f = append(f, c^mask[i&3])
	}
	return f
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// The gate hands the reader whole frames' bytes but never a byte past the
// end of a frame, absorbs pings and pongs with their payload unmasked, and
// reports "nothing more" without blocking once the stream is consumed.
func TestFrameGateStopsAtFrameEnds(t *testing.T) {
	client, server := tcpPair(t)
	type control struct {
		op      byte
		payload string
	}
	var controls []control
	g := newFrameGate(server, func(op byte, p []byte) { controls = append(controls, control{op, string(p)}) })
	if pollable(server) != nil && g.raw == nil {
		t.Fatal("a TCP socket should be pollable")
	}

	data := [][]byte{
		[]byte("small"),
		bytes.Repeat([]byte("m"), 300),    // 16-bit length
		bytes.Repeat([]byte("L"), 70_000), // 64-bit length, larger than the gate's buffer
		[]byte("last"),
	}
	var stream []byte
	var lengths []int
	for i, d := range data {
		f := maskedFrame(true, 1, d)
		stream = append(stream, f...)
		lengths = append(lengths, len(f))
		if i == 1 {
			stream = append(stream, maskedFrame(true, 9, []byte("ping!"))...)
			stream = append(stream, maskedFrame(true, 10, []byte("pong?"))...)
		}
	}
	go func() { _, _ = client.Write(stream) }()
	_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))

	buf := make([]byte, 100_000)
	for i, want := range lengths {
		got := 0
		for got < want {
			// The reader asks for far more than a frame each time.
			n, err := g.Read(buf)
			if err != nil {
				t.Fatalf("frame %d: %v after %d of %d bytes", i, err, got, want)
			}
			got += n
			if got > want {
				t.Fatalf("frame %d: read %d bytes, past its end at %d", i, got, want)
			}
		}
	}
	if len(controls) != 2 || controls[0] != (control{9, "ping!"}) || controls[1] != (control{10, "pong?"}) {
		t.Fatalf("controls %v", controls)
	}
	if g.raw != nil {
		start := time.Now()
		if more, err := g.ready(false); more || err != nil {
			t.Fatalf("ready after the last frame: %v %v", more, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("ready blocked for %v", d)
		}
	}
	g.release()
	if g.buf != nil {
		t.Fatal("an empty gate kept its buffer")
	}
}
