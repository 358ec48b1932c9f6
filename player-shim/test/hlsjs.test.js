// The shim against the real hls.js 1.7 pieces that run in Node: its Fragment,
// LoaderContext shape and load policy, and its FetchLoader as the player's loader
// (fetch stubbed), driven the way hls.js's FragmentLoader drives an fLoader.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";

globalThis.self ??= globalThis; // hls.js refers to `self`
const { default: Hls, Fragment, FetchLoader, PlaylistLevelType, LoadStats, M3U8Parser } = await import("hls.js");
const { createCore } = await import("../src/core.js");
const { createHlsAdapter } = await import("../src/hls.js");
const { browserish, bytes, fakeBridge, result, tick } = await import("./helpers.js");

browserish();
const realFetch = globalThis.fetch;
let requests;

beforeEach(() => {
  requests = [];
  // A CDN that honours Range: bytes=a-b (inclusive b).
  globalThis.fetch = async (req) => {
    const range = req.headers.get("Range");
    requests.push({ url: req.url, range });
    let body = bytes(3000, 2);
    if (range) {
      const [, a, b] = /bytes=(\d+)-(\d+)/.exec(range);
      body = body.subarray(+a, +b + 1);
    }
    return new Response(body, { status: range ? 206 : 200 });
  };
});
afterEach(() => {
  globalThis.fetch = realFetch;
  delete globalThis.__nearcastWasm;
});

function fragment({ sn = 3, range } = {}) {
  const f = new Fragment(PlaylistLevelType.MAIN, "https://cdn.example/v/index.m3u8");
  f.relurl = "seg.m4s";
  f.sn = sn;
  f.start = 6;
  f.duration = 2;
  f.level = 0;
  if (range) f.setByteRange(range);
  return f;
}

// Same shape as hls.js's createLoaderContext() and load config in fragment-loader.ts.
function loadLike(FLoader, frag, config) {
  const loader = new FLoader(config);
  const context = {
    type: "media-fragment", frag, part: null, responseType: "arraybuffer",
    url: frag.url, headers: {}, rangeStart: 0, rangeEnd: 0,
  };
  if (Number.isFinite(frag.byteRangeStartOffset) && Number.isFinite(frag.byteRangeEndOffset)) {
    context.rangeStart = frag.byteRangeStartOffset;
    context.rangeEnd = frag.byteRangeEndOffset;
  }
  const loadPolicy = { ...config.fragLoadPolicy.default, timeoutRetry: null, errorRetry: null };
  const loaderConfig = { loadPolicy, timeout: loadPolicy.maxLoadTimeMs, maxRetry: 0, retryDelay: 0, maxRetryDelay: 0, highWaterMark: Infinity };
  loader.stats.retry = frag.stats.retry;
  frag.stats = loader.stats;
  const out = { loader, context, terminal: [] };
  out.done = new Promise((resolve) => {
    const t = (kind) => (...args) => {
      out.terminal.push({ kind, args });
      loader.destroy();
      resolve(out);
    };
    loader.load(context, loaderConfig, { onSuccess: t("onSuccess"), onError: t("onError"), onTimeout: t("onTimeout"), onAbort: t("onAbort") });
  });
  return out;
}

test("with hls.js's FetchLoader as the player's loader: delegation shares frag.stats", async () => {
  const core = createCore(); // never started: everything goes to the player
  const { fLoader } = createHlsAdapter(core, Hls, {});
  const config = { ...Hls.DefaultConfig, loader: FetchLoader, fLoader };
  const frag = fragment({ range: "1000@500" });
  const out = loadLike(fLoader, frag, config);
  assert.ok(out.loader.stats instanceof Object);
  await out.done;
  assert.equal(out.terminal.length, 1);
  assert.equal(out.terminal[0].kind, "onSuccess");
  const [resp, stats] = out.terminal[0].args;
  assert.equal(stats, frag.stats);
  assert.equal(resp.data.byteLength, 1000);
  assert.deepEqual(requests, [{ url: "https://cdn.example/v/seg.m4s", range: "bytes=500-1499" }]);
  assert.ok(stats.loading.start > 0 && stats.loading.first >= stats.loading.start && stats.loading.end >= stats.loading.first);
  assert.equal(stats.loaded, 1000);
});

test("engine failure falls back to hls.js's FetchLoader (its used-once check passes)", async () => {
  globalThis.__nearcastWasm = fakeBridge({ respond: (c) => setTimeout(() => c.reject({ code: "cdn-failed", message: "x" }), 2) });
  const core = createCore();
  const { fLoader } = createHlsAdapter(core, Hls, {});
  assert.equal(await core.start({ trackers: ["ws://x/announce"] }), true);
  const config = { ...Hls.DefaultConfig, loader: FetchLoader, fLoader };
  const frag = fragment({ range: "1000@500" });
  const out = loadLike(fLoader, frag, config);
  await out.done;
  await tick(5);
  assert.equal(out.terminal.length, 1);
  assert.equal(out.terminal[0].kind, "onSuccess", JSON.stringify(out.terminal[0].args[0]));
  assert.equal(out.terminal[0].args[1], frag.stats);
  assert.equal(out.terminal[0].args[0].data.byteLength, 1000);
  const req = globalThis.__nearcastWasm.calls[0].req;
  assert.equal(req.start, 500);
  assert.equal(req.end, 1500, "exclusive end, as hls.js's byteRange");
});

test("engine success with a real Fragment and hls.js's own LoadStats shape", async () => {
  globalThis.__nearcastWasm = fakeBridge({ respond: (c) => c.resolve(result(bytes(c.req.end - c.req.start))) });
  const core = createCore({ now: () => performance.now() + 60000 });
  const { fLoader } = createHlsAdapter(core, Hls, {});
  await core.start({ trackers: ["ws://x/announce"] });
  const config = { ...Hls.DefaultConfig, fLoader };
  const frag = fragment({ range: "700@0" });
  const out = loadLike(fLoader, frag, config);
  await out.done;
  assert.equal(out.terminal.length, 1);
  assert.equal(out.terminal[0].kind, "onSuccess");
  assert.equal(requests.length, 0, "no CDN request from the player");
  const ours = Object.keys(frag.stats).sort();
  const theirs = Object.keys(new LoadStats()).sort();
  assert.deepEqual(ours, theirs, "same fields as hls.js LoadStats");
  assert.equal(frag.stats.loaded, 700);
});

test("live: windowStart = startSN of hls.js's own LevelDetails (M3U8Parser), delta updates included; none for VOD", async () => {
  globalThis.__nearcastWasm = fakeBridge({ respond: (c) => c.resolve(result(bytes(10))) });
  const core = createCore({ now: () => performance.now() + 60000 });
  const adapter = createHlsAdapter(core, Hls, {});
  await core.start({ trackers: ["ws://x/announce"] });
  const config = { ...Hls.DefaultConfig, fLoader: adapter.fLoader };
  const url = "https://cdn.example/live/v.m3u8";
  const parse = (text) => M3U8Parser.parseLevelPlaylist(text, url, 0, PlaylistLevelType.MAIN, 0, null);
  const seg = (sn) => `#EXTINF:2.0,\nseg${sn}.m4s\n`;
  const head = "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n";
  const hls = { levels: [{ details: null }], audioTracks: [], media: null, on() {}, off() {} };
  adapter.attach(hls);
  const request = async (details, sn) => {
    hls.levels[0].details = details;
    const frag = details.fragments.find((f) => f?.sn === sn);
    const out = loadLike(adapter.fLoader, frag, config);
    await out.done;
    return globalThis.__nearcastWasm.calls.at(-1).req;
  };

  const live = parse(`${head}#EXT-X-MEDIA-SEQUENCE:1000\n${[1000, 1001, 1002, 1003].map(seg).join("")}`);
  assert.equal(live.live, true);
  let req = await request(live, 1002);
  assert.deepEqual([req.manifest, req.seq, req.windowStart], [url, 1002, 1000]);

  // A delta update (EXT-X-SKIP): startSN is still EXT-X-MEDIA-SEQUENCE, the
  // oldest segment the playlist lists.
  const delta = parse(`${head}#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=12\n#EXT-X-MEDIA-SEQUENCE:1001\n#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n${[1003, 1004].map(seg).join("")}`);
  assert.equal(delta.startSN, 1001);
  req = await request(delta, 1004);
  assert.deepEqual([req.seq, req.windowStart], [1004, 1001]);

  const vod = parse(`${head}#EXT-X-MEDIA-SEQUENCE:1000\n#EXT-X-PLAYLIST-TYPE:VOD\n${[1000, 1001, 1002].map(seg).join("")}#EXT-X-ENDLIST\n`);
  assert.equal(vod.live, false);
  req = await request(vod, 1001);
  assert.equal(req.seq, 1001);
  assert.equal("windowStart" in req, false);
  adapter.detach();
});
