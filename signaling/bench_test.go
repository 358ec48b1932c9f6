package signaling_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nearcast/nearcast/signaling"
)

// benchSDP is a data-channel offer of a realistic size (about 1.3 KB).
var benchSDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"a=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n" +
	strings.Repeat("a=candidate:842163049 1 udp 1677729535 198.51.100.7 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0 network-cost 999\r\n", 8) +
	"a=ice-ufrag:EsAw\r\na=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\na=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 0D:1B:2C:3A:4F:5E:6D:7C:8B:9A:A0:B1:C2:D3:E4:F5:06:17:28:39:4A:5B:6C:7D:8E:9F:A0:B1:C2:D3:E4:F5\r\n" +
	"a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n"

// BenchmarkAnnounceWithOffers measures the server's hot path through real
// WebSocket connections on loopback: one announce with five offers,
// relayed to five peers, each of which answers; the answers are relayed
// back. One op is one such round: 6 messages in, 11 out.
func BenchmarkAnnounceWithOffers(b *testing.B) {
	srv, err := signaling.New(signaling.WithMaxConnsPerIP(0), signaling.WithMessageRate(0, 0))
	if err != nil {
		b.Fatal(err)
	}
	ts := startBenchServer(b, srv)
	const peers = 6
	hash := id20("bench-swarm")
	conns := make([]*websocket.Conn, peers)
	for i := range conns {
		ws, _, err := websocket.DefaultDialer.Dial(ts, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer ws.Close()
		conns[i] = ws
		join := fmt.Sprintf(`{"action":"announce","info_hash":%q,"peer_id":%q,"left":1,"event":"started"}`, hash, id20(fmt.Sprint("peer", i)))
		if err := ws.WriteMessage(websocket.TextMessage, []byte(join)); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
	sdp, _ := json.Marshal(map[string]string{"type": "offer", "sdp": benchSDP})
	answer := bytes.Replace(sdp, []byte(`"offer"`), []byte(`"answer"`), 1)
	var announce bytes.Buffer
	fmt.Fprintf(&announce, `{"action":"announce","info_hash":%q,"peer_id":%q,"numwant":5,"left":1,"offers":[`, hash, id20("peer0"))
	for i := range 5 {
		if i > 0 {
			announce.WriteByte(',')
		}
		fmt.Fprintf(&announce, `{"offer":%s,"offer_id":%q}`, sdp, id20(fmt.Sprint("offer", i)))
	}
	announce.WriteString(`]}`)

	// replies[i][k] is peer i's answer to offer k.
	replies := make([][5][]byte, peers)
	for i := 1; i < peers; i++ {
		for k := range 5 {
			replies[i][k] = fmt.Appendf(nil, `{"action":"announce","info_hash":%q,"peer_id":%q,"to_peer_id":%q,"offer_id":%q,"answer":%s}`,
				hash, id20(fmt.Sprint("peer", i)), id20("peer0"), id20(fmt.Sprint("offer", k)), answer)
		}
	}

	b.SetBytes(int64(announce.Len() + 5*len(answer)))
	b.ReportAllocs()
	for b.Loop() {
		offerer := conns[0]
		if err := offerer.WriteMessage(websocket.TextMessage, announce.Bytes()); err != nil {
			b.Fatal(err)
		}
		if _, _, err := offerer.ReadMessage(); err != nil { // announce response
			b.Fatal(err)
		}
		for i, ws := range conns {
			if i == 0 {
				continue
			}
			_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, m, err := ws.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			k := bytes.Index(m, []byte(`"offer_id":"offer`))
			if k < 0 {
				b.Fatalf("expected an offer, got %.80s", m)
			}
			reply := replies[i][m[k+len(`"offer_id":"offer`)]-'0']
			if err := ws.WriteMessage(websocket.TextMessage, reply); err != nil {
				b.Fatal(err)
			}
		}
		for range 5 {
			_ = offerer.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, _, err := offerer.ReadMessage(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// startBenchServer serves srv on a loopback port and returns its URL.
func startBenchServer(b *testing.B, srv *signaling.Server) string {
	hs := httptest.NewServer(srv)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + srv.Path()
}
