// Package manifest holds what nearcast needs of a streaming manifest once it
// has been parsed: the segments of each rendition, named the way every
// viewer of the stream names them, so that viewers meet in the same swarms
// and ask each other for the same segments.
//
// The formats live in subpackages: [github.com/nearcast/nearcast/manifest/mpd]
// models MPEG-DASH media presentation descriptions (ISO/IEC 23009-1),
// [github.com/nearcast/nearcast/manifest/hls] reads HLS playlists (RFC 8216)
// with github.com/grafov/m3u8, and [github.com/nearcast/nearcast/manifest/bmff]
// walks the few ISO base media file format boxes (ISO/IEC 14496-12) that
// segment addressing and the demo's live mode need (sidx, moof/traf/tfdt).
//
// The identity rules — which manifest URL, rendition name and sequence number
// a segment gets — are written down in docs/manifests.md. They are a
// contract with the browser shim's player adapters (for DASH, the
// dashIdentity functions of player-shim/src/dashjs.js and shaka.js, whose
// rule is the one that counts: players expose no more). A change to them
// changes the swarm IDs, so viewers on the old and the new rule never meet:
// change the shim and this package together.
//
// The packages are pure Go (no net/http) and treat every manifest as
// hostile: inputs are size-limited, expansions are capped (see
// [WithMaxSegments]) and failures wrap the sentinels of errors.go.
package manifest
