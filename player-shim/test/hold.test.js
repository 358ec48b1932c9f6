// While the engine starts, fragment requests that the player needs later than
// the engine takes to start (and find a peer) wait for it; the rest go to the
// player's loader at once.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createCore } from "../src/core.js";
import { createHlsAdapter, createCdnModel, holdMs } from "../src/hls.js";
import { browserish, bytes, fakeBridge, result, FakePlayerLoader, FakeHls, fragContext, drive, tick } from "./helpers.js";

browserish();

beforeEach(() => {
  FakePlayerLoader.instances = [];
  FakePlayerLoader.mode = "success";
  FakePlayerLoader.size = 1000;
  delete globalThis.__nearcastWasm;
});

// starting returns an adapter on a core whose start is scheduled but not
// begun, with a media element at currentTime 0.
function starting(respond = (c) => c.resolve(result(bytes(10)))) {
  const bridge = fakeBridge({ respond });
  globalThis.__nearcastWasm = bridge;
  const core = createCore();
  const a = createHlsAdapter(core, FakeHls, {});
  a.attachMedia({ currentTime: 0, playbackRate: 1 });
  core.schedule();
  return { core, bridge, a };
}

const trackers = ["ws://127.0.0.1:1/announce"];

test("holdMs: deadline minus the CDN reserve and the peer room, bounded", () => {
  assert.equal(holdMs(4000, undefined), 4000 - 1500 - 500, "no CDN estimate: the default reserve");
  assert.equal(holdMs(3500, 100), 3500 - 600 - 500, "reserve = estimate + max(500, estimate/2)");
  assert.equal(holdMs(4000, 1200), 4000 - 1800 - 500);
  assert.equal(holdMs(60000, 100), 3000, "bounded");
  assert.ok(holdMs(800, 100) <= 0, "needed soon: no wait");
});

test("the CDN model learns time to first byte, rate and bytes per media second from player loads", () => {
  const m = createCdnModel();
  assert.equal(m.estimate(2), undefined, "nothing observed yet");
  m.observe({ loaded: 400000, loading: { start: 1000, first: 1050, end: 1250 } }, 2);
  // ttfb 50 ms, 400000 B in 200 ms = 2000 B/ms, 200000 B per media second.
  assert.equal(m.estimate(2), 50 + 400000 / 2000);
  assert.equal(m.estimate(4), 50 + 800000 / 2000);
  assert.equal(m.bytes(3), 600000);
  m.observe({ loaded: 0, loading: { start: 1, first: 1, end: 2 } }, 2); // ignored
  m.observe({ loaded: 10, loading: { start: 0, first: 0, end: 0 } }, 2); // not started: ignored
  assert.equal(m.estimate(2), 250);
});

test("a fragment needed later waits for the starting engine and loads through it", async () => {
  const { core, bridge, a } = starting();
  // A player load first: the engine request then carries the CDN estimate.
  await drive(a.fLoader, fragContext({ sn: 0, start: 0 })).done;
  assert.equal(FakePlayerLoader.instances.length, 1, "needed now: the player's loader");
  const rec = drive(a.fLoader, fragContext({ sn: 1, start: 10 }));
  await tick(20);
  assert.equal(rec.terminal.length, 0, "held while the engine starts");
  assert.equal(FakePlayerLoader.instances.length, 1);
  assert.equal(await core.start({ trackers }), true);
  await rec.done;
  assert.equal(rec.terminal.length, 1);
  assert.equal(rec.terminal[0].kind, "onSuccess");
  assert.equal(bridge.calls.length, 1, "loaded through the engine");
  assert.equal(FakePlayerLoader.instances.length, 1, "not through the player's loader");
  assert.equal(typeof bridge.calls[0].req.cdnMs, "number", "the player's CDN estimate is passed on");
  assert.equal(bridge.calls[0].req.sizeHint, 1000, "size guessed from bytes per media second (1000 B per 2 s fragment)");
  const { start, end } = rec.loader.stats.loading;
  assert.ok(start > 0 && end >= start, "timing of the real load");
  await core.destroy();
});

test("a fragment needed soon goes to the player's loader at once, even while the engine starts", async () => {
  const { core, bridge, a } = starting();
  const rec = drive(a.fLoader, fragContext({ sn: 1, start: 1 }));
  await rec.done;
  assert.equal(rec.terminal[0].kind, "onSuccess");
  assert.equal(FakePlayerLoader.instances.length, 1);
  assert.equal(bridge.calls.length, 0);
  await core.destroy();
});

test("a held fragment goes to the player's loader when the engine is not ready in time", async () => {
  const { core, bridge, a } = starting();
  // deadline 2100 ms, no CDN estimate: waits 2100 − 1500 − 500 = 100 ms.
  const t0 = performance.now();
  const rec = drive(a.fLoader, fragContext({ sn: 1, start: 2.1 }));
  await rec.done;
  const waited = performance.now() - t0;
  assert.ok(waited >= 90, `waited ${waited} ms`);
  assert.equal(rec.terminal.length, 1);
  assert.equal(rec.terminal[0].kind, "onSuccess");
  assert.equal(FakePlayerLoader.instances.length, 1);
  assert.equal(bridge.calls.length, 0);
  await core.destroy();
});

test("a held fragment goes to the player's loader at once when the engine fails to start", async () => {
  const { core, bridge, a } = starting();
  const rec = drive(a.fLoader, fragContext({ sn: 1, start: 10 }));
  await tick(5);
  const t0 = performance.now();
  assert.equal(await core.start({ trackers: [] }), false, "no trackers: the engine fails");
  await rec.done;
  assert.ok(performance.now() - t0 < 500, "not after the whole hold");
  assert.equal(rec.terminal[0].kind, "onSuccess");
  assert.equal(FakePlayerLoader.instances.length, 1);
  assert.equal(bridge.calls.length, 0);
});

test("abort while held: exactly one onAbort, and nothing loads afterwards", async () => {
  const { core, bridge, a } = starting();
  const rec = drive(a.fLoader, fragContext({ sn: 1, start: 10 }));
  await tick(5);
  rec.loader.abort();
  await rec.done;
  assert.equal(await core.start({ trackers }), true);
  await tick(5);
  assert.equal(rec.terminal.length, 1);
  assert.equal(rec.terminal[0].kind, "onAbort");
  assert.equal(bridge.calls.length, 0);
  assert.equal(FakePlayerLoader.instances.length, 0);
  await core.destroy();
});

test("an engine that is neither ready nor starting holds nothing", async () => {
  const bridge = fakeBridge();
  globalThis.__nearcastWasm = bridge;
  const core = createCore();
  const a = createHlsAdapter(core, FakeHls, {});
  a.attachMedia({ currentTime: 0, playbackRate: 1 });
  const rec = drive(a.fLoader, fragContext({ sn: 1, start: 10 }));
  await rec.done;
  assert.equal(FakePlayerLoader.instances.length, 1);
  assert.equal(core.starting, false);
});

// ranges builds a TimeRanges-like object.
const ranges = (...r) => ({ length: r.length, start: (i) => r[i][0], end: (i) => r[i][1] });

test("deadline: no later than the end of the buffer that holds currentTime", async () => {
  const { deadlineMs, bufferedAhead } = await import("../src/hls.js");
  const frag = { start: 10, duration: 2 };
  assert.equal(deadlineMs(frag, { currentTime: 4, buffered: ranges([0, 12]) }, 30000), 6000, "within the buffer: frag.start");
  assert.equal(deadlineMs(frag, { currentTime: 4, buffered: ranges([0, 6]) }, 30000), 2000, "playback stops at the buffer's end");
  assert.equal(deadlineMs(frag, { currentTime: 0, buffered: ranges() }, 30000), 0, "nothing buffered: needed now");
  assert.equal(deadlineMs({ start: 30, duration: 2 }, { currentTime: 0, buffered: ranges([30, 32]) }, 30000), 0,
    "live start: currentTime not moved to the live edge yet");
  assert.equal(bufferedAhead({ currentTime: 5, buffered: ranges([0, 2], [4.95, 9]) }), 4);
  assert.equal(bufferedAhead({ currentTime: 3 }), null);
});

test("the first fragment of a stream is never held, even far from currentTime", async () => {
  const { core, bridge, a } = starting();
  a.attachMedia({ currentTime: 0, playbackRate: 1, buffered: ranges() });
  const rec = drive(a.fLoader, fragContext({ sn: 15, start: 30 }));
  await rec.done;
  assert.equal(rec.terminal[0].kind, "onSuccess");
  assert.equal(FakePlayerLoader.instances.length, 1, "went to the player's loader at once");
  assert.equal(bridge.calls.length, 0);
  await core.destroy();
});
