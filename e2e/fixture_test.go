//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// vodSource returns where the 60 s VOD sample is: out/media/vod/ (make media)
// when it exists, else a fixture this package makes with ffmpeg under
// out/e2e/fixture/vod/ (ffmpeg needs no network, so this works inside the
// namespace). The result is the directory that holds vod/ and the URL prefix
// the tests mount it at.
func vodSource(t *testing.T) (dir, prefix string) {
	t.Helper()
	root := repoRoot(t)
	media := mediaDir()
	if !filepath.IsAbs(media) {
		media = filepath.Join(root, media)
	}
	if _, err := os.Stat(filepath.Join(media, "vod", "master.m3u8")); err == nil {
		return media, "/media/"
	}
	fix := filepath.Join(root, "out", "e2e", "fixture")
	master := filepath.Join(fix, "vod", "master.m3u8")
	if _, err := os.Stat(master); err == nil {
		return fix, "/e2e-media/"
	}
	t.Logf("%s/vod/master.m3u8 is missing (make media); making a fixture with ffmpeg in %s", media, fix)
	if err := makeVOD(filepath.Join(fix, "vod")); err != nil {
		t.Fatalf("making the VOD fixture: %v", err)
	}
	return fix, "/e2e-media/"
}

// makeVOD writes a 60 s, 640x360 H.264/AAC HLS fMP4 stream with 2 s
// segments and a master playlist (TESTING.md's recipe, one rendition).
func makeVOD(dir string) error {
	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "60",
		"-c:v", "libx264", "-preset", "ultrafast", "-b:v", "400k", "-maxrate", "400k", "-bufsize", "800k",
		"-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k", "-ac", "2",
		"-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
		"-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
		"-hls_segment_filename", filepath.Join(tmp, "seg_%03d.m4s"),
		"-master_pl_name", "master.m3u8",
		filepath.Join(tmp, "index.m3u8"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg: %w: %s", err, tail(string(out), 600))
	}
	_ = os.RemoveAll(dir)
	return os.Rename(tmp, dir)
}
