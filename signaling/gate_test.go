package signaling

import (
	"bytes"
	"encoding/binary"
	"net"
	"strings"
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

// The gate reads whole messages, fragmented or not, across its buffer's
// size, absorbs pings and pongs with their payload unmasked, and then
// reports "nothing more" without blocking.
func TestFrameGateReadsMessages(t *testing.T) {
	client, server := tcpPair(t)
	type control struct {
		op      byte
		payload string
	}
	var controls []control
	g := newFrameGate(server, func(op byte, p []byte) { controls = append(controls, control{op, string(p)}) })
	if g.raw == nil {
		t.Fatal("a TCP socket should be pollable")
	}
	want := []string{"small", strings.Repeat("m", 300), "frag-1frag-2", strings.Repeat("L", 70_000), "last"}
	var stream []byte
	stream = append(stream, maskedFrame(true, 1, []byte(want[0]))...)
	stream = append(stream, maskedFrame(true, 1, []byte(want[1]))...)
	stream = append(stream, maskedFrame(true, 9, []byte("ping!"))...)
	stream = append(stream, maskedFrame(false, 1, []byte("frag-1"))...)
	stream = append(stream, maskedFrame(true, 10, []byte("pong?"))...)
	stream = append(stream, maskedFrame(true, 0, []byte("frag-2"))...)
	stream = append(stream, maskedFrame(true, 2, []byte(want[3]))...)
	stream = append(stream, maskedFrame(true, 1, []byte(want[4]))...)
	go func() { _, _ = client.Write(stream) }()
	_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))

	buf := make([]byte, 0, 64)
	for i, w := range want {
		if more, err := g.ready(true); !more || err != nil {
			t.Fatalf("message %d: ready %v %v", i, more, err)
		}
		got, err := g.message(&buf, 1<<20)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if string(got) != w {
			t.Fatalf("message %d: %.40q..., want %.40q...", i, got, w)
		}
	}
	if len(controls) != 2 || controls[0] != (control{9, "ping!"}) || controls[1] != (control{10, "pong?"}) {
		t.Fatalf("controls %v", controls)
	}
	start := time.Now()
	if more, err := g.ready(false); more || err != nil {
		t.Fatalf("ready after the last frame: %v %v", more, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("ready blocked for %v", d)
	}
	g.release()
	if g.buf != nil {
		t.Fatal("an empty gate kept its buffer")
	}
}

// Frames that break RFC 6455, oversize messages and the client's close
// frame end the read with the close code the server must answer with.
func TestFrameGateReadErrors(t *testing.T) {
	unmasked := []byte{0x81, 0x02, 'h', 'i'}
	cases := []struct {
		name   string
		stream []byte
		code   int
		client bool
	}{
		{"unmasked", unmasked, 1002, false},
		{"reserved bits", append([]byte{0xc1}, maskedFrame(true, 1, []byte("x"))[1:]...), 1002, false},
		{"continuation first", maskedFrame(true, 0, []byte("x")), 1002, false},
		{"unknown opcode", maskedFrame(true, 3, []byte("x")), 1002, false},
		{"long ping", maskedFrame(true, 9, bytes.Repeat([]byte("p"), 126)), 1002, false},
		{"too big", maskedFrame(true, 1, bytes.Repeat([]byte("b"), 101)), 1009, false},
		{"too big in fragments", append(maskedFrame(false, 1, bytes.Repeat([]byte("b"), 60)), maskedFrame(true, 0, bytes.Repeat([]byte("b"), 60))...), 1009, false},
		{"client close", maskedFrame(true, 8, []byte{0x03, 0xe9, 'b', 'y', 'e'}), 1001, true},
		{"client close without code", maskedFrame(true, 8, nil), 1005, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, server := tcpPair(t)
			g := newFrameGate(server, func(byte, []byte) {})
			go func() { _, _ = client.Write(tc.stream) }()
			_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
			var buf []byte
			if _, err := g.ready(true); err != nil {
				t.Fatal(err)
			}
			_, err := g.message(&buf, 100)
			re, ok := asReadError(err)
			if !ok || re.Code != tc.code || re.Client != tc.client {
				t.Fatalf("error %v (%+v), want code %d client %v", err, re, tc.code, tc.client)
			}
		})
	}
}
