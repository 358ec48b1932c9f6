package peerwire_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/nearcast/nearcast/engine/peerwire"
)

// Example shows one request answered over a data channel, simulated here by
// a slice of messages.
func Example() {
	var channel [][]byte // stands in for the ordered, reliable data channel
	send := func(m peerwire.Message) {
		b, err := peerwire.Encode(nil, m)
		if err != nil {
			panic(err)
		}
		channel = append(channel, b)
	}
	swarm := peerwire.SwarmID{1}
	segment := bytes.Repeat([]byte("media"), 10000) // 50000 bytes

	// Requester: register the request, then send it.
	var asm peerwire.Assembler
	if err := asm.Expect(1, 1<<20); err != nil {
		panic(err)
	}
	send(&peerwire.Request{ReqID: 1, Swarm: swarm, Seq: 42})

	// Responder: decode the request and answer it chunk by chunk. A real
	// sender stops while bufferedAmount > peerwire.HighWaterMark.
	m, err := peerwire.Decode(channel[0])
	if err != nil {
		panic(err)
	}
	channel = channel[1:]
	req := m.(*peerwire.Request)
	ch, err := peerwire.NewChunker(req.ReqID, segment)
	if err != nil {
		panic(err)
	}
	for !ch.Done() {
		c, err := ch.Next()
		if err != nil {
			panic(err)
		}
		send(c)
	}

	// Requester: reassemble.
	for _, msg := range channel {
		m, err := peerwire.Decode(msg)
		if err != nil {
			panic(err)
		}
		switch m := m.(type) {
		case *peerwire.Chunk:
			body, done, err := asm.Add(m)
			if err != nil {
				panic(err) // a real engine cancels and penalises the peer
			}
			if done {
				fmt.Println(len(body), bytes.Equal(body, segment))
			}
		}
	}
	fmt.Println(len(channel), "chunks")
	// Output:
	// 50000 true
	// 4 chunks
}

// ExampleDecode shows errors.Is on a rejected message.
func ExampleDecode() {
	_, err := peerwire.Decode([]byte{2, 1})
	fmt.Println(errors.Is(err, peerwire.ErrUnknownVersion))
	fmt.Println(err)
	// Output:
	// true
	// peerwire: unknown protocol version (version 2)
}
