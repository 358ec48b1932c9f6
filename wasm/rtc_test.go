//go:build js && wasm

package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/engine/peerwire"
)

// linkPair connects two links through the fake RTC, the way the engine
// does through the tracker.
func linkPair(t *testing.T, d *rtcDialer) (offerer, answerer engine.Link) {
	t.Helper()
	ctx := testCtx(t)
	po, err := d.Offer(ctx)
	if err != nil {
		t.Fatal("Offer:", err)
	}
	if _, err := parseSDP(po.SDP(), "offer"); err != nil {
		t.Fatal("offer SDP:", err)
	}
	pa, err := d.Accept(ctx, po.SDP())
	if err != nil {
		t.Fatal("Accept:", err)
	}
	type opened struct {
		l   engine.Link
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		l, err := pa.Open(ctx, nil)
		ch <- opened{l, err}
	}()
	lo, err := po.Open(ctx, pa.SDP())
	if err != nil {
		t.Fatal("Open offer:", err)
	}
	o := <-ch
	if o.err != nil {
		t.Fatal("Open accepted:", o.err)
	}
	return lo, o.l
}

func TestLink(t *testing.T) {
	rtc := installFakeRTC(t)
	base := pendingCallbacks()
	d, err := newDialer([]iceServer{{URLs: []string{"stun:stun.example"}}}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	a, b := linkPair(t, d)

	msg := []byte("hello, peer")
	if err := a.Send(msg); err != nil {
		t.Fatal(err)
	}
	msg[0] = 'X' // Send must not keep msg
	got, err := b.Receive()
	if err != nil || string(got) != "hello, peer" {
		t.Fatalf("Receive = %q, %v", got, err)
	}
	for i := range 100 {
		if err := b.Send([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		got, err := a.Receive()
		if err != nil || len(got) != 1 || got[0] != byte(i) {
			t.Fatalf("message %d = %v, %v (order lost?)", i, got, err)
		}
	}
	if a.BufferedAmount() != 0 {
		t.Errorf("BufferedAmount = %d", a.BufferedAmount())
	}
	al := a.(*rtcLink)
	if th := al.dc.Get("bufferedAmountLowThreshold").Int(); th != peerwire.LowWaterMark || al.dc.Get("binaryType").String() != "arraybuffer" {
		t.Errorf("threshold %d, binaryType %v", th, al.dc.Get("binaryType"))
	}
	fire(al.dc, "onbufferedamountlow", event(map[string]any{}))
	select {
	case <-a.BufferedLow():
	case <-time.After(time.Second):
		t.Error("no BufferedLow signal")
	}

	// Closing one end closes the other.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Receive(); !errors.Is(err, engine.ErrLinkClosed) {
		t.Errorf("Receive after Close = %v", err)
	}
	if err := a.Send([]byte("x")); !errors.Is(err, engine.ErrLinkClosed) {
		t.Errorf("Send after Close = %v", err)
	}
	if _, err := b.Receive(); !errors.Is(err, engine.ErrLinkClosed) || !errors.Is(err, ErrPeerClosed) {
		t.Errorf("peer's Receive after Close = %v, want ErrLinkClosed and ErrPeerClosed", err)
	}
	_ = b.Close()
	_ = a.Close()
	if n := rtc.open(); n != 0 {
		t.Errorf("%d peer connections left open", n)
	}
	eventually(t, "handlers released", func() bool { return pendingCallbacks() == base })
}

func TestLinkReceiveOverflow(t *testing.T) {
	installFakeRTC(t)
	d, err := newDialer(nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	a, b := linkPair(t, d)
	defer a.Close()
	defer b.Close()
	if err := a.Send(make([]byte, maxLinkMessage+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Receive(); !errors.Is(err, ErrOverflow) {
		t.Errorf("Receive after an oversized message = %v, want ErrOverflow", err)
	}
}

func TestDialerFailures(t *testing.T) {
	rtc := installFakeRTC(t)
	base := pendingCallbacks()
	d, err := newDialer(nil, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if _, err := d.Accept(ctx, engine.SDP(`{"type":"answer","sdp":""}`)); !errors.Is(err, ErrInvalidSDP) {
		t.Errorf("Accept(answer) = %v, want ErrInvalidSDP", err)
	}

	// The remote refuses the description.
	po, err := d.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rtc.Fail = true
	if _, err := d.Accept(ctx, po.SDP()); !errors.Is(err, ErrInvalidSDP) {
		t.Errorf("Accept of a refused offer = %v, want ErrInvalidSDP", err)
	}
	rtc.Fail = false

	// No answer: Open times out; a second Open is refused.
	pa, err := d.Accept(ctx, po.SDP())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pa.Open(ctx, nil); !errors.Is(err, ErrOpenTimeout) {
		t.Errorf("Open without an answer = %v, want ErrOpenTimeout", err)
	}
	if _, err := pa.Open(ctx, nil); !errors.Is(err, ErrPendingClosed) {
		t.Errorf("second Open = %v, want ErrPendingClosed", err)
	}
	if _, err := po.Open(ctx, engine.SDP(`{"type":"offer","sdp":"v=0"}`)); !errors.Is(err, ErrInvalidSDP) {
		t.Errorf("Open with an offer for an answer = %v, want ErrInvalidSDP", err)
	}
	_ = po.Close()
	_ = pa.Close()

	// Gathering never completes.
	rtc.Quiet = true
	if _, err := d.Offer(ctx); !errors.Is(err, ErrOpenTimeout) {
		t.Errorf("Offer without gathering = %v, want ErrOpenTimeout", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.Offer(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Offer with a cancelled context = %v", err)
	}
	if n := rtc.open(); n != 0 {
		t.Errorf("%d peer connections left open", n)
	}
	eventually(t, "handlers released", func() bool { return pendingCallbacks() == base })
}
