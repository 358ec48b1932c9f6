import { test } from "node:test";
import assert from "node:assert/strict";
import { browserish, drive, fakeBridge, FakeHls, FakePlayerLoader, fragContext, tick } from "./helpers.js";

browserish();

// The engine starts only after the player has loaded its first fragment
// itself, so compiling the WASM does not compete with the first frame.
test("the engine starts after the player's first fragment, not at hlsConfig()", async () => {
  globalThis.__nearcastWasm = fakeBridge();
  FakePlayerLoader.instances = [];
  FakePlayerLoader.mode = "success";
  const { hlsConfig, nearcast } = await import("../src/index.js");
  const cfg = hlsConfig(FakeHls, { trackers: ["ws://x/announce"] });
  await tick(1);
  assert.equal(nearcast.state, "idle", "started before the first fragment");
  const rec = drive(cfg.fLoader, fragContext());
  await rec.done;
  assert.equal(FakePlayerLoader.instances.length, 1, "the first fragment went to the player's loader");
  await tick(1);
  assert.notEqual(nearcast.state, "idle", "not started after the first fragment");
  assert.equal(await nearcast.whenReady(), true);
  await nearcast.destroy();
  delete globalThis.__nearcastWasm;
});
