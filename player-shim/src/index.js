// nearcast player shim: entry point.
//
// ESM:   import { hlsConfig, isSupported, nearcast } from "/nearcast/nearcast.esm.js";
// Script tag (dist/nearcast.js): window.nearcast holds the same API, e.g.
//        const { hlsConfig, isSupported, nearcast } = window.nearcast;
//        or simply nearcast.hlsConfig(...), nearcast.stats().
//
// One engine per page: the first hlsConfig() call starts it with its options.

import { createCore, isSupported, setModuleBaseURL, State } from "./core.js";
import { createHlsAdapter } from "./hls.js";

// build.mjs defines this as "esm" or "iife"; unbundled (tests) it is undefined.
const FORMAT = globalThis.__NEARCAST_FORMAT__ === "iife" ? "iife" : "esm";

// Where nearcast.wasm and wasm_exec.js are by default: next to this file.
if (FORMAT === "iife") {
  setModuleBaseURL(globalThis.document?.currentScript?.src ?? "");
} else {
  setModuleBaseURL(import.meta.url);
}

const core = createCore();
/** @type {Map<Function, ReturnType<typeof createHlsAdapter>>} fLoader class → adapter */
const adapters = new Map();
/** @type {ReturnType<typeof createHlsAdapter> | null} */
let lastAdapter = null;
/** @type {any} set by nearcast.attachMedia(); applies to later hlsConfig() calls too */
let media = null;

/**
 * hlsConfig returns the hls.js config fragment `{ fLoader }` and starts the engine
 * (once per page). Spread it into the Hls config:
 *   new Hls({ ...hlsConfig(Hls, { trackers: ["wss://host/announce"] }), maxBufferLength: 8 })
 * @param {any} Hls the hls.js class
 * @param {import("../types/nearcast").NearcastOptions} options
 */
export function hlsConfig(Hls, options = {}) {
  const a = createHlsAdapter(core, Hls, options);
  if (media) a.attachMedia(media);
  adapters.set(a.fLoader, a);
  lastAdapter = a;
  scheduleStart(options);
  return { fLoader: a.fLoader };
}

/** How long the engine's start waits at most for the player's first fragment. */
const START_FALLBACK_MS = 3000;

/** @type {(() => void) | null} starts the engine now, once scheduled */
let startNow = null;

/**
 * scheduleStart starts the engine once the player has loaded its first fragment
 * itself and, when the media element is known, shown its first frame (or after
 * START_FALLBACK_MS, or at once with options.startDelay === 0): compiling the
 * WASM must not compete with the first frame, which comes from the CDN anyway.
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
    const el = media ?? lastAdapter?.media ?? globalThis.document?.querySelector?.("video, audio");
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
  /** Use this media element for deadlines (instead of the page's only <video>). */
  attachMedia(el) {
    media = el ?? null;
    lastAdapter?.attachMedia(media);
  },
  /** Close the engine; later fragment loads go to the player's own loader. */
  destroy() {
    for (const a of adapters.values()) a.detach();
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
// So that `const { hlsConfig, isSupported, nearcast } = window.nearcast` works too.
nearcast.nearcast = nearcast;

export { isSupported };
export default nearcast;

if (FORMAT === "iife") globalThis.nearcast = nearcast;
