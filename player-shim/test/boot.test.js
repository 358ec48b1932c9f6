// Loading the WASM: fetch + instantiateStreaming (with the arrayBuffer fallback),
// go.run, waiting for globalThis.__nearcastWasm — with a fake Go and fetch.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createCore } from "../src/core.js";
import { createHlsAdapter } from "../src/hls.js";
import { browserish, bytes, fakeBridge, result, FakePlayerLoader, FakeHls, fragContext, drive, tick } from "./helpers.js";

browserish();
// The smallest valid WebAssembly module: magic + version.
const EMPTY_WASM = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
const realFetch = globalThis.fetch;
let fetched;

function serve({ status = 200, type = "application/wasm" } = {}) {
  fetched = [];
  globalThis.fetch = async (url) => {
    fetched.push(String(url));
    return new Response(status === 200 ? EMPTY_WASM : "nope", { status, headers: { "Content-Type": type } });
  };
}

// FakeGo installs the bridge some time after run(), like a slow main().
function fakeGo({ delay = 30, bridge = fakeBridge({ respond: (c) => c.resolve(result(bytes(64))) }), exit } = {}) {
  globalThis.Go = class {
    constructor() {
      this.importObject = {};
    }
    run(instance) {
      assert.ok(instance instanceof WebAssembly.Instance);
      setTimeout(() => (globalThis.__nearcastWasm = bridge), delay);
      return exit ?? new Promise(() => {});
    }
  };
  return bridge;
}

beforeEach(() => {
  FakePlayerLoader.instances = [];
  FakePlayerLoader.mode = "success";
  delete globalThis.__nearcastWasm;
  delete globalThis.Go;
});
afterEach(() => {
  globalThis.fetch = realFetch;
});

test("boot: instantiateStreaming, go.run, wait for the bridge; loads delegate until ready", async () => {
  serve();
  const bridge = fakeGo();
  const core = createCore({ baseURL: "https://site.example/nearcast/" });
  const a = createHlsAdapter(core, FakeHls, {});
  const started = core.start({ trackers: ["ws://x/announce"] });
  assert.equal(core.state, "loading");
  const rec = drive(a.fLoader, fragContext());
  await rec.done;
  assert.equal(rec.terminal[0].kind, "onSuccess");
  assert.equal(FakePlayerLoader.instances.length, 1, "while loading: the player's loader");
  assert.equal(await started, true);
  assert.deepEqual(fetched, ["https://site.example/nearcast/nearcast.wasm"]);
  const rec2 = drive(a.fLoader, fragContext());
  await rec2.done;
  assert.equal(rec2.terminal[0].kind, "onSuccess");
  assert.equal(bridge.calls.length, 1, "once ready: the engine");
  assert.equal(rec2.terminal[0].args[0].data.byteLength, 64);
});

test("boot: a wrong Content-Type falls back to instantiate(arrayBuffer)", async () => {
  serve({ type: "application/octet-stream" });
  fakeGo({ delay: 0 });
  const core = createCore();
  assert.equal(await core.start({ trackers: ["ws://x/announce"], wasmURL: "https://cdn.example/e.wasm" }), true);
  assert.deepEqual(fetched, ["https://cdn.example/e.wasm", "https://cdn.example/e.wasm"]);
});

test("boot: an HTTP error leaves the shim on the CDN", async () => {
  serve({ status: 404 });
  fakeGo();
  const core = createCore({ baseURL: "https://site.example/nearcast/" });
  const a = createHlsAdapter(core, FakeHls, {});
  assert.equal(await core.start({ trackers: ["ws://x/announce"] }), false);
  assert.equal(core.state, "failed");
  assert.equal(core.lastError.code, "cdn-failed");
  const rec = drive(a.fLoader, fragContext());
  await rec.done;
  assert.equal(FakePlayerLoader.instances.length, 1);
});

test("boot: if Go's main exits, the engine is gone and loads go to the player", async () => {
  serve();
  let exit;
  fakeGo({ delay: 0, exit: new Promise((r) => (exit = r)) });
  const core = createCore();
  const a = createHlsAdapter(core, FakeHls, {});
  assert.equal(await core.start({ trackers: ["ws://x/announce"] }), true);
  exit();
  await tick(1);
  assert.equal(core.state, "failed");
  assert.equal(core.lastError.code, "closed");
  const rec = drive(a.fLoader, fragContext());
  await rec.done;
  assert.equal(FakePlayerLoader.instances.length, 1);
});

test("boot: a load under way when Go's main exits goes to the player at once", async () => {
  serve();
  let exit;
  // An engine that never answers: only the exit can end the load.
  fakeGo({ delay: 0, bridge: fakeBridge({ respond: () => {} }), exit: new Promise((r) => (exit = r)) });
  const core = createCore();
  const a = createHlsAdapter(core, FakeHls, {});
  assert.equal(await core.start({ trackers: ["ws://x/announce"] }), true);
  const rec = drive(a.fLoader, fragContext());
  await tick(1);
  assert.equal(FakePlayerLoader.instances.length, 0, "the engine had the load");
  exit();
  await rec.done;
  assert.equal(FakePlayerLoader.instances.length, 1, "the player's loader took over");
  assert.equal(rec.terminal.length, 1);
});

test("boot: the engine's create() refusing is a failure, not a crash", async () => {
  const bridge = fakeBridge();
  bridge.create = () => {
    throw { code: "invalid-argument", message: "bad tracker" };
  };
  globalThis.__nearcastWasm = bridge;
  const core = createCore();
  assert.equal(await core.start({ trackers: ["http://not-ws"] }), false);
  assert.deepEqual(core.lastError, { code: "invalid-argument", message: "bad tracker" });
});
