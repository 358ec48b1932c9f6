import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import vm from "node:vm";
import { browserish, fakeBridge, FakeHls } from "./helpers.js";

browserish();

test("index exports hlsConfig, isSupported and nearcast; hlsConfig returns { fLoader }", async () => {
  globalThis.__nearcastWasm = fakeBridge();
  const mod = await import("../src/index.js");
  assert.equal(typeof mod.hlsConfig, "function");
  assert.equal(typeof mod.isSupported, "function");
  assert.equal(mod.isSupported(), true);
  assert.equal(mod.nearcast.nearcast, mod.nearcast);
  assert.equal(mod.nearcast.hlsConfig, mod.hlsConfig);
  const cfg = mod.hlsConfig(FakeHls, { trackers: ["ws://x/announce"] });
  assert.deepEqual(Object.keys(cfg), ["fLoader"]);
  assert.equal(await mod.nearcast.whenReady(), true);
  assert.equal(mod.nearcast.ready, true);
  const s = mod.nearcast.stats();
  for (const k of ["cdnBytes", "peerBytes", "uploadedBytes", "peers", "ready", "supported"]) assert.ok(k in s, k);
  // attach() finds the adapter from hls.config.fLoader.
  const hls = { config: { fLoader: cfg.fLoader }, media: null, on() {}, off() {} };
  assert.equal(mod.nearcast.attach(hls), hls);
  await mod.nearcast.destroy();
  assert.equal(mod.nearcast.state, "destroyed");
  delete globalThis.__nearcastWasm;
});

const iife = new URL("../dist/nearcast.js", import.meta.url);
const esm = new URL("../dist/nearcast.esm.js", import.meta.url);

test("dist/nearcast.js sets window.nearcast and resolves the WASM next to the script", { skip: !existsSync(iife) && !process.env.CI && "run npm run build first" }, async () => {
  const fetched = [];
  const ctx = {
    WebAssembly, RTCPeerConnection: class {}, WebSocket: class {}, URL, Promise, setTimeout, clearTimeout,
    queueMicrotask, performance, console,
    document: { currentScript: { src: "https://site.example/static/nearcast.js" } },
    fetch: async (u) => {
      fetched.push(String(u));
      return new Response("x", { status: 404 });
    },
    Go: class {},
  };
  ctx.globalThis = ctx;
  ctx.window = ctx;
  vm.runInNewContext(readFileSync(iife, "utf8"), ctx);
  const nc = ctx.nearcast;
  assert.equal(typeof nc.hlsConfig, "function");
  assert.equal(typeof nc.stats, "function");
  assert.equal(nc.nearcast, nc);
  nc.hlsConfig(FakeHls, { trackers: ["ws://x/announce"] });
  assert.equal(await nc.whenReady(), false);
  assert.deepEqual(fetched, ["https://site.example/static/nearcast.wasm"]);
});

test("dist/nearcast.esm.js imports and exports the API", { skip: !existsSync(esm) && !process.env.CI && "run npm run build first" }, async () => {
  const mod = await import(esm.href);
  assert.equal(typeof mod.hlsConfig, "function");
  assert.equal(typeof mod.isSupported, "function");
  assert.equal(typeof mod.nearcast.stats, "function");
  assert.equal(globalThis.nearcast, undefined, "the ESM build defines no global");
});
