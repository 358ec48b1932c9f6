// Package dashjs: the dash.js adapter of the nearcast shim (dash.js 5.x, tested
// with 5.2.1).
//
// The seam is dash.js's own extension point, MediaPlayer.extend("XHRLoader",
// factory, true) (src/core/FactoryMaker.js, merge()): every XHRLoader dash.js
// creates afterwards — one per HTTPLoader, lazily — keeps its methods except the
// ones the factory returns. dash.js's HTTPLoader (src/streaming/net/HTTPLoader.js)
// drives an XHRLoader like this:
//
//   - load(commonMediaRequest, commonMediaResponse): the request's customData
//     holds the FragmentRequest (`request`: type, mediaType, representation,
//     index, startTime, duration, mediaStartTime, range "first-last") and the
//     callbacks onprogress(event), onloadend(), onabort(), ontimeout(event);
//     the loader fills commonMediaResponse (url, status, headers, data) and
//     sets customData.abort;
//   - onprogress events become the request's `traces` ({d: event.time or the
//     wall time since the last event, b: bytes}); dash.js's throughput model
//     (ThroughputModel, XHR case) takes bytes / duration of every trace but the
//     first, which carries the latency; the first progress event also sets
//     firstByteDate;
//   - onloadend() ends the request: HTTPLoader stamps startDate/endDate on the
//     FragmentRequest synchronously, runs its response interceptors (a promise)
//     and only then records the HTTP metric that ABR reads;
//   - HTTPLoader.abort() clears onloadend/onprogress and calls customData.abort(),
//     after which dash.js expects onabort().
//
// Media segments of the video and audio adaptation sets whose identity is
// stable (see dashIdentity) go to the engine; manifests, init and index
// segments, text, thumbnails, low-latency chunked (Fetch) loads, retries and
// requests with headers of their own (CMCD headers mode, Common Access Token)
// go to dash.js's XHRLoader untouched, and so does every request when the
// engine is not ready, unsupported or failed. An engine failure or timeout
// falls back to dash.js's loader within the same request.
//
// This file imports only the core and the shared helpers (common.js): adapters
// never import each other.

import { ErrorCode, toError } from "./core.js";
import {
  DEFAULT_MAX_DEADLINE_MS, finite, transferTiming, engineBytes, freshBuffer, createCdnModel, holdMs,
  deadlineMs, pageMedia, pathOf, stripQuery, byteRange, safeCancel, periodKey,
} from "./common.js";

export { periodKey }; // the rendition prefix (common.js), part of dashIdentity's contract

// dash.js's HTTPRequest types and media types (src/streaming/vo/metrics/HTTPRequest.js,
// src/streaming/constants/Constants.js, src/dash/constants/DashConstants.js).
const MEDIA_SEGMENT = "MediaSegment";
const INIT_SEGMENT = "InitializationSegment";
const MEDIA_TYPES = new Set(["video", "audio"]);

// What the engine gets beyond its deadline before the request falls back to
// dash.js's loader; the deadline is also kept this far below half the request
// timeout, so the fallback has at least half of it.
const GUARD_SLACK_MS = 3000;

/**
 * dashIdentity derives the engine identity of a dash.js FragmentRequest, the
 * same for every viewer whatever tokens the CDN puts in the URLs:
 *
 *   manifest  = the MPD URL (as first requested) without query and fragment
 *   rendition = `${period}|${Representation@id}|${kind}`, period = periodKey()
 *   seq, kind:
 *     "b"  a byte range (SegmentBase/sidx, SegmentList@mediaRange): seq = first
 *          byte, with start/end (end EXCLUSIVE);
 *     "t"  every other segment (SegmentTemplate with $Number$ or $Time$, with or
 *          without SegmentTimeline, SegmentList): seq = the segment's media
 *          start time (media time / @timescale, the same for every viewer) in ms.
 *
 * The kind is part of the rendition so that times and byte offsets never meet
 * in one swarm. The Shaka adapter, which cannot see $Number$, and the Go
 * manifest package (manifest/mpd, docs/manifests.md) use the same rules, so
 * dash.js and Shaka viewers of a stream share its swarms. Returns null when
 * the request has no stable identity.
 * @param {any} fr FragmentRequest
 * @param {string} [fallbackManifest] the player's source URL
 * @returns {{manifest: string, rendition: string, seq: number, start?: number, end?: number} | null}
 */
export function dashIdentity(fr, fallbackManifest) {
  const rep = fr?.representation;
  if (!rep || rep.id == null || rep.id === "") return null;
  const period = rep.adaptation?.period;
  const mpd = period?.mpd?.manifest;
  const url = mpd?.originalUrl || mpd?.url || fallbackManifest;
  if (typeof url !== "string" || !url) return null;
  const id = { manifest: stripQuery(url), rendition: "", seq: -1 };
  let kind;
  if (fr.range != null && fr.range !== "") {
    const r = byteRange(String(fr.range));
    if (!r) return null;
    kind = "b";
    id.seq = r.start;
    id.start = r.start;
    id.end = r.end;
  } else {
    if (!finite(fr.mediaStartTime)) return null;
    kind = "t";
    id.seq = Math.round(fr.mediaStartTime * 1000);
  }
  if (!Number.isSafeInteger(id.seq) || id.seq < 0) return null;
  id.rendition = `${periodKey(period?.start, period?.id)}|${rep.id}|${kind}`;
  return id;
}

/**
 * dashWindowStart is, for a media segment of a dynamic (live) MPD with kind
 * "t" (see dashIdentity), the seq of the oldest segment of its swarm still
 * available — the media start time in ms of that segment, computed the way
 * dash.js computes FragmentRequest.mediaStartTime, so it is in the request's
 * own numbering exactly. undefined for static MPDs, byte ranges (kind "b") and
 * whatever cannot be derived exactly:
 *
 *   SegmentTimeline: the first S element of the Representation's timeline in
 *     the MPD dash.js built this request from (the segment getter's own
 *     source, manifest.Period[…].AdaptationSet[…].Representation[…]
 *     .SegmentTemplate || .SegmentList): its @t (0 when absent) / @timescale.
 *     The oldest segment the MPD lists.
 *   SegmentTemplate@duration ($Number$, no timeline): from the DVR window
 *     dash.js keeps (`dvrStart()`, DVRInfo.range.start, presentation time):
 *     the segment that holds it, minus one — dash.js still counts a segment
 *     available for one segment duration past the time-shift buffer — at the
 *     period start at the earliest; its media time as
 *     TemplateSegmentsGetter/getIndexBasedSegment compute it:
 *     round5(period.start + index × duration) − period.start + @presentationTimeOffset.
 *   anything else (SegmentList@duration, SegmentBase): undefined.
 * @param {any} fr FragmentRequest
 * @param {() => number | undefined} [dvrStart] DVR window start (s), presentation time
 * @returns {number | undefined}
 */
export function dashWindowStart(fr, dvrStart) {
  const rep = fr?.representation;
  const adaptation = rep?.adaptation;
  const period = adaptation?.period;
  const manifest = period?.mpd?.manifest;
  if (!manifest || manifest.type !== "dynamic") return undefined;
  if (fr.range != null && fr.range !== "") return undefined; // kind "b"
  let ms;
  if (rep.segmentInfoType === "SegmentTimeline") {
    let base;
    try {
      const r = manifest.Period[period.index].AdaptationSet[adaptation.index].Representation[rep.index];
      base = r.SegmentTemplate || r.SegmentList;
    } catch {
      return undefined;
    }
    const S = base?.SegmentTimeline?.S;
    const first = Array.isArray(S) ? S[0] : S;
    if (!first || !finite(rep.timescale) || !(rep.timescale > 0)) return undefined;
    // TimelineSegmentsGetter: mediaTime = @t of the first S (0 without one),
    // mediaStartTime = mediaTime / timescale.
    const t = Object.prototype.hasOwnProperty.call(first, "t") ? first.t : 0;
    if (!finite(t)) return undefined;
    ms = Math.round((t / rep.timescale) * 1000);
  } else if (rep.segmentInfoType === "SegmentTemplate") {
    const dur = rep.segmentDuration;
    const start = period.start;
    const dvr = dvrStart?.();
    if (!finite(dur) || !(dur > 0) || !finite(start) || !finite(dvr)) return undefined;
    const index = Math.max(0, Math.floor((Math.max(dvr, start) - start) / dur) - 1);
    const presentationStart = parseFloat((start + index * dur).toFixed(5));
    const pto = finite(rep.presentationTimeOffset) ? rep.presentationTimeOffset : 0;
    ms = Math.round((presentationStart - start + pto) * 1000);
  } else {
    return undefined;
  }
  return Number.isSafeInteger(ms) && ms >= 0 ? ms : undefined;
}

function onlyRangeHeader(headers) {
  if (!headers) return true;
  for (const k in headers) {
    if (headers[k] && k.toLowerCase() !== "range") return false;
  }
  return true;
}

/**
 * isSegment tells whether a dash.js request is a media or init segment of the
 * video or audio adaptation set (what the shim counts as the player's segment
 * loads).
 */
function isSegment(fr) {
  return !!fr && (fr.type === MEDIA_SEGMENT || fr.type === INIT_SEGMENT) && MEDIA_TYPES.has(fr.mediaType);
}

/**
 * ownsRequest tells whether the engine may load a dash.js CommonMediaRequest:
 * a first attempt at a whole media segment (not a sidx/index lookup, which
 * dash.js also types MediaSegment, nor a low-latency partial segment) of the
 * video or audio adaptation set, a plain GET of http(s) for an ArrayBuffer,
 * without headers besides Range.
 * @param {any} req CommonMediaRequest
 */
export function ownsRequest(req) {
  const fr = req?.customData?.request;
  if (!fr || fr.type !== MEDIA_SEGMENT || !MEDIA_TYPES.has(fr.mediaType)) return false;
  if (fr.isPartialSegmentRequest || fr.retryAttempts > 0) return false;
  if (!finite(fr.index) || !finite(fr.duration) || !(fr.duration > 0)) return false;
  if ((req.method ?? "GET") !== "GET" || req.body != null) return false;
  if (req.responseType && req.responseType !== "arraybuffer") return false;
  if (typeof req.url !== "string" || !/^https?:\/\//i.test(req.url)) return false;
  return onlyRangeHeader(req.headers);
}

// One record per dash.js player: the extension is registered once (dash.js
// keeps the first extension of a name) and reads the adapter attached now.
/** @type {WeakMap<object, {adapter: any}>} */
const installed = new WeakMap();

/**
 * createDashjsAdapter attaches the engine to a dash.js MediaPlayer.
 * @param {ReturnType<import("./core.js").createCore>} core
 * @param {any} dashjs the dash.js namespace (unused: the player carries its seams)
 * @param {any} player dashjs.MediaPlayer().create()
 * @param {import("../types/nearcast").NearcastOptions} options
 */
export function createDashjsAdapter(core, dashjs, player, options = {}) {
  if (!player || typeof player.extend !== "function") {
    throw new TypeError("nearcast: attachDashjs(dashjs, player) needs a dash.js MediaPlayer (dashjs.MediaPlayer().create())");
  }
  const maxDeadline = finite(options.maxDeadlineMs) && options.maxDeadlineMs >= 0 ? options.maxDeadlineMs : DEFAULT_MAX_DEADLINE_MS;
  const swarmId = typeof options.swarmId === "string" && options.swarmId ? options.swarmId : "";
  const cdn = createCdnModel();
  let media = null;
  let attached = true;

  function findMedia() {
    if (media) return media;
    try {
      const el = player.getVideoElement?.();
      if (el) return el;
    } catch {
      /* not initialised yet */
    }
    return pageMedia();
  }

  function source() {
    try {
      const s = player.getSource?.();
      return typeof s === "string" ? s : undefined;
    } catch {
      return undefined;
    }
  }

  /** dvrStart is the start (s, presentation time) of dash.js's DVR window for a media type. */
  function dvrStart(mediaType) {
    try {
      const s = player.getDashMetrics?.()?.getCurrentDVRInfo?.(mediaType)?.range?.start;
      return finite(s) ? s : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * toRequest maps an owned dash.js request to a LoadRequest, or null.
   * @param {any} req CommonMediaRequest
   * @param {number} cap upper bound of the deadline (ms)
   */
  function toRequest(req, cap) {
    const fr = req.customData.request;
    const id = dashIdentity(fr, source());
    if (!id) return null;
    /** @type {Record<string, any>} */
    const out = {
      manifest: id.manifest,
      rendition: id.rendition,
      seq: id.seq,
      url: req.url,
      deadlineMs: deadlineMs({ start: fr.startTime, duration: fr.duration }, findMedia(), cap),
    };
    if (id.end !== undefined) {
      out.start = id.start;
      out.end = id.end;
    } else {
      const bitrate = finite(fr.bandwidth) && fr.bandwidth > 0 ? fr.bandwidth : fr.representation?.bandwidth;
      const size = finite(bitrate) && bitrate > 0 ? (bitrate * fr.duration) / 8 : cdn.bytes(fr.duration);
      if (finite(size) && size > 0) out.sizeHint = Math.round(size);
    }
    const cdnMs = cdn.estimate(fr.duration);
    if (finite(cdnMs)) out.cdnMs = Math.round(cdnMs);
    if (swarmId) out.swarm = `${swarmId}|${id.rendition}|${pathOf(id.manifest)}`;
    const windowStart = dashWindowStart(fr, () => dvrStart(fr.mediaType));
    // Never above the segment asked for now.
    if (windowStart !== undefined) out.windowStart = Math.min(windowStart, id.seq);
    return out;
  }

  /**
   * DashLoad is one request the adapter handles: through the engine, waiting
   * for it, or handed to dash.js's XHRLoader. It ends in exactly one of
   * onloadend() and onabort() of its own, or leaves the request to the XHRLoader.
   */
  class DashLoad {
    constructor(req, resp, parentLoad, inflight) {
      this.req = req;
      this.resp = resp;
      this.cd = req.customData;
      this.fr = req.customData.request;
      this.parentLoad = parentLoad;
      this.inflight = inflight;
      this.done = false;
      /** @type {any} */ this.call = null;
      this.timer = 0;
      this.source = ""; // "engine" | "waiting" | "player"
    }

    start() {
      if (!core.ready) {
        const wait = core.starting
          ? holdMs(deadlineMs({ start: this.fr.startTime, duration: this.fr.duration }, findMedia(), maxDeadline), cdn.estimate(this.fr.duration))
          : 0;
        if (wait > 0) this.hold(wait);
        else this.delegate(0);
        return;
      }
      this.viaEngine();
    }

    own() {
      this.cd.abort = () => this.abort();
      this.inflight.add(this);
    }

    hold(wait) {
      this.own();
      this.source = "waiting";
      core.waitReady(wait).then((ready) => {
        if (this.done) return;
        if (ready && core.ready) this.viaEngine();
        else this.release(0);
      });
    }

    viaEngine() {
      const timeout = finite(this.req.timeout) && this.req.timeout > 0 ? this.req.timeout : Infinity;
      const cap = Math.min(timeout / 2, maxDeadline + GUARD_SLACK_MS);
      let req;
      try {
        req = toRequest(this.req, Math.max(0, Math.min(maxDeadline, cap - GUARD_SLACK_MS)));
      } catch (err) {
        core.log("cannot map request, using dash.js's loader", err);
        req = null;
      }
      if (!req) {
        this.release(0);
        return;
      }
      if (!this.inflight.has(this)) this.own();
      this.source = "engine";
      const start = core.now();
      let call;
      try {
        call = core.load(req);
      } catch (err) {
        this.fallback(err, start, timeout);
        return;
      }
      this.call = call;
      const guard = Math.min(req.deadlineMs + GUARD_SLACK_MS, cap);
      this.timer = setTimeout(() => {
        this.timer = 0;
        if (this.done || this.call !== call) return;
        this.call = null;
        safeCancel(call);
        this.fallback({ code: ErrorCode.INTERNAL, message: `engine did not answer in ${Math.round(guard)} ms` }, start, timeout);
      }, guard);
      call.promise.then(
        (result) => {
          if (this.done || this.call !== call) return;
          this.call = null;
          this.clearTimer();
          this.success(req, result, start, timeout);
        },
        (err) => {
          if (this.done || this.call !== call) return;
          this.call = null;
          this.clearTimer();
          this.fallback(err, start, timeout);
        },
      );
    }

    success(req, result, start, timeout) {
      const u8 = engineBytes(result, req.end !== undefined ? req.end - req.start : -1);
      if (!u8) {
        const got = ArrayBuffer.isView(result?.data) ? result.data.byteLength : typeof result?.data;
        this.fallback({ code: ErrorCode.INTERNAL, message: `engine returned ${got} bytes for seq ${req.seq}` }, start, timeout);
        return;
      }
      const buf = freshBuffer(u8);
      const n = buf.byteLength;
      cdn.learn(result);
      const { transfer, ttfb } = transferTiming(result, core.now() - start, cdn);
      this.finish();
      const { req: r, resp, cd, fr } = this;
      resp.url = r.url;
      resp.status = 200;
      resp.statusText = "OK";
      resp.headers = {};
      resp.data = buf;
      // Two progress events, like a short XHR: the first carries the time to
      // first byte (dash.js drops it from the throughput), the second all the
      // bytes in the rest of the real transfer time.
      try {
        cd.onprogress?.({ lengthComputable: true, loaded: 0, total: n, time: Math.max(1, ttfb) });
        cd.onprogress?.({ lengthComputable: true, loaded: n, total: n, time: Math.max(1, transfer - ttfb) });
      } catch (err) {
        core.log("dash.js onprogress threw", err);
      }
      cd.onloadend?.();
      // HTTPLoader has just stamped the request with the wall-clock dates of the
      // engine call (synchronously, before its response interceptors and the
      // HTTP metric): replace them by the real transfer of these bytes (for a
      // cache hit, the original one), so latency and the cache heuristic
      // (cacheLoadThresholds) see the transfer, and drop a Resource Timing entry
      // of an earlier fetch of the same URL that would stand in for it.
      if (fr) {
        const end = fr.endDate instanceof Date ? fr.endDate.getTime() : Date.now();
        fr.startDate = new Date(end - transfer);
        fr.firstByteDate = new Date(end - transfer + ttfb);
        fr.endDate = new Date(end);
        fr.resourceTimingValues = undefined;
      }
    }

    // fallback hands a request the engine failed to dash.js's loader, with what
    // is left of the request timeout.
    fallback(err, start, timeout) {
      if (this.done) return;
      const e = toError(err);
      core.log(`engine failed (${e.code}: ${e.message}); using dash.js's loader for ${this.req.url}`);
      // The guard fires by half the timeout, so at least that much is left.
      this.release(finite(timeout) ? Math.max(1, Math.floor(timeout - (core.now() - start))) : 0);
    }

    // release gives the request to dash.js's loader (after the engine or a hold).
    release(timeout) {
      if (this.done) return;
      this.finish();
      this.delegate(timeout, Date.now());
    }

    /**
     * delegate loads through dash.js's XHRLoader, watching a video/audio
     * segment to count its bytes as the player's and learn the CDN's speed.
     * @param {number} timeout a shorter request timeout, or 0
     * @param {number} [rebase] Date.now() when the player's load started after
     *   the engine: its latency is measured from there
     */
    delegate(timeout, rebase = 0) {
      this.source = "player";
      const { req, resp, cd, fr } = this;
      if (timeout > 0) req.timeout = timeout;
      if (isSegment(fr)) {
        const t0 = core.now();
        let first = 0;
        const onprogress = cd.onprogress;
        const onloadend = cd.onloadend;
        cd.onprogress = function (ev) {
          if (!first) first = core.now();
          return onprogress?.call(this, ev);
        };
        cd.onloadend = function (ev) {
          const end = core.now();
          const data = resp.data;
          const bytes = data && typeof data.byteLength === "number" ? data.byteLength : 0;
          const ok = resp.status >= 200 && resp.status <= 299 && bytes > 0;
          const r = onloadend?.call(this, ev);
          if (rebase && fr?.startDate instanceof Date && fr.startDate.getTime() < rebase) fr.startDate = new Date(rebase);
          if (ok) played(fr, bytes, t0, first || t0, end, req.url);
          return r;
        };
      }
      return this.parentLoad(req, resp);
    }

    finish() {
      this.done = true;
      this.clearTimer();
      this.inflight.delete(this);
    }

    clearTimer() {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = 0;
      }
    }

    // abort is customData.abort while the request is ours (HTTPLoader.abort, or
    // the XHRLoader being reset): cancel the engine call or the wait, then
    // onabort() once, as an aborted XHR does.
    abort() {
      if (this.done) return;
      const call = this.call;
      this.call = null;
      this.finish();
      if (call) safeCancel(call);
      try {
        this.cd.onabort?.();
      } catch (err) {
        core.log("dash.js onabort threw", err);
      }
    }
  }

  function played(fr, bytes, start, first, end, url) {
    const media = fr?.type === MEDIA_SEGMENT;
    if (media) cdn.observe({ loaded: bytes, loading: { start, first, end } }, fr.duration);
    core.countPlayerLoad(bytes);
    core.emit({
      type: "player-segment",
      time: Date.now(),
      seq: media ? dashIdentity(fr, source())?.seq : undefined,
      url,
      source: "cdn",
      origin: "cdn",
      bytes,
      durationMs: Math.max(0, end - start),
    });
  }

  /**
   * load is the extended XHRLoader's load: requests the adapter does not own go
   * to dash.js's XHRLoader at once.
   */
  function load(req, resp, parentLoad, inflight) {
    if (!attached || !req?.customData) return parentLoad(req, resp);
    const l = new DashLoad(req, resp, parentLoad, inflight);
    if (!ownsRequest(req)) return l.delegate(0);
    l.start();
    return true;
  }

  const adapter = { load };
  let rec = installed.get(player);
  if (!rec) {
    rec = { adapter };
    installed.set(player, rec);
    player.extend("XHRLoader", nearcastXHRLoader(rec), true);
  } else {
    rec.adapter = adapter;
  }

  return {
    /** detach: later requests go to dash.js's XHRLoader; loads under way finish. */
    detach() {
      attached = false;
      if (rec.adapter === adapter) rec.adapter = null;
    },
    attachMedia(el) {
      media = el ?? null;
    },
    findMedia,
    toRequest,
    get media() {
      return findMedia();
    },
  };
}

/**
 * nearcastXHRLoader is the factory given to MediaPlayer.extend("XHRLoader", …,
 * true): dash.js calls it with `this.parent` set to a fresh XHRLoader and keeps
 * the methods it returns in place of the parent's.
 * @param {{adapter: any}} rec
 */
function nearcastXHRLoader(rec) {
  return function NearcastXHRLoader() {
    const parent = this.parent;
    // Taken now: dash.js replaces the parent's methods by ours right after.
    const parentLoad = parent.load;
    const parentAbort = parent.abort;
    const parentReset = parent.reset;
    const parentResetInitial = parent.resetInitialSettings;
    /** @type {Set<any>} loads of this XHRLoader held or at the engine */
    const inflight = new Set();
    const abortOurs = () => {
      for (const l of [...inflight]) l.abort();
    };
    return {
      load(req, resp) {
        const a = rec.adapter;
        return a ? a.load(req, resp, parentLoad, inflight) : parentLoad(req, resp);
      },
      abort() {
        abortOurs();
        return parentAbort();
      },
      reset() {
        abortOurs();
        return parentReset();
      },
      resetInitialSettings() {
        abortOurs();
        return parentResetInitial();
      },
    };
  };
}
