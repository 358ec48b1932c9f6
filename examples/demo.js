// nearcast demo page: plays an HLS or DASH stream with hls.js (default),
// dash.js or Shaka Player (player=dashjs|shaka) and, unless p2p=0, the
// nearcast player shim, and shows where every segment came from.
//
// Query parameters and the window.__demo test hook are the contract in
// docs/wasm-api.md §3. Libraries are loaded with dynamic import() (or script
// tags for build=script; dash.js and Shaka always by script tag, as the
// globals dashjs and shaka) so that nortc=1 takes effect before they load and
// a missing shim (404), or one without the player's adapter, leaves the plain
// player playing from the CDN.
//
// Byte accounting (state().bytes):
//   peer     = nearcast.stats().peerBytes
//   uploaded = nearcast.stats().uploadedBytes
//   cdn      = max(nearcast.stats().cdnBytes, F − max(peer, P))
// where F is the sum of every media segment the player reported loaded
// (hls.js: FRAG_LOADED, stats.total; dash.js: FRAGMENT_LOADING_COMPLETED;
// Shaka: "downloadcompleted"; init segments are left out) and P the part of F
// the engine's "segment" events attribute to peers. An event is matched to a
// segment by sequence number and, when the event carries them, size and media
// playlist URL (hls.js), or by size (dash.js, Shaka: their segment numbering
// need not be the engine's). The second term counts segments the player
// loaded itself — before the engine was ready, or when P2P is off or
// unsupported — in case the shim leaves them out of cdnBytes; the max()
// avoids counting them twice when it does not. Without the shim, cdn = F and
// peer = uploaded = 0.

const loadedAt = typeof window.__demoLoadedAt === "number" ? window.__demoLoadedAt : performance.now();
const params = new URLSearchParams(location.search);

/** The players the page can run: name shown, default stream, what they play. */
const PLAYERS = {
  hlsjs: { name: "hls.js", src: "/media/vod/master.m3u8", plays: ["hls"] },
  dashjs: { name: "dash.js", src: "/media/dash/manifest.mpd", plays: ["dash"] },
  shaka: { name: "Shaka Player", src: "/media/dash/manifest.mpd", plays: ["hls", "dash"] },
};
// With debug=1 or trace=1, how many engine events debug() keeps.
const MAX_TRACE = 5000;
/** The builds /vendor/ serves (cmd/nearcast/demo.go names the same files). */
const DASHJS_BUILD = "/vendor/dashjs/modern/umd/dash.all.min.js";
const SHAKA_BUILD = "/vendor/shaka/shaka-player.compiled.js";
/** The streams `nearcast demo` serves, listed on the page. */
const STREAMS = [
  { label: "HLS (TS)", src: "/media/vod/master.m3u8", kind: "hls" },
  { label: "HLS (fMP4, byte ranges, audio rendition)", src: "/media/hls-fmp4/master.m3u8", kind: "hls" },
  { label: "DASH", src: "/media/dash/manifest.mpd", kind: "dash" },
  { label: "live HLS", src: "/media/live/master.m3u8", kind: "hls" },
  { label: "live DASH", src: "/media/live-dash/manifest.mpd", kind: "dash" },
];

const playerParam = params.get("player") || "hlsjs";
const knownPlayer = Object.hasOwn(PLAYERS, playerParam);
const opts = {
  player: knownPlayer ? playerParam : null,
  src: params.get("src") || PLAYERS[knownPlayer ? playerParam : "hlsjs"].src,
  build: params.get("build") === "script" ? "script" : "esm",
  p2p: params.get("p2p") !== "0",
  maxBuffer: positive(params.get("maxBuffer"), 8),
  nortc: params.get("nortc") === "1",
  muted: params.get("muted") === "1",
  level: params.has("level") ? Number(params.get("level")) : null,
  debug: params.get("debug") === "1",
  // trace=1 keeps every engine event for debug(), like debug=1, but logs
  // nothing to the console: a benchmark's viewers stay as busy as without it.
  trace: params.get("debug") === "1" || params.get("trace") === "1",
  uploadRate: positive(params.get("uploadRate"), 0), // bytes/s, 0 = no cap
};
const playerName = opts.player ? PLAYERS[opts.player].name : playerParam;

// nortc=1: behave like a browser without WebRTC. Before any library loads.
if (opts.nortc) {
  for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "mozRTCPeerConnection"]) {
    try {
      delete window[name];
    } catch {}
    if (typeof window[name] !== "undefined") {
      try {
        Object.defineProperty(window, name, { value: undefined, configurable: true, writable: true });
      } catch {}
    }
  }
}

const $ = (id) => document.getElementById(id);
const video = $("video");

/** Everything the page has observed; one owner, read by state() and the UI. */
const st = {
  firstPlayingMs: null,
  readyMs: null, // the shim's "ready" event
  firstPeerMs: null, // the first "peer-connected" event
  stalls: 0,
  stallMs: 0,
  stallStart: null, // performance.now() of the open stall
  errors: [], // fatal player errors, and failures that stop playback
  warnings: 0, // non-fatal player errors
  lastWarning: "",
  warningLog: [], // the last 50 non-fatal player errors
  p2p: false, // the shim is installed in the player
  supported: false,
  p2pNote: "", // why P2P is off, when it is
  shimLoaded: false,
  frags: [], // {t, seq, level, label, bytes, ms, playlist, url, source, origin, via}
  pending: [], // engine segment events not yet matched to a fragment
  events: { "peer-connected": 0, "peer-disconnected": 0, "peer-banned": 0, fallback: 0 },
  trace: [], // with debug=1 or trace=1: every engine event, oldest first
  samples: [], // {t, cdn, peer} once a second
  origin: null, // last /demo/origin answer
  rendition: null, // {height, bitrate} of the video being played
  switches: 0, // rendition changes after the first rendition
  marks: {}, // ms after page start of the first: libs, manifest, frag, metadata, canplay (playing: firstPlayingMs)
};

/** mark records when something first happened, for debug(): where the time to first frame goes. */
function mark(name) {
  if (!(name in st.marks)) st.marks[name] = Math.round(performance.now() - loadedAt);
}

/** The shim's runtime object (stats/on/off/destroy), once loaded. */
let nc = null;
/** The hls.js instance, once created (player=hlsjs). */
let hls = null;
/**
 * What the page reads from the running player; each start function replaces
 * it. rendition(): {height, bitrate} of the video being played, or null,
 * polled every second unless pollRendition is false (the player's events
 * report it); live(): a live stream; latency(): seconds behind the live
 * edge, or null.
 */
let view = { rendition: () => null, pollRendition: true, live: () => false, latency: () => null };

window.__demo = {
  state,
  /** Extra detail for debugging; not part of the contract. */
  debug: () => ({ opts, marks: { ...st.marks, playing: st.firstPlayingMs }, stats: engineStats(), events: { ...st.events }, trace: st.trace.slice(), warnings: st.warningLog.slice(), origin: st.origin, note: st.p2pNote }),
};

function state() {
  const s = engineStats();
  const latency = safe(() => view.latency(), null);
  return {
    loadedAt,
    firstPlayingMs: st.firstPlayingMs,
    readyMs: st.readyMs === null ? null : Math.round(st.readyMs),
    firstPeerMs: st.firstPeerMs === null ? null : Math.round(st.firstPeerMs),
    currentTime: video.currentTime,
    duration: Number.isFinite(video.duration) ? video.duration : 0,
    ended: video.ended,
    stalls: st.stalls,
    stallMs: Math.round(st.stallMs + (st.stallStart !== null ? performance.now() - st.stallStart : 0)),
    errors: st.errors.slice(),
    p2p: st.p2p,
    supported: s && typeof s.supported === "boolean" ? s.supported : st.supported,
    ready: !!(s && s.ready),
    bytes: bytes(s),
    peers: num(s && s.peers),
    segments: st.frags.map((f) => ({ seq: f.seq, source: f.source, bytes: f.bytes, ms: Math.round(f.ms) })),
    // Added with dash.js and Shaka support.
    player: opts.player || playerParam, // "hlsjs", "dashjs" or "shaka"
    src: opts.src,
    live: !!safe(() => view.live(), false),
    rendition: st.rendition ? { ...st.rendition } : null, // {height, bitrate (bit/s)}
    renditionSwitches: st.switches,
    latency: typeof latency === "number" && Number.isFinite(latency) ? Math.round(latency * 1000) / 1000 : null, // s, live only
    liveWindowAge: liveWindowAge(), // s, live HLS from `nearcast demo` only
  };
}

/**
 * How long the live window had existed when the page loaded its first live
 * media playlist, from the demo server's Server-Timing "live-window" (null
 * without one). A player that loads the playlist in the last moments before
 * the window moves starts a segment further from the live edge than one
 * that loads it earlier, whatever delivers the segments: the e2e tests time
 * their viewers' joins away from that moment and report this to show it.
 * Found once, it is kept (the page's resource timings are not scanned again).
 */
let windowAge = null;
function liveWindowAge() {
  if (windowAge !== null) return windowAge;
  if (!("performance" in window) || typeof performance.getEntriesByType !== "function") return null;
  for (const entry of performance.getEntriesByType("resource")) {
    for (const t of entry.serverTiming || []) {
      if (t.name === "live-window") return (windowAge = Math.round(t.duration) / 1000);
    }
  }
  return null;
}

function engineStats() {
  if (!nc || typeof nc.stats !== "function") return null;
  try {
    return nc.stats() || null;
  } catch {
    return null;
  }
}

function bytes(s) {
  let fragBytes = 0;
  let fromPeers = 0;
  for (const f of st.frags) {
    fragBytes += f.bytes;
    if (f.origin === "peer") fromPeers += f.bytes;
  }
  const peer = s ? num(s.peerBytes) : fromPeers;
  const cdn = Math.max(s ? num(s.cdnBytes) : 0, fragBytes - Math.max(peer, fromPeers), 0);
  return { cdn, peer, uploaded: s ? num(s.uploadedBytes) : 0 };
}

/** setRendition records the rendition being played, counting changes. */
function setRendition(r) {
  if (!r || !(r.height > 0 || r.bitrate > 0)) return;
  const next = { height: num(r.height), bitrate: Math.round(num(r.bitrate)) };
  const prev = st.rendition;
  if (prev && prev.height === next.height && prev.bitrate === next.bitrate) return;
  if (prev) st.switches++;
  st.rendition = next;
}

// ---- playback ---------------------------------------------------------------

video.muted = true; // autoplay is only reliable muted; unmuted below unless muted=1
video.addEventListener("loadedmetadata", () => mark("metadata"), { once: true });
video.addEventListener("canplay", () => mark("canplay"), { once: true });
video.addEventListener("playing", () => {
  const now = performance.now();
  if (st.firstPlayingMs === null) st.firstPlayingMs = Math.round(now - loadedAt);
  if (st.stallStart !== null) {
    st.stallMs += now - st.stallStart;
    st.stallStart = null;
  }
});
// A stall is a 'waiting' after the first 'playing', until the next 'playing'.
// Waiting for data after a seek is not a stall.
video.addEventListener("waiting", () => {
  if (st.firstPlayingMs === null || st.stallStart !== null || video.seeking) return;
  st.stalls++;
  st.stallStart = performance.now();
});

main().catch((err) => fail(`page: ${message(err)}`));

async function main() {
  setupVariants();
  setupStreams();
  if (!opts.player) {
    fail(`page: unknown player=${playerParam} (hlsjs, dashjs or shaka)`);
    return;
  }
  const load = { hlsjs: loadHls, dashjs: loadDashjs, shaka: loadShaka }[opts.player];
  const [lib, shim] = await Promise.all([load(), opts.p2p ? loadShim() : null]);
  mark("libs");
  if (!opts.p2p) st.p2pNote = `P2P off (p2p=0): plain ${playerName}, every segment from the CDN.`;
  const start = { hlsjs: startHlsjs, dashjs: startDashjs, shaka: startShaka }[opts.player];
  await start(lib, shim);
}

/** The options every adapter of the shim gets (hlsConfig, attachDashjs, attachShaka). */
function shimOptions() {
  const trackers = [`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/announce`];
  const shimOpts = { trackers, debug: opts.debug };
  if (opts.uploadRate > 0) shimOpts.uploadRate = opts.uploadRate;
  return shimOpts;
}

/**
 * attachShim runs attach(shimOpts) — the shim's adapter for this player —
 * and marks P2P on; when the shim lacks the adapter or it throws, it notes
 * why, visibly, and the player plays from the CDN. Returns attach's result.
 */
function attachShim(shim, fn, attach) {
  if (!shim) return null;
  if (typeof shim[fn] !== "function") {
    st.p2pNote = `P2P off: the player shim (${shim.url}) has no ${fn}() for ${playerName}; plain ${playerName} from the CDN.`;
    console.warn("nearcast demo:", st.p2pNote);
    return null;
  }
  try {
    st.supported = !!shim.isSupported();
    const handle = attach(shimOptions());
    nc = shim.nearcast;
    st.p2p = true;
    subscribe(nc);
    return handle;
  } catch (err) {
    st.p2pNote = `P2P off: the shim failed to configure ${playerName} (${message(err)}); plain ${playerName}.`;
    return null;
  }
}

// ---- hls.js ---------------------------------------------------------------------

async function startHlsjs(Hls, shim) {
  if (!Hls || !Hls.isSupported()) {
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      st.p2pNote = "hls.js unavailable: the browser plays HLS natively, from the CDN only.";
      video.src = opts.src;
      await autoplay();
      return;
    }
    fail(Hls ? "page: this browser has no Media Source Extensions" : "page: hls.js did not load from /vendor/");
    return;
  }

  // maxBufferLength alone is only a floor: hls.js buffers up to
  // maxBufferSize (60 MB) worth of seconds, capped by maxMaxBufferLength —
  // a whole short VOD against a fast origin, leaving nothing for peers.
  let config = { maxBufferLength: opts.maxBuffer, maxMaxBufferLength: opts.maxBuffer, debug: false };
  if (opts.level !== null && Number.isInteger(opts.level)) config.startLevel = opts.level;
  attachShim(shim, "hlsConfig", (shimOpts) => {
    const p2pConfig = shim.hlsConfig(Hls, shimOpts);
    config = { ...p2pConfig, ...config };
  });

  hls = new Hls(config);
  if (st.p2p && typeof nc.attach === "function") {
    try {
      nc.attach(hls); // optional: deadlines from hls.media, prefetch hints
    } catch (err) {
      console.warn("nearcast demo: attach failed", err);
    }
  }
  const level = () => (hls.levels && hls.levels[hls.currentLevel]) || null;
  view = {
    rendition: () => {
      const l = level();
      return l ? { height: l.height, bitrate: l.bitrate } : null;
    },
    pollRendition: true,
    live: () => !!(level() && level().details && level().details.live),
    latency: () => (view.live() ? hls.latency : null),
  };
  hls.on(Hls.Events.FRAG_LOADED, (_, data) => onFragLoaded(data));
  hls.on(Hls.Events.FRAG_CHANGED, () => setRendition(view.rendition()));
  hls.on(Hls.Events.ERROR, (_, data) => {
    if (!data.fatal) {
      warn(`${data.type}/${data.details}`);
      return;
    }
    const reason = data.error ? message(data.error) : data.reason || "";
    st.errors.push(`${data.type}/${data.details}${reason ? ": " + reason : ""}`);
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    mark("manifest");
    if (opts.level !== null && hls.levels[opts.level]) hls.currentLevel = opts.level;
    autoplay();
  });
  hls.loadSource(opts.src);
  hls.attachMedia(video);
  window.addEventListener("pagehide", () => {
    hls.destroy();
    if (nc && typeof nc.destroy === "function") nc.destroy();
  });
}

async function loadHls() {
  try {
    if (opts.build === "script") {
      await loadScript("/vendor/hls.min.js");
      return window.Hls || null;
    }
    return (await import("/vendor/hls.mjs")).default;
  } catch (err) {
    console.warn("nearcast demo: hls.js did not load", err);
    return null;
  }
}

function onFragLoaded(data) {
  const frag = data.frag;
  if (!frag || typeof frag.sn !== "number") return; // init segments
  const stats = frag.stats || {};
  const loading = stats.loading || {};
  const level = hls && hls.levels && hls.levels[frag.level];
  addFrag({
    t: performance.now() - loadedAt,
    seq: frag.sn,
    level: frag.level,
    label: level ? `${level.height}p` : String(frag.level),
    bytes: num(stats.total) || num(stats.loaded) || (data.payload ? data.payload.byteLength : 0),
    ms: loading.end && loading.start ? loading.end - loading.start : 0,
    playlist: typeof frag.baseurl === "string" ? frag.baseurl : "",
    source: "cdn",
    origin: "cdn",
    via: "hls.js",
  });
}

// ---- dash.js ----------------------------------------------------------------------

async function loadDashjs() {
  try {
    await loadScript(DASHJS_BUILD);
    return window.dashjs || null;
  } catch (err) {
    console.warn("nearcast demo: dash.js did not load", err);
    return null;
  }
}

async function startDashjs(dashjs, shim) {
  if (!dashjs || typeof dashjs.MediaPlayer !== "function") {
    fail(`page: dash.js did not load from ${DASHJS_BUILD} (is --vendor-dashjs installed?)`);
    return;
  }
  if (typeof dashjs.supportsMediaSource === "function" && !dashjs.supportsMediaSource()) {
    fail("page: this browser has no Media Source Extensions");
    return;
  }
  const player = dashjs.MediaPlayer().create();
  // Buffer about maxBuffer seconds ahead whatever the rendition, as hls.js
  // does with maxBufferLength (dash.js's defaults: 18 s, 30 s at the top
  // rendition, 60 s for long content). bufferToKeep (behind the playhead)
  // keeps its default, as hls.js keeps its back buffer.
  const settings = {
    debug: { logLevel: opts.debug ? 5 : 3 }, // dashjs.Debug.LOG_LEVEL_DEBUG : LOG_LEVEL_WARNING
    streaming: {
      buffer: {
        bufferTimeDefault: opts.maxBuffer,
        bufferTimeAtTopQuality: opts.maxBuffer,
        bufferTimeAtTopQualityLongForm: opts.maxBuffer,
      },
    },
  };
  const lock = opts.level !== null && Number.isInteger(opts.level);
  if (lock) settings.streaming.abr = { autoSwitchBitrate: { video: false } };
  player.updateSettings(settings);

  // The shim goes in before initialize(): it must see the first request.
  const p2p = attachShim(shim, "attachDashjs", (shimOpts) => shim.attachDashjs(dashjs, player, shimOpts));

  const rendition = (rep) => (rep ? { height: rep.height, bitrate: rep.bandwidth } : null);
  view = {
    // QUALITY_CHANGE_RENDERED reports what plays; polling would report what
    // downloads, so it only fills in until the first event.
    rendition: () => rendition(player.getCurrentRepresentationForType("video")),
    pollRendition: false,
    live: () => player.isDynamic(),
    latency: () => (player.isDynamic() ? player.getCurrentLiveLatency() : null),
  };
  const E = dashjs.MediaPlayer.events;
  player.on(E.FRAGMENT_LOADING_COMPLETED, onDashFragment);
  player.on(E.QUALITY_CHANGE_RENDERED, (e) => {
    if (e.mediaType === "video") setRendition(rendition(e.newRepresentation));
  });
  player.on(E.ERROR, (e) => {
    const err = (e && e.error) || {};
    st.errors.push(`dash.js/${err.code !== undefined ? err.code : "error"}${err.message ? ": " + err.message : ""}`);
  });
  player.on(E.STREAM_INITIALIZED, () => {
    if (lock) {
      try {
        player.setRepresentationForTypeByIndex("video", opts.level, true);
      } catch (err) {
        warn(`level=${opts.level}: ${message(err)}`);
      }
    }
    autoplay();
  });
  player.initialize(video, opts.src, true);
  window.addEventListener("pagehide", () => {
    player.destroy();
    if (p2p && typeof p2p.detach === "function") p2p.detach();
    if (nc && typeof nc.destroy === "function") nc.destroy();
  });
}

/** FRAGMENT_LOADING_COMPLETED: {request: FragmentRequest, response: ArrayBuffer, error}. */
function onDashFragment(e) {
  const r = e && e.request;
  if (!r || e.error || !e.response || r.type !== "MediaSegment") return; // failures, init segments
  const rep = r.representation || {};
  const size = typeof e.response.byteLength === "number" ? e.response.byteLength : 0;
  addFrag({
    t: performance.now() - loadedAt,
    seq: Number.isFinite(r.index) ? r.index : -1,
    level: rep.id !== undefined ? rep.id : -1,
    label: r.mediaType === "video" && rep.height ? `${rep.height}p` : String(r.mediaType || rep.id),
    bytes: size || num(r.bytesLoaded),
    ms: r.startDate && r.endDate ? r.endDate - r.startDate : 0,
    url: typeof r.url === "string" ? r.url : "",
    source: "cdn",
    origin: "cdn",
    via: "dash.js",
  });
}

// ---- Shaka Player -------------------------------------------------------------------

async function loadShaka() {
  try {
    await loadScript(SHAKA_BUILD);
    return window.shaka || null;
  } catch (err) {
    console.warn("nearcast demo: Shaka Player did not load", err);
    return null;
  }
}

async function startShaka(shaka, shim) {
  if (!shaka || !shaka.Player) {
    fail(`page: Shaka Player did not load from ${SHAKA_BUILD} (is --vendor-shaka installed?)`);
    return;
  }
  shaka.polyfill.installAll();
  if (!shaka.Player.isBrowserSupported()) {
    fail("page: this browser cannot run Shaka Player (no Media Source Extensions)");
    return;
  }
  const player = new shaka.Player();
  await player.attach(video);
  const lock = opts.level !== null && Number.isInteger(opts.level);
  player.configure({
    streaming: {
      // About maxBuffer seconds ahead, like hls.js's maxBufferLength; start
      // (and resume after a stall) with about one segment, as hls.js does.
      bufferingGoal: opts.maxBuffer,
      rebufferingGoal: Math.min(2, opts.maxBuffer / 2),
    },
    abr: { enabled: !lock },
  });

  // The shim goes in before load(): it must see the first request.
  const p2p = attachShim(shim, "attachShaka", (shimOpts) => shim.attachShaka(shaka, player, shimOpts));

  const active = () => player.getVariantTracks().find((t) => t.active) || null;
  view = {
    rendition: () => {
      const t = active();
      return t ? { height: t.height, bitrate: t.videoBandwidth || t.bandwidth } : null;
    },
    pollRendition: true,
    live: () => player.isLive(),
    latency: () => {
      if (!player.isLive()) return null;
      const l = player.getStats().liveLatency;
      return Number.isFinite(l) && l > 0 ? l : player.seekRange().end - video.currentTime;
    },
  };
  player.addEventListener("downloadcompleted", (e) => onShakaDownload(shaka, e));
  for (const type of ["adaptation", "variantchanged"]) player.addEventListener(type, () => setRendition(safe(view.rendition, null)));
  player.addEventListener("error", (e) => {
    const err = e.detail || {};
    const text = shakaError(err);
    if (err.severity === shaka.util.Error.Severity.CRITICAL) st.errors.push(text);
    else warn(text);
  });
  window.addEventListener("pagehide", () => {
    player.destroy();
    if (p2p && typeof p2p.detach === "function") p2p.detach();
    if (nc && typeof nc.destroy === "function") nc.destroy();
  });
  try {
    await player.load(opts.src);
  } catch (err) {
    st.errors.push(`${shakaError(err)} (load ${opts.src})`);
    return;
  }
  if (lock) {
    const tracks = player.getVariantTracks().filter((t) => t.height).sort((a, b) => a.bandwidth - b.bandwidth);
    if (tracks[opts.level]) player.selectVariantTrack(tracks[opts.level], true);
  }
  setRendition(safe(view.rendition, null));
  autoplay();
}

function shakaError(err) {
  if (!err || typeof err.code !== "number") return `shaka: ${message(err)}`;
  return `shaka/${err.category}.${err.code}${err.message && !/^Shaka Error/.test(err.message) ? ": " + err.message : ""}`;
}

/** "downloadcompleted": {requestType, request, context: {type, stream, segment}, response}. */
function onShakaDownload(shaka, e) {
  const NE = shaka.net.NetworkingEngine;
  const ctx = e.context || {};
  if (e.requestType !== NE.RequestType.SEGMENT) return;
  if (ctx.type !== undefined ? ctx.type !== NE.AdvancedRequestType.MEDIA_SEGMENT : !ctx.segment) return; // init segments
  const res = e.response || {};
  const stream = ctx.stream || {};
  const seg = ctx.segment;
  let seq = -1;
  if (seg && typeof seg.getStartTime === "function") {
    // Shaka does not expose sequence numbers: the segment's place in time.
    const d = seg.getEndTime() - seg.getStartTime();
    if (d > 0) seq = Math.round(seg.getStartTime() / d);
  }
  addFrag({
    t: performance.now() - loadedAt,
    seq,
    level: stream.id !== undefined ? stream.id : -1,
    label: stream.type === "video" && stream.height ? `${stream.height}p` : String(stream.type || stream.id),
    bytes: res.data && typeof res.data.byteLength === "number" ? res.data.byteLength : 0,
    ms: num(res.timeMs),
    url: typeof res.uri === "string" ? res.uri : "",
    source: "cdn",
    origin: "cdn",
    via: "shaka",
  });
}

// ---- shared loading ---------------------------------------------------------------

/** The adapter function each player needs from the shim. */
const SHIM_ADAPTER = { hlsjs: "hlsConfig", dashjs: "attachDashjs", shaka: "attachShaka" };

/** Loads the shim; on any failure returns null and notes why (plain player). */
async function loadShim() {
  const url = opts.build === "script" ? "/nearcast/nearcast.js" : "/nearcast/nearcast.esm.js";
  try {
    let mod;
    if (opts.build === "script") {
      await loadScript(url);
      mod = window.nearcast;
    } else {
      mod = await import(url);
    }
    if (!mod) throw new Error("it exports nothing");
    // hls.js needs hlsConfig, as before; dash.js and Shaka say which adapter
    // is missing (attachShim) so that an older shim build is named as such.
    if (opts.player === "hlsjs" && typeof mod.hlsConfig !== "function") throw new Error("it exports no hlsConfig");
    // The script build's global may be the module namespace ({hlsConfig,
    // isSupported, nearcast}) or the runtime object carrying hlsConfig.
    const runtime = mod.nearcast && typeof mod.nearcast.stats === "function" ? mod.nearcast : mod;
    const fn = (name) => (typeof mod[name] === "function" ? mod[name] : typeof runtime[name] === "function" ? runtime[name] : undefined);
    st.shimLoaded = true;
    return {
      url,
      hlsConfig: fn("hlsConfig"),
      attachDashjs: fn("attachDashjs"),
      attachShaka: fn("attachShaka"),
      isSupported: fn("isSupported") || (() => false),
      nearcast: runtime,
    };
  } catch (err) {
    console.warn("nearcast demo: shim did not load", err);
    st.p2pNote = `P2P off: the player shim did not load (${url}: ${message(err)}); plain ${playerName} from the CDN.`;
    return null;
  }
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`failed to load ${src}`));
    document.head.append(s);
  });
}

async function autoplay() {
  if (!opts.muted) video.muted = false;
  try {
    await video.play();
  } catch (err) {
    if (video.muted || err.name !== "NotAllowedError") return;
    video.muted = true; // the browser refuses unmuted autoplay: play muted
    try {
      await video.play();
    } catch {}
  }
}

function fail(msg) {
  st.errors.push(msg);
  console.error("nearcast demo:", msg);
}

function warn(text) {
  st.warnings++;
  st.lastWarning = text;
  st.warningLog.push(text);
  if (st.warningLog.length > 50) st.warningLog.shift();
}

// ---- segment attribution ------------------------------------------------------

/** addFrag records a media segment the player loaded and matches it to an engine event. */
function addFrag(f) {
  const i = st.pending.findIndex((ev) => matches(f, ev));
  if (i >= 0) attribute(f, st.pending.splice(i, 1)[0]);
  st.frags.push(f);
  mark("frag");
  addRow(f);
}

function subscribe(rt) {
  if (!rt || typeof rt.on !== "function") return;
  rt.on("segment", (ev) => {
    const f = st.frags.findLast((f) => f.via !== "engine" && matches(f, ev));
    if (f) {
      attribute(f, ev);
      updateRow(f);
      return;
    }
    st.pending.push(ev);
    if (st.pending.length > 64) st.pending.shift();
  });
  for (const type of Object.keys(st.events)) rt.on(type, () => st.events[type]++);
  // With trace=1 (or debug=1) every engine event is kept (the newest
  // MAX_TRACE) for debug().
  if (opts.trace) {
    rt.on("*", (ev) => {
      st.trace.push(ev);
      if (st.trace.length > MAX_TRACE) st.trace.shift();
    });
  }
  rt.on("ready", () => {
    if (st.readyMs === null) st.readyMs = performance.now() - loadedAt;
  });
  rt.on("peer-connected", () => {
    if (st.firstPeerMs === null) st.firstPeerMs = performance.now() - loadedAt;
  });
}

/**
 * matches tells whether engine event ev is about fragment f. hls.js: the
 * same sequence number and, where the event carries them, the same size and
 * media playlist (the engine's swarm is the playlist URL unless swarmId is
 * set). dash.js and Shaka number segments their own way: the same URL where
 * the event carries one, else the same size, else the same number.
 */
function matches(f, ev) {
  if (f.via !== "hls.js") {
    if (typeof ev.url === "string" && f.url) return ev.url.split("?")[0] === f.url.split("?")[0];
    if (typeof ev.bytes === "number") return ev.bytes === f.bytes;
    return ev.seq === f.seq;
  }
  if (ev.seq !== f.seq) return false;
  if (typeof ev.bytes === "number" && ev.bytes !== f.bytes) return false;
  if (typeof ev.swarm === "string" && /^https?:/.test(ev.swarm) && f.playlist) {
    return ev.swarm.split("?")[0] === f.playlist.split("?")[0];
  }
  return true;
}

function attribute(f, ev) {
  f.source = ev.source || "cdn";
  f.origin = ev.origin || (f.source === "peer" ? "peer" : "cdn");
  f.via = "engine";
  // A peer that fell behind: its part was kept, the tail came from the CDN.
  f.tail = typeof ev.tailBytes === "number" ? ev.tailBytes : 0;
  if (typeof ev.durationMs === "number") f.ms = ev.durationMs;
}

// ---- UI -------------------------------------------------------------------------

/** link returns "?" + the page's query with changes applied (null deletes). */
function link(changes) {
  const p = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) v === null ? p.delete(k) : p.set(k, v);
  return "?" + p.toString();
}

function kindOf(src) {
  return /\.mpd(\?|#|$)/i.test(src) ? "dash" : "hls";
}

function setupVariants() {
  const nav = $("variants");
  const variant = (label, changes, current) => {
    const a = document.createElement("a");
    a.href = link(changes);
    a.textContent = label;
    if (current === undefined) current = Object.entries(changes).every(([k, v]) => params.get(k) === v);
    if (current) a.className = "current";
    nav.append(a);
  };
  for (const [id, p] of Object.entries(PLAYERS)) {
    // Keep the stream when the other player plays it, else take its default.
    const keep = params.has("src") && p.plays.includes(kindOf(opts.src));
    variant(p.name, { player: id === "hlsjs" ? null : id, src: keep ? opts.src : null }, opts.player === id);
  }
  nav.append(document.createTextNode(" |"));
  variant("P2P", { p2p: null });
  variant("CDN only", { p2p: "0" });
  variant("ESM", { build: null });
  variant("script tags", { build: "script" });
  variant("no WebRTC", { nortc: "1" });
  $("another").href = location.href;
}

/** Lists the streams the demo serves, each with a player that plays it. */
function setupStreams() {
  const box = $("streams");
  if (!box) return;
  const links = STREAMS.map((s) => {
    const player = opts.player && PLAYERS[opts.player].plays.includes(s.kind) ? opts.player : s.kind === "dash" ? "dashjs" : "hlsjs";
    const a = document.createElement("a");
    a.href = link({ src: s.src, player: player === "hlsjs" ? null : player });
    a.textContent = s.label;
    if (s.src === opts.src) a.className = "current";
    return a;
  });
  box.append("Streams: ", ...links.flatMap((a, i) => (i ? [" · ", a] : [a])));
}

function renderStatus(s) {
  const el = $("p2p-status");
  let cls;
  let text;
  if (st.errors.length) {
    cls = "status-error";
    text = `Playback failed: ${st.errors[st.errors.length - 1]}`;
  } else if (!st.p2p) {
    cls = "status-off";
    text = st.p2pNote || "Loading…";
  } else if (!(s && typeof s.supported === "boolean" ? s.supported : st.supported)) {
    cls = "status-off";
    text = `P2P unsupported in this browser (no WebRTC or WebAssembly${opts.nortc ? ": nortc=1 removed RTCPeerConnection" : ""}): CDN only.`;
  } else if (s && !s.ready && (s.state === "failed" || s.error)) {
    cls = "status-off";
    text = `P2P engine unavailable (${s.error ? message(s.error) : s.state}): CDN only.`;
  } else if (!(s && s.ready)) {
    const waited = (performance.now() - loadedAt) / 1000;
    cls = "status-loading";
    text = waited > 10
      ? `P2P engine not ready after ${waited.toFixed(0)} s (is /nearcast/nearcast.wasm served?): CDN only.`
      : "P2P starting: loading the engine; segments come from the CDN until it is ready.";
  } else {
    cls = "status-on";
    text = `P2P on: ${num(s.peers)} peer${num(s.peers) === 1 ? "" : "s"} connected, ${num(s.swarms)} swarm${num(s.swarms) === 1 ? "" : "s"}.`;
  }
  el.className = `status ${cls}`;
  el.textContent = text;
}

function tick() {
  const s = engineStats();
  const b = bytes(s);
  const total = b.cdn + b.peer;
  st.samples.push({ t: (performance.now() - loadedAt) / 1000, cdn: b.cdn, peer: b.peer });
  if (st.samples.length > 3600) st.samples.splice(0, st.samples.length - 3600);
  if (view.pollRendition || !st.rendition) setRendition(safe(view.rendition, null));

  renderStatus(s);
  $("share").textContent = total ? `${((100 * b.peer) / total).toFixed(1)} %` : "–";
  $("cdn").textContent = fmtBytes(b.cdn);
  $("peer").textContent = fmtBytes(b.peer);
  $("uploaded").textContent = s ? fmtBytes(b.uploaded) : "–";
  $("peers").textContent = s ? String(num(s.peers)) : "–";
  const stallMs = st.stallMs + (st.stallStart !== null ? performance.now() - st.stallStart : 0);
  $("stalls").textContent = `${st.stalls}${st.stalls ? ` · ${(stallMs / 1000).toFixed(1)} s` : ""}`;
  renderFacts(s);
  renderErrors();
  drawChart();
  pollOrigin();
}

function renderFacts(s) {
  const r = st.rendition;
  const buffered = bufferAhead();
  const latency = safe(() => view.latency(), null);
  const rows = [
    ["player", playerName],
    ["stream", opts.src],
    ["build", `${opts.build}${opts.nortc ? ", nortc" : ""}`],
    ["rendition", r ? `${r.height}p (${Math.round(r.bitrate / 1000)} kbit/s)${st.switches ? `, ${st.switches} switch${st.switches === 1 ? "" : "es"}` : ""}` : "–"],
    ["time", `${video.currentTime.toFixed(1)} / ${Number.isFinite(video.duration) ? video.duration.toFixed(1) : "–"} s${video.ended ? " (ended)" : ""}`],
    ["buffer ahead", `${buffered.toFixed(1)} s (max ${opts.maxBuffer} s)`],
  ];
  if (typeof latency === "number" && Number.isFinite(latency)) rows.push(["behind live edge", `${latency.toFixed(1)} s`]);
  rows.push(
    ["first frame", st.firstPlayingMs === null ? "–" : `${st.firstPlayingMs} ms`],
    ["engine", s ? `fallbacks ${num(s.peerFallbacks)}, banned ${num(s.bannedPeers)}, uploads ${num(s.uploads)}, cache hits ${num(s.cacheSegments)}` : "–"],
    ["origin (all viewers)", st.origin ? `${fmtBytes(st.origin.bytes)} in ${st.origin.requests} requests` : "–"],
    [`${playerName} warnings`, st.warnings ? `${st.warnings} (last: ${st.lastWarning})` : "0"],
  );
  const dl = $("facts");
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", k), el("dd", v)]));
}

function renderErrors() {
  const box = $("errors");
  box.hidden = st.errors.length === 0;
  if (!box.hidden) box.replaceChildren(el("strong", "Errors"), ...st.errors.map((e) => el("div", e)));
}

function bufferAhead() {
  const b = video.buffered;
  for (let i = 0; i < b.length; i++) {
    if (b.start(i) <= video.currentTime + 0.1 && video.currentTime <= b.end(i)) return b.end(i) - video.currentTime;
  }
  return 0;
}

let originBusy = false;
async function pollOrigin() {
  if (originBusy) return;
  originBusy = true;
  try {
    const r = await fetch("/demo/origin", { cache: "no-store" });
    if (r.ok) st.origin = await r.json();
  } catch {
  } finally {
    originBusy = false;
  }
}

const tbody = $("segments");
const rows = new WeakMap();
function addRow(f) {
  const tr = document.createElement("tr");
  rows.set(f, tr);
  fillRow(tr, f, st.frags.length);
  tbody.prepend(tr);
  while (tbody.rows.length > 300) tbody.lastElementChild.remove();
  const n = { cdn: 0, peer: 0, cache: 0 };
  for (const x of st.frags) n[x.source] = (n[x.source] || 0) + 1;
  $("seg-summary").textContent = `${st.frags.length} loaded: ${n.peer} peer, ${n.cache} cache, ${n.cdn} CDN`;
}
function updateRow(f) {
  const tr = rows.get(f);
  if (tr) fillRow(tr, f, st.frags.indexOf(f) + 1);
}
function fillRow(tr, f, n) {
  tr.className = `src-${f.source}`;
  tr.replaceChildren(
    el("td", String(n)),
    el("td", `${(f.t / 1000).toFixed(1)} s`),
    el("td", String(f.seq)),
    el("td", f.label),
    el("td", f.tail ? `${f.source} + cdn tail ${fmtBytes(f.tail)}` : f.source),
    el("td", f.via),
    el("td", fmtBytes(f.bytes), "num"),
    el("td", String(Math.round(f.ms)), "num"),
  );
}

function drawChart() {
  const canvas = $("chart");
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 640;
  const h = canvas.clientHeight || 200;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const pad = { l: 52, r: 8, t: 8, b: 20 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const data = st.samples;
  const tMax = Math.max(30, data.length ? data[data.length - 1].t : 0);
  const yMax = niceMax(Math.max(1, ...data.map((d) => d.cdn + d.peer)));
  const x = (t) => pad.l + (t / tMax) * pw;
  const y = (v) => pad.t + ph - (v / yMax) * ph;

  ctx.strokeStyle = "#d0d4da";
  ctx.fillStyle = "#5b6470";
  ctx.font = "11px system-ui, sans-serif";
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    ctx.beginPath();
    ctx.moveTo(pad.l, Math.round(y(v)) + 0.5);
    ctx.lineTo(w - pad.r, Math.round(y(v)) + 0.5);
    ctx.stroke();
    ctx.textAlign = "right";
    ctx.fillText(fmtBytes(v), pad.l - 4, y(v) + 4);
  }
  ctx.textAlign = "center";
  for (let i = 0; i <= 5; i++) {
    const t = (tMax * i) / 5;
    ctx.textAlign = i === 0 ? "left" : i === 5 ? "right" : "center";
    ctx.fillText(`${Math.round(t)} s`, x(t), h - 5);
  }
  if (data.length < 2) return;
  const area = (top, bottom, color) => {
    ctx.beginPath();
    data.forEach((d, i) => (i ? ctx.lineTo(x(d.t), y(top(d))) : ctx.moveTo(x(d.t), y(top(d)))));
    for (let i = data.length - 1; i >= 0; i--) ctx.lineTo(x(data[i].t), y(bottom(data[i])));
    ctx.closePath();
    ctx.fillStyle = color;
    ctx.fill();
  };
  area((d) => d.cdn, () => 0, "#7a8aa0");
  area((d) => d.cdn + d.peer, (d) => d.cdn, "#2fa66a");
}

setInterval(tick, 1000);
tick();

// ---- helpers ----------------------------------------------------------------------

function el(tag, text, cls) {
  const e = document.createElement(tag);
  e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function num(v) {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/** safe returns fn(), or fallback when it throws (players throw before they are ready). */
function safe(fn, fallback) {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function positive(s, def) {
  const n = Number(s);
  return s !== null && Number.isFinite(n) && n > 0 ? n : def;
}

function message(err) {
  if (err && typeof err === "object") return err.message || err.code || String(err);
  return String(err);
}

function fmtBytes(n) {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(2)} GiB`;
}

/** A round axis maximum ≥ v bytes: 1, 2, 4 or 8 × 10^k of a binary unit. */
function niceMax(v) {
  let unit = 1;
  while (v / unit >= 1024) unit *= 1024;
  const x = v / unit;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 4, 8, 10]) if (m * p >= x) return m * p * unit;
  return 10 * p * unit;
}
