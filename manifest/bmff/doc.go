// Package bmff reads and patches the few ISO base media file format boxes
// (ISO/IEC 14496-12) that nearcast needs of fragmented MP4 segments: the
// segment index (sidx, section 8.16.3) that addresses the media of a DASH
// SegmentBase representation, the track timescales of an initialization
// segment (tkhd, mdhd), and the decode times of movie fragments (moof/traf/
// tfdt, section 8.8.12), which the demo's live mode moves forward on every
// loop of its VOD sample so that the timeline stays continuous for MSE.
//
// Every function takes untrusted bytes: box sizes are checked against their
// parents, only known containers are entered (so nesting is bounded), and
// nothing is allocated in proportion to a size field that the data does not
// back.
package bmff
