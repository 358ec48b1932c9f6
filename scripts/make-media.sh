#!/usr/bin/env bash
# make-media.sh OUT_DIR — generate the demo's sample stream with ffmpeg.
#
# Writes a 60 s HLS VOD (RFC 8216) of ffmpeg's testsrc2 pattern with a sine
# tone, in two renditions, as MPEG-TS segments of exactly 2 s (a keyframe
# every 48 frames at 24 fps, no scene-cut keyframes):
#
#   OUT_DIR/vod/master.m3u8              BANDWIDTH, RESOLUTION, CODECS
#   OUT_DIR/vod/360p/index.m3u8, seg000.ts … seg029.ts   640x360  ~400 kbit/s
#   OUT_DIR/vod/720p/index.m3u8, seg000.ts … seg029.ts   1280x720 ~1500 kbit/s
#
# Idempotent: when OUT_DIR/vod/master.m3u8 exists and OUT_DIR/vod/.stamp
# matches this script's settings, nothing is done. Otherwise the stream is
# built in a temporary directory and moved into place, so an interrupted run
# never leaves a half-written stream behind. Set FORCE=1 to rebuild.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUT_DIR" >&2
	exit 2
fi
out=$1

DURATION=60   # seconds
FPS=24
SEG=2         # seconds per segment
GOP=$((FPS * SEG))

# The stamp names everything that changes the output; bump "v1" when the
# ffmpeg command below changes.
stamp="nearcast-media v1 duration=$DURATION fps=$FPS seg=$SEG renditions=360p:400k,720p:1500k ts"

if [ "${FORCE:-0}" != 1 ] && [ -f "$out/vod/master.m3u8" ] && [ -f "$out/vod/.stamp" ] &&
	[ "$(cat "$out/vod/.stamp")" = "$stamp" ]; then
	echo "make-media: $out/vod is up to date"
	exit 0
fi

if ! command -v ffmpeg >/dev/null 2>&1; then
	echo "make-media: ffmpeg not found (Debian: apt-get install -y ffmpeg)" >&2
	exit 1
fi

mkdir -p "$out"
tmp=$(mktemp -d "$out/.vod.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
mkdir -p "$tmp/360p" "$tmp/720p"

start=$(date +%s%N)
# One encoder pass: the 720p pattern is drawn once and scaled down for 360p.
# Each rendition carries its own AAC track (muxed into its TS segments).
ffmpeg -hide_banner -loglevel error -nostdin -y \
	-f lavfi -i "testsrc2=size=1280x720:rate=$FPS:duration=$DURATION" \
	-f lavfi -i "sine=frequency=440:beep_factor=4:sample_rate=48000:duration=$DURATION" \
	-filter_complex "[0:v]split=2[hi][lo0];[lo0]scale=640:360[lo]" \
	-map "[lo]" -map 1:a -map "[hi]" -map 1:a \
	-c:v libx264 -preset ultrafast -pix_fmt yuv420p \
	-r "$FPS" \
	-g "$GOP" -keyint_min "$GOP" -sc_threshold 0 \
	-force_key_frames "expr:gte(t,n_forced*$SEG)" \
	-b:v:0 400k -maxrate:v:0 440k -bufsize:v:0 800k \
	-b:v:1 1500k -maxrate:v:1 1650k -bufsize:v:1 3000k \
	-c:a aac -b:a 64k -ac 2 -ar 48000 \
	-f hls -hls_time "$SEG" -hls_playlist_type vod -hls_list_size 0 \
	-hls_flags independent_segments \
	-hls_segment_type mpegts \
	-hls_segment_filename "$tmp/%v/seg%03d.ts" \
	-master_pl_name master.m3u8 \
	-var_stream_map "v:0,a:0,name:360p v:1,a:1,name:720p" \
	"$tmp/%v/index.m3u8"

# ffmpeg writes the master playlist next to the variant playlists' parent
# pattern; make sure it sits at vod/master.m3u8 with relative URIs.
if [ ! -f "$tmp/master.m3u8" ]; then
	found=$(find "$tmp" -name master.m3u8 | head -n1)
	if [ -z "$found" ]; then
		echo "make-media: ffmpeg wrote no master playlist" >&2
		exit 1
	fi
	mv "$found" "$tmp/master.m3u8"
fi
for r in 360p 720p; do
	if [ ! -f "$tmp/$r/index.m3u8" ] || [ ! -f "$tmp/$r/seg000.ts" ]; then
		echo "make-media: rendition $r is missing" >&2
		exit 1
	fi
done
if ! grep -q 'CODECS=' "$tmp/master.m3u8" || ! grep -q 'RESOLUTION=' "$tmp/master.m3u8"; then
	echo "make-media: master playlist lacks CODECS or RESOLUTION:" >&2
	cat "$tmp/master.m3u8" >&2
	exit 1
fi
printf '%s\n' "$stamp" >"$tmp/.stamp"

rm -rf "$out/vod"
mv "$tmp" "$out/vod"
trap - EXIT
end=$(date +%s%N)
segs=$(find "$out/vod" -name '*.ts' | wc -l)
size=$(du -sh "$out/vod" | cut -f1)
ms=$(((end - start) / 1000000))
printf 'make-media: wrote %s/vod (%d segments, %s) in %d.%d s\n' "$out" "$segs" "$size" $((ms / 1000)) $((ms % 1000 / 100))
