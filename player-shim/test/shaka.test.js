// The Shaka adapter against the real Shaka Player 5.2.12 (compiled build)
// running in Node: a real shaka.Player and its NetworkingEngine (request and
// response filters, scheme plugins, retries), Shaka's own HttpFetchPlugin as
// the player's loader, and streams and SegmentReferences from Shaka's real
// DashParser and HlsParser. Only fetch (the CDN) and the engine bridge are
// fakes. Segment requests are made like StreamingEngine.dispatchFetch makes
// them.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import vm from "node:vm";

const el = () => ({ style: {}, setAttribute() {}, appendChild() {}, addEventListener() {}, removeEventListener() {} });
globalThis.window ??= globalThis;
globalThis.self ??= globalThis;
globalThis.navigator ??= { userAgent: "node", platform: "node", vendor: "" };
globalThis.document ??= {
  readyState: "complete", createElement: el, getElementsByTagName: () => [], querySelectorAll: () => [],
  head: el(), body: el(), documentElement: el(), addEventListener() {}, removeEventListener() {},
};
globalThis.addEventListener ??= () => {};
globalThis.removeEventListener ??= () => {};

// The CDN: manifests from FILES, any other path answers SIZE bytes (or the
// requested range). `cdnRequests` records what reached it.
const FILES = new Map();
let cdnRequests = [];
let cdnMode = "ok";
const SIZE = 20000;
globalThis.fetch = async (input, init = {}) => {
  const url = typeof input === "string" ? input : input.url;
  const headers = new Headers(init.headers ?? {});
  const range = headers.get("Range");
  cdnRequests.push({ url, range });
  if (init.signal?.aborted) throw new DOMException("aborted", "AbortError");
  await new Promise((r) => setTimeout(r, 2));
  const text = FILES.get(url.split("?")[0]);
  if (text !== undefined) return new Response(text, { status: 200 });
  if (cdnMode === "error") return new Response("no", { status: 503 });
  let n = SIZE;
  const m = /bytes=(\d+)-(\d+)/.exec(range ?? "");
  if (m) n = +m[2] - +m[1] + 1;
  return new Response(new Uint8Array(n).fill(3), { status: m ? 206 : 200, headers: { "Content-Length": String(n) } });
};

const shaka = (await import("shaka-player")).default;
shaka.polyfill.installAll();
const { createCore } = await import("../src/core.js");
const { createShakaAdapter, dashIdentity, hlsPlaylistIndex, hlsPlaylistInfo } = await import("../src/shaka.js");
const dashjsAdapter = await import("../src/dashjs.js");
const { browserish, bytes, fakeBridge, result, tick } = await import("./helpers.js");

browserish();

const NE = shaka.net.NetworkingEngine;
const { SEGMENT } = NE.RequestType;
const { MEDIA_SEGMENT, INIT_SEGMENT } = NE.AdvancedRequestType;
const trackers = ["ws://127.0.0.1:1/announce"];

// ---- media -------------------------------------------------------------------

const MPD = "https://cdn.example/d/multi.mpd";
// Two periods; video $Number$ (v1, then v2), audio $Time$ with a timeline (a1 in both).
FILES.set(MPD, `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT20S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
<Period id="a" start="PT0S" duration="PT10S">
 <AdaptationSet mimeType="video/mp4" codecs="avc1.42c01e"><SegmentTemplate media="a/$RepresentationID$/$Number$.m4s" initialization="a/$RepresentationID$/init.mp4" duration="2" startNumber="1"/><Representation id="v1" bandwidth="400000" width="640" height="360"/></AdaptationSet>
 <AdaptationSet mimeType="audio/mp4" codecs="mp4a.40.2" lang="en"><SegmentTemplate media="a/$RepresentationID$/$Time$.m4s" initialization="a/$RepresentationID$/init.mp4" timescale="48000"><SegmentTimeline><S t="0" d="96000" r="4"/></SegmentTimeline></SegmentTemplate><Representation id="a1" bandwidth="64000"/></AdaptationSet>
</Period>
<Period id="b" start="PT10S" duration="PT10S">
 <AdaptationSet mimeType="video/mp4" codecs="avc1.42c01e"><SegmentTemplate media="b/$RepresentationID$/$Number$.m4s" initialization="b/$RepresentationID$/init.mp4" duration="2" startNumber="1"/><Representation id="v2" bandwidth="400000" width="640" height="360"/></AdaptationSet>
 <AdaptationSet mimeType="audio/mp4" codecs="mp4a.40.2" lang="en"><SegmentTemplate media="b/$RepresentationID$/$Time$.m4s" initialization="b/$RepresentationID$/init.mp4" timescale="48000"><SegmentTimeline><S t="0" d="96000" r="4"/></SegmentTimeline></SegmentTemplate><Representation id="a1" bandwidth="64000"/></AdaptationSet>
</Period></MPD>`);
// One file, byte ranges (SegmentList@mediaRange).
const MPD_RANGES = "https://cdn.example/d/ranges.mpd";
FILES.set(MPD_RANGES, `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT6S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
<Period><AdaptationSet mimeType="video/mp4" codecs="avc1.42c01e"><Representation id="r1" bandwidth="400000" width="640" height="360"><BaseURL>all.mp4</BaseURL>
 <SegmentList duration="2"><Initialization range="0-799"/><SegmentURL mediaRange="800-1799"/><SegmentURL mediaRange="1800-2999"/><SegmentURL mediaRange="3000-3999"/></SegmentList>
</Representation></AdaptationSet></Period></MPD>`);

const HLS = "https://cdn.example/h/master.m3u8";
FILES.set(HLS, `#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",LANGUAGE="en",DEFAULT=YES,URI="audio/en.m3u8?token=a"
#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.42c01e,mp4a.40.2",RESOLUTION=640x360,AUDIO="aud"
video/360.m3u8?token=v
`);
FILES.set("https://cdn.example/h/video/360.m3u8", `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:100
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.0,
s100.m4s?token=v
#EXTINF:2.0,
s101.m4s?token=v
#EXTINF:2.0,
s102.m4s?token=v
#EXT-X-ENDLIST
`);
FILES.set("https://cdn.example/h/audio/en.m3u8", `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:100
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.0,
a100.m4s
#EXTINF:2.0,
a101.m4s
#EXTINF:2.0,
a102.m4s
#EXT-X-ENDLIST
`);

// ---- helpers -----------------------------------------------------------------

/** adapters attached by a test, detached after it whatever happens */
let attachedHere = [];
beforeEach(() => {
  cdnRequests = [];
  cdnMode = "ok";
  delete globalThis.__nearcastWasm;
});
afterEach(() => {
  for (const a of attachedHere.splice(0)) a.detach();
  delete globalThis.__nearcastWasm;
});

function parserInterface(player) {
  return {
    networkingEngine: player.getNetworkingEngine(), filter: async () => {}, makeTextStreamsForClosedCaptions() {},
    onTimelineRegionAdded() {}, onEvent() {}, onError() {}, isLowLatencyMode: () => false, updateDuration() {},
    newDrmInfo() {}, onManifestUpdated() {}, getBandwidthEstimate: () => 1e6, onMetadata: async () => {},
    disableStream() {}, addFont() {}, getStreamingRetryParameters: () => player.getConfiguration().streaming.retryParameters,
    onSegmentReceived() {},
  };
}

/** parse loads a manifest with Shaka's own parser through the player's networking engine. */
async function parse(player, Parser, url) {
  const parser = new Parser();
  parser.configure(player.getConfiguration().manifest);
  const manifest = await parser.start(url, parserInterface(player));
  const streams = [];
  for (const v of manifest.variants) {
    for (const s of [v.video, v.audio]) {
      if (s && !streams.includes(s)) {
        await s.createSegmentIndex();
        streams.push(s);
      }
    }
  }
  return { manifest, parser, video: streams.find((s) => s.type === "video"), audio: streams.find((s) => s.type === "audio") };
}

/**
 * setup makes a shaka.Player (no media element) with the adapter attached
 * before load, like a page would; getManifestType/getAssetUri/getMediaElement
 * answer as they do once player.load() has parsed the manifest.
 */
async function setup({ respond, options = {}, start = true, type = "DASH", asset = `${MPD}?token=1`, player = new shaka.Player() } = {}) {
  const bridge = fakeBridge({ respond });
  globalThis.__nearcastWasm = bridge;
  const core = createCore({ now: () => performance.now() + 60000 });
  player.getManifestType = () => type;
  player.getAssetUri = () => asset;
  let media = null;
  player.getMediaElement = () => media;
  const a = createShakaAdapter(core, shaka, player, options);
  attachedHere.push(a);
  if (start) assert.equal(await core.start({ trackers, ...options }), true);
  return { core, bridge, player, a, setMedia: (m) => (media = m) };
}

/** fetchSegment requests a segment like shaka.media.StreamingEngine.dispatchFetch. */
function fetchSegment(player, stream, ref, { type = MEDIA_SEGMENT, retry, uris } = {}) {
  const request = NE.makeRequest(uris ?? ref.getUris(), retry ?? player.getConfiguration().streaming.retryParameters);
  const start = ref?.startByte ?? 0;
  const end = ref?.endByte;
  if (!(start === 0 && end == null)) request.headers.Range = `bytes=${start}-${end ?? ""}`;
  request.contentType = stream.type;
  const segment = type === MEDIA_SEGMENT ? ref : undefined;
  return player.getNetworkingEngine().request(SEGMENT, request, { type, stream, segment });
}

async function settle(op) {
  try {
    return { ok: true, value: await op.promise };
  } catch (error) {
    return { ok: false, error };
  }
}

const segmentRequests = () => cdnRequests.filter((r) => !/\.(mpd|m3u8)/.test(r.url));

// ---- identity ----------------------------------------------------------------

test("DASH identity from Shaka's parsed MPD: periods, $Number$ and $Time$ as media time, audio; tokens never matter", async () => {
  const { player, a } = await setup();
  const { video, audio } = await parse(player, shaka.dash.DashParser, `${MPD}?token=1`);
  assert.equal(video.originalId, "v1,v2", "Shaka combines the periods");
  const ref = (s, i) => s.segmentIndex.get(i);
  const id = (s, i, asset = `${MPD}?token=1`) => dashIdentity(asset, s, ref(s, i), undefined);
  assert.deepEqual(id(video, 4), { manifest: MPD, rendition: "p0|v1|t", seq: 8000 });
  assert.deepEqual(id(video, 5), { manifest: MPD, rendition: "p10000|v2|t", seq: 0 }, "period b: its own Representation and media time");
  assert.deepEqual(id(audio, 1), { manifest: MPD, rendition: "p0|a1|t", seq: 2000 });
  assert.deepEqual(id(audio, 6), { manifest: MPD, rendition: "p10000|a1|t", seq: 2000 }, "same Representation@id, other period: other swarm");
  assert.deepEqual(id(video, 3, `${MPD}?token=2&x=1#t=3`), id(video, 3), "another viewer's tokens");
  // The dash.js adapter gives a dash.js viewer of this SegmentTimeline the same identity.
  const fr = {
    mediaStartTime: 96000 / 48000, index: 1, range: null,
    representation: { id: "a1", segmentInfoType: "SegmentTimeline", startNumber: 1, adaptation: { period: { id: "a", start: 0, mpd: { manifest: { url: `${MPD}?t=9` } } } } },
  };
  assert.deepEqual(dashjsAdapter.dashIdentity(fr), id(audio, 1));
  // Through the adapter: the engine request.
  const req = a.toRequest(ref(video, 5).getUris()[0], { headers: {} }, { stream: video, segment: ref(video, 5) }, 30000);
  assert.equal(req.manifest, MPD);
  assert.equal(req.rendition, "p10000|v2|t");
  assert.equal(req.seq, 0);
  assert.equal(req.url, "https://cdn.example/d/b/v2/1.m4s");
  assert.equal(req.sizeHint, (400000 * 2) / 8);
  a.detach();
});

test("DASH byte ranges (SegmentList@mediaRange): start/end with an exclusive end, seq = first byte", async () => {
  const { player, a } = await setup({ asset: MPD_RANGES });
  const { video } = await parse(player, shaka.dash.DashParser, MPD_RANGES);
  const r = video.segmentIndex.get(1);
  assert.equal(r.startByte, 1800);
  assert.equal(r.endByte, 2999);
  const req = a.toRequest(r.getUris()[0], { headers: { Range: "bytes=1800-2999" } }, { stream: video, segment: r }, 30000);
  assert.deepEqual([req.rendition, req.seq, req.start, req.end], ["p0|r1|b", 1800, 1800, 3000]);
  assert.equal("sizeHint" in req, false);
  assert.equal(a.toRequest(r.getUris()[0], { headers: { Range: "bytes=1800-" } }, { stream: video, segment: r }, 30000), null, "open-ended");
  a.detach();
});

test("HLS identity: the media playlist and its media sequence numbers (the hls.js adapter's identity)", async () => {
  const { player, a } = await setup({ type: "HLS", asset: `${HLS}?token=m` });
  const { video, audio } = await parse(player, shaka.hls.HlsParser, `${HLS}?token=m`);
  const ref = video.segmentIndex.get(1);
  assert.equal(ref.getUris()[0], "https://cdn.example/h/video/s101.m4s?token=v");
  const req = a.toRequest(ref.getUris()[0], { headers: {} }, { stream: video, segment: ref }, 30000);
  assert.equal(req.manifest, "https://cdn.example/h/video/360.m3u8");
  assert.equal(req.rendition, undefined, "the main rendition, as hls.js");
  assert.equal(req.seq, 101);
  // Needed 2 s (one segment) after segment 101, whose deadline is 2000 ms.
  assert.equal(req.deadlineMs, 2000);
  assert.deepEqual(req.upcoming, [{ seq: 102, url: "https://cdn.example/h/video/s102.m4s?token=v", deadlineMs: 4000 }]);
  // Another viewer's token on the segment URL: the same segment.
  const other = a.toRequest("https://cdn.example/h/video/s101.m4s?token=zzz", { headers: {} }, { stream: video, segment: ref }, 30000);
  assert.deepEqual([other.manifest, other.seq], [req.manifest, req.seq]);
  const aref = audio.segmentIndex.get(0);
  const areq = a.toRequest(aref.getUris()[0], { headers: {} }, { stream: audio, segment: aref }, 30000);
  assert.deepEqual([areq.manifest, areq.rendition, areq.seq], ["https://cdn.example/h/audio/en.m3u8", "audio", 100]);
  // A segment of no playlist seen: no identity, Shaka's plugin loads it.
  assert.equal(a.toRequest("https://cdn.example/h/video/s999.m4s", { headers: {} }, { stream: video, segment: ref }, 30000), null);
  a.detach();
});

test("HLS playlists: media sequence, EXT-X-BYTERANGE (with and without offsets), parts ignored", () => {
  const idx = hlsPlaylistIndex(`#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-PART:DURATION=0.5,URI="part1.m4s"
#EXTINF:2,
#EXT-X-BYTERANGE:1000@500
all.mp4?t=1
#EXTINF:2,
#EXT-X-BYTERANGE:2000
all.mp4?t=1
#EXTINF:2,
https://other.example/x/seg9.ts
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part2.m4s"
`, ["https://cdn.example/p/index.m3u8?tok=1"]);
  assert.deepEqual([...idx], [
    ["https://cdn.example/p/all.mp4|500-1500", 7],
    ["https://cdn.example/p/all.mp4|1500-3500", 8],
    ["https://other.example/x/seg9.ts", 9],
  ]);
  assert.equal(hlsPlaylistIndex("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n", ["https://x/"]), null, "a master playlist");
  assert.equal(hlsPlaylistIndex("<MPD/>", ["https://x/"]), null);
});

test("HLS playlists: the first media sequence, the end, EXT-X-SKIP (delta updates)", () => {
  const base = ["https://cdn.example/p/index.m3u8"];
  const info = hlsPlaylistInfo("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:40\n#EXTINF:2,\ns40.ts\n#EXTINF:2,\ns41.ts\n", base);
  assert.deepEqual([info.first, info.ended, [...info.index.values()]], [40, false, [40, 41]]);
  const vod = hlsPlaylistInfo("#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:2,\ns0.ts\n", base);
  assert.deepEqual([vod.first, vod.ended], [0, true]);
  assert.equal(hlsPlaylistInfo("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:3\n#EXTINF:2,\ns3.ts\n#EXT-X-ENDLIST\n", base).ended, true);
  // A delta update lists the oldest segments as skipped: they keep their numbers.
  for (const text of [
    "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:40\n#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n#EXTINF:2,\ns43.ts\n",
    "#EXTM3U\n#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n#EXT-X-MEDIA-SEQUENCE:40\n#EXTINF:2,\ns43.ts\n",
  ]) {
    const d = hlsPlaylistInfo(text, base);
    assert.deepEqual([d.first, [...d.index]], [40, [["https://cdn.example/p/s43.ts", 43]]]);
  }
});

// ---- loads -------------------------------------------------------------------

test("engine load through Shaka's NetworkingEngine: fresh exact bytes, no CDN request, timeMs = the real transfer", async () => {
  const { player, bridge, a } = await setup({ respond: (c) => setTimeout(() => c.resolve(result(bytes(30000, 9), { transferMs: 400, firstByteMs: 50 })), 5) });
  const { video } = await parse(player, shaka.dash.DashParser, `${MPD}?token=1`);
  cdnRequests = [];
  const ref = video.segmentIndex.get(2);
  const request = NE.makeRequest(ref.getUris(), player.getConfiguration().streaming.retryParameters);
  const res = await settle(player.getNetworkingEngine().request(SEGMENT, request, { type: MEDIA_SEGMENT, stream: video, segment: ref }));
  assert.equal(res.ok, true, String(res.error));
  const resp = res.value;
  assert.ok(resp.data instanceof ArrayBuffer);
  assert.equal(resp.data.byteLength, 30000);
  assert.equal(new Uint8Array(resp.data)[29999], 9);
  assert.ok(resp.timeMs >= 400 && resp.timeMs < 420, `timeMs ${resp.timeMs} (+ Shaka's response filters)`);
  assert.equal(resp.fromCache, false);
  assert.equal(request.timeToFirstByte, 50);
  assert.equal(segmentRequests().length, 0, "nothing from the CDN");
  const req = bridge.calls[0].req;
  assert.deepEqual([req.manifest, req.rendition, req.seq], [MPD, "p0|v1|t", 4000]);
  // Each by its own deadline: this segment's plus the media time between.
  assert.deepEqual(req.upcoming, [
    { seq: 6000, url: "https://cdn.example/d/a/v1/4.m4s", deadlineMs: req.deadlineMs + 2000 },
    { seq: 8000, url: "https://cdn.example/d/a/v1/5.m4s", deadlineMs: req.deadlineMs + 4000 },
  ]);
  // At a period boundary the hints stop: the next period is another swarm.
  assert.equal(a.toRequest(video.segmentIndex.get(4).getUris()[0], { headers: {} }, { stream: video, segment: video.segmentIndex.get(4) }, 30000).upcoming, undefined);
  a.detach();
});

test("Shaka's bandwidth estimator gets the engine's transfer time and the byte count, once", async () => {
  const samples = [];
  const net = new NE((timeMs, bytesDownloaded) => samples.push({ timeMs, bytesDownloaded }));
  net.configure(new shaka.Player().getConfiguration().networking);
  const player = { getNetworkingEngine: () => net, getManifestType: () => "DASH", getAssetUri: () => MPD, getMediaElement: () => null };
  const bridge = fakeBridge({ respond: (c) => c.resolve(result(bytes(50000), { source: "cache", transferMs: 800, firstByteMs: 100 })) });
  globalThis.__nearcastWasm = bridge;
  const core = createCore();
  const a = createShakaAdapter(core, shaka, player, {});
  await core.start({ trackers });
  const stream = { type: "video", originalId: "v1" };
  const ref = new shaka.media.SegmentReference(4, 6, () => ["https://cdn.example/d/a/v1/3.m4s"], 0, null, null, 0, 0, 10);
  const request = NE.makeRequest(ref.getUris(), NE.defaultRetryParameters());
  const res = await settle(net.request(SEGMENT, request, { type: MEDIA_SEGMENT, stream, segment: ref }));
  assert.equal(res.ok, true);
  assert.equal(samples.length, 1);
  assert.ok(samples[0].timeMs >= 800 && samples[0].timeMs < 820, "a cache hit reports the original transfer");
  assert.equal(samples[0].bytesDownloaded, 50000);
  a.detach();
});

test("manifests, playlists, init segments and text go to Shaka's own plugin; segments count as the player's", async () => {
  const { player, bridge, core, a } = await setup({ type: "HLS", asset: HLS, respond: (c) => c.resolve(result(bytes(10))) });
  const events = [];
  core.on("player-segment", (e) => events.push(e));
  const { video } = await parse(player, shaka.hls.HlsParser, HLS);
  assert.ok(cdnRequests.some((r) => r.url.includes("360.m3u8")), "playlists from the CDN through Shaka's plugin");
  assert.equal(bridge.calls.length, 0, "what Shaka's parser fetched went to its own plugin");
  cdnRequests = [];
  // An init segment request (Shaka's InitSegmentReference is no SegmentReference: no `segment`).
  const r1 = await settle(fetchSegment(player, video, null, { type: INIT_SEGMENT, uris: ["https://cdn.example/h/video/init.mp4?token=v"] }));
  assert.equal(r1.ok, true);
  assert.equal(r1.value.data.byteLength, SIZE);
  const text = { type: "text", originalId: "t" };
  const r2 = await settle(fetchSegment(player, text, video.segmentIndex.get(0)));
  assert.equal(r2.ok, true);
  assert.equal(bridge.calls.length, 0);
  assert.equal(segmentRequests().length, 2);
  assert.equal(events.length, 1, "the video init segment counts, text does not");
  assert.equal(core.stats().playerBytes, SIZE);
  a.detach();
});

test("engine error falls back to Shaka's plugin in the same request", async () => {
  const { player, bridge, core, a } = await setup({ respond: (c) => setTimeout(() => c.reject({ code: "cdn-failed", message: "503" }), 3) });
  const { video } = await parse(player, shaka.dash.DashParser, MPD);
  cdnRequests = [];
  const res = await settle(fetchSegment(player, video, video.segmentIndex.get(0)));
  assert.equal(res.ok, true);
  assert.equal(res.value.data.byteLength, SIZE);
  assert.equal(bridge.calls.length, 1);
  assert.equal(segmentRequests().length, 1);
  assert.equal(core.stats().playerBytes, SIZE);
  a.detach();
});

test("a wrong-sized engine answer for a byte range is never passed on", async () => {
  const { player, bridge, a } = await setup({ asset: MPD_RANGES, respond: (c) => c.resolve(result(bytes(999))) });
  const { video } = await parse(player, shaka.dash.DashParser, MPD_RANGES);
  cdnRequests = [];
  const res = await settle(fetchSegment(player, video, video.segmentIndex.get(0)));
  assert.equal(bridge.calls[0].req.start, 800);
  assert.equal(bridge.calls[0].req.end, 1800);
  assert.equal(res.ok, true);
  assert.equal(res.value.data.byteLength, 1000, "from the CDN instead");
  assert.deepEqual(segmentRequests().map((r) => r.range), ["bytes=800-1799"]);
  a.detach();
});

test("engine error, then CDN error: Shaka retries through its own plugin, one error in the end", async () => {
  const { player, bridge, a } = await setup({ respond: (c) => c.reject({ code: "cdn-failed", message: "503" }) });
  const { video } = await parse(player, shaka.dash.DashParser, MPD);
  cdnRequests = [];
  cdnMode = "error";
  const retry = { ...NE.defaultRetryParameters(), maxAttempts: 2, baseDelay: 1, fuzzFactor: 0 };
  const res = await settle(fetchSegment(player, video, video.segmentIndex.get(0), { retry }));
  assert.equal(res.ok, false);
  assert.equal(res.error.code, shaka.util.Error.Code.BAD_HTTP_STATUS);
  assert.equal(bridge.calls.length, 1, "the retry does not go through the engine");
  assert.equal(segmentRequests().length, 2);
  a.detach();
});

test("abort: the engine call is cancelled and the request rejects with OPERATION_ABORTED, once", async () => {
  const { player, bridge, a } = await setup(); // the engine never answers
  const { video } = await parse(player, shaka.dash.DashParser, MPD);
  cdnRequests = [];
  const op = fetchSegment(player, video, video.segmentIndex.get(0));
  await tick(5);
  assert.equal(bridge.calls.length, 1);
  await op.abort();
  const res = await settle(op);
  assert.equal(res.ok, false);
  assert.equal(res.error.code, shaka.util.Error.Code.OPERATION_ABORTED);
  assert.equal(bridge.calls[0].cancelled, true);
  bridge.calls[0].resolve(result(bytes(10)));
  await tick(5);
  assert.equal(segmentRequests().length, 0, "no fallback after an abort");
  a.detach();
});

test("an engine that never answers is abandoned before Shaka's connection timeout", async () => {
  const { player, bridge, a } = await setup();
  const { video } = await parse(player, shaka.dash.DashParser, MPD);
  cdnRequests = [];
  // connectionTimeout 3600 − 3000 of room for the fallback: the engine gets 600 ms.
  const retry = { ...NE.defaultRetryParameters(), connectionTimeout: 3600 };
  const t0 = performance.now();
  const res = await settle(fetchSegment(player, video, video.segmentIndex.get(0), { retry }));
  const took = performance.now() - t0;
  assert.equal(res.ok, true, String(res.error));
  assert.equal(bridge.calls[0].cancelled, true);
  assert.equal(bridge.calls[0].req.deadlineMs, 0);
  assert.ok(took >= 590 && took < 1000, `abandoned after ${took} ms`);
  assert.equal(segmentRequests().length, 1);
  a.detach();
});

test("deadline: segment start − currentTime of the player's media element", async () => {
  const { player, bridge, setMedia, a } = await setup({ respond: (c) => c.resolve(result(bytes(10))) });
  const { video } = await parse(player, shaka.dash.DashParser, MPD);
  setMedia({ currentTime: 3, playbackRate: 1 });
  await settle(fetchSegment(player, video, video.segmentIndex.get(3))); // starts at 6 s
  assert.equal(bridge.calls[0].req.deadlineMs, 3000);
  a.detach();
});

test("when unsupported, or before the engine starts, segments go to Shaka's plugin", async () => {
  const saved = globalThis.RTCPeerConnection;
  delete globalThis.RTCPeerConnection;
  try {
    const { player, bridge, core, a } = await setup({ start: false });
    assert.equal(await core.start({ trackers }), false);
    const { video } = await parse(player, shaka.dash.DashParser, MPD);
    const res = await settle(fetchSegment(player, video, video.segmentIndex.get(0)));
    assert.equal(res.ok, true);
    assert.equal(bridge.calls.length, 0);
    a.detach();
  } finally {
    globalThis.RTCPeerConnection = saved;
  }
});

test("while the engine starts, a segment needed later waits for it and loads through it", async () => {
  const { player, bridge, core, setMedia, a } = await setup({ start: false, respond: (c) => c.resolve(result(bytes(10))) });
  const { video } = await parse(player, shaka.dash.DashParser, MPD);
  setMedia({ currentTime: 0, playbackRate: 1 });
  core.schedule();
  cdnRequests = [];
  const op = fetchSegment(player, video, video.segmentIndex.get(4)); // needed in 8 s
  await tick(20);
  assert.equal(bridge.calls.length, 0);
  assert.equal(await core.start({ trackers }), true);
  const res = await settle(op);
  assert.equal(res.ok, true);
  assert.equal(res.value.data.byteLength, 10);
  assert.equal(segmentRequests().length, 0);
  a.detach();
});

test("one scheme plugin serves every player; the last detach restores Shaka's own HTTP plugin", async () => {
  const calls = [];
  const reg = NE.registerScheme;
  const unreg = NE.unregisterScheme;
  NE.registerScheme = (...args) => {
    calls.push(["register", args[0], args[1], args[2], args[3]]);
    return reg.apply(NE, args);
  };
  NE.unregisterScheme = (...args) => {
    calls.push(["unregister", args[0]]);
    return unreg.apply(NE, args);
  };
  try {
    const one = await setup({ respond: (c) => c.resolve(result(bytes(10))) });
    const two = await setup({ respond: (c) => c.resolve(result(bytes(10))) });
    const ours = calls.filter((c) => c[0] === "register");
    assert.deepEqual(ours.map((c) => [c[1], c[3], c[4]]), [["http", 3, true], ["https", 3, true]], "registered once, APPLICATION priority, progress support");
    one.a.detach();
    assert.equal(calls.length, 2, "still in use by the other player");
    // The first player is back to Shaka's plugin for everything.
    const { video } = await parse(one.player, shaka.dash.DashParser, MPD);
    cdnRequests = [];
    const res = await settle(fetchSegment(one.player, video, video.segmentIndex.get(0)));
    assert.equal(res.ok, true);
    assert.equal(one.bridge.calls.length + two.bridge.calls.length, 0);
    assert.equal(segmentRequests().length, 1);
    // …while the second player's requests still reach the engine.
    const { video: v2 } = await parse(two.player, shaka.dash.DashParser, MPD);
    await settle(fetchSegment(two.player, v2, v2.segmentIndex.get(0)));
    assert.equal(two.bridge.calls.length, 1);
    two.a.detach();
    two.a.detach(); // idempotent
    assert.deepEqual(calls.slice(2), [
      ["unregister", "http"], ["unregister", "https"],
      ["register", "http", shaka.net.HttpFetchPlugin.parse, NE.PluginPriority.PREFERRED, true],
      ["register", "https", shaka.net.HttpFetchPlugin.parse, NE.PluginPriority.PREFERRED, true],
    ]);
  } finally {
    NE.registerScheme = reg;
    NE.unregisterScheme = unreg;
  }
});

test("requests the engine must not take: retries, low-latency streaming, other headers", async () => {
  const { player, bridge, a } = await setup({ respond: (c) => c.resolve(result(bytes(10))) });
  const { video } = await parse(player, shaka.dash.DashParser, MPD);
  const ref = video.segmentIndex.get(0);
  const net = player.getNetworkingEngine();
  const mk = () => NE.makeRequest(ref.getUris(), player.getConfiguration().streaming.retryParameters);
  const withHeader = mk();
  withHeader.headers["CMCD-Request"] = "ot=v";
  // A low-latency manifest with lowLatencyMode (Shaka 5's default) on.
  player.configure({ streaming: { lowLatencyMode: true } });
  player.getManifest = () => ({ isLowLatency: true });
  const streaming = NE.makeRequest(ref.getUris(), player.getConfiguration().streaming.retryParameters, async () => {});
  for (const r of [withHeader, streaming]) {
    const res = await settle(net.request(SEGMENT, r, { type: MEDIA_SEGMENT, stream: video, segment: ref }));
    assert.equal(res.ok, true);
  }
  assert.equal(bridge.calls.length, 0);
  a.detach();
});

test("segment prefetch (a streamDataCallback, not a low-latency manifest): the engine serves it, the callback gets the bytes", async () => {
  const { player, bridge, a } = await setup({ respond: (c) => c.resolve(result(bytes(20000, 7))) });
  player.configure({ streaming: { lowLatencyMode: true } }); // Shaka 5's default; the manifest is not low-latency
  const { video } = await parse(player, shaka.dash.DashParser, MPD);
  cdnRequests = [];
  const ref = video.segmentIndex.get(1);
  /** @type {Uint8Array[]} */
  const chunks = [];
  const request = NE.makeRequest(ref.getUris(), player.getConfiguration().streaming.retryParameters, async (data) => {
    chunks.push(new Uint8Array(data));
  });
  const res = await settle(player.getNetworkingEngine().request(SEGMENT, request, { type: MEDIA_SEGMENT, stream: video, segment: ref }));
  assert.equal(res.ok, true, String(res.error));
  assert.equal(bridge.calls.length, 1, "loaded through the engine");
  assert.equal(segmentRequests().length, 0, "nothing from the CDN");
  assert.equal(chunks.length, 1);
  assert.equal(chunks[0].byteLength, 20000);
  assert.equal(chunks[0][19999], 7);
  assert.equal(res.value.data.byteLength, 20000);
  assert.notEqual(chunks[0].buffer, res.value.data, "the callback's chunk and the response are separate buffers");
  a.detach();
});

test("attachShaka needs the namespace and a player", () => {
  assert.throws(() => createShakaAdapter(createCore(), {}, new shaka.Player(), {}), TypeError);
  assert.throws(() => createShakaAdapter(createCore(), shaka, {}, {}), TypeError);
});

test("index: attachShaka() starts the page's engine after Shaka's first segment; detach() hands back", async () => {
  const bridge = fakeBridge({ respond: (c) => c.resolve(result(bytes(10))) });
  globalThis.__nearcastWasm = bridge;
  const { attachShaka, nearcast } = await import("../src/index.js");
  assert.equal(nearcast.attachShaka, attachShaka);
  const player = new shaka.Player();
  player.getManifestType = () => "DASH";
  player.getAssetUri = () => MPD;
  const handle = attachShaka(shaka, player, { trackers });
  assert.deepEqual(Object.keys(handle), ["detach"]);
  const { video } = await parse(player, shaka.dash.DashParser, MPD);
  assert.equal(nearcast.state, "idle");
  cdnRequests = [];
  assert.equal((await settle(fetchSegment(player, video, video.segmentIndex.get(0)))).ok, true);
  assert.equal(segmentRequests().length, 1, "the first segment came from Shaka's plugin");
  await tick(1);
  assert.notEqual(nearcast.state, "idle", "started by Shaka's first segment");
  assert.equal(await nearcast.whenReady(), true);
  await settle(fetchSegment(player, video, video.segmentIndex.get(1)));
  assert.equal(bridge.calls.length, 1, "then the engine");
  handle.detach();
  await settle(fetchSegment(player, video, video.segmentIndex.get(2)));
  assert.equal(bridge.calls.length, 1, "detached: Shaka's plugin");
  await nearcast.destroy();
});

// ---- live: windowStart ---------------------------------------------------------

test("live DASH: windowStart = the media time (ms) of the oldest reference left in the Period's segment index", async () => {
  const url = "https://cdn.example/d/live.mpd";
  const ast = new Date(Date.now() - 100000).toISOString();
  // $Time$ far from zero (presentationTimeOffset 10000 s); 50 segments of 2 s
  // in the MPD, a 200 s time-shift buffer: Shaka evicts none of them.
  FILES.set(url, `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="${ast}" timeShiftBufferDepth="PT200S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
<Period id="a" start="PT0S"><AdaptationSet mimeType="video/mp4" codecs="avc1.42c01e"><SegmentTemplate media="v/$RepresentationID$/$Time$.m4s" initialization="v/$RepresentationID$/init.mp4" timescale="90000" presentationTimeOffset="900000000"><SegmentTimeline><S t="900000000" d="180000" r="49"/></SegmentTimeline></SegmentTemplate><Representation id="v1" bandwidth="400000" width="640" height="360"/></AdaptationSet></Period></MPD>`);
  const { player, bridge, a } = await setup({ asset: `${url}?token=1`, respond: (c) => c.resolve(result(bytes(10))) });
  player.isLive = () => true;
  const { video, parser } = await parse(player, shaka.dash.DashParser, `${url}?token=1`);
  try {
    // The media time in the URL ($Time$), in ms: the numbering the swarm uses.
    const timeOf = (ref) => Math.round((Number(/\/(\d+)\.m4s/.exec(ref.getUris()[0])[1]) / 90000) * 1000);
    const idx = video.segmentIndex;
    const firstPos = idx.find(-Infinity);
    const oldest = idx.get(firstPos);
    assert.equal(timeOf(oldest), 10000000, "nothing evicted: the MPD's first S");
    const ref = idx.get(firstPos + 45);
    await settle(fetchSegment(player, video, ref));
    let req = bridge.calls.at(-1).req;
    assert.equal(req.seq, timeOf(ref));
    assert.equal(req.seq, 10090000);
    assert.equal(req.windowStart, 10000000);
    // Shaka evicts what left the availability window (as at an MPD update).
    idx.evict(40.5);
    assert.equal(timeOf(idx.get(idx.find(-Infinity))), 10040000);
    await settle(fetchSegment(player, video, ref));
    req = bridge.calls.at(-1).req;
    assert.equal(req.windowStart, 10040000, "the oldest reference left: 40–42 s");
    // Not live: no windowStart.
    player.isLive = () => false;
    await settle(fetchSegment(player, video, ref));
    assert.equal("windowStart" in bridge.calls.at(-1).req, false);
  } finally {
    await parser.stop();
    a.detach();
  }
});

test("VOD DASH and HLS: no windowStart", async () => {
  const { player, bridge, a } = await setup({ respond: (c) => c.resolve(result(bytes(10))) });
  assert.equal(player.isLive(), false);
  const { video } = await parse(player, shaka.dash.DashParser, `${MPD}?token=1`);
  await settle(fetchSegment(player, video, video.segmentIndex.get(2)));
  assert.equal(bridge.calls.at(-1).req.seq, 4000);
  assert.equal("windowStart" in bridge.calls.at(-1).req, false);
  a.detach();
  const h = await setup({ type: "HLS", asset: HLS, respond: (c) => c.resolve(result(bytes(10))) });
  const { video: hv } = await parse(h.player, shaka.hls.HlsParser, HLS);
  h.player.isLive = () => true; // even if Shaka said so: the playlist has ended
  await settle(fetchSegment(h.player, hv, hv.segmentIndex.get(1)));
  assert.equal(h.bridge.calls.at(-1).req.seq, 101);
  assert.equal("windowStart" in h.bridge.calls.at(-1).req, false);
  h.a.detach();
});

test("live HLS: windowStart = EXT-X-MEDIA-SEQUENCE of the media playlist as last fetched", async () => {
  const master = "https://cdn.example/hl/master.m3u8";
  const media = "https://cdn.example/hl/v.m3u8";
  const playlist = (msn, n, end = "") =>
    `#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:${msn}\n#EXT-X-MAP:URI="init.mp4"\n` +
    Array.from({ length: n }, (_, i) => `#EXTINF:2.0,\ns${msn + i}.m4s?token=v\n`).join("") + end;
  FILES.set(master, `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.42c01e",RESOLUTION=640x360\nv.m3u8?token=v\n`);
  FILES.set(media, playlist(500, 4));
  const { player, bridge, a } = await setup({ type: "HLS", asset: master, respond: (c) => c.resolve(result(bytes(10))) });
  player.isLive = () => true;
  const { video, parser } = await parse(player, shaka.hls.HlsParser, master);
  try {
    // Shaka's own reference as the context's segment; the URI names the segment.
    const ask = async (sn) => {
      const ref = video.segmentIndex.get(video.segmentIndex.find(-Infinity));
      const uri = `https://cdn.example/hl/s${sn}.m4s?token=v`;
      await settle(player.getNetworkingEngine().request(SEGMENT, NE.makeRequest([uri], player.getConfiguration().streaming.retryParameters), { type: MEDIA_SEGMENT, stream: video, segment: ref }));
      return bridge.calls.at(-1).req;
    };
    let req = await ask(502);
    assert.deepEqual([req.manifest, req.seq, req.windowStart], [media, 502, 500]);
    // The playlist refreshes (through Shaka's networking engine): the window slides.
    FILES.set(media, playlist(502, 4));
    await player.getNetworkingEngine().request(NE.RequestType.MANIFEST, NE.makeRequest([`${media}?token=v`], player.getConfiguration().manifest.retryParameters)).promise;
    req = await ask(503);
    assert.deepEqual([req.seq, req.windowStart], [503, 502]);
    // A segment only the previous playlist listed: never above it.
    req = await ask(501);
    assert.deepEqual([req.seq, req.windowStart], [501, 501]);
    // The stream ends.
    FILES.set(media, playlist(502, 4, "#EXT-X-ENDLIST\n"));
    await player.getNetworkingEngine().request(NE.RequestType.MANIFEST, NE.makeRequest([`${media}?token=v`], player.getConfiguration().manifest.retryParameters)).promise;
    req = await ask(503);
    assert.equal(req.seq, 503);
    assert.equal("windowStart" in req, false);
  } finally {
    await parser.stop();
    a.detach();
  }
});

const iife = new URL("../dist/nearcast.js", import.meta.url);
test("dist/nearcast.js puts attachDashjs and attachShaka on window.nearcast", { skip: !existsSync(iife) && "run npm run build first" }, () => {
  const ctx = { URL, Promise, setTimeout, clearTimeout, queueMicrotask, performance, console, document: { currentScript: { src: "https://site.example/n/nearcast.js" } } };
  ctx.globalThis = ctx;
  ctx.window = ctx;
  vm.runInNewContext(readFileSync(iife, "utf8"), ctx);
  for (const k of ["hlsConfig", "attachDashjs", "attachShaka", "isSupported", "stats"]) assert.equal(typeof ctx.nearcast[k], "function", k);
  assert.equal(ctx.nearcast.nearcast, ctx.nearcast);
});
