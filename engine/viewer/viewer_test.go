package viewer_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/engine/enginetest"
	"github.com/nearcast/nearcast/engine/viewer"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// playlist writes a VOD media playlist over urls, segDur seconds each.
func playlist(urls []string, segDur int) []byte {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:" + strconv.Itoa(segDur) + "\n#EXT-X-MEDIA-SEQUENCE:0\n")
	for _, u := range urls {
		b.WriteString("#EXTINF:" + strconv.Itoa(segDur) + ".0,\n" + u[strings.LastIndex(u, "/")+1:] + "\n")
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return []byte(b.String())
}

// TestStaggeredViewersOffload plays a 40 s stream in three viewers that
// start 4 s apart over a fake network: every viewer plays through without
// stalls, and the CDN serves each segment about once.
func TestStaggeredViewersOffload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		urls, files := enginetest.Stream("https://cdn.example/vod", 20, 100<<10)
		files["https://cdn.example/vod/index.m3u8"] = playlist(urls, 2)
		cdn := enginetest.NewCDN(files)
		cdn.Latency = 40 * time.Millisecond
		cdn.Bandwidth = 2 << 20
		net := enginetest.NewNetwork(enginetest.Shaping{Delay: 15 * time.Millisecond, Bandwidth: 4 << 20})
		defer net.Close()

		var wg sync.WaitGroup
		reports := make([]viewer.Report, 3)
		errs := make([]error, 3)
		for i := range reports {
			e, err := engine.New(net.Signaler(), net.Dialer(), cdn)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i) * 4 * time.Second)
				reports[i], errs[i] = viewer.Play(context.Background(), e, cdn, "https://cdn.example/vod/index.m3u8", viewer.Options{})
			}()
		}
		wg.Wait()
		var total, fromCDN int64
		for i, r := range reports {
			if errs[i] != nil {
				t.Fatalf("viewer %d: %v", i, errs[i])
			}
			if r.Segments != 20 || r.Stalls != 0 || r.Played != 40*time.Second {
				t.Fatalf("viewer %d: %d segments, %d stalls (%v), played %v", i, r.Segments, r.Stalls, r.StallTime, r.Played)
			}
			for _, n := range r.BytesBy {
				total += n
			}
			fromCDN += r.BytesBy[engine.SourceCDN]
			t.Logf("viewer %d: startup %v, cdn %d B, peer %d B", i, r.StartupTime, r.BytesBy[engine.SourceCDN], r.BytesBy[engine.SourcePeer])
		}
		segBytes := 0
		for _, u := range urls {
			segBytes += len(files[u])
		}
		served := cdn.TotalServed() - len(files["https://cdn.example/vod/index.m3u8"])*3
		t.Logf("CDN served %d segment bytes for a %d-byte stream played 3 times (offload %.0f%%)", served, segBytes, 100*(1-float64(fromCDN)/float64(total)))
		if float64(served) > 1.3*float64(segBytes) {
			t.Fatalf("CDN served %.2f× the stream, want about once", float64(served)/float64(segBytes))
		}
	})
}

func TestStallIsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		urls, files := enginetest.Stream("https://cdn.example/vod", 4, 100<<10)
		files["https://cdn.example/vod/index.m3u8"] = playlist(urls, 1)
		cdn := enginetest.NewCDN(files)
		cdn.Bandwidth = 50 << 10 // 100 KiB takes 2 s: slower than real time
		net := enginetest.NewNetwork(enginetest.Shaping{})
		defer net.Close()
		e, err := engine.New(net.Signaler(), net.Dialer(), cdn)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		r, err := viewer.Play(context.Background(), e, cdn, "https://cdn.example/vod/index.m3u8", viewer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Stalls == 0 || r.StallTime < 2*time.Second {
			t.Fatalf("stalls %d (%v), want the slow CDN to stall playback", r.Stalls, r.StallTime)
		}
	})
}
