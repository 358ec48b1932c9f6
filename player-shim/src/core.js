// Package core: the player-agnostic half of the nearcast shim.
//
// It loads the Go engine compiled to WebAssembly (wasm_exec.js + nearcast.wasm),
// waits for the bridge object `globalThis.__nearcastWasm` (docs/wasm-api.md §1),
// creates one engine and exposes load / stats / events to the player adapters
// (src/hls.js today; dash.js and Shaka later). It knows nothing about players:
// adapters translate their player's requests into LoadRequests and hand anything
// the core does not own straight back to the player's own loader.
//
// Until the engine is ready — and forever when the browser lacks WebAssembly,
// RTCPeerConnection or WebSocket, or when loading the WASM fails — `ready` is
// false and adapters must delegate every request to the player's loader, so
// playback starts at once from the CDN.

/** Lifecycle states of a core. */
export const State = Object.freeze({
  IDLE: "idle", // start() not called yet
  LOADING: "loading", // fetching / instantiating the WASM
  READY: "ready", // engine created; loads may go through it
  UNSUPPORTED: "unsupported", // WebAssembly, RTCPeerConnection or WebSocket missing
  FAILED: "failed", // the WASM or the engine could not be started (see lastError)
  DESTROYED: "destroyed", // destroy() called
});

/** Error codes of the WASM bridge (docs/wasm-api.md §1) plus the shim's own. */
export const ErrorCode = Object.freeze({
  INVALID_ARGUMENT: "invalid-argument",
  CLOSED: "closed",
  CDN_FAILED: "cdn-failed",
  ABORTED: "aborted",
  UNSUPPORTED: "unsupported",
  INTERNAL: "internal",
});

const STAT_KEYS = [
  "cdnBytes", "peerBytes", "cacheBytes", "prefetchBytes", "uploadedBytes",
  "cdnSegments", "peerSegments", "cacheSegments", "peerFallbacks",
  "splicedSegments", "bannedPeers", "peers", "swarms", "uploads",
];

// How long to wait for `globalThis.__nearcastWasm` after go.run() returned. The
// contract says it exists at once; this only guards against a slow or broken build.
const BRIDGE_WAIT_MS = 5000;

/**
 * isSupported reports whether this environment can run the engine: WebAssembly,
 * RTCPeerConnection and WebSocket must all be present. It is evaluated on every
 * call, so a page that removes RTCPeerConnection before loading gets `false`.
 * @returns {boolean}
 */
export function isSupported() {
  const g = globalThis;
  return (
    typeof g.WebAssembly === "object" && g.WebAssembly !== null &&
    typeof g.WebAssembly.instantiate === "function" &&
    typeof g.RTCPeerConnection === "function" &&
    typeof g.WebSocket === "function"
  );
}

/**
 * toError turns anything thrown across the bridge into `{code, message}` with a
 * code from the closed set (house rule 7).
 * @param {unknown} e
 * @param {string} [fallbackCode]
 * @returns {{code: string, message: string}}
 */
export function toError(e, fallbackCode = ErrorCode.INTERNAL) {
  const codes = Object.values(ErrorCode);
  if (e && typeof e === "object") {
    const code = codes.includes(/** @type {any} */ (e).code) ? /** @type {any} */ (e).code : fallbackCode;
    const message = String(/** @type {any} */ (e).message ?? e);
    return { code, message };
  }
  return { code: fallbackCode, message: String(e) };
}

/**
 * createCore makes an independent core. The shim's entry point keeps one per page
 * (`nearcast`); tests make their own.
 *
 * @param {object} [env] injectable environment, for tests
 * @param {string} [env.baseURL] where nearcast.wasm and wasm_exec.js live by default
 * @param {() => number} [env.now] monotonic clock in ms (default performance.now)
 */
export function createCore(env = {}) {
  const now = env.now ?? (() => globalThis.performance.now());
  /** @type {string} */
  let state = State.IDLE;
  /** @type {{code: string, message: string} | null} */
  let lastError = null;
  /** @type {any} */
  let wasm = null;
  /** @type {number | null} */
  let handle = null;
  let version = "";
  /** @type {Promise<boolean> | null} */
  let started = null;
  /** a start is scheduled (the shim waits for the player's first fragment) */
  let scheduled = false;
  /** @type {Set<(ready: boolean) => void>} waitReady callers */
  const readyWaiters = new Set();
  /** @type {Map<string, Set<Function>>} */
  const listeners = new Map();

  function settleWaiters(ready) {
    for (const done of [...readyWaiters]) done(ready);
  }

  /** starting tells whether the engine is on its way: loading, or scheduled to. */
  function starting() {
    return state === State.LOADING || (state === State.IDLE && scheduled && isSupported());
  }

  /**
   * waitReady resolves true as soon as the engine is ready, or false after ms,
   * when it fails, or at once when it is not on its way. Never rejects.
   * @param {number} ms
   * @returns {Promise<boolean>}
   */
  function waitReady(ms) {
    if (state === State.READY) return Promise.resolve(true);
    if (!starting() || !(ms > 0)) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ready) => {
        clearTimeout(timer);
        readyWaiters.delete(done);
        resolve(ready);
      };
      const timer = setTimeout(() => done(state === State.READY), ms);
      readyWaiters.add(done);
    });
  }
  // Bytes the player's own loader fetched for fragments the adapters handed back
  // (before the engine was ready, when it is unsupported, or as a fallback). The
  // engine never sees them, so stats() adds them to its CDN counters.
  const player = { bytes: 0, segments: 0 };
  let debug = false;

  function log(...args) {
    if (debug) globalThis.console?.debug?.("[nearcast]", ...args);
  }

  function emit(ev) {
    const fns = [...(listeners.get(ev.type) ?? []), ...(listeners.get("*") ?? [])];
    for (const fn of fns) {
      try {
        fn(ev);
      } catch (err) {
        globalThis.console?.error?.("[nearcast] event listener failed", err);
      }
    }
  }

  // Events from Go are dispatched in a microtask: the engine's callback returns at
  // once and a slow listener never blocks the Go side (house rule 2).
  function onEngineEvent(ev) {
    let copy;
    try {
      copy = { ...ev };
    } catch {
      return;
    }
    queueMicrotask(() => emit(copy));
  }

  function fail(err, next = State.FAILED) {
    lastError = toError(err);
    if (state !== State.DESTROYED) state = next;
    log("engine unavailable, staying on the CDN:", lastError.message);
    settleWaiters(false);
    emit({ type: "error", time: Date.now(), code: lastError.code, error: lastError.message });
    return false;
  }

  /**
   * start loads the WASM and creates the engine, once. Later calls return the same
   * promise and ignore their options. Resolves to whether the engine is ready; never
   * rejects.
   * @param {object} options NearcastOptions (see types/nearcast.d.ts)
   * @returns {Promise<boolean>}
   */
  function start(options = {}) {
    if (started) return started;
    debug = !!options.debug;
    if (state === State.DESTROYED) {
      started = Promise.resolve(false);
      return started;
    }
    if (!isSupported()) {
      state = State.UNSUPPORTED;
      lastError = { code: ErrorCode.UNSUPPORTED, message: "WebAssembly, RTCPeerConnection or WebSocket missing" };
      log(lastError.message);
      settleWaiters(false);
      started = Promise.resolve(false);
      return started;
    }
    state = State.LOADING;
    started = boot(options).then(
      () => true,
      (err) => fail(err),
    );
    return started;
  }

  async function boot(options) {
    const trackers = Array.isArray(options.trackers) ? options.trackers.filter((t) => typeof t === "string" && t) : [];
    if (trackers.length === 0) {
      throw { code: ErrorCode.INVALID_ARGUMENT, message: "options.trackers: at least one ws:// or wss:// URL is required" };
    }
    let bridge = globalThis.__nearcastWasm;
    if (!bridge) {
      const base = options.baseURL ?? env.baseURL ?? defaultBaseURL();
      const wasmURL = resolveURL(options.wasmURL ?? "nearcast.wasm", base);
      const execURL = resolveURL(options.wasmExecURL ?? "wasm_exec.js", base);
      if (typeof globalThis.Go !== "function") await loadScript(execURL);
      if (typeof globalThis.Go !== "function") {
        throw { code: ErrorCode.INTERNAL, message: `${execURL} did not define Go` };
      }
      const go = new globalThis.Go();
      const instance = await instantiate(wasmURL, go.importObject);
      if (state === State.DESTROYED) return;
      // go.run resolves only when Go's main returns, which it never should.
      Promise.resolve(go.run(instance)).then(
        () => engineExited("the engine's main returned"),
        (err) => engineExited(toError(err).message),
      );
      bridge = await waitForBridge(BRIDGE_WAIT_MS);
    }
    if (state === State.DESTROYED) return;
    if (typeof bridge.create !== "function" || typeof bridge.load !== "function") {
      throw { code: ErrorCode.INTERNAL, message: "globalThis.__nearcastWasm is not a nearcast engine bridge" };
    }
    const engineOpts = { trackers };
    for (const k of ["iceServers", "cacheBytes", "upload", "maxPeers", "maxUploads", "uploadRate", "debug"]) {
      if (options[k] !== undefined) engineOpts[k] = options[k];
    }
    // create returns the engine handle, or an {code, message} error object
    // (a Go function cannot throw into JS).
    const h = bridge.create(engineOpts, onEngineEvent);
    if (typeof h !== "number") throw h;
    wasm = bridge;
    handle = h;
    version = String(bridge.version ?? "");
    state = State.READY;
    log("engine ready, protocol version", version);
    emit({ type: "ready", time: Date.now(), version });
    settleWaiters(true);
  }

  function engineExited(message) {
    if (state === State.READY || state === State.LOADING) {
      wasm = null;
      handle = null;
      fail({ code: ErrorCode.CLOSED, message });
    }
    // The dead engine will never settle what it was given: fail those calls
    // now so the player's own loader takes over at once.
    for (const reject of inflight) reject({ code: ErrorCode.CLOSED, message });
    inflight.clear();
  }

  /** @type {Set<(err: any) => void>} rejecters of the loads under way */
  const inflight = new Set();

  /**
   * load asks the engine for one segment. Callers must check `ready` first; when
   * the engine refuses synchronously the error is thrown as `{code, message}`.
   * @param {object} req LoadRequest
   * @returns {{promise: Promise<any>, cancel(): void}}
   */
  function load(req) {
    if (state !== State.READY || !wasm) {
      throw { code: ErrorCode.CLOSED, message: "engine not ready" };
    }
    const call = wasm.load(handle, req);
    const bare = !call || typeof call.then === "function" || !call.promise;
    // Tolerate a bridge that returns a bare promise.
    const inner = bare ? Promise.resolve(call) : call.promise;
    let reject;
    const died = new Promise((_, r) => {
      reject = r;
    });
    inflight.add(reject);
    const promise = Promise.race([inner, died]).finally(() => inflight.delete(reject));
    return { promise, cancel: bare ? () => {} : () => call.cancel() };
  }

  /** countPlayerLoad records bytes the player's own loader fetched for us. */
  function countPlayerLoad(bytes) {
    if (bytes > 0) {
      player.bytes += bytes;
      player.segments += 1;
    }
  }

  /**
   * stats returns the engine's counters (zeros until it is ready) with the player's
   * own fragment loads added to cdnBytes/cdnSegments, plus the shim's state.
   */
  function stats() {
    /** @type {Record<string, any>} */
    const out = {};
    for (const k of STAT_KEYS) out[k] = 0;
    if (state === State.READY && wasm) {
      try {
        const s = wasm.stats(handle);
        for (const k of STAT_KEYS) if (Number.isFinite(s?.[k])) out[k] = s[k];
      } catch (err) {
        log("stats failed", err);
      }
    }
    out.engineCdnBytes = out.cdnBytes;
    out.playerBytes = player.bytes;
    out.playerSegments = player.segments;
    out.cdnBytes += player.bytes;
    out.cdnSegments += player.segments;
    out.ready = state === State.READY;
    out.supported = isSupported();
    out.state = state;
    out.version = version;
    out.error = lastError;
    return out;
  }

  function on(type, fn) {
    if (typeof fn !== "function") return;
    if (!listeners.has(type)) listeners.set(type, new Set());
    listeners.get(type).add(fn);
  }

  function off(type, fn) {
    listeners.get(type)?.delete(fn);
  }

  /** destroy closes the engine; afterwards every load goes to the player's loader. */
  async function destroy() {
    const w = wasm;
    const h = handle;
    state = State.DESTROYED;
    wasm = null;
    handle = null;
    listeners.clear();
    settleWaiters(false);
    if (w && h !== null) {
      try {
        await w.close(h);
      } catch (err) {
        log("close failed", err);
      }
    }
  }

  return {
    start,
    /** schedule marks that start() will be called (see index.js scheduleStart). */
    schedule() {
      scheduled = true;
    },
    get starting() {
      return starting();
    },
    waitReady,
    load,
    stats,
    on,
    off,
    emit,
    destroy,
    countPlayerLoad,
    now,
    log,
    get ready() {
      return state === State.READY;
    },
    get state() {
      return state;
    },
    get version() {
      return version;
    },
    get lastError() {
      return lastError;
    },
  };
}

// ---- loading the WASM -------------------------------------------------------

let moduleBaseURL = "";

/** setModuleBaseURL records where the shim itself was loaded from (index.js). */
export function setModuleBaseURL(url) {
  if (typeof url === "string" && url) moduleBaseURL = url;
}

function defaultBaseURL() {
  if (moduleBaseURL) return moduleBaseURL;
  const href = globalThis.location?.href;
  return href ? new URL("/nearcast/", href).href : "/nearcast/";
}

function resolveURL(url, base) {
  try {
    return new URL(url, base).href;
  } catch {
    return url;
  }
}

function loadScript(url) {
  const doc = globalThis.document;
  if (!doc?.createElement) {
    return Promise.reject({ code: ErrorCode.UNSUPPORTED, message: `no document to load ${url}` });
  }
  return new Promise((resolve, reject) => {
    const s = doc.createElement("script");
    s.src = url;
    s.async = true;
    s.onload = () => resolve();
    s.onerror = () => reject({ code: ErrorCode.INTERNAL, message: `failed to load ${url}` });
    (doc.head ?? doc.documentElement).appendChild(s);
  });
}

async function instantiate(url, importObject) {
  const WA = globalThis.WebAssembly;
  if (typeof WA.instantiateStreaming === "function") {
    try {
      const { instance } = await WA.instantiateStreaming(fetchOK(url), importObject);
      return instance;
    } catch (err) {
      // Usually a server that does not send Content-Type: application/wasm;
      // retry through an ArrayBuffer below.
      if (err && err.code === ErrorCode.CDN_FAILED) throw err;
    }
  }
  const resp = await fetchOK(url);
  const { instance } = await WA.instantiate(await resp.arrayBuffer(), importObject);
  return instance;
}

async function fetchOK(url) {
  const resp = await globalThis.fetch(url, { credentials: "same-origin" });
  if (!resp.ok) throw { code: ErrorCode.CDN_FAILED, message: `${url}: HTTP ${resp.status}` };
  return resp;
}

async function waitForBridge(ms) {
  const until = Date.now() + ms;
  for (;;) {
    const b = globalThis.__nearcastWasm;
    if (b) return b;
    if (Date.now() >= until) {
      throw { code: ErrorCode.INTERNAL, message: "the WASM did not install globalThis.__nearcastWasm" };
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
