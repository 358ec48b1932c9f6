// Interop page logic: see p2pml.html.
import Hls from "hls.js";
import { HlsJsP2PEngine } from "p2p-media-loader-hlsjs";

const loadedAt = performance.now();
const params = new URLSearchParams(location.search);
const src = params.get("src");
const tracker = params.get("tracker");
const swarmId = params.get("swarm") || "nearcast-e2e-interop";
const maxBuffer = Number(params.get("maxBuffer") || 8);

const st = {
  firstPlayingMs: null, stalls: 0, stallMs: 0, waitingSince: null,
  errors: [], warnings: [],
  bytes: { cdn: 0, peer: 0, uploaded: 0 },
  peers: new Set(), segments: [],
  rendition: null, switches: 0, // the level playing, and how often it changed
};

window.__demo = {
  state() {
    const v = document.getElementById("video");
    return {
      loadedAt,
      firstPlayingMs: st.firstPlayingMs,
      currentTime: v.currentTime,
      duration: Number.isFinite(v.duration) ? v.duration : 0,
      ended: v.ended,
      stalls: st.stalls,
      stallMs: st.stallMs + (st.waitingSince === null ? 0 : performance.now() - st.waitingSince),
      errors: st.errors.slice(),
      warnings: st.warnings.slice(-20),
      p2p: true,
      supported: typeof RTCPeerConnection === "function",
      ready: true,
      bytes: { ...st.bytes },
      peers: st.peers.size,
      segments: st.segments.slice(),
      player: "hlsjs",
      rendition: st.rendition ? { ...st.rendition } : null,
      renditionSwitches: st.switches,
    };
  },
};

const video = document.getElementById("video");
video.addEventListener("playing", () => {
  const now = performance.now();
  if (st.firstPlayingMs === null) st.firstPlayingMs = now - loadedAt;
  if (st.waitingSince !== null) { st.stallMs += now - st.waitingSince; st.waitingSince = null; }
});
video.addEventListener("waiting", () => {
  if (st.firstPlayingMs === null || st.waitingSince !== null || video.ended) return;
  st.stalls++;
  st.waitingSince = performance.now();
});

if (!src || !tracker) {
  st.errors.push("missing src or tracker query parameter");
} else {
  const HlsWithP2P = HlsJsP2PEngine.injectMixin(Hls);
  const hls = new HlsWithP2P({
    maxBufferLength: maxBuffer,
    maxMaxBufferLength: maxBuffer,
    p2p: {
      core: {
        announceTrackers: [tracker],
        rtcConfig: { iceServers: [] },
        swarmId,
      },
      onHlsJsCreated(h) {
        const e = h.p2pEngine;
        e.addEventListener("onChunkDownloaded", (n, source) => {
          if (source === "p2p") st.bytes.peer += n; else st.bytes.cdn += n;
        });
        e.addEventListener("onChunkUploaded", (n) => { st.bytes.uploaded += n; });
        e.addEventListener("onPeerConnect", (d) => st.peers.add(d.peerId));
        e.addEventListener("onPeerClose", (d) => st.peers.delete(d.peerId));
        e.addEventListener("onSegmentLoaded", (d) => st.segments.push({
          seq: st.segments.length, url: d.segmentUrl,
          source: d.downloadSource === "p2p" ? "peer" : "cdn",
          bytes: d.bytesLength, ms: performance.now() - loadedAt,
        }));
        e.addEventListener("onTrackerError", (d) => st.warnings.push("tracker error: " + String(d?.error)));
        e.addEventListener("onTrackerWarning", (d) => st.warnings.push("tracker warning: " + String(d?.warning)));
        e.addEventListener("onSegmentError", (d) => st.warnings.push("segment error: " + String(d?.error?.type ?? d?.error)));
      },
    },
  });
  // The rendition being played, as the demo page reports it (FRAG_CHANGED:
  // the fragment now playing), for the bench's ABR comparison.
  hls.on(Hls.Events.FRAG_CHANGED, (_, data) => {
    const level = hls.levels?.[data.frag?.level];
    if (!level) return;
    const next = { height: level.height || 0, bitrate: level.bitrate || 0 };
    if (st.rendition && (st.rendition.height !== next.height || st.rendition.bitrate !== next.bitrate)) st.switches++;
    st.rendition = next;
  });
  hls.on(Hls.Events.ERROR, (_, data) => {
    if (data.fatal) st.errors.push(`${data.type}: ${data.details}`);
  });
  hls.loadSource(new URL(src, location.href).href);
  hls.attachMedia(video);
  video.play().catch((err) => st.warnings.push("play(): " + err));
  window.__hls = hls;
}
