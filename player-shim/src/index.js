// nearcast player shim: entry point.
//
// ESM:   import { hlsConfig, attachDashjs, attachShaka, isSupported, nearcast } from "/nearcast/nearcast.esm.js";
// Script tag (dist/nearcast.js): window.nearcast holds the same API, e.g.
//        const { hlsConfig, isSupported, nearcast } = window.nearcast;
//        or simply nearcast.hlsConfig(...), nearcast.attachDashjs(...), nearcast.stats().
//
// One engine per page: the first hlsConfig(), attachDashjs() or attachShaka()
// call schedules it with its options.

import { createCore, isSupported, setModuleBaseURL, State } from "./core.js";
import { createHlsAdapter } from "./hls.js";
import { createDashjsAdapter } from "./dashjs.js";
import { createShakaAdapter } from "./shaka.js";

// build.mjs defines this as "esm" or "iife"; unbundled (tests) it is undefined.
const FORMAT = globalThis.__NEARCAST_FORMAT__ === "iife" ? "iife" : "esm";

// Where nearcast.wasm and wasm_exec.js are by default: next to this file.
if (FORMAT === "iife") {
  setModuleBaseURL(globalThis.document?.currentScript?.src ?? "");
} else {
  setModuleBaseURL(import.meta.url);
}

const core = createCore();
/** @type {Map<Function, ReturnType<typeof createHlsAdapter>>} fLoader class → hls.js adapter */
const adapters = new Map();
/** @type {ReturnType<typeof createHlsAdapter> | null} */
let lastAdapter = null;
/**
 * Every adapter of the page (hls.js, dash.js, Shaka), in attach order: each has
 * findMedia(), attachMedia(el) and detach().
 * @type {Set<{findMedia(): any, attachMedia(el: any): void, detach(): void}>}
 */
const attached = new Set();
/** @type {any} the adapter attached last */
let lastAttached = null;
/** @type {any} set by nearcast.attachMedia(); applies to later adapters too */
let media = null;

function track(a) {
  if (media) a.attachMedia(media);
  attached.add(a);
  lastAttached = a;
}

function untrack(a) {
  attached.delete(a);
  if (lastAttached === a) lastAttached = [...attached].pop() ?? null;
}

/**
 * hlsConfig returns the hls.js config fragment `{ fLoader }` and starts the engine
 * (once per page). Spread it into the Hls config:
 *   new Hls({ ...hlsConfig(Hls, { trackers: ["wss://host/announce"] }), maxBufferLength: 8 })
 * @param {any} Hls the hls.js class
 * @param {import("../types/nearcast").NearcastOptions} options
 */
export function hlsConfig(Hls, options = {}) {
  const a = createHlsAdapter(core, Hls, options);
  track(a);
  adapters.set(a.fLoader, a);
  lastAdapter = a;
  scheduleStart(options);
  return { fLoader: a.fLoader };
}

/**
 * attachDashjs plugs the engine into a dash.js 5 MediaPlayer and starts the
 * engine (once per page). Call it before player.initialize(video, url, autoplay):
 * dash.js applies MediaPlayer.extend() to the loaders it creates afterwards.
 *   const player = dashjs.MediaPlayer().create();
 *   attachDashjs(dashjs, player, { trackers: ["wss://host/announce"] });
 *   player.initialize(video, url, true);
 * @param {any} dashjs the dash.js namespace
 * @param {any} player dashjs.MediaPlayer().create()
 * @param {import("../types/nearcast").NearcastOptions} options
 * @returns {{detach(): void}}
 */
export function attachDashjs(dashjs, player, options = {}) {
  const a = createDashjsAdapter(core, dashjs, player, options);
  track(a);
  scheduleStart(options);
  return handle(a);
}

/**
 * attachShaka plugs the engine into a shaka.Player (DASH and HLS content) and
 * starts the engine (once per page). Call it before player.load(url).
 *   const player = new shaka.Player();
 *   await player.attach(video);
 *   attachShaka(shaka, player, { trackers: ["wss://host/announce"] });
 *   await player.load(url);
 * @param {any} shaka the Shaka Player namespace
 * @param {any} player a shaka.Player
 * @param {import("../types/nearcast").NearcastOptions} options
 * @returns {{detach(): void}}
 */
export function attachShaka(shaka, player, options = {}) {
  const a = createShakaAdapter(core, shaka, player, options);
  track(a);
  scheduleStart(options);
  return handle(a);
}

function handle(a) {
  return {
    detach() {
      a.detach();
      untrack(a);
    },
  };
}

/** How long the engine's start waits at most for the player's first fragment. */
const START_FALLBACK_MS = 3000;

/** @type {(() => void) | null} starts the engine now, once scheduled */
let startNow = null;

/**
 * scheduleStart starts the engine once the player has loaded its first segment
 * itself and, when the media element is known, shown its first frame (or after
 * START_FALLBACK_MS, or at once with options.startDelay === 0): compiling the
 * WASM must not compete with the first frame, which comes from the CDN anyway.
 * Any adapter triggers it: each emits "player-segment" for the segments its
 * player's own loader fetched, and tells its media element (findMedia).
 */
function scheduleStart(options) {
  if (startNow) return;
  let timer = null;
  const first = () => startNow?.();
  startNow = () => {
    clearTimeout(timer);
    core.off("player-segment", first);
    startNow = () => {};
    core.start(options);
  };
  if (options.startDelay === 0) {
    startNow();
    return;
  }
  core.schedule();
  // After the first fragment, wait for the first frame too when the media
  // element is known and has not got enough data to play yet (readyState
  // below HAVE_FUTURE_DATA; an autoplaying element is already un-paused then).
  const afterFirstFragment = () => {
    core.off("player-segment", afterFirstFragment);
    const el = media ?? lastAttached?.findMedia?.() ?? globalThis.document?.querySelector?.("video, audio");
    if (el && typeof el.addEventListener === "function" && !(el.readyState >= 3)) {
      el.addEventListener("playing", first, { once: true });
      return;
    }
    first();
  };
  core.on("player-segment", afterFirstFragment);
  timer = setTimeout(first, START_FALLBACK_MS);
}

function adapterFor(hls) {
  return adapters.get(hls?.config?.fLoader) ?? lastAdapter;
}

export const nearcast = {
  hlsConfig,
  attachDashjs,
  attachShaka,
  isSupported,
  /** Engine counters plus `{ready, supported, state}`; player loads count as CDN. */
  stats: () => core.stats(),
  /** Subscribe to engine events ("segment", "peer-connected", …, "*" for all). */
  on: (type, fn) => core.on(type, fn),
  off: (type, fn) => core.off(type, fn),
  /**
   * Bind an Hls instance (optional but recommended): its media element gives
   * deadlines and its playlists give `upcoming` prefetch hints.
   */
  attach(hls) {
    adapterFor(hls)?.attach(hls);
    return hls;
  },
  /** Use this media element for deadlines (instead of the player's or the page's only one). */
  attachMedia(el) {
    media = el ?? null;
    lastAttached?.attachMedia(media);
  },
  /** Close the engine and detach every adapter; later loads go to the players' own loaders. */
  destroy() {
    for (const a of [...attached]) {
      a.detach();
      untrack(a);
    }
    return core.destroy();
  },
  /**
   * Resolves when the engine is ready (true) or unavailable (false). A start that
   * is still waiting for the player's first fragment begins now.
   */
  whenReady: () => {
    startNow?.();
    return core.state === State.IDLE ? Promise.resolve(false) : core.start();
  },
  get ready() {
    return core.ready;
  },
  get state() {
    return core.state;
  },
  get version() {
    return core.version;
  },
};
// So that `const { hlsConfig, attachDashjs, isSupported, nearcast } = window.nearcast` works too.
nearcast.nearcast = nearcast;

export { isSupported };
export default nearcast;

if (FORMAT === "iife") globalThis.nearcast = nearcast;
