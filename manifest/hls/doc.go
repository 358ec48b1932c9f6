// Package hls reads HLS playlists (RFC 8216) with github.com/grafov/m3u8
// and expands them into segments named the way the hls.js shim names them:
// the media playlist's URL is the manifest, the rendition is "" for the
// main rendition (variant streams), "audio" for EXT-X-MEDIA TYPE=AUDIO and
// "subtitle" for TYPE=SUBTITLES (hls.js's fragment types), and a segment's
// Seq is its media sequence number. See docs/manifests.md.
//
// Byte ranges (EXT-X-BYTERANGE) are resolved to absolute [start, end)
// ranges the way hls.js resolves them, since the shim hands hls.js's
// ranges to the engine: a range without an offset continues the previous
// segment's range (RFC 8216 section 4.3.2.2), or starts at 0 when the
// previous segment had none. grafov does not tell an absent offset from
// "@0", so Decode records which ones were given.
// EXT-X-MAP initialization segments, with their byte ranges, become the
// rendition's Inits.
package hls
