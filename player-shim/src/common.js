// Package common: helpers shared by the player adapters of the nearcast shim
// (src/hls.js, src/dashjs.js, src/shaka.js). Like core.js it knows no player:
// deadlines from a media element, the CDN model learned from the player's own
// loads, how long a request may wait for an engine that is still starting, the
// checks every engine answer passes before a player sees it, and URL and byte
// range helpers. Adapters import this file and core.js, never each other.

// When LoadResult.firstByteMs is unknown (0), the share of transferMs counted as
// time to first byte.
export const TTFB_SHARE = 0.1;
// Default upper bound (ms) of the deadline handed to the engine.
export const DEFAULT_MAX_DEADLINE_MS = 30000;
// While the engine is starting, a segment the player does not need soon waits
// for it (see holdMs). The reserve kept for a CDN fetch mirrors the engine's for
// the player's estimate: the expected time plus half again, at least
// CDN_SAFETY_MS; DEFAULT_CDN_RESERVE_MS before any CDN load has been timed.
// PEER_ROOM_MS is left to the engine to get the segment from a peer;
// MAX_HOLD_MS bounds any wait.
const CDN_SAFETY_MS = 500;
const DEFAULT_CDN_RESERVE_MS = 1500;
const PEER_ROOM_MS = 500;
const MAX_HOLD_MS = 3000;
// Weight of a new sample in the CDN model's moving averages.
const CDN_EWMA = 0.3;

export const finite = (v) => typeof v === "number" && Number.isFinite(v);
export const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

/**
 * periodKey names a DASH Period by its start in ms: the same in every player
 * that parses the MPD (dash.js: Period.start; Shaka: the segment's
 * appendWindowStart), so segments of different periods never share a swarm.
 * @param {number} startSec
 * @param {unknown} [id] the Period@id, used when the start is unknown
 */
export function periodKey(startSec, id) {
  if (finite(startSec) && startSec >= 0) return `p${Math.round(startSec * 1000)}`;
  return id != null && id !== "" ? `id:${id}` : "p?";
}

/**
 * transferTiming returns the transfer behind an engine answer that the
 * player's bandwidth estimate should see: `transfer` is LoadResult.transferMs
 * (for cache hits, the original transfer), or the wall time of the call when
 * the engine does not know it; `ttfb` is firstByteMs, or TTFB_SHARE of the
 * transfer when unknown, and never more than the transfer. Never the time the
 * engine spent waiting for a peer, and never an instant cache hit.
 *
 * One exception, with `cdn` (the adapter's CDN model): bytes that came from a
 * peer slower than the CDN are reported at the CDN's measured speed. ABR asks
 * which rendition the loader can sustain, and a slow peer does not limit that:
 * the engine takes a peer only when it delivers before the player needs the
 * segment, and the CDN otherwise. Reported at the peer's own speed, a peer on
 * a thin uplink would push every viewer it serves down to a lower rendition
 * than the same player picks without nearcast.
 * @param {{transferMs?: number, firstByteMs?: number, origin?: string, data?: any} | null | undefined} result
 * @param {number} wallMs
 * @param {ReturnType<typeof createCdnModel>} [cdn]
 * @returns {{transfer: number, ttfb: number}}
 */
export function transferTiming(result, wallMs, cdn) {
  let transfer = finite(result?.transferMs) && result.transferMs > 0 ? result.transferMs : Math.max(0, wallMs);
  let ttfb =
    finite(result?.firstByteMs) && result.firstByteMs > 0
      ? Math.min(result.firstByteMs, transfer)
      : transfer * TTFB_SHARE;
  const bytes = ArrayBuffer.isView(result?.data) ? result.data.byteLength : NaN;
  const atCdn = result?.origin === "peer" && cdn ? cdn.time(bytes) : undefined;
  if (finite(atCdn) && atCdn > 0 && atCdn < transfer) {
    transfer = atCdn;
    ttfb = Math.min(ttfb, cdn.ttfb(), transfer);
  }
  return { transfer, ttfb };
}

/**
 * engineBytes checks an engine answer before any player sees it and returns its
 * bytes, or null: never an empty, detached or wrongly sized segment (`want` is
 * the expected size of a byte range, or -1). That is how players die (see
 * TESTING.md, "The peer to beat").
 * @param {any} result LoadResult
 * @param {number} want
 * @returns {Uint8Array | null}
 */
export function engineBytes(result, want = -1) {
  const data = result?.data;
  if (!ArrayBuffer.isView(data) || data.byteLength === 0 || (want >= 0 && data.byteLength !== want)) return null;
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * freshBuffer returns an ArrayBuffer holding exactly the view's bytes: the view's
 * own buffer when it spans it exactly (the engine gives us a fresh copy we own),
 * else a copy. The player may transfer (detach) it; nothing here keeps it.
 * @param {Uint8Array} u8
 * @returns {ArrayBuffer}
 */
export function freshBuffer(u8) {
  const b = u8.buffer;
  if (b instanceof ArrayBuffer && u8.byteOffset === 0 && u8.byteLength === b.byteLength) return b;
  return u8.slice().buffer;
}

/**
 * createCdnModel learns the CDN's speed from the player's own segment loads
 * (time to first byte, bytes per ms, bytes per second of media), so that a
 * viewer that has just joined can tell the engine how long a CDN fetch would
 * take (LoadRequest.cdnMs) before the engine has timed the CDN itself.
 */
export function createCdnModel() {
  let ttfb = NaN; // ms
  let rate = NaN; // bytes per ms
  let perSec = NaN; // bytes per second of media
  const avg = (old, v) => (finite(old) ? old + CDN_EWMA * (v - old) : v);
  const bytes = (durationSec) =>
    finite(perSec) && finite(durationSec) && durationSec > 0 ? perSec * durationSec : undefined;
  const time = (n) => (finite(rate) && finite(n) && n > 0 ? ttfb + n / rate : undefined);
  /** sample takes one CDN transfer: time to first byte, bytes, and the time after it. */
  const sample = (firstMs, n, streamingMs) => {
    ttfb = avg(ttfb, firstMs);
    rate = avg(rate, n / Math.max(1, streamingMs));
  };
  return {
    /**
     * observe takes the timing of a completed player load of `durationSec` of
     * media, in hls.js's LoadStats shape: `{loaded, loading: {start, first, end}}`.
     */
    observe(stats, durationSec) {
      const l = stats?.loading;
      const n = stats?.loaded;
      if (!l || !finite(n) || n <= 0 || !(l.start > 0) || !(l.end >= l.start)) return;
      const first = l.first >= l.start && l.first <= l.end ? l.first : l.start;
      sample(first - l.start, n, l.end - first);
      if (finite(durationSec) && durationSec > 0) perSec = avg(perSec, n / durationSec);
    },
    /** bytes is the expected size of a segment of `durationSec`, or undefined. */
    bytes,
    /** estimate is the expected CDN time (ms) of a segment of `durationSec`, or undefined. */
    estimate: (durationSec) => time(bytes(durationSec)),
    /**
     * learn takes the timing of an engine answer the engine fetched from the
     * CDN itself (source "cdn"), so the model stays current while the engine
     * serves every segment.
     */
    learn(result) {
      const n = ArrayBuffer.isView(result?.data) ? result.data.byteLength : NaN;
      const t = result?.transferMs;
      if (result?.source !== "cdn" || !finite(n) || n <= 0 || !finite(t) || t <= 0) return;
      const first = finite(result.firstByteMs) && result.firstByteMs > 0 ? Math.min(result.firstByteMs, t) : t * TTFB_SHARE;
      sample(first, n, t - first);
    },
    /** time is the expected CDN time (ms) of `n` bytes, or undefined. */
    time,
    /** ttfb is the CDN's measured time to first byte (ms), or NaN. */
    ttfb: () => ttfb,
  };
}

/**
 * holdMs is how long a segment request may wait for an engine that is still
 * starting: its deadline minus the CDN reserve and the room left for a peer,
 * at most MAX_HOLD_MS. Zero or less means "do not wait: use the player's loader".
 */
export function holdMs(deadline, cdnMs) {
  const reserve = finite(cdnMs) && cdnMs >= 0 ? cdnMs + Math.max(CDN_SAFETY_MS, cdnMs / 2) : DEFAULT_CDN_RESERVE_MS;
  return Math.min(MAX_HOLD_MS, deadline - reserve - PEER_ROOM_MS);
}

/**
 * deadlineMs is the time until the player needs `frag`: (frag.start − currentTime)
 * in media time, but no later than the end of the buffered range that holds
 * currentTime (playback stops there: nothing buffered means "now" — the first
 * segments, a seek, the start of a live stream whose currentTime is not set
 * yet), divided by the playback rate, bounded to [0, maxMs]. Without a media
 * element (or with a segment of unknown start) it is one segment duration.
 * @param {{start?: number, duration?: number}} frag start and duration in seconds
 * @param {any} media an HTMLMediaElement, or null
 * @param {number} maxMs
 */
export function deadlineMs(frag, media, maxMs) {
  const dur = finite(frag?.duration) && frag.duration > 0 ? frag.duration * 1000 : 0;
  if (!media || !finite(media.currentTime) || !finite(frag?.start)) {
    return Math.round(clamp(dur, 0, maxMs));
  }
  const rate = finite(media.playbackRate) && media.playbackRate > 0 ? media.playbackRate : 1;
  let ahead = frag.start - media.currentTime;
  const buffered = bufferedAhead(media);
  if (buffered !== null) ahead = Math.min(ahead, buffered);
  return Math.round(clamp((ahead * 1000) / rate, 0, maxMs));
}

/**
 * laterDeadlineMs is the deadline of a segment that starts at media time
 * laterSec, given the deadline (baseMs) of the one starting at startSec: the
 * media time between them later. undefined when any of them is unknown, or
 * the later segment starts first.
 * @returns {number | undefined}
 */
export function laterDeadlineMs(baseMs, startSec, laterSec) {
  if (!finite(baseMs) || !finite(startSec) || !finite(laterSec) || laterSec < startSec) return undefined;
  return Math.round(baseMs + (laterSec - startSec) * 1000);
}

/**
 * bufferedAhead is how many seconds of media are buffered from currentTime on
 * (0 when currentTime is in no buffered range), or null when the element does
 * not tell (no TimeRanges).
 */
export function bufferedAhead(media) {
  const b = media?.buffered;
  if (!b || typeof b.length !== "number" || typeof b.start !== "function" || typeof b.end !== "function") return null;
  const t = media.currentTime;
  for (let i = 0; i < b.length; i++) {
    // A small tolerance: playback may sit a hair before the first range.
    if (b.start(i) <= t + 0.1 && t < b.end(i)) return b.end(i) - t;
  }
  return 0;
}

/** pageMedia returns the page's only <video>/<audio> element, or null. */
export function pageMedia() {
  const doc = globalThis.document;
  if (doc?.querySelectorAll) {
    const els = doc.querySelectorAll("video, audio");
    if (els.length === 1) return els[0];
  }
  return null;
}

/** pathOf returns the path of a URL (no query or fragment). */
export function pathOf(url) {
  try {
    return new URL(url).pathname;
  } catch {
    return String(url).split(/[?#]/)[0];
  }
}

/**
 * stripQuery returns the URL without its query string and fragment: the name of
 * a manifest that is the same for every viewer whatever tokens the CDN adds.
 * @param {string} url
 */
export function stripQuery(url) {
  const s = String(url ?? "");
  const i = s.search(/[?#]/);
  return i >= 0 ? s.slice(0, i) : s;
}

/**
 * byteRange parses an inclusive HTTP/DASH byte range, "first-last" (DASH
 * @mediaRange, dash.js's FragmentRequest.range) or "bytes=first-last" (a Range
 * header), into the engine's {start, end} with an EXCLUSIVE end. Open-ended or
 * malformed ranges give null.
 * @param {unknown} s
 * @returns {{start: number, end: number} | null}
 */
export function byteRange(s) {
  if (typeof s !== "string") return null;
  const m = /^\s*(?:bytes=)?(\d+)-(\d+)\s*$/.exec(s);
  if (!m) return null;
  const start = Number(m[1]);
  const end = Number(m[2]) + 1;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) return null;
  return { start, end };
}

/** safeCancel cancels an engine call, ignoring a bridge that throws. */
export function safeCancel(call) {
  try {
    call?.cancel?.();
  } catch {
    /* the engine call is over either way */
  }
}
