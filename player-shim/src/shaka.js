// Package shaka: the Shaka Player adapter of the nearcast shim (Shaka Player
// 4.x/5.x, tested with 5.2.12), for DASH and HLS content.
//
// Seams (lib/net/networking_engine.js):
//
//   - a scheme plugin for http and https, registered with
//     shaka.net.NetworkingEngine.registerScheme(scheme, plugin,
//     PluginPriority.APPLICATION, progressSupport=true) once per shaka
//     namespace and removed (Shaka's own HTTP plugin restored) when the last
//     player detaches. A scheme plugin receives (uri, request, requestType,
//     progressUpdated, headersReceived, config) but not the request's
//     RequestContext, and it is global: it serves every player of the page;
//   - a request filter on the player's NetworkingEngine, which does receive the
//     context ({type: AdvancedRequestType, stream, segment}): it marks the
//     requests of its player (a WeakMap keyed by the request object, which the
//     engine passes to the plugin after the filters);
//   - for HLS, a response filter that reads the media playlists Shaka fetches,
//     to learn each segment's media sequence number (Shaka's SegmentReference
//     does not carry it) and, for live streams, the first one still listed
//     (LoadRequest.windowStart).
//
// Only SEGMENT requests of AdvancedRequestType.MEDIA_SEGMENT for a video or
// audio stream, first attempts, plain GETs outside low-latency mode (whose
// streamDataCallback appends chunks as they arrive) and without headers
// besides Range, with a stable identity (see dashIdentity / hlsIdentity), go
// to the engine. Manifests,
// playlists, init segments, licences, keys, text, retries and everything else
// go to Shaka's own HTTP plugin (HttpFetchPlugin where supported, else
// HttpXHRPlugin — the choice Shaka makes), and so does every request when the
// engine is not ready, unsupported or failed.
//
// The bandwidth estimate: Shaka samples response.timeMs and the byte count
// when a plugin reported no progress; engine answers carry the real transfer
// time of their bytes (LoadResult.transferMs; for cache hits, the original
// transfer), not the time the engine call took.
//
// This file imports only the core and the shared helpers (common.js): adapters
// never import each other.

import { ErrorCode, toError } from "./core.js";
import {
  DEFAULT_MAX_DEADLINE_MS, finite, transferTiming, engineBytes, freshBuffer, createCdnModel, holdMs,
  deadlineMs, laterDeadlineMs, pageMedia, pathOf, stripQuery, byteRange, safeCancel, periodKey,
} from "./common.js";

// Shaka's enums (shaka.net.NetworkingEngine.RequestType / AdvancedRequestType,
// shaka.util.Error), read from the namespace when present.
const SEGMENT = 1;
const MANIFEST = 0;
const MEDIA_SEGMENT = 1;
const INIT_SEGMENT = 0;
const MEDIA_TYPES = new Set(["video", "audio"]);

// What the engine gets beyond its deadline before the request falls back to
// Shaka's plugin; the deadline is kept this far below the room left under
// Shaka's connection timeout (retryParameters.connectionTimeout, which a
// progress-capable plugin must beat with its first progress event), and
// CONN_ROOM_MS of that timeout is left to the fallback.
const GUARD_SLACK_MS = 3000;
const CONN_ROOM_MS = 3000;
// How many following segments to announce as `upcoming`.
const UPCOMING = 4;
// Bound on remembered HLS media playlists.
const MAX_PLAYLISTS = 32;

/**
 * hlsPlaylistIndex parses an HLS media playlist (RFC 8216 §4.3) into the media
 * sequence number of each segment, keyed by segmentKey(absolute URI without
 * query, byte range). See hlsPlaylistInfo.
 * @param {string} text
 * @param {string[]} bases the playlist's URLs (after and before redirects)
 * @returns {Map<string, number> | null} null when `text` is no media playlist
 */
export function hlsPlaylistIndex(text, bases) {
  return hlsPlaylistInfo(text, bases)?.index ?? null;
}

/**
 * hlsPlaylistInfo parses an HLS media playlist: `index` maps each segment
 * (segmentKey(absolute URI without query, byte range)) to its media sequence
 * number; `first` is the media sequence number of the oldest segment the
 * playlist lists (EXT-X-MEDIA-SEQUENCE, 0 without it; segments a delta update
 * replaced by EXT-X-SKIP count as listed); `ended` tells EXT-X-ENDLIST or
 * EXT-X-PLAYLIST-TYPE:VOD. Tags other than EXT-X-MEDIA-SEQUENCE,
 * EXT-X-BYTERANGE and EXT-X-SKIP (SKIPPED-SEGMENTS advance the sequence) are
 * skipped, so LL-HLS parts and preload hints are not indexed.
 * @param {string} text
 * @param {string[]} bases the playlist's URLs (after and before redirects)
 * @returns {{index: Map<string, number>, first: number, ended: boolean} | null}
 *   null when `text` is no media playlist
 */
export function hlsPlaylistInfo(text, bases) {
  if (typeof text !== "string" || !text.startsWith("#EXTM3U") || !text.includes("#EXTINF")) return null;
  const out = new Map();
  let first = 0;
  let ended = false;
  let skipped = 0;
  let msn = 0;
  /** @type {{len: number, off: number | null} | null} */
  let range = null;
  const lastEnd = new Map(); // resource → end of its previous sub-range
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith("#")) {
      if (line.startsWith("#EXT-X-MEDIA-SEQUENCE:")) {
        const n = Number(line.slice(22));
        // EXT-X-SKIP may come first (hls.js accepts that): keep its count.
        if (Number.isSafeInteger(n) && n >= 0) msn = (first = n) + skipped;
      } else if (line.startsWith("#EXT-X-SKIP:")) {
        const m = /(?:^|,)SKIPPED-SEGMENTS=(\d+)/.exec(line.slice(12));
        if (m) {
          skipped += Number(m[1]);
          msn += Number(m[1]);
        }
      } else if (line === "#EXT-X-ENDLIST" || line === "#EXT-X-PLAYLIST-TYPE:VOD") {
        ended = true;
      } else if (line.startsWith("#EXT-X-BYTERANGE:")) {
        const m = /^(\d+)(?:@(\d+))?$/.exec(line.slice(17).trim());
        range = m ? { len: Number(m[1]), off: m[2] !== undefined ? Number(m[2]) : null } : null;
      }
      continue;
    }
    const seq = msn++;
    const r = range;
    range = null;
    if (line.includes("{$")) continue; // EXT-X-DEFINE variables: not resolved here
    for (const base of bases) {
      let abs;
      try {
        abs = stripQuery(new URL(line, base).href);
      } catch {
        continue;
      }
      let start;
      let end;
      if (r) {
        start = r.off ?? lastEnd.get(abs) ?? 0;
        end = start + r.len;
        lastEnd.set(abs, end);
      }
      out.set(segmentKey(abs, start, end), seq);
    }
  }
  return { index: out, first, ended };
}

/** segmentKey names a segment by its URL without query and its byte range. */
export function segmentKey(url, start, end) {
  const u = stripQuery(url);
  return end !== undefined ? `${u}|${start}-${end}` : u;
}

/**
 * rangeOfRequest maps a Range header set by Shaka ("bytes=first-last",
 * shaka.net.NetworkingUtils.createSegmentRequest) to {start, end} with an
 * EXCLUSIVE end; undefined when there is none, null when it cannot be mapped
 * (an open-ended range).
 */
function rangeOfHeaders(headers) {
  let value;
  for (const k in headers ?? {}) {
    if (k.toLowerCase() === "range") value = headers[k];
  }
  if (value == null || value === "") return undefined;
  return byteRange(String(value));
}

/** rangeOfReference is the byte range of a SegmentReference, like createSegmentRequest. */
function rangeOfReference(ref) {
  const s = ref?.startByte ?? 0;
  const e = ref?.endByte;
  if (s === 0 && e == null) return undefined;
  if (!finite(s) || !finite(e) || e < s) return null;
  return { start: s, end: e + 1 };
}

/**
 * periodStream returns the stream of one DASH Period behind a stream Shaka
 * combined across periods (stream.matchedStreams, lib/util/periods.js) that
 * holds `ref`, or the stream itself.
 */
function periodStream(stream, ref) {
  const ms = stream?.matchedStreams;
  if (Array.isArray(ms) && ms.length) {
    for (const s of ms) {
      const idx = s?.segmentIndex;
      if (!idx || typeof idx.find !== "function") continue;
      try {
        const pos = idx.find(ref.startTime);
        if (pos != null && idx.get(pos) === ref) return s;
      } catch {
        /* an index being evicted: try the next */
      }
    }
  }
  return stream;
}

/**
 * dashIdentity derives the engine identity of a DASH segment in Shaka — the
 * same rules as the dash.js adapter's, so both players meet in one swarm where
 * they can:
 *
 *   manifest  = the MPD URL (player.getAssetUri()) without query and fragment
 *   rendition = `${period}|${Representation@id}|${kind}`, period = `p` + the
 *               Period start in ms (the segment's appendWindowStart), the id =
 *               the per-period stream's originalId (not Shaka's numeric id)
 *   seq, kind: "b" with a byte range (SegmentBase, SegmentList@mediaRange):
 *               the first byte, with start/end (end EXCLUSIVE); otherwise "t":
 *               the segment's media start time ($Time$ / @timescale, which is
 *               startTime − timestampOffset) in ms. Shaka does not expose
 *               $Number$, so SegmentTemplate@duration streams use "t" too.
 * @returns {{manifest: string, rendition: string, seq: number, start?: number, end?: number} | null}
 */
export function dashIdentity(assetUri, stream, ref, range) {
  if (typeof assetUri !== "string" || !assetUri || !ref || range === null) return null;
  const s = periodStream(stream, ref);
  const repId = s?.originalId ?? stream?.originalId;
  if (typeof repId !== "string" || !repId) return null;
  const id = { manifest: stripQuery(assetUri), rendition: "", seq: -1 };
  let kind;
  if (range) {
    kind = "b";
    id.seq = range.start;
    id.start = range.start;
    id.end = range.end;
  } else {
    const t = ref.startTime - (finite(ref.timestampOffset) ? ref.timestampOffset : 0);
    if (!finite(t)) return null;
    kind = "t";
    id.seq = Math.round(t * 1000);
  }
  if (!Number.isSafeInteger(id.seq) || id.seq < 0) return null;
  id.rendition = `${periodKey(ref.appendWindowStart)}|${repId}|${kind}`;
  return id;
}

/**
 * createShakaAdapter attaches the engine to a shaka.Player.
 * @param {ReturnType<import("./core.js").createCore>} core
 * @param {any} shaka the Shaka Player namespace
 * @param {any} player a shaka.Player
 * @param {import("../types/nearcast").NearcastOptions} options
 */
export function createShakaAdapter(core, shaka, player, options = {}) {
  const NE = shaka?.net?.NetworkingEngine;
  if (!NE || typeof NE.registerScheme !== "function" || !shaka.util?.AbortableOperation) {
    throw new TypeError("nearcast: attachShaka(shaka, player) needs the Shaka Player namespace");
  }
  const net = player?.getNetworkingEngine?.();
  if (!net || typeof net.registerRequestFilter !== "function") {
    throw new TypeError("nearcast: attachShaka(shaka, player) needs a shaka.Player");
  }
  const RT = NE.RequestType ?? {};
  const ART = NE.AdvancedRequestType ?? {};
  const SEG = RT.SEGMENT ?? SEGMENT;
  const MAN = RT.MANIFEST ?? MANIFEST;
  const MEDIA = ART.MEDIA_SEGMENT ?? MEDIA_SEGMENT;
  const INIT = ART.INIT_SEGMENT ?? INIT_SEGMENT;
  const maxDeadline = finite(options.maxDeadlineMs) && options.maxDeadlineMs >= 0 ? options.maxDeadlineMs : DEFAULT_MAX_DEADLINE_MS;
  const swarmId = typeof options.swarmId === "string" && options.swarmId ? options.swarmId : "";
  const cdn = createCdnModel();
  /**
   * playlist → its index now and before the last refresh, and the media
   * sequence number of its oldest segment (`first`) and whether it ended, now
   * @type {Map<string, {cur: Map<string, number>, prev: Map<string, number> | null, first: number, ended: boolean}>}
   */
  const playlists = new Map();
  let media = null;

  function findMedia() {
    return media ?? player.getMediaElement?.() ?? pageMedia();
  }

  // ---- HLS: media sequence numbers from the playlists Shaka fetches ----------

  const decoder = typeof TextDecoder === "function" ? new TextDecoder() : null;

  function onResponse(type, response) {
    if (type !== MAN || !decoder || !response?.data) return;
    const data = response.data;
    const u8 = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    // "#EXTM3U" first: MPDs and everything else are not decoded.
    if (!u8 || u8.length < 7 || u8[0] !== 0x23 || u8[1] !== 0x45 || u8[4] !== 0x4d || u8[5] !== 0x33) return;
    let info;
    try {
      const bases = [...new Set([response.uri, response.originalUri].filter((u) => typeof u === "string" && u))];
      info = hlsPlaylistInfo(decoder.decode(u8), bases);
    } catch (err) {
      core.log("cannot read playlist", err);
      return;
    }
    if (!info) return;
    const key = stripQuery(response.uri || response.originalUri);
    const old = playlists.get(key);
    playlists.delete(key);
    playlists.set(key, { cur: info.index, prev: old?.cur ?? null, first: info.first, ended: info.ended });
    if (playlists.size > MAX_PLAYLISTS) playlists.delete(playlists.keys().next().value);
  }

  /**
   * hlsLookup finds a segment in the playlists seen: {playlist, seq, first,
   * ended} (first/ended: of the playlist as last fetched) or null.
   */
  function hlsLookup(uri, range) {
    const key = segmentKey(uri, range?.start, range?.end);
    const all = [...playlists.entries()].reverse();
    for (const pass of ["cur", "prev"]) {
      for (const [playlist, idx] of all) {
        const seq = idx[pass]?.get(key);
        if (seq !== undefined) return { playlist, seq, first: idx.first, ended: idx.ended };
      }
    }
    return null;
  }

  function isLive() {
    try {
      return player.isLive?.() === true;
    } catch {
      return false;
    }
  }

  /**
   * dashWindowStart is, for a live DASH segment of kind "t", the seq of the
   * oldest SegmentReference still in its Period's segment index (Shaka evicts
   * the references that ended before the segment availability start at each
   * MPD update), in the same numbering: round((startTime − timestampOffset) ×
   * 1000). The per-Period stream's index first, then the combined one; a
   * reference of another Period or Representation is another swarm: undefined.
   */
  function dashWindowStart(stream, ref, id) {
    if (id.end !== undefined || !id.rendition.endsWith("|t")) return undefined;
    const asset = player.getAssetUri?.();
    const tried = new Set();
    for (const s of [periodStream(stream, ref), stream]) {
      const idx = s?.segmentIndex;
      if (!idx || tried.has(idx) || typeof idx.find !== "function" || typeof idx.get !== "function") continue;
      tried.add(idx);
      let oldest = null;
      try {
        // Any index answers a time before its first reference with the
        // position of that reference (its count of evicted ones).
        const pos = idx.find(-Infinity);
        if (pos != null) oldest = idx.get(pos);
      } catch {
        oldest = null;
      }
      if (!oldest) continue;
      const o = dashIdentity(asset, stream, oldest, rangeOfReference(oldest));
      if (o && o.manifest === id.manifest && o.rendition === id.rendition && o.end === undefined) return o.seq;
    }
    return undefined;
  }

  /**
   * identify maps a segment to its engine identity, or null (see dashIdentity;
   * HLS: manifest = the media playlist URL without query, rendition "audio"
   * for audio and none for the main rendition, seq = the media sequence
   * number — the hls.js adapter's identity, so Shaka and hls.js viewers of one
   * HLS stream share swarms).
   */
  function identify(uri, stream, ref, range) {
    const type = player.getManifestType?.();
    if (type === "DASH") return dashIdentity(player.getAssetUri?.(), stream, ref, range);
    if (type !== "HLS" || range === null) return null;
    const hit = hlsLookup(uri, range);
    if (!hit) return null;
    /** @type {any} */
    const id = { manifest: hit.playlist, seq: hit.seq };
    if (!hit.ended) id.first = hit.first; // the playlist's oldest segment, while live
    if (stream?.type === "audio") id.rendition = "audio";
    if (range) {
      id.start = range.start;
      id.end = range.end;
    }
    return id;
  }

  /**
   * upcomingOf lists the references after ref in the stream's index, each
   * with its deadline: ref's (baseMs) plus the media time between them.
   */
  function upcomingOf(stream, ref, id, baseMs) {
    const idx = stream?.segmentIndex;
    if (!idx || typeof idx.find !== "function") return undefined;
    const out = [];
    try {
      const pos = idx.find(ref.startTime);
      if (pos == null || idx.get(pos) !== ref) return undefined;
      for (let i = 1; out.length < UPCOMING; i++) {
        const next = idx.get(pos + i);
        const url = next?.getUris?.()?.[0];
        if (!url) break;
        const n = identify(url, stream, next, rangeOfReference(next));
        if (!n || n.manifest !== id.manifest || n.rendition !== id.rendition) break;
        /** @type {Record<string, any>} */
        const u = { seq: n.seq, url };
        const due = laterDeadlineMs(baseMs, ref.startTime, next.startTime);
        if (due !== undefined) u.deadlineMs = due;
        if (n.end !== undefined) {
          u.start = n.start;
          u.end = n.end;
        }
        out.push(u);
      }
    } catch {
      /* no hints */
    }
    return out.length ? out : undefined;
  }

  /**
   * toRequest maps a segment request to a LoadRequest, or null.
   * @param {string} uri
   * @param {any} request shaka.extern.Request
   * @param {any} context shaka.extern.RequestContext
   * @param {number} cap upper bound of the deadline (ms)
   */
  function toRequest(uri, request, context, cap) {
    const { stream, segment: ref } = context;
    const id = identify(uri, stream, ref, rangeOfHeaders(request.headers));
    if (!id) return null;
    const dur = ref.endTime - ref.startTime;
    /** @type {Record<string, any>} */
    const out = {
      manifest: id.manifest,
      seq: id.seq,
      url: uri,
      deadlineMs: deadlineMs({ start: ref.startTime, duration: dur }, findMedia(), cap),
    };
    if (id.rendition) out.rendition = id.rendition;
    if (id.end !== undefined) {
      out.start = id.start;
      out.end = id.end;
    } else {
      const bitrate = finite(ref.bandwidth) && ref.bandwidth > 0 ? ref.bandwidth : stream?.bandwidth;
      const size = finite(bitrate) && bitrate > 0 && finite(dur) && dur > 0 ? (bitrate * dur) / 8 : cdn.bytes(dur);
      if (finite(size) && size > 0) out.sizeHint = Math.round(size);
    }
    const cdnMs = cdn.estimate(dur);
    if (finite(cdnMs)) out.cdnMs = Math.round(cdnMs);
    if (swarmId) {
      const r = id.rendition ?? (player.getManifestType?.() === "HLS" ? "main" : "");
      out.swarm = `${swarmId}|${r}|${pathOf(id.manifest)}`;
    }
    const upcoming = upcomingOf(stream, ref, id, out.deadlineMs);
    if (upcoming) out.upcoming = upcoming;
    const windowStart = isLive() ? windowStartOf(stream, ref, id) : undefined;
    // Never above the segment asked for now.
    if (windowStart !== undefined) out.windowStart = Math.min(windowStart, id.seq);
    return out;
  }

  /**
   * windowStartOf (live streams only): HLS, the media sequence number of the
   * oldest segment of the media playlist as last fetched (EXT-X-MEDIA-SEQUENCE),
   * unless it has ended; DASH, see dashWindowStart.
   */
  function windowStartOf(stream, ref, id) {
    if (player.getManifestType?.() === "HLS") return id.first;
    return dashWindowStart(stream, ref, id);
  }

  function owns(args, context) {
    const [uri, request, requestType] = args;
    if (requestType !== SEG || !context || context.type !== MEDIA || !context.segment) return false;
    if (!MEDIA_TYPES.has(context.stream?.type)) return false;
    if (request.attempt > 0 || request.body) return false;
    // Low-latency streaming appends each chunk as it arrives: that is
    // Shaka's own loader's job. Otherwise a streamDataCallback (Shaka's
    // segment prefetch sets one) gets the whole segment at once.
    if (request.streamDataCallback && lowLatency()) return false;
    if ((request.method ?? "GET") !== "GET") return false;
    if (typeof uri !== "string" || !/^https?:\/\//i.test(uri)) return false;
    for (const k in request.headers ?? {}) {
      if (request.headers[k] && k.toLowerCase() !== "range") return false;
    }
    return true;
  }

  // lowLatency mirrors Shaka's StreamingEngine: chunked low-latency loads
  // happen when lowLatencyMode is configured (Shaka 5's default) AND the
  // manifest is a low-latency one.
  function lowLatency() {
    try {
      return !!player.getConfiguration?.()?.streaming?.lowLatencyMode && !!player.getManifest?.()?.isLowLatency;
    } catch {
      return true; // cannot tell: leave chunked loads to Shaka
    }
  }

  function isSegment(args, context) {
    return args[2] === SEG && context && (context.type === MEDIA || context.type === INIT) && MEDIA_TYPES.has(context.stream?.type);
  }

  // ---- loads ------------------------------------------------------------------

  function shakaError(code, uri, requestType, cause) {
    const E = shaka.util.Error;
    const data = cause === undefined ? [uri, requestType] : [uri, cause, requestType];
    return new E(E.Severity?.RECOVERABLE ?? 1, E.Category?.NETWORK ?? 1, code, ...data);
  }

  /**
   * passThrough loads through Shaka's own HTTP plugin; a video/audio segment
   * is watched to count its bytes as the player's and learn the CDN's speed.
   */
  function passThrough(args, context) {
    const plugin = defaultPlugin(shaka);
    if (!isSegment(args, context)) return plugin(...args);
    const t0 = core.now();
    let first = 0;
    const headersReceived = args[4];
    const watched = [...args];
    watched[4] = (headers) => {
      if (!first) first = core.now();
      if (typeof headersReceived === "function") headersReceived(headers);
    };
    const op = plugin(...watched);
    op.promise.then(
      (resp) => {
        const bytes = resp?.data?.byteLength ?? 0;
        if (!(bytes > 0) || resp.fromCache) return;
        const end = core.now();
        const ref = context.segment;
        if (context.type === MEDIA && ref) cdn.observe({ loaded: bytes, loading: { start: t0, first: first || t0, end } }, ref.endTime - ref.startTime);
        core.countPlayerLoad(bytes);
        core.emit({ type: "player-segment", time: Date.now(), url: args[0], source: "cdn", origin: "cdn", bytes, durationMs: Math.max(0, end - t0) });
      },
      () => {},
    );
    return op;
  }

  /**
   * ShakaLoad is one segment request the adapter owns: it waits for the engine,
   * loads through it, or falls back to Shaka's plugin, and settles its
   * operation exactly once (an abort rejects it with OPERATION_ABORTED, as
   * Shaka's own plugins do).
   */
  class ShakaLoad {
    constructor(args, context) {
      this.args = args;
      this.context = context;
      this.settled = false;
      /** @type {any} */ this.call = null;
      /** @type {any} */ this.inner = null;
      this.timer = 0;
      this.source = "";
      this.promise = new Promise((resolve, reject) => {
        this.resolve = resolve;
        this.reject = reject;
      });
      this.op = new shaka.util.AbortableOperation(this.promise, () => {
        this.abort();
        return Promise.resolve();
      });
    }

    budget() {
      const rp = this.args[1].retryParameters ?? {};
      const conn = finite(rp.connectionTimeout) && rp.connectionTimeout > 0 ? rp.connectionTimeout - CONN_ROOM_MS : Infinity;
      const total = finite(rp.timeout) && rp.timeout > 0 ? rp.timeout / 2 : Infinity;
      return Math.max(0, Math.min(conn, total, maxDeadline + GUARD_SLACK_MS));
    }

    start() {
      if (!core.ready) {
        const ref = this.context.segment;
        const wait = core.starting
          ? holdMs(deadlineMs({ start: ref.startTime, duration: ref.endTime - ref.startTime }, findMedia(), maxDeadline), cdn.estimate(ref.endTime - ref.startTime))
          : 0;
        if (wait > 0) {
          this.source = "waiting";
          core.waitReady(Math.min(wait, this.budget())).then((ready) => {
            if (this.settled) return;
            if (ready && core.ready) this.viaEngine();
            else this.delegate();
          });
        } else {
          this.delegate();
        }
        return this.op;
      }
      this.viaEngine();
      return this.op;
    }

    viaEngine() {
      const [uri, request] = this.args;
      const cap = this.budget();
      let req;
      try {
        req = toRequest(uri, request, this.context, Math.max(0, Math.min(maxDeadline, cap - GUARD_SLACK_MS)));
      } catch (err) {
        core.log("cannot map request, using Shaka's plugin", err);
        req = null;
      }
      if (!req) {
        this.delegate();
        return;
      }
      this.source = "engine";
      const start = core.now();
      let call;
      try {
        call = core.load(req);
      } catch (err) {
        this.fallback(err);
        return;
      }
      this.call = call;
      const guard = Math.min(req.deadlineMs + GUARD_SLACK_MS, cap);
      this.timer = setTimeout(() => {
        this.timer = 0;
        if (this.settled || this.call !== call) return;
        this.call = null;
        safeCancel(call);
        this.fallback({ code: ErrorCode.INTERNAL, message: `engine did not answer in ${Math.round(guard)} ms` });
      }, guard);
      call.promise.then(
        (result) => {
          if (this.settled || this.call !== call) return;
          this.call = null;
          this.clearTimer();
          this.success(req, result, start);
        },
        (err) => {
          if (this.settled || this.call !== call) return;
          this.call = null;
          this.clearTimer();
          this.fallback(err);
        },
      );
    }

    success(req, result, start) {
      const u8 = engineBytes(result, req.end !== undefined ? req.end - req.start : -1);
      if (!u8) {
        const got = ArrayBuffer.isView(result?.data) ? result.data.byteLength : typeof result?.data;
        this.fallback({ code: ErrorCode.INTERNAL, message: `engine returned ${got} bytes for seq ${req.seq}` });
        return;
      }
      const [uri, request] = this.args;
      cdn.learn(result);
      const { transfer, ttfb } = transferTiming(result, core.now() - start, cdn);
      // Shaka's CMCD and stats read the request's time to first byte.
      request.timeToFirstByte = Math.round(ttfb);
      const done = () =>
        this.settle(true, {
          uri,
          originalUri: uri,
          data: freshBuffer(u8),
          status: 200,
          headers: {},
          // The real transfer of these bytes (for a cache hit, the original one):
          // what Shaka's bandwidth estimator samples.
          timeMs: transfer,
          fromCache: false,
          originalRequest: request,
        });
      const streamData = request.streamDataCallback;
      if (typeof streamData !== "function") {
        done();
        return;
      }
      // Shaka's segment prefetch reads the body through this callback too:
      // it gets the whole segment as one chunk (a copy of its own), as
      // Shaka's fetch plugin hands over a body that arrives at once.
      Promise.resolve()
        .then(() => streamData(new Uint8Array(freshBuffer(u8))))
        .then(done, (err) => this.settle(false, err));
    }

    fallback(err) {
      if (this.settled) return;
      const e = toError(err);
      core.log(`engine failed (${e.code}: ${e.message}); using Shaka's plugin for ${this.args[0]}`);
      this.delegate();
    }

    delegate() {
      if (this.settled) return;
      this.source = "player";
      const inner = passThrough(this.args, this.context);
      this.inner = inner;
      inner.promise.then(
        (resp) => this.settle(true, resp),
        (err) => this.settle(false, err),
      );
    }

    settle(ok, value) {
      if (this.settled) return;
      this.settled = true;
      this.clearTimer();
      if (ok) this.resolve(value);
      else this.reject(value);
    }

    clearTimer() {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = 0;
      }
    }

    abort() {
      if (this.settled) return;
      const call = this.call;
      this.call = null;
      if (call) safeCancel(call);
      const inner = this.inner;
      this.settle(false, shakaError(shaka.util.Error.Code?.OPERATION_ABORTED ?? 7001, this.args[0], this.args[2]));
      if (inner) {
        try {
          inner.abort();
        } catch (err) {
          core.log("Shaka plugin abort threw", err);
        }
      }
    }
  }

  /** load serves a request stamped by this player's filter. */
  function load(args, context) {
    if (!owns(args, context)) {
      if (isSegment(args, context)) {
        const [, request] = args;
        core.log(`Shaka's own loader: ${args[0]} (attempt ${request?.attempt}, low latency ${lowLatency()}, headers ${Object.keys(request?.headers ?? {}).join(",") || "none"})`);
      }
      return passThrough(args, context);
    }
    return new ShakaLoad(args, context).start();
  }

  // ---- wiring -------------------------------------------------------------------

  const adapter = { attached: true, load, passThrough };
  const requestFilter = (type, request, context) => {
    if (type === SEG && adapter.attached && request) stamps.set(request, { adapter, context, attempt: request.attempt });
  };
  const responseFilter = (type, response) => {
    if (adapter.attached) onResponse(type, response);
  };
  net.registerRequestFilter(requestFilter);
  net.registerResponseFilter(responseFilter);
  install(shaka);

  return {
    /** detach: later requests go to Shaka's own plugins; loads under way finish. */
    detach() {
      if (!adapter.attached) return;
      adapter.attached = false;
      try {
        net.unregisterRequestFilter(requestFilter);
        net.unregisterResponseFilter(responseFilter);
      } catch (err) {
        core.log("unregistering filters failed", err);
      }
      playlists.clear();
      uninstall(shaka);
    },
    attachMedia(el) {
      media = el ?? null;
    },
    findMedia,
    toRequest,
    hlsLookup,
    get media() {
      return findMedia();
    },
  };
}

// ---- the global scheme plugin --------------------------------------------------

/** @type {WeakMap<object, {adapter: any, context: any, attempt: number}>} request → its player */
const stamps = new WeakMap();
/** @type {WeakMap<object, {count: number, plugin: Function}>} shaka namespace → our plugin */
const installs = new WeakMap();

/** defaultPlugin is the HTTP plugin Shaka registers itself in this browser. */
function defaultPlugin(shaka) {
  const { HttpFetchPlugin, HttpXHRPlugin } = shaka.net;
  let fetchOK = false;
  try {
    fetchOK = !!HttpFetchPlugin?.isSupported?.();
  } catch {
    fetchOK = false;
  }
  return fetchOK ? HttpFetchPlugin.parse : HttpXHRPlugin.parse;
}

function install(shaka) {
  let rec = installs.get(shaka);
  if (!rec) {
    rec = {
      count: 0,
      plugin: (uri, request, requestType, progressUpdated, headersReceived, config) => {
        const args = [uri, request, requestType, progressUpdated, headersReceived, config];
        const stamp = request ? stamps.get(request) : undefined;
        if (stamp && stamp.adapter.attached && stamp.attempt === request.attempt) return stamp.adapter.load(args, stamp.context);
        return defaultPlugin(shaka)(...args);
      },
    };
    installs.set(shaka, rec);
  }
  if (rec.count++ > 0) return;
  const NE = shaka.net.NetworkingEngine;
  const prio = NE.PluginPriority?.APPLICATION ?? 3;
  NE.registerScheme("http", rec.plugin, prio, true);
  NE.registerScheme("https", rec.plugin, prio, true);
}

function uninstall(shaka) {
  const rec = installs.get(shaka);
  if (!rec || rec.count === 0 || --rec.count > 0) return;
  const NE = shaka.net.NetworkingEngine;
  NE.unregisterScheme("http");
  NE.unregisterScheme("https");
  // Restore what Shaka registers when it loads (lib/net/http_*_plugin.js).
  const P = NE.PluginPriority ?? { FALLBACK: 1, PREFERRED: 2 };
  const plugin = defaultPlugin(shaka);
  const prio = plugin === shaka.net.HttpXHRPlugin?.parse ? P.FALLBACK : P.PREFERRED;
  for (const scheme of ["http", "https"]) NE.registerScheme(scheme, plugin, prio, true);
}
