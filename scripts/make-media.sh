#!/usr/bin/env bash
# make-media.sh OUT_DIR — generate the demo's sample streams with ffmpeg.
#
# Three packagings of the same 60 s source, ffmpeg's testsrc2 pattern with a
# sine tone, in two video renditions (640x360 ~400 kbit/s, 1280x720
# ~1500 kbit/s) cut into segments of exactly 2 s (a keyframe every 48 frames
# at 24 fps, no scene-cut keyframes) with 64 kbit/s AAC audio:
#
#   OUT_DIR/vod/        HLS VOD (RFC 8216), MPEG-TS, audio muxed into each rendition
#     master.m3u8                           BANDWIDTH, RESOLUTION, CODECS
#     360p/index.m3u8, seg000.ts … seg029.ts
#     720p/index.m3u8, seg000.ts … seg029.ts
#   OUT_DIR/dash/       DASH VOD (ISO/IEC 23009-1), fMP4, SegmentTemplate + SegmentTimeline
#     manifest.mpd      AdaptationSet 0: video, Representations 0 (360p) and 1 (720p);
#                       AdaptationSet 1: audio, Representation 2
#     init-stream<R>.m4s, chunk-stream<R>-00001.m4s … chunk-stream<R>-00030.m4s
#   OUT_DIR/hls-fmp4/   HLS VOD, fMP4, one file per rendition (EXT-X-BYTERANGE
#                       segments, EXT-X-MAP init range), audio as an alternate
#                       rendition (EXT-X-MEDIA TYPE=AUDIO, GROUP-ID "group_aud")
#     master.m3u8       two video variants, both with AUDIO="group_aud"
#     360p/index.m3u8, 360p/media.mp4
#     720p/index.m3u8, 720p/media.mp4
#     audio/index.m3u8, audio/media.mp4
#
# Each packaging is idempotent on its own: when its main file exists and its
# .stamp matches this script's settings, it is left alone. Otherwise it is
# built in a temporary directory and moved into place, so an interrupted run
# never leaves a half-written stream behind. Set FORCE=1 to rebuild all.
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

# The stamps name everything that changes the output; bump "v1" of a stamp
# when its ffmpeg command (or the shared settings below) changes.
settings="duration=$DURATION fps=$FPS seg=$SEG renditions=360p:400k,720p:1500k"
stamp_vod="nearcast-media v1 $settings ts"
stamp_dash="nearcast-media v1 $settings dash"
stamp_fmp4="nearcast-media v1 $settings hls-fmp4"

# The source and the encode, shared by every packaging. One encoder pass per
# packaging: the 720p pattern is drawn once and scaled down for 360p.
src=(
	-f lavfi -i "testsrc2=size=1280x720:rate=$FPS:duration=$DURATION"
	-f lavfi -i "sine=frequency=440:beep_factor=4:sample_rate=48000:duration=$DURATION"
	-filter_complex "[0:v]split=2[hi][lo0];[lo0]scale=640:360[lo]"
)
encode=(
	-c:v libx264 -preset ultrafast -pix_fmt yuv420p
	-r "$FPS"
	-g "$GOP" -keyint_min "$GOP" -sc_threshold 0
	-force_key_frames "expr:gte(t,n_forced*$SEG)"
	-b:v:0 400k -maxrate:v:0 440k -bufsize:v:0 800k
	-b:v:1 1500k -maxrate:v:1 1650k -bufsize:v:1 3000k
	-c:a aac -b:a 64k -ac 2 -ar 48000
)

die() {
	echo "make-media: $*" >&2
	exit 1
}

# build_vod DIR: the MPEG-TS HLS stream. Each rendition carries its own AAC
# track (muxed into its TS segments).
build_vod() {
	local dir=$1
	mkdir -p "$dir/360p" "$dir/720p"
	ffmpeg -hide_banner -loglevel error -nostdin -y \
		"${src[@]}" \
		-map "[lo]" -map 1:a -map "[hi]" -map 1:a \
		"${encode[@]}" \
		-f hls -hls_time "$SEG" -hls_playlist_type vod -hls_list_size 0 \
		-hls_flags independent_segments \
		-hls_segment_type mpegts \
		-hls_segment_filename "$dir/%v/seg%03d.ts" \
		-master_pl_name master.m3u8 \
		-var_stream_map "v:0,a:0,name:360p v:1,a:1,name:720p" \
		"$dir/%v/index.m3u8"

	# ffmpeg writes the master playlist next to the variant playlists' parent
	# pattern; make sure it sits at vod/master.m3u8 with relative URIs.
	if [ ! -f "$dir/master.m3u8" ]; then
		local found
		found=$(find "$dir" -name master.m3u8 | head -n1)
		[ -n "$found" ] || die "ffmpeg wrote no master playlist"
		mv "$found" "$dir/master.m3u8"
	fi
	local r
	for r in 360p 720p; do
		if [ ! -f "$dir/$r/index.m3u8" ] || [ ! -f "$dir/$r/seg000.ts" ]; then
			die "rendition $r is missing"
		fi
	done
	if ! grep -q 'CODECS=' "$dir/master.m3u8" || ! grep -q 'RESOLUTION=' "$dir/master.m3u8"; then
		cat "$dir/master.m3u8" >&2
		die "master playlist lacks CODECS or RESOLUTION"
	fi
}

# build_dash DIR: the DASH stream. Video streams 0 and 1 share AdaptationSet
# 0, the audio (Representation 2) has AdaptationSet 1.
build_dash() {
	local dir=$1
	ffmpeg -hide_banner -loglevel error -nostdin -y \
		"${src[@]}" \
		-map "[lo]" -map "[hi]" -map 1:a \
		"${encode[@]}" \
		-f dash -dash_segment_type mp4 -seg_duration "$SEG" \
		-use_template 1 -use_timeline 1 \
		-adaptation_sets "id=0,streams=v id=1,streams=a" \
		"$dir/manifest.mpd"

	local mpd=$dir/manifest.mpd r n
	[ -f "$mpd" ] || die "ffmpeg wrote no manifest.mpd"
	for r in 0 1 2; do
		[ -f "$dir/init-stream$r.m4s" ] || die "DASH representation $r has no init segment"
		n=$(find "$dir" -name "chunk-stream$r-*.m4s" | wc -l)
		[ "$n" -eq $((DURATION / SEG)) ] || die "DASH representation $r has $n segments, want $((DURATION / SEG))"
	done
	if ! grep -q '<SegmentTimeline>' "$mpd" || ! grep -q 'codecs="avc1\.' "$mpd" ||
		! grep -q 'codecs="mp4a\.' "$mpd" || [ "$(grep -c '<Representation ' "$mpd")" -ne 3 ]; then
		cat "$mpd" >&2
		die "manifest.mpd lacks a SegmentTimeline, codecs or a representation"
	fi
}

# build_hls_fmp4 DIR: the fMP4 HLS stream, one file per rendition, audio as
# an alternate rendition.
build_hls_fmp4() {
	local dir=$1
	ffmpeg -hide_banner -loglevel error -nostdin -y \
		"${src[@]}" \
		-map "[lo]" -map "[hi]" -map 1:a \
		"${encode[@]}" \
		-f hls -hls_time "$SEG" -hls_playlist_type vod -hls_list_size 0 \
		-hls_flags independent_segments+single_file \
		-hls_segment_type fmp4 \
		-hls_segment_filename "$dir/%v/media.mp4" \
		-master_pl_name master.m3u8 \
		-var_stream_map "v:0,agroup:aud,name:360p v:1,agroup:aud,name:720p a:0,agroup:aud,name:audio" \
		"$dir/%v/index.m3u8"

	local master=$dir/master.m3u8 r
	if [ ! -f "$master" ]; then
		local found
		found=$(find "$dir" -name master.m3u8 | head -n1)
		[ -n "$found" ] || die "ffmpeg wrote no master playlist"
		mv "$found" "$master"
	fi
	# ffmpeg 5.1 also lists the audio rendition as an audio-only variant.
	# Drop it: players would count it as a rendition of its own, and ABR
	# could pick it and show no picture.
	awk '
		/^#EXT-X-STREAM-INF:/ && !/RESOLUTION=/ { skip = 1; next }
		skip && /^[^#]/ && NF { skip = 0; next }
		{ print }
	' "$master" >"$master.new"
	mv "$master.new" "$master"
	for r in 360p 720p audio; do
		if [ ! -f "$dir/$r/index.m3u8" ] || [ ! -f "$dir/$r/media.mp4" ]; then
			die "rendition $r is missing"
		fi
		grep -q '^#EXT-X-BYTERANGE:' "$dir/$r/index.m3u8" || die "rendition $r has no EXT-X-BYTERANGE segments"
	done
	if ! grep -q '^#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_aud"' "$master" ||
		[ "$(grep -c '^#EXT-X-STREAM-INF:.*RESOLUTION=.*AUDIO="group_aud"' "$master")" -ne 2 ] ||
		[ "$(grep -c '^#EXT-X-STREAM-INF:' "$master")" -ne 2 ]; then
		cat "$master" >&2
		die "master playlist lacks the audio group or its two video variants"
	fi
}

tmp=
trap 'if [ -n "$tmp" ]; then rm -rf "$tmp"; fi' EXIT

# build NAME STAMP MAIN_FILE BUILDER: unless OUT_DIR/NAME is up to date,
# runs BUILDER on a temporary directory, stamps it and moves it into place.
build() {
	local name=$1 stamp=$2 main=$3 builder=$4
	local dst=$out/$name
	if [ "${FORCE:-0}" != 1 ] && [ -f "$dst/$main" ] && [ -f "$dst/.stamp" ] &&
		[ "$(cat "$dst/.stamp")" = "$stamp" ]; then
		echo "make-media: $dst is up to date"
		return 0
	fi
	if ! command -v ffmpeg >/dev/null 2>&1; then
		die "ffmpeg not found (Debian: apt-get install -y ffmpeg)"
	fi

	mkdir -p "$out"
	tmp=$(mktemp -d "$out/.$name.tmp.XXXXXX")
	chmod 755 "$tmp"
	local start end ms segs size
	start=$(date +%s%N)
	"$builder" "$tmp"
	printf '%s\n' "$stamp" >"$tmp/.stamp"
	rm -rf "$dst"
	mv "$tmp" "$dst"
	tmp=
	end=$(date +%s%N)

	case $name in
	dash) segs=$(find "$dst" -name 'chunk-*.m4s' | wc -l) ;;
	*) segs=$(cat "$dst"/*/index.m3u8 | grep -c '^#EXTINF:') ;;
	esac
	size=$(du -sh "$dst" | cut -f1)
	ms=$(((end - start) / 1000000))
	printf 'make-media: wrote %s (%d segments, %s) in %d.%d s\n' "$dst" "$segs" "$size" $((ms / 1000)) $((ms % 1000 / 100))
}

build vod "$stamp_vod" master.m3u8 build_vod
build dash "$stamp_dash" manifest.mpd build_dash
build hls-fmp4 "$stamp_fmp4" master.m3u8 build_hls_fmp4
