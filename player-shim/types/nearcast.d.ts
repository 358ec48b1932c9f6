// Type declarations for the nearcast player shim (dist/nearcast.esm.js, and
// window.nearcast from dist/nearcast.js). The contract is docs/wasm-api.md §2.

/**
 * Options of hlsConfig(), attachDashjs() and attachShaka(); only `trackers` is
 * required. The first of these calls on a page schedules the engine with its options.
 */
export interface NearcastOptions {
  /** ws:// or wss:// announce URLs of the nearcast signaling server; the first is used. */
  trackers: string[];
  /** ICE servers for every RTCPeerConnection (default: none). */
  iceServers?: RTCIceServer[];
  /** Segment cache size in bytes (engine default 64 MiB). */
  cacheBytes?: number;
  /** Serve segments to other viewers (default true); false = leech-only. */
  upload?: boolean;
  /** Peers per swarm (engine default 12). */
  maxPeers?: number;
  /** Concurrent uploads (engine default 1: one at a time finishes sooner on a slow uplink). */
  maxUploads?: number;
  /** Upload cap in bytes/s; 0 = no cap. */
  uploadRate?: number;
  /**
   * Swarm ID override: viewers of the same content behind different manifest URLs
   * (CDN hosts) meet when they share it (query strings never matter). The swarm of
   * a segment is `${swarmId}|${rendition}|${path of its manifest URL}`: for hls.js
   * (and HLS in Shaka) the rendition is `main` or `audio` and the manifest is the
   * media playlist; for DASH it is `${period}|${Representation@id}|${kind}` and
   * the MPD.
   */
  swarmId?: string;
  /** URL of nearcast.wasm (default: next to the shim's own file). */
  wasmURL?: string;
  /** URL of Go's wasm_exec.js (default: next to the shim's own file). Skipped when `Go` is already defined. */
  wasmExecURL?: string;
  /** Base URL for the two defaults above. */
  baseURL?: string;
  /**
   * Upper bound of the deadline given to the engine, ms (default 30000; also ≤
   * hls.js's maxLoadTimeMs, below half of dash.js's fragmentRequestTimeout and
   * below Shaka's retryParameters.connectionTimeout).
   */
  maxDeadlineMs?: number;
  /**
   * 0 starts the engine at once. By default it starts after the player has
   * loaded its first segment itself and shown its first frame (at most 3 s after
   * the first hlsConfig/attachDashjs/attachShaka), so that compiling the WASM
   * does not delay the first frame.
   */
  startDelay?: 0;
  /** Log to the console. */
  debug?: boolean;
}

/** The engine's counters (docs/wasm-api.md EngineStats) plus the shim's state. */
export interface NearcastStats {
  /** CDN bytes: the engine's plus those the player's own loader fetched for segments (before ready, fallbacks, init segments). */
  cdnBytes: number;
  peerBytes: number;
  cacheBytes: number;
  prefetchBytes: number;
  uploadedBytes: number;
  cdnSegments: number;
  peerSegments: number;
  cacheSegments: number;
  peerFallbacks: number;
  /** Segments whose peer transfer fell behind and whose tail came from the CDN. */
  splicedSegments: number;
  bannedPeers: number;
  peers: number;
  swarms: number;
  uploads: number;
  /** CDN bytes the engine fetched itself. */
  engineCdnBytes: number;
  /** Segment bytes and count loaded by the player's own loader (any adapter). */
  playerBytes: number;
  playerSegments: number;
  ready: boolean;
  supported: boolean;
  state: NearcastState;
  /** Engine protocol version ("" until ready). */
  version: string;
  /** Why the engine is not running, if it failed. */
  error: NearcastError | null;
}

export type NearcastState = "idle" | "loading" | "ready" | "unsupported" | "failed" | "destroyed";

export type NearcastErrorCode = "invalid-argument" | "closed" | "cdn-failed" | "aborted" | "unsupported" | "internal";

export interface NearcastError {
  code: NearcastErrorCode;
  message: string;
}

export type NearcastEventType =
  | "segment"
  | "peer-connected"
  | "peer-disconnected"
  | "peer-banned"
  | "fallback"
  | "upload"
  | "prefetch"
  | "ready"
  | "error"
  | "player-segment";

/**
 * Engine events (docs/wasm-api.md EngineEvent), plus the shim's own:
 * "ready" (engine started), "error" (engine unavailable: playback stays on the CDN),
 * and "player-segment" for each segment the player's own loader fetched (before the
 * engine was ready, fallbacks, init segments; source and origin "cdn").
 */
export interface NearcastEvent {
  type: NearcastEventType;
  /** ms since the epoch */
  time: number;
  swarm?: string;
  seq?: number;
  source?: "cache" | "peer" | "cdn" | string;
  origin?: "peer" | "cdn" | string;
  peer?: string;
  bytes?: number;
  /** Of bytes, those a spliced segment got from the CDN ("segment", "prefetch"). */
  tailBytes?: number;
  durationMs?: number;
  error?: string;
  /** "error" events */
  code?: NearcastErrorCode;
  /** "ready" events */
  version?: string;
  /** "player-segment" events: the segment's URL */
  url?: string;
}

/** hls.js's LoaderStats shape (hls.js src/types/loader.ts). */
export interface LoaderStats {
  aborted: boolean;
  loaded: number;
  retry: number;
  total: number;
  chunkCount: number;
  bwEstimate: number;
  loading: { start: number; first: number; end: number };
  parsing: { start: number; end: number };
  buffering: { start: number; first: number; end: number };
}

/** A class implementing hls.js's Loader<FragmentLoaderContext>. */
export interface FragmentLoaderConstructor {
  new (config: any): {
    context: any;
    stats: LoaderStats;
    load(context: any, config: any, callbacks: any): void;
    abort(): void;
    destroy(): void;
    getCacheAge(): number | null;
    getResponseHeader(name: string): string | null;
  };
}

/** The hls.js config fragment to spread into `new Hls({...})`. */
export interface NearcastHlsConfig {
  fLoader: FragmentLoaderConstructor;
}

/** Minimal view of the hls.js class this shim needs. */
export interface HlsClass {
  DefaultConfig: { loader: new (config: any) => any };
  Events?: Record<string, string>;
}

/** What attachDashjs() and attachShaka() return. */
export interface NearcastAttachment {
  /**
   * Hand the player back: later requests go to its own loader (segments under
   * way finish). For Shaka, the last detach on a page restores Shaka's own
   * http(s) plugin. The page's engine keeps running (nearcast.destroy() ends it).
   */
  detach(): void;
}

/** Minimal view of a dash.js 5 MediaPlayer (`dashjs.MediaPlayer().create()`). */
export interface DashjsMediaPlayer {
  extend(parentNameString: string, childInstance: object, override: boolean): void;
  getVideoElement?(): HTMLVideoElement;
  getSource?(): string | object;
}

/** Minimal view of a shaka.Player. */
export interface ShakaPlayer {
  getNetworkingEngine(): {
    registerRequestFilter(filter: (...args: any[]) => any): void;
    unregisterRequestFilter(filter: (...args: any[]) => any): void;
    registerResponseFilter(filter: (...args: any[]) => any): void;
    unregisterResponseFilter(filter: (...args: any[]) => any): void;
  } | null;
  getMediaElement?(): HTMLMediaElement | null;
  getAssetUri?(): string | null;
  getManifestType?(): string | null;
}

/**
 * attachDashjs plugs the engine into a dash.js 5 MediaPlayer (tested with 5.2.1)
 * through `player.extend("XHRLoader", …, true)`, and schedules the engine (once
 * per page). Call it before `player.initialize(video, url, autoplay)`: dash.js
 * applies extensions to the loaders it creates afterwards, so called later it
 * only reaches loaders made after it (a later attachSource, new periods).
 * Media segments of the video and audio adaptation sets go to the engine;
 * manifests, init/index segments, text, low-latency chunked loads and retries
 * stay with dash.js. `dashjs` is the dash.js namespace; the shim never imports it.
 */
export function attachDashjs(dashjs: unknown, player: DashjsMediaPlayer, options: NearcastOptions): NearcastAttachment;

/**
 * attachShaka plugs the engine into a shaka.Player (Shaka Player 4.x/5.x, tested
 * with 5.2.12) for DASH and HLS content: an http(s) scheme plugin
 * (NetworkingEngine.registerScheme, APPLICATION priority) plus request and
 * response filters on the player's networking engine. Call it before
 * `player.load(url)` (HLS needs the media playlists to pass its filter).
 * Media segments of video and audio streams go to the engine; manifests,
 * playlists, init segments, licences, text and retries stay with Shaka's own
 * HTTP plugin. An http(s) scheme plugin the page registered itself is replaced
 * while attached.
 */
export function attachShaka(shaka: unknown, player: ShakaPlayer, options: NearcastOptions): NearcastAttachment;

/**
 * hlsConfig returns `{ fLoader }` for hls.js and starts the engine (once per page).
 * Fragments load through hls.js's own loader until the engine is ready, and forever
 * when isSupported() is false or the WASM fails to load.
 */
export function hlsConfig(Hls: HlsClass, options: NearcastOptions): NearcastHlsConfig;

/** WebAssembly, RTCPeerConnection and WebSocket are all present. */
export function isSupported(): boolean;

export interface Nearcast {
  hlsConfig: typeof hlsConfig;
  attachDashjs: typeof attachDashjs;
  attachShaka: typeof attachShaka;
  isSupported: typeof isSupported;
  /** Self-reference, so `const { hlsConfig, isSupported, nearcast } = window.nearcast` works. */
  nearcast: Nearcast;
  stats(): NearcastStats;
  on(type: NearcastEventType | "*", fn: (ev: NearcastEvent) => void): void;
  off(type: NearcastEventType | "*", fn: (ev: NearcastEvent) => void): void;
  /**
   * Bind an Hls instance (recommended): hls.media gives fragment deadlines and its
   * playlists give `upcoming` prefetch hints and, for live playlists, the engine
   * request's `windowStart` (the playlist's first media sequence number). Returns `hls`.
   */
  attach<T>(hls: T): T;
  /**
   * Use this element for deadlines (default: the player's own — hls.media after
   * attach(), dash.js's video element, Shaka's media element — else the page's
   * only <video>/<audio>). Applies to the adapter attached last and later ones.
   */
  attachMedia(el: HTMLMediaElement | null): void;
  /** Close the engine and detach every adapter; later segments load through the players' own loaders. */
  destroy(): Promise<void>;
  /** Resolves true when the engine is ready, false when it is unavailable (or not started). */
  whenReady(): Promise<boolean>;
  readonly ready: boolean;
  readonly state: NearcastState;
  readonly version: string;
}

export const nearcast: Nearcast;
export default nearcast;

declare global {
  interface Window {
    /** Set by the script-tag build, dist/nearcast.js. */
    nearcast: Nearcast;
  }
}
