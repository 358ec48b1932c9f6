// Package hls: the hls.js adapter of the nearcast shim.
//
// hlsConfig(Hls, options) returns `{ fLoader }`, a fragment loader class for
// hls.js ≥ 1.5 (tested with 1.7). Playlists, keys and everything else stay with
// hls.js. The class follows hls.js's Loader interface (src/types/loader.ts and its
// own XhrLoader/FetchLoader):
//
//   - one instance per request; `stats` is created in the constructor (hls.js reads
//     `loader.stats` before calling load() and keeps it as `frag.stats`) and only
//     ever mutated in place;
//   - exactly one terminal callback per load: onSuccess, onError, onTimeout or
//     onAbort (abort() calls onAbort itself, like hls.js's BaseLoader);
//   - `context.rangeEnd` is EXCLUSIVE (hls.js sends `Range: bytes=start-(end-1)`);
//     a rangeEnd of 0 means the whole resource;
//   - each success hands hls.js a fresh ArrayBuffer that nothing here keeps:
//     hls.min.js transfers it to its transmux worker, which detaches it.
//
// Requests the engine does not own (engine not ready or unsupported, init
// segments, LL-HLS parts, subtitles, requests with custom headers) go straight to
// the player's own loader — `config.loader` of the Hls instance (XhrLoader, or
// FetchLoader in progressive mode, or the page's custom loader), else
// `Hls.DefaultConfig.loader`. When the engine fails a request it owned, that
// request is retried once through the player's loader instead of erroring.
//
// This file imports only the core and the shared helpers (common.js): adapters
// never import each other.

import { ErrorCode, toError } from "./core.js";
import {
  DEFAULT_MAX_DEADLINE_MS, finite, transferTiming, engineBytes, freshBuffer, createCdnModel, holdMs,
  deadlineMs, laterDeadlineMs, pageMedia, pathOf, safeCancel,
} from "./common.js";

// Shared with the other adapters; re-exported for the hls.js adapter's callers.
export { createCdnModel, holdMs, deadlineMs, bufferedAhead } from "./common.js";

// How many following fragments to announce as `upcoming`.
const UPCOMING = 4;
// Bound on remembered playlists (live streams refresh details; keys are URLs).
const MAX_PLAYLISTS = 32;

/**
 * newLoadStats returns an object of hls.js's LoadStats shape.
 * @returns {import("../types/nearcast").LoaderStats}
 */
export function newLoadStats() {
  return {
    aborted: false,
    loaded: 0,
    retry: 0,
    total: 0,
    chunkCount: 0,
    bwEstimate: 0,
    loading: { start: 0, first: 0, end: 0 },
    parsing: { start: 0, end: 0 },
    buffering: { start: 0, first: 0, end: 0 },
  };
}

function resetLoading(stats) {
  stats.aborted = false;
  stats.loaded = 0;
  stats.total = 0;
  stats.bwEstimate = 0;
  stats.loading.start = 0;
  stats.loading.first = 0;
  stats.loading.end = 0;
}

// copyStats copies a foreign loader's stats into ours (for custom loaders whose
// `stats` cannot be replaced by ours).
function copyStats(dst, src) {
  if (!src || src === dst) return;
  for (const k of ["aborted", "loaded", "retry", "total", "chunkCount", "bwEstimate"]) {
    if (src[k] !== undefined) dst[k] = src[k];
  }
  for (const part of ["loading", "parsing", "buffering"]) {
    if (src[part]) Object.assign(dst[part], src[part]);
  }
}

/**
 * applyTiming fills stats.loading and the byte counters for a successful engine
 * load so that hls.js's bandwidth estimator sees the REAL transfer, not the time
 * the engine call took.
 *
 * hls.js's AbrController samples bandwidth as
 *     stats.loaded / (parsing.end − loading.start − min(loading.first − loading.start, estTTFB))
 * and TTFB as loading.first − loading.start. A cache hit returns in ~1 ms and a
 * peer transfer may start after the engine waited for the deadline slack, so
 * wall-clock timing would report absurd bandwidth (or none). We therefore end the
 * load now and backdate the rest by what the engine measured for the bytes
 * (for cache hits: the original transfer):
 *     loading.end   = now
 *     loading.start = now − transfer                 (transfer = transferMs, or wall time if unknown)
 *     loading.first = loading.start + ttfb           (ttfb = firstByteMs, or TTFB_SHARE·transfer if unknown; ≤ transfer)
 *     bwEstimate    = bytes·8000 / (end − first)     (as hls.js's XhrLoader computes it)
 * so first − start = ttfb and end − first = transfer − ttfb, and
 * start ≤ first ≤ end always holds.
 */
export function applyTiming(stats, bytes, result, wallMs, now, cdn) {
  const { transfer, ttfb } = transferTiming(result, wallMs, cdn);
  stats.loading.end = now;
  // now − transfer ≥ 0 for any transfer made by this page; the floor only guards
  // against bogus engine numbers (a zero start would read as "not started").
  stats.loading.start = Math.max(0.001, now - transfer);
  stats.loading.first = Math.min(now, stats.loading.start + ttfb);
  stats.loaded = stats.total = bytes;
  const streaming = stats.loading.end - stats.loading.first;
  stats.bwEstimate = streaming > 0 ? (bytes * 8000) / streaming : 0;
}

/**
 * rangeOf maps an hls.js LoaderContext's byte range to the engine's convention.
 * Both use an EXCLUSIVE end; a falsy rangeEnd means the whole resource (hls.js
 * sends no Range header then, whatever rangeStart says).
 * @returns {{start: number, end: number} | null}
 */
export function rangeOf(context) {
  const end = context.rangeEnd;
  if (!end) return null;
  const start = context.rangeStart || 0;
  if (!finite(start) || !finite(end) || start < 0 || end <= start) return null;
  return { start, end };
}

function hasHeaders(context) {
  const h = context.headers;
  if (!h) return false;
  for (const _ in h) return true;
  return false;
}

/**
 * owns tells whether the engine should load this request: numeric-sequence media
 * fragments of the main or audio rendition, whole (not LL-HLS parts), without
 * custom headers.
 */
export function owns(context) {
  const frag = context?.frag;
  if (!frag || context.part) return false;
  if (context.type && context.type !== "media-fragment") return false;
  if (context.responseType && context.responseType !== "arraybuffer") return false;
  if (typeof frag.sn !== "number" || !Number.isFinite(frag.sn)) return false;
  if (frag.type !== "main" && frag.type !== "audio") return false;
  if (!context.url || hasHeaders(context)) return false;
  if (context.rangeEnd && !rangeOf(context)) return false; // a range we cannot map
  return true;
}

/**
 * createHlsAdapter builds the hls.js adapter on a core.
 * @param {ReturnType<import("./core.js").createCore>} core
 * @param {any} Hls the hls.js class (its DefaultConfig.loader is the fallback loader)
 * @param {import("../types/nearcast").NearcastOptions} options
 */
export function createHlsAdapter(core, Hls, options = {}) {
  const defaultLoader = Hls?.DefaultConfig?.loader;
  if (typeof defaultLoader !== "function") {
    throw new TypeError("nearcast: hlsConfig(Hls, options) needs the hls.js class (Hls.DefaultConfig.loader)");
  }
  const maxDeadline = finite(options.maxDeadlineMs) && options.maxDeadlineMs >= 0 ? options.maxDeadlineMs : DEFAULT_MAX_DEADLINE_MS;
  const swarmId = typeof options.swarmId === "string" && options.swarmId ? options.swarmId : "";
  const Events = Hls.Events ?? {};

  /** Per-adapter state: the media element and playlists it can see. */
  const adapter = {
    /** @type {any} */ media: null,
    /** @type {any} */ hls: null,
    /** @type {Map<string, any>} playlist URL → hls.js LevelDetails */
    playlists: new Map(),
    /** @type {Function[]} */ unhook: [],
    cdn: createCdnModel(),
  };

  function findMedia() {
    if (adapter.media) return adapter.media;
    if (adapter.hls?.media) return adapter.hls.media;
    return pageMedia();
  }

  function rememberDetails(details) {
    const url = details?.url;
    if (!url || !Array.isArray(details.fragments)) return;
    adapter.playlists.delete(url);
    adapter.playlists.set(url, details);
    if (adapter.playlists.size > MAX_PLAYLISTS) {
      adapter.playlists.delete(adapter.playlists.keys().next().value);
    }
  }

  /**
   * upcomingOf lists the fragments after frag in its playlist, each with its
   * deadline: frag's (baseMs) plus the media time between them.
   */
  function upcomingOf(frag, baseMs) {
    let details = adapter.playlists.get(frag.baseurl);
    if (!details && frag.type === "main") details = adapter.hls?.levels?.[frag.level]?.details;
    const frags = details?.fragments;
    if (!Array.isArray(frags) || !frags.length) return undefined;
    const first = frags[0]?.sn;
    if (typeof first !== "number") return undefined;
    const out = [];
    for (let i = frag.sn - first + 1; out.length < UPCOMING && i >= 0 && i < frags.length; i++) {
      const f = frags[i];
      if (!f || typeof f.sn !== "number" || f.sn !== frag.sn + out.length + 1) break;
      /** @type {Record<string, any>} */
      const u = { seq: f.sn, url: f.url };
      if (!u.url) break;
      const due = laterDeadlineMs(baseMs, frag.start, f.start);
      if (due !== undefined) u.deadlineMs = due;
      const [s, e] = f.byteRange ?? [];
      if (finite(s) && finite(e) && e > s) {
        u.start = s;
        u.end = e;
      }
      out.push(u);
    }
    return out.length ? out : undefined;
  }

  /**
   * windowStartOf is, for a fragment of a LIVE media playlist, the media
   * sequence number of the oldest fragment that playlist still lists (hls.js
   * LevelDetails.startSN: EXT-X-MEDIA-SEQUENCE, skipped segments of a delta
   * update included) — the same numbering as `seq`, for the same swarm. The
   * details come from the attached Hls instance (nearcast.attach(hls)): the
   * playlists remembered from LEVEL_LOADED / AUDIO_TRACK_LOADED, and
   * hls.levels[frag.level] (main) or hls.audioTracks[frag.level] (audio). Only
   * details of the fragment's own playlist count (details.url === frag.baseurl:
   * another level's or a redundant stream's playlist numbers its own
   * segments); the newest (largest startSN) wins; any of them ended
   * (EXT-X-ENDLIST, live false) or none known: undefined. Never above the
   * fragment's own sn (the player asks for it now).
   * @returns {number | undefined}
   */
  function windowStartOf(frag) {
    const url = frag.baseurl;
    if (!url || typeof frag.sn !== "number") return undefined;
    const candidates = [adapter.playlists.get(url)];
    const hls = adapter.hls;
    if (hls) {
      try {
        const list = frag.type === "main" ? hls.levels : frag.type === "audio" ? hls.audioTracks : null;
        candidates.push(list?.[frag.level]?.details);
      } catch {
        /* hls.js tearing down: the remembered playlists only */
      }
    }
    let start;
    for (const d of candidates) {
      if (!d || d.url !== url) continue;
      if (d.live !== true) return undefined;
      const sn = d.startSN;
      if (Number.isSafeInteger(sn) && sn >= 0 && (start === undefined || sn > start)) start = sn;
    }
    return start === undefined ? undefined : Math.min(start, frag.sn);
  }

  function toRequest(context, loaderConfig) {
    const frag = context.frag;
    const manifest = frag.baseurl || context.url;
    const rendition = frag.type === "main" ? undefined : frag.type;
    const maxLoad = loaderConfig?.loadPolicy?.maxLoadTimeMs;
    const cap = finite(maxLoad) && maxLoad > 0 ? Math.min(maxDeadline, maxLoad) : maxDeadline;
    /** @type {Record<string, any>} */
    const req = {
      manifest,
      seq: frag.sn,
      url: context.url,
      deadlineMs: deadlineMs(frag, findMedia(), cap),
    };
    const cdnMs = adapter.cdn.estimate(frag.duration);
    if (finite(cdnMs)) req.cdnMs = Math.round(cdnMs);
    const size = adapter.cdn.bytes(frag.duration);
    if (finite(size) && !req.end) req.sizeHint = Math.round(size);
    if (rendition) req.rendition = rendition;
    if (swarmId) req.swarm = `${swarmId}|${frag.type}|${pathOf(manifest)}`;
    const range = rangeOf(context);
    if (range) {
      req.start = range.start;
      req.end = range.end;
    }
    const upcoming = upcomingOf(frag, req.deadlineMs);
    if (upcoming) req.upcoming = upcoming;
    const windowStart = windowStartOf(frag);
    if (windowStart !== undefined) req.windowStart = windowStart;
    return req;
  }

  /**
   * NearcastFragmentLoader implements hls.js's Loader<FragmentLoaderContext>.
   */
  class NearcastFragmentLoader {
    /** @param {any} config the Hls instance's config */
    constructor(config) {
      this.hlsConfig = config;
      /** @type {any} */
      this.context = null;
      this.stats = newLoadStats();
      /** @type {any} */ this._callbacks = null;
      /** @type {any} */ this._loaderConfig = null;
      /** @type {any} */ this._inner = null;
      /** @type {any} */ this._call = null;
      this._timer = 0;
      this._done = false;
      this._destroyed = false;
      this.source = ""; // "engine" | "player": who served (or is serving) this load
    }

    load(context, loaderConfig, callbacks) {
      if (this.stats.loading.start || this._callbacks) {
        throw new Error("Loader can only be used once.");
      }
      this.context = context;
      this._loaderConfig = loaderConfig;
      this._callbacks = callbacks;
      if (!owns(context)) {
        this._delegate(loaderConfig);
        return;
      }
      if (!core.ready) {
        // An engine on its way may still serve a fragment needed later than
        // it takes to start and find a peer; the rest go to the CDN now.
        const wait = core.starting
          ? holdMs(deadlineMs(context.frag, findMedia(), maxDeadline), adapter.cdn.estimate(context.frag?.duration))
          : 0;
        if (wait > 0) {
          this._hold(wait, loaderConfig);
        } else {
          this._delegate(loaderConfig);
        }
        return;
      }
      this._viaEngine(loaderConfig);
    }

    // _hold waits up to `wait` ms for the engine, then loads through it, or
    // through the player's loader if it is not ready. Timing starts when the
    // real load starts, so the player's bandwidth estimate ignores the wait.
    _hold(wait, loaderConfig) {
      this.source = "waiting";
      core.waitReady(wait).then((ready) => {
        if (this._done || this._destroyed || this.stats.aborted) return;
        if (ready && core.ready) {
          this._viaEngine(loaderConfig);
        } else {
          this._delegate(loaderConfig);
        }
      });
    }

    _viaEngine(loaderConfig) {
      const context = this.context;
      let req;
      try {
        req = toRequest(context, loaderConfig);
      } catch (err) {
        core.log("cannot map request, using the player's loader", err);
        this._delegate(loaderConfig);
        return;
      }
      this._loadFromEngine(req, loaderConfig);
    }

    _loadFromEngine(req, loaderConfig) {
      const stats = this.stats;
      const start = core.now();
      stats.loading.start = start;
      this.source = "engine";

      const policy = loaderConfig?.loadPolicy ?? {};
      const maxLoad = finite(policy.maxLoadTimeMs) && policy.maxLoadTimeMs > 0
        ? policy.maxLoadTimeMs
        : finite(loaderConfig?.timeout) && loaderConfig.timeout > 0 ? loaderConfig.timeout : Infinity;
      const ttfb = finite(policy.maxTimeToFirstByteMs) && policy.maxTimeToFirstByteMs > 0 ? policy.maxTimeToFirstByteMs : 0;
      if (loaderConfig && finite(maxLoad)) loaderConfig.timeout = maxLoad;

      let call;
      try {
        call = core.load(req);
      } catch (err) {
        this._fallback(err, start, maxLoad);
        return;
      }
      this._call = call;

      // Guard: the engine gets its deadline plus the time-to-first-byte budget
      // (bounded by maxLoadTimeMs). If it has not answered by then, cancel it and
      // let the player's loader fetch the fragment with what is left of
      // maxLoadTimeMs; if nothing is left, report a timeout.
      const guard = Math.min(maxLoad, req.deadlineMs + (ttfb || maxLoad));
      if (finite(guard)) {
        this._timer = setTimeout(() => {
          this._timer = 0;
          if (this._done || this._call !== call) return;
          this._call = null;
          safeCancel(call);
          const left = maxLoad - (core.now() - start);
          if (left <= 0) {
            core.log(`timeout after ${maxLoad} ms: seq ${req.seq}`);
            this._finish("onTimeout", stats, this.context, null);
          } else {
            this._fallback({ code: ErrorCode.INTERNAL, message: `engine did not answer in ${Math.round(guard)} ms` }, start, maxLoad);
          }
        }, guard);
      }

      call.promise.then(
        (result) => {
          if (this._done || this._call !== call) return;
          this._call = null;
          this._clearTimer();
          this._engineSuccess(req, result, start, maxLoad);
        },
        (err) => {
          if (this._done || this._call !== call) return;
          this._call = null;
          this._clearTimer();
          this._fallback(err, start, maxLoad);
        },
      );
    }

    _engineSuccess(req, result, start, maxLoad) {
      const want = req.end !== undefined ? req.end - req.start : -1;
      // Never hand hls.js an empty, detached or wrongly sized segment: that is how
      // players die (see TESTING.md, "The peer to beat"). Treat it as a failure.
      const u8 = engineBytes(result, want);
      if (!u8) {
        const data = result?.data;
        const got = ArrayBuffer.isView(data) ? data.byteLength : typeof data;
        this._fallback({ code: ErrorCode.INTERNAL, message: `engine returned ${got} bytes for seq ${req.seq}` }, start, maxLoad);
        return;
      }
      const buf = freshBuffer(u8);
      const now = core.now();
      const stats = this.stats;
      adapter.cdn.learn(result);
      applyTiming(stats, buf.byteLength, result, now - start, now, adapter.cdn);
      const context = this.context;
      const response = { url: context.url, data: buf, code: 200 };
      // Like hls.js's XhrLoader: a single progress event with the whole payload
      // (progressive mode transmuxes from it), then success with the same data.
      const onProgress = this._callbacks?.onProgress;
      if (onProgress) {
        try {
          onProgress(stats, context, buf, null);
        } catch (err) {
          core.log("onProgress threw", err);
        }
      }
      this._finish("onSuccess", response, stats, context, null);
    }

    // _fallback retries a request the engine failed through the player's loader
    // (house rule: hand back what we cannot serve), with what is left of maxLoadTimeMs.
    _fallback(err, start, maxLoad) {
      if (this._done) return;
      const e = toError(err);
      core.log(`engine failed (${e.code}: ${e.message}); using the player's loader for ${this.context?.url}`);
      let cfg = this._loaderConfig;
      if (finite(maxLoad) && cfg?.loadPolicy) {
        const left = Math.floor(maxLoad - (core.now() - start));
        if (left <= 0) {
          this._finish("onTimeout", this.stats, this.context, null);
          return;
        }
        cfg = { ...cfg, timeout: left, loadPolicy: { ...cfg.loadPolicy, maxLoadTimeMs: left } };
        const t = cfg.loadPolicy.maxTimeToFirstByteMs;
        if (finite(t) && t > left) cfg.loadPolicy.maxTimeToFirstByteMs = left;
      }
      // The player's loader refuses a stats object that already has a start time.
      resetLoading(this.stats);
      this._delegate(cfg);
    }

    _playerLoaderClass() {
      const L = this.hlsConfig?.loader;
      if (typeof L === "function" && !L.__nearcast) return L;
      return defaultLoader;
    }

    _delegate(loaderConfig) {
      this.source = "player";
      const Loader = this._playerLoaderClass();
      let inner;
      try {
        inner = new Loader(this.hlsConfig);
      } catch (err) {
        this._finish("onError", { code: 0, text: `nearcast: player loader failed: ${toError(err).message}` }, this.context, null, this.stats);
        return;
      }
      this._inner = inner;
      // Share our stats object so hls.js's frag.stats sees the inner loader's
      // timings live. If the loader does not let us, copy them on each callback.
      try {
        inner.stats = this.stats;
      } catch {
        /* read-only stats: copied below */
      }
      const ours = this.stats;
      const sync = (s) => {
        if (s !== ours) copyStats(ours, s);
        return ours;
      };
      const cbs = this._callbacks;
      /** @type {any} */
      const wrapped = {
        onSuccess: (response, stats, context, details) => {
          if (this._done) return;
          const st = sync(stats);
          const data = response?.data;
          // Read the size before hls.js gets the buffer: it may transfer it.
          const bytes = st.loaded || (data && typeof data.byteLength === "number" ? data.byteLength : 0);
          const frag = this.context?.frag;
          if (owns(this.context)) adapter.cdn.observe(st, frag?.duration);
          this._finish("onSuccess", response, st, context, details);
          core.countPlayerLoad(bytes);
          // Not "segment": that type is the engine's (docs/wasm-api.md §1).
          core.emit({
            type: "player-segment",
            time: Date.now(),
            seq: typeof frag?.sn === "number" ? frag.sn : undefined,
            url: this.context?.url,
            source: "cdn",
            origin: "cdn",
            bytes,
            durationMs: Math.max(0, st.loading.end - st.loading.start),
          });
        },
        onError: (error, context, details, stats) => this._finish("onError", error, context, details, sync(stats)),
        onTimeout: (stats, context, details) => this._finish("onTimeout", sync(stats), context, details),
        onAbort: (stats, context, details) => this._finish("onAbort", sync(stats), context, details),
      };
      if (cbs?.onProgress) {
        wrapped.onProgress = (stats, context, data, details) => {
          if (!this._done) cbs.onProgress(sync(stats), context, data, details);
        };
      }
      try {
        inner.load(this.context, loaderConfig, wrapped);
      } catch (err) {
        this._finish("onError", { code: 0, text: `nearcast: player loader failed: ${toError(err).message}` }, this.context, null, this.stats);
      }
    }

    // _finish delivers the one terminal callback of this load.
    _finish(kind, ...args) {
      if (this._done) return;
      this._done = true;
      this._clearTimer();
      const cb = this._callbacks?.[kind];
      if (typeof cb === "function") cb(...args);
    }

    _clearTimer() {
      if (this._timer) {
        clearTimeout(this._timer);
        this._timer = 0;
      }
    }

    abort() {
      if (this._done || !this._callbacks) return;
      const call = this._call;
      this._call = null;
      this._clearTimer();
      if (call) {
        this.stats.aborted = true;
        safeCancel(call);
        this._finish("onAbort", this.stats, this.context, null);
        return;
      }
      this.stats.aborted = true;
      if (this._inner) {
        // The player's loader calls onAbort itself (hls.js BaseLoader.abort);
        // make sure there is exactly one terminal callback either way.
        try {
          this._inner.abort();
        } catch (err) {
          core.log("player loader abort threw", err);
        }
      }
      this._finish("onAbort", this.stats, this.context, null);
    }

    destroy() {
      if (this._destroyed) return;
      this._destroyed = true;
      const call = this._call;
      this._call = null;
      this._clearTimer();
      if (call) safeCancel(call);
      const inner = this._inner;
      this._inner = null;
      this._done = true;
      this._callbacks = null;
      this._loaderConfig = null;
      if (inner) {
        try {
          inner.destroy();
        } catch (err) {
          core.log("player loader destroy threw", err);
        }
      }
    }

    getCacheAge() {
      return typeof this._inner?.getCacheAge === "function" ? this._inner.getCacheAge() : null;
    }

    getResponseHeader(name) {
      return typeof this._inner?.getResponseHeader === "function" ? this._inner.getResponseHeader(name) : null;
    }
  }
  Object.defineProperty(NearcastFragmentLoader, "__nearcast", { value: true });

  /**
   * attach binds an Hls instance: its media element gives deadlines, its playlists
   * give `upcoming` and, for live playlists, `windowStart`. Optional; without it
   * the page's only <video>/<audio> is used and no `windowStart` is sent.
   */
  function attach(hls) {
    detach();
    if (!hls) return;
    adapter.hls = hls;
    if (typeof hls.on === "function") {
      const onDetails = (_ev, data) => rememberDetails(data?.details);
      const onDestroying = () => detach();
      const evs = [
        [Events.LEVEL_LOADED ?? "hlsLevelLoaded", onDetails],
        [Events.AUDIO_TRACK_LOADED ?? "hlsAudioTrackLoaded", onDetails],
        [Events.DESTROYING ?? "hlsDestroying", onDestroying],
      ];
      for (const [ev, fn] of evs) hls.on(ev, fn);
      adapter.unhook.push(() => {
        for (const [ev, fn] of evs) hls.off?.(ev, fn);
      });
    }
  }

  function detach() {
    for (const fn of adapter.unhook.splice(0)) {
      try {
        fn();
      } catch {
        /* ignore */
      }
    }
    adapter.hls = null;
    adapter.playlists.clear();
  }

  function attachMedia(el) {
    adapter.media = el ?? null;
  }

  return { fLoader: NearcastFragmentLoader, attach, detach, attachMedia, findMedia, toRequest, adapter };
}

