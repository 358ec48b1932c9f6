// The dash.js adapter against the real dash.js 5.2.1 running in Node: a real
// MediaPlayer (initialised without a video element), its real HTTPLoader and
// XHRLoader (extended by the adapter through MediaPlayer.extend), its real
// metrics and ThroughputModel. Only XMLHttpRequest (the CDN) and the engine
// bridge are fakes. FragmentRequests are built like dash.js's DashHandler
// (_getRequestForSegment) builds them.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";

// The little of a browser that dash.js touches when it loads and initialises.
const el = () => ({ style: {}, setAttribute() {}, appendChild() {}, addEventListener() {}, removeEventListener() {} });
globalThis.window ??= globalThis;
globalThis.self ??= globalThis;
globalThis.navigator ??= { userAgent: "node", platform: "node" };
globalThis.document ??= {
  readyState: "loading", createElement: el, getElementsByTagName: () => [], querySelectorAll: () => [],
  head: el(), body: el(), documentElement: el(), addEventListener() {},
};
globalThis.getComputedStyle ??= () => ({ getPropertyValue: () => "" });
globalThis.addEventListener ??= () => {};
globalThis.dashjs = { skipAutoCreate: true };
globalThis.MediaSource ??= class MediaSource {
  static isTypeSupported() {
    return true;
  }
};

const dashjs = (await import("dashjs")).default;
const { createCore } = await import("../src/core.js");
const { createDashjsAdapter, dashIdentity, dashWindowStart, ownsRequest, periodKey } = await import("../src/dashjs.js");
const { browserish, bytes, fakeBridge, result, tick } = await import("./helpers.js");

browserish();

const MPD = "https://cdn.example/live/stream.mpd";
const MPD_TEXT = `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011"><Period id="p0"><AdaptationSet mimeType="video/mp4"><SegmentTemplate media="v-$Number$.m4s" initialization="v-init.mp4" duration="2" startNumber="1"/><Representation id="v1" bandwidth="100000" codecs="avc1.42c01e" width="320" height="180"/></AdaptationSet></Period></MPD>`;

// Other MPDs by URL (without query); any other .mpd URL answers MPD_TEXT.
const MPDS = new Map();

/**
 * FakeXHR is the CDN behind dash.js's XHRLoader: a manifest for .mpd URLs,
 * FakeXHR.size bytes (or the requested range) otherwise, after a few ms, with
 * a first-byte progress event, the rest, then load and loadend — like a
 * browser. FakeXHR.mode "manual" leaves it pending, "error" answers 503.
 */
class FakeXHR {
  static instances = [];
  static mode = "ok";
  static size = 1000;
  constructor() {
    this.headers = {};
    this.aborted = false;
  }
  open(method, url) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(k, v) {
    this.headers[k] = v;
  }
  getAllResponseHeaders() {
    return "content-type: application/octet-stream\r\n";
  }
  send() {
    FakeXHR.instances.push(this);
    if (FakeXHR.mode !== "manual") setTimeout(() => this.respond(), 3);
  }
  respond() {
    if (this.aborted) return;
    let body;
    if (this.url.includes(".mpd")) {
      body = MPDS.get(this.url.split("?")[0]) ?? MPD_TEXT;
    } else {
      const m = /bytes=(\d+)-(\d+)/.exec(this.headers.Range ?? "");
      body = new Uint8Array(m ? +m[2] - +m[1] + 1 : FakeXHR.size).fill(1).buffer;
    }
    const n = typeof body === "string" ? body.length : body.byteLength;
    this.status = FakeXHR.mode === "error" ? 503 : 200;
    this.statusText = "OK";
    this.responseURL = this.url;
    this.response = body;
    this.onprogress?.({ lengthComputable: true, loaded: n >> 1, total: n });
    this.onprogress?.({ lengthComputable: true, loaded: n, total: n });
    this.onload?.();
    this.onloadend?.();
  }
  abort() {
    this.aborted = true;
    this.onabort?.();
  }
}
globalThis.XMLHttpRequest = FakeXHR;

beforeEach(() => {
  FakeXHR.instances = [];
  FakeXHR.mode = "ok";
  FakeXHR.size = 1000;
  delete globalThis.__nearcastWasm;
});
afterEach(() => {
  delete globalThis.__nearcastWasm;
});

const trackers = ["ws://127.0.0.1:1/announce"];

/**
 * setup makes a dash.js player with the adapter attached before initialize(),
 * loads the manifest through it (the adapter must hand that to the XHRLoader),
 * and returns a factory of real HTTPLoaders in the player's context.
 */
async function setup({ respond, options = {}, start = true, attach = true } = {}) {
  const bridge = fakeBridge({ respond });
  globalThis.__nearcastWasm = bridge;
  // A clock well past its origin, as in a page that has been open a while.
  const core = createCore({ now: () => performance.now() + 60000 });
  const player = dashjs.MediaPlayer().create();
  // Test-only spy: dash.js hands an extension the context, its FactoryMaker and
  // the HTTPLoader's configuration; it changes nothing (it overrides nothing).
  const seen = {};
  player.extend("HTTPLoader", function (cfg) {
    seen.cfg = cfg;
    seen.factory = this.factory;
    seen.context = this.context;
    return {};
  }, true);
  const a = attach ? createDashjsAdapter(core, dashjs, player, options) : null;
  player.initialize();
  const manifest = await new Promise((resolve, reject) => {
    player.retrieveManifest(`${MPD}?token=abc`, (m, err) => (err ? reject(err) : resolve(m)));
  });
  assert.equal(FakeXHR.instances.length, 1, "the manifest went to dash.js's XHRLoader");
  FakeXHR.instances = [];
  if (start) assert.equal(await core.start({ trackers, ...options }), true);
  const http = () => seen.factory.getClassFactoryByName("HTTPLoader")(seen.context).create(seen.cfg);
  return { core, bridge, player, a, http, manifest, seen };
}

/** rep builds a dash.js Representation vo (src/dash/vo/Representation.js). */
function rep({ id = "v1", segmentInfoType = "SegmentTemplate", startNumber = 1, bandwidth = 800000, timescale = 90000, periodStart = 0, periodId = "p0", mpdUrl = `${MPD}?token=abc` } = {}) {
  return {
    id, segmentInfoType, startNumber, bandwidth, timescale,
    adaptation: { index: 0, period: { id: periodId, start: periodStart, mpd: { manifest: { url: mpdUrl, originalUrl: mpdUrl } } } },
  };
}

/** frag builds a FragmentRequest like DashHandler._getRequestForSegment. */
function frag({
  r = rep(), index = 4, startTime = 8, duration = 2, mediaStartTime = startTime, range = null,
  mediaType = "video", type = "MediaSegment", url = `https://cdn.example/live/v1/seg-${index + 1}.m4s?token=abc`,
} = {}) {
  return {
    action: "download", availabilityTimeComplete: true, bandwidth: r.bandwidth, bytesLoaded: NaN, bytesTotal: NaN,
    delayLoadingTime: NaN, duration, endDate: null, firstByteDate: null, index, isPartialSegmentRequest: false,
    mediaStartTime, mediaType, presentationStartTime: startTime, range, representation: r, responseType: "arraybuffer",
    retryAttempts: 0, serviceLocation: null, startDate: null, startTime, timescale: r.timescale, type, url,
  };
}

/** load runs a FragmentRequest through a real HTTPLoader; resolves on its end. */
function load(http, request) {
  const rec = { success: [], error: [], abort: [], complete: 0, progress: 0, request };
  rec.done = new Promise((resolve) => {
    http.load({
      request,
      progress: () => rec.progress++,
      success: (data) => {
        rec.success.push(data);
        resolve(rec);
      },
      complete: () => rec.complete++,
      error: (...args) => {
        rec.error.push(args);
        resolve(rec);
      },
      abort: (r) => {
        rec.abort.push(r);
        resolve(rec);
      },
    });
  });
  return rec;
}

function throughputOf(player, seen, httpRequest) {
  const model = seen.factory.getClassFactoryByName("ThroughputModel")(seen.context).create({ settings: { get: () => player.getSettings() } });
  model.addEntry("video", httpRequest);
  return model.getThroughputDict("video");
}

test("identity: $Number$, $Time$, byte ranges, SegmentList, periods and audio; tokens never matter", () => {
  // SegmentTemplate $Number$: the segment's media start time in ms (what Shaka
  // and the Go manifest package also compute), the MPD URL without its query.
  assert.deepEqual(dashIdentity(frag({ r: rep({ startNumber: 1 }), index: 4, mediaStartTime: 8 })), { manifest: MPD, rendition: "p0|v1|t", seq: 8000 });
  assert.equal(dashIdentity(frag({ r: rep({ startNumber: 100 }), index: 0, mediaStartTime: 0 })).seq, 0);
  // Two viewers, differently tokenised MPD and segment URLs: same identity.
  const a = dashIdentity(frag({ r: rep({ mpdUrl: `${MPD}?token=1#x` }), url: "https://cdn.example/live/v1/seg-5.m4s?token=1" }));
  const b = dashIdentity(frag({ r: rep({ mpdUrl: `${MPD}?token=2` }), url: "https://cdn.example/live/v1/seg-5.m4s?token=2&x=y" }));
  assert.deepEqual(a, b);
  // SegmentTimeline ($Time$): media start time in ms, whatever the index.
  const tl = rep({ segmentInfoType: "SegmentTimeline", timescale: 90000 });
  assert.deepEqual(dashIdentity(frag({ r: tl, index: 7, mediaStartTime: 1710000000 / 90000 })),
    { manifest: MPD, rendition: "p0|v1|t", seq: Math.round((1710000000 / 90000) * 1000) });
  assert.equal(dashIdentity(frag({ r: tl, index: 7, mediaStartTime: 88064 / 44100 })).seq, 1997);
  // SegmentBase (sidx) and SegmentList@mediaRange: the byte range, end exclusive.
  const sb = rep({ segmentInfoType: "SegmentBase" });
  assert.deepEqual(dashIdentity(frag({ r: sb, range: "1000-1999" })),
    { manifest: MPD, rendition: "p0|v1|b", seq: 1000, start: 1000, end: 2000 });
  assert.equal(dashIdentity(frag({ r: sb, range: "1000-" })), null, "open-ended: no identity");
  // SegmentList without ranges: its media start time too.
  assert.deepEqual(dashIdentity(frag({ r: rep({ segmentInfoType: "SegmentList", startNumber: 5 }), index: 6, mediaStartTime: 12 })),
    { manifest: MPD, rendition: "p0|v1|t", seq: 12000 });
  // Multi-period: the same Representation@id in two periods never shares a swarm.
  const p1 = dashIdentity(frag({ r: rep({ periodStart: 0, periodId: "a" }) }));
  const p2 = dashIdentity(frag({ r: rep({ periodStart: 30.5, periodId: "b" }) }));
  assert.notEqual(p1.rendition, p2.rendition);
  assert.equal(p2.rendition, "p30500|v1|t");
  assert.equal(periodKey(NaN, "b"), "id:b");
  // Audio is its own swarm: its own Representation@id.
  assert.equal(dashIdentity(frag({ r: rep({ id: "audio-en" }), mediaType: "audio" })).rendition, "p0|audio-en|t");
  // No Representation@id, no MPD URL: no identity.
  assert.equal(dashIdentity(frag({ r: rep({ id: "" }) })), null);
  assert.equal(dashIdentity({ ...frag(), representation: { ...rep(), adaptation: { period: {} } } }), null);
  assert.equal(dashIdentity({ ...frag(), representation: { ...rep(), adaptation: { period: {} } } }, MPD).manifest, MPD);
});

test("owns: media segments of video and audio only, first attempts, plain GETs", () => {
  const req = (fr, extra = {}) => ({ url: fr.url, method: "GET", responseType: "arraybuffer", headers: {}, customData: { request: fr }, ...extra });
  assert.equal(ownsRequest(req(frag())), true);
  assert.equal(ownsRequest(req(frag({ mediaType: "audio" }))), true);
  assert.equal(ownsRequest(req(frag({ range: "0-99" }), { headers: { Range: "bytes=0-99" } })), true);
  assert.equal(ownsRequest(req(frag({ type: "InitializationSegment" }))), false, "init segment");
  assert.equal(ownsRequest(req({ ...frag(), index: NaN, duration: NaN })), false, "sidx lookup (typed MediaSegment by dash.js)");
  assert.equal(ownsRequest(req(frag({ mediaType: "text" }))), false, "text");
  assert.equal(ownsRequest(req(frag({ mediaType: "image" }))), false, "thumbnails");
  assert.equal(ownsRequest(req({ ...frag(), isPartialSegmentRequest: true })), false, "low-latency part");
  assert.equal(ownsRequest(req({ ...frag(), retryAttempts: 1 })), false, "a retry");
  assert.equal(ownsRequest(req(frag(), { headers: { "CMCD-Request": "x" } })), false, "headers of its own");
  assert.equal(ownsRequest(req(frag(), { method: "POST" })), false);
  assert.equal(ownsRequest(req(frag(), { url: "blob:x" })), false);
  assert.equal(ownsRequest(req({ ...frag(), type: "MPD" })), false);
});

test("engine load through dash.js's HTTPLoader: one success, fresh exact bytes, real transfer timing for ABR", async () => {
  const { bridge, http, player, seen } = await setup({ respond: (c) => setTimeout(() => c.resolve(result(bytes(2048, 9), { transferMs: 400, firstByteMs: 50 })), 5) });
  const rec = load(http(), frag({ index: 4 }));
  await rec.done;
  await tick(5);
  assert.equal(rec.success.length, 1);
  assert.equal(rec.error.length + rec.abort.length, 0);
  assert.equal(rec.complete, 1);
  const data = rec.success[0];
  assert.ok(data instanceof ArrayBuffer);
  assert.equal(data.byteLength, 2048);
  assert.equal(new Uint8Array(data)[2047], 9);
  assert.equal(FakeXHR.instances.length, 0, "no CDN request from dash.js");
  const req = bridge.calls[0].req;
  assert.equal(req.manifest, MPD);
  assert.equal(req.rendition, "p0|v1|t");
  assert.equal(req.seq, 8000);
  assert.equal(req.url, "https://cdn.example/live/v1/seg-5.m4s?token=abc");
  assert.equal(req.sizeHint, (800000 * 2) / 8, "bitrate × duration");
  assert.equal("start" in req, false);
  assert.ok(req.deadlineMs >= 0);
  assert.equal("windowStart" in req, false, "not a live stream");

  // dash.js's HTTP metric: latency = firstByteMs, duration = transferMs.
  const m = seen.cfg.dashMetrics.getCurrentHttpRequest("video");
  assert.equal(m.responsecode, 200);
  assert.equal(m.tresponse - m.trequest, 50);
  assert.equal(m._tfinish - m.trequest, 400);
  // dash.js's own throughput model: 2048 B in the 350 ms after the first byte.
  const [sample] = throughputOf(player, seen, m);
  assert.ok(sample, "a throughput sample (not discarded as a cache hit)");
  assert.equal(sample.value, Math.round((8 * 2048) / 350));
  assert.equal(sample.downloadTimeInMs, 350);
  assert.equal(sample.latencyInMs, 50);
});

test("a cache hit that answers in 1 ms reports the original transfer, not a 1 ms 'browser cache' load", async () => {
  const { http, player, seen } = await setup({ respond: (c) => c.resolve(result(bytes(100000), { source: "cache", transferMs: 800, firstByteMs: 0 })) });
  const rec = load(http(), frag());
  await rec.done;
  await tick(5);
  const m = seen.cfg.dashMetrics.getCurrentHttpRequest("video");
  assert.equal(m._tfinish - m.trequest, 800);
  assert.equal(m.tresponse - m.trequest, 80, "unknown TTFB: 10 % of the transfer");
  const [sample] = throughputOf(player, seen, m);
  assert.equal(sample.value, Math.round((8 * 100000) / 720));
});

test("byte ranges map to start/end (exclusive); a wrong-sized answer falls back to dash.js's loader", async () => {
  let n = 1000;
  const { bridge, http } = await setup({ respond: (c) => c.resolve(result(bytes(n))) });
  const r = rep({ segmentInfoType: "SegmentBase" });
  const rec = load(http(), frag({ r, range: "5000-5999", url: "https://cdn.example/v/all.mp4?t=1" }));
  await rec.done;
  assert.equal(bridge.calls[0].req.start, 5000);
  assert.equal(bridge.calls[0].req.end, 6000);
  assert.equal(bridge.calls[0].req.seq, 5000);
  assert.equal(bridge.calls[0].req.rendition, "p0|v1|b");
  assert.equal("sizeHint" in bridge.calls[0].req, false);
  assert.equal(rec.success[0].byteLength, 1000);
  assert.equal(FakeXHR.instances.length, 0);

  n = 999;
  const rec2 = load(http(), frag({ r, range: "5000-5999", url: "https://cdn.example/v/all.mp4?t=1" }));
  await rec2.done;
  assert.equal(rec2.success.length, 1);
  assert.equal(rec2.success[0].byteLength, 1000, "served by dash.js's XHRLoader");
  assert.equal(FakeXHR.instances.length, 1);
  assert.equal(FakeXHR.instances[0].headers.Range, "bytes=5000-5999");
});

test("init segments, text and everything else go to dash.js's XHRLoader; segments count as player loads", async () => {
  const { bridge, http, core } = await setup({ respond: (c) => c.resolve(result(bytes(10))) });
  const events = [];
  core.on("player-segment", (e) => events.push(e));
  const init = load(http(), frag({ type: "InitializationSegment", index: NaN, url: "https://cdn.example/live/v1/init.mp4" }));
  await init.done;
  const text = load(http(), frag({ mediaType: "text", url: "https://cdn.example/live/t/seg-5.m4s" }));
  await text.done;
  assert.equal(bridge.calls.length, 0);
  assert.equal(FakeXHR.instances.length, 2);
  assert.equal(init.success[0].byteLength, 1000);
  assert.equal(events.length, 1, "the init segment of the video counts, text does not");
  assert.equal(core.stats().playerBytes, 1000);
});

test("engine error falls back to dash.js's loader in the same request: one success, latency from the fallback", async () => {
  const { http, seen, core } = await setup({ respond: (c) => setTimeout(() => c.reject({ code: "cdn-failed", message: "503" }), 30) });
  const rec = load(http(), frag());
  await rec.done;
  await tick(5);
  assert.equal(rec.success.length, 1);
  assert.equal(rec.error.length, 0);
  assert.equal(rec.success[0].byteLength, 1000);
  assert.equal(FakeXHR.instances.length, 1);
  const m = seen.cfg.dashMetrics.getCurrentHttpRequest("video");
  assert.ok(m.tresponse - m.trequest < 25, `latency ${m.tresponse - m.trequest} ms excludes the 30 ms engine attempt`);
  assert.equal(core.stats().playerBytes, 1000);
});

test("engine error then CDN error: dash.js's own retries, one error in the end", async () => {
  const { http, player } = await setup({ respond: (c) => c.reject({ code: "cdn-failed", message: "503" }) });
  FakeXHR.mode = "error";
  player.updateSettings({ streaming: { retryAttempts: { MediaSegment: 1 }, retryIntervals: { MediaSegment: 5 } } });
  const errors = [];
  player.on(dashjs.MediaPlayer.events.ERROR, (e) => errors.push(e));
  const rec = load(http(), frag());
  await rec.done;
  await tick(10);
  assert.equal(rec.success.length, 0);
  assert.equal(rec.error.length, 1);
  assert.equal(FakeXHR.instances.length, 2, "the fallback, then dash.js's retry (not through the engine)");
});

test("a synchronous engine refusal falls back too", async () => {
  const { http, bridge } = await setup();
  bridge.load = () => {
    throw { code: "closed", message: "engine closed" };
  };
  const rec = load(http(), frag());
  await rec.done;
  assert.equal(rec.success.length, 1);
  assert.equal(FakeXHR.instances.length, 1);
});

test("abort during an engine load: the engine call is cancelled, dash.js's abort once, nothing after", async () => {
  const { http, bridge } = await setup(); // the engine never answers
  const h = http();
  const rec = load(h, frag());
  await tick(2);
  assert.equal(bridge.calls.length, 1);
  h.abort();
  await rec.done;
  await tick(5);
  assert.equal(bridge.calls[0].cancelled, true);
  assert.equal(rec.abort.length, 1);
  assert.equal(rec.success.length + rec.error.length, 0);
  bridge.calls[0].resolve(result(bytes(10)));
  await tick(5);
  assert.equal(rec.success.length + rec.error.length + rec.abort.length, 1);
  assert.equal(FakeXHR.instances.length, 0, "an abort is no failure: no fallback");
});

test("resetting dash.js's loader aborts the engine loads it has", async () => {
  const { http, bridge } = await setup();
  const h = http();
  const rec = load(h, frag());
  await tick(2);
  h.resetInitialSettings(); // XHRLoader.resetInitialSettings → abort()
  await rec.done;
  assert.equal(bridge.calls[0].cancelled, true);
  assert.equal(rec.abort.length, 1);
});

test("an engine that never answers is abandoned by half the request timeout for dash.js's loader", async () => {
  const { http, bridge, player } = await setup();
  player.updateSettings({ streaming: { fragmentRequestTimeout: 2000 } });
  const t0 = performance.now();
  const rec = load(http(), frag());
  await rec.done;
  const took = performance.now() - t0;
  assert.equal(rec.success.length, 1);
  assert.equal(bridge.calls[0].cancelled, true);
  assert.equal(FakeXHR.instances.length, 1);
  // deadline ≤ max(0, 2000/2 − 3000) = 0 ms; guard = min(0 + 3000, 1000).
  assert.equal(bridge.calls[0].req.deadlineMs, 0);
  assert.ok(took >= 990 && took < 1400, `abandoned after ${took} ms`);
  assert.ok(FakeXHR.instances[0].timeout > 900 && FakeXHR.instances[0].timeout <= 1010, `fallback timeout ${FakeXHR.instances[0].timeout}`);
});

test("deadline: segment start − currentTime of dash.js's video element, by playback rate", async () => {
  const { http, bridge, a } = await setup({ respond: (c) => c.resolve(result(bytes(10))) });
  a.attachMedia({ currentTime: 4, playbackRate: 2 });
  const rec = load(http(), frag({ startTime: 10 }));
  await rec.done;
  assert.equal(bridge.calls[0].req.deadlineMs, 3000);
});

test("swarmId joins viewers across MPD hosts", async () => {
  const { http, bridge } = await setup({ respond: (c) => c.resolve(result(bytes(10))), options: { swarmId: "show-1" } });
  const rec = load(http(), frag({ r: rep({ mpdUrl: "https://cdn-b.example/live/stream.mpd?t=9" }) }));
  await rec.done;
  assert.equal(bridge.calls[0].req.swarm, "show-1|p0|v1|t|/live/stream.mpd");
});

test("when unsupported, every request goes to dash.js's loader", async () => {
  const saved = globalThis.RTCPeerConnection;
  delete globalThis.RTCPeerConnection;
  try {
    const { http, bridge, core } = await setup({ start: false });
    assert.equal(await core.start({ trackers }), false);
    assert.equal(core.state, "unsupported");
    const rec = load(http(), frag());
    await rec.done;
    assert.equal(rec.success.length, 1);
    assert.equal(bridge.calls.length, 0);
    assert.equal(FakeXHR.instances.length, 1);
  } finally {
    globalThis.RTCPeerConnection = saved;
  }
});

test("before the engine starts: the player's loader, and the first segment triggers the start", async () => {
  const { http, bridge, core } = await setup({ start: false, respond: (c) => c.resolve(result(bytes(10))) });
  const events = [];
  core.on("player-segment", (e) => events.push(e));
  const rec = load(http(), frag());
  await rec.done;
  await tick(1);
  assert.equal(rec.success.length, 1);
  assert.equal(bridge.calls.length, 0);
  assert.equal(events.length, 1);
  assert.equal(events[0].bytes, 1000);
  assert.equal(events[0].source, "cdn");
});

test("while the engine starts, a segment needed later waits for it and then loads through it", async () => {
  const { http, bridge, core, a } = await setup({ start: false, respond: (c) => c.resolve(result(bytes(10))) });
  a.attachMedia({ currentTime: 0, playbackRate: 1 });
  core.schedule();
  const rec = load(http(), frag({ startTime: 10 }));
  await tick(20);
  assert.equal(rec.success.length, 0, "held");
  assert.equal(await core.start({ trackers }), true);
  await rec.done;
  assert.equal(rec.success[0].byteLength, 10);
  assert.equal(bridge.calls.length, 1);
  assert.equal(FakeXHR.instances.length, 0);
});

test("detach restores dash.js's loader; attaching again takes over again", async () => {
  const { http, bridge, a, core, player } = await setup({ respond: (c) => c.resolve(result(bytes(10))) });
  a.detach();
  const rec = load(http(), frag());
  await rec.done;
  assert.equal(bridge.calls.length, 0);
  assert.equal(FakeXHR.instances.length, 1);
  const a2 = createDashjsAdapter(core, dashjs, player, {});
  const rec2 = load(http(), frag());
  await rec2.done;
  assert.equal(bridge.calls.length, 1);
  a2.detach();
});

test("attaching after initialize(): loaders created later use the engine, earlier ones stay with dash.js", async () => {
  const { http, bridge, core, player } = await setup({ attach: false, respond: (c) => c.resolve(result(bytes(10))) });
  const before = http();
  const early = load(before, frag());
  await early.done; // this HTTPLoader made its XHRLoader before the adapter
  const a = createDashjsAdapter(core, dashjs, player, {});
  const rec = load(before, frag());
  await rec.done;
  assert.equal(bridge.calls.length, 0, "an XHRLoader made before attach is not extended");
  const rec2 = load(http(), frag());
  await rec2.done;
  assert.equal(bridge.calls.length, 1, "a new one is");
  a.detach();
});

test("needs a dash.js MediaPlayer", () => {
  assert.throws(() => createDashjsAdapter(createCore(), dashjs, {}, {}), TypeError);
});

test("index: attachDashjs() starts the page's engine after dash.js's first segment; detach() hands back", async () => {
  const bridge = fakeBridge({ respond: (c) => c.resolve(result(bytes(10))) });
  globalThis.__nearcastWasm = bridge;
  const { attachDashjs, nearcast } = await import("../src/index.js");
  assert.equal(nearcast.attachDashjs, attachDashjs);
  const player = dashjs.MediaPlayer().create();
  const seen = {};
  player.extend("HTTPLoader", function (cfg) {
    seen.cfg = cfg;
    seen.factory = this.factory;
    seen.context = this.context;
    return {};
  }, true);
  const handle = attachDashjs(dashjs, player, { trackers });
  assert.deepEqual(Object.keys(handle), ["detach"]);
  player.initialize();
  await new Promise((resolve) => player.retrieveManifest(MPD, resolve));
  const http = () => seen.factory.getClassFactoryByName("HTTPLoader")(seen.context).create(seen.cfg);
  assert.equal(nearcast.state, "idle", "not started before the first segment");
  FakeXHR.instances = [];
  await load(http(), frag()).done;
  assert.equal(FakeXHR.instances.length, 1, "the first segment came from dash.js's loader");
  await tick(1);
  assert.notEqual(nearcast.state, "idle", "started by dash.js's first segment");
  assert.equal(await nearcast.whenReady(), true);
  await load(http(), frag()).done;
  assert.equal(bridge.calls.length, 1, "then the engine");
  handle.detach();
  await load(http(), frag()).done;
  assert.equal(bridge.calls.length, 1, "detached: dash.js's loader");
  assert.equal(FakeXHR.instances.length, 2);
  await nearcast.destroy();
});

// ---- live: windowStart ---------------------------------------------------------

const LIVE_TL = "https://cdn.example/live/timeline.mpd";
const LIVE_NUM = "https://cdn.example/live/number.mpd";

/**
 * liveRep parses a live MPD with dash.js's own parser and DashAdapter and
 * returns its first video Representation vo, with dash.js's own segment
 * getters for it (what DashHandler asks for segments).
 */
async function liveRep(player, seen, url) {
  const manifest = await new Promise((resolve, reject) => {
    player.retrieveManifest(`${url}?token=abc`, (m, err) => (err ? reject(err) : resolve(m)));
  });
  assert.equal(manifest.type, "dynamic");
  const adapter = seen.factory.getSingletonFactoryByName("DashAdapter")(seen.context).getInstance();
  adapter.updatePeriods(manifest);
  const [streamInfo] = adapter.getStreamsInfo();
  const [mediaInfo] = adapter.getAllMediaInfoForType(streamInfo, "video");
  const [r] = adapter.getVoRepresentations(mediaInfo);
  const timelineConverter = seen.factory.getSingletonFactoryByName("TimelineConverter")(seen.context).getInstance();
  const cfg = { timelineConverter, dashMetrics: seen.cfg.dashMetrics };
  const getters = {
    timeline: seen.factory.getClassFactoryByName("TimelineSegmentsGetter")(seen.context).create(cfg, true),
    template: seen.factory.getClassFactoryByName("TemplateSegmentsGetter")(seen.context).create(cfg, true),
  };
  return { r, getters };
}

/** fragOf builds the FragmentRequest of a segment dash.js's getter made. */
function fragOf(r, seg) {
  return frag({ r, index: seg.index, startTime: seg.presentationStartTime, duration: seg.duration, mediaStartTime: seg.mediaStartTime, url: `https://cdn.example/live/${seg.media}?token=abc` });
}

test("live SegmentTimeline: windowStart = the media time (ms) of the MPD's first S, as dash.js numbers it", async () => {
  const ast = new Date(Date.now() - 100000).toISOString();
  // $Time$ far from zero (presentationTimeOffset 10000 s), 50 segments of 2 s.
  MPDS.set(LIVE_TL, `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="${ast}" timeShiftBufferDepth="PT200S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011"><Period id="p0" start="PT0S"><AdaptationSet mimeType="video/mp4"><SegmentTemplate media="v-$Time$.m4s" initialization="v-init.mp4" timescale="90000" presentationTimeOffset="900000000"><SegmentTimeline><S t="900000000" d="180000" r="49"/></SegmentTimeline></SegmentTemplate><Representation id="v1" bandwidth="100000" codecs="avc1.42c01e" width="320" height="180"/></AdaptationSet></Period></MPD>`);
  const { bridge, http, player, seen } = await setup({ respond: (c) => c.resolve(result(bytes(10))) });
  const { r, getters } = await liveRep(player, seen, LIVE_TL);
  assert.equal(r.segmentInfoType, "SegmentTimeline");
  const first = getters.timeline.getSegmentByIndex(r, null); // dash.js's oldest segment
  const seg = getters.timeline.getSegmentByTime(r, 90);
  assert.equal(first.media, "v-900000000.m4s");
  assert.equal(seg.media, "v-908100000.m4s");
  await load(http(), fragOf(r, seg)).done;
  const req = bridge.calls[0].req;
  assert.equal(req.seq, 10090000, "$Time$ 908100000 / 90000 in ms");
  assert.equal(req.rendition, "p0|v1|t");
  assert.equal(req.windowStart, Math.round(first.mediaStartTime * 1000));
  assert.equal(req.windowStart, 10000000);
  assert.equal(dashIdentity(fragOf(r, first)).seq, req.windowStart, "the identity of dash.js's first segment");
  assert.equal(dashWindowStart(fragOf(r, first)), 10000000, "the same for any segment of the MPD");
});

test("live SegmentTemplate@duration: windowStart from dash.js's DVR window, one segment back, in media time", async () => {
  // 100.9 s into the stream; 2 s segments; presentationTimeOffset 5000 s.
  const ast = new Date(Date.now() - 100900).toISOString();
  MPDS.set(LIVE_NUM, `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="${ast}" timeShiftBufferDepth="PT20S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011"><Period id="p0" start="PT0S"><AdaptationSet mimeType="video/mp4"><SegmentTemplate media="v-$Number$.m4s" initialization="v-init.mp4" timescale="90000" duration="180000" startNumber="1" presentationTimeOffset="450000000"/><Representation id="v1" bandwidth="100000" codecs="avc1.42c01e" width="320" height="180"/></AdaptationSet></Period></MPD>`);
  const { bridge, http, player, seen } = await setup({ respond: (c) => c.resolve(result(bytes(10))) });
  const { r, getters } = await liveRep(player, seen, LIVE_NUM);
  assert.equal(r.segmentInfoType, "SegmentTemplate");
  const seg = getters.template.getSegmentByIndex(r, 45);
  assert.equal(seg.media, "v-46.m4s");

  // No DVR window known yet: no windowStart (it cannot be derived).
  await load(http(), fragOf(r, seg)).done;
  assert.equal(bridge.calls[0].req.seq, 5090000);
  assert.equal("windowStart" in bridge.calls[0].req, false);

  // dash.js's DVR window starts at now − timeShiftBufferDepth = 80.9 s: the
  // segment holding it starts at 80 s; dash.js still serves the one before
  // (available until a segment duration past the time-shift buffer).
  seen.cfg.dashMetrics.addDVRInfo("video", 100.9, null, { start: 80.9, end: 100.9 });
  await load(http(), fragOf(r, seg)).done;
  const req = bridge.calls[1].req;
  assert.equal(req.windowStart, 5078000, "media time 5000 + 78 s, in ms");
  const holding = getters.template.getSegmentByTime(r, 80.9);
  assert.equal(holding.media, "v-41.m4s");
  const oldest = getters.template.getSegmentByIndex(r, holding.index - 1);
  assert.ok(oldest, "dash.js still counts it available");
  assert.equal(dashIdentity(fragOf(r, oldest)).seq, req.windowStart, "the identity dash.js's own segment would get");
});

test("dashWindowStart: static MPDs, byte ranges and SegmentList@duration get none; never negative", () => {
  const live = (over = {}) => {
    const r = rep(over);
    r.adaptation.period.mpd.manifest.type = "dynamic";
    return r;
  };
  const staticRep = rep({ segmentInfoType: "SegmentTimeline" });
  assert.equal(dashWindowStart(frag({ r: staticRep })), undefined, "static (VOD)");
  assert.equal(dashWindowStart(frag({ r: live({ segmentInfoType: "SegmentBase" }), range: "0-99" })), undefined, "kind b");
  assert.equal(dashWindowStart(frag({ r: live({ segmentInfoType: "SegmentList" }) }), () => 10), undefined, "SegmentList@duration");
  const tpl = live({ segmentInfoType: "SegmentTemplate" });
  tpl.segmentDuration = 2;
  assert.equal(dashWindowStart(frag({ r: tpl }), () => undefined), undefined, "no DVR window");
  assert.equal(dashWindowStart(frag({ r: tpl }), () => 0.5), 0, "at the period start at the earliest");
  assert.equal(dashWindowStart(frag({ r: tpl }), () => 7), 4000);
  tpl.adaptation.period.start = 30;
  assert.equal(dashWindowStart(frag({ r: tpl }), () => 12), 0, "a window before this period: its first segment");
});
