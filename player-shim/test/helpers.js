// Test fakes: a WASM bridge (globalThis.__nearcastWasm), an hls.js-like player
// loader, and an hls.js-style driver that uses a loader the way hls.js's
// FragmentLoader does.

/** Makes the environment look like a WebRTC-capable browser to isSupported(). */
export function browserish() {
  globalThis.RTCPeerConnection ??= class RTCPeerConnection {};
  globalThis.WebSocket ??= class WebSocket {};
}

export function bytes(n, fill = 7) {
  return new Uint8Array(n).fill(fill);
}

/**
 * fakeBridge returns a fake engine bridge. `respond(call)` decides each load:
 * call.resolve(result) / call.reject(err) now or later; default: never settles.
 */
export function fakeBridge({ respond } = {}) {
  const calls = [];
  const bridge = {
    version: "1",
    calls,
    created: null,
    onEvent: null,
    closed: false,
    create(opts, onEvent) {
      bridge.created = opts;
      bridge.onEvent = onEvent;
      return 7;
    },
    load(handle, req) {
      if (handle !== 7) throw { code: "invalid-argument", message: "bad handle" };
      let resolve, reject;
      const promise = new Promise((a, b) => {
        resolve = a;
        reject = b;
      });
      const call = {
        req,
        cancelled: false,
        settled: false,
        resolve(v) {
          if (!call.settled) {
            call.settled = true;
            resolve(v);
          }
        },
        reject(e) {
          if (!call.settled) {
            call.settled = true;
            reject(e);
          }
        },
      };
      calls.push(call);
      respond?.(call);
      return {
        promise,
        cancel() {
          call.cancelled = true;
          call.reject({ code: "aborted", message: "aborted" });
        },
      };
    },
    stats() {
      return { cdnBytes: 100, peerBytes: 50, cacheBytes: 0, prefetchBytes: 0, uploadedBytes: 3, cdnSegments: 1, peerSegments: 1, cacheSegments: 0, peerFallbacks: 0, splicedSegments: 0, bannedPeers: 0, peers: 2, swarms: 1, uploads: 0 };
    },
    async close() {
      bridge.closed = true;
    },
  };
  return bridge;
}

export function result(data, extra = {}) {
  return { data, source: "peer", origin: "peer", peer: "ab", durationMs: 5, transferMs: 400, firstByteMs: 50, ...extra };
}

/**
 * FakePlayerLoader mimics hls.js's BaseLoader-based loaders: stats made in the
 * constructor, "used once" check, onAbort from abort(). Each instance settles per
 * FakePlayerLoader.mode: "success" (async, fresh bytes), "error", "manual".
 */
export class FakePlayerLoader {
  static instances = [];
  static mode = "success";
  static size = 1000;
  constructor(config) {
    this.config = config;
    this.stats = newStats();
    this.context = null;
    this.callbacks = null;
    this.destroyed = false;
    FakePlayerLoader.instances.push(this);
  }
  load(context, config, callbacks) {
    if (this.stats.loading.start) throw new Error("Loader can only be used once.");
    this.stats.loading.start = performance.now();
    this.context = context;
    this.loaderConfig = config;
    this.callbacks = callbacks;
    if (FakePlayerLoader.mode === "success") setTimeout(() => this.succeed(), 1);
    if (FakePlayerLoader.mode === "error") setTimeout(() => this.fail(), 1);
  }
  succeed(n = FakePlayerLoader.size) {
    if (!this.callbacks || this.stats.aborted) return;
    const s = this.stats;
    s.loading.first = Math.max(performance.now(), s.loading.start);
    s.loading.end = Math.max(performance.now(), s.loading.first);
    const data = new Uint8Array(n).fill(1).buffer;
    s.loaded = s.total = n;
    this.callbacks.onProgress?.(s, this.context, data, null);
    this.callbacks.onSuccess({ url: this.context.url, data, code: 200 }, s, this.context, null);
  }
  fail() {
    this.callbacks?.onError({ code: 500, text: "boom" }, this.context, null, this.stats);
  }
  abort() {
    this.stats.aborted = true;
    this.callbacks?.onAbort?.(this.stats, this.context, null);
  }
  destroy() {
    this.destroyed = true;
    this.callbacks = null;
  }
}

export function newStats() {
  return {
    aborted: false, loaded: 0, retry: 0, total: 0, chunkCount: 0, bwEstimate: 0,
    loading: { start: 0, first: 0, end: 0 },
    parsing: { start: 0, end: 0 },
    buffering: { start: 0, first: 0, end: 0 },
  };
}

export const FakeHls = {
  DefaultConfig: { loader: FakePlayerLoader },
  Events: { LEVEL_LOADED: "hlsLevelLoaded", AUDIO_TRACK_LOADED: "hlsAudioTrackLoaded", DESTROYING: "hlsDestroying" },
};

export function loaderConfig(policy = {}) {
  const loadPolicy = { maxTimeToFirstByteMs: 10000, maxLoadTimeMs: 120000, timeoutRetry: null, errorRetry: null, ...policy };
  return { loadPolicy, timeout: loadPolicy.maxLoadTimeMs, maxRetry: 0, retryDelay: 0, maxRetryDelay: 0, highWaterMark: 131072 };
}

export function fragContext({
  sn = 5, type = "main", start = 10, duration = 2, level = 0,
  url = "https://cdn.example/v/seg5.m4s", baseurl = "https://cdn.example/v/index.m3u8",
  rangeStart = 0, rangeEnd = 0, part = null, headers = {},
} = {}) {
  return {
    type: "media-fragment", url, responseType: "arraybuffer", headers, rangeStart, rangeEnd,
    frag: { sn, type, start, duration, level, baseurl, stats: newStats() },
    part,
  };
}

/**
 * drive uses a loader class like hls.js's FragmentLoader: builds it, copies
 * frag.stats.retry, takes its stats object as frag.stats, loads, and destroys it
 * in the terminal callback. Returns a record of what happened.
 */
export function drive(Loader, context, cfg = loaderConfig(), { withAbort = true, withProgress = false, hlsConfig } = {}) {
  const loader = new Loader(hlsConfig ?? { loader: FakePlayerLoader });
  loader.stats.retry = context.frag.stats.retry;
  context.frag.stats = loader.stats;
  const statsAtStart = loader.stats;
  const rec = { loader, terminal: [], progress: [], statsAtStart, done: null };
  let finish;
  rec.done = new Promise((r) => (finish = r));
  const term = (kind) => (...args) => {
    rec.terminal.push({ kind, args });
    loader.destroy(); // hls.js resetLoader() destroys inside the callback
    finish(rec);
  };
  const callbacks = {
    onSuccess: term("onSuccess"),
    onError: term("onError"),
    onTimeout: term("onTimeout"),
  };
  if (withAbort) callbacks.onAbort = term("onAbort");
  if (withProgress) callbacks.onProgress = (stats, ctx, data) => rec.progress.push({ stats, data, len: data.byteLength });
  loader.load(context, cfg, callbacks);
  return rec;
}

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
