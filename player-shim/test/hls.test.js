import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createCore } from "../src/core.js";
import { createCdnModel, transferTiming } from "../src/common.js";
import { createHlsAdapter, applyTiming, deadlineMs, rangeOf, owns, newLoadStats } from "../src/hls.js";
import {
  browserish, bytes, fakeBridge, result, FakePlayerLoader, FakeHls, loaderConfig,
  fragContext, drive, tick,
} from "./helpers.js";

browserish();

beforeEach(() => {
  FakePlayerLoader.instances = [];
  FakePlayerLoader.mode = "success";
  FakePlayerLoader.size = 1000;
  delete globalThis.__nearcastWasm;
});

// ready returns an adapter on a core whose engine is ready.
async function ready(respond, options = {}) {
  const bridge = fakeBridge({ respond });
  globalThis.__nearcastWasm = bridge;
  // A clock well past its origin, as in a page that has been open a while.
  const core = createCore({ now: () => performance.now() + 60000 });
  const a = createHlsAdapter(core, FakeHls, options);
  assert.equal(await core.start({ trackers: ["ws://127.0.0.1:1/announce"], ...options }), true);
  assert.equal(core.ready, true);
  return { core, bridge, a, fLoader: a.fLoader };
}

function only(rec, kind) {
  assert.equal(rec.terminal.length, 1, `terminal callbacks: ${rec.terminal.map((t) => t.kind)}`);
  assert.equal(rec.terminal[0].kind, kind);
  return rec.terminal[0].args;
}

function saneTiming(stats) {
  const { start, first, end } = stats.loading;
  assert.ok(start > 0, `start ${start}`);
  assert.ok(first >= start, `first ${first} >= start ${start}`);
  assert.ok(end >= first, `end ${end} >= first ${first}`);
}

test("before the engine is started, fragments go to the player's loader", async () => {
  const bridge = fakeBridge({ respond: (c) => c.resolve(result(bytes(10))) });
  globalThis.__nearcastWasm = bridge;
  const core = createCore();
  const a = createHlsAdapter(core, FakeHls, {});
  assert.equal(core.state, "idle");
  const events = [];
  core.on("player-segment", (e) => events.push(e));
  const rec = drive(a.fLoader, fragContext());
  await rec.done;
  assert.equal(events.length, 1);
  assert.equal(events[0].seq, 5);
  assert.equal(events[0].bytes, 1000);
  assert.equal(events[0].source, "cdn");
  const [resp, stats] = only(rec, "onSuccess");
  assert.equal(FakePlayerLoader.instances.length, 1);
  assert.equal(bridge.calls.length, 0);
  assert.equal(resp.data.byteLength, 1000);
  assert.equal(stats, rec.statsAtStart, "stats object replaced");
  assert.equal(rec.loader.stats, rec.statsAtStart);
  saneTiming(stats);
  assert.equal(await core.start({ trackers: ["ws://x/announce"] }), true);
  assert.equal(core.stats().cdnBytes, 100 + 1000, "player loads count as CDN bytes");
  assert.equal(core.stats().playerBytes, 1000);
});

test("when unsupported, fragments always go to the player's loader", async () => {
  const saved = globalThis.RTCPeerConnection;
  delete globalThis.RTCPeerConnection;
  try {
    globalThis.__nearcastWasm = fakeBridge();
    const core = createCore();
    const a = createHlsAdapter(core, FakeHls, {});
    assert.equal(await core.start({ trackers: ["ws://x/announce"] }), false);
    assert.equal(core.state, "unsupported");
    assert.equal(core.stats().supported, false);
    const rec = drive(a.fLoader, fragContext());
    await rec.done;
    only(rec, "onSuccess");
    assert.equal(FakePlayerLoader.instances.length, 1);
    assert.equal(globalThis.__nearcastWasm.calls.length, 0);
  } finally {
    globalThis.RTCPeerConnection = saved;
  }
});

test("when the WASM cannot be loaded, fragments go to the player's loader", async () => {
  // No bridge, no Go, no document: loading wasm_exec.js fails.
  const core = createCore({ baseURL: "http://127.0.0.1:1/nearcast/" });
  const a = createHlsAdapter(core, FakeHls, {});
  const errors = [];
  core.on("error", (e) => errors.push(e));
  assert.equal(await core.start({ trackers: ["ws://x/announce"] }), false);
  assert.equal(core.state, "failed");
  assert.equal(errors.length, 1);
  const rec = drive(a.fLoader, fragContext());
  await rec.done;
  only(rec, "onSuccess");
  assert.equal(FakePlayerLoader.instances.length, 1);
});

test("the page's own hls.js loader (config.loader) is preferred over Hls.DefaultConfig.loader", async () => {
  class Custom extends FakePlayerLoader {}
  const core = createCore();
  const a = createHlsAdapter(core, FakeHls, {});
  const rec = drive(a.fLoader, fragContext(), loaderConfig(), { hlsConfig: { loader: Custom } });
  await rec.done;
  only(rec, "onSuccess");
  assert.ok(FakePlayerLoader.instances[0] instanceof Custom);
  // …but never our own class (that would recurse).
  const rec2 = drive(a.fLoader, fragContext(), loaderConfig(), { hlsConfig: { loader: a.fLoader } });
  await rec2.done;
  only(rec2, "onSuccess");
  assert.equal(FakePlayerLoader.instances[1].constructor, FakePlayerLoader);
});

test("engine success: one onSuccess, stats mutated in place, real transfer timing, request mapped", async () => {
  const { bridge, fLoader, a } = await ready((c) => setTimeout(() => c.resolve(result(bytes(2048))), 5));
  a.attachMedia({ currentTime: 6, playbackRate: 1 });
  const ctx = fragContext({ sn: 42, start: 10, duration: 2 });
  ctx.frag.stats.retry = 1;
  const rec = drive(fLoader, ctx, loaderConfig(), { withProgress: true });
  await rec.done;
  const [resp, stats, context] = only(rec, "onSuccess");
  assert.equal(context, ctx);
  assert.equal(stats, rec.statsAtStart);
  assert.equal(ctx.frag.stats, stats);
  assert.equal(stats.retry, 1, "retry count kept");
  assert.ok(resp.data instanceof ArrayBuffer);
  assert.equal(resp.data.byteLength, 2048);
  assert.equal(resp.code, 200);
  assert.equal(stats.loaded, 2048);
  assert.equal(stats.total, 2048);
  saneTiming(stats);
  // Timing reflects the engine's transferMs/firstByteMs (400/50), not the 5 ms call.
  assert.ok(Math.abs(stats.loading.end - stats.loading.start - 400) < 1e-6);
  assert.ok(Math.abs(stats.loading.first - stats.loading.start - 50) < 1e-6);
  assert.ok(stats.bwEstimate > 0);
  // One progress event with the same payload, like hls.js's XhrLoader.
  assert.equal(rec.progress.length, 1);
  assert.equal(rec.progress[0].data, resp.data);
  // The request.
  assert.equal(bridge.calls.length, 1);
  const req = bridge.calls[0].req;
  assert.equal(req.manifest, "https://cdn.example/v/index.m3u8");
  assert.equal(req.seq, 42);
  assert.equal(req.url, "https://cdn.example/v/seg5.m4s");
  assert.equal(req.deadlineMs, 4000);
  assert.equal(req.rendition, undefined);
  assert.equal("start" in req, false);
  assert.equal("end" in req, false);
  assert.equal(FakePlayerLoader.instances.length, 0);
});

test("audio fragments carry their rendition; swarmId overrides the swarm per playlist", async () => {
  const { bridge, fLoader } = await ready((c) => c.resolve(result(bytes(10))), { swarmId: "show-1" });
  const rec = drive(fLoader, fragContext({ type: "audio", baseurl: "https://cdn-b.example/a/en.m3u8?token=1" }));
  await rec.done;
  only(rec, "onSuccess");
  const req = bridge.calls[0].req;
  assert.equal(req.rendition, "audio");
  assert.equal(req.swarm, "show-1|audio|/a/en.m3u8");
});

test("rangeEnd is exclusive: [rangeStart, rangeEnd) maps to start/end and the size is checked", async () => {
  assert.deepEqual(rangeOf({ rangeStart: 100, rangeEnd: 300 }), { start: 100, end: 300 });
  assert.equal(rangeOf({ rangeStart: 0, rangeEnd: 0 }), null, "rangeEnd 0 = whole resource");
  assert.equal(rangeOf({ rangeStart: 50, rangeEnd: 0 }), null, "hls.js ignores rangeStart without rangeEnd");
  assert.equal(rangeOf({}), null);

  let n = 200;
  const { bridge, fLoader } = await ready((c) => c.resolve(result(bytes(n))));
  const rec = drive(fLoader, fragContext({ rangeStart: 100, rangeEnd: 300 }));
  await rec.done;
  const [resp] = only(rec, "onSuccess");
  assert.equal(bridge.calls[0].req.start, 100);
  assert.equal(bridge.calls[0].req.end, 300);
  assert.equal(resp.data.byteLength, 200);
  assert.equal(FakePlayerLoader.instances.length, 0);

  // A wrong-sized answer is a failure: the player's loader fetches the range.
  n = 201;
  const rec2 = drive(fLoader, fragContext({ rangeStart: 100, rangeEnd: 300 }));
  await rec2.done;
  const [resp2] = only(rec2, "onSuccess");
  assert.equal(FakePlayerLoader.instances.length, 1);
  assert.equal(FakePlayerLoader.instances[0].context.rangeEnd, 300);
  assert.equal(resp2.data.byteLength, 1000);
});

test("engine error falls back to the player's loader: one onSuccess, same stats object", async () => {
  const { fLoader, core } = await ready((c) => setTimeout(() => c.reject({ code: "cdn-failed", message: "503" }), 2));
  const rec = drive(fLoader, fragContext());
  await rec.done;
  const [resp, stats] = only(rec, "onSuccess");
  assert.equal(resp.data.byteLength, 1000);
  assert.equal(stats, rec.statsAtStart);
  assert.equal(FakePlayerLoader.instances.length, 1);
  assert.equal(FakePlayerLoader.instances[0].stats, rec.statsAtStart, "player loader shares our stats");
  saneTiming(stats);
  assert.equal(stats.loaded, 1000);
  assert.equal(core.stats().playerBytes, 1000);
  // The player's loader was given the remaining time budget.
  const lp = FakePlayerLoader.instances[0].loaderConfig.loadPolicy;
  assert.ok(lp.maxLoadTimeMs <= 120000 && lp.maxLoadTimeMs > 119000);
});

test("a synchronous engine refusal falls back too", async () => {
  const { fLoader, bridge } = await ready();
  bridge.load = () => {
    throw { code: "closed", message: "engine closed" };
  };
  const rec = drive(fLoader, fragContext());
  await rec.done;
  only(rec, "onSuccess");
  assert.equal(FakePlayerLoader.instances.length, 1);
});

test("engine error then player error: exactly one onError", async () => {
  FakePlayerLoader.mode = "error";
  const { fLoader } = await ready((c) => c.reject({ code: "cdn-failed", message: "503" }));
  const rec = drive(fLoader, fragContext());
  await rec.done;
  await tick(5);
  const [err] = only(rec, "onError");
  assert.equal(err.code, 500);
});

test("an empty or detached engine answer is never handed to hls.js", async () => {
  const { fLoader } = await ready((c) => c.resolve(result(new Uint8Array(0))));
  const rec = drive(fLoader, fragContext());
  await rec.done;
  const [resp] = only(rec, "onSuccess");
  assert.equal(resp.data.byteLength, 1000, "served by the player's loader instead");
  assert.equal(FakePlayerLoader.instances.length, 1);
});

test("abort during an engine load: onAbort once, engine call cancelled, nothing after", async () => {
  const { fLoader, bridge } = await ready(); // never settles by itself
  const rec = drive(fLoader, fragContext());
  await tick(1);
  rec.loader.abort();
  await tick(5);
  const [stats] = only(rec, "onAbort");
  assert.equal(stats, rec.statsAtStart);
  assert.equal(stats.aborted, true);
  assert.equal(bridge.calls[0].cancelled, true);
  // A late answer is ignored.
  bridge.calls[0].resolve(result(bytes(10)));
  rec.loader.abort();
  await tick(5);
  assert.equal(rec.terminal.length, 1);
  assert.equal(FakePlayerLoader.instances.length, 0, "an abort is not a failure: no fallback");
});

test("abort without an onAbort callback: no callback at all", async () => {
  const { fLoader, bridge } = await ready();
  const rec = drive(fLoader, fragContext(), loaderConfig(), { withAbort: false });
  await tick(1);
  rec.loader.abort();
  await tick(5);
  assert.equal(rec.terminal.length, 0);
  assert.equal(bridge.calls[0].cancelled, true);
  assert.equal(rec.loader.stats.aborted, true);
});

test("abort during a player load: exactly one onAbort", async () => {
  FakePlayerLoader.mode = "manual";
  const core = createCore();
  const a = createHlsAdapter(core, FakeHls, {});
  const rec = drive(a.fLoader, fragContext());
  rec.loader.abort();
  await tick(5);
  only(rec, "onAbort");
  assert.equal(FakePlayerLoader.instances[0].destroyed, true);
});

test("abort after success does nothing", async () => {
  const { fLoader } = await ready((c) => c.resolve(result(bytes(10))));
  const rec = drive(fLoader, fragContext());
  await rec.done;
  rec.loader.abort();
  only(rec, "onSuccess");
});

test("destroy without abort (hls.js replacing the loader): no callback, engine call cancelled", async () => {
  const { fLoader, bridge } = await ready();
  const rec = drive(fLoader, fragContext());
  await tick(1);
  rec.loader.destroy();
  bridge.calls[0].resolve(result(bytes(10)));
  await tick(5);
  assert.equal(rec.terminal.length, 0);
  assert.equal(bridge.calls[0].cancelled, true);
});

test("timeout: the engine never answers and maxLoadTimeMs passes → one onTimeout", async () => {
  const { fLoader, bridge } = await ready();
  const rec = drive(fLoader, fragContext(), loaderConfig({ maxTimeToFirstByteMs: Infinity, maxLoadTimeMs: 30 }));
  await rec.done;
  await tick(10);
  const [stats] = only(rec, "onTimeout");
  assert.equal(stats, rec.statsAtStart);
  assert.equal(bridge.calls[0].cancelled, true);
  assert.equal(FakePlayerLoader.instances.length, 0);
});

test("a stalled engine is abandoned after deadline + maxTimeToFirstByteMs for the player's loader", async () => {
  const { fLoader, bridge, a } = await ready();
  a.attachMedia({ currentTime: 10, playbackRate: 1 }); // frag.start 10 → deadline 0
  const rec = drive(fLoader, fragContext(), loaderConfig({ maxTimeToFirstByteMs: 20, maxLoadTimeMs: 10000 }));
  await rec.done;
  only(rec, "onSuccess");
  assert.equal(bridge.calls[0].req.deadlineMs, 0);
  assert.equal(bridge.calls[0].cancelled, true);
  assert.equal(FakePlayerLoader.instances.length, 1);
});

test("a transferred (detached) success buffer does not break a second load of the same segment", async () => {
  const { fLoader } = await ready((c) => c.resolve(result(bytes(4096, 9))));
  const rec = drive(fLoader, fragContext({ sn: 7 }));
  await rec.done;
  const [resp] = only(rec, "onSuccess");
  const buf = resp.data;
  structuredClone(buf, { transfer: [buf] }); // what hls.min.js does with postMessage
  assert.equal(buf.byteLength, 0);
  const rec2 = drive(fLoader, fragContext({ sn: 7 }));
  await rec2.done;
  const [resp2] = only(rec2, "onSuccess");
  assert.equal(resp2.data.byteLength, 4096);
  assert.equal(new Uint8Array(resp2.data)[4095], 9);
  assert.equal(FakePlayerLoader.instances.length, 0);
});

test("an engine that breaks the contract and reuses its buffer is caught, not passed on detached", async () => {
  const shared = bytes(512, 3);
  const { fLoader } = await ready((c) => c.resolve(result(shared)));
  const rec = drive(fLoader, fragContext());
  await rec.done;
  const [resp] = only(rec, "onSuccess");
  structuredClone(resp.data, { transfer: [resp.data] });
  const rec2 = drive(fLoader, fragContext());
  await rec2.done;
  const [resp2] = only(rec2, "onSuccess");
  assert.ok(resp2.data.byteLength > 0, "never a zero-length segment");
  assert.equal(FakePlayerLoader.instances.length, 1, "served by the player's loader");
});

test("a view into a larger buffer is copied to an exact ArrayBuffer", async () => {
  const big = bytes(100, 1);
  big.set([5, 6, 7], 10);
  const { fLoader } = await ready((c) => c.resolve(result(big.subarray(10, 13))));
  const rec = drive(fLoader, fragContext());
  await rec.done;
  const [resp] = only(rec, "onSuccess");
  assert.equal(resp.data.byteLength, 3);
  assert.deepEqual([...new Uint8Array(resp.data)], [5, 6, 7]);
  assert.notEqual(resp.data, big.buffer);
});

test("deadline: time until the fragment is needed, bounded", () => {
  assert.equal(deadlineMs({ start: 10, duration: 2 }, { currentTime: 4, playbackRate: 1 }, 30000), 6000);
  assert.equal(deadlineMs({ start: 10, duration: 2 }, { currentTime: 4, playbackRate: 2 }, 30000), 3000);
  assert.equal(deadlineMs({ start: 10, duration: 2 }, { currentTime: 4, playbackRate: 0 }, 30000), 6000, "paused rate 0 → 1");
  assert.equal(deadlineMs({ start: 10, duration: 2 }, { currentTime: 12, playbackRate: 1 }, 30000), 0, "already late");
  assert.equal(deadlineMs({ start: 100, duration: 2 }, { currentTime: 0, playbackRate: 1 }, 30000), 30000, "capped");
  assert.equal(deadlineMs({ start: 10, duration: 2 }, null, 30000), 2000, "no media: one fragment duration");
  assert.equal(deadlineMs({ start: NaN, duration: 4 }, { currentTime: 1 }, 30000), 4000);
});

test("deadline is capped by maxLoadTimeMs and uses the page's only media element", async () => {
  const { fLoader, bridge } = await ready((c) => c.resolve(result(bytes(10))));
  const video = { currentTime: 0, playbackRate: 1 };
  globalThis.document = { querySelectorAll: () => [video] };
  try {
    const rec = drive(fLoader, fragContext({ start: 50 }), loaderConfig({ maxLoadTimeMs: 20000 }));
    await rec.done;
    assert.equal(bridge.calls[0].req.deadlineMs, 20000);
    video.currentTime = 49;
    const rec2 = drive(fLoader, fragContext({ start: 50 }));
    await rec2.done;
    assert.equal(bridge.calls[1].req.deadlineMs, 1000);
  } finally {
    delete globalThis.document;
  }
});

test("what the engine does not own goes to the player's loader", async () => {
  assert.equal(owns(fragContext()), true);
  assert.equal(owns(fragContext({ sn: "initSegment" })), false);
  assert.equal(owns(fragContext({ type: "subtitle" })), false);
  assert.equal(owns(fragContext({ part: { index: 0 } })), false);
  assert.equal(owns(fragContext({ headers: { "CMCD-Request": "x" } })), false);
  assert.equal(owns({ url: "x", type: "manifest" }), false);
  assert.equal(owns(fragContext({ rangeStart: 10, rangeEnd: 5 })), false, "unmappable range");

  const { fLoader, bridge } = await ready((c) => c.resolve(result(bytes(10))));
  const rec = drive(fLoader, fragContext({ sn: "initSegment" }));
  await rec.done;
  only(rec, "onSuccess");
  assert.equal(bridge.calls.length, 0);
  assert.equal(FakePlayerLoader.instances.length, 1);
});

test("attach(hls): playlists give upcoming fragments, each with its deadline; hls.media gives deadlines", async () => {
  const { fLoader, bridge, a } = await ready((c) => c.resolve(result(bytes(10))));
  const handlers = {};
  const hls = {
    media: { currentTime: 9, playbackRate: 1 },
    on: (ev, fn) => (handlers[ev] = fn),
    off: (ev) => delete handlers[ev],
  };
  a.attach(hls);
  const base = "https://cdn.example/v/index.m3u8";
  // 2 s fragments: 5 starts at 10 s, 6 at 12 s, 7 at 14 s.
  const mk = (sn) => ({ sn, start: 2 * sn, duration: 2, url: `https://cdn.example/v/seg${sn}.m4s`, byteRange: [] });
  handlers.hlsLevelLoaded("hlsLevelLoaded", { details: { url: base, fragments: [4, 5, 6, 7].map(mk) } });
  const rec = drive(fLoader, fragContext({ sn: 5, start: 10, baseurl: base }));
  await rec.done;
  const req = bridge.calls[0].req;
  assert.equal(req.deadlineMs, 1000);
  // Each needed the media time between them after fragment 5 (1000 ms).
  assert.deepEqual(req.upcoming, [
    { seq: 6, url: "https://cdn.example/v/seg6.m4s", deadlineMs: 3000 },
    { seq: 7, url: "https://cdn.example/v/seg7.m4s", deadlineMs: 5000 },
  ]);
  handlers.hlsDestroying();
  assert.equal(Object.keys(handlers).length, 0, "unhooked on destroy");
});

test("live playlists: windowStart = startSN of the fragment's own playlist (attach(hls)); none for VOD or unknown", async () => {
  const { fLoader, bridge, a } = await ready((c) => c.resolve(result(bytes(10))));
  const base = "https://cdn.example/v/index.m3u8";
  const abase = "https://cdn.example/a/en.m3u8";
  const load = async (ctx) => {
    await drive(fLoader, fragContext(ctx)).done;
    return bridge.calls.at(-1).req;
  };
  // Not attached: the adapter cannot see the playlist.
  assert.equal("windowStart" in (await load({ sn: 105, baseurl: base })), false);

  const handlers = {};
  const hls = { media: null, levels: [], audioTracks: [], on: (ev, fn) => (handlers[ev] = fn), off: (ev) => delete handlers[ev] };
  a.attach(hls);
  const details = (url, startSN, live, n = 4) => ({
    url, live, startSN, endSN: startSN + n - 1,
    fragments: Array.from({ length: n }, (_, i) => ({ sn: startSN + i, url: `${url}/seg${startSN + i}.m4s`, byteRange: [] })),
  });
  handlers.hlsLevelLoaded("hlsLevelLoaded", { details: details(base, 103, true) });
  let req = await load({ sn: 105, baseurl: base });
  assert.equal(req.seq, 105);
  assert.equal(req.windowStart, 103);
  // A refresh slides the window; hls.levels[frag.level] may already hold it.
  hls.levels[0] = { details: details(base, 104, true) };
  assert.equal((await load({ sn: 105, baseurl: base, level: 0 })).windowStart, 104, "the newest of the two");
  // Another level's (or redundant stream's) playlist numbers its own segments.
  hls.levels[1] = { details: details("https://backup.example/v/index.m3u8", 900, true) };
  assert.equal((await load({ sn: 105, baseurl: base, level: 1 })).windowStart, 103, "only the fragment's own playlist");
  // Never above the fragment asked for.
  handlers.hlsLevelLoaded("hlsLevelLoaded", { details: details(base, 110, true) });
  hls.levels = [];
  assert.equal((await load({ sn: 105, baseurl: base })).windowStart, 105);
  // Alternate audio: hls.audioTracks[frag.level], its own playlist and numbering.
  hls.audioTracks[2] = { details: details(abase, 40, true) };
  req = await load({ sn: 42, type: "audio", level: 2, baseurl: abase, url: `${abase}/seg42.m4s` });
  assert.deepEqual([req.rendition, req.seq, req.windowStart], ["audio", 42, 40]);
  // The stream ends (EXT-X-ENDLIST): no more windowStart.
  handlers.hlsLevelLoaded("hlsLevelLoaded", { details: details(base, 103, false) });
  assert.equal("windowStart" in (await load({ sn: 105, baseurl: base })), false);
  // VOD.
  hls.levels[0] = { details: details(base, 0, false) };
  assert.equal("windowStart" in (await load({ sn: 2, baseurl: base, level: 0 })), false);
  a.detach();
});

test("applyTiming: cache hits report the original transfer; unknown TTFB takes a share", () => {
  const s = newLoadStats();
  applyTiming(s, 1000, { transferMs: 800, firstByteMs: 100 }, 1, 5000);
  assert.deepEqual(s.loading, { start: 4200, first: 4300, end: 5000 });
  assert.equal(s.bwEstimate, (1000 * 8000) / 700);
  const u = newLoadStats();
  applyTiming(u, 1000, { transferMs: 1000, firstByteMs: 0 }, 3, 5000);
  assert.deepEqual(u.loading, { start: 4000, first: 4100, end: 5000 });
  const w = newLoadStats();
  applyTiming(w, 1000, { transferMs: 0, firstByteMs: 0 }, 200, 5000);
  assert.deepEqual(w.loading, { start: 4800, first: 4820, end: 5000 }, "no transfer timing: wall clock");
  const z = newLoadStats();
  applyTiming(z, 1000, { transferMs: 10, firstByteMs: 50 }, 0, 5000);
  assert.ok(z.loading.first <= z.loading.end && z.loading.first >= z.loading.start);
});

test("ABR timing: a peer slower than the CDN is reported at the CDN's measured speed; nothing else changes", () => {
  const cdn = createCdnModel();
  const peer = (ms, n = 400000) => ({ transferMs: ms, firstByteMs: 80, origin: "peer", source: "peer", data: new Uint8Array(n) });
  // No CDN measurement yet: the real transfer.
  assert.deepEqual(transferTiming(peer(2000), 1, cdn), { transfer: 2000, ttfb: 80 });
  // The engine fetched a segment from the CDN: 400 kB in 100 ms after a 20 ms first byte.
  cdn.learn({ transferMs: 100, firstByteMs: 20, origin: "cdn", source: "cdn", data: new Uint8Array(400000) });
  cdn.learn({ transferMs: 5, firstByteMs: 1, origin: "peer", source: "peer", data: new Uint8Array(400000) }); // not the CDN: ignored
  assert.equal(cdn.time(400000), 100);
  // A 2 s peer transfer of 400 kB: the CDN would have taken 100 ms.
  assert.deepEqual(transferTiming(peer(2000), 1, cdn), { transfer: 100, ttfb: 20 });
  // A cache hit of a prefetched peer segment: the same.
  assert.deepEqual(transferTiming({ ...peer(2000), source: "cache" }, 1, cdn), { transfer: 100, ttfb: 20 });
  // A peer faster than the CDN, and CDN bytes: their real timing.
  assert.deepEqual(transferTiming(peer(60), 1, cdn), { transfer: 60, ttfb: 60 });
  assert.deepEqual(transferTiming({ transferMs: 900, firstByteMs: 50, origin: "cdn", source: "cdn", data: new Uint8Array(400000) }, 1, cdn), { transfer: 900, ttfb: 50 });
  // Without a model (the default), every answer keeps its real timing.
  assert.deepEqual(transferTiming(peer(2000), 1), { transfer: 2000, ttfb: 80 });
});

test("engine events reach listeners asynchronously; a throwing listener is isolated", async () => {
  const { core, bridge } = await ready();
  const got = [];
  core.on("segment", () => {
    throw new Error("listener bug");
  });
  core.on("segment", (e) => got.push(e));
  const all = [];
  core.on("*", (e) => all.push(e.type));
  const origError = console.error;
  console.error = () => {};
  try {
    bridge.onEvent({ type: "segment", time: 1, seq: 3, source: "peer", bytes: 10 });
    assert.equal(got.length, 0, "not delivered inside the engine's callback");
    await tick(0);
    assert.equal(got.length, 1);
    assert.equal(got[0].seq, 3);
    assert.deepEqual(all, ["segment"]);
  } finally {
    console.error = origError;
  }
});

test("engine options are passed through; stats merge engine counters and shim state", async () => {
  const { bridge, core } = await ready(undefined, { cacheBytes: 1 << 20, upload: false, maxPeers: 3, iceServers: [], wasmURL: "x" });
  assert.deepEqual(bridge.created, { trackers: ["ws://127.0.0.1:1/announce"], iceServers: [], cacheBytes: 1 << 20, upload: false, maxPeers: 3 });
  const s = core.stats();
  assert.equal(s.peerBytes, 50);
  assert.equal(s.ready, true);
  assert.equal(s.supported, true);
  assert.equal(s.state, "ready");
  await core.destroy();
  assert.equal(bridge.closed, true);
  assert.equal(core.stats().ready, false);
});

test("after destroy, loads go to the player's loader", async () => {
  const { core, fLoader, bridge } = await ready((c) => c.resolve(result(bytes(10))));
  await core.destroy();
  const rec = drive(fLoader, fragContext());
  await rec.done;
  only(rec, "onSuccess");
  assert.equal(bridge.calls.length, 0);
});

test("missing trackers: the engine is not started, playback stays on the CDN", async () => {
  globalThis.__nearcastWasm = fakeBridge();
  const core = createCore();
  assert.equal(await core.start({}), false);
  assert.equal(core.lastError.code, "invalid-argument");
});

test("hlsConfig needs the Hls class", () => {
  assert.throws(() => createHlsAdapter(createCore(), {}, {}), TypeError);
});
