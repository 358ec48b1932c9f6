// nearcast demo page: plays an HLS stream with hls.js and, unless p2p=0, the
// nearcast player shim, and shows where every segment came from.
//
// Query parameters and the window.__demo test hook are the contract in
// docs/wasm-api.md §3. Libraries are loaded with dynamic import() (or script
// tags for build=script) so that nortc=1 takes effect before they load and a
// missing shim (404) leaves plain hls.js playing from the CDN.
//
// Byte accounting (state().bytes):
//   peer     = nearcast.stats().peerBytes
//   uploaded = nearcast.stats().uploadedBytes
//   cdn      = max(nearcast.stats().cdnBytes, F − max(peer, P))
// where F is the sum of every fragment hls.js reported loaded (FRAG_LOADED,
// stats.total) and P the part of F the engine's "segment" events attribute
// to peers (an event is matched to a fragment by sequence number and, when
// the event carries them, size and media playlist URL). The second term counts fragments hls.js loaded itself — before
// the engine was ready, or when P2P is off or unsupported — in case the shim
// leaves them out of cdnBytes; the max() avoids counting them twice when it
// does not. Without the shim, cdn = F and peer = uploaded = 0.

const loadedAt = typeof window.__demoLoadedAt === "number" ? window.__demoLoadedAt : performance.now();
const params = new URLSearchParams(location.search);
const opts = {
  src: params.get("src") || "/media/vod/master.m3u8",
  build: params.get("build") === "script" ? "script" : "esm",
  p2p: params.get("p2p") !== "0",
  maxBuffer: positive(params.get("maxBuffer"), 8),
  nortc: params.get("nortc") === "1",
  muted: params.get("muted") === "1",
  level: params.has("level") ? Number(params.get("level")) : null,
  debug: params.get("debug") === "1",
  uploadRate: positive(params.get("uploadRate"), 0), // bytes/s, 0 = no cap
};

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
  errors: [], // fatal hls.js errors, and failures that stop playback
  warnings: 0, // non-fatal hls.js errors
  lastWarning: "",
  warningLog: [], // the last 50 non-fatal hls.js errors
  p2p: false, // the shim is installed in hls.js
  supported: false,
  p2pNote: "", // why P2P is off, when it is
  shimLoaded: false,
  frags: [], // {t, seq, level, bytes, ms, source, origin, via}
  pending: [], // engine segment events not yet matched to a fragment
  events: { "peer-connected": 0, "peer-disconnected": 0, "peer-banned": 0, fallback: 0 },
  samples: [], // {t, cdn, peer} once a second
  origin: null, // last /demo/origin answer
};

/** The shim's runtime object (stats/on/off/destroy), once loaded. */
let nc = null;
/** The hls.js instance, once created. */
let hls = null;

window.__demo = {
  state,
  /** Extra detail for debugging; not part of the contract. */
  debug: () => ({ opts, stats: engineStats(), events: { ...st.events }, warnings: st.warningLog.slice(), origin: st.origin }),
};

function state() {
  const s = engineStats();
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
  };
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

// ---- playback ---------------------------------------------------------------

video.muted = true; // autoplay is only reliable muted; unmuted below unless muted=1
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
  const [hlsMod, shim] = await Promise.all([loadHls(), opts.p2p ? loadShim() : null]);
  if (!opts.p2p) st.p2pNote = "P2P off (p2p=0): plain hls.js, every segment from the CDN.";

  const Hls = hlsMod;
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
  if (shim) {
    try {
      st.supported = !!shim.isSupported();
      const trackers = [`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/announce`];
      const shimOpts = { trackers, debug: opts.debug };
      if (opts.uploadRate > 0) shimOpts.uploadRate = opts.uploadRate;
      const p2pConfig = shim.hlsConfig(Hls, shimOpts);
      config = { ...p2pConfig, ...config };
      nc = shim.nearcast;
      st.p2p = true;
      subscribe(nc);
    } catch (err) {
      st.p2pNote = `P2P off: the shim failed to configure hls.js (${message(err)}); plain hls.js.`;
    }
  }

  hls = new Hls(config);
  if (st.p2p && typeof nc.attach === "function") {
    try {
      nc.attach(hls); // optional: deadlines from hls.media, prefetch hints
    } catch (err) {
      console.warn("nearcast demo: attach failed", err);
    }
  }
  hls.on(Hls.Events.FRAG_LOADED, (_, data) => onFragLoaded(data));
  hls.on(Hls.Events.ERROR, (_, data) => {
    if (!data.fatal) {
      st.warnings++;
      st.lastWarning = `${data.type}/${data.details}`;
      st.warningLog.push(st.lastWarning);
      if (st.warningLog.length > 50) st.warningLog.shift();
      return;
    }
    const reason = data.error ? message(data.error) : data.reason || "";
    st.errors.push(`${data.type}/${data.details}${reason ? ": " + reason : ""}`);
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
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

/** Loads the shim; on any failure returns null and notes why (plain hls.js). */
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
    if (!mod || typeof mod.hlsConfig !== "function") throw new Error("it exports no hlsConfig");
    // The script build's global may be the module namespace ({hlsConfig,
    // isSupported, nearcast}) or the runtime object carrying hlsConfig.
    const runtime = mod.nearcast && typeof mod.nearcast.stats === "function" ? mod.nearcast : mod;
    st.shimLoaded = true;
    return {
      hlsConfig: mod.hlsConfig,
      isSupported: typeof mod.isSupported === "function" ? mod.isSupported : () => false,
      nearcast: runtime,
    };
  } catch (err) {
    console.warn("nearcast demo: shim did not load", err);
    st.p2pNote = `P2P off: the player shim did not load (${url}: ${message(err)}); plain hls.js from the CDN.`;
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

// ---- segment attribution ------------------------------------------------------

function onFragLoaded(data) {
  const frag = data.frag;
  if (!frag || typeof frag.sn !== "number") return; // init segments
  const stats = frag.stats || {};
  const loading = stats.loading || {};
  const f = {
    t: performance.now() - loadedAt,
    seq: frag.sn,
    level: frag.level,
    bytes: num(stats.total) || num(stats.loaded) || (data.payload ? data.payload.byteLength : 0),
    ms: loading.end && loading.start ? loading.end - loading.start : 0,
    playlist: typeof frag.baseurl === "string" ? frag.baseurl : "",
    source: "cdn",
    origin: "cdn",
    via: "hls.js",
  };
  const i = st.pending.findIndex((ev) => matches(f, ev));
  if (i >= 0) attribute(f, st.pending.splice(i, 1)[0]);
  st.frags.push(f);
  addRow(f);
}

function subscribe(rt) {
  if (!rt || typeof rt.on !== "function") return;
  rt.on("segment", (ev) => {
    const f = st.frags.findLast((f) => f.via === "hls.js" && matches(f, ev));
    if (f) {
      attribute(f, ev);
      updateRow(f);
      return;
    }
    st.pending.push(ev);
    if (st.pending.length > 64) st.pending.shift();
  });
  for (const type of Object.keys(st.events)) rt.on(type, () => st.events[type]++);
  rt.on("ready", () => {
    if (st.readyMs === null) st.readyMs = performance.now() - loadedAt;
  });
  rt.on("peer-connected", () => {
    if (st.firstPeerMs === null) st.firstPeerMs = performance.now() - loadedAt;
  });
}

/**
 * matches tells whether engine event ev is about fragment f: the same
 * sequence number and, where the event carries them, the same size and media
 * playlist (the engine's swarm is the playlist URL unless swarmId is set).
 */
function matches(f, ev) {
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
  if (typeof ev.durationMs === "number") f.ms = ev.durationMs;
}

// ---- UI -------------------------------------------------------------------------

function setupVariants() {
  const nav = $("variants");
  const variant = (label, changes) => {
    const p = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) v === null ? p.delete(k) : p.set(k, v);
    const a = document.createElement("a");
    a.href = "?" + p.toString();
    a.textContent = label;
    const current = Object.entries(changes).every(([k, v]) => params.get(k) === v);
    if (current) a.className = "current";
    nav.append(a);
  };
  variant("P2P", { p2p: null });
  variant("CDN only", { p2p: "0" });
  variant("ESM", { build: null });
  variant("script tags", { build: "script" });
  variant("no WebRTC", { nortc: "1" });
  $("another").href = location.href;
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
  const level = hls && hls.levels && hls.levels[hls.currentLevel];
  const buffered = bufferAhead();
  const rows = [
    ["stream", opts.src],
    ["build", `${opts.build}${opts.nortc ? ", nortc" : ""}`],
    ["rendition", level ? `${level.height}p (${Math.round(level.bitrate / 1000)} kbit/s)` : "–"],
    ["time", `${video.currentTime.toFixed(1)} / ${Number.isFinite(video.duration) ? video.duration.toFixed(1) : "–"} s${video.ended ? " (ended)" : ""}`],
    ["buffer ahead", `${buffered.toFixed(1)} s (max ${opts.maxBuffer} s)`],
    ["first frame", st.firstPlayingMs === null ? "–" : `${st.firstPlayingMs} ms`],
    ["engine", s ? `fallbacks ${num(s.peerFallbacks)}, banned ${num(s.bannedPeers)}, uploads ${num(s.uploads)}, cache hits ${num(s.cacheSegments)}` : "–"],
    ["origin (all viewers)", st.origin ? `${fmtBytes(st.origin.bytes)} in ${st.origin.requests} requests` : "–"],
    ["hls.js warnings", st.warnings ? `${st.warnings} (last: ${st.lastWarning})` : "0"],
  ];
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
  const level = hls && hls.levels && hls.levels[f.level];
  tr.className = `src-${f.source}`;
  tr.replaceChildren(
    el("td", String(n)),
    el("td", `${(f.t / 1000).toFixed(1)} s`),
    el("td", String(f.seq)),
    el("td", level ? `${level.height}p` : String(f.level)),
    el("td", f.source),
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
